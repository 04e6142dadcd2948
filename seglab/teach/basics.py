"""What the Basics page computes: scenes, pixel patches, one-hot masks and toy model outputs.

Everything returns numpy arrays or small DataFrames so the page can show numbers, images
and charts of exactly the same values.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from seglab.palette import CLASS_COLORS, hex_to_rgb, to_uint8_image


@dataclass(frozen=True)
class Scene:
    """One generated sample, converted to numpy for display."""

    dataset: str
    image: np.ndarray  # float32 (H, W, 3) in [0, 1]
    mask: np.ndarray  # int64 (H, W): class id of every pixel
    instances: np.ndarray | None  # int64 (H, W): 0 = background, 1.. = object number
    num_classes: int
    class_names: list[str]

    @property
    def size(self) -> int:
        return int(self.mask.shape[0])


def load_scene(dataset: str, *, size: int = 96, seed: int = 0, index: int = 0) -> Scene:
    """Generate sample ``index`` of a registered dataset (deterministic for a given seed)."""
    from seglab.data import make_dataset

    ds = make_dataset(dataset, size=size, n=index + 1, seed=seed)
    image = ds.images[index].detach().cpu().numpy().transpose(1, 2, 0).astype(np.float32)
    instances = None
    if getattr(ds, "instances", None) is not None:
        instances = ds.instances[index].detach().cpu().numpy().astype(np.int64)
    return Scene(
        dataset=dataset,
        image=image,
        mask=ds.masks[index].detach().cpu().numpy().astype(np.int64),
        instances=instances,
        num_classes=int(ds.num_classes),
        class_names=list(ds.class_names),
    )


# ---- colouring ------------------------------------------------------------------------


def instance_palette(count: int) -> np.ndarray:
    """``count + 1`` RGB colours: index 0 is the background colour, then well-spread hues.

    Hues step by the golden ratio so neighbouring object numbers get clearly different
    colours however many objects there are.
    """
    colors = [hex_to_rgb(CLASS_COLORS[0])]
    for k in range(count):
        hue = (0.11 + k * 0.618034) % 1.0
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
        colors.append((int(r * 255), int(g * 255), int(b * 255)))
    return np.array(colors, dtype=np.uint8)


def colorize_instances(instances: np.ndarray) -> np.ndarray:
    """Instance-id map (H, W) → RGB uint8 (H, W, 3), one colour per object."""
    instances = np.asarray(instances, dtype=np.int64)
    return instance_palette(int(instances.max(initial=0)))[instances]


def overlay_instances(image: np.ndarray, instances: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Blend instance colours over the image; background pixels keep the image."""
    base = to_uint8_image(image).astype(np.float32)
    colors = colorize_instances(instances).astype(np.float32)
    blend = np.where((instances > 0)[..., None], (1 - alpha) * base + alpha * colors, base)
    return (blend + 0.5).astype(np.uint8)


def draw_box(
    image: np.ndarray, top: int, left: int, height: int, width: int, color: str = "#ffffff"
) -> np.ndarray:
    """Copy of an RGB uint8 image with a one-pixel rectangle outline (clipped to the image)."""
    out = np.array(image, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    rgb = np.array(hex_to_rgb(color), dtype=np.uint8)
    bottom, right = min(h - 1, top + height - 1), min(w - 1, left + width - 1)
    out[top, left : right + 1] = rgb
    out[bottom, left : right + 1] = rgb
    out[top : bottom + 1, left] = rgb
    out[top : bottom + 1, right] = rgb
    return out


# ---- pixels as numbers ----------------------------------------------------------------


def patch_frame(values: np.ndarray, top: int, left: int, size: int) -> pd.DataFrame:
    """Long table (row, col, value) of a ``size`` × ``size`` window for a labelled heatmap.

    ``row``/``col`` are the pixel's coordinates in the full image, so the numbers on the
    page can be matched to the picture.
    """
    window = np.asarray(values)[top : top + size, left : left + size]
    rows, cols = np.indices(window.shape)
    return pd.DataFrame(
        {
            "row": (rows + top).ravel(),
            "col": (cols + left).ravel(),
            "value": window.ravel(),
        }
    )


def class_shares(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Fraction of pixels in each class, shape (num_classes,), summing to 1."""
    counts = np.bincount(np.asarray(mask, dtype=np.int64).ravel(), minlength=num_classes)
    return counts[:num_classes] / max(1, counts.sum())


def one_hot(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Class-id mask (H, W) → one-hot stack (K, H, W) of 0/1: channel k is "is class k"."""
    mask = np.asarray(mask, dtype=np.int64)
    return (np.arange(num_classes)[:, None, None] == mask[None]).astype(np.uint8)


def channels_frame(stack: np.ndarray, names: list[str]) -> pd.DataFrame:
    """(K, H, W) stack → long table (channel, row, col, value) for faceted heatmaps."""
    k, h, w = stack.shape
    ch, rows, cols = np.indices((k, h, w))
    return pd.DataFrame(
        {
            "channel": [f"{i}: {names[i]}" for i in ch.ravel()],
            "row": rows.ravel(),
            "col": cols.ravel(),
            "value": stack.ravel(),
        }
    )


# ---- a pretend model output -----------------------------------------------------------


def gaussian_blur(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smooth a 2-D array (or a stack (K, H, W)) with reflected borders."""
    arr = np.asarray(field, dtype=np.float32)
    if sigma <= 0:
        return arr.copy()
    squeeze = arr.ndim == 2
    x = torch.from_numpy(arr[None] if squeeze else arr)[:, None]  # (K, 1, H, W)
    radius = max(1, int(round(3 * sigma)))
    radius = min(radius, min(arr.shape[-2:]) - 1)
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    out = x[:, 0].numpy()
    return out[0] if squeeze else out


def shift(field: np.ndarray, dy: int, dx: int, fill: float = 0.0) -> np.ndarray:
    """Move the last two axes by (dy, dx) pixels; uncovered pixels get ``fill`` (no wrap)."""
    arr = np.asarray(field)
    out = np.full_like(arr, fill)
    h, w = arr.shape[-2:]
    src_y = slice(max(0, -dy), min(h, h - dy))
    dst_y = slice(max(0, dy), min(h, h + dy))
    src_x = slice(max(0, -dx), min(w, w - dx))
    dst_x = slice(max(0, dx), min(w, w + dx))
    out[..., dst_y, dst_x] = arr[..., src_y, src_x]
    return out


def toy_logits(
    mask: np.ndarray, *, confidence: float = 4.0, noise: float = 0.6, blur: float = 1.5, seed: int = 0
) -> np.ndarray:
    """A made-up binary model output (H, W) of logits for a mask.

    The sign follows the true mask (positive inside objects), the size grows with the
    distance from an edge (smoothing a ±1 map), ``confidence`` scales it and smooth random
    ``noise`` makes the model wrong in places, as a half-trained network is.
    """
    signed = np.where(np.asarray(mask) > 0, 1.0, -1.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    wobble = gaussian_blur(rng.standard_normal(signed.shape).astype(np.float32), 2.0)
    wobble /= max(1e-6, float(wobble.std()))
    return confidence * gaussian_blur(signed, blur) + noise * confidence * wobble


def toy_multiclass_logits(
    mask: np.ndarray, num_classes: int, *, confidence: float = 4.0, noise: float = 0.6, seed: int = 0
) -> np.ndarray:
    """A made-up K-class model output (K, H, W): smoothed one-hot scores plus smooth noise.

    The noise is half as strong as in :func:`toy_logits` for the same ``noise``: with six
    competing classes the same amount already confuses many more pixels.
    """
    scores = gaussian_blur(one_hot(mask, num_classes).astype(np.float32), 1.2)
    rng = np.random.default_rng(seed)
    wobble = gaussian_blur(rng.standard_normal(scores.shape).astype(np.float32), 3.0)
    wobble /= max(1e-6, float(wobble.std()))
    return confidence * scores + 0.5 * noise * confidence * wobble


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)), written to stay finite for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    ez = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))


def softmax(z: np.ndarray, axis: int = 0) -> np.ndarray:
    """softmax_k(z) = e^(z_k) / Σ_j e^(z_j) along ``axis`` (the class axis)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def threshold(prob: np.ndarray, t: float = 0.5) -> np.ndarray:
    """Binary mask from a probability map: 1 where p ≥ t."""
    return (np.asarray(prob) >= t).astype(np.int64)


def binary_counts(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """TP, FP, FN, TN pixel counts and the foreground IoU = TP / (TP + FP + FN)."""
    pred = np.asarray(pred).astype(bool)
    target = np.asarray(target).astype(bool)
    tp = int((pred & target).sum())
    fp = int((pred & ~target).sum())
    fn = int((~pred & target).sum())
    tn = int((~pred & ~target).sum())
    union = tp + fp + fn
    return {"TP": tp, "FP": fp, "FN": fn, "TN": tn, "IoU": tp / union if union else float("nan")}


def pixel_scores(logits: np.ndarray, names: list[str], row: int, col: int) -> pd.DataFrame:
    """One pixel of a (K, H, W) logit map: each class's logit and softmax probability."""
    z = np.asarray(logits)[:, row, col]
    return pd.DataFrame({"class": names, "logit": z, "probability": softmax(z, axis=0)})


def busiest_window(mask: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the ``size`` × ``size`` window with the most mixed labels.

    "Mixed" = most distinct classes, ties broken by how evenly the two largest classes
    share the window; the default zoom then lands on an object's edge, not on empty
    background.
    """
    mask = np.asarray(mask, dtype=np.int64)
    h, w = mask.shape
    best, best_score = (0, 0), (-1, -1)
    step = max(1, size // 3)
    for top in range(0, h - size + 1, step):
        for left in range(0, w - size + 1, step):
            counts = np.bincount(mask[top : top + size, left : left + size].ravel())
            counts = np.sort(counts[counts > 0])[::-1]
            score = (len(counts), int(counts[1]) if len(counts) > 1 else 0)
            if score > best_score:
                best, best_score = (top, left), score
    return best
