"""What the Loss lab shows, computed once per distinct slider value and shared by every session.

A slider move on the Loss lab reruns sections 2–6 (one fragment: they all follow the focal
γ). Everything here is keyed by the slider values only, so the move of the 30th student to a
value the class has seen costs a dictionary lookup. The caches are ``functools.lru_cache``,
not ``st.cache_data``: with scalar keys they need no argument hashing, no signature
inspection and no copy on return, which were a sixth of a move's server time (py-spy, issue
22). Their values are therefore shared objects, returned read-only: PNG data URLs, tuples,
Vega-Lite specs (:func:`seglab.ui.chart_view.show_chart` copies what Streamlit changes),
Arrow tables and arrays marked not writeable. Memory is bounded by ``maxsize``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from seglab.palette import colormap, error_overlay, overlay
from seglab.teach import loss_lab as T
from seglab.teach.basics import load_scene, sigmoid
from seglab.ui.chart_view import chart_spec
from seglab.ui.common import read_only
from seglab.ui.images import png_data_url as picture
from seglab.viz import loss_charts as C

SIZE = 64  # side of the sample scenes, in pixels
EMPTY_MASK_SUMS = (0, 1, 10, 100)  # Σp of the false alarms in "Dice on empty masks"


@lru_cache(maxsize=128)
def sample(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``shapes`` scene: image (H, W, 3) and binary mask (H, W) int64."""
    scene = load_scene("shapes", size=SIZE, seed=seed)
    return read_only(np.asarray(scene.image), (scene.mask > 0).astype("int64"))  # type: ignore[return-value]


@lru_cache(maxsize=512)
def prediction(seed: int, wrong: float) -> np.ndarray:
    """The imperfect logits of section 3, (H, W)."""
    return read_only(T.imperfect_logits(sample(seed)[1], wrong, seed=seed))[0]


@lru_cache(maxsize=512)
def prediction_pictures(seed: int, wrong: float) -> tuple[str, ...]:
    """Section 3's four pictures as PNG data URLs (image, true mask, probability, errors) and section
    4's error map, larger (the fifth)."""
    image, mask = sample(seed)
    prob = sigmoid(prediction(seed, wrong))
    errors = error_overlay(prob >= 0.5, mask)
    row = [image, overlay(image, mask, 0.6), colormap(prob, 0, 1, "viridis"), errors]
    return (*(picture(image, 192) for image in row), picture(errors, 240))


@lru_cache(maxsize=128)
def auto_alpha(fg_share: float) -> float:
    """α = auto for a foreground share (the library's ``auto_alpha``), rounded for display."""
    return round(T.alpha_from_share(fg_share), 4)


#: Section 2's three example pixels: (predicted p of the true class, how it reads).
EXAMPLE_PIXELS = ((0.9, "easy"), (0.5, "unsure"), (0.1, "hard"))


@lru_cache(maxsize=512)
def focal_numbers(alpha: float, gamma: float) -> tuple[tuple[dict[str, float], ...], float, float]:
    """Section 2's numbers: focal and BCE loss of each example pixel, and the weight a pixel
    with p_t = 0.3 and one with p_t = 0.1 keep under the modulating factor."""
    at = tuple(T.focal_at(p, alpha, gamma) for p, _ in EXAMPLE_PIXELS)
    return at, T.kept_weight(0.3, gamma), T.kept_weight(0.1, gamma)


@lru_cache(maxsize=512)
def focal_views(alpha: float, gamma: float, present: bool) -> tuple[dict, dict, dict]:
    """Section 2's charts: loss curves, modulating factor, gradient."""
    curves = T.focal_curves(alpha, gamma)
    return (
        chart_spec(C.loss_curves(curves, "loss", "loss of one pixel", y_domain=(0, 3)), present),
        chart_spec(C.modulating_chart(gamma), present),
        chart_spec(C.gradient_chart(curves), present),
    )


@lru_cache(maxsize=512)
def confidence_view(
    seed: int, wrong: float, alpha: float, gamma: float, present: bool
) -> tuple[dict[str, float], dict]:
    """Section 3: the easy pixels' shares of BCE and focal, and where the loss comes from."""
    logits, mask = prediction(seed, wrong), sample(seed)[1]
    bars = C.loss_source_bars(T.loss_by_confidence(logits, mask, alpha, gamma))
    return T.easy_hard(logits, mask, alpha, gamma), chart_spec(bars, present)


@lru_cache(maxsize=512)
def loss_map(name: str, seed: int, wrong: float, params: tuple) -> tuple[str, float, float]:
    """Section 4: the per-pixel loss as a PNG data URL (square pixels, coloured from 0 to the largest
    pixel loss), that largest value, and the mean loss. ``params``: sorted (name, value) pairs."""
    values, mean = T.pixel_loss(name, prediction(seed, wrong), sample(seed)[1], **dict(params))
    top = float(values.max()) or 1.0
    return picture(colormap(values, 0.0, top, "heat"), 240), top, mean


@lru_cache(maxsize=256)
def imbalance_view(gamma: float, current: float, present: bool) -> tuple[dict, tuple[tuple[str, float], ...]]:
    """Section 5: the chart over object sizes, and (loss, value) at the chosen size."""
    table = T.imbalance_table(gamma)
    chosen = table[table["fg_share"] == current]
    values = tuple(
        (str(loss), float(value)) for loss, value in zip(chosen["loss"], chosen["value"], strict=True)
    )
    return chart_spec(C.imbalance_chart(table, current), present), values


@lru_cache(maxsize=1)
def dice_batch_table() -> pa.Table:
    """Section 5: batch-level against per-image Dice on a small and a large object."""
    table = T.dice_small_vs_large().rename(
        columns={
            "mistake": "Mistake",
            "batch_dice": "Batch-level Dice loss",
            "per_image_dice": "Per-image Dice loss",
        }
    )
    return pa.Table.from_pandas(table, preserve_index=False)


@lru_cache(maxsize=512)
def pitfalls(
    seed: int, wrong: float, gamma: float
) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """Section 6: σ applied twice, the two α conventions, softmax against one-vs-rest focal
    (its table as an Arrow table, with the names of its number columns under ``numbers``)."""
    z, m = prediction(seed, wrong), sample(seed)[1]
    versus = dict(T.sigmoid_vs_softmax(gamma))
    frame = versus["table"]
    versus["numbers"] = tuple(frame.select_dtypes("number").columns)
    versus["table"] = pa.Table.from_pandas(frame, preserve_index=False)
    return T.sigmoid_twice(z, m), T.alpha_conventions(z, m, gamma), versus


@lru_cache(maxsize=256)
def empty_mask_dice(smooth: float) -> dict[int, dict[str, float]]:
    """Section 6: Dice loss on an empty true mask for a few false-alarm sums Σp."""
    return {k: T.dice_on_empty(smooth, k) for k in EMPTY_MASK_SUMS}
