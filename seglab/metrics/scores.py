r"""Segmentation metrics from a confusion matrix: IoU, Dice, precision, recall, accuracy.

For one class c, counting pixels over a whole dataset:

- :math:`IoU_c = TP / (TP + FP + FN)` (Jaccard index, "intersection over union")
- :math:`Dice_c = 2TP / (2TP + FP + FN) = 2 IoU / (1 + IoU)` (F1 score of the class)
- :math:`Precision_c = TP / (TP + FP)`, :math:`Recall_c = TP / (TP + FN)`
- :math:`Accuracy = \sum_c TP_c / \text{all pixels}`

A quotient whose denominator is 0 is undefined and reported as NaN: IoU/Dice of a class
that appears neither in the prediction nor in the target, precision of a class never
predicted, recall of a class absent from the target. Means (mIoU, mDice) skip NaN.
For binary tasks (K = 2) the study's "IoU" is the foreground IoU, ``fg_iou``.

Dataset-level scores come from summing confusion matrices over batches and scoring once,
which is not the same as averaging per-image IoU (:func:`per_image_iou` gives the latter).

Reference: Everingham et al., "The PASCAL Visual Object Classes Challenge", IJCV 2010
(IoU as the segmentation measure); Csurka, Larlus & Perronnin, BMVC 2013 (per-image vs
dataset-level scores).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

ArrayLike = Tensor | np.ndarray
EmptyRule = Literal["nan", "one", "zero"]


def _as_labels(x: ArrayLike) -> Tensor:
    """Integer label tensor (int64) from a torch tensor or numpy array (bools become 0/1)."""
    t = x if isinstance(x, Tensor) else torch.from_numpy(np.asarray(x))
    return t.long()


def predict_labels(logits: Tensor) -> Tensor:
    """Hard labels ``(N, H, W)`` int64 from logits ``(N, C, H, W)``.

    C == 1: foreground where sigmoid(z) ≥ 0.5, i.e. where the logit z ≥ 0. C > 1: argmax over
    the channels.
    """
    if logits.ndim != 4:
        raise ValueError(f"logits must have shape (N, C, H, W), got {tuple(logits.shape)}")
    if logits.shape[1] == 1:
        return (logits[:, 0] >= 0).long()
    return logits.argmax(dim=1)


def check_label_range(pred: Tensor, target: Tensor, num_classes: int) -> None:
    """Refuse label maps holding ids outside ``[0, num_classes)`` with one plain message.

    Shared by :func:`confusion_matrix` and :func:`per_image_iou`, so 0/255 maps, stray ids
    and negative ids get the same ``ValueError`` everywhere instead of a crash or a count
    that silently lands in another class or image.
    """
    if not pred.numel():
        return
    k = int(num_classes)
    p_min, p_max, t_min, t_max = torch.stack(
        [*torch.aminmax(pred), *torch.aminmax(target.to(pred.device))]
    ).tolist()
    low, high = min(p_min, t_min), max(p_max, t_max)
    if low < 0 or high >= k:
        raise ValueError(f"labels must lie in 0..{k - 1} for {k} classes, found {low}..{high}")


def confusion_matrix(pred: ArrayLike, target: ArrayLike, num_classes: int) -> Tensor:
    """Pixel confusion matrix ``(K, K)`` int64: entry [t, p] counts pixels of class t
    predicted as p (rows = target, columns = prediction).

    ``pred`` and ``target`` are label maps of the same shape (any shape) with ids in
    ``[0, K)``. The matrix lives on the inputs' device; add matrices to accumulate over
    batches. Computed with one ``bincount`` over ``target * K + pred``.
    """
    p, t = _as_labels(pred), _as_labels(target)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {tuple(p.shape)} differs from target shape {tuple(t.shape)}")
    k = int(num_classes)
    check_label_range(p, t, k)
    flat = t.reshape(-1) * k + p.to(t.device).reshape(-1)
    return torch.bincount(flat, minlength=k * k).reshape(k, k)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where den == 0."""
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _nanmean(values: np.ndarray) -> float:
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else float("nan")


def scores(cm: ArrayLike) -> dict[str, Any]:
    """Scores from a confusion matrix ``(K, K)`` (rows = target, columns = prediction).

    Returns plain Python values (JSON-friendly):

    - per class (lists of length K): ``iou``, ``dice``, ``precision``, ``recall``, and
      ``support`` (target pixels of each class);
    - ``miou``, ``mdice``: means over classes, NaN entries left out;
    - ``accuracy``: correctly labelled pixels / all pixels;
    - K == 2 only: ``fg_iou``, ``fg_dice``, ``fg_precision``, ``fg_recall`` (class 1).

    NaN marks an undefined value (see the module docstring), e.g. precision of a class that
    is never predicted.
    """
    m = (cm.detach().cpu().numpy() if isinstance(cm, Tensor) else np.asarray(cm)).astype(np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion matrix must be square (K, K), got shape {m.shape}")
    tp = np.diag(m)
    fp = m.sum(axis=0) - tp  # predicted as c, truly something else
    fn = m.sum(axis=1) - tp  # truly c, predicted as something else
    iou = _ratio(tp, tp + fp + fn)
    dice = _ratio(2 * tp, 2 * tp + fp + fn)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    total = m.sum()
    out: dict[str, Any] = {
        "iou": iou.tolist(),
        "dice": dice.tolist(),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "support": [int(v) for v in m.sum(axis=1)],
        "miou": _nanmean(iou),
        "mdice": _nanmean(dice),
        "accuracy": float(tp.sum() / total) if total > 0 else float("nan"),
    }
    if m.shape[0] == 2:
        out |= {
            "fg_iou": float(iou[1]),
            "fg_dice": float(dice[1]),
            "fg_precision": float(precision[1]),
            "fg_recall": float(recall[1]),
        }
    return out


def per_image_iou(
    pred: ArrayLike, target: ArrayLike, num_classes: int = 2, empty: EmptyRule = "nan"
) -> Tensor:
    """IoU of each image, shape ``(N,)`` float64, from label maps ``(N, H, W)``.

    Binary (``num_classes == 2``): the foreground IoU of each image. Multi-class: the mean
    IoU over the classes of that image. ``empty`` decides the IoU of a class that is absent
    from both prediction and target in an image (0/0): ``"nan"`` (undefined: NaN for binary,
    class skipped for multi-class means), ``"one"`` (a correct "nothing here" counts as
    perfect) or ``"zero"``. Averaging with ``"one"`` rewards empty predictions on empty
    images; ``"nan"`` with ``nanmean`` ignores such images.
    """
    if empty not in ("nan", "one", "zero"):
        raise ValueError(f"empty must be 'nan', 'one' or 'zero', got {empty!r}")
    p, t = _as_labels(pred), _as_labels(target)
    if p.ndim != 3 or p.shape != t.shape:
        raise ValueError(f"pred and target must both be (N, H, W), got {tuple(p.shape)} and {tuple(t.shape)}")
    n, k = p.shape[0], int(num_classes)
    check_label_range(p, t, k)
    image = torch.arange(n, device=t.device).view(n, 1, 1)
    flat = (image * k * k + t * k + p.to(t.device)).reshape(-1)
    cm = torch.bincount(flat, minlength=n * k * k).reshape(n, k, k).double()
    tp = torch.diagonal(cm, dim1=1, dim2=2)
    union = cm.sum(dim=1) + cm.sum(dim=2) - tp
    fill = {"nan": float("nan"), "one": 1.0, "zero": 0.0}[empty]
    iou = torch.where(union > 0, tp / union.clamp_min(1), torch.full_like(tp, fill))
    if k == 2:
        return iou[:, 1]
    return torch.nanmean(iou, dim=1)


def stats(pred: ArrayLike, target: ArrayLike) -> dict[str, int]:
    """Pixel counts ``tp``, ``fp``, ``fn``, ``tn`` for binary masks (non-zero = foreground)."""
    p, t = _as_labels(pred) != 0, _as_labels(target) != 0
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {tuple(p.shape)} differs from target shape {tuple(t.shape)}")
    return {
        "tp": int((p & t).sum()),
        "fp": int((p & ~t).sum()),
        "fn": int((~p & t).sum()),
        "tn": int((~p & ~t).sum()),
    }


def scores_from_stats(tp: float, fp: float, fn: float, tn: float = 0) -> dict[str, float]:
    """Binary scores from counts (e.g. the output of :func:`stats`); NaN where 0/0.

    Keys: ``iou``, ``dice``, ``precision``, ``recall``, ``accuracy``.
    """

    def div(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    return {
        "iou": div(tp, tp + fp + fn),
        "dice": div(2 * tp, 2 * tp + fp + fn),
        "precision": div(tp, tp + fp),
        "recall": div(tp, tp + fn),
        "accuracy": div(tp + tn, tp + fp + fn + tn),
    }


def dice_from_iou(iou: float) -> float:
    """Dice = 2·IoU / (1 + IoU): the two scores rank predictions identically."""
    return 2 * iou / (1 + iou) if not math.isnan(iou) else float("nan")


def iou_from_dice(dice: float) -> float:
    """IoU = Dice / (2 − Dice), the inverse of :func:`dice_from_iou`."""
    return dice / (2 - dice) if not math.isnan(dice) else float("nan")
