"""The shared colour language: class colours, overlays and the fixed TP/FP/FN colours."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.palette import (
    CLASS_COLORS,
    FN_COLOR,
    FP_COLOR,
    TN_COLOR,
    TP_COLOR,
    colorize_mask,
    error_overlay,
    hex_to_rgb,
    overlay,
    to_uint8_image,
)


def test_colorize_mask_uses_the_class_palette() -> None:
    mask = np.array([[0, 1], [2, 5]])
    rgb = colorize_mask(mask)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[1, 1]) == hex_to_rgb(CLASS_COLORS[5])
    assert tuple(rgb[0, 1]) == hex_to_rgb(CLASS_COLORS[1])


@pytest.mark.parametrize("layout", ["chw_float", "hwc_float", "hwc_uint8"])
def test_overlay_keeps_background_and_tints_foreground(layout: str) -> None:
    base = np.full((4, 4, 3), 0.5, dtype=np.float32)
    image = {
        "chw_float": base.transpose(2, 0, 1),
        "hwc_float": base,
        "hwc_uint8": (base * 255 + 0.5).astype(np.uint8),
    }[layout]
    mask = np.zeros((4, 4), dtype=np.int64)
    mask[0, 0] = 1
    out = overlay(image, mask, alpha=1.0)
    assert tuple(out[3, 3]) == (128, 128, 128)  # background untouched
    assert tuple(out[0, 0]) == hex_to_rgb(CLASS_COLORS[1])  # alpha 1: pure class colour


def test_to_uint8_image_scales_floats_and_passes_uint8_through() -> None:
    assert to_uint8_image(np.ones((3, 2, 2), dtype=np.float32)).max() == 255
    already = np.full((2, 2, 3), 7, dtype=np.uint8)
    assert (to_uint8_image(already) == 7).all()


def test_error_overlay_colours_each_outcome() -> None:
    pred = np.array([[1, 1], [0, 0]])
    target = np.array([[1, 0], [1, 0]])
    rgb = error_overlay(pred, target)
    assert tuple(rgb[0, 0]) == hex_to_rgb(TP_COLOR)
    assert tuple(rgb[0, 1]) == hex_to_rgb(FP_COLOR)
    assert tuple(rgb[1, 0]) == hex_to_rgb(FN_COLOR)
    assert tuple(rgb[1, 1]) == hex_to_rgb(TN_COLOR)


def test_every_architecture_and_loss_has_its_own_colour_in_every_chart() -> None:
    """One colour per registry name (issue 23: segnet and unet_strided were two oranges, and a
    loss changed colour with the set of losses a chart happened to show)."""
    from seglab.losses import list_losses
    from seglab.models import list_models
    from seglab.palette import CATEGORICAL, CATEGORICAL_EXTRA, arch_color, loss_color
    from seglab.viz import results_charts as rc

    archs, losses = list_models(), list_losses()
    assert len({arch_color(a) for a in archs}) == len(archs)
    assert len({loss_color(x) for x in losses}) == len(losses)
    safe = set(CATEGORICAL) | set(CATEGORICAL_EXTRA)  # Okabe–Ito, then two of Tol's muted hues
    assert {arch_color(a) for a in archs} <= set(CATEGORICAL) and {loss_color(x) for x in losses} <= safe
    # a chart of two losses gives each the colour it has in a chart of all of them
    two = rc._scale(["focal", "bce"], rc.LOSS_COLORS).to_dict()["range"]
    every = dict(zip(losses, rc._scale(losses, rc.LOSS_COLORS).to_dict()["range"], strict=True))
    assert two == [every["focal"], every["bce"]]
    assert loss_color("focal (γ=2)") == loss_color("focal")
