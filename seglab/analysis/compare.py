"""Honest comparisons: like with like, the winner chosen on validation, seeds with spread.

Pure pandas, no Streamlit: the Results page, ``python -m seglab report`` and the tests share it.

* A **comparison** holds only runs whose settings agree except the *compared axes*: the
  architecture (and its options), the loss (and its parameters), the seed, and any config
  field the run's study varied. Two runs are comparable when their **signature** — the config
  minus those axes and minus settings that change speed only (device, precision, threads) —
  is the same. :func:`build_comparisons` splits a set of runs into comparisons; when it finds
  more than one, :func:`mixing_warning` says which settings differ.
* A **cell** is one point of the comparison (say U-Net + focal) repeated over seeds. Cells show
  mean ± sample standard deviation and n; with one seed there is no spread to show.
* The **best** cell is the one with the highest mean *validation* IoU (each run's validation
  IoU is that of the checkpoint kept by validation, which is also the checkpoint tested). Its
  test IoU is reported beside it and never used to choose: picking the winner by test score
  makes that score optimistic, because the test set then helped choose the model.
* :func:`paired_comparison` compares the best cell with the runner-up seed by seed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from seglab.analysis.results_table import _hashable, loss_label
from seglab.settings.config import TrainConfig, dataset_display_name

CONFIG_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrainConfig))
#: settings that change how fast a run trains, not what it learns; never split a comparison
RUNTIME_FIELDS: frozenset[str] = frozenset({"device", "precision", "num_threads"})
#: axes every comparison may vary: the model (with its options), the loss (with its
#: parameters) and the seed
ALWAYS_COMPARED: tuple[str, ...] = ("arch", "model_params", "loss", "loss_params", "seed")
#: the data a study's runs learn from: a study that varies it (say the foreground share) gives
#: one comparison per value, never a ranking across them (a harder task is not a worse model)
DATA_FIELDS: frozenset[str] = frozenset({"dataset", "dataset_params"})
#: the metric that chooses the best cell, and the one reported beside it
SELECT_METRIC = "val_iou"
REPORT_METRIC = "test_iou"

TEST_SELECTION_SENTENCE = (
    "The best model is chosen by validation IoU and only then scored on the test set: choosing "
    "it by test IoU would make its test score optimistic, because the test images would have "
    "helped pick the winner."
)
PAIRED_RULE = (
    "For each seed both models share, take the difference of their scores; the gap counts as "
    "real only when the 95 % t-interval of those per-seed differences lies entirely on one side "
    "of zero, i.e. the mean difference is larger than t × its standard error. With fewer than "
    "two shared seeds nothing can be resolved."
)
BAND_NOTE = "lines: mean over seeds; band: lowest to highest seed (min–max)"

# Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom.
_T975: tuple[float, ...] = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    """Two-sided 95 % critical value of Student's t with ``df`` degrees of freedom (df ≥ 1).

    Exact table values up to 30; beyond that the normal value plus the usual 1/df correction
    (within 0.003 of the true quantile).
    """
    if df < 1:
        raise ValueError("t needs at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    return 1.960 + 2.4 / df


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean, sample standard deviation with ddof=1); std is None for fewer than two values."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return None, None
    mean = sum(vals) / len(vals)
    if len(vals) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)
    return mean, math.sqrt(var)


def format_mean_std(mean: float | None, std: float | None, n: int, digits: int = 3) -> str:
    """'0.812 ± 0.014 (n=3)'; one seed → '0.812 (1 seed)' (never a spread of 0); none → '–'."""
    if mean is None or n == 0:
        return "–"
    if n == 1 or std is None:
        return f"{mean:.{digits}f} (1 seed)"
    return f"{mean:.{digits}f} ± {std:.{digits}f} (n={n})"


# ---- signatures ------------------------------------------------------------------------------
def _config_of(row: Mapping[str, Any]) -> dict[str, Any]:
    config = {f: row.get(f) for f in CONFIG_FIELDS if f in row}
    if "dataset_params" in config:
        config["dataset_params"] = without_tied_data_seed(config["dataset_params"], row.get("seed"))
    return config


def without_tied_data_seed(dataset_params: Any, seed: Any) -> Any:
    """``dataset_params`` minus a data seed equal to the run seed (a study whose seeds each draw
    their own data): that draw is part of the seed's repetition, not a setting to compare."""
    if (
        isinstance(dataset_params, Mapping)
        and "seed" in dataset_params
        and key_of(dataset_params["seed"]) == key_of(seed)
    ):
        return {k: v for k, v in dataset_params.items() if k != "seed"}
    return dataset_params


def _clean(value: Any) -> Any:
    """NaN (a column missing for some runs) and None mean the same thing: not set."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def study_axes(runs: pd.DataFrame, studies: Mapping[str, Any] | None = None) -> dict[str, tuple[str, ...]]:
    """Group id → the config fields its study varied (besides arch, loss and seed).

    Taken from the stored `seglab.settings.study.Study` when the queue knows it; for a group the queue
    does not know (an imported study), the fields that differ between the group's runs.
    """
    studies = studies or {}
    axes: dict[str, tuple[str, ...]] = {}
    if runs.empty or "group" not in runs:
        return axes
    for group, rows in runs.groupby("group", sort=False):
        if not group:
            continue
        study = studies.get(str(group))
        if study is not None:
            fields = [f for f in study.varied_fields() if f in CONFIG_FIELDS]
        else:
            fields = [
                f
                for f in CONFIG_FIELDS
                if f in rows and rows[f].map(lambda v: _hashable(_clean(v))).nunique(dropna=False) > 1
            ]
        axes[str(group)] = tuple(
            f for f in fields if f not in ALWAYS_COMPARED and f not in RUNTIME_FIELDS and f not in DATA_FIELDS
        )
    return axes


def compared_fields(extra_axes: Iterable[str] = ()) -> frozenset[str]:
    """The fields a comparison may vary: arch, loss, seed (with their parameters) + ``extra_axes``."""
    return frozenset(ALWAYS_COMPARED) | frozenset(extra_axes)


def signature(config: Mapping[str, Any], extra_axes: Iterable[str] = ()) -> tuple[Any, ...]:
    """What must agree for two runs to be compared: the config minus the compared axes and
    the speed-only settings, plus the set of extra axes itself (hashable)."""
    skip = compared_fields(extra_axes) | RUNTIME_FIELDS
    fixed = tuple((f, _hashable(_clean(config.get(f)))) for f in CONFIG_FIELDS if f not in skip)
    return (tuple(sorted(set(extra_axes))), fixed)


# ---- cells and comparisons ---------------------------------------------------------------------
@dataclass
class Cell:
    """One point of a comparison (e.g. unet + focal) over its seeds."""

    values: dict[str, Any]  # varied field → value (arch / loss shown with their parameters)
    label: str  # named by the varied axes only
    arch: str
    loss: str
    loss_label: str
    run_ids: list[str]
    val: dict[int, float]  # seed → val IoU of its finished run (the checkpoint chosen on val)
    test: dict[int, float]  # seed → test IoU of that checkpoint
    n_unfinished: int = 0

    @property
    def n_seeds(self) -> int:
        return len(self.val)

    @property
    def full_label(self) -> str:
        """'unet + focal (γ=2)' (plus other varied axes) even when arch or loss is shared."""
        others = [f"{k}={_short(v)}" for k, v in self.values.items() if k not in ("arch", "loss")]
        arch = str(self.values.get("arch", self.arch))
        return f"{arch} + {self.loss_label}" + (" · " + ", ".join(others) if others else "")

    @property
    def val_mean(self) -> float | None:
        return mean_std(list(self.val.values()))[0]

    @property
    def val_std(self) -> float | None:
        return mean_std(list(self.val.values()))[1]

    @property
    def test_mean(self) -> float | None:
        return mean_std(list(self.test.values()))[0]

    @property
    def test_std(self) -> float | None:
        return mean_std(list(self.test.values()))[1]

    def to_json(self) -> dict[str, Any]:
        extra = {k: _jsonable(v) for k, v in self.values.items() if k not in ("arch", "loss")}
        return {
            "arch": self.arch,
            "loss": self.loss,
            **extra,
            "n_seeds": self.n_seeds,
            "val_iou_mean": self.val_mean,
            "val_iou_std": self.val_std,
            "test_iou_mean": self.test_mean,
            "test_iou_std": self.test_std,
        }


@dataclass
class PairedComparison:
    """Best vs runner-up, seed by seed (see `PAIRED_RULE`)."""

    metric: str
    first: str
    second: str
    seeds: list[int]
    diffs: list[float]  # first − second, per shared seed
    mean: float | None
    std: float | None
    low: float | None  # 95 % paired t-interval of the mean difference
    high: float | None
    wins: int  # seeds where first scored higher

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def resolved(self) -> bool:
        """True when the interval excludes zero (the gap exceeds the seed-to-seed spread)."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def sentence(self) -> str:
        from seglab.analysis.results_table import metric_title

        what = metric_title(self.metric)
        if self.n == 0:
            return f"{self.first} and {self.second} share no seed, so their {what} cannot be paired."
        if self.n == 1 or self.low is None:
            return (
                f"{what}: {self.first} − {self.second} = {self.mean:+.3f} on the one shared seed; "
                "one seed cannot tell a real gap from noise (not resolved)."
            )
        verdict = (
            "the gap exceeds the seed spread (resolved)"
            if self.resolved
            else "the gap is within the seed spread (not resolved)"
        )
        return (
            f"{what}: {self.first} − {self.second} = {self.mean:+.3f} ± {self.std:.3f} (std of the "
            f"per-seed differences, n={self.n}), 95 % interval [{self.low:+.3f}, {self.high:+.3f}], "
            f"{self.first} higher on {self.wins} of {self.n} seeds: {verdict}."
        )


def paired_comparison(first: Cell, second: Cell, metric: str = SELECT_METRIC) -> PairedComparison:
    """Per-seed differences ``first − second`` of ``metric`` over the seeds both cells have,
    their mean, sample std, a 95 % paired t-interval (n ≥ 2) and a win count."""
    a = first.val if metric == SELECT_METRIC else first.test
    b = second.val if metric == SELECT_METRIC else second.test
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    mean, std = mean_std(diffs)
    low = high = None
    if mean is not None and std is not None:
        half = t_quantile_975(len(diffs) - 1) * std / math.sqrt(len(diffs))
        low, high = mean - half, mean + half
    return PairedComparison(
        metric=metric,
        first=first.label,
        second=second.label,
        seeds=seeds,
        diffs=diffs,
        mean=mean,
        std=std,
        low=low,
        high=high,
        wins=sum(d > 0 for d in diffs),
    )


@dataclass
class Comparison:
    """Runs that share every setting except the varied axes."""

    settings: dict[str, Any]  # the shared config, named once
    varied: list[str]  # fields that take more than one value among the cells
    cells: list[Cell]
    runs: pd.DataFrame = field(repr=False)
    groups: list[str] = field(default_factory=list)
    name: str = ""
    latest: float = 0.0  # newest run's creation time (for "latest first")

    @property
    def run_ids(self) -> list[str]:
        return list(self.runs["run_id"])

    def labelled_runs(self) -> pd.DataFrame:
        """The runs with ``model`` set to their cell's label (named by the varied axes only)."""
        label_of = {run_id: cell.label for cell in self.cells for run_id in cell.run_ids}
        runs = self.runs.copy()
        runs["model"] = runs["run_id"].map(label_of)
        return runs

    @property
    def ranked(self) -> list[Cell]:
        """Cells with at least one finished seed, highest mean validation IoU first."""
        done = [c for c in self.cells if c.val_mean is not None]
        return sorted(done, key=lambda c: -c.val_mean)  # stable: ties keep the cell order

    @property
    def best(self) -> Cell | None:
        ranked = self.ranked
        return ranked[0] if ranked else None

    @property
    def runner_up(self) -> Cell | None:
        ranked = self.ranked
        return ranked[1] if len(ranked) > 1 else None

    def paired(self, metric: str = SELECT_METRIC) -> PairedComparison | None:
        if self.best is None or self.runner_up is None:
            return None
        return paired_comparison(self.best, self.runner_up, metric)

    def best_sentence(self) -> str:
        best = self.best
        if best is None:
            return "No run of this comparison has finished yet, so there is no best model."
        val = format_mean_std(best.val_mean, best.val_std, best.n_seeds)
        test = format_mean_std(best.test_mean, best.test_std, best.n_seeds)
        return f"Best by validation IoU: {best.full_label} — validation IoU {val}; its test IoU {test}."

    def settings_text(self) -> str:
        """'dataset=shapes, size=64, n=384, …' — the shared settings, named once."""
        settings = dict(self.settings)
        if isinstance(settings.get("dataset"), str):  # a saved upload by its name, not its path
            settings["dataset"] = dataset_display_name(settings["dataset"])
        if _empty(settings.get("init_from")):  # transfer options mean nothing without a source run
            settings.pop("init_scope", None)
            if not settings.get("freeze_encoder_epochs") and _empty(settings.get("encoder_weights")):
                settings.pop("freeze_encoder_epochs", None)
        return ", ".join(f"{k}={_short(v)}" for k, v in settings.items() if not _empty(v))

    def title(self) -> str:
        return self.name or ("study " + ", ".join(self.groups) if self.groups else "runs outside a study")

    def cells_frame(self) -> pd.DataFrame:
        """One row per cell, ranked by mean validation IoU (unfinished cells last)."""
        ranked = self.ranked
        order = ranked + [c for c in self.cells if c not in ranked]
        rows = []
        for rank, cell in enumerate(order, start=1):
            rows.append(
                {
                    "rank": rank if cell in ranked else None,
                    "model": cell.label,
                    "arch": cell.arch,
                    "loss_label": cell.loss_label,
                    "n_seeds": cell.n_seeds,
                    "val_iou_mean": cell.val_mean,
                    "val_iou_std": cell.val_std,
                    "test_iou_mean": cell.test_mean,
                    "test_iou_std": cell.test_std,
                    "val_iou": format_mean_std(cell.val_mean, cell.val_std, cell.n_seeds),
                    "test_iou": format_mean_std(cell.test_mean, cell.test_std, cell.n_seeds),
                    "best": cell is self.best,
                    "run_ids": list(cell.run_ids),
                }
            )
        return pd.DataFrame(rows)

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "settings": {k: _jsonable(v) for k, v in self.settings.items()},
            "varied": list(self.varied),
            "cells": [c.to_json() for c in self.cells],
            "best": None
            if best is None
            else {
                "arch": best.arch,
                "loss": best.loss,
                **{k: _jsonable(v) for k, v in best.values.items() if k not in ("arch", "loss")},
                "selected_by": SELECT_METRIC,
                "val_iou_mean": best.val_mean,
                "test_iou_mean": best.test_mean,
            },
        }


def _empty(value: Any) -> bool:
    return value is None or value == {} or (isinstance(value, float) and math.isnan(value))


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def _jsonable(value: Any) -> Any:
    value = _clean(value)
    if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _created_ts(value: Any) -> float:
    if value is None:
        return 0.0
    if hasattr(value, "timestamp"):
        try:
            return float(value.timestamp())
        except (ValueError, OSError):
            return 0.0
    return _num(value) or 0.0


def _arch_label(row: Mapping[str, Any]) -> str:
    from seglab.analysis.results_table import format_params

    params = _clean(row.get("model_params"))
    text = format_params(params) if isinstance(params, Mapping) else ""
    return f"{row.get('arch')} ({text})" if text else str(row.get("arch"))


def build_comparisons(
    runs: pd.DataFrame,
    studies: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[Comparison]:
    """Split runs (a `seglab.analysis.results_table.runs_frame`) into like-with-like comparisons.

    ``studies`` maps group id → `seglab.settings.study.Study` (from ``JobQueue.group_study``) so a
    study's own axes (say width) may vary inside its comparison; ``names`` maps group id → a
    readable study name. Order: comparisons with two or more cells (studies) before lone
    models, newest first — so the first one is the latest study.
    """
    if runs.empty:
        return []
    axes_of = study_axes(runs, studies)
    buckets: dict[tuple[Any, ...], list[int]] = {}
    extra_of: dict[tuple[Any, ...], tuple[str, ...]] = {}
    for index, row in runs.iterrows():
        extra = axes_of.get(str(row.get("group") or ""), ())
        sig = signature(_config_of(row), extra)
        buckets.setdefault(sig, []).append(index)
        extra_of[sig] = extra
    comparisons = [_comparison(runs.loc[idx], extra_of[sig], names or {}) for sig, idx in buckets.items()]
    comparisons.sort(key=lambda c: (len(c.cells) < 2, -c.latest))
    _name_data_settings(comparisons)
    return comparisons


def _name_data_settings(comparisons: Sequence[Comparison]) -> None:
    """Comparisons of one study that differ in their data (one per foreground share) get the
    data setting in their name: 'imbalance study · fg_fraction=0.02'."""
    by_name: dict[str, list[Comparison]] = {}
    for c in comparisons:
        if c.name:
            by_name.setdefault(c.name, []).append(c)
    for same in by_name.values():
        if len(same) < 2:
            continue
        fields = [f for f in differing_settings(same) if f in DATA_FIELDS]
        for c in same:
            parts = []
            for f in fields:
                value = c.settings.get(f)
                if isinstance(value, Mapping):
                    others = [x.settings.get(f) for x in same]
                    keys = [
                        k
                        for k in value
                        if len({key_of(o.get(k) if isinstance(o, Mapping) else None) for o in others}) > 1
                    ]
                    parts += [f"{k}={_short(value[k])}" for k in keys]
                else:
                    parts.append(f"{f}={_short(value)}")
            if parts:
                c.name = f"{c.name} · {', '.join(parts)}"


def _comparison(rows: pd.DataFrame, extra: tuple[str, ...], names: Mapping[str, str]) -> Comparison:
    rows = rows.copy()
    rows["_arch_label"] = [_arch_label(r) for r in rows.to_dict("records")]
    if "loss_label" not in rows:
        rows["loss_label"] = [
            loss_label(r.get("loss"), r.get("loss_params")) for r in rows.to_dict("records")
        ]
    # the cell identity: architecture (with options), loss (with parameters), the study's axes
    identity = ["_arch_label", "loss_label", *extra]

    def key(value: Any) -> Any:
        return _hashable(_clean(value))

    varied_ids = [c for c in identity if c in rows and rows[c].map(key).nunique(dropna=False) > 1]
    name_of = {"_arch_label": "arch", "loss_label": "loss"}
    varied = [name_of.get(c, c) for c in varied_ids]
    skip = set(RUNTIME_FIELDS) | {"seed"} | set(varied)
    if "arch" in varied:
        skip.add("model_params")
    if "loss" in varied:
        skip.add("loss_params")
    first = rows.iloc[0]
    settings = {f: _clean(v) for f, v in _config_of(first).items() if f not in skip}

    cells: dict[tuple[Any, ...], Cell] = {}
    for r in rows.to_dict("records"):
        ckey = tuple(key(r.get(c)) for c in identity)
        cell = cells.get(ckey)
        if cell is None:
            values = {name_of.get(c, c): _clean(r.get(c)) for c in varied_ids}
            cell = cells[ckey] = Cell(
                values=values,
                label=_cell_label(values, r),
                arch=str(r.get("arch")),
                loss=str(r.get("loss")),
                loss_label=str(r.get("loss_label")),
                run_ids=[],
                val={},
                test={},
            )
        cell.run_ids.append(str(r["run_id"]))
        val, test = _num(r.get(SELECT_METRIC)), _num(r.get(REPORT_METRIC))
        seed = int(r.get("seed") or 0)
        if r.get("status") == "done" and val is not None:
            # a seed trained twice (the same study queued again) counts once: the newer run
            cell.val[seed] = val
            if test is not None:
                cell.test[seed] = test
        else:
            cell.n_unfinished += 1
    groups = [g for g in dict.fromkeys(rows["group"]) if g] if "group" in rows else []
    name = " + ".join(names.get(g, g) for g in groups)
    latest = max((_created_ts(v) for v in rows.get("created", [])), default=0.0)
    return Comparison(
        settings=settings,
        varied=varied,
        cells=list(cells.values()),
        runs=rows.drop(columns=["_arch_label"]),
        groups=groups,
        name=name,
        latest=latest,
    )


def _cell_label(values: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """'unet + focal (γ=2)' when arch and loss vary; only the varied axes otherwise."""
    parts = [str(values[k]) for k in ("arch", "loss") if k in values]
    text = " + ".join(parts)
    others = [f"{k}={_short(v)}" for k, v in values.items() if k not in ("arch", "loss")]
    if others:
        text = (text + " · " if text else "") + ", ".join(others)
    return text or f"{row.get('arch')} + {row.get('loss_label')}"


def differing_settings(comparisons: Sequence[Comparison]) -> list[str]:
    """Shared-setting fields whose values differ between comparisons (what splits them).

    Only shared settings count: a field one comparison varies (arch, loss, a study's axis) is
    what it compares, not a difference of settings.
    """
    fields = []
    for f in CONFIG_FIELDS:
        if f in ALWAYS_COMPARED or f in RUNTIME_FIELDS:
            continue
        values = [c.settings[f] for c in comparisons if f in c.settings]
        if len({key_of(v) for v in values}) > 1:
            fields.append(f)
    return fields


def mixing_warning(comparisons: Sequence[Comparison]) -> str | None:
    """Plain words when a selection holds runs trained with different settings, naming the
    fields that differ (e.g. 'epochs: 10 / 30'); None when everything shown is one comparison."""
    if len(comparisons) < 2:
        return None
    detail = []
    for f in differing_settings(comparisons):
        values = [c.settings[f] for c in comparisons if f in c.settings]
        if f == "dataset":  # saved uploads by their saved name, not their path
            values = [dataset_display_name(v) if isinstance(v, str) else v for v in values]
        detail.append(f"{f}: {' / '.join(dict.fromkeys(_short(v) for v in values))}")
    what = "; ".join(detail) if detail else "their studies varied different settings"
    return (
        f"These runs were trained with different settings ({what}), so they form "
        f"{len(comparisons)} separate comparisons. Scores are compared only inside one comparison."
    )


def key_of(value: Any) -> Any:
    return _hashable(_clean(value))


# ---- curves over seeds -------------------------------------------------------------------------
def seed_curves(
    comparison: Comparison, histories: Mapping[str, Sequence[Mapping[str, Any]]], metric: str
) -> pd.DataFrame:
    """Per cell and epoch: the mean of ``metric`` over seeds and the min–max band.

    Columns: ``model, arch, loss_label, epoch, mean, low, high, n`` (n = seeds with that epoch).
    Small whatever the store size: one row per cell and epoch.
    """
    of_run = {}
    for cell in comparison.cells:
        for run_id in cell.run_ids:
            of_run[run_id] = cell
    rows = []
    for run_id, records in histories.items():
        cell = of_run.get(run_id)
        if cell is None:
            continue
        for position, record in enumerate(records, start=1):
            value = _num(record.get(metric))
            if value is not None:
                rows.append(
                    (cell.label, cell.arch, cell.loss_label, int(record.get("epoch", position)), value)
                )
    frame = pd.DataFrame(rows, columns=["model", "arch", "loss_label", "epoch", "value"])
    columns = ["model", "arch", "loss_label", "epoch", "mean", "low", "high", "n"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = (
        frame.groupby(["model", "arch", "loss_label", "epoch"], sort=False)["value"]
        .agg(mean="mean", low="min", high="max", n="size")
        .reset_index()
    )
    return out[columns]


def comparison_grid(comparison: Comparison, metric: str = SELECT_METRIC) -> pd.DataFrame:
    """Cells as a table for the architecture × loss heatmap: ``arch, loss_label, model, mean,
    std, n_seeds, best``; ``best`` marks the cell chosen on *validation* whatever ``metric``
    shows. Axes other than arch and loss that vary are folded into the row name."""
    rows = []
    best = comparison.best
    for cell in comparison.cells:
        mean = cell.val_mean if metric == SELECT_METRIC else cell.test_mean
        std = cell.val_std if metric == SELECT_METRIC else cell.test_std
        if mean is None:
            continue
        others = [f"{k}={_short(v)}" for k, v in cell.values.items() if k not in ("arch", "loss")]
        row_name = cell.arch + (" · " + ", ".join(others) if others else "")
        rows.append(
            {
                "arch": row_name,
                "loss_label": cell.loss_label,
                "model": cell.label,
                "mean": mean,
                "std": math.nan if std is None else std,
                "n_seeds": cell.n_seeds,
                "best": cell is best,
            }
        )
    return pd.DataFrame(rows, columns=["arch", "loss_label", "model", "mean", "std", "n_seeds", "best"])


def comparison_seed_runs(comparison: Comparison) -> pd.DataFrame:
    """The finished runs of a comparison with their cell's label in ``model`` (for seed dots)."""
    runs = comparison.labelled_runs()
    return runs[runs["status"] == "done"]


def summary_frame(comparison: Comparison, metric: str) -> pd.DataFrame:
    """Cells as the table `seglab.viz.results_charts.ranked_bars` draws (``model, arch,
    loss_label, mean, std, n_seeds``), ranked by ``metric``'s mean, best first."""
    grid = comparison_grid(comparison, metric)
    grid["std"] = grid["std"].fillna(0.0)
    return grid.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
