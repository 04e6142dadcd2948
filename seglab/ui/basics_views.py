"""What the Basics page shows, computed once per distinct widget value and shared by every session.

The rules of :mod:`seglab.ui.loss_lab_views`: ``functools.lru_cache`` keyed by the widget
values, values returned read-only (PNG data URLs, tuples, Vega-Lite specs, arrays not
writeable). A slider move on Basics reran the whole page and rebuilt its six Altair charts:
about 200 ms of server time per move, measured at a load average of 4–5 (issue 22).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from seglab.palette import colorize_mask, colormap, error_overlay, overlay
from seglab.teach import basics as B
from seglab.ui.chart_view import chart_spec
from seglab.ui.common import read_only
from seglab.ui.images import as_rgb
from seglab.ui.images import png_data_url as picture
from seglab.viz import loss_charts as C

SIZE = 96  # side of the cells scene, in pixels
PATCH = 12  # the zoomed window of section 2, pixels per side
AERIAL = 96  # side of the aerial tile
ONE_HOT = 8  # the one-hot window of section 4


@lru_cache(maxsize=64)
def scene(dataset: str, size: int, seed: int) -> B.Scene:
    """A generated scene (shared: its arrays are marked read-only)."""
    s = B.load_scene(dataset, size=size, seed=seed)
    read_only(*(a for a in (s.image, s.mask, s.instances) if isinstance(a, np.ndarray)))
    return s


@lru_cache(maxsize=64)
def cell_pictures(seed: int) -> tuple[tuple[str, ...], tuple[int, int], int]:
    """Section 1: image, semantic mask, instance mask, and the two overlays (PNG data URLs);
    the busiest window's corner (section 2's default) and the number of cells."""
    s = scene("cells", SIZE, seed)
    views = (
        as_rgb(s.image),
        colorize_mask(s.mask),
        B.colorize_instances(s.instances),
        overlay(s.image, s.mask, 0.55),
        B.overlay_instances(s.image, s.instances),
    )
    cells = len(np.unique(s.instances[s.instances > 0])) if s.instances is not None else 0
    return tuple(picture(v, 240) for v in views), B.busiest_window(s.mask, PATCH), cells


@lru_cache(maxsize=512)
def window_view(seed: int, top: int, left: int, ids: str, present: bool) -> tuple[str, str, dict]:
    """Section 2: where the window is, its pixels enlarged, and its class or instance ids."""
    s = scene("cells", SIZE, seed)
    where = picture(B.draw_box(as_rgb(s.image), top, left, PATCH, PATCH), 288)
    pixels = picture(as_rgb(s.image[top : top + PATCH, left : left + PATCH]), 288)
    if ids == "class id":
        chart = C.class_id_heatmap(
            B.patch_frame(s.mask, top, left, PATCH), s.num_classes, s.class_names, cell=26
        )
    else:
        chart = C.value_heatmap(
            B.patch_frame(s.instances, top, left, PATCH), "instance id", scheme="category20", cell=26, fmt="d"
        )
    return where, pixels, chart_spec(chart, present)


@lru_cache(maxsize=64)
def aerial_view(seed: int, present: bool) -> dict[str, Any]:
    """Sections 3 and 4: the tile and its mask (PNG data URLs), the class shares chart, an
    8×8 window as class ids and as one-hot channels, and the largest channel sum per pixel."""
    s = scene("aerial", AERIAL, seed)
    top, left = B.busiest_window(s.mask, ONE_HOT)
    stack = B.one_hot(s.mask[top : top + ONE_HOT, left : left + ONE_HOT], s.num_classes)
    ids = B.patch_frame(s.mask, top, left, ONE_HOT)
    return {
        "pictures": (picture(as_rgb(s.image), 240), picture(overlay(s.image, s.mask, 0.7), 240)),
        "shares": chart_spec(
            C.class_share_bars(s.class_names, B.class_shares(s.mask, s.num_classes)), present
        ),
        "ids": chart_spec(C.class_id_heatmap(ids, s.num_classes, s.class_names, cell=24), present),
        "one_hot": chart_spec(
            C.one_hot_facets(B.channels_frame(stack, s.class_names), columns=3, cell=16), present
        ),
        "channel_sum": int(stack.sum(0).max()),
        "window": (top, left),
        "num_classes": s.num_classes,
    }


@lru_cache(maxsize=512)
def binary_view(seed: int, noise: float, t: float) -> dict[str, Any]:
    """Section 5: logits, probability, mask and errors of the toy model (PNG data URLs), its
    error counts, and logit, probability and class at each pixel (read-only arrays)."""
    mask = scene("cells", SIZE, seed).mask
    z = B.toy_logits(mask, noise=noise, seed=seed)
    p = B.sigmoid(z)
    pred = B.threshold(p, t)
    pictures = (
        colormap(z, -8, 8, "diverging"),
        colormap(p, 0, 1),
        colorize_mask(pred),
        error_overlay(pred, mask),
    )
    z, p, pred = read_only(z, p, pred)
    return {
        "pictures": tuple(picture(x, 200) for x in pictures),
        "counts": B.binary_counts(pred, mask),
        "z": z,
        "p": p,
        "pred": pred,
    }


@lru_cache(maxsize=256)
def multiclass_view(seed: int, noise: float, present: bool) -> dict[str, Any]:
    """Section 5, softmax: the toy prediction and the true mask (PNG data URLs), one pixel's
    softmax probabilities (chart) and the pixel accuracy."""
    s = scene("aerial", AERIAL, seed)
    zk = B.toy_multiclass_logits(s.mask, s.num_classes, noise=noise, seed=seed)
    top, left = B.busiest_window(s.mask, ONE_HOT)
    row, col = top + ONE_HOT // 2, left + ONE_HOT // 2
    bars = C.probability_bars(B.pixel_scores(zk, s.class_names, row, col))
    return {
        "pictures": (picture(colorize_mask(zk.argmax(0)), 240), picture(colorize_mask(s.mask), 240)),
        "pixel": (row, col),
        "bars": chart_spec(bars, present),
        "accuracy": float((zk.argmax(0) == s.mask).mean()),
    }
