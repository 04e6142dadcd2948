"""Showing small images in Streamlit: crisp nearest-neighbour upscaling and captioned rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

from seglab.palette import to_uint8_image


def upscale(image: np.ndarray, min_side: int = 256) -> np.ndarray:
    """Nearest-neighbour enlarge an (H, W[, 3]) image so pixels stay visible as squares."""
    image = np.asarray(image)
    factor = max(1, int(np.ceil(min_side / max(1, min(image.shape[:2])))))
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Accept float (3,H,W)/(H,W,3) in [0,1] or uint8 (H,W,3); return uint8 (H,W,3)."""
    image = np.asarray(image)
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3:
        return image
    return to_uint8_image(image)


def encode_png(image: np.ndarray, min_side: int = 256) -> bytes:
    """The image enlarged (:func:`upscale`) and encoded as PNG (Streamlit would pick JPEG,
    which smears the edges of masks). Uncached: for values that are cached as a whole."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(upscale(as_rgb(image), min_side)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@st.cache_data(show_spinner=False, max_entries=2048)
def png_bytes(image: np.ndarray, min_side: int = 256) -> bytes:
    """:func:`encode_png`, cached by content for every session: encoding on each page run was
    a quarter of a slider move's server time."""
    return encode_png(image, min_side)


def image_row(
    images: Sequence[np.ndarray | bytes], captions: Sequence[str], min_side: int = 256, where: Any = None
) -> None:
    """One row of equally sized, captioned images (arrays, or PNG bytes from :func:`encode_png`).
    Columns, not a horizontal container: there each image's share would follow its caption's
    length."""
    for col, image, caption in zip((where or st).columns(len(images)), images, captions, strict=True):
        data = image if isinstance(image, bytes) else png_bytes(np.asarray(image), min_side)
        col.image(data, caption=caption, width="stretch", output_format="PNG")


def metric_row(items: Sequence[tuple[str, ...]], where: Any = None, width: int | str = "stretch") -> None:
    """One row of ``st.metric``; items are (label, value) or (label, value, help). With
    ``width="stretch"`` they share the row; with a width in pixels they wrap onto more rows.
    One horizontal container, not ``st.columns``: each column is a message of its own, and on
    the labs, which resend their rows on every slider move, messages are most of a move's
    server time (issue 22)."""
    with (where or st).container(horizontal=True, gap="small"):
        for label, value, *more in items:
            st.metric(label, value, help=more[0] if more else None, width=width)


def colour_bar_html(colors: Sequence[str], low: float, high: float, title: str) -> str:
    """A horizontal colour scale (``colors`` from low to high) with its end values, as HTML,
    to sit under an image drawn with the same colours."""
    stops = ", ".join(colors)
    return (
        f"<div style='font-size:0.85rem'>{title}"
        f"<div style='height:12px;border-radius:2px;background:linear-gradient(to right, {stops})'></div>"
        f"<div style='display:flex;justify-content:space-between'><span>{low:.3g}</span>"
        f"<span>{high:.3g}</span></div></div>"
    )
