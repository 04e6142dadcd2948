"""What the Loss lab computes: focal curves, a realistic imperfect prediction, per-pixel loss
maps, the class-imbalance comparison and the small numbers behind common mistakes.

Every loss value here comes from :mod:`seglab.losses` (the registry or its functional
formulas), i.e. from the same code that trains the models.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from seglab.losses import functional as LF
from seglab.teach.basics import gaussian_blur, shift, sigmoid

FG, BG = "y = 1 (foreground pixel)", "y = 0 (background pixel)"


# ---- focal loss as curves ---------------------------------------------------------------


#: What "α = auto" means on the Loss lab: one source for every section that follows the toggle.
AUTO_ALPHA_HELP = (
    "α = 1 − the Foreground share slider, which stands in for the training set (in training, "
    "auto counts the training split once). Sections 2 to 4 all use this α."
)


def kept_weight(p_t: float, gamma: float) -> float:
    """The share of its BCE weight a pixel keeps under focal loss: the modulating factor (1 − p_t)^γ."""
    return float(LF.focal_terms(np.array([p_t]), 1, None, gamma)["modulating"][0])


def alpha_from_share(fg_share: float) -> float:
    """α = N_neg / (N_pos + N_neg) = 1 − (foreground share), via the library's auto_alpha."""
    n = 10_000
    n_pos = int(round(fg_share * n))
    target = torch.zeros(1, 1, n, dtype=torch.int64)
    target[..., :n_pos] = 1
    return float(LF.auto_alpha(target))


def focal_curves(alpha: float | None, gamma: float, points: int = 133) -> pd.DataFrame:
    """Long table of focal loss, modulating factor and gradient against the predicted p.

    Columns: ``p`` (predicted foreground probability), ``target`` (FG/BG label), ``curve``
    ("focal" or "BCE"), ``loss``, ``modulating`` ((1−p_t)^γ; 1 for BCE) and ``grad``
    (∂loss/∂z, z the logit).
    """
    p = np.linspace(0.005, 0.995, points)
    frames = []
    for y, label in ((1, FG), (0, BG)):
        t = LF.focal_terms(p, y, alpha, gamma)
        for curve, loss, mod, grad in (
            ("focal", t["loss"], t["modulating"], t["grad"]),
            ("BCE", t["bce"], np.ones_like(p), t["bce_grad"]),
        ):
            frames.append(
                pd.DataFrame(
                    {"p": p, "target": label, "curve": curve, "loss": loss, "modulating": mod, "grad": grad}
                )
            )
    return pd.concat(frames, ignore_index=True)


def focal_at(p_true: float, alpha: float | None, gamma: float) -> dict[str, float]:
    """Focal and BCE loss of a foreground pixel predicted with probability ``p_true``."""
    t = LF.focal_terms(np.array([p_true]), 1, alpha, gamma)
    return {"focal": float(t["loss"][0]), "bce": float(t["bce"][0])}


# ---- a realistic, imperfect prediction --------------------------------------------------


def imperfect_logits(mask: np.ndarray, wrongness: float, seed: int = 0) -> np.ndarray:
    """Logits (H, W) a half-trained model might output for a binary ``mask``.

    ``wrongness`` in [0, 1] sets how far the prediction is off: the predicted shape is
    shifted by up to a tenth of the image, blurred more, less confident and noisier.
    0 gives sharp, confident and correct logits (still soft at object edges).
    """
    w = float(np.clip(wrongness, 0.0, 1.0))
    fg = (np.asarray(mask) > 0).astype(np.float32)
    step = int(round(w * fg.shape[0] / 10))
    signed = shift(2 * fg - 1, step, -step // 2, fill=-1.0)
    soft = gaussian_blur(signed, 0.8 + 2.5 * w)
    rng = np.random.default_rng(seed)
    wobble = gaussian_blur(rng.standard_normal(fg.shape).astype(np.float32), 1.5)
    wobble /= max(1e-6, float(wobble.std()))
    confidence = 6.0 * (1.0 - 0.55 * w)
    return (confidence * soft + (0.4 + 2.6 * w) * wobble).astype(np.float32)


def _tensors(logits: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.tensor(np.asarray(logits, dtype=np.float32))  # a copy: cached inputs are read-only
    z = z.view(1, 1, *z.shape) if z.ndim == 2 else z.unsqueeze(0)
    y = torch.from_numpy((np.asarray(mask) > 0).astype(np.int64)).unsqueeze(0)
    return z, y


def loss_params(name: str, alpha: float | str | None, gamma: float, **others: Any) -> dict[str, Any]:
    """Constructor arguments for ``name``: the focal sliders for losses that take α/γ."""
    from seglab.losses import loss_info

    accepted = {spec.name for spec in loss_info(name).params}
    params = {k: v for k, v in others.items() if k in accepted}
    if "alpha" in accepted:
        params["alpha"] = alpha
    if "gamma" in accepted:
        params["gamma"] = gamma
    return params


def side_outputs(logits: np.ndarray, levels: int = 2) -> list[np.ndarray]:
    """Stand-ins for a deep-supervised network's side outputs, for one (H, W) logit map.

    A side head sits on a coarser decoder level, so it sees the image at 1/2, 1/4, … of the
    resolution: side output k is the logit map averaged over 2^k × 2^k blocks and drawn back
    at full size (nearest neighbour), blurrier and less sure at edges. H and W must be
    divisible by 2^levels. Returned full-size, as the losses expect.
    """
    z = np.asarray(logits, dtype=np.float32)
    h, w = z.shape
    out = []
    for k in range(1, levels + 1):
        f = 2**k
        coarse = z.reshape(h // f, f, w // f, f).mean(axis=(1, 3))
        out.append(np.repeat(np.repeat(coarse, f, axis=0), f, axis=1))
    return out


def pixel_loss(name: str, logits: np.ndarray, mask: np.ndarray, **params: Any) -> tuple[np.ndarray, float]:
    """Per-pixel loss map (H, W) and the mean loss of registered loss ``name`` on one image.

    A loss that uses deep supervision gets :func:`side_outputs` of the prediction, so its
    ``aux_weight`` acts here as in training. Data-dependent parameters (focal α = "auto") are
    fixed from this image, which plays the training set here."""
    from seglab.losses import fit_loss_to_training_set, get_loss, loss_info

    loss = get_loss(name, **params)
    z, y = _tensors(logits, mask)
    fit_loss_to_training_set(loss, y, 2)
    aux = [_tensors(side, mask)[0] for side in side_outputs(logits)] if loss_info(name).uses_aux else None
    value = float(loss(z, y, aux))
    return loss.pixel_map(z, y, aux)[0].numpy(), value


def easy_hard(logits: np.ndarray, mask: np.ndarray, alpha: float | None, gamma: float) -> dict[str, float]:
    """Share of pixels that are easy (p_t > 0.5) and their share of the BCE and focal totals."""
    p = sigmoid(logits).ravel()
    y = (np.asarray(mask) > 0).astype(np.int64).ravel()
    return LF.loss_share_of_easy_pixels(p, y, alpha, gamma)


def loss_by_confidence(
    logits: np.ndarray, mask: np.ndarray, alpha: float | None, gamma: float, bins: int = 10
) -> pd.DataFrame:
    """Where the loss comes from: share of the total BCE / focal loss per p_t bin.

    Columns: ``bin`` (lower edge of p_t), ``label`` ("0.9–1.0"), ``loss`` (BCE | focal),
    ``share`` (fraction of that loss's total, sums to 1 per loss) and ``pixels`` (fraction
    of all pixels in the bin).
    """
    p = sigmoid(logits).ravel()
    y = (np.asarray(mask) > 0).astype(np.int64).ravel()
    t = LF.focal_terms(p, y, alpha, gamma)
    idx = np.minimum((t["p_t"] * bins).astype(np.int64), bins - 1)
    pixels = np.bincount(idx, minlength=bins) / idx.size
    rows = []
    for name, values in (("BCE", t["bce"]), ("focal", t["loss"])):
        sums = np.bincount(idx, weights=values, minlength=bins)
        total = sums.sum()
        for b in range(bins):
            rows.append(
                {
                    "bin": b / bins,
                    "label": f"{b / bins:.1f}–{(b + 1) / bins:.1f}",
                    "loss": name,
                    "share": sums[b] / total if total > 0 else float("nan"),
                    "pixels": pixels[b],
                }
            )
    return pd.DataFrame(rows)


# ---- class imbalance --------------------------------------------------------------------

IMBALANCE_SHARES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5)


def same_mistakes(
    fg_share: float, *, missed: int = 16, pixels: int = 64 * 64, confident: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """An image (as one row of pixels) where exactly ``missed`` foreground pixels are missed.

    Every other pixel is right with probability ``confident``; the missed ones get
    1 − ``confident``. Only the foreground share changes between images, never the mistake.
    Returns logits (1, 1, 1, pixels) and target (1, 1, pixels).
    """
    n_pos = max(missed, int(round(fg_share * pixels)))
    y = torch.zeros(1, 1, pixels, dtype=torch.int64)
    y[..., :n_pos] = 1
    z_right = math.log(confident / (1 - confident))
    z = torch.where(y == 1, z_right, -z_right).float()
    z[..., :missed] = -z_right  # the missed foreground pixels
    return z.unsqueeze(1), y


def imbalance_table(
    gamma: float, shares: tuple[float, ...] = IMBALANCE_SHARES, missed: int = 16
) -> pd.DataFrame:
    """Loss of the same ``missed`` foreground pixels on images with different foreground shares.

    Columns: ``fg_share``, ``loss`` (name shown) and ``value``. Compares BCE, Dice and focal
    (auto α, the given γ), all from the loss registry.
    """
    from seglab.losses import get_loss

    focal = get_loss("focal", alpha="auto", gamma=gamma)
    losses = {"BCE": get_loss("bce"), "Dice": get_loss("dice"), f"focal (α auto, γ={gamma:g})": focal}
    rows = []
    for share in shares:
        z, y = same_mistakes(share, missed=missed)
        focal.fit_class_counts(LF.class_pixel_counts(y, 2))  # this image plays the training set
        for label, loss in losses.items():
            rows.append({"fg_share": share, "loss": label, "value": float(loss(z, y))})
    return pd.DataFrame(rows)


# ---- conventions that trip people ---------------------------------------------------------


def sigmoid_twice(logits: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """BCE given logits (right) vs given probabilities as if they were logits (σ applied twice).

    Also the floor of the wrong version: even a perfect model cannot go below it, because
    σ(p) for p in [0, 1] stays within [0.5, 0.73].
    """
    z, y = _tensors(logits, mask)
    right = float(LF.bce_with_logits(z, y).mean())
    wrong = float(LF.bce_with_logits(torch.sigmoid(z), y).mean())
    perfect = torch.where(y == 1, 1.0, 0.0).unsqueeze(1)  # perfect probabilities
    floor = float(LF.bce_with_logits(perfect, y).mean())
    return {"right": right, "twice": wrong, "floor": floor}


def alpha_conventions(logits: np.ndarray, mask: np.ndarray, gamma: float) -> dict[str, float]:
    """Focal loss of one prediction with RetinaNet's α = 0.25 and with the study's auto α."""
    z, y = _tensors(logits, mask)
    auto = float(LF.auto_alpha(y))
    retina = float(LF.focal_with_logits(z, y, 0.25, gamma).mean())
    study = float(LF.focal_with_logits(z, y, auto, gamma).mean())
    return {"auto_alpha": auto, "retina": retina, "study": study, "fg_share": float(y.float().mean())}


def sigmoid_vs_softmax(
    gamma: float, logits: tuple[float, ...] = (2.0, 1.5, -1.0), true: int = 1
) -> dict[str, Any]:
    """One pixel, three classes: softmax focal vs one-vs-rest (a sigmoid per class) focal.

    Returns ``table`` (class, logit, softmax p, sigmoid p) and the two loss values; α is
    left out (None) so that only the probability model differs.
    """
    z = torch.tensor(logits, dtype=torch.float32).view(1, -1, 1, 1)
    y = torch.tensor([[[true]]])
    softmax_focal = float(LF.focal_with_logits(z, y, None, gamma).sum())
    ovr = 0.0
    for k in range(len(logits)):
        yk = (y == k).long()
        ovr += float(LF.focal_with_logits(z[:, k : k + 1], yk, None, gamma).sum())
    table = pd.DataFrame(
        {
            "class": range(len(logits)),
            "logit": list(logits),
            "softmax p": torch.softmax(z, dim=1).flatten().tolist(),
            "sigmoid p": torch.sigmoid(z).flatten().tolist(),
        }
    )
    return {"table": table, "softmax_focal": softmax_focal, "one_vs_rest_focal": ovr}


def dice_on_empty(
    smooth: float, false_pixels: int, p: float = 0.9, pixels: int = 64 * 64
) -> dict[str, float]:
    """Dice loss when the true mask is empty and ``false_pixels`` pixels are predicted at ``p``.

    Every other pixel is confidently empty (logit −12, p ≈ 6·10⁻⁶). With nothing to find,
    the Dice loss is 1 − s / (Σp + s): with s = 0 it is 1, the worst value, for *any*
    probability mass, and 0/0 if the prediction is exactly empty; the smoothing term s alone
    decides how bad a few false alarms look. The library requires s > 0, so for s = 0 the
    value is computed from the formula directly.
    """
    z = torch.full((1, 1, 1, pixels), -12.0)
    z[..., :false_pixels] = math.log(p / (1 - p))
    y = torch.zeros(1, 1, pixels, dtype=torch.int64)
    sum_p = float(torch.sigmoid(z).sum())
    value = float(LF.soft_dice(z, y, smooth)) if smooth > 0 else (1.0 if sum_p > 0 else float("nan"))
    return {"loss": value, "sum_p": sum_p}


# ---- Dice: batch-level (trained) vs per-image ------------------------------------------------


def dice_small_vs_large(small: int = 16, large: int = 1024, side: int = 64) -> pd.DataFrame:
    """The same 16 missed pixels under batch-level and per-image Dice (a worked example).

    A batch of two ``side``×``side`` images: one holds a ``small``-pixel object, the other a
    ``large``-pixel one; predictions are certain (logits ±50). Two mistakes are compared:
    missing the whole small object, and missing ``small`` pixels of the large one. Columns:
    ``mistake``, ``batch_dice`` (the ``dice`` loss as trained: sums over the batch) and
    ``per_image_dice`` (:func:`~seglab.losses.functional.soft_dice_per_image`). Batch-level
    Dice charges both mistakes the same, since each wrong pixel is divided by one batch-wide
    denominator; per-image Dice charges the lost small object far more.
    """
    target = torch.zeros(2, side, side, dtype=torch.long)
    target[0].view(-1)[:small] = 1
    target[1].view(-1)[:large] = 1
    rows = []
    for mistake, image, count in (
        (f"miss the whole {small}-px object", 0, small),
        (f"miss {small} px of the {large}-px object", 1, small),
    ):
        pred = target.clone()
        pred[image].view(-1)[:count] = 0
        logits = (pred.float() * 100.0 - 50.0).unsqueeze(1)
        rows.append(
            {
                "mistake": mistake,
                "batch_dice": float(LF.soft_dice(logits, target)),
                "per_image_dice": float(LF.soft_dice_per_image(logits, target)),
            }
        )
    return pd.DataFrame(rows)
