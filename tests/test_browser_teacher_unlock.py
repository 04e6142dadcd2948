"""End-to-end, classroom mode: the teacher types the passphrase and clicks Unlock, as people do
(with or without leaving the box first), and a typo before the right passphrase does not stick:
the click checks what is in the box now. A student's name is kept by the browser (a cookie): a
reload keeps it, and a shared link carrying ``?who=…`` neither sets nor changes it."""

from __future__ import annotations

import pytest

from seglab.settings.classroom import PASSPHRASE_ENV
from seglab.ui.classroom import NAME_COOKIE
from tests.browser_support import chromium_browser, open_page, require_browser, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

PASSPHRASE = "open sesame"


@pytest.fixture(scope="module")
def classroom_server(tmp_path_factory: pytest.TempPathFactory):
    """The real app in classroom mode and a browser, shared by the module's tests."""
    require_browser()
    home = tmp_path_factory.mktemp("classroom-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASSPHRASE_ENV, PASSPHRASE)
        with streamlit_server(home) as url, chromium_browser() as browser:
            yield url, browser


@pytest.fixture(scope="module")
def classroom_page(classroom_server):
    url, browser = classroom_server
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    open_page(page, url)
    yield page
    page.close()


def sidebar_shows(page, text: str, shown: bool = True) -> bool:
    """Wait (up to 20 s) until ``text`` is in the sidebar (or, ``shown=False``, gone from it)."""
    try:
        page.wait_for_function(
            "([t, shown]) => document.querySelector('[data-testid=stSidebar]').innerText.includes(t) === shown",
            arg=[text, shown],
            timeout=20_000,
        )
    except Exception:  # playwright's TimeoutError: the text never came
        return False
    wait_idle(page)
    return True


def type_and_click_unlock(page, passphrase: str, *, leave_box_first: bool) -> None:
    sidebar = page.locator("[data-testid=stSidebar]")
    box = sidebar.locator("input[type=password]")
    if not box.is_visible():
        sidebar.get_by_text("Teacher", exact=True).click()
    box.fill(passphrase)
    if leave_box_first:
        box.press("Tab")
        wait_idle(page)
    sidebar.get_by_role("button", name="Unlock").click()


@pytest.mark.parametrize("leave_box_first", [True, False], ids=["tab-then-click", "click"])
def test_a_typo_then_the_right_passphrase_unlocks(classroom_page, leave_box_first: bool) -> None:
    type_and_click_unlock(classroom_page, "open sesam", leave_box_first=leave_box_first)
    assert sidebar_shows(classroom_page, "not right")
    type_and_click_unlock(classroom_page, PASSPHRASE, leave_box_first=leave_box_first)
    assert sidebar_shows(classroom_page, "Lock teacher controls")
    classroom_page.locator("[data-testid=stSidebar]").get_by_role(
        "button", name="Lock teacher controls"
    ).click()
    assert sidebar_shows(classroom_page, "Lock teacher controls", shown=False)


def name_box(page):
    return page.locator("[data-testid=stSidebar]").get_by_role("textbox", name="Your name")


def type_name(page, name: str) -> None:
    box = name_box(page)
    box.fill(name)
    box.press("Enter")
    wait_idle(page)


def cookie(context) -> str | None:
    found = [c for c in context.cookies() if c["name"] == NAME_COOKIE]
    return found[0]["value"] if found else None


def test_a_reload_keeps_the_name_and_a_link_cannot_set_it(classroom_server) -> None:
    from playwright.sync_api import expect  # playwright is imported only where the browser runs

    url, browser = classroom_server
    ada = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ada.new_page()
    open_page(page, f"{url}/train")
    type_name(page, "Ada L.")
    page.wait_for_function("() => document.cookie.includes('seglab_who=Ada%20L.')", timeout=20_000)
    (kept,) = [c for c in ada.cookies() if c["name"] == NAME_COOKIE]
    assert kept["sameSite"] == "Strict" and kept["expires"] > 0  # kept across browser restarts
    assert "who=" not in page.url  # the name is not in the link
    page.reload(wait_until="domcontentloaded")
    open_page(page, page.url)
    expect(name_box(page)).to_have_value("Ada L.", timeout=20_000)
    # Ada opens a link someone shared with ?who=Mallory: she stays Ada, and the link loses it.
    open_page(page, f"{url}/train?who=Mallory")
    expect(name_box(page)).to_have_value("Ada L.", timeout=20_000)
    page.wait_for_function("() => !location.search.includes('who=')", timeout=20_000)
    assert cookie(ada) == "Ada%20L."
    ada.close()

    # A fresh browser opening the same link gets no name at all.
    fresh = browser.new_context(viewport={"width": 1280, "height": 720})
    page = fresh.new_page()
    open_page(page, f"{url}/train?who=Mallory")
    expect(name_box(page)).to_have_value("", timeout=20_000)
    page.wait_for_function("() => !location.search.includes('who=')", timeout=20_000)
    page.reload(wait_until="domcontentloaded")
    open_page(page, page.url)
    expect(name_box(page)).to_have_value("", timeout=20_000)
    assert cookie(fresh) is None
    fresh.close()
