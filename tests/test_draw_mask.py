"""Scoring a hand-drawn mask (Metrics lab, section 2): decoding the canvas and the counts."""

from __future__ import annotations

import numpy as np

from seglab.teach import metrics_lab as ml


def test_decode_encode_round_trip_and_bad_values():
    mask = np.zeros((3, 4), dtype=bool)
    mask[0, 1] = mask[2, 3] = True
    text = ml.encode_mask(mask)
    assert text == "010000000001"
    assert np.array_equal(ml.decode_drawn_mask(text, (3, 4)), mask)
    for bad in (None, "", "01", "0120" * 3):
        assert not ml.decode_drawn_mask(bad, (3, 4)).any()


def test_drawn_report_counts_by_hand():
    target = np.zeros((4, 4), dtype=bool)
    target[:2, :2] = True  # 4 object pixels
    drawn = np.zeros((4, 4), dtype=bool)
    drawn[:2, 1:3] = True  # 2 on the object, 2 beside it
    pred, report = ml.drawn_report(ml.encode_mask(drawn), target)
    assert np.array_equal(pred, drawn)
    assert (report["tp"], report["fp"], report["fn"], report["tn"]) == (2, 2, 2, 10)
    assert report["iou"] == 2 / 6 and report["dice"] == 4 / 8
    assert report["precision"] == 0.5 and report["recall"] == 0.5


def test_target_outline_marks_only_the_border():
    image = np.zeros((6, 6, 3), dtype=np.uint8)
    target = np.zeros((6, 6), dtype=bool)
    target[1:5, 1:5] = True
    out = ml.target_outline(image, target)
    painted = (out == ml.OUTLINE_RGB).all(axis=-1)
    assert painted.sum() == 16 - 4  # the 4×4 square minus its 2×2 inside
    assert not painted[2:4, 2:4].any() and not painted[0].any()
    assert not image.any()  # the input is not modified
