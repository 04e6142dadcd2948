"""The losses that take focal loss apart (issue 26): class weight alone, focusing alone.

Oracles: hand values on a 2×2 image, torch's own weighted BCE, and MONAI's focal loss.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seglab.losses import fit_loss_to_training_set, get_loss, loss_info

LN2 = math.log(2.0)
T = torch.tensor([[[1, 0], [0, 0]]], dtype=torch.int64)  # 1 foreground pixel, 3 background
ZEROS = torch.zeros(1, 1, 2, 2)  # p = 0.5 everywhere


def test_class_weighted_bce_hand_value_after_fitting_the_training_set():
    loss = get_loss("bce_weighted")
    # fitted to 3 background and 1 foreground pixel: α = 3/4; at p = 0.5 every pixel's −log p_t = ln 2
    # → fg 0.75·ln2, 3 bg pixels 0.25·ln2 each → mean (0.75 + 0.75) / 4 · ln2
    assert fit_loss_to_training_set(loss, T, 2) == {"alpha": 0.75, "class_pixel_counts": [3, 1]}
    assert loss(ZEROS, T).item() == pytest.approx(0.375 * LN2, rel=1e-6)
    # no focusing: a confident right pixel costs what BCE charges it, times its class weight
    z = torch.tensor([[[[2.0, -2.0], [-1.0, 0.5]]]])
    bce = -(
        torch.tensor([[[0.75, 0.25], [0.25, 0.25]]]) * F.logsigmoid(torch.tensor([[[2.0, 2.0], [1.0, -0.5]]]))
    )
    assert loss(z, T).item() == pytest.approx(bce.mean().item(), rel=1e-6)


def test_class_weighted_bce_is_torch_pos_weighted_bce_scaled_by_one_minus_alpha():
    g = torch.Generator().manual_seed(3)
    logits = 2 * torch.randn(2, 1, 8, 8, generator=g)
    target = (torch.rand(2, 8, 8, generator=g) < 0.1).long()
    train = (torch.rand(4, 8, 8, generator=g) < 0.05).long()
    loss = get_loss("bce_weighted")
    fitted = fit_loss_to_training_set(loss, train, 2)
    n_neg, n_pos = fitted["class_pixel_counts"]
    alpha = n_neg / (n_neg + n_pos)
    ref = F.binary_cross_entropy_with_logits(
        logits[:, 0], target.float(), pos_weight=torch.tensor(n_neg / n_pos)
    ) * (1 - alpha)
    torch.testing.assert_close(loss(logits, target), ref, rtol=1e-5, atol=1e-7)


def test_focusing_only_hand_value():
    # α = 0.5, γ = 2, p = 0.5: each pixel 0.5 · 0.25 · ln2
    assert get_loss("focal_focus")(ZEROS, T).item() == pytest.approx(0.125 * LN2, rel=1e-6)
    # γ = 0: exactly half of BCE
    assert get_loss("focal_focus", gamma=0.0)(ZEROS, T).item() == pytest.approx(0.5 * LN2, rel=1e-6)
    # nothing depends on the data: fitting the training set changes nothing
    assert fit_loss_to_training_set(get_loss("focal_focus"), T, 2) == {}


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_both_entries_match_monai_focal(gamma):
    monai_losses = pytest.importorskip("monai.losses")
    g = torch.Generator().manual_seed(7)
    logits = 2 * torch.randn(2, 1, 8, 8, generator=g)
    target = (torch.rand(2, 8, 8, generator=g) < 0.2).long()
    y = target.unsqueeze(1).float()
    focus = get_loss("focal_focus", gamma=gamma)(logits, target)
    torch.testing.assert_close(
        focus, monai_losses.FocalLoss(gamma=gamma, alpha=0.5)(logits, y), rtol=1e-5, atol=1e-7
    )
    if gamma == 0.0:
        weighted = get_loss("bce_weighted")
        alpha = fit_loss_to_training_set(weighted, target, 2)["alpha"]
        ref = monai_losses.FocalLoss(gamma=0.0, alpha=alpha)(logits, y)
        torch.testing.assert_close(weighted(logits, target), ref, rtol=1e-5, atol=1e-7)


def test_the_three_mechanisms_are_focal_with_fixed_parameters():
    g = torch.Generator().manual_seed(11)
    logits = torch.randn(1, 1, 6, 6, generator=g)
    target = (torch.rand(1, 6, 6, generator=g) < 0.1).long()
    weighted, focal = get_loss("bce_weighted"), get_loss("focal", gamma=0.0)
    for loss in (weighted, focal):
        fit_loss_to_training_set(loss, target, 2)
    assert weighted(logits, target).item() == pytest.approx(focal(logits, target).item(), rel=1e-7)
    focus = get_loss("focal_focus", gamma=1.5)(logits, target).item()
    assert focus == pytest.approx(get_loss("focal", alpha=0.5, gamma=1.5)(logits, target).item(), rel=1e-7)
    assert loss_info("bce_weighted").params == [] and [p.name for p in loss_info("focal_focus").params] == [
        "gamma"
    ]
