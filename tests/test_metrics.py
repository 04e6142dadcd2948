"""Metrics: hand-computed values, torchmetrics as an independent reference, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seglab.metrics.scores import (
    confusion_matrix,
    dice_from_iou,
    iou_from_dice,
    per_image_iou,
    predict_labels,
    scores,
    scores_from_stats,
    stats,
)


def _t(*images: list[list[int]]) -> torch.Tensor:
    return torch.tensor(list(images), dtype=torch.int64)


# Half overlap on a 2×2 image: TP = 1 (top-left), FP = 1 (top-right), FN = 1 (bottom-left),
# TN = 1 (bottom-right).
PRED = _t([[1, 1], [0, 0]])
TARGET = _t([[1, 0], [1, 0]])


def test_predict_labels():
    binary = torch.tensor([[[[-0.1, 0.0], [2.0, -3.0]]]])
    assert predict_labels(binary).tolist() == [[[0, 1], [1, 0]]]  # logit ≥ 0 ⇔ p ≥ 0.5
    multi = torch.zeros(1, 3, 1, 2)
    multi[0, 2, 0, 0] = 1.0
    multi[0, 1, 0, 1] = 1.0
    assert predict_labels(multi).tolist() == [[[2, 1]]]
    assert predict_labels(multi).dtype == torch.int64


def test_confusion_matrix_hand_values():
    cm = confusion_matrix(PRED, TARGET, 2)
    assert cm.dtype == torch.int64
    assert cm.tolist() == [[1, 1], [1, 1]]  # rows = target, columns = prediction
    cm = confusion_matrix(_t([[0, 2], [2, 2]]), _t([[0, 1], [2, 2]]), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]


def test_scores_half_overlap_by_hand():
    s = scores(confusion_matrix(PRED, TARGET, 2))
    # IoU = 1/(1+1+1), Dice = 2/(2+1+1), precision = recall = 1/2, accuracy = 2/4
    assert s["fg_iou"] == pytest.approx(1 / 3)
    assert s["fg_dice"] == pytest.approx(1 / 2)
    assert s["fg_precision"] == pytest.approx(1 / 2)
    assert s["fg_recall"] == pytest.approx(1 / 2)
    assert s["accuracy"] == pytest.approx(1 / 2)
    # background is symmetric here: same IoU
    assert s["iou"] == pytest.approx([1 / 3, 1 / 3])
    assert s["miou"] == pytest.approx(1 / 3)
    assert s["mdice"] == pytest.approx(1 / 2)
    assert s["support"] == [2, 2]


def test_scores_perfect_and_worst():
    perfect = scores(confusion_matrix(TARGET, TARGET, 2))
    assert perfect["fg_iou"] == 1.0 and perfect["miou"] == 1.0 and perfect["accuracy"] == 1.0
    worst = scores(confusion_matrix(1 - TARGET, TARGET, 2))
    assert worst["fg_iou"] == 0.0 and worst["miou"] == 0.0 and worst["accuracy"] == 0.0
    assert worst["fg_precision"] == 0.0 and worst["fg_recall"] == 0.0


def test_empty_masks():
    empty = _t([[0, 0], [0, 0]])
    s = scores(confusion_matrix(empty, empty, 2))
    # foreground absent from both: IoU, Dice, precision, recall are 0/0 → NaN
    for key in ("fg_iou", "fg_dice", "fg_precision", "fg_recall"):
        assert math.isnan(s[key]), key
    assert s["miou"] == 1.0  # only background counts
    # foreground in the target but never predicted: IoU 0, recall 0, precision 0/0 = NaN
    s = scores(confusion_matrix(empty, TARGET, 2))
    assert s["fg_iou"] == 0.0 and s["fg_recall"] == 0.0
    assert math.isnan(s["fg_precision"])


def test_absent_class_is_nan_and_left_out_of_the_means():
    pred = _t([[0, 1], [1, 1]])
    target = _t([[0, 1], [1, 0]])
    s = scores(confusion_matrix(pred, target, 3))  # class 2 appears nowhere
    assert math.isnan(s["iou"][2]) and math.isnan(s["dice"][2])
    # class 0: TP 1, FN 1 → 1/2; class 1: TP 2, FP 1 → 2/3
    assert s["iou"][:2] == pytest.approx([1 / 2, 2 / 3])
    assert s["miou"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert s["mdice"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert "fg_iou" not in s


def test_accumulating_batches_equals_one_big_matrix():
    g = torch.Generator().manual_seed(0)
    pred = torch.randint(0, 4, (6, 9, 7), generator=g)
    target = torch.randint(0, 4, (6, 9, 7), generator=g)
    total = sum(confusion_matrix(pred[i : i + 2], target[i : i + 2], 4) for i in range(0, 6, 2))
    assert torch.equal(total, confusion_matrix(pred, target, 4))
    assert int(total.sum()) == pred.numel()


def test_dice_is_a_function_of_iou():
    g = torch.Generator().manual_seed(1)
    cm = torch.randint(0, 50, (5, 5), generator=g)
    s = scores(cm)
    for iou, dice in zip(s["iou"], s["dice"], strict=True):
        assert dice == pytest.approx(2 * iou / (1 + iou))
        assert dice_from_iou(iou) == pytest.approx(dice)
        assert iou_from_dice(dice) == pytest.approx(iou)
    assert math.isnan(dice_from_iou(float("nan")))


def test_scores_match_torchmetrics():
    tmf = pytest.importorskip("torchmetrics.functional.classification")
    g = torch.Generator().manual_seed(2)
    k = 5
    pred = torch.randint(0, k, (3, 16, 16), generator=g)
    target = torch.randint(0, k, (3, 16, 16), generator=g)
    cm = confusion_matrix(pred, target, k)
    assert torch.equal(cm, tmf.multiclass_confusion_matrix(pred, target, num_classes=k))
    s = scores(cm)
    per_class = {
        "iou": tmf.multiclass_jaccard_index(pred, target, num_classes=k, average=None),
        "dice": tmf.multiclass_f1_score(pred, target, num_classes=k, average=None),
        "precision": tmf.multiclass_precision(pred, target, num_classes=k, average=None),
        "recall": tmf.multiclass_recall(pred, target, num_classes=k, average=None),
    }
    for key, ref in per_class.items():
        np.testing.assert_allclose(s[key], ref.double().numpy(), rtol=1e-5, err_msg=key)
    ref_miou = tmf.multiclass_jaccard_index(pred, target, num_classes=k, average="macro")
    assert s["miou"] == pytest.approx(ref_miou.item(), rel=1e-5)
    ref_acc = tmf.multiclass_accuracy(pred, target, num_classes=k, average="micro")
    assert s["accuracy"] == pytest.approx(ref_acc.item(), rel=1e-5)


def test_binary_scores_match_torchmetrics():
    tmf = pytest.importorskip("torchmetrics.functional.classification")
    g = torch.Generator().manual_seed(3)
    pred = (torch.rand(4, 12, 12, generator=g) > 0.6).long()
    target = (torch.rand(4, 12, 12, generator=g) > 0.7).long()
    s = scores(confusion_matrix(pred, target, 2))
    assert s["fg_iou"] == pytest.approx(tmf.binary_jaccard_index(pred, target).item(), rel=1e-5)
    assert s["fg_dice"] == pytest.approx(tmf.binary_f1_score(pred, target).item(), rel=1e-5)
    assert s["fg_precision"] == pytest.approx(tmf.binary_precision(pred, target).item(), rel=1e-5)
    assert s["fg_recall"] == pytest.approx(tmf.binary_recall(pred, target).item(), rel=1e-5)


def test_per_image_iou_binary_with_empty_conventions():
    pred = torch.cat([PRED, _t([[0, 0], [0, 0]]), _t([[1, 0], [0, 0]])])
    target = torch.cat([TARGET, _t([[0, 0], [0, 0]]), _t([[0, 0], [0, 0]])])
    nan_rule = per_image_iou(pred, target)
    assert nan_rule[0].item() == pytest.approx(1 / 3)
    assert math.isnan(nan_rule[1].item())  # empty prediction of an empty image: 0/0
    assert nan_rule[2].item() == 0.0  # false alarm on an empty image
    assert per_image_iou(pred, target, empty="one").tolist() == pytest.approx([1 / 3, 1.0, 0.0])
    assert per_image_iou(pred, target, empty="zero").tolist() == pytest.approx([1 / 3, 0.0, 0.0])
    with pytest.raises(ValueError):
        per_image_iou(pred, target, empty="skip")


def test_per_image_iou_multiclass_is_mean_over_present_classes():
    pred = _t([[0, 1], [1, 1]], [[2, 2], [2, 2]])
    target = _t([[0, 1], [1, 0]], [[2, 2], [2, 2]])
    got = per_image_iou(pred, target, num_classes=3)
    # image 0: classes 0 and 1 as in test_absent_class...; image 1: only class 2, perfect
    assert got.tolist() == pytest.approx([(1 / 2 + 2 / 3) / 2, 1.0])
    # with empty="zero" the absent class counts as 0 in each image
    got = per_image_iou(pred, target, num_classes=3, empty="zero")
    assert got.tolist() == pytest.approx([(1 / 2 + 2 / 3) / 3, 1 / 3])


def test_per_image_iou_agrees_with_scores_image_by_image():
    g = torch.Generator().manual_seed(4)
    pred = torch.randint(0, 3, (4, 8, 8), generator=g)
    target = torch.randint(0, 3, (4, 8, 8), generator=g)
    got = per_image_iou(pred, target, num_classes=3)
    for i in range(4):
        assert got[i].item() == pytest.approx(scores(confusion_matrix(pred[i], target[i], 3))["miou"])


def test_stats_and_scores_from_stats():
    counts = stats(PRED, TARGET)
    assert counts == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    s = scores_from_stats(**counts)
    assert s["iou"] == pytest.approx(1 / 3) and s["dice"] == pytest.approx(1 / 2)
    assert s["accuracy"] == pytest.approx(1 / 2)
    assert math.isnan(scores_from_stats(0, 0, 0, 4)["iou"])
    # numpy boolean masks work too
    assert stats(PRED.numpy().astype(bool), TARGET.numpy()) == counts


def test_numpy_inputs_and_bad_labels():
    cm = confusion_matrix(PRED.numpy(), TARGET.numpy(), 2)
    assert cm.tolist() == [[1, 1], [1, 1]]
    assert scores(cm.numpy())["fg_iou"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="0..1"):
        confusion_matrix(PRED + 1, TARGET, 2)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(PRED, TARGET[:, :1], 2)
