"""One colour language for the whole app: a class palette and fixed TP/FP/FN colours.

Everything here works on numpy arrays so pages, reports and tests can share it.
"""

from __future__ import annotations

import numpy as np

# Index = class id. Background is a dark neutral so foreground classes stand out.
CLASS_COLORS: list[str] = [
    "#2b2b2b",  # 0 background / ground
    "#e6550d",  # 1 foreground / building
    "#7f7f7f",  # 2 road
    "#31a354",  # 3 vegetation
    "#3182bd",  # 4 water
    "#e7ba52",  # 5 vehicle
    "#9467bd",
    "#d62728",
    "#17becf",
    "#bcbd22",
]
TP_COLOR = "#2ca02c"  # correct foreground: green
FP_COLOR = "#d62728"  # predicted foreground that is background: red
FN_COLOR = "#1f77b4"  # missed foreground: blue
TN_COLOR = "#2b2b2b"  # correct background: dark grey

# Lines and bars that stand for different things (γ values, losses, architectures, metrics):
# the Okabe–Ito palette, whose hues stay apart for the common colour-vision deficiencies
# (Okabe & Ito, "Color Universal Design", 2008). Yellow is last: weak on a white page.
CATEGORICAL: list[str] = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
]
#: colour-blind-safe hues beyond Okabe–Ito's eight (Paul Tol's "muted": wine, olive), for the
#: few registry names the eight cannot cover
CATEGORICAL_EXTRA: list[str] = ["#882255", "#999933"]


# One colour per architecture and per loss, the same in every chart of every page (Results'
# curves, heatmap legends and rankings, the Loss lab), whatever else a chart shows. Okabe–Ito
# hues, chosen so that the seed study's grids get four clearly different ones: SegNet / U-Net /
# strided U-Net / U-Net++ are orange / blue / bluish green / reddish purple (no two oranges),
# BCE / Dice / focal / BCE + deep supervision are blue / bluish green / vermillion / orange.
ARCH_COLORS: dict[str, str] = {
    "segnet": "#E69F00",
    "unet": "#0072B2",
    "unet_strided": "#009E73",
    "unetpp": "#CC79A7",
    "fcn": "#D55E00",
    "fpn": "#56B4E9",
}
LOSS_COLORS: dict[str, str] = {
    "bce": "#0072B2",
    "ce": "#56B4E9",
    "dice": "#009E73",
    "bce_dice": "#000000",
    "focal": "#D55E00",
    "tversky": "#CC79A7",
    "bce_ds": "#E69F00",
    # the imbalance study's single-mechanism losses: the eight Okabe–Ito hues are taken, so two
    # from Paul Tol's colour-blind-safe "muted" scheme (`CATEGORICAL_EXTRA`)
    "bce_weighted": "#882255",
    "focal_focus": "#999933",
}
# For a model or loss registered later and not named above: a stable pick by its name.
EXTRA_COLORS: list[str] = ["#8c564b", "#7f7f7f", "#bcbd22", "#17becf"]


def _named_color(name: str, colors: dict[str, str]) -> str:
    key = str(name).split(" ")[0]  # "focal (γ=2)" is focal's colour
    if key in colors:
        return colors[key]
    return EXTRA_COLORS[sum(map(ord, key)) % len(EXTRA_COLORS)]


def arch_color(name: str) -> str:
    """The colour of an architecture (registry name) everywhere in the app."""
    return _named_color(name, ARCH_COLORS)


def loss_color(name: str) -> str:
    """The colour of a loss (registry name, or a label starting with it) everywhere in the app."""
    return _named_color(name, LOSS_COLORS)


def categorical(n: int) -> list[str]:
    """``n`` colours from :data:`CATEGORICAL`, in order (repeating after eight)."""
    return [CATEGORICAL[i % len(CATEGORICAL)] for i in range(n)]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def class_color(class_id: int) -> str:
    return CLASS_COLORS[class_id % len(CLASS_COLORS)]


def _lut(colors: list[str]) -> np.ndarray:
    return np.array([hex_to_rgb(c) for c in colors], dtype=np.uint8)


def colorize_mask(mask: np.ndarray) -> np.ndarray:
    """Class-id mask (H, W) → RGB uint8 (H, W, 3) in the class palette."""
    mask = np.asarray(mask).astype(np.int64)
    return _lut(CLASS_COLORS)[mask % len(CLASS_COLORS)]


def to_uint8_image(image: np.ndarray) -> np.ndarray:
    """Image (3, H, W) or (H, W, 3), or a channels-last batch (N, H, W, 3), float in [0, 1] or
    already uint8 → uint8 (…, H, W, 3) (values rounded, outside [0, 1] clipped)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = image.transpose(1, 2, 0)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    if image.dtype == np.uint8:
        return image
    return (np.clip(image.astype(np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def overlay(
    image: np.ndarray, mask: np.ndarray, alpha: float = 0.5, skip_background: bool = True
) -> np.ndarray:
    """Blend the coloured mask over the image; background pixels stay untouched if asked."""
    base = to_uint8_image(image).astype(np.float32)
    colors = colorize_mask(mask).astype(np.float32)
    blend = (1 - alpha) * base + alpha * colors
    if skip_background:
        keep = (np.asarray(mask) == 0)[..., None]
        blend = np.where(keep, base, blend)
    return (blend + 0.5).astype(np.uint8)


def error_overlay(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Binary prediction vs target → RGB image with TP/FP/FN/TN in their fixed colours."""
    pred = np.asarray(pred).astype(bool)
    target = np.asarray(target).astype(bool)
    codes = np.where(pred & target, 0, np.where(pred & ~target, 1, np.where(~pred & target, 2, 3)))
    return _lut([TP_COLOR, FP_COLOR, FN_COLOR, TN_COLOR])[codes]


# ---- continuous colour maps (probabilities, logits, losses, activations) ----
_VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
_DIVERGING = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]
_HEAT = ["#000004", "#51127c", "#b73779", "#fc8961", "#fcfdbf"]
SCHEMES = {"viridis": _VIRIDIS, "diverging": _DIVERGING, "heat": _HEAT}


def colormap(values: np.ndarray, lo: float = 0.0, hi: float = 1.0, scheme: str = "viridis") -> np.ndarray:
    """Map a 2-D array to RGB uint8 (H, W, 3) by linear interpolation between anchor colours.

    Values are clipped to [lo, hi]. ``scheme`` is ``viridis`` (probabilities), ``diverging``
    (logits: blue < 0 < red) or ``heat`` (losses).
    """
    anchors = np.array([hex_to_rgb(c) for c in SCHEMES[scheme]], dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    span = hi - lo if hi > lo else 1.0
    pos = np.clip((v - lo) / span, 0.0, 1.0) * (len(anchors) - 1)
    i = np.minimum(pos.astype(np.int64), len(anchors) - 2)
    frac = (pos - i)[..., None]
    rgb = anchors[i] * (1 - frac) + anchors[i + 1] * frac
    return (rgb + 0.5).astype(np.uint8)
