"""Per-class report tables: hand-computed values, and torchmetrics as an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.classification import (
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassJaccardIndex,
    MulticlassPrecision,
    MulticlassRecall,
)

from seglab.metrics.per_class import PER_CLASS_COLUMNS, per_class_table, row_normalized_confusion
from seglab.metrics.scores import confusion_matrix

# rows = truth, columns = prediction
CM = np.array(
    [
        [50, 5, 5],  # class "road": 60 pixels
        [10, 20, 0],  # class "tree": 30 pixels
        [0, 0, 0],  # class "car": absent from the truth, never predicted
    ]
)


def test_hand_computed_table() -> None:
    table = per_class_table(CM, ["road", "tree", "car"])
    assert tuple(table.columns) == PER_CLASS_COLUMNS
    assert list(table["class"]) == ["road", "tree", "car"]
    road, tree, car = (table.iloc[i] for i in range(3))
    # road: TP 50, FP 10, FN 10
    assert road["precision"] == pytest.approx(50 / 60)
    assert road["recall"] == pytest.approx(50 / 60)
    assert road["f1"] == pytest.approx(100 / 120)
    assert road["iou"] == pytest.approx(50 / 70)
    # tree: TP 20, FP 5, FN 10
    assert tree["precision"] == pytest.approx(20 / 25)
    assert tree["recall"] == pytest.approx(20 / 30)
    assert tree["f1"] == pytest.approx(40 / 55)
    assert tree["iou"] == pytest.approx(20 / 35)
    assert list(table["support"]) == [60, 30, 0]
    # car: predicted 5 times (FP) but never present: precision 0, recall undefined
    assert car["precision"] == 0 and math.isnan(car["recall"])
    assert car["iou"] == 0


def test_row_normalised_confusion() -> None:
    norm = row_normalized_confusion(torch.tensor(CM), ["road", "tree", "car"])
    assert list(norm.index) == list(norm.columns) == ["road", "tree", "car"]
    assert norm.loc["road", "tree"] == pytest.approx(5 / 60)
    assert norm.loc["tree", "road"] == pytest.approx(10 / 30)
    np.testing.assert_allclose(norm.iloc[:2].sum(axis=1), [1.0, 1.0])
    assert norm.loc["car"].isna().all()


def test_default_names_and_bad_inputs() -> None:
    assert list(per_class_table(CM)["class"]) == ["class 0", "class 1", "class 2"]
    with pytest.raises(ValueError, match="class names"):
        per_class_table(CM, ["a", "b"])
    with pytest.raises(ValueError, match="square"):
        row_normalized_confusion(np.zeros((2, 3)))


@pytest.mark.parametrize("seed", [0, 1])
def test_agrees_with_torchmetrics(seed: int) -> None:
    k = 6
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, k, (4, 16, 16), generator=g)
    # a biased predictor: mostly right, class 5 often confused with 0
    pred = torch.where(
        torch.rand(target.shape, generator=g) < 0.7, target, torch.randint(0, k, target.shape, generator=g)
    )
    pred[(target == 5) & (torch.rand(target.shape, generator=g) < 0.5)] = 0
    table = per_class_table(confusion_matrix(pred, target, k))
    reference = {
        "precision": MulticlassPrecision(k, average="none"),
        "recall": MulticlassRecall(k, average="none"),
        "f1": MulticlassF1Score(k, average="none"),
        "iou": MulticlassJaccardIndex(k, average="none"),
    }
    for column, metric in reference.items():
        expected = metric(pred.flatten(), target.flatten()).double().numpy()
        np.testing.assert_allclose(table[column].to_numpy(), expected, rtol=1e-6, err_msg=column)
    assert table["support"].tolist() == torch.bincount(target.flatten(), minlength=k).tolist()
    norm = row_normalized_confusion(confusion_matrix(pred, target, k))
    tm_norm = (
        MulticlassConfusionMatrix(k, normalize="true")(pred.flatten(), target.flatten()).double().numpy()
    )
    np.testing.assert_allclose(norm.to_numpy(), tm_norm, rtol=1e-6)
