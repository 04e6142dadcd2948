"""Draw charts fast and, in presenter mode, large: every page shows its charts through here.

Two costs dominate a page run that draws Altair charts: building the chart (Altair validates
every encoding against the Vega-Lite schema) and converting it to a Vega-Lite spec, which
``st.altair_chart`` does under one process-wide lock, so 30 students moving sliders queue up
behind each other. :func:`chart_spec` does both once and returns a plain spec whose data are
already Arrow bytes; pages call it inside ``st.cache_data`` functions keyed by the slider
values, so a move to a value any session has seen costs a cache lookup, and
:func:`show_chart` hands the spec to ``st.vega_lite_chart`` (no lock, no conversion).

Presenter mode (:func:`presenting`) is applied here too, centrally, not chart by chart: every
font size in the spec is raised to at least :data:`PRESENT_MIN_FONT` px, lines get thicker,
and charts take the container's width.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import streamlit as st

from seglab.palette import CATEGORICAL

PRESENT_KEY = "present"
PRESENT_MIN_FONT = 18
PRESENT_LINE_FACTOR = 1.8
PRESENT_SIZE_FACTOR = 1.4  # fixed-size panels (facets, heatmaps) grow so the larger text fits
COMPOSITION_KEYS = ("spec", "hconcat", "concat")  # what holds panels laid side by side
VIEW_KEYS = ("mark", "layer", "facet", "spec", "hconcat", "vconcat", "concat", "encoding")
FONT_KEYS = ("fontSize", "labelFontSize", "titleFontSize")

# Defaults for what a chart does not set itself: text and lines readable from the back row.
PRESENT_CONFIG: dict[str, Any] = {
    "axis": {"labelFontSize": PRESENT_MIN_FONT, "titleFontSize": PRESENT_MIN_FONT + 2},
    "legend": {"labelFontSize": PRESENT_MIN_FONT, "titleFontSize": PRESENT_MIN_FONT, "symbolSize": 200},
    "header": {"labelFontSize": PRESENT_MIN_FONT, "titleFontSize": PRESENT_MIN_FONT + 2},
    "title": {"fontSize": PRESENT_MIN_FONT + 4},
    "text": {"fontSize": PRESENT_MIN_FONT},
    "line": {"strokeWidth": 4},
    "rule": {"strokeWidth": 3},
    "point": {"size": 120},
    "circle": {"size": 120},
}


def presenting() -> bool:
    """True when this session is in presenter mode (sidebar toggle or ``?present=1``)."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def _arrow_bytes(rows: Any) -> Any:
    from streamlit import dataframe_util

    if isinstance(rows, list):
        return dataframe_util.convert_anything_to_arrow_bytes(pd.DataFrame(rows))
    return rows  # GeoJSON and other payloads stay as they are


def enlarge(spec: Any) -> Any:
    """Presenter version of a Vega-Lite spec (a new object; the input is left untouched).

    Every font size anywhere in the spec becomes at least ``PRESENT_MIN_FONT`` px (and grows by
    half when it was larger), every explicit line or rule width grows by ``PRESENT_LINE_FACTOR``,
    every fixed view width and height by ``PRESENT_SIZE_FACTOR`` (both alike: square cells stay
    square), and :data:`PRESENT_CONFIG` fills in what the chart leaves to Vega-Lite's defaults.
    Panels of a facet or concatenation grow in height only: side by side they would push the
    last panel off a 1280 px projector (two 420 px focal panels did).
    """

    def walk(node: Any, mark_type: str | None = None, panel: bool = False) -> Any:
        if isinstance(node, dict):
            kind = node.get("type") if isinstance(node.get("type"), str) else mark_type
            is_view = any(k in node for k in VIEW_KEYS)
            out = {}
            for key, value in node.items():
                if key in FONT_KEYS and isinstance(value, (int, float)):
                    out[key] = max(PRESENT_MIN_FONT, round(value * 1.5))
                elif key == "strokeWidth" and isinstance(value, (int, float)) and kind in ("line", "rule"):
                    out[key] = value * PRESENT_LINE_FACTOR
                elif key in ("width", "height") and is_view and isinstance(value, (int, float)):
                    grow = key == "height" or not panel
                    out[key] = round(value * PRESENT_SIZE_FACTOR) if grow else value
                elif key == "mark" and isinstance(value, str):
                    out[key] = value
                else:
                    inner = panel or key in COMPOSITION_KEYS
                    out[key] = walk(value, kind if key == "mark" else mark_type, inner)
            return out
        if isinstance(node, list):
            return [walk(item, mark_type, panel) for item in node]
        return node

    big = walk(spec)
    config = big.setdefault("config", {})
    for group, values in PRESENT_CONFIG.items():
        merged = dict(values)
        merged.update(config.get(group, {}))
        for key in FONT_KEYS:
            if key in merged:
                merged[key] = max(PRESENT_MIN_FONT, merged[key])
        config[group] = merged
    return big


def chart_spec(chart: Any, present: bool = False) -> dict[str, Any]:
    """A Vega-Lite spec for an Altair chart, its datasets already as Arrow bytes.

    Call it inside ``st.cache_data`` functions (pass ``presenting()`` in), so the costly
    Altair work runs once per distinct input, shared by every session.
    """
    spec = chart.to_dict()
    # Colours a chart leaves to the theme come from the colour-blind-safe palette too (the
    # Streamlit theme's own categorical colours put two blues side by side).
    spec.setdefault("config", {}).setdefault("range", {}).setdefault("category", CATEGORICAL)
    if present:
        spec = enlarge(spec)
    if "datasets" in spec:
        spec["datasets"] = {name: _arrow_bytes(rows) for name, rows in spec["datasets"].items()}
    return spec


def show_chart(
    chart: Any,
    where: Any = None,
    *,
    width: str | int | None = None,
    theme: str | None = "streamlit",
    fixed_shape: bool = False,
    **kwargs: Any,
) -> Any:
    """Draw a chart given as a spec from :func:`chart_spec` (or as an Altair chart, converted
    here uncached). In presenter mode charts take the container's width, except those whose
    shape carries meaning (``fixed_shape``: square pixels of an image-like map)."""
    where = where if where is not None else st
    if isinstance(chart, dict):
        spec = copy.copy(chart)  # Streamlit pops the datasets out of the top level
        if "datasets" in spec:
            spec["datasets"] = dict(spec["datasets"])
    else:
        spec = chart_spec(chart, presenting())
    if fixed_shape:
        width = "content"
        if presenting():
            spec = _natural_size(spec)
    elif presenting():
        width = "stretch"
        spec = _fit_width(spec)
    return where.vega_lite_chart(spec=spec, width=width, theme=theme, **kwargs)


def _natural_size(spec: dict[str, Any]) -> dict[str, Any]:
    """A fixed-shape chart (an image-like grid, square cells) keeps its own size in presenter
    mode, only its text grows: enlarged, it overflowed its column on a 1280 px projector."""
    spec = dict(spec)
    for key in ("width", "height"):
        if isinstance(spec.get(key), (int, float)):
            spec[key] = round(spec[key] / PRESENT_SIZE_FACTOR)
    return spec


def _fit_width(spec: dict[str, Any]) -> dict[str, Any]:
    """A chart sized by its content (``autosize`` "pad": width and height are the plot area) is
    stretched to the page in presenter mode: then only its width fits the page ("fit-x"), its
    height stays the plot's, so the enlarged text keeps its rows."""
    autosize = spec.get("autosize")
    if isinstance(autosize, dict) and autosize.get("type") == "pad" and "facet" not in spec:
        spec = dict(spec)
        spec["autosize"] = {**autosize, "type": "fit-x"}
    return spec
