"""Metrics lab page: it runs, its numbers are seglab.metrics.scores' numbers, and its URL round-trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from seglab.metrics import scores as metrics
from seglab.teach import metrics_lab as ml
from tests.page_support import page_runner

SETTING_KEYS = ("shift_x", "shift_y", "scale", "morph", "blobs")


run_page = page_runner("metrics_lab")


def shown(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no st.metric labelled {label!r}"
    return values[0]


def page_masks(at: AppTest) -> tuple[np.ndarray, np.ndarray]:
    """Rebuild the masks the page shows from its widget values."""
    settings = ml.PredictionSettings(**{k: at.slider(key=k).value for k in SETTING_KEYS})
    _, target, pred = ml.lab_masks(at.slider(key="truth").value, settings)
    return pred, target


def check_scores_match(at: AppTest) -> None:
    pred, target = page_masks(at)
    s = metrics.scores(metrics.confusion_matrix(torch.from_numpy(pred), torch.from_numpy(target), 2))
    # independent oracle: count the pixels by hand
    tp = int((pred & target).sum())
    fp = int((pred & ~target).sum())
    fn = int((~pred & target).sum())
    assert math.isclose(s["fg_iou"], tp / (tp + fp + fn))
    for label, value in [
        ("IoU", s["fg_iou"]),
        ("Dice", s["fg_dice"]),
        ("Precision", s["fg_precision"]),
        ("Recall", s["fg_recall"]),
    ]:
        assert float(shown(at, label)) == pytest.approx(value, abs=5e-4), label
    assert shown(at, "Pixel accuracy") == f"{s['accuracy']:.1%}"


def test_page_runs_and_shows_every_score() -> None:
    at = run_page()
    for label in ("IoU", "Dice", "Precision", "Recall", "F1", "Pixel accuracy", "mIoU"):
        shown(at, label)
    assert at.slider(key="shift_x").label == "Shift prediction right (pixels)"
    # the tabs after the drawing canvas are a section of their own, not part of "Draw your own"
    assert [h.value.split(" · ")[0] for h in at.header] == ["1", "2", "3"]


def test_displayed_scores_equal_seglab_metrics_for_default_and_changed_widgets() -> None:
    at = run_page()
    check_scores_match(at)
    at.slider(key="shift_x").set_value(-5)
    at.slider(key="morph").set_value(2)
    at.slider(key="blobs").set_value(3)
    at.slider(key="scale").set_value(0.8)
    at.slider(key="truth").set_value(4)
    at.run()
    assert not at.exception
    check_scores_match(at)


def test_changing_the_shift_changes_iou() -> None:
    at = run_page()
    before = shown(at, "IoU")
    at.slider(key="shift_x").set_value(at.slider(key="shift_x").value + 6)
    at.run()
    assert shown(at, "IoU") != before


def test_url_sets_the_sliders() -> None:
    at = run_page(shift_x="5", blobs="2")
    assert at.slider(key="shift_x").value == 5
    assert at.slider(key="blobs").value == 2


def test_mangled_url_falls_back_to_defaults() -> None:
    at = run_page(shift_x="banana")
    assert at.slider(key="shift_x").value == 3


def test_accuracy_paradox_numbers() -> None:
    report = ml.paradox_report(2.0)
    assert report["fg_share"] == pytest.approx(0.02)
    assert report["accuracy"] == pytest.approx(0.98)
    assert report["fg_iou"] == 0.0
    at = run_page()
    assert "98.0%" in [m.value for m in at.metric if m.label == "Pixel accuracy"]
    assert shown(at, "Object IoU") == "0.00"


def test_shaping_helpers() -> None:
    mask = np.zeros((10, 10), dtype=bool)
    mask[4:6, 4:6] = True
    assert ml.shift_mask(mask, 3, 0)[4:6, 7:9].all() and ml.shift_mask(mask, 3, 0).sum() == 4
    assert ml.shift_mask(mask, 20, 0).sum() == 0  # leaves the frame, no wrap-around
    assert ml.morph_mask(mask, 1).sum() == 16 and ml.morph_mask(mask, -1).sum() == 0
    assert ml.scale_mask(mask, 1.0).sum() == 4
    assert ml.add_blobs(np.zeros((20, 20), bool), 1, radius=1).sum() == 5


def test_dice_iou_curve_follows_the_identity() -> None:
    curve = ml.dice_iou_curve()
    assert np.allclose(curve["dice"], 2 * curve["iou"] / (1 + curve["iou"]))


def test_averaging_conventions_differ_only_when_both_masks_are_empty() -> None:
    per_image, summary = ml.averaging_report(stray_pixels=0)
    means = summary[summary["method"].str.startswith("Per-image")]["value"].to_numpy()
    assert len(set(np.round(means, 6))) == 3  # 1, 0 and left out give three answers
    assert summary.iloc[0]["value"] != pytest.approx(means[2])  # pooled ≠ per-image mean
    per_image, summary = ml.averaging_report(stray_pixels=12)
    means = summary[summary["method"].str.startswith("Per-image")]["value"].to_numpy()
    assert np.allclose(means, means[0])  # a union > 0 leaves no 0/0 to decide
    assert per_image.iloc[-1]["fp"] == 12 and per_image.iloc[-1]["tp"] == 0
