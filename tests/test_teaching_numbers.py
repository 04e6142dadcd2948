"""Every corrected teaching statement that a number backs (issue 21, ../shared/reviews/science-text.md).

Each test recomputes the number the sentence relies on, from the same functions the page calls
or by hand, so a page that drifts back to the old wording's claim has a failing test to face.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seglab.teach import metrics_lab as ml

# --------------------------------------------------------------------------------------
# Metrics lab: missing a class costs IoU_c / K plus the receiving class's loss (finding 1)
# --------------------------------------------------------------------------------------


def _table(iou: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"iou": iou})


def test_miou_drop_breakdown_by_hand() -> None:
    # target [0, 0, 1, 1]; the model finds both classes, then never predicts class 1 (all → 0):
    # IoU_0 = 2 / 4 = 0.5, IoU_1 = 0; mIoU 1 → 0.25, a drop of 0.75 > 1/K = 0.5
    target = np.array([[0, 0, 1, 1]])
    before = ml.per_class_table(target.copy(), target, ["background", "thing"])
    after = ml.per_class_table(np.zeros_like(target), target, ["background", "thing"])
    part = ml.miou_drop_breakdown(before, after, missed=1)
    assert part["k"] == 2
    assert part["total"] == pytest.approx(0.75)
    assert part["own"] == pytest.approx(0.5)  # IoU_c / K = 1 / 2
    assert part["receiver"] == pytest.approx(0.25)  # (1 − 0.5) / 2
    assert part["others"] == pytest.approx(0.0)


def test_miou_drop_breakdown_refuses_different_class_sets() -> None:
    with pytest.raises(ValueError):
        ml.miou_drop_breakdown(_table([1.0, 0.5, float("nan")]), _table([1.0, 0.5, 0.0]), missed=1)


def _page_settings():
    """The Metrics lab's multi-class section, over every sample, noise {0, 10, 30} %,
    boundary shift {0, 1, 3} and every class the model could miss (as the page computes it)."""
    for index in range(ml.SAMPLE_COUNT):
        _image, target, names = ml.aerial_sample(index)
        k = len(names)
        for noise in (0.0, 10.0, 30.0):
            for shift in (0, 1, 3):
                pred = ml.corrupt_labels(target, k, noise_percent=noise, shift=shift, seed=index)
                before = ml.per_class_table(pred, target, names)
                for missed in range(1, k):
                    if np.isnan(before["iou"][missed]):
                        continue  # absent from both masks: nothing to lose
                    pred_m = ml.corrupt_labels(
                        target, k, noise_percent=noise, missed_class=missed, shift=shift, seed=index
                    )
                    after = ml.per_class_table(pred_m, target, names)
                    yield (
                        (index, noise, shift, missed),
                        before,
                        after,
                        ml.multiclass_summary(pred, target, k),
                        ml.multiclass_summary(pred_m, target, k),
                    )


def test_miou_drop_is_own_part_plus_the_receiving_class_and_can_exceed_one_over_k() -> None:
    above = []
    for where, before, after, s_before, s_after in _page_settings():
        part = ml.miou_drop_breakdown(before, after, where[3])
        measured = s_before["miou"] - s_after["miou"]  # what the page's mIoU metric shows
        assert part["total"] == pytest.approx(measured, abs=1e-9), where
        assert part["own"] + part["receiver"] + part["others"] == pytest.approx(measured, abs=1e-9), where
        assert part["others"] == pytest.approx(0.0, abs=1e-12), where  # only the missed pixels changed
        if where[1] == 0.0:  # without noise the missed class is predicted nowhere: own = IoU_c / K
            iou_c = float(before["iou"][where[3]])
            assert part["own"] == pytest.approx(ml.miou_drop_if_missed(iou_c, part["k"])), where
        if measured > 1 / part["k"] + 1e-9:
            above.append(where)
            assert part["receiver"] > 0, where  # beyond 1/K only through the receiving class
    # the old sentence ("at most 1/K") is false on the page's own settings
    assert above, "no setting drops mIoU by more than 1/K"
