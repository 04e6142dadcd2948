"""Every page survives any link: junk values are dropped from the URL before a page runs.

Widgets bound to the URL (`seglab.ui.common.URL`) read their value from the query string when
they are drawn; Streamlit falls back to the default for a value a widget cannot take, but a
whole-number box crashes on ``inf`` or a 400-digit number (``OverflowError`` inside Streamlit's
deserialiser), and a path of 300 characters reaches the file system. :func:`guard_query_params`
runs once in ``app.py`` before the page: values that no SegLab widget could take are removed from
the URL and named in one plain message. What is left is checked by each widget's own range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import streamlit as st

from seglab.ui.classroom import NAME_KEY

#: Longer values are dropped: no widget of SegLab takes more (paths included: file names are
#: limited to 255 bytes, and a seeds list is capped far below; see `seglab.settings.study`).
MAX_VALUE_CHARS = 200
#: A number beyond this is junk for every widget (and an ``int`` of it must not overflow).
MAX_NUMBER = 1e15
#: Keys never taken from a link, and why: a student's name is kept per browser (a cookie), so a
#: shared link cannot make everyone who opens it that student.
NOT_FROM_LINKS: dict[str, str] = {NAME_KEY: "a name is kept by each browser, not in links"}
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_NON_FINITE = re.compile(r"\s*[+-]?(inf|infinity|nan)\s*", re.IGNORECASE)


def junk_reason(value: str) -> str | None:
    """Why a URL value cannot be meant for any widget (None when it may be)."""
    if len(value) > MAX_VALUE_CHARS:
        return f"longer than {MAX_VALUE_CHARS} characters"
    if "\x00" in value:
        return "holds a NUL character"
    if _NON_FINITE.fullmatch(value):
        return "not a finite number"
    if _NUMBER.fullmatch(value):
        try:
            number = float(value)
        except (OverflowError, ValueError):
            return "not a usable number"
        if not math.isfinite(number) or abs(number) > MAX_NUMBER:
            return "a number far out of range"
    return None


def junk_params(params: Mapping[str, list[str]]) -> dict[str, str]:
    """``{key: reason}`` for every query parameter (all of a repeated one's values) to drop."""
    out: dict[str, str] = {}
    for key, values in params.items():
        if len(key) > MAX_VALUE_CHARS:
            out[key] = "its name is too long"
            continue
        if key in NOT_FROM_LINKS:
            out[key] = NOT_FROM_LINKS[key]
            continue
        for value in values:
            reason = junk_reason(value)
            if reason:
                out[key] = reason
                break
    return out


def guard_query_params() -> dict[str, str]:
    """Drop junk values from this session's URL (before any widget reads them) and say so once
    in a toast; returns what was dropped."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    dropped = junk_params(params)
    for key in dropped:
        del st.query_params[key]
    if dropped:
        _forget_initial_values(dropped)
    if dropped:
        shown = ", ".join(f"“{key[:30]}” ({reason})" for key, reason in list(dropped.items())[:3])
        st.toast(f"Some values in the link were ignored: {shown}. The page uses its defaults instead.")
    return dropped


def _forget_initial_values(keys: Mapping[str, str]) -> None:
    """Bound widgets are seeded from the query string the page was *opened* with (Streamlit keeps
    a snapshot apart from ``st.query_params``); drop the junk keys from that snapshot too."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    with get_session_state().query_params() as qp:
        initial = getattr(qp, "_initial_query_params", None)
        if isinstance(initial, dict):
            for key in keys:
                initial.pop(key, None)
