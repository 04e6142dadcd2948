r"""Per-class reports for multi-class segmentation: one row per class, and the confusion matrix
normalised per true class.

With imbalanced classes (a few large background classes, small rare ones) the overall pixel
accuracy hides failures: predicting "road" everywhere on a mostly-road image scores high.
Looking at each class on its own shows them. For class c, counting pixels over a dataset
(confusion matrix ``cm[t, p]``: rows = truth, columns = prediction):

- :math:`Precision_c = TP / (TP + FP)`: of the pixels predicted c, the share that is c;
- :math:`Recall_c = TP / (TP + FN)`: of the pixels that are c, the share found;
- :math:`F1_c = 2 P R / (P + R) = 2TP / (2TP + FP + FN)`, which is also the Dice coefficient;
- :math:`IoU_c = TP / (TP + FP + FN)`;
- support: pixels that truly are c (the row sum).

Undefined quotients (denominator 0) are NaN, as in `seglab.metrics.scores.scores`, which computes
them. The row-normalised matrix divides each row by its support, so entry [t, p] is the share
of class-t pixels predicted as p and each row of a class present in the data sums to 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from torch import Tensor

from seglab.metrics.scores import scores

PER_CLASS_COLUMNS = ("class", "precision", "recall", "f1", "iou", "support")


def _matrix(cm: Tensor | np.ndarray) -> np.ndarray:
    m = cm.detach().cpu().numpy() if isinstance(cm, Tensor) else np.asarray(cm)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion matrix must be square (K, K), got shape {m.shape}")
    return m.astype(np.float64)


def _names(k: int, class_names: Sequence[str] | None) -> list[str]:
    if class_names is None:
        return [f"class {i}" for i in range(k)]
    if len(class_names) != k:
        raise ValueError(f"{len(class_names)} class names for a {k}×{k} confusion matrix")
    return [str(n) for n in class_names]


def per_class_table(cm: Tensor | np.ndarray, class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per class with columns ``class, precision, recall, f1, iou, support``.

    ``cm`` is a ``(K, K)`` pixel confusion matrix (rows = truth, columns = prediction), e.g.
    from `seglab.metrics.scores.confusion_matrix` summed over a dataset. ``f1`` equals Dice.
    ``support`` is the number of true pixels of the class (int). NaN marks undefined values.
    """
    m = _matrix(cm)
    s = scores(m)
    return pd.DataFrame(
        {
            "class": _names(m.shape[0], class_names),
            "precision": s["precision"],
            "recall": s["recall"],
            "f1": s["dice"],
            "iou": s["iou"],
            "support": np.asarray(s["support"], dtype=np.int64),
        },
        columns=list(PER_CLASS_COLUMNS),
    )


def row_normalized_confusion(
    cm: Tensor | np.ndarray, class_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The confusion matrix with each row divided by its sum (the class's support).

    Index = true class names, columns = predicted class names; entry [t, p] = share of
    class-t pixels predicted as p. A class absent from the truth gets a row of NaN.
    """
    m = _matrix(cm)
    support = m.sum(axis=1, keepdims=True)
    share = np.full(m.shape, np.nan)
    np.divide(m, support, out=share, where=support > 0)
    names = _names(m.shape[0], class_names)
    return pd.DataFrame(
        share, index=pd.Index(names, name="truth"), columns=pd.Index(names, name="prediction")
    )
