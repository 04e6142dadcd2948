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


def png_data_url(image: np.ndarray, min_side: int = 256) -> str:
    """:func:`encode_png` as a ``data:image/png;base64,…`` URL. ``st.image`` sends such a URL
    inside the page's message as it is: no media-file bookkeeping, no PIL header parse and no
    MD5 on the server, and no separate HTTP request per picture from every browser. For small
    pictures that a slider move resends (the labs, issue 22)."""
    return _data_url(encode_png(image, min_side))


def _data_url(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


#: Pictures whose PNG is at most this many bytes travel as data URLs inside the page message;
#: larger ones go through Streamlit's media files (one HTTP request each, but a lighter message).
DATA_URL_MAX_BYTES = 96_000


@st.cache_data(show_spinner=False, max_entries=2048)
def cached_png(image: np.ndarray, min_side: int = 256) -> bytes | str:
    """:func:`encode_png`, cached by content for every session (encoding on each page run was
    a quarter of a slider move's server time), as a data URL when it is small
    (:data:`DATA_URL_MAX_BYTES`; see :func:`png_data_url`), else as bytes. Either goes to
    ``st.image``."""
    data = encode_png(image, min_side)
    return data if len(data) > DATA_URL_MAX_BYTES else _data_url(data)


def image_row(
    images: Sequence[np.ndarray | bytes | str],
    captions: Sequence[str],
    min_side: int = 256,
    where: Any = None,
) -> None:
    """One row of equally sized, captioned images (arrays, PNG bytes from :func:`encode_png` or
    URLs from :func:`png_data_url`) that share the row's width. Columns, not a horizontal
    container: there each image's share would follow its caption's length. One image needs
    no columns."""
    where = where or st
    pictures = [
        image if isinstance(image, (bytes, str)) else cached_png(np.asarray(image), min_side)
        for image in images
    ]
    if len(pictures) == 1:
        where.image(pictures[0], caption=captions[0], width="stretch", output_format="PNG")
        return
    for col, data, caption in zip(where.columns(len(pictures)), pictures, captions, strict=True):
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
