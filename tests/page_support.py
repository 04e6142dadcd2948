"""AppTest support for the page tests: run one page script with a URL query and fail on any
exception it raises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parent.parent / "app_pages"


def page_runner(page: str, timeout: float = 60) -> Callable[..., AppTest]:
    """A ``run_page(**query)`` for ``app_pages/<page>.py``: sets ``?key=value`` for each query item,
    runs the script once and asserts that it raised nothing."""
    path = str(PAGES / f"{page}.py")

    def run_page(**query: str) -> AppTest:
        at = AppTest.from_file(path, default_timeout=timeout)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run_page
