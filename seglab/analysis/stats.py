"""Statistics for comparing trained models: bootstrap intervals, paired tests, Holm, seed planning.

Two sources of noise make one model score differently from another by chance:

* **seeds**: the same settings trained again with another seed give another model;
* **test images**: the test set is one sample of images; other images would give other scores.

Every run stores its IoU on each test image (``test_iou_per_image``, written by the engine), so
the functions here resample *both*: a two-level bootstrap draws seeds with replacement, then
test images with replacement (the same images for every seed: they are the same test images),
and recomputes the statistic each time. Runs without per-image scores (imported from an older
SegLab) fall back to seeds alone, and the sentences say so.

The per-image statistic is the mean IoU over test images. An image with no object that the
model also leaves empty has no IoU (0/0); it counts as 1 (a correct "nothing here"), for every
model alike, so paired differences stay fair.

* `bootstrap_interval`: a 95 % percentile interval of a cell's mean (seeds, or seeds × images);
* `paired_test`: model A − model B over shared seeds (and images): mean, 95 % interval, a
  two-sided p-value that must hold across seeds (paired t-test) and images (bootstrap);
* `holm`: the Holm–Bonferroni step-down adjustment of several p-values (Holm 1979), so that
  "A is better than B, C and D" keeps a 5 % chance of any false claim in total;
* `seeds_needed`: how many seeds a paired comparison needs to resolve a gap with a given spread.

All resampling uses a fixed random seed, so the same runs give the same intervals every time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: bootstrap resamples; the 2.5 % and 97.5 % percentiles of 2000 draws move by about ±0.002 IoU
RESAMPLES = 2000
LEVEL = 0.95
ALPHA = 0.05
POWER = 0.80
RNG_SEED = 0
#: the 80 % quantile of the standard normal distribution (the t table's large-df limit)
Z_POWER = 0.841621

BOOTSTRAP_RULE = (
    "Intervals are 95 % bootstrap intervals: the seeds (and, where runs stored their per-image "
    "scores, the test images) are drawn again at random 2000 times and the mean recomputed; the "
    "interval holds the middle 95 % of those means. With only 2 or 3 seeds it is rough and too "
    "narrow rather than too wide."
)
HOLM_RULE = (
    "A model is called better than another only when its lead on the test images holds up across "
    "seeds (paired t-test on the per-seed gaps) and, where per-image scores exist, across test "
    "images (bootstrap), after the Holm correction for comparing it with every other model at once "
    "(5 % chance, in total, of any false 'better'). One shared seed never supports 'better'."
)


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


def images_as_scores(values: Sequence[float | None]) -> np.ndarray:
    """Per-image IoUs as floats, an undefined one (None or NaN: nothing there, nothing predicted) as 1."""
    out = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return np.where(np.isnan(out), 1.0, out)


def _image_weights(n_images: int, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """(resamples, n_images) counts of each image in a resample, each row summing to n_images."""
    return rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=resamples).astype(np.float64)


def _resampled_means(
    per_seed: np.ndarray | None, seed_values: np.ndarray, rng: np.random.Generator, resamples: int
) -> np.ndarray:
    """Bootstrap means: seeds drawn with replacement and, when ``per_seed`` (seeds × images) is
    given, test images drawn with replacement too (the same draw for every seed)."""
    n_seeds = len(seed_values)
    seeds = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    if per_seed is None:
        return seed_values[seeds].mean(axis=1)
    weights = _image_weights(per_seed.shape[1], rng, resamples)
    by_seed = per_seed @ weights.T / per_seed.shape[1]  # (seeds, resamples)
    return np.take_along_axis(by_seed.T, seeds, axis=1).mean(axis=1)


@dataclass(frozen=True)
class Interval:
    """A mean with its 95 % bootstrap interval; ``basis`` names what was resampled."""

    mean: float
    low: float
    high: float
    basis: str  # "seeds and test images", "test images (one seed)", or "seeds"
    n_seeds: int
    n_images: int = 0

    def text(self, digits: int = 3) -> str:
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def to_json(self) -> dict[str, object]:
        return {
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "basis": self.basis,
            "n_seeds": self.n_seeds,
            "n_images": self.n_images,
        }


def _basis(per_seed: np.ndarray | None, n_seeds: int) -> str:
    if per_seed is None:
        return "seeds"
    return "seeds and test images" if n_seeds > 1 else "test images (one seed)"


def _stack(images: Mapping[int, Sequence[float | None]], seeds: Sequence[int]) -> np.ndarray | None:
    """Seeds × images array when every seed has per-image scores of one length, else None."""
    if not seeds or any(s not in images or not images[s] for s in seeds):
        return None
    rows = [images_as_scores(images[s]) for s in seeds]
    if len({len(r) for r in rows}) != 1:
        return None
    return np.vstack(rows)


def bootstrap_interval(
    values: Mapping[int, float],
    images: Mapping[int, Sequence[float | None]] | None = None,
    *,
    resamples: int = RESAMPLES,
) -> Interval | None:
    """The 95 % percentile bootstrap interval of a cell's mean.

    ``values``: seed → the run's score (used when per-image scores are missing); ``images``:
    seed → per-image test IoUs. With per-image scores for every seed the statistic is the mean
    per-image IoU and both seeds and images are resampled; otherwise seeds only (None with
    fewer than two seeds: one number has no spread to resample).
    """
    seeds = sorted(values)
    per_seed = _stack(images or {}, seeds)
    if per_seed is None and len(seeds) < 2:
        return None
    rng = np.random.default_rng(RNG_SEED)
    seed_values = np.array([values[s] for s in seeds], dtype=np.float64)
    draws = _resampled_means(per_seed, seed_values, rng, resamples)
    mean = float(per_seed.mean()) if per_seed is not None else float(seed_values.mean())
    low, high = np.percentile(draws, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    n_images = 0 if per_seed is None else per_seed.shape[1]
    return Interval(mean, float(low), float(high), _basis(per_seed, len(seeds)), len(seeds), n_images)


@dataclass(frozen=True)
class PairedTest:
    """A − B over the seeds both have (and their test images): mean gap, interval, p-value."""

    interval: Interval | None
    p_value: float | None  # two-sided p of "no difference" (see `paired_test`); None: cannot test
    seeds: tuple[int, ...]
    seed_diffs: tuple[float, ...]  # A − B per shared seed (the runs' own scores)

    @property
    def resolved(self) -> bool:
        """True when the gap holds up across seeds and images at 5 % (this one test alone)."""
        return self.p_value is not None and self.p_value <= ALPHA


def paired_test(
    a: Mapping[int, float],
    b: Mapping[int, float],
    a_images: Mapping[int, Sequence[float | None]] | None = None,
    b_images: Mapping[int, Sequence[float | None]] | None = None,
    *,
    resamples: int = RESAMPLES,
) -> PairedTest:
    """Paired comparison of A − B: the same seeds and the same test images for both, so the
    noise both share (a hard image, a lucky seed) cancels.

    The interval is a paired bootstrap (seeds × images, or seeds alone). The p-value must hold
    up at both levels: across seeds, the paired t-test on the per-seed gaps (a bootstrap over 2
    or 3 seeds is far too sure of itself, so it never decides alone); across test images, where
    per-image scores exist, the bootstrap's 2 × the smaller share of resampled gaps on either
    side of zero (+1 so it is never 0). The larger of the two is reported. With one shared seed
    there is no p-value: seed-to-seed noise is unknown, so nothing is called better.
    """
    seeds = sorted(set(a) & set(b))
    diffs = tuple(float(a[s] - b[s]) for s in seeds)
    pa, pb = _stack(a_images or {}, seeds), _stack(b_images or {}, seeds)
    per_seed = pa - pb if pa is not None and pb is not None and pa.shape == pb.shape else None
    if per_seed is None and len(seeds) < 2:
        return PairedTest(None, None, tuple(seeds), diffs)
    rng = np.random.default_rng(RNG_SEED)
    draws = _resampled_means(per_seed, np.array(diffs), rng, resamples)
    mean = float(per_seed.mean()) if per_seed is not None else float(np.mean(diffs))
    low, high = np.percentile(draws, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    n_images = 0 if per_seed is None else per_seed.shape[1]
    p: float | None = None
    if len(seeds) >= 2:
        seed_gaps = list(diffs) if per_seed is None else [float(v) for v in per_seed.mean(axis=1)]
        p = paired_t_p(seed_gaps)
        if per_seed is not None and p is not None:
            below, above = int((draws <= 0).sum()), int((draws >= 0).sum())
            p = max(p, min(1.0, 2 * (min(below, above) + 1) / (resamples + 1)))
    interval = Interval(mean, float(low), float(high), _basis(per_seed, len(seeds)), len(seeds), n_images)
    return PairedTest(interval, p, tuple(seeds), diffs)


def t_two_sided_p(t: float, df: int) -> float:
    """P(|T| ≥ |t|) for Student's t with ``df`` (whole, ≥ 1) degrees of freedom.

    Closed forms for whole df (Abramowitz & Stegun 26.7.3–4): with θ = atan(|t| / √df),
    P(|T| < |t|) = (2/π)(θ + sin θ cos θ Σ) for odd df and sin θ Σ' for even df, the sums
    running over the even powers of cos θ with the coefficients below.
    """
    if df < 1:
        raise ValueError("t needs at least one degree of freedom")
    if math.isinf(t):
        return 0.0
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:
        total, term = 0.0, 1.0
        for k in range(1, (df - 1) // 2 + 1):
            total += term
            term *= c2 * (2 * k) / (2 * k + 1)
        inside = (2 / math.pi) * (theta + (math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0))
    else:
        total, term = 0.0, 1.0
        for k in range(1, df // 2 + 1):
            total += term
            term *= c2 * (2 * k - 1) / (2 * k)
        inside = math.sin(theta) * total
    return min(1.0, max(0.0, 1.0 - inside))


def paired_t_p(diffs: Sequence[float]) -> float | None:
    """Two-sided p-value of the paired t-test on per-seed differences (None below 2 seeds)."""
    n = len(diffs)
    if n < 2:
        return None
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    if sd == 0:
        return 0.0 if mean else 1.0
    return t_two_sided_p(mean / (sd / math.sqrt(n)), n - 1)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order.

    Sort the m p-values ascending; the i-th smallest (i = 0 … m−1) becomes
    max over j ≤ i of min(1, (m − j) · p_(j)). A hypothesis is rejected at level α when its
    adjusted p-value is ≤ α; the chance of any false rejection stays ≤ α (Holm 1979).
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


# One-sided 80 % quantiles of Student's t for 1..30 degrees of freedom (the power term).
_T80: tuple[float, ...] = (
    1.376, 1.061, 0.978, 0.941, 0.920, 0.906, 0.896, 0.889, 0.883, 0.879,
    0.876, 0.873, 0.870, 0.868, 0.866, 0.865, 0.863, 0.862, 0.861, 0.860,
    0.859, 0.858, 0.858, 0.857, 0.856, 0.856, 0.855, 0.855, 0.854, 0.854,
)  # fmt: skip
MAX_SEEDS = 10_000


def _t80(df: int) -> float:
    return _T80[df - 1] if df <= len(_T80) else Z_POWER + 0.37 / df


def seeds_needed(gap: float, spread: float, *, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds per model for a paired comparison to resolve a true ``gap`` with ``power``.

    ``spread``: the standard deviation of the per-seed differences A − B. For a two-sided
    paired t-test at level 5 % and 80 % power: the smallest n ≥ 2 with
    t₀.₉₇₅(n−1) + t₀.₈₀(n−1) ≤ |gap| · √n / spread (the usual central-t approximation of the
    noncentral-t power; it matches the exact answer for effects |gap|/spread from 0.3 to 3).
    None when the gap is 0 or the spread unknown or 0.
    """
    if alpha != ALPHA or power != POWER:
        raise ValueError("seeds_needed is tabulated for a 5 % test with 80 % power")
    if not gap or not spread or not math.isfinite(spread) or not math.isfinite(gap):
        return None
    effect = abs(gap) / spread
    for n in range(2, MAX_SEEDS + 1):
        if t_quantile_975(n - 1) + _t80(n - 1) <= effect * math.sqrt(n):
            return n
    return MAX_SEEDS


def seed_plan_sentence(gap: float, spread: float | None, n_now: int, what: str = "a gap") -> str:
    """Plain words: how many seeds would resolve this gap with this spread."""
    if spread is None or n_now < 2:
        return (
            "With one shared seed there is no seed-to-seed spread to plan with: train at least "
            "3 seeds of the two best models first."
        )
    if spread == 0:
        return "The per-seed differences do not vary at all here, so more seeds would not change the verdict."
    n = seeds_needed(gap, spread)
    if n is None:
        return "The two best models score the same on average, so no number of seeds can separate them."
    more = "" if n <= n_now else f" ({n - n_now} more than now)"
    return (
        f"Seed planner: to resolve {what} of {abs(gap):.3f} when the per-seed differences spread by "
        f"{spread:.3f} (standard deviation), you need about {n} seeds of each model{more} for an 80 % "
        "chance of a clear verdict (two-sided test at 5 %)."
    )
