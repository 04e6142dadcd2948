"""End-to-end, classroom mode: the teacher types the passphrase and clicks Unlock, as people do
(with or without leaving the box first), and a typo before the right passphrase does not stick:
the click checks what is in the box now."""

from __future__ import annotations

import pytest

from seglab.settings.classroom import PASSPHRASE_ENV
from tests.browser_support import chromium_browser, open_page, require_browser, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

PASSPHRASE = "open sesame"


@pytest.fixture(scope="module")
def classroom_page(tmp_path_factory: pytest.TempPathFactory):
    require_browser()
    home = tmp_path_factory.mktemp("classroom-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASSPHRASE_ENV, PASSPHRASE)
        with streamlit_server(home) as url, chromium_browser() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            open_page(page, url)
            yield page


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
