"""Computations behind the Metrics lab page: masks to compare and the scores they earn.

Everything is plain numpy in, numpy / dicts / DataFrames out, so the page stays a thin
layout script and the tests can rebuild exactly the masks the page shows. The scores
themselves always come from :mod:`seglab.metrics.scores`, the same code that scores training runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from seglab.data import make_dataset
from seglab.metrics import scores as metrics
from seglab.palette import to_uint8_image

#: Side length of the binary teaching samples: small enough that a one-pixel shift is visible.
SAMPLE_SIZE = 64
#: How many `shapes` samples the lab offers.
SAMPLE_COUNT = 16
#: Radius, in pixels, of each false-positive blob added by the "noise blobs" widget.
BLOB_RADIUS = 3


# --------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _dataset_arrays(name: str, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Images uint8 (N, H, W, 3), masks int64 (N, H, W) and class names of a built-in set."""
    ds = make_dataset(name, size=size, n=SAMPLE_COUNT, seed=0)
    images = ds.images.permute(0, 2, 3, 1).numpy()
    images = to_uint8_image(images)
    masks = ds.masks.numpy().astype(np.int64)
    images.flags.writeable = False
    masks.flags.writeable = False
    return images, masks, tuple(ds.class_names)


def shapes_sample(index: int, size: int = SAMPLE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Image uint8 (H, W, 3) and binary ground-truth mask bool (H, W) of one `shapes` sample."""
    images, masks, _ = _dataset_arrays("shapes", size)
    return images[index].copy(), masks[index] > 0


# --------------------------------------------------------------------------------------
# Shaping a prediction
# --------------------------------------------------------------------------------------


def shift_mask(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Move a mask dx pixels right and dy pixels down; what leaves the frame is lost, no wrap."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src = mask[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def scale_mask(mask: np.ndarray, factor: float) -> np.ndarray:
    """Enlarge (factor > 1) or shrink the foreground about its centre of mass, nearest pixel."""
    if factor == 1.0 or not mask.any():
        return mask.copy()
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    yy, xx = np.mgrid[0:h, 0:w]
    src_y = np.rint(cy + (yy - cy) / factor).astype(int)
    src_x = np.rint(cx + (xx - cx) / factor).astype(int)
    inside = (src_y >= 0) & (src_y < h) & (src_x >= 0) & (src_x < w)
    out = np.zeros_like(mask)
    out[inside] = mask[src_y[inside], src_x[inside]]
    return out


def morph_mask(mask: np.ndarray, steps: int) -> np.ndarray:
    """Dilate (steps > 0) or erode (steps < 0) by |steps| passes of a 3×3 square element."""
    out = mask.astype(bool)
    grow = steps > 0
    for _ in range(abs(steps)):
        # Pad with the value that leaves the border neutral: False to grow, True to shrink.
        padded = np.pad(out, 1, constant_values=not grow)
        h, w = out.shape
        windows = [padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]
        out = np.logical_or.reduce(windows) if grow else np.logical_and.reduce(windows)
    return out


def add_blobs(mask: np.ndarray, count: int, radius: int = BLOB_RADIUS, seed: int = 0) -> np.ndarray:
    """Paint `count` small discs at reproducible random places: spurious detections."""
    out = mask.copy()
    if count <= 0:
        return out
    h, w = mask.shape
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    for cy, cx in zip(
        rng.integers(radius, h - radius, count), rng.integers(radius, w - radius, count), strict=True
    ):
        out |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    return out


@dataclass(frozen=True)
class PredictionSettings:
    """The Metrics lab widgets, in one value the page and the tests can share."""

    shift_x: int = 0
    shift_y: int = 0
    scale: float = 1.0
    morph: int = 0
    blobs: int = 0


def shape_prediction(target: np.ndarray, settings: PredictionSettings) -> np.ndarray:
    """Turn the ground truth into a plausible wrong prediction: scale, grow/shrink, shift, blobs."""
    pred = scale_mask(target.astype(bool), settings.scale)
    pred = morph_mask(pred, settings.morph)
    pred = shift_mask(pred, settings.shift_x, settings.shift_y)
    return add_blobs(pred, settings.blobs)


def lab_masks(index: int, settings: PredictionSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, target, prediction) exactly as the Metrics lab shows them."""
    image, target = shapes_sample(index)
    return image, target, shape_prediction(target, settings)


# --------------------------------------------------------------------------------------
# Binary scores
# --------------------------------------------------------------------------------------


def confusion(pred: np.ndarray, target: np.ndarray, num_classes: int = 2) -> np.ndarray:
    """(K, K) confusion matrix from seglab.metrics.scores, rows = truth, columns = prediction."""
    cm = metrics.confusion_matrix(
        torch.tensor(np.asarray(pred, dtype=np.int64)),
        torch.tensor(np.asarray(target, dtype=np.int64)),
        num_classes,
    )
    return cm.numpy() if isinstance(cm, torch.Tensor) else np.asarray(cm)


def binary_report(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Counts and every binary score for one mask pair.

    Keys: tp, fp, fn, tn (pixel counts) and iou, dice, precision, recall, f1, accuracy.
    IoU, Dice, precision, recall and accuracy are seglab.metrics.scores' own numbers for the
    foreground class; F1 is recomputed from precision and recall, 2PR / (P + R), so the page
    can show that it lands on the Dice value.
    """
    cm = confusion(pred, target, 2)
    s = metrics.scores(torch.from_numpy(cm))
    p, r = float(s["fg_precision"]), float(s["fg_recall"])
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {
        "tn": int(cm[0, 0]),
        "fp": int(cm[0, 1]),
        "fn": int(cm[1, 0]),
        "tp": int(cm[1, 1]),
        "iou": float(s["fg_iou"]),
        "dice": float(s["fg_dice"]),
        "precision": p,
        "recall": r,
        "f1": f1,
        "accuracy": float(s["accuracy"]),
    }


def formula_lines(r: dict[str, float]) -> list[str]:
    """LaTeX for each binary score with this mask pair's counts substituted."""
    tp, fp, fn, tn = r["tp"], r["fp"], r["fn"], r["tn"]
    return [
        rf"\text{{IoU}} = \frac{{TP}}{{TP+FP+FN}} = \frac{{{tp}}}{{{tp}+{fp}+{fn}}} = {r['iou']:.3f}",
        rf"\text{{Dice}} = \frac{{2\,TP}}{{2\,TP+FP+FN}} = \frac{{{2 * tp}}}{{{2 * tp}+{fp}+{fn}}} = {r['dice']:.3f}",
        rf"\text{{Precision}} = \frac{{TP}}{{TP+FP}} = \frac{{{tp}}}{{{tp}+{fp}}} = {r['precision']:.3f}",
        rf"\text{{Recall}} = \frac{{TP}}{{TP+FN}} = \frac{{{tp}}}{{{tp}+{fn}}} = {r['recall']:.3f}",
        rf"F_1 = \frac{{2PR}}{{P+R}} = {r['f1']:.3f} \;(= \text{{Dice}})",
        rf"\text{{Accuracy}} = \frac{{TP+TN}}{{N}} = \frac{{{tp}+{tn}}}{{{tp + fp + fn + tn}}} = {r['accuracy']:.3f}",
    ]


# --------------------------------------------------------------------------------------
# The accuracy paradox
# --------------------------------------------------------------------------------------


def small_object_target(fg_percent: float, size: int = 100) -> np.ndarray:
    """A size×size ground truth whose foreground is a centred rectangle of ~fg_percent % pixels."""
    total = size * size
    area = max(1, round(total * fg_percent / 100))
    w = max(1, min(size, int(np.ceil(np.sqrt(2 * area)))))
    h = max(1, min(size, round(area / w)))
    mask = np.zeros((size, size), dtype=bool)
    top, left = (size - h) // 2, (size - w) // 2
    mask[top : top + h, left : left + w] = True
    return mask


def paradox_report(fg_percent: float) -> dict[str, float]:
    """Scores of the lazy all-background answer on an image with a small object."""
    target = small_object_target(fg_percent)
    pred = np.zeros_like(target)
    cm = confusion(pred, target, 2)
    s = metrics.scores(torch.from_numpy(cm))
    return {
        "fg_share": float(target.mean()),
        "accuracy": float(s["accuracy"]),
        "fg_iou": float(s["fg_iou"]),
        "bg_iou": float(s["iou"][0]),
        "miou": float(s["miou"]),
    }


# --------------------------------------------------------------------------------------
# Dice and IoU
# --------------------------------------------------------------------------------------


def dice_iou_curve(points: int = 101) -> pd.DataFrame:
    """Columns iou, dice along Dice = 2·IoU / (1 + IoU) for IoU in [0, 1] (seglab.metrics.scores' map)."""
    iou = np.linspace(0.0, 1.0, points)
    return pd.DataFrame({"iou": iou, "dice": [metrics.dice_from_iou(float(v)) for v in iou]})


# --------------------------------------------------------------------------------------
# Many classes: the aerial sample
# --------------------------------------------------------------------------------------


def aerial_sample(index: int, size: int = SAMPLE_SIZE) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Image uint8 (H, W, 3), class-id mask int (H, W) and class names of one `aerial` sample."""
    images, masks, names = _dataset_arrays("aerial", size)
    return images[index].copy(), masks[index].copy(), list(names)


def corrupt_labels(
    target: np.ndarray,
    num_classes: int,
    *,
    noise_percent: float = 0.0,
    missed_class: int | None = None,
    shift: int = 0,
    block: int = 4,
    seed: int = 0,
) -> np.ndarray:
    """A believable bad multi-class prediction.

    - `shift`: the whole map is displaced by that many pixels right (boundaries go wrong);
    - `missed_class`: every pixel of that class is called background (class 0);
    - `noise_percent`: that share of block×block tiles gets a random wrong class.
    """
    pred = target.copy()
    if shift:
        moved = np.roll(pred, shift, axis=1)
        moved[:, :shift] = pred[:, :1]  # repeat the left edge instead of wrapping around
        pred = moved
    if missed_class is not None and missed_class > 0:
        pred[pred == missed_class] = 0
    if noise_percent > 0:
        h, w = pred.shape
        rng = np.random.default_rng(seed)
        bh, bw = -(-h // block), -(-w // block)
        hit = rng.random((bh, bw)) < noise_percent / 100
        new = rng.integers(0, num_classes, (bh, bw))
        hit_px = np.kron(hit, np.ones((block, block), dtype=bool))[:h, :w]
        new_px = np.kron(new, np.ones((block, block), dtype=np.int64))[:h, :w]
        pred = np.where(hit_px, new_px, pred)
    return pred


def class_shares_table(pred: np.ndarray, target: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """One row per class: name, class id, IoU (NaN when absent from both), pixel shares."""
    k = len(class_names)
    cm = confusion(pred, target, k)
    s = metrics.scores(torch.from_numpy(cm))
    total = max(1, int(cm.sum()))
    return pd.DataFrame(
        {
            "class_id": list(range(k)),
            "class": list(class_names),
            "iou": [float(v) for v in s["iou"]],
            "truth_share": cm.sum(axis=1) / total,
            "pred_share": cm.sum(axis=0) / total,
        }
    )


def multiclass_summary(pred: np.ndarray, target: np.ndarray, num_classes: int) -> dict[str, float]:
    """mIoU (NaN classes left out) and pixel accuracy from seglab.metrics.scores."""
    s = metrics.scores(torch.from_numpy(confusion(pred, target, num_classes)))
    return {"miou": float(s["miou"]), "accuracy": float(s["accuracy"])}


# --------------------------------------------------------------------------------------
# Averaging over a small set, and the empty-mask conventions
# --------------------------------------------------------------------------------------

#: How each image of the averaging set is spoiled, by sample index. The last entry is the
#: image with an empty ground truth.
_AVERAGING_SET = (
    (0, PredictionSettings(shift_x=1)),
    (1, PredictionSettings(shift_x=4, morph=-1)),
    (2, PredictionSettings(shift_x=6, shift_y=5, scale=0.8)),
)


def averaging_set(stray_pixels: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """A tiny evaluation set: (caption, prediction, target) pairs, the last with an empty target.

    On the empty image the model either also predicts nothing (`stray_pixels == 0`: both
    masks empty, IoU = 0/0) or predicts a small square of `stray_pixels` false positives.
    """
    items = []
    for index, settings in _AVERAGING_SET:
        _, target, pred = lab_masks(index, settings)
        items.append((f"sample {index}", pred, target))
    empty = np.zeros((SAMPLE_SIZE, SAMPLE_SIZE), dtype=bool)
    stray = empty.copy()
    if stray_pixels > 0:
        side = int(np.ceil(np.sqrt(stray_pixels)))
        flat = np.zeros(side * side, dtype=bool)
        flat[:stray_pixels] = True
        stray[8 : 8 + side, 8 : 8 + side] = flat.reshape(side, side)
    items.append(("empty truth", stray, empty))
    return items


#: label → `empty=` rule of `seglab.metrics.scores.per_image_iou` for an image where IoU is 0/0.
EMPTY_CONVENTIONS = {
    "empty = 1": "one",
    "empty = 0": "zero",
    "empty left out": "nan",
}


def averaging_report(stray_pixels: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-image IoU under each empty-mask convention, and the set-level averages.

    Returns (per_image, summary). per_image: one row per image with tp, fp, fn and one IoU
    column per convention. summary: columns `method` and `value` for
    - dataset-level foreground IoU: ΣTP / Σ(TP+FP+FN) over the whole set (one big image);
    - per-image mean foreground IoU under each empty convention;
    - per-class mean (mIoU over background and foreground, dataset-level counts).
    """
    items = averaging_set(stray_pixels)
    preds = np.stack([p for _, p, _ in items]).astype(np.int64)
    targets = np.stack([t for _, _, t in items]).astype(np.int64)
    rows = []
    for caption, pred, target in items:
        cm = confusion(pred, target, 2)
        rows.append({"image": caption, "tp": int(cm[1, 1]), "fp": int(cm[0, 1]), "fn": int(cm[1, 0])})
    per_image = pd.DataFrame(rows)
    summary = []
    for label, empty in EMPTY_CONVENTIONS.items():
        values = metrics.per_image_iou(torch.from_numpy(preds), torch.from_numpy(targets), 2, empty=empty)
        values = values.numpy() if isinstance(values, torch.Tensor) else np.asarray(values, dtype=float)
        per_image[f"IoU ({label})"] = values
        mean = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        summary.append({"method": f"Per-image mean ({label})", "value": mean})
    total = confusion(preds, targets, 2)
    s = metrics.scores(torch.from_numpy(total))
    summary.insert(0, {"method": "Dataset-level (pooled pixels)", "value": float(s["fg_iou"])})
    summary.append({"method": "Per-class mean (mIoU)", "value": float(s["miou"])})
    return per_image, pd.DataFrame(summary)


def dice_iou_widest_gap() -> dict[str, float]:
    r"""Where Dice − IoU is largest, and how large.

    With Dice = 2x/(1+x) for IoU x, the gap g(x) = 2x/(1+x) − x has
    g'(x) = 2/(1+x)² − 1 = 0 at x = √2 − 1 ≈ 0.414, where Dice = 2 − √2 ≈ 0.586 and the gap
    is 3 − 2√2 ≈ 0.172 (not at IoU 0.5, where it is 1/6 ≈ 0.167).
    Returns ``iou``, ``dice`` and ``gap``.
    """
    x = math.sqrt(2.0) - 1.0
    dice = metrics.dice_from_iou(x)
    return {"iou": x, "dice": dice, "gap": dice - x}


def miou_drop_if_missed(iou_of_class: float, num_classes: int) -> float:
    """The missed class's own part of the mIoU drop when the model stops predicting it: IoU_c / K.

    mIoU is the plain mean of K per-class IoUs; the missed class's IoU falls from IoU_c to 0, so
    its own part is IoU_c / K. This is *not* the whole drop: the missed pixels become false
    positives of the class they are given to, whose IoU falls too (see `miou_drop_breakdown`), so
    the drop can exceed 1/K.
    """
    return float(iou_of_class) / int(num_classes)


def miou_drop_breakdown(
    before: pd.DataFrame, after: pd.DataFrame, missed: int, receiver: int = 0
) -> dict[str, float]:
    """Where an mIoU drop comes from, class by class: the `class_shares_table` of a prediction
    ``before`` and ``after`` class ``missed`` was given to class ``receiver`` (background, as
    `corrupt_labels` does).

    With the same K classes counted (IoU not NaN) in both, mIoU_before − mIoU_after =
    Σ_k (IoU_k,before − IoU_k,after) / K exactly. Returns ``k``, ``total`` (the measured drop),
    ``own`` (the missed class's part, IoU_c / K when the class is no longer predicted anywhere),
    ``receiver`` (the receiving class's part: the missed pixels become its false positives, which
    lower its IoU; where a shifted prediction had put the missed class on the receiver's own
    pixels, those turn into true positives, so this part can be slightly negative) and
    ``others`` (every other class; 0 when only the missed pixels changed).
    """
    a, b = before["iou"].to_numpy(dtype=float), after["iou"].to_numpy(dtype=float)
    counted = ~np.isnan(a)
    if not np.array_equal(counted, ~np.isnan(b)):
        raise ValueError("before and after must count the same classes")
    k = int(counted.sum())
    part = np.where(counted, a - np.nan_to_num(b), 0.0) / k
    rest = [i for i in range(len(part)) if i not in (missed, receiver)]
    return {
        "k": k,
        "total": float(np.nanmean(a) - np.nanmean(b)),
        "own": float(part[missed]),
        "receiver": float(part[receiver]),
        "others": float(part[rest].sum()),
    }


# --------------------------------------------------------------------------------------
# Draw your own mask
# --------------------------------------------------------------------------------------

#: colour of the ground-truth outline under the drawing canvas (yellow: not a TP/FP/FN colour)
OUTLINE_RGB = (255, 215, 0)


def target_outline(image: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The image uint8 (H, W, 3) with the target's border pixels painted `OUTLINE_RGB`.

    Border = object pixels with at least one background pixel among their 8 neighbours
    (the target minus its erosion by a 3×3 square), so the student sees what to trace.
    """
    border = target.astype(bool) & ~morph_mask(target, -1)
    out = np.array(image, dtype=np.uint8, copy=True)
    out[border] = OUTLINE_RGB
    return out


def decode_drawn_mask(value: str | None, shape: tuple[int, int]) -> np.ndarray:
    """The canvas's answer ('0'/'1' per pixel, row by row) as a bool mask of ``shape``.

    Nothing drawn yet (None or an empty string) gives an empty prediction; a string of the
    wrong length (the canvas was drawn for another size) also starts from empty.
    """
    h, w = shape
    if not value or len(value) != h * w or set(value) - {"0", "1"}:
        return np.zeros((h, w), dtype=bool)
    return (np.frombuffer(value.encode("ascii"), dtype=np.uint8) == ord("1")).reshape(h, w)


def encode_mask(mask: np.ndarray) -> str:
    """Inverse of `decode_drawn_mask`: a bool mask as a '0'/'1' string, row by row."""
    return "".join("1" if v else "0" for v in np.asarray(mask, dtype=bool).ravel())


def drawn_report(value: str | None, target: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Decode a drawing and score it against ``target``: ``(prediction, binary_report(...))``."""
    pred = decode_drawn_mask(value, target.shape)
    return pred, binary_report(pred, target.astype(bool))
