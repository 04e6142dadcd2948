"""Every page survives any link (audit #16–19): each page, run through ``app.py`` as the server
runs it, with every one of its widget keys set to junk (infinities, a 400-digit number, NaN, a
300-character path, a seeds list that would expand to thousands of runs), raises nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from seglab.errors import ConfigError
from seglab.settings.study import parse_seeds
from seglab.ui.url_guard import junk_params, junk_reason

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.stem for p in (ROOT / "app_pages").glob("*.py"))
LONG_SEEDS = ",".join(f"{i * 100}-{i * 100 + 99}" for i in range(18))  # 1 800 seeds in 196 characters
JUNK = ["inf", "-inf", "9" * 400, "nan", "x" * 300, LONG_SEEDS, "-99999999999"]
WIDGETS = ("number_input", "slider", "select_slider", "text_input", "selectbox", "multiselect", "checkbox",
           "toggle", "radio", "text_area")  # fmt: skip


def app_on(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page(f"app_pages/{page}.py")
    return at


def widget_keys(at: AppTest) -> list[str]:
    keys = {w.key for kind in WIDGETS for w in getattr(at, kind) if w.key and not w.key.startswith("_")}
    return sorted(keys)


@pytest.mark.parametrize("page", PAGES)
def test_every_widget_key_of_every_page_survives_junk(seglab_home: Path, page: str) -> None:
    clean = app_on(page)
    clean.run()
    assert not clean.exception, [e.value for e in clean.exception]
    keys = widget_keys(clean)
    assert keys, f"{page} has no keyed widgets?"
    for shift in range(len(JUNK)):  # every key meets every junk value once
        at = app_on(page)
        for i, key in enumerate(keys):
            at.query_params[key] = JUNK[(i + shift) % len(JUNK)]
        start = time.perf_counter()
        at.run()
        assert not at.exception, (page, shift, [e.value for e in at.exception])
        assert time.perf_counter() - start < 60, f"{page} took too long on junk"


def test_the_audit_links_are_dropped_with_a_message(seglab_home: Path) -> None:
    for page, key, value in [("basics", "scene", "inf"), ("train", "tr_epochs", "-inf"),
                             ("loss_lab", "sample", "9" * 400), ("data", "path", "x" * 300)]:  # fmt: skip
        at = app_on(page)
        at.query_params[key] = value
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert any("ignored" in t.value and key in t.value for t in at.toast), page
        assert key not in at.query_params


def test_junk_reasons() -> None:
    assert junk_reason("12") is None and junk_reason("0.5") is None and junk_reason("unet") is None
    assert junk_reason("1e400") and junk_reason("-Infinity") and junk_reason("NaN")
    assert junk_reason("1" * 20) and junk_reason("x" * 201) and junk_reason("a\x00b")
    assert junk_params({"ok": ["1"], "bad": ["1", "inf"]}) == {"bad": "not a finite number"}
    # A student's name is never taken from a link (it is kept per browser): any value is dropped.
    assert junk_params({"who": ["Ada"], "gamma": ["2"]}) == {
        "who": "a name is kept by each browser, not in links"
    }


def test_a_long_seeds_list_is_refused_before_it_is_expanded() -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="at most 100 seeds"):
        parse_seeds(",".join(f"{i * 100}-{i * 100 + 99}" for i in range(10_000)))
    assert time.perf_counter() - start < 1.0
    assert parse_seeds("0-49,50-99") == list(range(100))
