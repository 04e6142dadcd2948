"""Showing small images in Streamlit: crisp nearest-neighbour upscaling and captioned rows."""

from __future__ import annotations

from collections.abc import Sequence

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


@st.cache_data(show_spinner=False, max_entries=2048)
def png_bytes(image: np.ndarray, min_side: int = 256) -> bytes:
    """The image enlarged (:func:`upscale`) and encoded as PNG, cached by content for every
    session: encoding on each page run was a quarter of a slider move's server time, and
    Streamlit would pick JPEG, which smears the edges of masks."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(upscale(as_rgb(image), min_side)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def image_row(images: Sequence[np.ndarray], captions: Sequence[str], min_side: int = 256) -> None:
    """One row of equally sized, captioned images."""
    for col, image, caption in zip(st.columns(len(images)), images, captions, strict=True):
        col.image(
            png_bytes(np.asarray(image), min_side), caption=caption, width="stretch", output_format="PNG"
        )


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
