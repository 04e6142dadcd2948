"""Saved runs as pandas tables: one row per run, long per-epoch histories, seed summaries.

Pure pandas, no Streamlit: the Results page and the tests call the same functions.

Vocabulary used throughout:

* a *run* is one trained model (one row of :func:`runs_frame`);
* a *model* is every setting except the seed and the speed-only ones, plus the data's content
  (one definition: `seglab.analysis.compare.model_key`); its label names the architecture, the
  loss and every other setting that differs inside the selection;
* *seeds* are repeated runs of one model; `seglab.analysis.compare` turns them into cells with
  mean ± standard deviation, counts and intervals, and chooses the best.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from seglab.settings.config import TrainConfig, dataset_display_name

CONFIG_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrainConfig))
#: settings that change how fast a run trains, not what it learns: never part of a model's identity
RUNTIME_FIELDS: frozenset[str] = frozenset({"device", "precision", "num_threads"})
#: run columns (not config fields) that identify a model too: the data by content
#: (`seglab.data.fingerprint`) and the checkpoint its scores come from ("best" / "last")
DATA_KEY = "data_fingerprint"
CHECKPOINT_KEY = "checkpoint"

# Human names for metrics found in run summaries and histories.
METRIC_TITLES: dict[str, str] = {
    "val_iou": "Validation IoU",
    "val_dice": "Validation Dice",
    "val_loss": "Validation loss",
    "train_loss": "Training loss",
    "test_iou": "Test IoU",
    "test_dice": "Test Dice",
    "val_precision": "Validation precision",
    "val_recall": "Validation recall",
    "val_accuracy": "Validation pixel accuracy",
    # issue 26: the probability threshold chosen on validation (seglab.metrics.threshold)
    "val_best_threshold": "Threshold chosen on validation",
    "val_iou_at_best_threshold": "Validation IoU at its chosen threshold",
    "test_iou_at_val_threshold": "Test IoU at the validation threshold",
}
# Per-image test IoU lists kept in the runs table (for `seglab.analysis.stats`).
PER_IMAGE_METRICS = frozenset({"test_iou_per_image", "last_test_iou_per_image"})
# Metrics where lower is better; everything else is "higher is better".
LOWER_IS_BETTER = frozenset({"val_loss", "train_loss", "test_loss", "loss"})

GREEK = {"alpha": "α", "gamma": "γ", "beta": "β", "weight": "w", "aux_weight": "aux"}

TABLE_COLUMNS: tuple[str, ...] = (
    "model",
    "status",
    "seed",
    "val_iou",
    "test_iou",
    "test_dice",
    "epochs_done",
    "epochs",
    "dataset",
    "arch",
    "loss",
    "width",
    "depth",
    "size",
    "batch_size",
    "lr",
    "group",
    "owner",
    "created",
    "message",
    "run_id",
)


def metric_title(metric: str) -> str:
    """'val_iou' → 'Validation IoU'; unknown names get a readable fallback."""
    if metric in METRIC_TITLES:
        return METRIC_TITLES[metric]
    words = metric.replace("_", " ").split()
    special = {"iou": "IoU", "bce": "BCE", "ce": "CE", "miou": "mIoU"}
    text = " ".join(special.get(w, w) for w in words)
    return text[:1].upper() + text[1:]


def format_params(params: Mapping[str, Any] | None) -> str:
    """Loss parameters in a compact form: {'alpha': 0.25, 'gamma': 2} → 'α=0.25, γ=2'."""
    if not params:
        return ""
    parts = []
    for key in sorted(params):
        value = params[key]
        if isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{GREEK.get(key, key)}={value}")
    return ", ".join(parts)


def loss_label(loss: str, params: Mapping[str, Any] | None) -> str:
    """'focal' with {'alpha': 'auto', 'gamma': 2} → 'focal (α=auto, γ=2)'; no params → 'focal'."""
    text = format_params(params)
    return f"{loss} ({text})" if text else loss


def _config_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    if hasattr(config, "to_dict"):
        return config.to_dict()
    return dict(vars(config))


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _created(record: Any) -> datetime | None:
    stamps = getattr(record, "timestamps", None)
    if isinstance(stamps, Mapping):
        for key in ("created", "created_at", "started", "started_at", "finished", "finished_at"):
            if stamps.get(key) is not None:
                return _as_datetime(stamps[key])
    for key in ("created", "created_at", "started_at"):
        if getattr(record, key, None) is not None:
            return _as_datetime(getattr(record, key))
    return None


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def runs_frame(records: Iterable[Any]) -> pd.DataFrame:
    """One row per saved run.

    ``records`` are objects with ``id``, ``status``, ``config`` (a TrainConfig or a dict),
    ``metrics`` (dict), and optionally ``epochs_done``, ``message``, ``group``, ``owner``,
    ``timestamps``. Config fields become columns, so do the numeric metrics (``val_iou``,
    ``test_iou``, ...) and the per-image test IoU lists (`PER_IMAGE_METRICS`). Extra columns:
    ``loss_label`` (loss with its parameters), ``model`` (see
    `seglab.analysis.compare.label_models`), ``data_fingerprint``, ``checkpoint`` and
    ``created``. Rows keep the order given.
    """
    rows = []
    for record in records:
        config = _config_dict(getattr(record, "config", None))
        metrics = dict(getattr(record, "metrics", None) or {})
        row: dict[str, Any] = {
            "run_id": str(record.id),
            "status": getattr(record, "status", "unknown"),
            "epochs_done": getattr(record, "epochs_done", None),
            "message": getattr(record, "message", "") or "",
            "group": getattr(record, "group", None) or "",
            "owner": getattr(record, "owner", None) or "",
            "created": _created(record),
            "data_fingerprint": getattr(record, "data_fingerprint", None),
            "checkpoint": getattr(record, "checkpoint", None) or "best",
        }
        row.update(config)
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[key] = float(value)
            elif value is None:
                row[key] = math.nan
            elif key in PER_IMAGE_METRICS and isinstance(value, list):
                row[key] = value
        row["loss_label"] = loss_label(config.get("loss", "?"), config.get("loss_params"))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[*TABLE_COLUMNS, "loss_label", "data_fingerprint", "checkpoint"])
    for column in ("val_iou", "test_iou", "test_dice"):
        if column not in frame:
            frame[column] = math.nan
    return label_models(frame)


def _clean(value: Any) -> Any:
    """NaN (a column missing for some runs) and None mean the same thing: not set."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def model_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The one definition of "one model": every setting except the seed and the speed-only
    settings, plus the data's content fingerprint and the checkpoint rule. Runs with equal
    keys are seeds of one model (`seglab.analysis.compare` builds its cells inside this)."""
    fixed = tuple(
        (f, _hashable(_clean(row.get(f)))) for f in CONFIG_FIELDS if f != "seed" and f not in RUNTIME_FIELDS
    )
    return fixed + (
        (DATA_KEY, _clean(row.get(DATA_KEY))),
        (CHECKPOINT_KEY, row.get(CHECKPOINT_KEY) or "best"),
    )


def arch_label(row: Mapping[str, Any]) -> str:
    """'fpn (merge=concat)': the architecture with its options, when it has any."""
    params = _clean(row.get("model_params"))
    text = format_params(params) if isinstance(params, Mapping) else ""
    return f"{row.get('arch')} ({text})" if text else str(row.get("arch"))


def label_models(frame: pd.DataFrame) -> pd.DataFrame:
    """Set ``model`` = 'arch (options) + loss (parameters)', plus '· field=value' for every
    other setting that differs among the rows (the data's fingerprint and the checkpoint rule
    included), so two runs share a label exactly when they share a `model_key`."""
    frame = frame.copy()
    if frame.empty:
        frame["model"] = pd.Series(dtype=str)
        return frame
    shown_elsewhere = {"arch", "model_params", "loss", "loss_params", "seed"}
    fields = [
        f
        for f in (*CONFIG_FIELDS, DATA_KEY, CHECKPOINT_KEY)
        if f in frame
        and f not in shown_elsewhere
        and f not in RUNTIME_FIELDS
        and frame[f].map(lambda v: _hashable(_clean(v))).nunique(dropna=False) > 1
    ]
    labels = []
    for r in frame.to_dict("records"):
        text = f"{arch_label(r)} + {r.get('loss_label') or loss_label(r.get('loss'), r.get('loss_params'))}"
        extras = [f"{'data' if f == DATA_KEY else f}={_short(_clean(r.get(f)))}" for f in fields]
        labels.append(text + (" · " + ", ".join(extras) if extras else ""))
    frame["model"] = labels
    return frame


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def run_label(row: Mapping[str, Any]) -> str:
    """A run's name in pickers and legends: 'unet + dice · seed 1 · a1b2c3'."""
    seed = row.get("seed")
    seed_text = f" · seed {seed}" if seed is not None and not _isnan(seed) else ""
    return f"{row.get('model', '?')}{seed_text} · {str(row.get('run_id', ''))[:8]}"


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def filter_runs(
    frame: pd.DataFrame,
    *,
    datasets: Sequence[str] | None = None,
    archs: Sequence[str] | None = None,
    losses: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Keep rows whose column value is among the chosen ones; ``None`` or empty = no filter.

    ``losses`` matches either the plain loss name or the loss label with parameters.
    """
    mask = pd.Series(True, index=frame.index)
    for column, chosen in (
        ("dataset", datasets),
        ("arch", archs),
        ("status", statuses),
        ("group", groups),
    ):
        if chosen:
            mask &= frame[column].isin(list(chosen))
    if losses:
        chosen = list(losses)
        mask &= frame["loss"].isin(chosen) | frame["loss_label"].isin(chosen)
    return frame[mask]


def sort_runs(frame: pd.DataFrame, by: str, ascending: bool = False) -> pd.DataFrame:
    """Sort by one column, missing values last, ties kept in their original order."""
    if by not in frame:
        return frame
    return frame.sort_values(by, ascending=ascending, na_position="last", kind="stable")


def finished(frame: pd.DataFrame, metric: str = "test_iou") -> pd.DataFrame:
    """Runs that completed and have a value for ``metric``."""
    if frame.empty or metric not in frame:
        return frame.iloc[0:0]
    return frame[(frame["status"] == "done") & frame[metric].notna()]


def histories_frame(histories: Mapping[str, Sequence[Mapping[str, Any]]], runs: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch records of several runs → long table for charts.

    ``histories`` maps run id → list of per-epoch dicts (each with ``epoch`` and metric
    values). Returns columns ``run_id, epoch, metric, value`` plus the run's ``model``,
    ``arch``, ``loss_label``, ``seed``, ``status``, ``dataset`` and ``run`` (its label).
    Non-numeric entries are dropped; epochs are counted from 1 if missing.
    """
    info = runs.set_index("run_id") if not runs.empty else runs
    rows = []
    for run_id, records in histories.items():
        if run_id not in info.index:
            continue
        meta = info.loc[run_id]
        run = run_label({**meta.to_dict(), "run_id": run_id})
        for position, record in enumerate(records, start=1):
            epoch = record.get("epoch", position)
            for key, value in record.items():
                if key == "epoch" or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                rows.append(
                    {
                        "run_id": run_id,
                        "run": run,
                        "epoch": int(epoch),
                        "metric": key,
                        "value": float(value),
                        "model": meta.get("model"),
                        "arch": meta.get("arch"),
                        "loss_label": meta.get("loss_label"),
                        "seed": meta.get("seed"),
                        "status": meta.get("status"),
                        "dataset": meta.get("dataset"),
                    }
                )
    columns = ["run_id", "run", "epoch", "metric", "value", "model", "arch", "loss_label", "seed"]
    return pd.DataFrame(rows, columns=[*columns, "status", "dataset"])


def history_metrics(long: pd.DataFrame) -> list[str]:
    """Metrics present in a long history table, the usual ones first."""
    present = list(dict.fromkeys(long["metric"])) if not long.empty else []
    preferred = [m for m in ("val_iou", "val_dice", "val_loss", "train_loss") if m in present]
    return preferred + sorted(m for m in present if m not in preferred)


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns worth showing in the runs table, in a readable order."""
    columns = [c for c in TABLE_COLUMNS if c in frame]
    if "owner" in columns and not frame["owner"].fillna("").astype(bool).any():
        columns.remove("owner")  # no run has an owner (outside classroom mode): no empty column
    shown = frame[columns].copy()
    if "loss_label" in frame:
        shown["loss"] = frame["loss_label"]
    if "dataset" in shown:  # a saved upload by the name it was saved under, not its path
        shown["dataset"] = shown["dataset"].map(
            lambda d: dataset_display_name(d) if isinstance(d, str) else d
        )
    return shown.reset_index(drop=True)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV export of a table (UTF-8, no index)."""
    return display_table(frame).to_csv(index=False).encode("utf-8")
