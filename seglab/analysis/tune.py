"""Hyper-parameter tuning by k-fold cross-validation, with one honest test at the end.

The recipe (seed project 003): to choose e.g. the learning rate, the width and the depth
without ever looking at the test images,

1. cut the *pool* (the training + validation samples; the test split is set aside) into K
   folds (`seglab.data.folds.fold_splits`);
2. train every configuration K times, each time validating on one fold and training on the
   other K − 1 (`cv_study`: a `Study` over the grid × ``fold`` = 0 … K−1, queued as one group);
3. score each configuration by the mean ± standard deviation of its K validation IoUs
   (`cv_rows`), and pick the best mean (`best_row`);
4. retrain the chosen configuration on the whole pool and evaluate it once on the test split
   (`final_config`).

The CV score of a configuration is the mean over folds of the fold's validation IoU (the
headline IoU: foreground IoU for binary data, mean IoU otherwise); with several seeds, the
seeds of a fold are averaged first. The spread is the sample standard deviation over the
folds (``ddof = 1``), i.e. how much the score moves from one fold to the next.

Nothing here imports Streamlit; the CLI (``python -m seglab tune``) and the Train page's Tune
tab both call these functions.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
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
    """One configuration's cross-validation score."""

    params: dict[str, Any]
    folds: int
    fold_ious: dict[int, float] = field(default_factory=dict)  # fold → IoU (seeds averaged)
    key: str = ""

    @property
    def complete(self) -> bool:
        return len(self.fold_ious) == self.folds

    @property
    def mean(self) -> float:
        values = list(self.fold_ious.values())
        return statistics.fmean(values) if values else math.nan

    @property
    def std(self) -> float:
        values = list(self.fold_ious.values())
        return statistics.stdev(values) if len(values) >= 2 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The ``tune --json`` form: params, folds, cv_iou_mean, cv_iou_std (None when undefined)."""
        return {
            "params": dict(self.params),
            "folds": self.folds,
            "cv_iou_mean": _num(self.mean),
            "cv_iou_std": _num(self.std),
        }


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def cv_rows(results: Iterable[tuple[TrainConfig, float | None]], keys: list[str]) -> list[CVRow]:
    """CV scores from ``(fold config, validation IoU or None)`` pairs; ``keys``: the tuned fields.

    Rows keep the order in which configurations first appear. Runs without a finite IoU
    (failed, cancelled, diverged) leave their fold out, so the row is not ``complete``.
    """
    per_fold: dict[str, dict[int, list[float]]] = {}
    rows: dict[str, CVRow] = {}
    for config, iou in results:
        if not is_cv_config(config):
            continue
        key = cv_key(config)
        if key not in rows:
            params = {k: getattr(config, k) for k in keys}
            rows[key] = CVRow(params=params, folds=int(config.folds or 0), key=key)
            per_fold[key] = {}
        if iou is not None and math.isfinite(iou):
            per_fold[key].setdefault(int(config.fold or 0), []).append(float(iou))
    for key, row in rows.items():
        row.fold_ious = {f: statistics.fmean(v) for f, v in sorted(per_fold[key].items())}
    return list(rows.values())


def best_row(rows: list[CVRow]) -> CVRow | None:
    """The configuration with the highest CV mean among those with every fold done (else None)."""
    complete = [r for r in rows if r.complete and math.isfinite(r.mean)]
    return max(complete, key=lambda r: r.mean) if complete else None


def final_config(study: Study, row: CVRow) -> TrainConfig:
    """The chosen configuration for the final run: whole pool, first seed of the study."""
    return study.base.replace(**row.params, fold=None, seed=study.run_seeds[0])


def final_study(config: TrainConfig, cv_group: str) -> Study:
    """The final run as a one-run `Study` (so the queue shows it as a group), named after the CV."""
    return Study(config, {}, seeds=[config.seed], name=f"{FINAL_PREFIX}{cv_group}")


def tuned_keys(study: Study) -> list[str]:
    """The fields a CV study tunes (its axes minus ``fold``)."""
    return [k for k in study.axes if k != "fold"]


def is_cv_study(study: Study | None) -> bool:
    return study is not None and "fold" in study.axes and study.base.folds is not None


# ---- the queue side: used by the CLI and the Tune tab -------------------------------------------
def job_results(jobs: Iterable[Any]) -> list[tuple[TrainConfig, float | None]]:
    """``(config, val IoU)`` of queue jobs (None until a job finished well)."""
    out = []
    for job in jobs:
        iou = (job.result or {}).get("val_iou") if job.status == "done" else None
        out.append((job.config, iou))
    return out


def enqueue_final(queue: Any, cv_group: str) -> tuple[str, TrainConfig] | None:
    """Queue the final run of a finished CV group (best CV mean); None if no config is complete."""
    study = queue.group_study(cv_group)
    if not is_cv_study(study):
        raise ConfigError(f"study {cv_group!r} is not a cross-validation study.")
    assert study is not None
    best = best_row(cv_rows(job_results(queue.jobs(group=cv_group)), tuned_keys(study)))
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
def cv_table_rows(records: Iterable[Any]) -> list[dict[str, Any]]:
    """One dict per tuned configuration found in stored runs (``RunRecord``s): its CV study
    (group), the tuned values, folds done / K, CV IoU mean and std, and the test IoU and id of
    the final run of that configuration, when there is one."""
    records = list(records)
    finals = {cv_key(r.config): r for r in records if is_final_config(r.config) and r.status == "done"}
    by_group: dict[str, list[Any]] = {}
    for r in records:
        if is_cv_config(r.config):
            by_group.setdefault(r.group or "-", []).append(r)
    out: list[dict[str, Any]] = []
    for group, runs in by_group.items():
        keys = _varied_keys([r.config for r in runs])
        pairs = [(r.config, r.metrics.get("val_iou") if r.status == "done" else None) for r in runs]
        for row in cv_rows(pairs, keys):
            final = finals.get(row.key)
            out.append(
                {
                    "study": group,
                    "configuration": ", ".join(f"{k}={v}" for k, v in row.params.items()) or "(base)",
                    "folds done": f"{len(row.fold_ious)}/{row.folds}",
                    "CV IoU mean": _num(row.mean),
                    "CV IoU std": _num(row.std),
                    "final test IoU": final.metrics.get("test_iou") if final is not None else None,
                    "final run": final.id if final is not None else None,
                }
            )
    return out


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
