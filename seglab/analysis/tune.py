"""Hyper-parameter tuning by k-fold cross-validation, with one honest test at the end.

The recipe (seed project 003): to choose e.g. the learning rate, the width and the depth
without ever looking at the test images,

1. cut the *pool* (the training + validation samples; the test split is set aside) into K
   folds (`seglab.data.folds.fold_splits`);
2. train every configuration K times, each time validating on one fold and training on the
   other K − 1 (`cv_study`: a `Study` over the grid × ``fold`` = 0 … K−1, queued as one group);
3. score every fold run at every epoch (each trains the same number of epochs and records its
   validation IoU after each one) and average those curves over the folds (`CVRow.mean_curve`);
4. score each configuration without letting a fold choose its own epoch (`CVRow.fold_ious`):
   fold k is scored at the epoch where the mean curve of the *other* folds peaks; the mean ±
   standard deviation of those K scores is the CV score, and the best mean wins (`best_row`);
5. retrain the chosen configuration on the whole pool for the number of epochs where the mean
   curve over all folds peaks (`CVRow.epoch`), keep its *last* epoch (its validation images are
   its training images, so there is nothing honest to choose on:
   `seglab.training.engine.checkpoint_rule`), and evaluate it once on the test split
   (`final_config`).

With several seeds, the seeds of a fold are averaged first. The spread is the sample standard
deviation over the folds (``ddof = 1``), i.e. how much the score moves from one fold to the
next. The CV score of the *winning* configuration is still a little optimistic (it is the
highest of several); the final run's test IoU is the unbiased number.

Nothing here imports Streamlit; the CLI (``python -m seglab tune``) and the Train page's Tune
tab both call these functions.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from seglab.errors import ConfigError
from seglab.settings.config import TrainConfig, dataset_display_name
from seglab.settings.study import Study

#: config fields a tuning grid may not vary: they define the data, its split or the folds
#: (changing them would change which images are test images) or are handled separately
NOT_TUNABLE = frozenset(
    {"dataset", "dataset_params", "n", "size", "split_seed", "val_fraction", "test_fraction"}
    | {"fold", "folds", "seed", "device", "num_threads", "init_from", "encoder_weights"}
)
#: how the final run's study is named, so its CV study can be found again
FINAL_PREFIX = "tune final · "
#: what the final run is, for the Tune tab and ``seglab tune --help`` (`final_config`; the
#: schedule: `seglab.training.engine.scheduled_lr` anneals over the run's own epochs)
FINAL_RUN_NOTE = (
    "The final run trains for the number of epochs the cross-validation chose and keeps its last "
    "epoch. With the cosine schedule (the default) its learning rate falls to 0 over its own "
    "epochs, so when fewer epochs were chosen than the folds trained, it falls faster than it "
    "did in the folds."
)


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["lr=0.001,0.01", "width=8,16"]`` or ``["lr=0.001,0.01,width=8,16"]`` → ``{"lr": [0.001,
    0.01], "width": [8, 16]}``: a comma-separated token with ``=`` starts a new key. Values are
    read as JSON when they parse (numbers, true/false), else kept as text."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key: str | None = None
        for token in str(item).split(","):
            token = token.strip()
            if not token:
                continue
            if "=" in token:
                key, _, token = token.partition("=")
                key, token = key.strip(), token.strip()
                if not key:
                    raise ConfigError(f"--grid expects KEY=V1,V2,..., got {item!r}.")
                grid.setdefault(key, [])
                if not token:
                    continue
            if key is None:
                raise ConfigError(f"--grid expects KEY=V1,V2,..., got {item!r}.")
            grid[key].append(_value(token))
    for key, values in grid.items():
        if not values:
            raise ConfigError(f"--grid gives no values for {key!r}.")
    return grid


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


#: Bounds of one tuning, checked before anything is expanded: K-fold CV multiplies every
#: configuration by K, so a grid that looks small queues many runs.
MAX_FOLDS = 20
MAX_TUNE_RUNS = 500


def check_tune_size(base: TrainConfig, grid: dict[str, list[Any]], folds: int, n_seeds: int) -> None:
    """Refuse, in plain words and without expanding anything, more than :data:`MAX_FOLDS` folds,
    more folds than training + validation images, or more than :data:`MAX_TUNE_RUNS` runs."""
    if folds > MAX_FOLDS:
        raise ConfigError(f"use at most {MAX_FOLDS} folds, not {folds}.")
    if base.n is not None or base.dataset in set(_registered_datasets()):
        from seglab.analysis.estimate import split_sizes

        train, val, _ = split_sizes(base)
        if folds > train + val:
            raise ConfigError(
                f"{train + val} training and validation images cannot be cut into {folds} folds; "
                f"use at most {train + val} folds or more images."
            )
    runs = folds * n_seeds * math.prod(len(v) for v in grid.values())
    if runs > MAX_TUNE_RUNS:
        raise ConfigError(
            f"this tuning would queue {runs:,} runs (values × folds × seeds); keep it to {MAX_TUNE_RUNS}."
        )


def _registered_datasets() -> list[str]:
    from seglab.data import list_datasets

    return list_datasets()


def cv_study(
    base: TrainConfig,
    grid: dict[str, list[Any]],
    folds: int,
    *,
    seeds: list[int] | None = None,
    name: str | None = None,
) -> Study:
    """The cross-validation runs as one `Study`: ``grid`` × ``fold`` 0 … K−1 (× seeds), each
    config carrying ``folds=K``. Refuses fields that would change the data or the split."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {folds!r}.")
    bad = sorted(set(grid) & NOT_TUNABLE)
    if bad:
        raise ConfigError(
            f"a tuning grid cannot vary {', '.join(bad)}: they change the data, its split or the folds."
        )
    if not grid:
        raise ConfigError("give at least one --grid to tune, e.g. lr=0.001,0.003.")
    check_tune_size(base, grid, folds, len(seeds or []) or 1)
    cv_base = base.replace(folds=folds, fold=None)
    axes = {**{k: list(v) for k, v in grid.items()}, "fold": list(range(folds))}
    if name is None:
        what = " × ".join(f"{k} {len(v)}" for k, v in grid.items())
        name = f"tune · {what} · {folds} folds on {dataset_display_name(base.dataset)}"
    return Study(cv_base, axes, seeds=list(seeds or []), name=name)


def is_cv_config(config: TrainConfig) -> bool:
    """True for a cross-validation fold run."""
    return config.folds is not None and config.fold is not None


def is_final_config(config: TrainConfig) -> bool:
    """True for the final run of a tuning (whole pool, evaluated once on test)."""
    return config.folds is not None and config.fold is None


def cv_key(config: TrainConfig) -> str:
    """What fold runs of one configuration and its final run share: the config without
    ``fold`` and ``seed`` (as sorted JSON)."""
    data = {k: v for k, v in config.to_dict().items() if k not in ("fold", "seed")}
    return json.dumps(data, sort_keys=True, default=str)


@dataclass
class CVRow:
    """One configuration's cross-validation curve and score."""

    params: dict[str, Any]
    folds: int
    fold_curves: dict[int, list[float]] = field(default_factory=dict)  # fold → val IoU per epoch
    key: str = ""

    @property
    def complete(self) -> bool:
        return len(self.fold_curves) == self.folds and bool(self.mean_curve)

    @property
    def mean_curve(self) -> list[float]:
        """Mean validation IoU over the folds at epochs 1, 2, … (the epochs every fold reached)."""
        curves = list(self.fold_curves.values())
        if not curves:
            return []
        length = min(len(c) for c in curves)
        return [statistics.fmean(c[e] for c in curves) for e in range(length)]

    @property
    def epoch(self) -> int | None:
        """The chosen epoch count (1-based): the highest point of the mean curve over all folds
        (the latest on ties). The final run trains this many epochs."""
        return _peak(self.mean_curve)

    @property
    def fold_epochs(self) -> dict[int, int]:
        """For each fold, the epoch at which it is scored: the peak of the mean curve of the
        *other* folds, so no fold is credited with an epoch chosen on its own validation images."""
        out = {}
        for fold in sorted(self.fold_curves):
            others = [c for f, c in self.fold_curves.items() if f != fold]
            length = min((len(c) for c in others), default=0)
            curve = [statistics.fmean(c[e] for c in others) for e in range(length)]
            epoch = _peak(curve[: len(self.fold_curves[fold])])
            if epoch is not None:
                out[fold] = epoch
        return out

    @property
    def fold_ious(self) -> dict[int, float]:
        """Each fold's validation IoU at its epoch from `fold_epochs`."""
        return {f: self.fold_curves[f][e - 1] for f, e in self.fold_epochs.items()}

    @property
    def mean(self) -> float:
        values = list(self.fold_ious.values())
        return statistics.fmean(values) if values else math.nan

    @property
    def std(self) -> float:
        values = list(self.fold_ious.values())
        return statistics.stdev(values) if len(values) >= 2 else math.nan

    @property
    def last_mean(self) -> float:
        """The mean curve at its last epoch (what the configuration scores with nothing chosen)."""
        curve = self.mean_curve
        return curve[-1] if curve else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The ``tune --json`` form: params, folds, epochs (chosen for the final run), cv_iou_mean
        and cv_iou_std (each fold at the epoch the other folds chose), cv_iou_last (the mean
        curve at the last epoch); None when undefined."""
        return {
            "params": dict(self.params),
            "folds": self.folds,
            "epochs": self.epoch,
            "cv_iou_mean": _num(self.mean),
            "cv_iou_std": _num(self.std),
            "cv_iou_last": _num(self.last_mean),
        }


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _peak(curve: Sequence[float]) -> int | None:
    """1-based position of the highest finite value, None if there is none. On ties the *latest*
    such epoch: with no evidence for stopping earlier, train as long as configured."""
    finite = [v if math.isfinite(v) else -math.inf for v in curve]
    if not finite or max(finite) == -math.inf:
        return None
    return len(finite) - finite[::-1].index(max(finite))


Curve = Sequence[float | None] | float | None


def _as_curve(values: Curve) -> list[float] | None:
    """A validation curve as floats; a single number is a one-epoch curve; None, an empty
    curve or any missing / non-finite epoch means the run gave no usable curve."""
    if values is None:
        return None
    if isinstance(values, (int, float)):
        values = [values]
    out = [float(v) if v is not None else math.nan for v in values]
    if not out or not all(math.isfinite(v) for v in out):
        return None
    return out


def cv_rows(results: Iterable[tuple[TrainConfig, Curve]], keys: list[str]) -> list[CVRow]:
    """CV rows from ``(fold config, validation IoU curve or None)`` pairs; ``keys``: the tuned
    fields. A curve is the run's validation IoU after each epoch (a single number counts as a
    one-epoch curve).

    Rows keep the order in which configurations first appear. Runs without a usable curve
    (failed, cancelled, diverged) leave their fold out, so the row is not ``complete``.
    """
    per_fold: dict[str, dict[int, list[list[float]]]] = {}
    rows: dict[str, CVRow] = {}
    for config, values in results:
        if not is_cv_config(config):
            continue
        key = cv_key(config)
        if key not in rows:
            params = {k: getattr(config, k) for k in keys}
            rows[key] = CVRow(params=params, folds=int(config.folds or 0), key=key)
            per_fold[key] = {}
        curve = _as_curve(values)
        if curve is not None:
            per_fold[key].setdefault(int(config.fold or 0), []).append(curve)
    for key, row in rows.items():
        for fold, curves in sorted(per_fold[key].items()):
            length = min(len(c) for c in curves)  # seeds of one fold: averaged epoch by epoch
            row.fold_curves[fold] = [statistics.fmean(c[e] for c in curves) for e in range(length)]
    return list(rows.values())


def best_row(rows: list[CVRow]) -> CVRow | None:
    """The configuration with the highest CV mean among those with every fold done (else None);
    the first such row on ties."""
    complete = [r for r in rows if r.complete and math.isfinite(r.mean)]
    return max(complete, key=lambda r: r.mean) if complete else None


def final_config(study: Study, row: CVRow) -> TrainConfig:
    """The chosen configuration for the final run: whole pool, the chosen epoch count, first
    seed of the study (the engine keeps its last epoch: `seglab.training.engine.checkpoint_rule`)."""
    epochs = row.epoch or study.base.epochs
    return study.base.replace(**row.params, fold=None, seed=study.run_seeds[0], epochs=epochs)


def final_study(config: TrainConfig, cv_group: str) -> Study:
    """The final run as a one-run `Study` (so the queue shows it as a group), named after the CV."""
    return Study(config, {}, seeds=[config.seed], name=f"{FINAL_PREFIX}{cv_group}")


def tuned_keys(study: Study) -> list[str]:
    """The fields a CV study tunes (its axes minus ``fold``)."""
    return [k for k in study.axes if k != "fold"]


def is_cv_study(study: Study | None) -> bool:
    return study is not None and "fold" in study.axes and study.base.folds is not None


# ---- the queue side: used by the CLI and the Tune tab -------------------------------------------
def job_results(jobs: Iterable[Any], home: Any = None) -> list[tuple[TrainConfig, list[float] | None]]:
    """``(config, validation IoU curve)`` of queue jobs, read from their runs' histories in the
    store at ``home`` (None until a job finished well)."""
    from seglab.store.run_store import RunStore

    store = RunStore(home)
    out: list[tuple[TrainConfig, list[float] | None]] = []
    for job in jobs:
        curve = None
        if job.status == "done" and job.run_id and store.exists(job.run_id):
            curve = val_curve(store.history(job.run_id))
        out.append((job.config, curve))
    return out


def val_curve(history: Iterable[dict[str, Any]]) -> list[float] | None:
    """The validation IoU after each epoch, in epoch order (None when an epoch lacks it)."""
    records = sorted(history, key=lambda r: int(r.get("epoch", 0)))
    values = [r.get("val_iou") for r in records]
    if not values or any(not isinstance(v, (int, float)) for v in values):
        return None
    return [float(v) for v in values]


def enqueue_final(queue: Any, cv_group: str) -> tuple[str, TrainConfig] | None:
    """Queue the final run of a finished CV group (best CV mean); None if no config is complete."""
    study = queue.group_study(cv_group)
    if not is_cv_study(study):
        raise ConfigError(f"study {cv_group!r} is not a cross-validation study.")
    assert study is not None
    best = best_row(cv_rows(job_results(queue.jobs(group=cv_group), queue.home), tuned_keys(study)))
    if best is None:
        return None
    config = final_config(study, best)
    return queue.enqueue_study(final_study(config, cv_group)), config


def final_group_of(queue: Any, cv_group: str) -> str | None:
    """The newest final-run group queued for ``cv_group``, or None."""
    for g in queue.groups():  # newest first
        if g.name == f"{FINAL_PREFIX}{cv_group}":
            return g.id
    return None


# ---- the store side: the CV table on Results ---------------------------------------------------
def stored_cv_rows(records: Iterable[Any]) -> dict[str, list[CVRow]]:
    """The CV rows of every CV study found in stored runs (``RunRecord``s), by CV study (group):
    the same `cv_rows` the Tune tab and ``seglab tune`` read from the queue, fed with each
    finished fold run's validation curve from its history; the tuned fields are those that
    differ between a study's runs."""
    from seglab.store.run_store import RunStore

    by_group: dict[str, list[Any]] = {}
    for r in records:
        if is_cv_config(r.config):
            by_group.setdefault(r.group or "-", []).append(r)
    out: dict[str, list[CVRow]] = {}
    for group, runs in by_group.items():
        pairs = []
        for r in runs:
            curve = None
            if r.status == "done" and r.path is not None:
                curve = val_curve(RunStore(r.path.parent).history(r.id))
            pairs.append((r.config, curve))
        out[group] = cv_rows(pairs, _varied_keys([r.config for r in runs]))
    return out


def cv_table_rows(records: Iterable[Any]) -> list[dict[str, Any]]:
    """One dict per tuned configuration found in stored runs (``RunRecord``s): its CV study
    (group), the tuned values, folds done / K, the chosen epoch count, CV IoU mean and std at
    that epoch, and the test IoU and id of the final run of that configuration, when there is one."""
    records = list(records)
    finals = {
        (final_key(r.config), r.config.epochs): r
        for r in records
        if is_final_config(r.config) and r.status == "done"
    }
    config_of = {cv_key(r.config): r.config for r in records if is_cv_config(r.config)}
    out: list[dict[str, Any]] = []
    for group, rows in stored_cv_rows(records).items():
        for row in rows:
            final = finals.get((final_key(config_of[row.key]), row.epoch))
            out.append(
                {
                    "study": group,
                    "configuration": ", ".join(f"{k}={v}" for k, v in row.params.items()) or "(base)",
                    "folds done": f"{len(row.fold_curves)}/{row.folds}",
                    "epochs chosen": row.epoch,
                    "CV IoU mean": _num(row.mean),
                    "CV IoU std": _num(row.std),
                    "final test IoU": final.metrics.get("test_iou") if final is not None else None,
                    "final run": final.id if final is not None else None,
                }
            )
    return out


def final_key(config: TrainConfig) -> str:
    """What a final run shares with its fold runs, whatever epoch count the CV chose."""
    data = {k: v for k, v in config.to_dict().items() if k not in ("fold", "seed", "epochs")}
    return json.dumps(data, sort_keys=True, default=str)


def _varied_keys(configs: list[TrainConfig]) -> list[str]:
    """Config fields (other than fold and seed) whose values differ between ``configs``."""
    dicts = [c.to_dict() for c in configs]
    keys = []
    for k in dicts[0] if dicts else []:
        if k in ("fold", "seed"):
            continue
        if len({json.dumps(d.get(k), sort_keys=True, default=str) for d in dicts}) > 1:
            keys.append(k)
    return keys
