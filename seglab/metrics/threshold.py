"""A probability threshold chosen on validation (binary runs).

A model trained with a class-weighted loss (focal with α = auto, class-weighted BCE) is pushed to
give the rare foreground higher probabilities than plain BCE would, so "foreground when p ≥ 0.5"
is not where it separates the classes best. Choosing the threshold on the *validation* split and
only then scoring the test split at it is fair (the test images play no part in the choice);
choosing it on test would not be.

* `THRESHOLDS`: the grid tried, 0.05, 0.10, …, 0.95.
* `threshold_counts`: foreground TP / FP / FN at every threshold, from probabilities (N, H, W).
* `iou_from_counts`: IoU = TP / (TP + FP + FN) per threshold (NaN where the denominator is 0).
* `best_threshold`: the threshold with the highest validation IoU (ties: the one nearest 0.5).

The engine records, per binary run, ``val_best_threshold``, ``val_iou_at_best_threshold`` and
``test_iou_at_val_threshold`` (`THRESHOLD_METRICS`) beside the usual scores at 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

#: the thresholds tried: 0.05, 0.10, …, 0.95
THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: summary metric names (all in [0, 1]): the threshold chosen on validation, the validation IoU
#: there, and the test IoU at that same threshold
THRESHOLD_METRICS: tuple[str, ...] = (
    "val_best_threshold",
    "val_iou_at_best_threshold",
    "test_iou_at_val_threshold",
)


def threshold_counts(probs: Tensor, masks: Tensor, thresholds: Sequence[float] = THRESHOLDS) -> Tensor:
    """Foreground counts ``(len(thresholds), 3)`` = [TP, FP, FN] (int64) when a pixel is called
    foreground at ``p ≥ t``.

    ``probs``: foreground probabilities, any shape; ``masks``: 0/1 labels of the same shape.
    Counts add up over batches, so callers may sum the result of several calls.
    """
    p = probs.reshape(1, -1).float()
    y = masks.reshape(1, -1).bool()
    t = torch.as_tensor(list(thresholds), dtype=p.dtype, device=p.device).reshape(-1, 1)
    pred = p >= t  # (T, P)
    tp = (pred & y).sum(1)
    fp = (pred & ~y).sum(1)
    fn = (~pred & y).sum(1)
    return torch.stack([tp, fp, fn], dim=1).to(torch.int64).cpu()


def iou_from_counts(counts: Tensor) -> list[float]:
    """IoU = TP / (TP + FP + FN) per row of ``counts``; NaN when TP + FP + FN = 0."""
    out = []
    for tp, fp, fn in counts.tolist():
        denom = tp + fp + fn
        out.append(tp / denom if denom else math.nan)
    return out


def best_threshold(thresholds: Sequence[float], ious: Sequence[float]) -> tuple[float, float]:
    """``(threshold, iou)`` with the highest IoU; among equal IoUs the threshold nearest 0.5
    (so a run that predicts nothing at any threshold keeps 0.5). NaN IoUs are skipped; all NaN
    → ``(0.5, nan)``.

    >>> best_threshold([0.3, 0.5, 0.7], [0.6, 0.4, 0.6])
    (0.3, 0.6)
    """
    best: tuple[float, float] | None = None
    for t, iou in zip(thresholds, ious, strict=True):
        if math.isnan(iou):
            continue
        if best is None or iou > best[1] or (iou == best[1] and _off_centre(t) < _off_centre(best[0])):
            best = (float(t), float(iou))
    return best if best is not None else (0.5, math.nan)


def _off_centre(t: float) -> float:
    return round(abs(float(t) - 0.5), 9)  # 0.3 and 0.7 are equally far from 0.5
