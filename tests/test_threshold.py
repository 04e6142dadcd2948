"""The threshold chosen on validation (issue 26): counting by hand, the choice rule, the engine's
record checked against torchmetrics, and the store's range check."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from seglab.metrics.threshold import THRESHOLDS, best_threshold, iou_from_counts, threshold_counts
from seglab.settings.config import TrainConfig
from seglab.store.checks import check_summary
from seglab.store.run_store import RunStore
from seglab.training.engine import load_data, train


def test_grid_is_005_to_095():
    assert THRESHOLDS[0] == 0.05 and THRESHOLDS[-1] == 0.95 and len(THRESHOLDS) == 19
    assert 0.5 in THRESHOLDS


def test_counts_and_iou_by_hand():
    probs = torch.tensor([[0.1, 0.4], [0.6, 0.9]])
    masks = torch.tensor([[0, 1], [1, 0]])
    counts = threshold_counts(probs, masks, [0.05, 0.5, 0.95])
    # t=0.05: all foreground → TP 2, FP 2, FN 0; t=0.5: 0.6, 0.9 → TP 1, FP 1, FN 1; t=0.95: none
    assert counts.tolist() == [[2, 2, 0], [1, 1, 1], [0, 0, 2]]
    assert iou_from_counts(counts) == pytest.approx([0.5, 1 / 3, 0.0])
    # nothing in the truth and nothing predicted: IoU undefined
    assert math.isnan(iou_from_counts(threshold_counts(torch.zeros(4), torch.zeros(4), [0.5]))[0])


def test_best_threshold_prefers_the_highest_iou_then_the_one_nearest_half():
    assert best_threshold([0.3, 0.5, 0.7], [0.2, 0.4, 0.6]) == (0.7, 0.6)
    assert best_threshold([0.3, 0.5, 0.7], [0.6, 0.4, 0.6]) == (0.3, 0.6)  # tie, equally far: the first
    assert best_threshold([0.3, 0.5, 0.7], [0.0, 0.0, 0.0]) == (0.5, 0.0)  # a collapsed run keeps 0.5
    t, iou = best_threshold([0.3, 0.5], [math.nan, math.nan])
    assert t == 0.5 and math.isnan(iou)


def _torchmetrics_best(probs: torch.Tensor, masks: torch.Tensor) -> tuple[float, float]:
    from torchmetrics.classification import BinaryJaccardIndex

    scores = [float(BinaryJaccardIndex(threshold=t)(probs, masks)) for t in THRESHOLDS]
    top = max(scores)
    ties = [t for t, s in zip(THRESHOLDS, scores, strict=True) if s == pytest.approx(top, abs=1e-9)]
    return min(ties, key=lambda t: abs(t - 0.5)), top


def test_engine_records_the_validation_threshold_and_its_test_iou(tmp_path: Path):
    pytest.importorskip("torchmetrics")
    config = TrainConfig(
        size=32, n=48, width=4, depth=2, batch_size=8, epochs=2, device="cpu", num_threads=1, loss="focal",
        dataset_params={"fg_fraction": 0.05},
    )  # fmt: skip
    store = RunStore(tmp_path)
    run_id = store.create_run(config)
    assert train(config, run_dir=store.run_dir(run_id)).status == "done"
    metrics = store.load_run(run_id).metrics
    model = store.load_model(run_id).eval()
    ds, idx = load_data(config)
    with torch.inference_mode():
        probs = {s: torch.sigmoid(model(ds.images[idx[s]])[:, 0]) for s in ("val", "test")}
    masks = {s: ds.masks[idx[s]] for s in ("val", "test")}
    threshold, val_iou = _torchmetrics_best(probs["val"], masks["val"])
    assert metrics["val_best_threshold"] == pytest.approx(threshold)
    assert metrics["val_iou_at_best_threshold"] == pytest.approx(val_iou, abs=1e-6)
    from torchmetrics.classification import BinaryJaccardIndex

    test_iou = float(BinaryJaccardIndex(threshold=threshold)(probs["test"], masks["test"]))
    assert metrics["test_iou_at_val_threshold"] == pytest.approx(test_iou, abs=1e-6)
    assert metrics["val_iou_at_best_threshold"] >= metrics["val_iou"] - 1e-9  # 0.5 is on the grid


def test_a_multiclass_run_records_no_threshold(tmp_path: Path):
    config = TrainConfig(
        dataset="aerial", size=32, n=24, width=4, depth=2, batch_size=8, epochs=1, device="cpu", num_threads=1,
        loss="ce",
    )  # fmt: skip
    store = RunStore(tmp_path)
    run_id = store.create_run(config)
    train(config, run_dir=store.run_dir(run_id))
    assert "val_best_threshold" not in store.load_run(run_id).metrics


def test_store_check_refuses_a_threshold_outside_zero_to_one():
    summary = {"status": "done", "config": TrainConfig().to_dict(), "metrics": {"val_best_threshold": 0.35}}
    check_summary(summary)
    summary["metrics"]["val_best_threshold"] = 1.5
    with pytest.raises(ValueError, match="val_best_threshold"):
        check_summary(summary)
