"""Pruning report and recommendation for U-Net++ (tiny untrained model, tiny data)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from seglab.data import make_dataset
from seglab.errors import ConfigError
from seglab.metrics.scores import confusion_matrix, predict_labels, scores
from seglab.models import create_model
from seglab.models.pruning import prune_report, recommend_prune_level


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = create_model("unetpp", width=4, depth=3)
    return model, make_dataset("shapes", size=32, n=6, seed=1)


def test_report_columns_levels_and_sanity(tiny):
    model, data = tiny
    report = prune_report(model, data, repeats=2)
    assert list(report.columns) == ["level", "iou", "ms_per_image", "params", "macs", "speedup"]
    assert report["level"].tolist() == [1, 2, 3]
    assert report["params"].is_monotonic_increasing and report["params"].nunique() == 3
    assert report["macs"].is_monotonic_increasing and report["macs"].nunique() == 3
    assert (report["ms_per_image"] > 0).all()
    # times are measured, so no ordering is asserted here (a busy machine reorders them; the
    # MACs above are the stable cost); speedup is the full network's time over each level's
    ms = report["ms_per_image"]
    assert report["speedup"].to_numpy() == pytest.approx((ms.iloc[-1] / ms).to_numpy(), rel=1e-6)
    assert report["speedup"].iloc[-1] == pytest.approx(1.0)
    assert model.prune_level is None and model.training


def test_report_iou_matches_the_pruned_model_scored_directly(tiny):
    model, data = tiny
    report = prune_report(model, data, levels=[2], repeats=1)
    assert report["level"].tolist() == [2]
    pruned = create_model("unetpp", width=4, depth=3, prune_level=2)
    pruned.load_state_dict(model.state_dict())
    pruned.eval()
    with torch.no_grad():
        cm = confusion_matrix(predict_labels(pruned(data.images)), data.masks, 2)
    expected = float(scores(cm)["fg_iou"])
    assert report["iou"].iloc[0] == pytest.approx(expected, nan_ok=True)


def test_only_unetpp_can_be_pruned():
    with pytest.raises(ConfigError, match="U-Net\\+\\+"):
        prune_report(create_model("unet", width=4, depth=2), make_dataset("shapes", size=16, n=2))


def table(ious, ms=(1.0, 2.0, 4.0), params=(10, 40, 100)):
    return pd.DataFrame({"level": [1, 2, 3], "iou": ious, "ms_per_image": ms, "params": params})


def test_recommendation_takes_the_smallest_level_within_tolerance():
    advice = recommend_prune_level(table([0.70, 0.795, 0.80]), tolerance=0.01)
    assert advice.level == 2
    assert "L2" in advice.reason and "0.795" in advice.reason and "0.800 at L3" in advice.reason
    assert "2.0× faster" in advice.reason and "40%" in advice.reason
    assert recommend_prune_level(table([0.70, 0.795, 0.80]), tolerance=0.2).level == 1
    full = recommend_prune_level(table([0.70, 0.75, 0.80]), tolerance=0.01)
    assert full.level == 3 and "full network" in full.reason
    # the best level need not be the deepest
    assert recommend_prune_level(table([0.60, 0.82, 0.80]), tolerance=0.0).level == 2
    with pytest.raises(ValueError):
        recommend_prune_level(table([0.7, 0.7, 0.7]), tolerance=-1)
