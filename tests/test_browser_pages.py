"""End-to-end: the real app in real headless Chromium, every page of the navigation.

Each page must load with no Streamlit exception and no browser console error; the Loss lab's
focal γ slider moved with the keyboard must change the shown loss values; a change of the
Metrics lab's prediction must change the IoU. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_support import ARTIFACTS, open_page

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda msg: record_console_error(pg, msg))
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    pg.on("response", lambda response: record_failed_response(pg, response))
    yield pg
    context.close()


# On a deep link (/basics) Streamlit's frontend first probes /basics/_stcore/health and
# /basics/host-config to discover its base path, then falls back to the root: those two
# 404s are part of its start-up, not errors of ours.
STARTUP_PROBES = ("/_stcore/health", "/_stcore/host-config")


def record_failed_response(page, response) -> None:
    if response.status >= 400 and not response.url.endswith(STARTUP_PROBES):
        page.console_errors.append(f"HTTP {response.status} for {response.url}")


def record_console_error(page, msg) -> None:
    # Failed resource loads are judged by record_failed_response, which sees their URL.
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        page.console_errors.append(msg.text)


def test_deep_link_on_a_fresh_server_runs_inside_the_app(page, app_url: str) -> None:
    """A shared link straight to a page (the first visit of a fresh server) gets the app's
    navigation and sidebar, and its URL settings. Must run first in this module."""
    open_page(page, f"{app_url}/loss_lab?gamma=3.0")
    nav = page.locator("[data-testid=stSidebarNav]").inner_text()
    assert "Metrics lab (IoU)" in nav and "Results" in nav, nav
    assert "Compute device" in page.locator("[data-testid=stSidebar]").inner_text()
    gamma = (
        page.locator("[data-testid=stSlider]").filter(has_text="Focal γ (gamma)").locator("input[type=range]")
    )
    assert float(gamma.first.get_attribute("value")) == 3.0


def nav_paths(page, app_url: str) -> list[str]:
    open_page(page, app_url)
    links = page.locator("[data-testid=stSidebarNav] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    return [href.replace(app_url, "").strip("/") for href in hrefs if href]


# Links to other pages in the main area whose text does not fit their box (shown cut off).
CLIPPED_LINKS = """() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stPageLink] a')]
    .filter(a => [a, ...a.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
    .map(a => a.innerText)"""


def test_every_page_loads_cleanly(page, app_url: str) -> None:
    paths = nav_paths(page, app_url)
    assert len(paths) >= 8, paths
    ARTIFACTS.mkdir(exist_ok=True)
    failures = []
    for path in paths:
        page.console_errors.clear()
        open_page(page, f"{app_url}/{path}")
        name = path or "home"
        page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
        exceptions = page.locator("[data-testid=stException]")
        if exceptions.count():
            failures.append(f"{name}: {exceptions.first.inner_text()[:400]}")
        if page.console_errors:
            failures.append(f"{name}: console errors {page.console_errors[:3]}")
        clipped = page.evaluate(CLIPPED_LINKS)
        if clipped:
            failures.append(f"{name}: page links cut off at 1280 px: {clipped}")
    assert not failures, "\n".join(failures)


def metric_texts(page) -> list[str]:
    return page.locator("[data-testid=stMetricValue]").all_inner_texts()


def press_slider(page, label: str, key: str, times: int) -> None:
    slider = page.locator("[data-testid=stSlider]").filter(has_text=label).locator("input[type=range]").first
    slider.focus()
    for _ in range(times):
        page.keyboard.press(key)


def wait_for_new_metrics(page, before: list[str]) -> list[str]:
    page.wait_for_function(
        """(before) => {
            const app = document.querySelector('[data-testid=stApp]');
            const now = [...document.querySelectorAll('[data-testid=stMetricValue]')].map(e => e.innerText);
            return app.dataset.testScriptState === 'notRunning'
                && !document.querySelector('[data-testid=stMain] [data-testid=stSkeleton]')
                && JSON.stringify(now) !== JSON.stringify(before);
        }""",
        arg=before,
        timeout=60_000,
    )
    return metric_texts(page)


def test_loss_lab_gamma_slider_changes_loss_values(page, app_url: str) -> None:
    open_page(page, f"{app_url}/loss_lab")
    before = metric_texts(page)
    assert before, "the Loss lab shows its loss values as metrics"
    press_slider(page, "Focal γ (gamma)", "ArrowRight", 5)
    after = wait_for_new_metrics(page, before)
    assert after != before
    page.screenshot(path=str(Path(ARTIFACTS) / "loss-lab-after-gamma.png"), full_page=True)


def test_metrics_lab_prediction_change_changes_iou(page, app_url: str) -> None:
    open_page(page, f"{app_url}/metrics_lab")
    iou = page.locator("[data-testid=stMetric]").filter(has_text="IoU").first
    before_iou = iou.locator("[data-testid=stMetricValue]").inner_text()
    before = metric_texts(page)
    press_slider(page, "Shift prediction right (pixels)", "ArrowRight", 4)
    wait_for_new_metrics(page, before)
    after_iou = iou.locator("[data-testid=stMetricValue]").inner_text()
    assert after_iou != before_iou
