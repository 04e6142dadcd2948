"""Losses: hand-computed values, independent references (torch, MONAI) and properties.

Hand examples use one 2×2 image with a single foreground pixel in the top-left corner,
T = [[1, 0], [0, 0]], so every sum in the formulas can be written down by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seglab.errors import InternalError, LossParameterError, SegLabError, UnknownNameError
from seglab.losses import functional as LF
from seglab.losses import get_loss, list_losses, loss_info
from seglab.registry import ParamSpec

LN2 = math.log(2.0)
BIG = 20.0  # sigmoid(20) = 1 - 2.1e-9: "certain" while every term stays representable


def _t(rows: list[list[int]]) -> torch.Tensor:
    return torch.tensor([rows], dtype=torch.int64)


T = _t([[1, 0], [0, 0]])


def binary_logits(values: list[list[float]]) -> torch.Tensor:
    return torch.tensor([[values]], dtype=torch.float32)


def random_case(c: int, n: int = 2, size: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = 2.0 * torch.randn(n, c, size, size, generator=g, dtype=torch.float64)
    target = torch.randint(0, max(c, 2), (n, size, size), generator=g)
    return logits, target


def perfect_logits(target: torch.Tensor, c: int, scale: float = 10.0) -> torch.Tensor:
    if c == 1:
        return (scale * (2.0 * target.float() - 1.0)).unsqueeze(1)
    return scale * F.one_hot(target, c).permute(0, 3, 1, 2).float()


def aux_for(loss_name: str, logits: torch.Tensor) -> list[torch.Tensor] | None:
    if loss_info(loss_name).uses_aux:
        return [logits.detach() * 0.5, logits.detach().flip(-1)]
    return None


# --------------------------------------------------------------------------------------
# Hand-computed values
# --------------------------------------------------------------------------------------


def test_list_losses_names_the_contract_losses():
    assert set(list_losses()) >= {"bce", "ce", "dice", "bce_dice", "focal", "tversky", "bce_ds"}


def test_bce_hand_values():
    bce = get_loss("bce")
    # p = 0.5 everywhere: -log 0.5 for every pixel.
    assert bce(binary_logits([[0, 0], [0, 0]]), T).item() == pytest.approx(LN2, rel=1e-6)
    # Certain and right: softplus(-20) per pixel.
    right = binary_logits([[BIG, -BIG], [-BIG, -BIG]])
    assert bce(right, T).item() == pytest.approx(math.log1p(math.exp(-BIG)), rel=1e-4)
    # Certain and wrong: softplus(20) = 20 + log(1 + e^-20) per pixel.
    wrong = -right
    assert bce(wrong, T).item() == pytest.approx(BIG + math.log1p(math.exp(-BIG)), rel=1e-6)
    # pos_weight = 3 triples the foreground pixel's term: (3 ln2 + 3 ln2) / 4.
    weighted = get_loss("bce", pos_weight=3.0)(binary_logits([[0, 0], [0, 0]]), T)
    assert weighted.item() == pytest.approx(1.5 * LN2, rel=1e-6)


def test_ce_hand_values():
    target = _t([[0, 1], [2, 2]])
    uniform = torch.zeros(1, 3, 2, 2)
    assert get_loss("ce")(uniform, target).item() == pytest.approx(math.log(3.0), rel=1e-6)
    # With C == 1, "ce" is BCE.
    assert get_loss("ce")(binary_logits([[0, 0], [0, 0]]), T).item() == pytest.approx(LN2, rel=1e-6)


def test_dice_hand_values():
    dice = get_loss("dice")  # smooth s = 1
    # p = 0.5: Σpy = 0.5, Σp = 2, Σy = 1 → 1 - (1 + 1) / (3 + 1) = 0.5
    assert dice(binary_logits([[0, 0], [0, 0]]), T).item() == pytest.approx(0.5, rel=1e-6)
    # perfect: Σpy = Σp = Σy = 1 → 1 - 3/3 = 0
    right = binary_logits([[BIG, -BIG], [-BIG, -BIG]])
    assert dice(right, T).item() == pytest.approx(0.0, abs=1e-6)
    # all wrong: Σpy = 0, Σp = 3, Σy = 1 → 1 - 1/5 = 0.8
    assert dice(-right, T).item() == pytest.approx(0.8, rel=1e-6)
    # empty target, empty prediction: 1 - (0 + 1)/(0 + 0 + 1) = 0; empty target, p = 0.5: 1 - 1/3
    empty = _t([[0, 0], [0, 0]])
    assert dice(binary_logits([[-BIG] * 2] * 2), empty).item() == pytest.approx(0.0, abs=1e-6)
    assert dice(binary_logits([[0, 0], [0, 0]]), empty).item() == pytest.approx(2 / 3, rel=1e-6)
    # half overlap: prediction covers the foreground pixel and one more → Σpy=1, Σp=2, Σy=1
    half = binary_logits([[BIG, BIG], [-BIG, -BIG]])
    assert dice(half, T).item() == pytest.approx(1 - 3 / 4, rel=1e-5)
    # smooth = 0.5: 1 - (1 + 0.5)/(3 + 0.5)
    half_s = get_loss("dice", smooth=0.5)(binary_logits([[0, 0], [0, 0]]), T)
    assert half_s.item() == pytest.approx(1 - 1.5 / 3.5, rel=1e-6)


def test_dice_multiclass_hand_value():
    # 3 classes, uniform p = 1/3. Class 0 and 1 (one pixel each): (2/3 + 1)/(4/3 + 1 + 1) = 1/2.
    # Class 2 (two pixels): (4/3 + 1)/(4/3 + 2 + 1) = 7/13. Loss = 1 - (1/2 + 1/2 + 7/13)/3 = 19/39.
    target = _t([[0, 1], [2, 2]])
    loss = get_loss("dice")(torch.zeros(1, 3, 2, 2), target)
    assert loss.item() == pytest.approx(19 / 39, rel=1e-6)


def test_tversky_hand_values():
    tv = get_loss("tversky")  # a = 0.3 (FP), b = 0.7 (FN), s = 1
    # p = 0.5: TP = 0.5, FP = 1.5, FN = 0.5 → 1 - 1.5 / (0.5 + 0.45 + 0.35 + 1) = 0.8 / 2.3
    assert tv(binary_logits([[0, 0], [0, 0]]), T).item() == pytest.approx(0.8 / 2.3, rel=1e-6)
    # all wrong: TP = 0, FP = 3, FN = 1 → 1 - 1 / (0.9 + 0.7 + 1)
    wrong = binary_logits([[-BIG, BIG], [BIG, BIG]])
    assert tv(wrong, T).item() == pytest.approx(1 - 1 / 2.6, rel=1e-6)


def test_focal_hand_values():
    zeros = binary_logits([[0, 0], [0, 0]])
    # α = 0.25, γ = 2, p = 0.5: fg pixel 0.25·0.25·ln2, each bg pixel 0.75·0.25·ln2 → mean
    fixed = get_loss("focal", alpha=0.25, gamma=2.0)(zeros, T)
    assert fixed.item() == pytest.approx((0.0625 + 3 * 0.1875) / 4 * LN2, rel=1e-6)
    # "auto" before any training-set counts: both classes counted equally, α = 0.5 → 0.5·0.25·ln2 each
    auto = get_loss("focal", alpha="auto", gamma=2.0)
    assert auto(zeros, T).item() == pytest.approx(0.125 * LN2, rel=1e-6)
    # default alpha is "auto"
    assert get_loss("focal")(zeros, T).item() == pytest.approx(auto(zeros, T).item(), rel=1e-7)
    # fitted to a training set of 3 background and 1 foreground pixel: α = 3/4
    # → fg 0.75·0.25·ln2, bg 0.25·0.25·ln2 each
    assert auto.fit_class_counts([3, 1]) == {"alpha": 0.75, "class_pixel_counts": [3, 1]}
    assert auto(zeros, T).item() == pytest.approx((0.1875 + 3 * 0.0625) / 4 * LN2, rel=1e-6)


def test_auto_alpha_hand_value():
    assert LF.auto_alpha(T).item() == pytest.approx(0.75)
    target = torch.tensor([[[1, 1, 0, 0, 0]]])
    assert LF.auto_alpha(target).item() == pytest.approx(3 / 5)
    # per-class version: 1 - class frequency; for 2 classes [1 - α, α]
    assert LF.class_balanced_alpha(T, 2).tolist() == pytest.approx([0.25, 0.75])
    assert LF.class_balanced_alpha(_t([[0, 1], [2, 2]]), 3).tolist() == pytest.approx([0.75, 0.75, 0.5])


def test_bce_ds_hand_value():
    main = binary_logits([[0, 0], [0, 0]])  # ln 2
    right = binary_logits([[BIG, -BIG], [-BIG, -BIG]])  # ≈ 0
    loss = get_loss("bce_ds", aux_weight=0.4)(main, T, aux=[right, right])
    assert loss.item() == pytest.approx(LN2 / (1 + 0.4 * 2), rel=1e-6)
    loss = get_loss("bce_ds", aux_weight=1.0)(right, T, aux=[main])
    assert loss.item() == pytest.approx(LN2 / 2, rel=1e-6)


def test_bce_dice_hand_value():
    zeros = binary_logits([[0, 0], [0, 0]])
    assert get_loss("bce_dice")(zeros, T).item() == pytest.approx(LN2 + 0.5, rel=1e-6)
    weighted = get_loss("bce_dice", bce_weight=0.5, dice_weight=2.0)(zeros, T)
    assert weighted.item() == pytest.approx(0.5 * LN2 + 2 * 0.5, rel=1e-6)


# --------------------------------------------------------------------------------------
# Independent references on random inputs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", [1, 4])
def test_bce_and_ce_match_torch(c):
    logits, target = random_case(c)
    for name in ("bce", "ce"):
        ours = get_loss(name)(logits, target)
        if c == 1:
            ref = F.binary_cross_entropy_with_logits(logits[:, 0].float(), target.float())
        else:
            ref = F.cross_entropy(logits.float(), target)
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_bce_pos_weight_matches_torch():
    logits, target = random_case(1)
    ours = get_loss("bce", pos_weight=2.5)(logits, target)
    ref = F.binary_cross_entropy_with_logits(
        logits[:, 0].float(), target.float(), pos_weight=torch.tensor(2.5)
    )
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_bce_pos_weight_multiclass_is_plain_mean_of_weighted_terms():
    logits, target = random_case(3)
    ours = get_loss("bce", pos_weight=2.0)(logits, target)
    per_pixel = F.cross_entropy(logits.float(), target, reduction="none")
    weights = torch.where(target > 0, 2.0, 1.0)
    torch.testing.assert_close(ours, (per_pixel * weights).mean(), rtol=1e-5, atol=1e-6)


def _monai_target(target: torch.Tensor) -> torch.Tensor:
    return target.unsqueeze(1)


@pytest.mark.parametrize("smooth", [1.0, 0.1])
def test_dice_matches_monai(smooth):
    monai_losses = pytest.importorskip("monai.losses")
    logits, target = random_case(1, seed=1)
    ref = monai_losses.DiceLoss(sigmoid=True, batch=True, smooth_nr=smooth, smooth_dr=smooth)
    torch.testing.assert_close(
        get_loss("dice", smooth=smooth)(logits, target),
        ref(logits.float(), _monai_target(target).float()),
        rtol=1e-5,
        atol=1e-6,
    )
    logits, target = random_case(6, seed=2)
    ref = monai_losses.DiceLoss(
        softmax=True, to_onehot_y=True, batch=True, smooth_nr=smooth, smooth_dr=smooth
    )
    torch.testing.assert_close(
        get_loss("dice", smooth=smooth)(logits, target),
        ref(logits.float(), _monai_target(target)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_tversky_matches_monai():
    monai_losses = pytest.importorskip("monai.losses")
    kw = {"alpha": 0.2, "beta": 0.8, "smooth_nr": 1.0, "smooth_dr": 1.0, "batch": True}
    ours = get_loss("tversky", fp_weight=0.2, fn_weight=0.8)
    logits, target = random_case(1, seed=3)
    ref = monai_losses.TverskyLoss(sigmoid=True, **kw)(logits.float(), _monai_target(target).float())
    torch.testing.assert_close(ours(logits, target), ref, rtol=1e-5, atol=1e-6)
    logits, target = random_case(5, seed=4)
    ref = monai_losses.TverskyLoss(softmax=True, to_onehot_y=True, **kw)(
        logits.float(), _monai_target(target)
    )
    torch.testing.assert_close(ours(logits, target), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (0.8, 0.5), (0.5, 0.0)])
def test_binary_focal_matches_monai(alpha, gamma):
    # MONAI's sigmoid focal loss with a scalar alpha weights positives by α and negatives by
    # 1 - α (monai/losses/focal_loss.py, sigmoid_focal_loss) — the same convention as ours —
    # and its "mean" averages over N·1·H·W, which is our per-pixel mean.
    monai_losses = pytest.importorskip("monai.losses")
    logits, target = random_case(1, seed=5)
    ref = monai_losses.FocalLoss(gamma=gamma, alpha=alpha)(logits.float(), _monai_target(target).float())
    ours = get_loss("focal", alpha=alpha, gamma=gamma)(logits, target)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.25, [0.1, 0.2, 0.3, 0.4]])
def test_multiclass_focal_matches_monai(alpha):
    # MONAI's softmax focal loss returns an (N, C, H, W) tensor that is non-zero only at the
    # true class and averages it over N·C·H·W; we average over N·H·W pixels, so ours = C·MONAI.
    # A scalar α becomes [1 - α, α, ..., α] in both; a list is a per-class weight in both.
    monai_losses = pytest.importorskip("monai.losses")
    c = 4
    logits, target = random_case(c, seed=6)
    ref = monai_losses.FocalLoss(gamma=2.0, alpha=alpha, use_softmax=True, to_onehot_y=True)
    expected = c * ref(logits.float(), _monai_target(target))
    ours = get_loss("focal", alpha=alpha, gamma=2.0)(logits, target)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)


def test_focal_terms_gradient_matches_autograd():
    p = np.array([0.01, 0.2, 0.5, 0.7, 0.99, 0.3])
    y = np.array([1, 1, 1, 0, 0, 0])
    for alpha, gamma in [(0.25, 2.0), (None, 0.0), (0.6, 0.7)]:
        terms = LF.focal_terms(p, y, alpha, gamma)
        z = torch.tensor(np.log(p / (1 - p))).view(1, 1, 1, -1).requires_grad_(True)
        target = torch.tensor(y).view(1, 1, -1)
        per_pixel = LF.focal_with_logits(z, target, alpha, gamma)
        (grad,) = torch.autograd.grad(per_pixel.sum(), z)
        np.testing.assert_allclose(terms["loss"], per_pixel.detach().numpy().ravel(), rtol=1e-9)
        np.testing.assert_allclose(terms["grad"], grad.numpy().ravel(), rtol=1e-7, atol=1e-12)
    # γ = 0 and no α: the gradient of BCE is p - y
    np.testing.assert_allclose(LF.focal_terms(p, y, None, 0.0)["grad"], p - y, rtol=1e-9)


def test_loss_share_of_easy_pixels_hand_value():
    # Two foreground pixels, p = 0.9 (easy) and p = 0.1 (hard); no α, γ = 2.
    share = LF.loss_share_of_easy_pixels([0.9, 0.1], [1, 1], alpha=None, gamma=2.0)
    easy_bce, hard_bce = -math.log(0.9), -math.log(0.1)
    assert share["easy_fraction"] == pytest.approx(0.5)
    assert share["bce_share"] == pytest.approx(easy_bce / (easy_bce + hard_bce))
    easy_fl, hard_fl = 0.1**2 * easy_bce, 0.9**2 * hard_bce
    assert share["focal_share"] == pytest.approx(easy_fl / (easy_fl + hard_fl))
    assert share["focal_share"] < share["bce_share"]


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", [1, 5])
def test_focal_with_half_alpha_and_zero_gamma_is_half_bce(c):
    logits, target = random_case(c, seed=7)
    focal = get_loss("focal", alpha=0.5, gamma=0.0)(logits, target)
    torch.testing.assert_close(focal, 0.5 * get_loss("bce")(logits, target), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("c", [1, 5])
def test_bce_ds_without_aux_or_weight_is_exactly_bce(c):
    logits, target = random_case(c, seed=8)
    bce = get_loss("bce")(logits, target)
    aux = [torch.randn_like(logits), torch.randn_like(logits)]
    assert torch.equal(get_loss("bce_ds", aux_weight=0.0)(logits, target, aux=aux), bce)
    assert torch.equal(get_loss("bce_ds")(logits, target, aux=None), bce)
    assert torch.equal(get_loss("bce_ds")(logits, target, aux=[]), bce)
    assert not torch.equal(get_loss("bce_ds")(logits, target, aux=aux), bce)


@pytest.mark.parametrize("c", [1, 5])
def test_tversky_with_equal_weights_is_dice_with_half_smoothing(c):
    logits, target = random_case(c, seed=9)
    tversky = get_loss("tversky", fp_weight=0.5, fn_weight=0.5, smooth=0.5)(logits, target)
    torch.testing.assert_close(tversky, get_loss("dice", smooth=1.0)(logits, target), rtol=1e-6, atol=1e-7)


def test_ce_and_bce_agree_on_every_head():
    for c in (1, 4):
        logits, target = random_case(c, seed=10)
        assert torch.equal(get_loss("ce")(logits, target), get_loss("bce")(logits, target))


def test_bce_on_two_logits_equals_bce_on_their_difference():
    logits, target = random_case(2, seed=11)
    one_channel = (logits[:, 1] - logits[:, 0]).unsqueeze(1)
    torch.testing.assert_close(get_loss("bce")(logits, target), get_loss("bce")(one_channel, target))


def test_focal_is_finite_with_fractional_gamma_and_certain_logits():
    # (1 - p_t)^γ with γ < 1 has an infinite slope at p_t = 1; the log-space form must not.
    for c in (1, 3):
        target = torch.randint(0, max(c, 2), (1, 4, 4), generator=torch.Generator().manual_seed(0))
        logits = perfect_logits(target, c, scale=100.0).requires_grad_(True)
        loss = get_loss("focal", alpha=0.5, gamma=0.5)(logits, target)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_losses_run_in_float32_under_bf16_inputs():
    logits, target = random_case(1, seed=12)
    out = get_loss("dice")(logits.to(torch.bfloat16), target)
    assert out.dtype == torch.float32


# --------------------------------------------------------------------------------------
# Every registered loss
# --------------------------------------------------------------------------------------

LOSS_NAMES = list_losses()


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("c", [1, 6])
def test_every_loss_is_finite_with_finite_gradients(name, c):
    logits, target = random_case(c, seed=13)
    for scale in (1.0, 100.0):  # ordinary logits, then saturated ±100
        z = (logits.sign() * scale if scale > 1 else logits).float().requires_grad_(True)
        loss = get_loss(name)(z, target, aux=aux_for(name, z))
        loss.backward()
        assert loss.ndim == 0 and torch.isfinite(loss), (name, c, scale)
        assert torch.isfinite(z.grad).all(), (name, c, scale)


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("c", [1, 6])
def test_every_pixel_map_has_image_shape_and_mean_equal_to_the_loss(name, c):
    logits, target = random_case(c, seed=14)
    loss_fn = get_loss(name)
    aux = aux_for(name, logits)
    pixel_map = loss_fn.pixel_map(logits, target, aux=aux)
    assert pixel_map.shape == target.shape
    assert torch.isfinite(pixel_map).all()
    torch.testing.assert_close(pixel_map.mean(), loss_fn(logits, target, aux=aux), rtol=1e-5, atol=1e-6)
    grad_map = loss_fn.gradient_map(logits, target, aux=aux)
    assert grad_map.shape == target.shape and torch.isfinite(grad_map).all()


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("c", [1, 6])
def test_every_loss_prefers_the_right_answer(name, c):
    target = random_case(c, seed=15)[1]
    wrong_target = (target + 1) % max(c, 2)
    loss_fn = get_loss(name)
    right = perfect_logits(target, c)
    wrong = perfect_logits(wrong_target, c)
    side = loss_info(name).uses_aux  # side outputs as right (or wrong) as the main output
    loss_right = loss_fn(right, target, aux=[right, right] if side else None)
    loss_wrong = loss_fn(wrong, target, aux=[wrong, wrong] if side else None)
    assert loss_right.item() < 1e-3 < loss_wrong.item()


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_entry_is_complete(name):
    info = loss_info(name)
    assert info.name == name and info.title
    assert info.latex.strip() and "\\" in info.latex
    assert info.latex.count("{") == info.latex.count("}")
    sentences = [s for s in info.explanation.replace("e.g.", "eg").split(". ") if s.strip()]
    assert 2 <= len(sentences) <= 6
    assert info.pixel_map_note
    assert info.binary and info.multiclass
    assert info.uses_aux == (name == "bce_ds")
    assert all(isinstance(p, ParamSpec) for p in info.params)
    for spec in info.params:
        if isinstance(spec.default, (int, float)):
            assert spec.min <= spec.default <= spec.max, spec
    assert get_loss(name).name == name


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_rejects_bad_inputs(name):
    loss_fn = get_loss(name)
    logits, target = random_case(3, seed=16)
    # shape / dtype mismatches are internal contract errors: a bug, never a user error
    assert not issubclass(InternalError, SegLabError)
    with pytest.raises(InternalError, match="int64"):
        loss_fn(logits, target.float())
    with pytest.raises(InternalError, match="shape"):
        loss_fn(logits, target.unsqueeze(1))
    with pytest.raises(LossParameterError, match="class ids"):
        loss_fn(logits, target + 1)  # id 3 with 3 channels
    with pytest.raises(LossParameterError, match="0 and 1"):
        loss_fn(logits[:, :1], target)  # binary head, ids up to 2
    with pytest.raises(LossParameterError, match="no parameter"):
        get_loss(name, not_a_parameter=1)


@pytest.mark.parametrize(
    "name,params",
    [
        ("focal", {"gamma": -0.5}),
        ("focal", {"alpha": 1.5}),
        ("focal", {"alpha": -0.1}),
        ("focal", {"alpha": "often"}),
        ("focal", {"alpha": [0.5, 2.0]}),
        ("focal", {"gamma": "two"}),
        ("dice", {"smooth": 0.0}),
        ("dice", {"smooth": -1.0}),
        ("tversky", {"smooth": 0}),
        ("tversky", {"fp_weight": -0.1}),
        ("bce_dice", {"bce_weight": 0, "dice_weight": 0}),
        ("bce_dice", {"smooth": float("nan")}),
        ("bce", {"pos_weight": 0}),
        ("bce_ds", {"aux_weight": -1}),
        ("ce", {"pos_weight": 2.0}),
    ],
)
def test_bad_parameters_raise_at_build_time(name, params):
    with pytest.raises(LossParameterError):
        get_loss(name, **params)


def test_unknown_loss_name_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="focal"):
        get_loss("not_a_loss")


def test_focal_alpha_list_must_match_the_classes():
    logits, target = random_case(4, seed=17)
    with pytest.raises(LossParameterError, match="4 weights"):
        get_loss("focal", alpha=[0.5, 0.5])(logits, target)
    binary_logits_, binary_target = random_case(1, seed=17)
    loss = get_loss("focal", alpha=[0.25, 0.75], gamma=2.0)(binary_logits_, binary_target)
    ref = get_loss("focal", alpha=0.75, gamma=2.0)(binary_logits_, binary_target)
    torch.testing.assert_close(loss, ref)


def test_bce_ds_rejects_side_outputs_of_the_wrong_size():
    logits, target = random_case(1, seed=18)
    with pytest.raises(InternalError, match="side output 0"):
        get_loss("bce_ds")(logits, target, aux=[logits[..., :4, :4]])
