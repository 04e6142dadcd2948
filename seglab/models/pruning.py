"""Pruning a trained, deep-supervised U-Net++ and measuring what it costs and gains.

U-Net++'s top node ``X^{0,L}`` depends only on nodes with ``i + j ≤ L``, and deep supervision
trained a head on every ``X^{0,L}``. So after training one can keep just the sub-network up to
level ``L`` (``model.prune(L)``): fewer nodes run, inference gets faster, the mask usually gets
a little worse (Zhou et al., 2018, "UNet++", section on model pruning). `prune_report` measures
both sides on real data; `recommend_prune_level` picks the level a teacher would ship.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from seglab.errors import ConfigError
from seglab.metrics.scores import confusion_matrix, predict_labels, scores
from seglab.models.describe import describe_model

#: default tolerance of `recommend_prune_level`: one IoU point (0.01)
DEFAULT_TOLERANCE = 0.01


def _check_prunable(model: torch.nn.Module) -> None:
    if not callable(getattr(model, "prune", None)) or not hasattr(model, "active_level"):
        raise ConfigError(
            f"only U-Net++ can be pruned; this model is {getattr(model, 'arch', type(model).__name__)!r}."
        )


def _iou(cm: torch.Tensor) -> float:
    """Foreground IoU for binary data (2×2 matrix), mean IoU over classes otherwise."""
    s = scores(cm)
    return float(s["fg_iou"] if cm.shape[0] == 2 else s["miou"])


@torch.inference_mode()
def prune_report(
    model: torch.nn.Module,
    split: object,
    levels: Sequence[int] | None = None,
    *,
    repeats: int = 5,
    batch_size: int = 16,
) -> pd.DataFrame:
    """IoU and speed of a U-Net++ at each prune level, measured on ``split``.

    ``split``: a `SegDataset` (e.g. the run's validation or test subset) with ``images``
    (N, 3, H, W), ``masks`` (N, H, W) and ``num_classes``. ``levels`` defaults to
    ``1 … model.depth``. For each level ``L`` the model answers from the head on ``X^{0,L}``.

    Columns: ``level``, ``iou`` (foreground IoU for binary data, mIoU otherwise, pooled over
    every pixel of the split), ``ms_per_image`` (wall time of one pass over the split divided
    by N, in milliseconds; the median of ``repeats`` passes, taken after one untimed pass per
    level and interleaved across levels),
    ``params`` (parameters of the layers that actually run), ``macs`` (multiply-accumulates
    for one image), and ``speedup`` (time of the deepest level listed / time of this level).
    The model's prune level and train/eval mode are restored afterwards.
    """
    _check_prunable(model)
    if levels is None:
        levels = range(1, model.depth + 1)
    levels = sorted({int(v) for v in levels})
    images, masks = split.images, split.masks
    n = len(images)
    if n == 0:
        raise ConfigError("the split to measure pruning on is empty.")
    k = int(split.num_classes)
    device = next(model.parameters()).device
    images, masks = images.to(device), masks.to(device)
    size = tuple(images.shape[-2:])
    saved_level, was_training = model.prune_level, model.training
    model.eval()

    def one_pass() -> torch.Tensor:
        cm = torch.zeros(k, k, dtype=torch.long, device=device)
        for a in range(0, n, batch_size):
            logits = model(images[a : a + batch_size])
            cm += confusion_matrix(predict_labels(logits), masks[a : a + batch_size], k).to(device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return cm

    rows = []
    times: dict[int, list[float]] = {level: [] for level in levels}
    try:
        # first pass per level: the IoU (inference is deterministic) and the warm-up
        for level in levels:
            model.prune(level)
            cm = one_pass()
            desc = describe_model(model, size=size)
            rows.append(
                {
                    "level": level,
                    "iou": _iou(cm.cpu()),
                    "params": sum(layer["params"] for layer in desc.layers),
                    "macs": desc.macs,
                }
            )
        # timed passes, levels interleaved so a busy moment of the machine hits all alike
        for _ in range(max(1, repeats)):
            for level in levels:
                model.prune(level)
                start = time.perf_counter()
                one_pass()
                times[level].append(time.perf_counter() - start)
    finally:
        model.prune(saved_level)
        model.train(was_training)
    for row in rows:
        row["ms_per_image"] = 1000.0 * statistics.median(times[row["level"]]) / n
    report = pd.DataFrame(rows)[["level", "iou", "ms_per_image", "params", "macs"]]
    report["speedup"] = report["ms_per_image"].iloc[-1] / report["ms_per_image"]
    return report


@dataclass(frozen=True)
class PruneAdvice:
    """The level to ship and the reason, in one sentence."""

    level: int
    reason: str


def recommend_prune_level(report: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> PruneAdvice:
    """The smallest level whose IoU is within ``tolerance`` (absolute IoU, 0.01 = one point)
    of the best level's IoU in ``report`` (from `prune_report`), with the reason as a sentence.

    Rule: ``L* = min { L : IoU_L ≥ max_L' IoU_L' − tolerance }``. Smaller levels run fewer
    nodes, so among models that are "as good" the smallest is the one to ship.
    """
    if report.empty:
        raise ValueError("the pruning report is empty")
    if tolerance < 0:
        raise ValueError(f"tolerance must be ≥ 0, got {tolerance}")
    table = report.sort_values("level").reset_index(drop=True)
    best = table.loc[table["iou"].idxmax()]
    good = table[table["iou"] >= best["iou"] - tolerance]
    pick = good.iloc[0]
    full = table.iloc[-1]
    level = int(pick["level"])
    if level == int(full["level"]):
        reason = (
            f"Ship L{level}, the full network: every shallower level loses more than {tolerance:.2f} IoU "
            f"(best {best['iou']:.3f} at L{int(best['level'])}), so pruning would cost accuracy."
        )
    else:
        reason = (
            f"Ship L{level}: its IoU {pick['iou']:.3f} is within {tolerance:.2f} of the best "
            f"({best['iou']:.3f} at L{int(best['level'])}), and it runs "
            f"{full['ms_per_image'] / pick['ms_per_image']:.1f}× faster than L{int(full['level'])} "
            f"({pick['ms_per_image']:.2f} ms vs {full['ms_per_image']:.2f} ms per image) "
            f"with {pick['params'] / full['params']:.0%} of its parameters."
        )
    return PruneAdvice(level, reason)
