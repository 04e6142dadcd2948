"""Pieces every page shares: the sidebar and URL-synchronised widget state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from seglab.device import device_label
from seglab.status import RunStatus


@st.cache_data(show_spinner=False)
def _cached_device_label() -> str:
    return device_label()


def render_sidebar() -> None:
    """Compute device and job-queue state, shown on every page.

    Queued jobs outlive the app: when the app (re)starts and finds jobs waiting, it makes sure a
    background worker is alive to train them (`ensure_worker` never starts a second one).
    """
    from seglab.jobs import ensure_worker, queue_summary

    with st.sidebar:
        st.caption(f"Compute device: **{_cached_device_label()}**")
        summary = queue_summary()
        parts = [f"{count} {state}" for state, count in summary.items() if count]
        st.caption("Job queue: " + (", ".join(parts) or "empty"))
        from seglab.ui.store_health import queue_notice_caption

        queue_notice_caption()
        if summary.get(RunStatus.QUEUED):
            ensure_worker()


FOOTER_KEY = "seglab-footer"


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
