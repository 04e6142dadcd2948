"""'Predict, then reveal': which loss wins when only 2 % of the pixels are foreground?

Students first commit to a guess among the five losses of the imbalance study (BCE, class-weighted
BCE, focal α = 0.5, focal α = auto γ = 2, Dice), then see what the shipped study
(``assets/imbalance_study.zip``, `seglab.store.reference.IMBALANCE_ZIP`) measured at that share. The
winner is the loss with the best mean *validation* IoU (as everywhere in SegLab); its test IoU, the
test IoU at the threshold each run chose on validation, and the collapsed runs (`is_collapsed`) are
shown beside it. Everything is read from the zip's run summaries: nothing is trained here.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from seglab.analysis.collapse import is_collapsed
from seglab.store.reference import IMBALANCE_ZIP, reference_available, reference_summaries

LESSON_SHARE = 0.02
#: the choices, in the order of the study (name → what it is, in plain words)
CHOICES: dict[str, str] = {
    "bce": "plain BCE",
    "bce_weighted": "BCE with a class weight (α = auto, no focusing)",
    "focal_focus": "focal loss, focusing only (α = 0.5, γ = 2)",
    "focal": "focal loss, both (α = auto, γ = 2)",
    "dice": "Dice loss",
}


def study_at_share(
    share: float = LESSON_SHARE, path: str | os.PathLike[str] | None = None
) -> pd.DataFrame | None:
    """Per loss at foreground ``share``: ``loss, what, runs, val_iou, test_iou, test_iou_at_threshold,
    collapsed`` (means over the finished runs; collapsed = how many runs `is_collapsed`), best mean
    validation IoU first. None when the study (``path``, default the shipped zip) is not
    installed or holds no run at that share."""
    path = IMBALANCE_ZIP if path is None else path
    if not reference_available(path):
        return None
    rows: dict[str, list[dict[str, Any]]] = {}
    for summary in reference_summaries(path):
        config = summary.get("config") or {}
        params = config.get("dataset_params") or {}
        if summary.get("status") != "done" or not _close(params.get("fg_fraction"), share):
            continue
        rows.setdefault(str(config.get("loss")), []).append(summary.get("metrics") or {})
    if not rows:
        return None
    table = []
    for loss, metrics in rows.items():
        table.append(
            {
                "loss": loss,
                "what": CHOICES.get(loss, loss),
                "runs": len(metrics),
                "val_iou": _mean(m.get("val_iou") for m in metrics),
                "test_iou": _mean(m.get("test_iou") for m in metrics),
                "test_iou_at_threshold": _mean(m.get("test_iou_at_val_threshold") for m in metrics),
                "collapsed": sum(is_collapsed(m.get("val_iou")) for m in metrics),
            }
        )
    frame = pd.DataFrame(table).sort_values("val_iou", ascending=False, kind="stable")
    return frame.reset_index(drop=True)


def reveal_sentence(guess: str, table: pd.DataFrame) -> str:
    """Plain words: was the guess the winner, and where did it land?"""
    winner = table.iloc[0]
    ranks = {loss: i + 1 for i, loss in enumerate(table["loss"])}
    name = CHOICES.get(guess, guess)
    if guess == winner["loss"]:
        return f"Right: {name} has the best mean validation IoU ({winner['val_iou']:.3f}) at 2 % foreground."
    if guess not in ranks:
        return f"The study has no runs of {name} at this share; the winner is {winner['what']}."
    row = table.iloc[ranks[guess] - 1]
    return (
        f"Not this time: {name} comes {_ordinal(ranks[guess])} of {len(table)} (mean validation IoU "
        f"{row['val_iou']:.3f}, {row['collapsed']} of {row['runs']} runs collapsed); the winner is "
        f"{winner['what']} ({winner['val_iou']:.3f})."
    )


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _close(value: Any, share: float) -> bool:
    try:
        return math.isclose(float(value), share, rel_tol=1e-6)
    except (TypeError, ValueError):
        return False


def _mean(values: Any) -> float:
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(xs) / len(xs) if xs else math.nan
