"""End-to-end, issue 23: a lesson that runs end to end in real Chromium.

* Back returns to the view you left: Loss lab γ = 3 → Metrics lab → Back shows γ = 3 again; an
  edited Train form → Results → Back keeps the edit (it does not fall back to the default grid);
* presenter mode at 1280×720 (a common projector) never scrolls sideways, on any page.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser_support import open_page, wait_idle

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PROJECTOR)
    pg = context.new_page()
    yield pg
    context.close()


def click_nav(page, title: str) -> None:
    page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).first.click()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
        arg=title.split(" (")[0],
        timeout=60_000,
    )
    wait_idle(page)


def go_back_to(page, path: str, heading: str) -> None:
    page.go_back()
    page.wait_for_function("(p) => location.pathname.endsWith(p)", arg=path, timeout=30_000)
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
        arg=heading,
        timeout=60_000,
    )
    wait_idle(page)


def slider_value(page, label: str) -> float:
    return float(slider_input(page, label).input_value())


def slider_input(page, label: str):
    return page.locator("[data-testid=stSlider]").filter(has_text=label).locator("input[type=range]").first


def test_back_after_a_gamma_move_shows_the_gamma_you_left(page, app_url: str) -> None:
    open_page(page, f"{app_url}/loss_lab")
    label = "Focal γ (gamma)"
    assert slider_value(page, label) == 2.0  # the default, so the move below is a real change
    slider_input(page, label).focus()
    for _ in range(4):  # step 0.25: 2.0 → 3.0
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    assert slider_value(page, label) == 3.0
    assert "gamma=3" in page.url, page.url
    click_nav(page, "Metrics lab (IoU)")
    assert urlparse(page.url).path.endswith("/metrics_lab")
    go_back_to(page, "/loss_lab", "Loss lab")
    assert "gamma=3" in page.url, page.url  # the history entry kept its query string
    assert slider_value(page, label) == 3.0  # ... and the page was drawn from it


def test_back_after_a_train_form_edit_keeps_the_form(page, app_url: str) -> None:
    open_page(page, f"{app_url}/train")
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    default = epochs.input_value()
    edited = "7" if default != "7" else "6"
    epochs.fill(edited)
    epochs.press("Enter")
    page.wait_for_function("(v) => location.search.includes('tr_epochs=' + v)", arg=edited, timeout=30_000)
    wait_idle(page)
    click_nav(page, "Results")
    go_back_to(page, "/train", "Train")
    assert f"tr_epochs={edited}" in page.url, page.url
    assert page.get_by_role("spinbutton", name="Epochs", exact=True).input_value() == edited


@pytest.mark.parametrize(
    ("link", "kept", "shown"),
    [
        ("/?present=1", "present=true", None),  # the README's own link
        ("/architectures?model=segnet", "model=SegNet", "SegNet"),  # a registry name
        ("/loss_lab?loss=tversky", "loss=Tversky", "Tversky"),
    ],
)
def test_documented_links_survive_a_reload(page, app_url: str, link: str, kept: str, shown) -> None:
    open_page(page, app_url + link)
    assert kept in page.url, page.url
    page.reload(wait_until="domcontentloaded")
    open_page(page, page.url)
    assert kept in page.url, page.url
    if shown is None:
        toggle = page.locator("[data-testid=stSidebar] [data-testid=stCheckbox] input").first
        assert toggle.is_checked()
    else:
        boxes = page.locator("[data-testid=stMain] [data-testid=stSelectbox] input")
        values = [boxes.nth(i).input_value() for i in range(boxes.count())]
        assert any(v.startswith(shown) for v in values), values


def wait_charts_drawn(page) -> None:
    """Vega draws a chart after the script run ends: wait until every visible chart has its SVG."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stVegaLiteChart]')]
            .filter(el => el.getBoundingClientRect().width > 0)
            .every(el => el.querySelector('svg.marks, canvas.marks'))""",
        timeout=30_000,
    )


def overflow(page) -> list[str]:
    """What sticks out sideways: the page's own horizontal scroll, and charts or images wider
    than the main column (Streamlit clips those inside their block, so the page may not scroll)."""
    return page.evaluate(
        """() => {
            const out = [];
            const doc = document.scrollingElement;
            if (doc.scrollWidth > doc.clientWidth + 1) out.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
            const main = document.querySelector('[data-testid=stMain] [data-testid=stMainBlockContainer]')
                || document.querySelector('[data-testid=stMain]');
            const right = main.getBoundingClientRect().right;
            for (const el of document.querySelectorAll(
                    '[data-testid=stMain] svg.marks, [data-testid=stMain] canvas, [data-testid=stMain] img')) {
                const r = el.getBoundingClientRect();
                if (r.width > 0 && r.right > right + 2) out.push(`${el.tagName} right ${Math.round(r.right)} > ${Math.round(right)}`);
            }
            for (const el of document.querySelectorAll('[data-testid=stMain] *')) {
                if (el.scrollWidth > el.clientWidth + 2 && getComputedStyle(el).overflowX === 'auto'
                        && el.closest('[data-testid=stVegaLiteChart]')) out.push('chart scrolls sideways');
            }
            return out;
        }"""
    )


def test_presenter_mode_at_1280x720_never_scrolls_sideways(page, app_url: str) -> None:
    open_page(page, f"{app_url}/?present=true")
    links = page.locator("[data-testid=stSidebarNav] a")
    paths = [urlparse(links.nth(i).get_attribute("href")).path for i in range(links.count())]
    assert len(paths) >= 9, paths
    problems = {}
    for path in paths:
        open_page(page, f"{app_url}{path}?present=true")
        wait_charts_drawn(page)
        if found := overflow(page):
            problems[path] = found
    assert problems == {}, problems


def test_a_move_after_switching_alpha_auto_still_reaches_the_link(page, app_url: str) -> None:
    """QA's finding: with α = auto on, the Loss lab's section-3 sliders stopped writing the URL
    (the auto block inserts elements above them), so a reload brought back an old value."""
    open_page(page, f"{app_url}/loss_lab?wrong=0.45")
    page.locator("[data-testid=stCheckbox]").filter(has_text="α = auto").locator("label").first.click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('auto_alpha')", timeout=30_000)
    label = "How wrong is the prediction?"
    slider_input(page, label).focus()
    page.keyboard.press("ArrowRight")  # step 0.05: 0.45 → 0.5
    wait_idle(page)
    assert slider_value(page, label) == 0.5
    page.wait_for_function("() => location.search.includes('wrong=0.5')", timeout=30_000)
    page.reload()
    wait_idle(page)
    assert slider_value(page, label) == 0.5
