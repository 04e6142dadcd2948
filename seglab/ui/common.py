"""Pieces every page shares: the sidebar and URL-synchronised widget state."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from seglab.device import device_label


@st.cache_data(show_spinner=False)
def _cached_device_label() -> str:
    return device_label()


def render_sidebar() -> None:
    """Presenter switch, compute device and the live job-queue line, shown on every page
    (the queue line refreshes itself: :func:`seglab.ui.live_status.sidebar_queue_status`)."""
    from seglab.ui.live_status import sidebar_queue_status

    with st.sidebar:
        presenter_toggle()
        st.caption(f"Compute device: **{_cached_device_label()}**")
        sidebar_queue_status()


def presenter_toggle() -> None:
    """The sidebar switch for presenter mode (see :mod:`seglab.ui.chart_view`), bound to the URL
    as ``?present=true``; a hand-typed ``?present=1`` (or yes / on) switches it on too."""
    from seglab.ui.chart_view import PRESENT_KEY

    typed = str(st.query_params.get(PRESENT_KEY, "")).lower()
    if PRESENT_KEY not in st.session_state and typed in ("1", "yes", "on"):
        # Rewritten to the toggle's own spelling: it would drop "1", and a reload would turn it off.
        _spell_url_value(PRESENT_KEY, True, "true")
    st.toggle(
        "Presenter mode",
        key=PRESENT_KEY,
        bind=URL,
        help="For a projector: large chart text, thick lines, charts as wide as the page.",
    )


def accept_url_name(key: str, options: Sequence[Any], format_func: Callable[[Any], str] = str) -> None:
    """Let a link name an option by its registry name (``?model=unet``) as well as by the title
    a bound select box writes (``?model=U-Net``). Call before the select box is drawn, with the
    box's own ``format_func``: the URL is then rewritten to the title, so the choice survives a
    reload (a bound box drops a value it cannot read)."""
    raw = st.query_params.get(key)
    if raw is None or key in st.session_state:
        return
    for option in options:
        if str(option) == raw:
            _spell_url_value(key, option, str(format_func(option)))
            return


def _spell_url_value(key: str, value: Any, text: str) -> None:
    """Rewrite a link's parameter into the spelling its bound widget reads and writes, then run
    the page again so the widget is drawn from it (once per link). Where the widget already owns
    the parameter (Streamlit refuses the write), the value is handed over in the session."""
    if st.query_params.get(key) == text:
        return
    try:
        st.query_params[key] = text
    except StreamlitAPIException:
        st.session_state[key] = value
        return
    st.rerun()


FOOTER_KEY = "seglab-footer"

#: Pass as ``bind=URL`` to a keyed widget to keep its value in the page URL (``?key=value``).
#: Streamlit then restores the widget from a link or a reload, *replaces* the URL when the value
#: changes (no new browser-history entry per move, so Back leaves the page in one press), drops
#: the parameter while the value equals the widget's default, and ignores values a widget
#: cannot take (an out-of-range number in an edited link falls back to the default).
URL = "query-params"


def plain_disk_full(func: Callable[..., Any]) -> Callable[..., Any]:
    """For fragments (which Streamlit runs apart from the page, so ``app.py`` cannot catch their
    errors): a full disk (`seglab.errors.DiskFullError`) becomes one plain line, not a traceback.
    Put it under ``@st.fragment``."""
    from seglab.errors import DiskFullError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DiskFullError as exc:
            st.error(str(exc)[:1].upper() + str(exc)[1:])
            return None

    return wrapper


def render_footer() -> None:
    """The last element of every page. Browser tests wait for it: once it is drawn, everything
    the page script wrote before it is drawn too."""
    from seglab import __version__

    with st.container(key=FOOTER_KEY):
        st.caption(f"SegLab {__version__} · an interactive lab for learning image segmentation")


def stop_page() -> None:
    """End the page early (like `st.stop()`) but still close it with the footer, which
    Streamlit would otherwise drop together with everything after the stop."""
    render_footer()
    st.stop()


def url_default(key: str, default: Any, cast: type | None = None) -> Any:
    """Initial value for a widget from the page URL (`?key=value`), falling back to default.

    Values that cannot be parsed fall back silently: a mangled link must never break a page.
    """
    raw = st.query_params.get(key)
    if raw is None:
        return default
    cast = cast or type(default)
    try:
        if cast is bool:
            return raw.lower() in ("1", "true", "yes", "on")
        return cast(raw)
    except (TypeError, ValueError):
        return default


def url_number(key: str, default: float, low: float, high: float) -> float:
    """:func:`url_default` for a numeric widget: the URL value is kept inside ``[low, high]``,
    so an edited link cannot push a slider out of its range and break the page."""
    return type(default)(min(high, max(low, url_default(key, default))))


def url_choice(key: str, options: Sequence[Any], default: Any, cast: type | None = None) -> Any:
    """:func:`url_default` for a widget with fixed options: a URL value that is not one of
    ``options`` falls back to ``default`` too."""
    value = url_default(key, default, cast)
    return value if value in options else default


def sync_url(**values: Any) -> None:
    """Write the page's current widget values into the URL so a link reproduces the set-up."""
    for key, value in values.items():
        text = str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def read_only(*arrays: Any) -> tuple[Any, ...]:
    """The numpy arrays, marked not writeable: a cached value shared by every session (the view
    modules' ``lru_cache``s) must not change under another session."""
    for array in arrays:
        array.flags.writeable = False
    return arrays
