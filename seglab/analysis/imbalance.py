"""The imbalance view: test IoU against the foreground share, per loss, over seeds.

Pure pandas, no Streamlit: the Results page, ``report --json`` and the README's verdict script
(``benchmarks/imbalance_verdict.py``) share it.

A study that varies the foreground share (``dataset_params.fg_fraction``, see
`seglab.settings.study`) is one comparison per share (`seglab.analysis.compare`): a model is never
ranked against one trained on other data. This module lays those comparisons side by side instead:

* a **cell** is one (foreground share, model) pair over its seeds (each seed may draw its own
  data); its score is the mean test IoU with a 95 % t-interval of that mean
  (mean ± t₀.₉₇₅,ₙ₋₁ · s / √n over the n seeds: where the mean would fall again for new seeds
  and data draws, if the seed-to-seed spread is roughly normal);
* scores at the usual threshold (foreground when p ≥ 0.5, ``test_iou``) and at the threshold
  chosen on validation (``test_iou_at_val_threshold``, `seglab.metrics.threshold`);
* **collapsed** runs (`seglab.analysis.collapse.is_collapsed`, the one rule) are counted per
  cell; they stay in the mean, because collapsing is what that loss did on that seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from seglab.analysis.collapse import COLLAPSE_IOU, is_collapsed
from seglab.analysis.compare import mean_std, number_or_none, t_quantile_975

SHARE_PARAM = "fg_fraction"
#: the two ways of scoring a binary model on test: threshold name → metric column
AT_THRESHOLD: dict[str, str] = {"0.5": "test_iou", "validation": "test_iou_at_val_threshold"}
THRESHOLD_TITLES: dict[str, str] = {
    "0.5": "at p ≥ 0.5",
    "validation": "at the threshold chosen on validation",
}
INTERVAL_NOTE = (
    "line: mean over seeds; band: 95 % t-interval of that mean (mean ± t·s/√n, n seeds, each "
    "seed with its own draw of the data when the study says so)"
)
CELL_COLUMNS = ["fg_share", "model", "arch", "loss", "loss_label", "n", "mean", "std", "low", "high"]


def foreground_share(dataset: Any, dataset_params: Any) -> float | None:
    """The mean foreground share a run's data was drawn with: its ``fg_fraction``, else the
    dataset's default for that parameter; None for datasets without one."""
    params = dataset_params if isinstance(dataset_params, Mapping) else {}
    if SHARE_PARAM in params:
        return float(params[SHARE_PARAM])
    from seglab.data.registry import DATASETS, dataset_info

    if isinstance(dataset, str) and dataset in DATASETS:
        for spec in dataset_info(dataset).params:
            if spec.name == SHARE_PARAM:
                return float(spec.default)
    return None


def imbalance_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The finished runs of ``runs`` (a `results_table.runs_frame`) that have a foreground share,
    with columns ``fg_share``, ``collapsed`` (`is_collapsed` on the validation IoU) and ``model``
    (the loss label; prefixed with the architecture when several are present)."""
    if runs.empty or "status" not in runs:
        return runs.iloc[0:0].assign(fg_share=[], collapsed=[])
    done = runs[runs["status"] == "done"].copy()
    params = (
        done["dataset_params"]
        if "dataset_params" in done
        else pd.Series([None] * len(done), index=done.index)
    )
    done["fg_share"] = [foreground_share(d, p) for d, p in zip(done["dataset"], params, strict=True)]
    done = done[done["fg_share"].notna()]
    done["collapsed"] = [is_collapsed(number_or_none(v)) for v in done.get("val_iou", pd.Series(dtype=float))]
    several_archs = done["arch"].nunique() > 1 if len(done) else False
    done["model"] = [
        f"{a} + {label}" if several_archs else str(label)
        for a, label in zip(done["arch"], done["loss_label"], strict=True)
    ]
    return done


def has_imbalance_axis(runs: pd.DataFrame) -> bool:
    """True when the finished runs span two or more foreground shares."""
    return imbalance_runs(runs)["fg_share"].nunique() >= 2


def imbalance_cells(runs: pd.DataFrame, metric: str = "test_iou") -> pd.DataFrame:
    """One row per (foreground share, model): ``n`` seeds with a score, ``mean``, sample ``std``,
    the 95 % t-interval ``low``/``high`` of the mean (None with one seed), ``n_runs``, and
    ``n_collapsed`` (runs `is_collapsed` calls collapsed). Sorted by share, then model order."""
    data = imbalance_runs(runs)
    rows = []
    for (share, model), group in data.groupby(["fg_share", "model"], sort=False):
        values = [v for v in (number_or_none(x) for x in group.get(metric, [])) if v is not None]
        mean, std = mean_std(values)
        low = high = None
        if mean is not None and std is not None:
            half = t_quantile_975(len(values) - 1) * std / math.sqrt(len(values))
            low, high = mean - half, mean + half
        first = group.iloc[0]
        rows.append(
            {
                "fg_share": float(share),
                "model": model,
                "arch": first["arch"],
                "loss": first["loss"],
                "loss_label": first["loss_label"],
                "n": len(values),
                "mean": mean,
                "std": std,
                "low": low,
                "high": high,
                "n_runs": len(group),
                "n_collapsed": int(group["collapsed"].sum()),
            }
        )
    frame = pd.DataFrame(rows, columns=[*CELL_COLUMNS, "n_runs", "n_collapsed"])
    return frame.sort_values(["fg_share", "model"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def collapse_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Share × model → 'k of n' collapsed runs (rows: shares, rarest last)."""
    cells = imbalance_cells(runs)
    if cells.empty:
        return pd.DataFrame()
    cells["text"] = [f"{k} of {n}" for k, n in zip(cells["n_collapsed"], cells["n_runs"], strict=True)]
    table = cells.pivot(index="fg_share", columns="model", values="text")
    table = table.sort_index(ascending=False)
    table.index = [share_text(s) for s in table.index]
    table.index.name = "foreground share"
    return table


def share_text(share: float) -> str:
    """0.02 → '2 %', 0.005 → '0.5 %'."""
    return f"{float(share) * 100:g} %"


def imbalance_json(runs: pd.DataFrame) -> dict[str, Any] | None:
    """``report --json``'s imbalance block: per (share, model) cell the test IoU at p ≥ 0.5 and at
    the validation threshold (mean, std, 95 % interval, n) and the collapse count; None when the
    runs span fewer than two foreground shares."""
    if not has_imbalance_axis(runs):
        return None
    at = {name: imbalance_cells(runs, metric) for name, metric in AT_THRESHOLD.items()}
    cells = []
    for row_half, row_val in zip(
        at["0.5"].to_dict("records"), at["validation"].to_dict("records"), strict=True
    ):
        cells.append(
            {
                "fg_fraction": row_half["fg_share"],
                "arch": row_half["arch"],
                "loss": row_half["loss"],
                "loss_label": row_half["loss_label"],
                "n_runs": row_half["n_runs"],
                "n_collapsed": row_half["n_collapsed"],
                "test_iou_at_0_5": _stats(row_half),
                "test_iou_at_val_threshold": _stats(row_val),
            }
        )
    return {
        "axis": f"dataset_params.{SHARE_PARAM}",
        "collapse_rule": f"validation IoU < {COLLAPSE_IOU:g} (seglab.analysis.collapse)",
        "interval": "95 % t-interval of the mean over seeds",
        "cells": cells,
    }


def _stats(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: number_or_none(row[k]) for k in ("mean", "std", "low", "high")} | {"n": int(row["n"])}
