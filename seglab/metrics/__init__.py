"""Metrics: scores from a confusion matrix, per-class reports.

The confusion-matrix functions are re-exported here (``from seglab.metrics import
confusion_matrix``), their import path before the layout by pipeline stage.
"""

from seglab.metrics.scores import confusion_matrix, per_image_iou, scores

__all__ = ["confusion_matrix", "per_image_iou", "scores"]
