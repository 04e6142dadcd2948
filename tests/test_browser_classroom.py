"""End-to-end, issue 14: a classroom without internet, the Back button, and reloads.

* a walk over every page sends no request to any host but the app's own;
* Back from Metrics lab, after moving its sliders, lands on the previous page in one press;
* a Train form value survives a reload (it lives in the URL).
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from seglab.ui.common import FOOTER_KEY
from tests.browser_support import open_page, wait_idle

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def page(browser):
    """A page whose requests to any other host are recorded and blocked (as with no internet)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.remote_requests = []

    def guard(route) -> None:
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            context.remote_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    yield pg
    context.close()


def nav_paths(page, app_url: str) -> list[str]:
    links = page.locator("[data-testid=stSidebarNav] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    return [urlparse(href).path.strip("/") for href in hrefs if href]


def move_slider(page, label: str, presses: int = 1) -> None:
    slider = page.locator("[data-testid=stSlider]").filter(has_text=label).locator("input[type=range]").first
    slider.focus()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
    wait_idle(page)


def click_nav(page, title: str) -> None:
    page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).first.click()
    page.wait_for_function(
        "(t) => document.querySelector('h1') && document.querySelector('h1').innerText.includes(t)",
        arg=title.split(" (")[0],
        timeout=60_000,
    )
    wait_idle(page)


def test_no_request_leaves_the_machine_on_a_walk_over_every_page(page, app_url: str) -> None:
    open_page(page, app_url)
    paths = nav_paths(page, app_url)
    assert len(paths) >= 8, paths
    for path in paths:
        open_page(page, f"{app_url}/{path}")
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text("Presenter mode").click()  # presenter mode draws every chart again
    wait_idle(page)
    assert page.context.remote_requests == [], page.context.remote_requests
    # The toolbar has no Deploy button (client.toolbarMode = "minimal").
    assert page.locator("[data-testid=stAppDeployButton]").count() == 0


def test_back_from_metrics_lab_returns_to_the_previous_page_in_one_press(page, app_url: str) -> None:
    open_page(page, app_url)
    click_nav(page, "Loss lab")
    move_slider(page, "Focal γ (gamma)", 2)
    click_nav(page, "Metrics lab (IoU)")
    move_slider(page, "Shift prediction right (pixels)", 2)
    move_slider(page, "Noise blobs (false detections)", 1)
    assert "shift_x=5" in page.url and "blobs=1" in page.url, page.url  # the URL holds the state
    page.go_back()
    page.wait_for_function("() => location.pathname.endsWith('/loss_lab')", timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('Loss lab'))",
        timeout=60_000,
    )


def test_a_train_form_value_survives_a_reload(page, app_url: str) -> None:
    open_page(page, f"{app_url}/train")
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("3")
    epochs.press("Enter")
    page.wait_for_function("() => location.search.includes('tr_epochs=3')", timeout=30_000)
    wait_idle(page)
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector(f".st-key-{FOOTER_KEY}", timeout=90_000)
    wait_idle(page)
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    assert epochs.input_value() == "3"
    assert "3 epochs each" in page.locator("[data-testid=stMain]").inner_text()  # the plan uses it
