"""Metrics: scores from a confusion matrix, per-class reports.

``confusion_matrix`` and ``per_image_iou`` are re-exported here (``from seglab.metrics import
confusion_matrix``), their import path before the layout by pipeline stage. The function
``scores`` is not: ``seglab.metrics.scores`` is the module.
"""

from seglab.metrics.scores import confusion_matrix, per_image_iou

__all__ = ["confusion_matrix", "per_image_iou"]
