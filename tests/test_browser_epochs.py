"""End-to-end in real Chromium: the Results page's epoch scrubber plays by itself (a fragment
rerunning on a timer, no internet needed). Screenshot in test-artifacts/."""

from __future__ import annotations

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

EPOCHS = 3
SLIDER = ".st-key-ev_epoch input[type=range]"


def test_play_steps_through_the_epochs(tmp_path):
    require_browser()
    home = tmp_path / "seglab-home"
    home.mkdir()
    config = preset("smoke", size=32, n=24, epochs=EPOCHS, arch="unet", loss="bce")
    assert run_config(config, home=home).status == "done"
    with streamlit_server(home) as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_page(page, f"{url}/results")
        page.locator(".st-key-ev_show_epochs label").click()
        page.wait_for_selector(SLIDER, state="attached")
        wait_idle(page)
        assert page.locator(SLIDER).input_value() == str(EPOCHS)
        page.locator(".st-key-ev_play label").click()
        seen = set()
        for _ in range(EPOCHS):
            before = page.locator(SLIDER).input_value()
            page.wait_for_function(
                "([sel, before]) => { const s = document.querySelector(sel);"
                " return s && s.value !== before; }",
                arg=[SLIDER, before],
                timeout=20_000,
            )
            seen.add(page.locator(SLIDER).input_value())
        assert seen == {str(e) for e in range(1, EPOCHS + 1)}
        caption = page.locator("[data-testid=stImageCaption]").filter(has_text="unet + bce · seed 0 · epoch")
        assert caption.count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "results_epoch_scrubber.png"), full_page=True)
        assert not errors, errors
