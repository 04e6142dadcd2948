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

What counts, stated once (`COUNTING_RULE`): a comparison never mixes data — the data-defining
settings (`DATA_FIELDS`) are never compared axes, and runs on a folder or zip dataset must have
the same content fingerprint (`seglab.data.fingerprint`). In each cell, every seed counts once:
its newest finished run. A seed with no finished run is *diverged* (if a run of it diverged) or
*unfinished*. A finished run is *collapsed* when `seglab.analysis.collapse.is_collapsed` says so.
A cell with fewer finished seeds than the study asked for is *incomplete*: it is ranked after
the complete cells and is named, never silently crowned. Scores come from one checkpoint rule
(`CHECKPOINT_RULES`): the epoch kept by validation (default) or the last epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from seglab.analysis import stats
from seglab.analysis.collapse import is_collapsed
from seglab.analysis.results_table import (  # the one definition of "one model" lives there
    CHECKPOINT_KEY,
    CONFIG_FIELDS,
    DATA_KEY,
    RUNTIME_FIELDS,
    _clean,
    _hashable,
    loss_label,
)
from seglab.analysis.results_table import arch_label as _arch_label
from seglab.analysis.results_table import label_models as label_models  # re-exported
from seglab.analysis.results_table import model_key as model_key  # re-exported
from seglab.analysis.stats import t_quantile_975
from seglab.settings.config import dataset_display_name

#: axes every comparison may vary: the model (with its options), the loss (with its
#: parameters) and the seed
ALWAYS_COMPARED: tuple[str, ...] = ("arch", "model_params", "loss", "loss_params", "seed")
#: settings that define the data a run saw (images, masks, split, fold): never a compared axis,
#: so a study over e.g. ``dataset_params`` is split into one comparison per data setting
DATA_FIELDS: frozenset[str] = frozenset(
    {"dataset", "dataset_params", "size", "n", "split_seed", "val_fraction", "test_fraction", "folds", "fold"}
)
#: the metric that chooses the best cell, and the one reported beside it
SELECT_METRIC = "val_iou"
REPORT_METRIC = "test_iou"
#: checkpoint rule → (validation column, test column, per-image test column)
CHECKPOINT_RULES: dict[str, tuple[str, str, str]] = {
    "best": ("val_iou", "test_iou", "test_iou_per_image"),
    "last": ("last_val_iou", "last_test_iou", "last_test_iou_per_image"),
}
CHECKPOINT_SENTENCES: dict[str, str] = {
    "best": (
        "Scores come from each run's best epoch on validation (its weights are the ones tested). "
        "Because that epoch was picked on the validation images, its validation IoU is a little "
        "optimistic; the test IoU of the same weights is not."
    ),
    "last": "Scores come from each run's last epoch: nothing was picked on the validation images.",
}
COUNTING_RULE = (
    "Each seed counts once: its newest finished run. A cell with fewer finished seeds than the "
    "study asked for (diverged or unfinished runs) is ranked after the complete cells and never "
    "crowned without saying so; a run whose validation IoU is below 0.05 is flagged as collapsed "
    "(it predicts almost nothing)."
)

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
    config[DATA_KEY] = row.get(DATA_KEY)
    config[CHECKPOINT_KEY] = row.get(CHECKPOINT_KEY) or "best"
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
    the speed-only settings, the data's content fingerprint and the checkpoint rule, plus the
    set of extra axes itself (hashable). Data settings are never compared axes."""
    extra = [f for f in extra_axes if f not in DATA_FIELDS]
    skip = compared_fields(extra) | RUNTIME_FIELDS
    fixed = tuple((f, _hashable(_clean(config.get(f)))) for f in CONFIG_FIELDS if f not in skip)
    run = ((DATA_KEY, _clean(config.get(DATA_KEY))), (CHECKPOINT_KEY, config.get(CHECKPOINT_KEY) or "best"))
    return (tuple(sorted(set(extra))), fixed + run)


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
    val: dict[int, float]  # seed → val IoU of its counted run (newest finished) at the checkpoint rule
    test: dict[int, float]  # seed → test IoU of that run
    n_unfinished: int = 0  # seeds with no finished run and no diverged run (queued, failed, …)
    images: dict[int, list[float | None]] = field(default_factory=dict)  # seed → per-image test IoU
    counted: dict[int, str] = field(default_factory=dict)  # seed → the run id that counts
    n_diverged: int = 0  # seeds with no finished run, one of whose runs diverged
    n_duplicates: int = 0  # extra runs of a counted seed, set aside by the newest-finished rule
    collapsed: list[int] = field(default_factory=list)  # seeds whose counted run is collapsed
    n_requested: int = 0  # seeds the study asked for (set by the comparison)
    newest: dict[int, str] = field(default_factory=dict)  # seed → its newest run, whatever its status

    @property
    def curve_run_ids(self) -> list[str]:
        """One run per seed for the curves: the counted run, else the seed's newest (still training)."""
        return [self.counted.get(seed, run_id) for seed, run_id in sorted(self.newest.items())]

    @property
    def n_seeds(self) -> int:
        return len(self.val)

    @property
    def n_finished(self) -> int:
        return len(self.val)

    @property
    def n_collapsed(self) -> int:
        return len(self.collapsed)

    @property
    def complete(self) -> bool:
        """Every seed the study asked for finished."""
        return self.n_finished > 0 and self.n_finished >= self.n_requested

    def flags(self) -> list[str]:
        """Plain words for everything a reader must know before trusting this cell's mean."""
        out = []
        if self.n_finished < self.n_requested:
            why = []
            if self.n_diverged:
                why.append(f"{self.n_diverged} diverged")
            if self.n_unfinished:
                why.append(f"{self.n_unfinished} not finished")
            reason = f" ({', '.join(why)})" if why else ""
            out.append(f"only {self.n_finished} of {self.n_requested} seeds finished{reason}")
        if self.collapsed:
            out.append(
                f"{self.n_collapsed} of {self.n_finished} finished seed(s) collapsed "
                "(validation IoU below 0.05: the model predicts almost nothing)"
            )
        if self.n_duplicates:
            out.append(
                f"{self.n_duplicates} repeated run(s) of a seed set aside (the newest finished counts)"
            )
        return out

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

    def val_interval(self) -> stats.Interval | None:
        """95 % bootstrap interval of the mean validation IoU (over seeds)."""
        return stats.bootstrap_interval(self.val)

    def test_interval(self) -> stats.Interval | None:
        """95 % bootstrap interval of the test score: over seeds and test images when every
        seed stored per-image IoUs (then the mean per-image IoU), else over seeds."""
        return stats.bootstrap_interval(self.test, self.images)

    def to_json(self) -> dict[str, Any]:
        extra = {k: _jsonable(v) for k, v in self.values.items() if k not in ("arch", "loss")}
        val_ci, test_ci = self.val_interval(), self.test_interval()
        return {
            "arch": self.arch,
            "loss": self.loss,
            **extra,
            "n_seeds": self.n_seeds,
            "n_requested": self.n_requested,
            "n_finished": self.n_finished,
            "n_diverged": self.n_diverged,
            "n_unfinished": self.n_unfinished,
            "n_collapsed": self.n_collapsed,
            "complete": self.complete,
            "flags": self.flags(),
            "val_iou_mean": self.val_mean,
            "val_iou_std": self.val_std,
            "test_iou_mean": self.test_mean,
            "test_iou_std": self.test_std,
            "val_iou_ci": None if val_ci is None else val_ci.to_json(),
            "test_iou_ci": None if test_ci is None else test_ci.to_json(),
            "run_ids": [self.counted[s] for s in sorted(self.counted)],
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
    checkpoint: str = "best"  # the checkpoint rule the scores come from (`CHECKPOINT_RULES`)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

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
        """Cells with at least one finished seed: complete cells first, then incomplete ones
        (fewer finished seeds than asked for), each by mean validation IoU, highest first."""
        done = [c for c in self.cells if c.val_mean is not None]
        return sorted(done, key=lambda c: (not c.complete, -c.val_mean))  # stable on ties

    @property
    def passed_over(self) -> list[Cell]:
        """Incomplete cells whose mean validation IoU beats the crowned best's."""
        best = self.best
        if best is None or not best.complete:
            return []
        return [c for c in self.ranked if not c.complete and c.val_mean > best.val_mean]

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
        text = f"Best by validation IoU: {best.full_label} — validation IoU {val}; its test IoU {test}."
        if not best.complete:
            text += " No model finished every seed the study asked for, so this best is provisional."
        if flags := best.flags():
            text += " Careful: " + "; ".join(flags) + "."
        for cell in self.passed_over:
            text += (
                f" {cell.full_label} has a higher mean ({cell.val_mean:.3f}) but is not crowned: "
                + "; ".join(cell.flags())
                + "."
            )
        return text

    # ---- statistics (seglab.analysis.stats) ----
    @property
    def has_image_scores(self) -> bool:
        """True when every counted run stored its per-image test IoU."""
        cells = [c for c in self.cells if c.test]
        return bool(cells) and all(set(c.images) >= set(c.test) for c in cells)

    def statistics_basis(self) -> str:
        """One sentence: what the intervals and tests resample."""
        if self.has_image_scores:
            return (
                "Test intervals and tests resample both the seeds and the test images (each run "
                "stored its IoU on every test image); they are about the mean IoU per test image."
            )
        return (
            "These runs did not store per-image test scores (they come from an older SegLab), so "
            "intervals and tests use the seeds only: they see seed-to-seed noise but not which "
            "test images happened to be drawn."
        )

    def test_gaps(self) -> list[tuple[Cell, stats.PairedTest, float | None]]:
        """The best against every other ranked cell on the test set (which chose nothing): the
        paired bootstrap test and its Holm-adjusted p-value over all these comparisons."""
        if "test_gaps" in self._cache:
            return self._cache["test_gaps"]
        best = self.best
        if best is None:
            return []
        others = [c for c in self.ranked if c is not best]
        tests = [stats.paired_test(best.test, c.test, best.images, c.images) for c in others]
        ps = [t.p_value for t in tests]
        known = [p for p in ps if p is not None]
        adjusted = iter(stats.holm(known))
        holm_ps = [next(adjusted) if p is not None else None for p in ps]
        self._cache["test_gaps"] = list(zip(others, tests, holm_ps, strict=True))
        return self._cache["test_gaps"]

    def better_than(self) -> list[Cell]:
        """Cells the best beats on the test images after the Holm correction (adjusted p ≤ 5 %)."""
        return [
            c
            for c, t, p in self.test_gaps()
            if p is not None and p <= stats.ALPHA and t.interval is not None and t.interval.mean > 0
        ]

    def better_sentence(self) -> str:
        """Plain words: which models the best is better than, on the test images."""
        gaps = self.test_gaps()
        best = self.best
        if best is None or not gaps:
            return ""
        better = self.better_than()
        tested = [c for c, t, p in gaps if p is not None]
        if not tested:
            return (
                f"{best.full_label} cannot be called better than any other model: the models share "
                "too few seeds to test (at least two, or one with per-image scores)."
            )
        if not better:
            return (
                f"On the test images, {best.full_label} is not clearly better than any of the "
                f"{len(tested)} other model(s) after the Holm correction: the gaps are within the noise."
            )
        names = ", ".join(c.full_label for c in better)
        rest = len(tested) - len(better)
        tail = f"; against the other {rest} the data cannot tell" if rest else ""
        return (
            f"On the test images, {best.full_label} is better than {len(better)} of {len(tested)} "
            f"other model(s) after the Holm correction: {names}{tail}."
        )

    def runner_up_sentence(self) -> str:
        """Best − runner-up on the test images, paired, with its bootstrap interval."""
        best, second = self.best, self.runner_up
        if best is None or second is None:
            return ""
        gap = next((t for c, t, _ in self.test_gaps() if c is second), None)
        if gap is None or gap.interval is None:
            return (
                f"Best vs runner-up ({second.full_label}): they share too few seeds to measure "
                "the gap on the test images."
            )
        i = gap.interval
        if gap.p_value is None:
            verdict = "one shared seed cannot tell a real gap from seed noise (not resolved)"
        elif gap.resolved:
            verdict = f"the gap holds up across seeds and images (p = {gap.p_value:.3f}, resolved)"
        else:
            verdict = f"the gap is within the noise (p = {gap.p_value:.2f}, not resolved)"
        return (
            f"Best − runner-up ({second.full_label}) on the test images: {i.mean:+.3f}, 95 % interval "
            f"[{i.low:+.3f}, {i.high:+.3f}] over {i.basis} ({i.n_seeds} seed(s)"
            + (f" × {i.n_images} images" if i.n_images else "")
            + f"); {verdict}."
        )

    def seed_plan_sentence(self) -> str:
        """How many seeds would resolve the best − runner-up validation gap with its spread."""
        best, second = self.best, self.runner_up
        if best is None or second is None:
            return ""
        seeds = sorted(set(best.val) & set(second.val))
        diffs = [best.val[s] - second.val[s] for s in seeds]
        mean, std = mean_std(diffs)
        return stats.seed_plan_sentence(mean or 0.0, std, len(diffs), "the validation gap to the runner-up")

    def optimism(self) -> float | None:
        """Mean over the counted runs of (kept-epoch validation IoU − last-epoch validation IoU):
        how much choosing the epoch on validation lifts the validation score here."""
        if self.checkpoint != "best":
            return None
        counted = {rid for c in self.cells for rid in c.counted.values()}
        rows = self.runs[self.runs["run_id"].isin(counted)]
        if "last_val_iou" not in rows or rows.empty:
            return None
        gaps = [
            b - a
            for a, b in zip(rows["last_val_iou"], rows["val_iou"], strict=True)
            if number_or_none(a) is not None and number_or_none(b) is not None
        ]
        return sum(gaps) / len(gaps) if gaps else None

    def checkpoint_sentence(self) -> str:
        """Which checkpoint the scores come from, and (for best-epoch scores) their optimism here."""
        text = CHECKPOINT_SENTENCES[self.checkpoint]
        lift = self.optimism()
        if lift is not None:
            text += (
                f" Here the kept epoch's validation IoU is on average {lift:.3f} above the last "
                "epoch's; compare at the last epoch to remove that lift."
            )
        return text

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
                    "seeds": f"{cell.n_finished}/{cell.n_requested}",
                    "diverged": cell.n_diverged,
                    "collapsed": cell.n_collapsed,
                    "flags": "; ".join(cell.flags()),
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
        gaps = self.test_gaps()
        second = self.runner_up
        runner = next((t for c, t, _ in gaps if c is second), None)
        return {
            "settings": {k: _jsonable(v) for k, v in self.settings.items()},
            "varied": list(self.varied),
            "checkpoint": self.checkpoint,
            "checkpoint_rule": self.checkpoint_sentence(),
            "counting_rule": COUNTING_RULE,
            "statistics": self.statistics_basis(),
            "cells": [c.to_json() for c in self.cells],
            "best": None
            if best is None
            else {
                "arch": best.arch,
                "loss": best.loss,
                **{k: _jsonable(v) for k, v in best.values.items() if k not in ("arch", "loss")},
                "label": best.full_label,
                "selected_by": SELECT_METRIC,
                "complete": best.complete,
                "flags": best.flags(),
                "val_iou_mean": best.val_mean,
                "test_iou_mean": best.test_mean,
                "passed_over": [c.full_label for c in self.passed_over],
            },
            "best_vs_runner_up": None
            if runner is None or second is None
            else {
                "runner_up": second.full_label,
                "metric": REPORT_METRIC,
                "gap_ci": None if runner.interval is None else runner.interval.to_json(),
                "p_value": runner.p_value,
                "resolved": runner.resolved,
            },
            "better_than": [
                {
                    "model": c.full_label,
                    "gap_ci": None if t.interval is None else t.interval.to_json(),
                    "p_value": t.p_value,
                    "p_holm": p,
                    "better": c in self.better_than(),
                }
                for c, t, p in gaps
            ],
            "seed_plan": self.seed_plan_sentence(),
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


def number_or_none(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number or NaN."""
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
    return number_or_none(value) or 0.0


def build_comparisons(
    runs: pd.DataFrame,
    studies: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
    *,
    checkpoint: str = "best",
) -> list[Comparison]:
    """Split runs (a `seglab.analysis.results_table.runs_frame`) into like-with-like comparisons.

    ``studies`` maps group id → `seglab.settings.study.Study` (from ``JobQueue.group_study``) so a
    study's own axes (say width) may vary inside its comparison; ``names`` maps group id → a
    readable study name. Order: comparisons with two or more cells (studies) before lone
    models, newest first — so the first one is the latest study. ``checkpoint``: score every
    run at its kept epoch (``"best"``) or at its last epoch (``"last"``).
    """
    if checkpoint not in CHECKPOINT_RULES:
        raise ValueError(f"checkpoint must be one of {', '.join(CHECKPOINT_RULES)}, not {checkpoint!r}")
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
    comparisons = [
        _comparison(runs.loc[idx], extra_of[sig], names or {}, studies or {}, checkpoint)
        for sig, idx in buckets.items()
    ]
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


def _comparison(
    rows: pd.DataFrame,
    extra: tuple[str, ...],
    names: Mapping[str, str],
    studies: Mapping[str, Any],
    checkpoint: str = "best",
) -> Comparison:
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
    first_config = _config_of(first)  # a data seed tied to the run seed is not a shared setting
    settings = {f: _clean(first_config.get(f)) for f in CONFIG_FIELDS if f in rows and f not in skip}
    if _clean(first.get(DATA_KEY)) is not None:
        settings[DATA_KEY] = first.get(DATA_KEY)
    val_col, test_col, images_col = CHECKPOINT_RULES[checkpoint]

    # one stated rule for repeated seeds, whatever the table's order: the newest finished run
    records = sorted(rows.to_dict("records"), key=lambda r: (_created_ts(r.get("created")), str(r["run_id"])))
    cells: dict[tuple[Any, ...], Cell] = {}
    seeds_seen: dict[tuple[Any, ...], dict[int, list[dict[str, Any]]]] = {}
    for r in records:
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
            seeds_seen[ckey] = {}
        cell.run_ids.append(str(r["run_id"]))
        seeds_seen[ckey].setdefault(int(r.get("seed") or 0), []).append(r)
    all_seeds = {seed for by_seed in seeds_seen.values() for seed in by_seed}
    requested = _requested_seeds(rows, studies) or len(all_seeds)
    for ckey, cell in cells.items():
        cell.n_requested = requested
        for seed, runs_of_seed in sorted(seeds_seen[ckey].items()):
            cell.newest[seed] = str(runs_of_seed[-1]["run_id"])
            done = [
                r
                for r in runs_of_seed
                if r.get("status") == "done" and number_or_none(r.get(val_col)) is not None
            ]
            if not done:
                if any(r.get("status") == "diverged" for r in runs_of_seed):
                    cell.n_diverged += 1
                else:
                    cell.n_unfinished += 1
                continue
            chosen = done[-1]  # sorted oldest → newest
            cell.n_duplicates += len(done) - 1
            cell.counted[seed] = str(chosen["run_id"])
            cell.val[seed] = float(number_or_none(chosen.get(val_col)))  # type: ignore[arg-type]
            if (test := number_or_none(chosen.get(test_col))) is not None:
                cell.test[seed] = test
            per_image = chosen.get(images_col)
            if isinstance(per_image, (list, tuple)) and per_image:
                cell.images[seed] = list(per_image)
            if is_collapsed(cell.val[seed]):
                cell.collapsed.append(seed)
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
        checkpoint=checkpoint,
    )


def _requested_seeds(rows: pd.DataFrame, studies: Mapping[str, Any]) -> int:
    """The seeds each cell should have: the largest seed count of the runs' studies the queue
    knows (0 when it knows none: the caller then takes every seed seen in the comparison)."""
    counts = []
    for group in dict.fromkeys(rows["group"]) if "group" in rows else []:
        study = studies.get(str(group)) if group else None
        if study is not None:
            counts.append(len(study.run_seeds))
    return max(counts, default=0)


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
    for f in (*CONFIG_FIELDS, DATA_KEY):
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
        name = "data content (fingerprint)" if f == DATA_KEY else f
        detail.append(f"{name}: {' / '.join(dict.fromkeys(_short(v) for v in values))}")
    what = "; ".join(detail) if detail else "their studies varied different settings"
    text = (
        f"These runs were trained with different settings ({what}), so they form "
        f"{len(comparisons)} separate comparisons. Scores are compared only inside one comparison."
    )
    if changed := data_changed(comparisons):
        text += (
            " The images or masks behind "
            + ", ".join(f"dataset {_short(d)!r}" for d in changed)
            + " changed between runs (different content under the same name): runs on each "
            "version of the data are compared separately."
        )
    return text


def data_changed(comparisons: Sequence[Comparison]) -> list[Any]:
    """Datasets that appear with more than one content fingerprint among ``comparisons``."""
    seen: dict[Any, set[Any]] = {}
    for c in comparisons:
        for _, r in c.runs.iterrows():
            fingerprint = _clean(r.get(DATA_KEY))
            if fingerprint is not None:
                seen.setdefault(key_of(r.get("dataset")), set()).add(fingerprint)
    return [d for d, prints in seen.items() if len(prints) > 1]


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
        for run_id in cell.curve_run_ids:  # one run per seed (the newest-finished rule)
            of_run[run_id] = cell
    rows = []
    for run_id, records in histories.items():
        cell = of_run.get(run_id)
        if cell is None:
            continue
        for position, record in enumerate(records, start=1):
            value = number_or_none(record.get(metric))
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
    """The counted runs of a comparison (the newest finished run of each seed) with their cell's
    label in ``model`` (for seed dots)."""
    runs = comparison.labelled_runs()
    counted = {run_id for cell in comparison.cells for run_id in cell.counted.values()}
    runs = runs[runs["run_id"].isin(counted)].copy()
    val_col, test_col, _ = CHECKPOINT_RULES[comparison.checkpoint]
    for shown, source in ((SELECT_METRIC, val_col), (REPORT_METRIC, test_col)):
        if source != shown:  # dots at the same checkpoint as the bars
            runs[shown] = runs.get(source, math.nan)
    return runs


def summary_frame(comparison: Comparison, metric: str) -> pd.DataFrame:
    """Cells as the table `seglab.viz.results_charts.ranked_bars` draws (``model, arch,
    loss_label, mean, std, n_seeds``), ranked by ``metric``'s mean, best first."""
    grid = comparison_grid(comparison, metric)
    grid["std"] = grid["std"].fillna(0.0)
    return grid.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
