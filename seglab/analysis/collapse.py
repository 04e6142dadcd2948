"""Collapsed runs: models that predict (almost) none of the objects they should find.

A run whose foreground IoU stays near zero has learned the trivial answer (all background, the
usual failure of plain BCE on rare foregrounds). Its score is not a weak model's score but a
different outcome, so comparisons count and flag such runs instead of averaging them silently.
This is the one rule; every table, chart and report asks it.
"""

from __future__ import annotations

import math

# Below this validation IoU a run is called collapsed. 0.05 is far under any model that learned
# the task on SegLab's datasets (the weakest reference-study cell scores 0.70) and above the
# IoU of an all-background or all-noise answer (≈ 0 to 0.03 at the foreground shares we use).
COLLAPSE_IOU = 0.05


def is_collapsed(val_iou: float | None) -> bool:
    """True when a run's validation IoU is below ``COLLAPSE_IOU`` (a missing or NaN score is not).

    >>> is_collapsed(0.002), is_collapsed(0.31), is_collapsed(None)
    (True, False, False)
    """
    if val_iou is None or (isinstance(val_iou, float) and math.isnan(val_iou)):
        return False
    return float(val_iou) < COLLAPSE_IOU
