"""Real Chromium: the Results page opens on the latest study and warns when a filter mixes settings."""

from __future__ import annotations

import pytest
from synth_runs import STUDY_GROUP, must_show_store

from tests.browser_support import (
    ARTIFACTS,
    chromium_browser,
    open_page,
    require_browser,
    streamlit_server,
    wait_idle,
)

pytestmark = [pytest.mark.browser]


def test_results_default_study_and_mixed_settings_warning(tmp_path) -> None:
    require_browser()
    home = tmp_path / "seglab-home"
    must_show_store(home)
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(home) as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        open_page(page, f"{url}/results")
        main = page.locator("[data-testid=stMain]")
        study = main.locator("[data-testid=stSelectbox]").filter(has_text="Study").first.locator("input")
        assert study.input_value() == f"{STUDY_GROUP} (latest)"
        alerts = main.locator("[data-testid=stAlert]").all_inner_texts()
        assert any("Best by validation IoU: unet + focal" in t for t in alerts)
        assert not any("different settings" in t for t in alerts)

        study.click()
        page.get_by_role("option", name="All runs (every study together)").click()
        page.wait_for_function(
            "() => document.body.innerText.includes('trained with different settings')", timeout=60_000
        )
        wait_idle(page)
        warning = main.locator("[data-testid=stAlert]").filter(has_text="different settings").inner_text()
        assert "epochs: 3 / 5" in warning and "dataset: shapes / cells" in warning
        # the comparison shown is still the latest study's, chosen on validation
        alerts = main.locator("[data-testid=stAlert]").all_inner_texts()
        assert any("Best by validation IoU: unet + focal" in t for t in alerts)
        page.screenshot(path=str(ARTIFACTS / "results-mixed-settings.png"), full_page=True)
