"""The loss formulas as small plain functions (torch for training, numpy for curves).

Conventions shared by every torch function here:

- ``logits``: float tensor ``(N, C, H, W)``. ``C == 1`` is binary segmentation: the single
  channel is the foreground logit ``z`` and ``p = sigmoid(z)``. ``C > 1`` is multi-class:
  ``p = softmax(z)`` over the channel axis.
- ``target``: int64 tensor ``(N, H, W)`` of class ids (0/1 for binary).
- Functions named ``*_map`` return a per-pixel ``(N, H, W)`` tensor whose **mean over all
  pixels equals the loss**. For pixel-wise losses (cross-entropy, focal) that is simply the
  loss of each pixel. Region losses (Dice, Tversky) are ratios of sums over the whole batch,
  so they have no "loss of one pixel"; we use their exact additive decomposition instead
  (see :func:`soft_dice_map`): each pixel's share of the loss, times the number of pixels.

These functions do not validate their inputs; :mod:`seglab.losses.modules` does that once,
with messages in plain words, before calling them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

# --------------------------------------------------------------------------------------
# Cross-entropy
# --------------------------------------------------------------------------------------


def bce_with_logits(logits: Tensor, target: Tensor, pos_weight: float = 1.0) -> Tensor:
    r"""Per-pixel binary cross-entropy from logits.

    Formula: :math:`\ell_i = -[w_+ y_i \log\sigma(z_i) + (1-y_i)\log(1-\sigma(z_i))]`,
    computed as ``-(w_+ y logsigmoid(z) + (1-y) logsigmoid(-z))`` so that logits of ±100
    give finite values and gradients (``log(1 - sigmoid(z)) = logsigmoid(-z)``).

    Shapes: logits ``(N, 1, H, W)``, target ``(N, H, W)`` with values 0/1 → ``(N, H, W)``.
    ``pos_weight`` (:math:`w_+`) scales the foreground term; 1 gives plain BCE.

    Reference: the standard Bernoulli negative log-likelihood; see e.g. Goodfellow,
    Bengio & Courville, *Deep Learning* (2016), §6.2.2.
    """
    z = logits[:, 0]
    y = target.to(z.dtype)
    return -(pos_weight * y * F.logsigmoid(z) + (1.0 - y) * F.logsigmoid(-z))


def cross_entropy_with_logits(logits: Tensor, target: Tensor, class_weight: Tensor | None = None) -> Tensor:
    r"""Per-pixel softmax cross-entropy from logits.

    Formula: :math:`\ell_i = -w_{y_i} \log \mathrm{softmax}(z_i)_{y_i}`; with no weights
    :math:`w_c = 1`. Uses ``log_softmax`` (stable for any logits).

    Shapes: logits ``(N, C, H, W)`` with C ≥ 2, target ``(N, H, W)`` ids in ``[0, C)``,
    optional ``class_weight`` ``(C,)`` → ``(N, H, W)``. Note: this is a plain per-pixel
    loss; averaging it gives a plain mean (torch's ``weight=`` argument instead divides by
    the sum of the weights).
    """
    log_p = F.log_softmax(logits, dim=1)
    nll = -log_p.gather(1, target.unsqueeze(1))[:, 0]
    if class_weight is not None:
        nll = nll * class_weight.to(nll)[target]
    return nll


def pixel_cross_entropy(logits: Tensor, target: Tensor, pos_weight: float = 1.0) -> Tensor:
    """Cross-entropy map that works for both heads: BCE when C == 1, softmax CE when C > 1.

    For C > 1, ``pos_weight`` weights every non-background class (ids 1..C-1) and leaves
    class 0 at weight 1. With C == 2 this is exactly binary BCE with ``pos_weight`` written
    with two logits. Shapes as in :func:`bce_with_logits` → ``(N, H, W)``.
    """
    if logits.shape[1] == 1:
        return bce_with_logits(logits, target, pos_weight)
    weight = None
    if pos_weight != 1.0:
        weight = torch.full((logits.shape[1],), float(pos_weight), device=logits.device)
        weight[0] = 1.0
    return cross_entropy_with_logits(logits, target, weight)


# --------------------------------------------------------------------------------------
# Focal loss
# --------------------------------------------------------------------------------------


def auto_alpha(target: Tensor) -> Tensor:
    r"""Class-balancing α for binary focal loss, computed from the given masks.

    Training fixes α once from the whole training set (:func:`alpha_from_counts`); this
    function is for illustrations on a single example.

    Formula: :math:`\alpha = N_{neg} / (N_{pos} + N_{neg})`, the fraction of background
    pixels, so the rarer foreground gets the larger weight (``1 - α`` goes to background).

    Shapes: target ``(N, H, W)`` of 0/1 → scalar float tensor (on target's device).

    >>> auto_alpha(torch.tensor([[[0, 0], [0, 1]]])).item()
    0.75
    """
    return 1.0 - target.float().mean()


def class_balanced_alpha(target: Tensor, num_classes: int) -> Tensor:
    r"""Per-class α for softmax focal loss: :math:`\alpha_c = 1 - n_c / \sum_k n_k`.

    This generalises :func:`auto_alpha`: for two classes it gives ``[1 - α, α]``.
    Shapes: target ``(N, H, W)`` ids in ``[0, num_classes)`` → ``(num_classes,)`` float.
    """
    counts = torch.bincount(target.reshape(-1), minlength=num_classes).float()
    return 1.0 - counts / counts.sum()


def class_pixel_counts(masks: Tensor, num_classes: int) -> Tensor:
    """Pixels of each class over a whole set of masks: ``(N, H, W)`` ids → int64 ``(num_classes,)``.

    Feed it the **training set** (not one batch) to get the counts behind focal α = "auto".

    >>> class_pixel_counts(torch.tensor([[[0, 0], [0, 1]]]), 2).tolist()
    [3, 1]
    """
    return torch.bincount(masks.reshape(-1).cpu(), minlength=num_classes)[:num_classes]


def alpha_from_counts(counts: Sequence[int] | Tensor, binary: bool) -> float | list[float]:
    r"""Focal α = "auto" from class pixel counts (counted once, over the training set).

    Binary (``counts = [N_neg, N_pos]``): :math:`\alpha = N_{neg} / (N_{pos} + N_{neg})`, the
    weight of the foreground term (background gets 1 - α), so the rarer class weighs more.
    Multi-class: :math:`\alpha_c = 1 - n_c / \sum_k n_k` per class (for two classes this is
    ``[1 - α, α]``). No pixels at all → every class counted equally (binary 0.5).

    For K > 2 this is the stated generalisation, not class balancing: every α_c lies between
    1 - (largest share) and 1, so the weights hardly differ. On ``aerial`` (6 classes) the rarest
    class (vehicles, under 1 % of the pixels) gets only about 2.2 times the weight of the commonest
    (ground, 55 %), where inverse class frequency would give about 70 times.

    >>> alpha_from_counts([3, 1], binary=True)
    0.75
    >>> alpha_from_counts([1, 1, 2], binary=False)
    [0.75, 0.75, 0.5]
    """
    n = [float(v) for v in (counts.tolist() if isinstance(counts, Tensor) else counts)]
    total = sum(n)
    if total <= 0:
        n, total = [1.0] * len(n), float(len(n))
    if binary:
        return n[0] / total
    return [1.0 - v / total for v in n]


def focal_with_logits(
    logits: Tensor, target: Tensor, alpha: float | Tensor | None = None, gamma: float = 2.0
) -> Tensor:
    r"""Per-pixel focal loss from logits (Lin et al., "Focal Loss for Dense Object
    Detection", ICCV 2017).

    Binary (C == 1), with :math:`p = \sigma(z)`:
    :math:`\ell = -\alpha (1-p)^\gamma y \log p - (1-\alpha) p^\gamma (1-y) \log(1-p)`.
    Multi-class (C > 1), with :math:`p_t` the softmax probability of the true class:
    :math:`\ell = -\alpha_{y} (1-p_t)^\gamma \log p_t`.

    ``alpha``: ``None`` → no balancing (every weight 1). A float → binary: α for
    foreground, 1 - α for background; multi-class: 1 - α for class 0 (background) and α for
    every other class (the same rule as the binary case, and the one MONAI uses). A tensor
    ``(C,)`` (``(2,)`` = [background, foreground] for binary) → per-class weights.

    Numerics: every factor is computed in log space, ``log p_t`` with ``logsigmoid`` /
    ``log_softmax`` and ``(1 - p_t)^γ = exp(γ log(1 - p_t))`` with ``log(1 - p_t)`` from
    ``logsigmoid(-s)`` (binary) or a log-sum-exp over the other classes (multi-class). So
    loss and gradients stay finite for logits of ±100 and for any γ ≥ 0, including
    0 < γ < 1 where the naive ``(1 - p_t) ** γ`` has an infinite slope at ``p_t = 1``.

    With α = 0.5 and γ = 0 the result is exactly half of the cross-entropy.
    Shapes: ``(N, C, H, W)``, ``(N, H, W)`` → ``(N, H, W)``.
    """
    if logits.shape[1] == 1:
        z = logits[:, 0]
        sign = 2.0 * target.to(z.dtype) - 1.0  # +1 for foreground, -1 for background
        log_pt = F.logsigmoid(sign * z)
        log_one_minus_pt = F.logsigmoid(-sign * z)
        weight_of_class = _alpha_weights(alpha, 2, z)
        index = target
    else:
        log_p = F.log_softmax(logits, dim=1)
        log_pt = log_p.gather(1, target.unsqueeze(1))[:, 0]
        is_true = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).bool()
        others = logits.masked_fill(is_true, float("-inf"))
        log_one_minus_pt = torch.logsumexp(others, dim=1) - torch.logsumexp(logits, dim=1)
        weight_of_class = _alpha_weights(alpha, logits.shape[1], logits)
        index = target
    modulating = torch.exp(gamma * log_one_minus_pt) if gamma != 0 else torch.ones_like(log_pt)
    loss = -modulating * log_pt
    if weight_of_class is not None:
        loss = loss * weight_of_class[index]
    return loss


def _alpha_weights(alpha: float | Tensor | None, num_classes: int, like: Tensor) -> Tensor | None:
    """Weights indexed by class id: scalar α → ``[1 - α, α, ..., α]`` (binary: ``[1 - α, α]``,
    background then foreground); a tensor is used as is. Dtype and device follow ``like``."""
    if alpha is None:
        return None
    a = torch.as_tensor(alpha, dtype=like.dtype, device=like.device)
    if a.ndim == 0:
        weights = a.expand(num_classes).clone()
        weights[0] = 1.0 - a
        return weights
    return a


# --------------------------------------------------------------------------------------
# Region losses: soft Dice and soft Tversky
# --------------------------------------------------------------------------------------


def probabilities_and_onehot(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Probabilities ``p`` and float targets ``y``, both ``(N, K, H, W)``.

    Binary (C == 1): K = 1, ``p = sigmoid(z)`` is the foreground probability and ``y`` the
    foreground mask, so region losses score the foreground only. Multi-class: K = C,
    ``p = softmax(z)`` and ``y`` is the one-hot target (background included).
    """
    if logits.shape[1] == 1:
        return torch.sigmoid(logits), target.unsqueeze(1).to(logits.dtype)
    y = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(logits.dtype)
    return torch.softmax(logits, dim=1), y


def soft_counts(p: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""Soft confusion counts per class, summed over the batch and all pixels.

    :math:`TP_c = \sum_i p_{ic} y_{ic}`, :math:`FP_c = \sum_i p_{ic}(1 - y_{ic})`,
    :math:`FN_c = \sum_i (1 - p_{ic}) y_{ic}`. Shapes ``(N, K, H, W)`` → three ``(K,)``.
    With hard 0/1 predictions they are the usual TP/FP/FN pixel counts.
    """
    dims = (0, 2, 3)
    tp = (p * y).sum(dims)
    fp = (p * (1.0 - y)).sum(dims)
    fn = ((1.0 - p) * y).sum(dims)
    return tp, fp, fn


def soft_dice(logits: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    r"""Soft Dice loss with a linear denominator, batch-level (as in Sudre et al., DLMIA 2017, for
    one class with unit weight, and nnU-Net's batch Dice; Milletari et al., "V-Net", 3DV 2016,
    square the denominator's terms: Σp² + Σy²).

    :math:`L = 1 - \frac{1}{K}\sum_c \frac{2\sum_i p_{ic} y_{ic} + s}{\sum_i p_{ic} + \sum_i y_{ic} + s}`
    with sums over the whole batch and all pixels (one ratio per class, not per image),
    K = 1 (foreground) for binary and K = C (all classes, background included) otherwise.
    ``smooth`` (s > 0) keeps the ratio defined for empty masks and softens its gradient.

    Shapes: ``(N, C, H, W)``, ``(N, H, W)`` → scalar.
    """
    p, y = probabilities_and_onehot(logits, target)
    tp, fp, fn = soft_counts(p, y)
    return 1.0 - ((2.0 * tp + smooth) / (2.0 * tp + fp + fn + smooth)).mean()


def soft_dice_per_image(logits: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    r"""Soft Dice loss with one ratio **per image**, then averaged over images and classes.

    :math:`L = 1 - \frac{1}{NK}\sum_n\sum_c \frac{2 TP_{nc} + s}{2 TP_{nc} + FP_{nc} + FN_{nc} + s}`.
    Unlike the batch-level :func:`soft_dice` (what the ``dice`` loss trains with), here a
    small object counts as much as a large one: missing a whole 16-pixel object costs that
    image nearly 1, missing 16 pixels of a 1024-pixel object costs it under 0.01. Shown in
    the Loss lab next to the batch-level version. Shapes: ``(N, C, H, W)``, ``(N, H, W)`` → scalar.
    """
    p, y = probabilities_and_onehot(logits, target)
    dims = (2, 3)
    tp = (p * y).sum(dims)
    fp = (p * (1.0 - y)).sum(dims)
    fn = ((1.0 - p) * y).sum(dims)
    return 1.0 - ((2.0 * tp + smooth) / (2.0 * tp + fp + fn + smooth)).mean()


def soft_dice_map(logits: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    r"""Each pixel's share of the soft Dice loss, scaled so that the map's mean is the loss.

    Because :math:`\sum_i p_i + \sum_i y_i = 2TP + FP + FN`, the Dice loss of one class is
    exactly :math:`\frac{FP + FN}{D} = \sum_i \frac{p_i(1-y_i) + y_i(1-p_i)}{D}` with
    :math:`D = 2TP + FP + FN + s`. So pixel *i* contributes its soft error
    :math:`p_i(1-y_i) + y_i(1-p_i)` divided by the batch-wide denominator D (averaged over
    classes). Multiplying by the number of pixels makes the mean equal the loss, so the map
    is comparable with a cross-entropy map. Shapes → ``(N, H, W)``.
    """
    p, y = probabilities_and_onehot(logits, target)
    tp, fp, fn = soft_counts(p, y)
    denom = (2.0 * tp + fp + fn + smooth).view(1, -1, 1, 1)
    error = p * (1.0 - y) + y * (1.0 - p)
    n_pixels = target.numel()
    return (error / denom).mean(dim=1) * n_pixels


def soft_tversky(
    logits: Tensor, target: Tensor, fp_weight: float = 0.3, fn_weight: float = 0.7, smooth: float = 1.0
) -> Tensor:
    r"""Soft Tversky loss (Salehi et al., "Tversky loss function for image segmentation
    using 3D fully convolutional deep networks", MLMI 2017), batch-level.

    :math:`L = 1 - \frac{1}{K}\sum_c \frac{TP_c + s}{TP_c + a\,FP_c + b\,FN_c + s}` with
    soft counts from :func:`soft_counts`, a = ``fp_weight``, b = ``fn_weight``. b > a
    penalises missed foreground more than false alarms (favouring recall). With
    a = b = 0.5 it is the soft Dice loss with smoothing 2s (identical as s → 0).

    Shapes: ``(N, C, H, W)``, ``(N, H, W)`` → scalar.
    """
    p, y = probabilities_and_onehot(logits, target)
    tp, fp, fn = soft_counts(p, y)
    return 1.0 - ((tp + smooth) / (tp + fp_weight * fp + fn_weight * fn + smooth)).mean()


def soft_tversky_map(
    logits: Tensor, target: Tensor, fp_weight: float = 0.3, fn_weight: float = 0.7, smooth: float = 1.0
) -> Tensor:
    r"""Each pixel's share of the Tversky loss, times the number of pixels (mean = loss).

    The loss of one class is exactly :math:`\frac{a FP + b FN}{D}` with
    :math:`D = TP + a FP + b FN + s`, so pixel *i* contributes
    :math:`(a\,p_i(1-y_i) + b\,y_i(1-p_i)) / D`, averaged over classes. Shapes → ``(N, H, W)``.
    """
    p, y = probabilities_and_onehot(logits, target)
    tp, fp, fn = soft_counts(p, y)
    denom = (tp + fp_weight * fp + fn_weight * fn + smooth).view(1, -1, 1, 1)
    error = fp_weight * p * (1.0 - y) + fn_weight * y * (1.0 - p)
    return (error / denom).mean(dim=1) * target.numel()


# --------------------------------------------------------------------------------------
# Deep supervision
# --------------------------------------------------------------------------------------


def deep_supervision_combine(main: Tensor, side: Sequence[Tensor], aux_weight: float) -> Tensor:
    r"""Combine the main loss with side-output losses (Lee et al., "Deeply-Supervised Nets",
    AISTATS 2015).

    :math:`L = \frac{L_0 + \lambda \sum_{k=1}^{M} L_k}{1 + \lambda M}`: a weighted average,
    so the value stays on the scale of a single loss whatever M is. With λ = 0 or no side
    outputs it returns ``main`` itself (bit-for-bit the plain loss). Works on scalars or on
    same-shaped maps.
    """
    if aux_weight == 0 or len(side) == 0:
        return main
    total = main + aux_weight * torch.stack(list(side)).sum(0)
    return total / (1.0 + aux_weight * len(side))


# --------------------------------------------------------------------------------------
# Curves for the Loss lab (numpy, one probability per entry)
# --------------------------------------------------------------------------------------


def focal_terms(
    p: np.ndarray | Sequence[float] | float,
    y: np.ndarray | Sequence[int] | int,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    eps: float = 1e-12,
) -> dict[str, np.ndarray]:
    r"""Binary focal loss and its pieces for a vector of predicted foreground probabilities.

    With :math:`p_t = p` if y = 1 else 1 - p, :math:`\alpha_t = \alpha` if y = 1 else
    1 - α (1 when ``alpha`` is None):

    - ``loss``: :math:`-\alpha_t (1-p_t)^\gamma \log p_t`
    - ``modulating``: :math:`(1-p_t)^\gamma`, the factor that turns BCE into focal loss
    - ``grad``: :math:`\partial \ell / \partial z` for the logit z,
      :math:`(2y-1)\,\alpha_t\,[\gamma (1-p_t)^\gamma p_t \log p_t - (1-p_t)^{\gamma+1}]`
      (for γ = 0, α_t = 1 this is the familiar p - y)
    - ``bce`` and ``bce_grad``: plain BCE :math:`-\log p_t` and its gradient p - y, for
      comparison.
    - ``p_t``: the probability given to the true class.

    ``p`` and ``y`` broadcast against each other; probabilities are clipped to
    ``[eps, 1 - eps]`` so that the curve at 0 and 1 stays finite.
    """
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    y = np.asarray(y, dtype=np.float64)
    p, y = np.broadcast_arrays(p, y)
    p_t = np.where(y == 1, p, 1.0 - p)
    a_t = np.ones_like(p) if alpha is None else np.where(y == 1, alpha, 1.0 - alpha)
    log_pt = np.log(p_t)
    modulating = (1.0 - p_t) ** gamma
    loss = -a_t * modulating * log_pt
    sign = 2.0 * y - 1.0
    grad = sign * a_t * (gamma * modulating * p_t * log_pt - (1.0 - p_t) ** (gamma + 1.0))
    return {
        "p_t": p_t,
        "loss": loss,
        "modulating": modulating,
        "grad": grad,
        "bce": -log_pt,
        "bce_grad": p - y,
    }


def loss_share_of_easy_pixels(
    p: np.ndarray | Sequence[float],
    y: np.ndarray | Sequence[int],
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    threshold: float = 0.5,
) -> dict[str, float]:
    r"""What share of the total loss comes from "easy" pixels, under BCE and under focal loss.

    A pixel is easy when the probability of its true class exceeds ``threshold``
    (:math:`p_t > 0.5` means it is already classified correctly). Returns
    ``easy_fraction`` (share of pixels that are easy), ``bce_share`` and ``focal_share``
    (share of the summed loss coming from easy pixels, NaN if the total is 0). In a typical
    segmentation batch most pixels are easy background: under BCE their many small losses
    still add up to a large share; the focal factor :math:`(1-p_t)^\gamma` shrinks it.

    ``p``: predicted foreground probabilities, ``y``: 0/1 labels, same shape.
    """
    terms = focal_terms(p, y, alpha, gamma)
    easy = terms["p_t"] > threshold

    def share(values: np.ndarray) -> float:
        total = float(values.sum())
        return float(values[easy].sum()) / total if total > 0 else float("nan")

    return {
        "easy_fraction": float(easy.mean()) if easy.size else float("nan"),
        "bce_share": share(terms["bce"]),
        "focal_share": share(terms["loss"]),
    }
