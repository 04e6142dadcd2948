"""Loss modules: input checks plus a call into :mod:`seglab.losses.functional`.

Every loss is a :class:`SegLoss` called as ``loss(logits, target, aux=None)`` and returning
the mean loss as a scalar tensor. ``logits`` are ``(N, C, H, W)`` (C == 1 → binary with a
sigmoid, C > 1 → softmax); ``target`` is int64 ``(N, H, W)``. Losses are computed in float32
even under bf16 autocast, because sums over many pixels lose too much precision in bf16.

Parameters are checked when the loss is built and inputs when it is called; problems a
user can cause raise :class:`~seglab.errors.LossParameterError` with a plain message.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from seglab.errors import InternalError, LossParameterError
from seglab.losses import functional as LF

# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------


def check_number(
    name: str, value: Any, *, low: float | None = None, high: float | None = None, low_open: bool = False
) -> float:
    """Return ``value`` as a float or raise LossParameterError saying what range is allowed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise LossParameterError(f"{name} must be a finite number, got {value!r}.")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        lo = "" if low is None else (f"> {low:g}" if low_open else f"≥ {low:g}")
        hi = "" if high is None else f"≤ {high:g}"
        rule = " and ".join(part for part in (lo, hi) if part)
        raise LossParameterError(f"{name} must be {rule}, got {value:g}.")
    return value


def check_inputs(logits: Tensor, target: Tensor) -> Tensor:
    """Check shapes, dtypes and class ids; return the logits as float32.

    Raises InternalError (a bug, not a user mistake) for logits that are not a 4-D float
    tensor or a target that is not int64 ``(N, H, W)`` matching the logits, and
    LossParameterError for class ids outside ``{0, 1}`` (binary, C == 1) or ``[0, C)``
    (multi-class): those come from the data.
    """
    if not isinstance(logits, Tensor) or logits.ndim != 4 or not logits.is_floating_point():
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise InternalError(f"logits must be a float tensor of shape (N, C, H, W), got {shape}.")
    if not isinstance(target, Tensor):
        raise InternalError(f"target must be a torch tensor, got {type(target).__name__}.")
    n, c, h, w = logits.shape
    if target.dtype != torch.int64:
        raise InternalError(
            f"target must hold integer class ids as int64 (torch.long), got {target.dtype}; "
            "convert it with target.long()."
        )
    if tuple(target.shape) != (n, h, w):
        raise InternalError(
            f"target shape {tuple(target.shape)} does not match the logits {tuple(logits.shape)}: "
            f"expected (N, H, W) = {(n, h, w)}."
        )
    n_ids = 2 if c == 1 else c
    if target.numel():
        low, high = (int(v) for v in torch.stack(torch.aminmax(target)).tolist())
        if low < 0 or high >= n_ids:
            allowed = (
                "0 and 1 (binary, one output channel)" if c == 1 else f"0..{c - 1} ({c} output channels)"
            )
            raise LossParameterError(
                f"target holds class ids from {low} to {high}, but only {allowed} are allowed."
            )
    return logits.float()


def fit_loss_to_training_set(loss: nn.Module, train_masks: Tensor, num_classes: int) -> dict[str, Any]:
    """Fix every data-dependent loss parameter from the **training** masks, once per run.

    Today that is focal α = "auto" (class pixel counts over the training set). Returns the
    resolved values to store with the run (``{}`` when nothing depended on the data).
    """
    fit = getattr(loss, "fit_class_counts", None)
    if fit is None:
        return {}
    return fit(LF.class_pixel_counts(train_masks, num_classes))


def check_aux(aux: Sequence[Tensor] | None, logits: Tensor) -> list[Tensor]:
    """Deep-supervision side outputs as a list of float32 tensors shaped like ``logits``."""
    if aux is None:
        return []
    if isinstance(aux, Tensor):
        aux = [aux]
    out = []
    for k, a in enumerate(aux):
        if not isinstance(a, Tensor) or tuple(a.shape) != tuple(logits.shape):
            shape = tuple(a.shape) if isinstance(a, Tensor) else type(a).__name__
            raise InternalError(
                f"side output {k} has shape {shape}; every side output must match the main "
                f"logits {tuple(logits.shape)} (full resolution, same channels)."
            )
        out.append(a.float())
    return out


# --------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------


class SegLoss(nn.Module):
    """Base class: ``loss(logits, target, aux=None)`` → scalar; ``pixel_map`` → (N, H, W).

    Subclasses implement ``_map(logits, target, aux)`` returning a per-pixel map whose mean
    is the loss (see the functional module for what region losses put in it), or override
    ``_loss`` when a direct formula is cheaper.
    """

    uses_aux: bool = False
    name: str = ""  # the registry name, set by get_loss

    def forward(self, logits: Tensor, target: Tensor, aux: Sequence[Tensor] | None = None) -> Tensor:
        logits = check_inputs(logits, target)
        side = check_aux(aux, logits) if self.uses_aux else []
        return self._loss(logits, target, side)

    def _loss(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        return self._map(logits, target, aux).mean()

    def _map(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def pixel_map(self, logits: Tensor, target: Tensor, aux: Sequence[Tensor] | None = None) -> Tensor:
        """Per-pixel loss map ``(N, H, W)`` for heatmaps; its mean equals the loss.

        Pixel-wise losses: each pixel's loss. Region losses (Dice, Tversky): each pixel's
        exact share of the batch loss times the number of pixels, i.e. its soft error
        divided by the batch-wide denominator. Computed without gradients.
        """
        logits = check_inputs(logits, target)
        side = check_aux(aux, logits) if self.uses_aux else []
        return self._map(logits, target, side)

    def gradient_map(self, logits: Tensor, target: Tensor, aux: Sequence[Tensor] | None = None) -> Tensor:
        """How hard the loss pushes on each pixel: ``‖∂L/∂z_i‖₂`` over channels, times N·H·W.

        Multiplying by the number of pixels undoes the mean, so for BCE the value is
        ``|p_i - y_i|``. Shape ``(N, H, W)``, detached.
        """
        z = logits.detach().float().requires_grad_(True)
        with torch.enable_grad():
            loss = self.forward(z, target, [a.detach() for a in aux] if aux else None)
            (grad,) = torch.autograd.grad(loss, z)
        return grad.norm(dim=1) * target.numel()


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------


class CrossEntropyLoss(SegLoss):
    """Pixel-wise cross-entropy: BCE for one output channel, softmax CE for several.

    Both registry names ``bce`` and ``ce`` build this class, so each works with either head:
    ``bce`` on a C > 1 head is the softmax cross-entropy (its natural generalisation) and
    ``ce`` on a C == 1 head is BCE. ``pos_weight`` multiplies the foreground term (for
    C > 1: every class except 0).
    """

    def __init__(self, pos_weight: float = 1.0) -> None:
        super().__init__()
        self.pos_weight = check_number("pos_weight", pos_weight, low=0.0, low_open=True)

    def _map(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        return LF.pixel_cross_entropy(logits, target, self.pos_weight)


class DiceLoss(SegLoss):
    """Soft Dice over the whole batch (see :func:`~seglab.losses.functional.soft_dice`)."""

    def __init__(self, smooth: float = 1.0) -> None:
        super().__init__()
        self.smooth = check_number("smooth", smooth, low=0.0, low_open=True)

    def _loss(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        return LF.soft_dice(logits, target, self.smooth)

    def _map(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        return LF.soft_dice_map(logits, target, self.smooth)


class BCEDiceLoss(SegLoss):
    """``bce_weight · CE + dice_weight · Dice``; the map is the same weighted sum of maps."""

    def __init__(self, bce_weight: float = 1.0, dice_weight: float = 1.0, smooth: float = 1.0) -> None:
        super().__init__()
        self.bce_weight = check_number("bce_weight", bce_weight, low=0.0)
        self.dice_weight = check_number("dice_weight", dice_weight, low=0.0)
        if self.bce_weight == 0 and self.dice_weight == 0:
            raise LossParameterError("bce_weight and dice_weight cannot both be 0: nothing would be learned.")
        self.smooth = check_number("smooth", smooth, low=0.0, low_open=True)

    def _loss(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        ce = LF.pixel_cross_entropy(logits, target).mean()
        return self.bce_weight * ce + self.dice_weight * LF.soft_dice(logits, target, self.smooth)

    def _map(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        ce = LF.pixel_cross_entropy(logits, target)
        return self.bce_weight * ce + self.dice_weight * LF.soft_dice_map(logits, target, self.smooth)


class FocalLoss(SegLoss):
    """Focal loss with α balancing (see :func:`~seglab.losses.functional.focal_with_logits`).

    ``alpha``: ``"auto"`` (default; α = N_neg / (N_pos + N_neg), or α_c = 1 - frequency of
    class c for multi-class, counted over the **training set** and fixed for the run: the
    engine calls :meth:`fit_class_counts` once before training), a number in [0, 1], a list
    of per-class weights in [0, 1] (length C, or 2 = [background, foreground] for binary), or
    ``None`` for no balancing. ``gamma`` ≥ 0; γ = 0 removes the focusing. For K > 2 classes
    "auto" barely balances them (all α_c are close to 1; see
    :func:`~seglab.losses.functional.alpha_from_counts`): pass a list for real class weights.

    Before any counts are given, "auto" counts every class equally (binary α = 0.5,
    multi-class α_c = 1 - 1/C); it is never re-estimated from a batch, so a batch without
    foreground still pays for false positives.
    """

    def __init__(self, alpha: float | str | Sequence[float] | None = "auto", gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.alpha: float | str | tuple[float, ...] | None
        if alpha is None or (isinstance(alpha, str) and alpha == "auto"):
            self.alpha = alpha
        elif isinstance(alpha, str):
            raise LossParameterError(
                f"alpha must be a number in [0, 1], a list of them or 'auto', got {alpha!r}."
            )
        elif isinstance(alpha, (list, tuple)):
            if not alpha:
                raise LossParameterError("alpha list is empty; give one weight per class.")
            self.alpha = tuple(check_number(f"alpha[{i}]", a, low=0.0, high=1.0) for i, a in enumerate(alpha))
        else:
            self.alpha = check_number("alpha", alpha, low=0.0, high=1.0)

    counts: tuple[int, ...] | None = None  # class pixel counts behind alpha="auto"

    def fit_class_counts(self, counts: Sequence[int] | Tensor) -> dict[str, Any]:
        """Fix α = "auto" from the training set's class pixel counts (``[N_neg, N_pos]`` for
        binary data, one count per class otherwise). Returns the resolved parameters to record
        with the run: ``{"alpha": ..., "class_pixel_counts": [...]}``, or ``{}`` when α was
        given explicitly."""
        if self.alpha != "auto":
            return {}
        self.counts = tuple(int(v) for v in (counts.tolist() if isinstance(counts, Tensor) else counts))
        return {"alpha": self._auto_alpha(len(self.counts)), "class_pixel_counts": list(self.counts)}

    def _auto_alpha(self, n_classes: int) -> float | list[float]:
        counts = self.counts if self.counts is not None and len(self.counts) == n_classes else [0] * n_classes
        return LF.alpha_from_counts(counts, binary=n_classes == 2)

    def _alpha_for(self, logits: Tensor, target: Tensor) -> float | Tensor | None:
        c = logits.shape[1]
        if self.alpha == "auto":
            alpha = self._auto_alpha(2 if c == 1 else c)
            return alpha if c == 1 else torch.tensor(alpha, device=logits.device)
        if isinstance(self.alpha, tuple):
            expected = 2 if c == 1 else c
            if len(self.alpha) != expected:
                what = "2 weights [background, foreground]" if c == 1 else f"{c} weights, one per class"
                raise LossParameterError(f"alpha has {len(self.alpha)} weights but this model needs {what}.")
            return torch.tensor(self.alpha, device=logits.device)
        return self.alpha

    def _map(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        return LF.focal_with_logits(logits, target, self._alpha_for(logits, target), self.gamma)


class ClassWeightedBCELoss(FocalLoss):
    r"""Class weighting alone: focal loss with γ = 0 and α = "auto" (fixed from the training set).

    Binary: :math:`-[\alpha y \log p + (1-\alpha)(1-y)\log(1-p)]` with
    :math:`\alpha = N_{neg}/(N_{pos}+N_{neg})`, which is BCE with ``pos_weight`` =
    N_neg / N_pos, scaled by 1 − α. Multi-class: α_c = 1 − frequency of class c.
    """

    def __init__(self) -> None:
        super().__init__(alpha="auto", gamma=0.0)


class FocusingFocalLoss(FocalLoss):
    """Focusing alone: focal loss with α = 0.5 (no class weight) and a free γ."""

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__(alpha=0.5, gamma=gamma)


class TverskyLoss(SegLoss):
    """Soft Tversky loss; ``fp_weight`` = a, ``fn_weight`` = b; a = b = 0.5 is Dice-like."""

    def __init__(self, fp_weight: float = 0.3, fn_weight: float = 0.7, smooth: float = 1.0) -> None:
        super().__init__()
        self.fp_weight = check_number("fp_weight", fp_weight, low=0.0)
        self.fn_weight = check_number("fn_weight", fn_weight, low=0.0)
        self.smooth = check_number("smooth", smooth, low=0.0, low_open=True)

    def _loss(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        return LF.soft_tversky(logits, target, self.fp_weight, self.fn_weight, self.smooth)

    def _map(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        return LF.soft_tversky_map(logits, target, self.fp_weight, self.fn_weight, self.smooth)


class DeepSupervisionBCELoss(SegLoss):
    """BCE (CE for C > 1) on the main output and on every deep-supervision side output.

    ``L = (L_main + aux_weight · Σ_k L_k) / (1 + aux_weight · M)`` for M side outputs (see
    :func:`~seglab.losses.functional.deep_supervision_combine`). Without side outputs, or
    with ``aux_weight = 0``, it is exactly ``bce``.
    """

    uses_aux = True

    def __init__(self, aux_weight: float = 0.4) -> None:
        super().__init__()
        self.aux_weight = check_number("aux_weight", aux_weight, low=0.0)

    def _loss(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        main = LF.pixel_cross_entropy(logits, target).mean()
        if self.aux_weight == 0:
            return main
        side = [LF.pixel_cross_entropy(a, target).mean() for a in aux]
        return LF.deep_supervision_combine(main, side, self.aux_weight)

    def _map(self, logits: Tensor, target: Tensor, aux: list[Tensor]) -> Tensor:
        main = LF.pixel_cross_entropy(logits, target)
        if self.aux_weight == 0:
            return main
        side = [LF.pixel_cross_entropy(a, target) for a in aux]
        return LF.deep_supervision_combine(main, side, self.aux_weight)
