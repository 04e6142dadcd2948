"""What the Metrics lab shows, computed once per distinct widget value and shared by every session.

Same rules as :mod:`seglab.ui.loss_lab_views`: ``functools.lru_cache`` keyed by the widget
values (scalars and the frozen :class:`~seglab.teach.metrics_lab.PredictionSettings`), values
returned read-only (PNG data URLs, tuples, Vega-Lite specs, Arrow tables, arrays not writeable).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from seglab.palette import colorize_mask, error_overlay, overlay
from seglab.teach import metrics_lab as ml
from seglab.ui.chart_view import chart_spec
from seglab.ui.common import read_only
from seglab.ui.images import png_data_url as picture
from seglab.ui.tables import dash_missing
from seglab.viz.metric_charts import averaging_chart, confusion_chart, dice_iou_chart, per_class_iou_chart

PICTURE_SIDE = 192  # shortest side of the lab's pictures on screen, in pixels


@lru_cache(maxsize=512)
def binary_lab(index: int, settings: ml.PredictionSettings) -> tuple[Any, ...]:
    """Section 1: (image, target, prediction, scores, confusion matrix) of one shaped prediction."""
    image, target, pred = ml.lab_masks(index, settings)
    report, cm = ml.binary_report(pred, target), ml.confusion(pred, target)
    image, target, pred, cm = read_only(image, target, pred, cm)
    return image, target, pred, report, cm


@lru_cache(maxsize=512)
def binary_pictures(index: int, settings: ml.PredictionSettings) -> tuple[str, str, str]:
    """Section 1's pictures as PNG data URLs: image with the truth, the prediction, its errors."""
    image, target, pred = binary_lab(index, settings)[:3]
    row = [overlay(image, target, 0.55), colorize_mask(pred.astype(np.int64)), error_overlay(pred, target)]
    return tuple(picture(image, PICTURE_SIDE) for image in row)  # type: ignore[return-value]


@lru_cache(maxsize=512)
def binary_views(index: int, settings: ml.PredictionSettings, present: bool) -> tuple[dict, dict]:
    """Section 1's charts: the confusion matrix and the prediction on the Dice–IoU curve."""
    report, cm = binary_lab(index, settings)[3:]
    confusion = confusion_chart(cm, ["background", "object"], height=150)
    dice_iou = dice_iou_chart(ml.dice_iou_curve(), report["iou"], report["dice"])
    return chart_spec(confusion, present), chart_spec(dice_iou, present)


@lru_cache(maxsize=64)
def outline(index: int) -> tuple[np.ndarray, str]:
    """Section 2's canvas background (the image with the truth's border) and its PNG data URL."""
    image, target = binary_lab(index, ml.PredictionSettings())[:2]
    background = ml.target_outline(image, target)
    return read_only(background)[0], picture(background, 0)


@lru_cache(maxsize=1024)
def drawn_view(index: int, drawing: str | None) -> tuple[str, dict[str, float]]:
    """Section 2: a drawing's errors as a PNG data URL and its scores against sample ``index``'s truth."""
    target = binary_lab(index, ml.PredictionSettings())[1]
    drawn, scores = ml.drawn_report(drawing, target)
    return picture(error_overlay(drawn, target), PICTURE_SIDE), scores


@lru_cache(maxsize=128)
def paradox_view(fg_percent: float) -> tuple[dict[str, float], str]:
    """Section 3, accuracy paradox: the lazy all-background answer's scores and its picture."""
    target = ml.small_object_target(fg_percent)
    return ml.paradox_report(fg_percent), picture(error_overlay(np.zeros_like(target), target), 200)


@lru_cache(maxsize=256)
def aerial_lab(index: int, noise: float, missed: int, shift: int) -> tuple[Any, ...]:
    """Section 3, mIoU: (image, truth, corrupted prediction, class names, per-class table, summary)."""
    image, target, names = ml.aerial_sample(index)
    pred = ml.corrupt_labels(
        target, len(names), noise_percent=noise, missed_class=missed, shift=shift, seed=index
    )
    return (
        *read_only(image, target, pred),
        tuple(names),
        ml.class_shares_table(pred, target, names),
        ml.multiclass_summary(pred, target, len(names)),
    )


@lru_cache(maxsize=256)
def aerial_view(
    index: int, noise: float, missed: int, shift: int, present: bool
) -> tuple[tuple[str, ...], dict]:
    """Section 3, mIoU: the three pictures as PNG data URLs and the per-class IoU chart."""
    image, target, pred, _, table, summary = aerial_lab(index, noise, missed, shift)
    pictures = tuple(picture(p, PICTURE_SIDE) for p in (image, colorize_mask(target), colorize_mask(pred)))
    return pictures, chart_spec(per_class_iou_chart(table, summary["miou"]), present)


@lru_cache(maxsize=8)
def averaging_view(stray: int, present: bool) -> tuple[tuple[str, ...], tuple[str, ...], pa.Table, dict]:
    """Section 3, averaging: the set's pictures as PNG data URLs, their captions, the per-image table
    (missing IoU shown as a dash) and the chart of the set-level averages."""
    items = ml.averaging_set(stray)
    per_image, summary = ml.averaging_report(stray)
    iou_columns = [c for c in per_image.columns if c.startswith("IoU")]
    table = pa.Table.from_pandas(dash_missing(per_image, iou_columns), preserve_index=False)
    pictures = tuple(picture(error_overlay(p, t), 120) for _, p, t in items)
    return pictures, tuple(c for c, _, _ in items), table, chart_spec(averaging_chart(summary), present)
