"""End-to-end: a class's whole loop in real Chromium. Start a tiny study on the Train page, watch
the background worker finish it, then open Results and find the comparison charts and masks."""

from __future__ import annotations

import contextlib
import os
import re
import signal

import pytest

from seglab.jobs import JobQueue
from tests.browser_support import ARTIFACTS, chromium_browser, open_page, require_browser, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def stop_workers(home) -> None:
    """The app starts its worker in a session of its own; end it with the test."""
    with JobQueue(home) as queue:
        for worker in queue.live_workers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(worker["pid"]), signal.SIGTERM)


def test_train_page_study_then_results_page(tmp_path) -> None:
    require_browser()
    home = tmp_path / "seglab-home"
    home.mkdir()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with streamlit_server(home) as url, chromium_browser() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            open_page(page, f"{url}/train")

            # The smallest preset keeps the study to seconds per run on a CPU.
            page.locator("[data-testid=stSelectbox]").filter(has_text="Preset").click()
            page.get_by_role("option", name="smoke", exact=True).click()
            page.wait_for_function("() => document.body.innerText.includes('1 epoch each')", timeout=60_000)
            summary = page.locator("[data-testid=stMarkdownContainer]").filter(has_text="epoch each").first
            n_runs = int(re.search(r"(\d+) runs?", summary.inner_text()).group(1))
            assert n_runs >= 4

            page.get_by_role("button", name="Start training").click()
            # The queue panel refreshes itself from the job database every few seconds.
            page.wait_for_function(
                "(n) => document.body.innerText.includes(`${n} jobs: ${n} done`)", arg=n_runs, timeout=240_000
            )
            page.screenshot(path=str(ARTIFACTS / "e2e-train-done.png"), full_page=True)

            open_page(page, f"{url}/results")
            main = page.locator("[data-testid=stMain]")
            alerts = main.locator("[data-testid=stAlert]").all_inner_texts()
            assert any("Best by validation IoU" in text for text in alerts)
            page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=60_000)
            assert page.locator("[data-testid=stVegaLiteChart]").count() >= 2  # per arch and per loss
            page.get_by_role("tab", name=re.compile("Validation comparison")).click()
            page.get_by_role("tab", name=re.compile("Predicted masks")).click()
            page.wait_for_selector("[data-testid=stImage]", timeout=60_000)
            assert page.locator("[data-testid=stImage]").count() >= 3  # image, truth, predictions
            page.screenshot(path=str(ARTIFACTS / "e2e-results-masks.png"), full_page=True)
    finally:
        stop_workers(home)
