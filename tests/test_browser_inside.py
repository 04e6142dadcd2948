"""End-to-end in real Chromium: paint a prediction on the Metrics lab's canvas with the mouse and
check that the TP/FP/FN counts and the scores follow the drawing; the Inside page on a trained
U-Net++. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest

from seglab.settings.presets import preset
from seglab.training.run import run_config
from tests.browser_support import (
    ARTIFACTS,
    chromium_browser,
    open_page,
    require_browser,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.browser

CANVAS_FRAME = 'iframe[title*="seglab_draw_mask"]'


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    require_browser()
    home = tmp_path_factory.mktemp("seglab-home")
    # one deep-supervised U-Net++ run for the Inside page, trained before the server starts
    config = preset("smoke", size=32, n=24, width=4, depth=2, epochs=1, arch="unetpp", loss="bce_ds")
    assert run_config(config, home=home).status == "done"
    with streamlit_server(home) as url, chromium_browser() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.errors = []
        pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
        pg.app_url = url
        yield pg
        context.close()


def count_caption(page):
    return page.locator(".st-key-drawn_scores [data-testid=stCaptionContainer]").filter(has_text="TN ").last


def counts(page) -> dict[str, int]:
    text = count_caption(page).inner_text()
    return {k: int(v) for k, v in re.findall(r"(TP|FP|FN|TN) (\d+)", text)}


def scores(page) -> list[str]:
    return page.locator(".st-key-drawn_scores [data-testid=stMetricValue]").all_inner_texts()


def wait_for_change(page, before: str) -> dict[str, int]:
    """Wait for the end of the rerun that changes the counts caption from ``before``."""
    page.wait_for_function(
        """(before) => {
            const app = document.querySelector('[data-testid=stApp]');
            const caps = [...document.querySelectorAll('.st-key-drawn_scores [data-testid=stCaptionContainer]')];
            const cap = caps.filter(c => c.innerText.includes('TN ')).pop();
            return app.dataset.testScriptState === 'notRunning' && cap && cap.innerText !== before;
        }""",
        arg=before,
        timeout=60_000,
    )
    return counts(page)


def stroke(page, box, points) -> None:
    """Press the mouse at the first point (fractions of the canvas), drag through the rest."""
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def test_drawing_on_the_canvas_updates_counts_and_scores(page) -> None:
    open_page(page, f"{page.app_url}/metrics_lab")
    frame = page.frame_locator(CANVAS_FRAME)
    canvas = frame.locator("canvas#board")
    canvas.wait_for(state="visible", timeout=30_000)
    box = canvas.bounding_box()
    assert box and box["width"] >= 300, box  # 64 pixels × 6
    start_text = count_caption(page).inner_text()
    start = counts(page)
    assert start["TP"] == 0 and start["FP"] == 0 and start["FN"] > 0, start  # nothing drawn yet
    empty_scores = scores(page)

    # paint a thick zig-zag over the whole picture: some object pixels, some background
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    stroke(page, box, [(0.1, 0.1 + 0.1 * k) if k % 2 == 0 else (0.9, 0.1 + 0.1 * k) for k in range(9)])
    after = wait_for_change(page, start_text)
    assert after["TP"] + after["FP"] > 0, after
    assert after["TP"] + after["FN"] == start["FN"], "TP + FN is the object size, whatever is drawn"
    assert sum(after.values()) == sum(start.values()) == 64 * 64
    assert scores(page) != empty_scores
    ARTIFACTS.mkdir(exist_ok=True)
    canvas_block = page.locator("[data-testid=stHorizontalBlock]").filter(has=page.locator(CANVAS_FRAME)).last
    canvas_block.screenshot(path=str(ARTIFACTS / "metrics-lab-draw.png"))

    # Clear inside the canvas empties the prediction again
    after_text = count_caption(page).inner_text()
    frame.locator("button#clear").click()
    cleared = wait_for_change(page, after_text)
    assert cleared == start, cleared
    assert not page.errors, page.errors


def test_inside_page_shows_a_trained_unetpp(page) -> None:
    """The Inside page draws every stage, the side outputs and the pruning section of a
    deep-supervised U-Net++ run, with no exception."""
    page.errors.clear()
    open_page(page, f"{page.app_url}/inside")
    assert not page.locator("[data-testid=stException]").count()
    main = page.locator("[data-testid=stMain]").inner_text()
    assert "Side outputs" in main and "Prune the trained U-Net++" in main and "Ship L" in main
    ARTIFACTS.mkdir(exist_ok=True)
    # Streamlit scrolls inside its main block, so a tall window is what captures the whole page
    page.set_viewport_size({"width": 1280, "height": 4200})
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "inside-unetpp.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    assert not page.errors, page.errors


def test_inside_page_runs_an_uploaded_photo(page, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Upload a real PNG (not square, not the model's size) and get feature maps for it."""
    from PIL import Image, ImageDraw

    photo = tmp_path_factory.mktemp("photo") / "photo.png"
    picture = Image.new("RGB", (120, 90), (90, 110, 80))
    ImageDraw.Draw(picture).ellipse((40, 20, 90, 70), fill=(200, 60, 160))
    picture.save(photo)
    open_page(page, f"{page.app_url}/inside")
    page.get_by_text("Your photo", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stMain]').innerText.includes('Upload a photo to continue')",
        timeout=60_000,
    )
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(photo))
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stMain]').innerText.includes('Centre-cropped')",
        timeout=60_000,
    )
    wait_idle(page)
    main = page.locator("[data-testid=stMain]").inner_text()
    assert "Feature maps, stage by stage" in main and "channels of 32×32" in main
    assert not page.locator("[data-testid=stException]").count()
