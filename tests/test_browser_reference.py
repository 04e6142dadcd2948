"""End-to-end, issue 23: Results on a small study and the reference study carrying the lesson.

* a 2 × 2 study's architecture × loss heatmap: no two cell labels overlap, each label lies in its
  cell and the title is not clipped (measured on the rendered SVG);
* with a study already stored, "Load the reference study" is still offered (under Export &
  import); one click later the epoch scrubber plays its stored epochs and Inside opens one of its
  runs (one seed per cell keeps its weights).
"""

from __future__ import annotations

import pytest
from synth_runs import must_show_store

from seglab.store import reference
from tests.browser_support import chromium_browser, open_page, require_browser, streamlit_server, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    """The app over a store holding a 2 × 2 study (2 seeds), plus another study and a lone run."""
    require_browser()
    home = tmp_path_factory.mktemp("seglab-home")
    must_show_store(home)
    with streamlit_server(home) as url, chromium_browser() as browser:
        yield url, browser


@pytest.fixture
def page(app):
    url, browser = app
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.app_url = url
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    yield pg
    context.close()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_idle(page)


# The boxes of the heatmap's cell labels, its cells and its title, from the visible chart's SVG.
HEATMAP_BOXES = """() => {
    const chart = [...document.querySelectorAll('[data-testid=stVegaLiteChart]')]
        .find(el => el.getBoundingClientRect().width > 0 && el.querySelector('svg.marks'));
    const svg = chart.querySelector('svg.marks');
    const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const labels = [...svg.querySelectorAll('g.mark-text.role-mark text')].map(box);
    const rectGroups = [...svg.querySelectorAll('g.mark-rect.role-mark')];
    const cells = [...rectGroups[0].querySelectorAll('path')].map(box);
    const title = svg.querySelector('g.role-title text');
    return {labels, cells, title: title ? box(title) : null, svg: box(svg)};
}"""


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(a, b, slack: float = 1.0) -> bool:
    return a[0] >= b[0] - slack and a[1] >= b[1] - slack and a[2] <= b[2] + slack and a[3] <= b[3] + slack


def test_a_2x2_study_heatmap_has_no_overlapping_labels(page) -> None:
    open_page(page, f"{page.app_url}/results")
    for tab in ("Validation comparison", "Test IoU view"):
        open_tab(page, tab)
        page.wait_for_function(f"({HEATMAP_BOXES})().labels.length >= 4", timeout=30_000)
        boxes = page.evaluate(HEATMAP_BOXES)
        labels, cells = boxes["labels"], boxes["cells"]
        assert len(labels) == len(cells) == 4, boxes  # a 2 × 2 study
        for i, a in enumerate(labels):
            assert not any(overlaps(a, b) for b in labels[i + 1 :]), (tab, labels)
            assert any(inside(a, c) for c in cells), (tab, a, cells)  # each label fits a cell
        assert all(c[2] - c[0] >= 60 for c in cells), cells  # cells drawn at a readable size
        # the title is not clipped: it lies within the drawing (glyph boxes poke out a pixel or two)
        assert boxes["title"] is not None and inside(boxes["title"], boxes["svg"], slack=4), boxes
    assert not page.errors, page.errors


def test_the_reference_study_carries_the_lesson_after_one_click(page) -> None:
    assert reference.reference_available()
    open_page(page, f"{page.app_url}/results")
    open_tab(page, "Export & import")  # a store with studies in it: the offer is still here
    page.locator(".st-key-rs_reference button").click()
    page.wait_for_function(
        "() => document.body.innerText.includes('Reference study loaded')", timeout=120_000
    )
    wait_idle(page)
    study = page.locator("[data-testid=stSelectbox]").filter(has_text="Study").first.locator("input")
    assert study.input_value().startswith("Reference study")

    # the epoch scrubber finds stored epochs (no "none of these runs stored predictions")
    page.locator(".st-key-ev_show_epochs label").click()
    page.wait_for_selector(".st-key-ev_epoch input[type=range]", state="attached", timeout=60_000)
    wait_idle(page)
    assert page.locator(".st-key-ev_epoch input[type=range]").input_value() == "10"  # quick preset
    captions = page.locator("[data-testid=stImageCaption]").all_inner_texts()
    assert any("epoch 10" in c for c in captions), captions

    # Inside opens one of its runs: feature maps per stage, no "has no saved weights"
    open_page(page, f"{page.app_url}/inside")
    main = page.locator("[data-testid=stMain]").inner_text()
    assert "saved weights" not in main, main[:400]
    assert page.locator("[data-testid=stException]").count() == 0
    assert "3 · Feature maps, stage by stage" in main  # the model ran on a picture
    assert not page.errors, page.errors
