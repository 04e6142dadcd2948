"""A small canvas to paint a binary mask with the mouse (a Streamlit components-v1 component).

`streamlit-drawable-canvas` 0.9.3 is unmaintained and breaks on Streamlit ≥ 1.39, where
``image_to_url`` moved (andfanilo/streamlit-drawable-canvas issues #156, #157), so SegLab ships
its own: one static HTML file, ``assets/draw_canvas/index.html``, no build step and no network.
It returns the painted mask as a '0'/'1' string (decode with
`seglab.teach.metrics_lab.decode_drawn_mask`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit.components.v1 as components

from seglab.ui.images import png_data_url

FRONTEND = Path(__file__).resolve().parents[2] / "assets" / "draw_canvas"
_component = components.declare_component("seglab_draw_mask", path=str(FRONTEND))


def draw_mask(
    background: np.ndarray,
    *,
    key: str,
    scale: int = 6,
    initial: str = "",
    reset: int = 0,
    color: str = "rgba(255, 127, 14, 0.6)",
    background_url: str | None = None,
) -> str | None:
    """Show ``background`` (H, W, 3 uint8) enlarged ``scale`` times with a Paint / Erase /
    Clear toolbar; return the painted mask ('0'/'1' string, H·W long) after each stroke, or
    ``initial`` (None if empty) before the first. Changing ``reset`` empties the canvas.
    ``background_url``: ``png_data_url(background, 0)`` where the caller has it cached."""
    h, w = background.shape[:2]
    value = _component(
        background=background_url or png_data_url(background, 0),
        rows=int(h),
        cols=int(w),
        scale=int(scale),
        initial=initial,
        reset=int(reset),
        color=color,
        key=key,
        default=initial or None,
    )
    return value if isinstance(value, str) else None
