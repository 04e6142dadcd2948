"""The README's reference-study table and the seed study's claims, computed from the saved runs.

    python benchmarks/reference_claims.py [assets/reference_study.zip]

Loads the zip into a temporary store, builds the comparison (`seglab.analysis.compare`), prints the
architecture × loss table (validation IoU mean ± std over seeds, the best chosen on validation,
its test IoU) and judges the seed study's two claims with paired comparisons over seeds:

* "strided U-Net + focal is best": confirmed when it is the cell chosen on validation and its
  gap to the runner-up is resolved; refuted when another cell is chosen and beats it by a
  resolved gap; otherwise not resolved by the spread.
* "SegNet is behind the U-Nets": per seed, each architecture's IoU averaged over the four
  losses; SegNet vs U-Net and vs strided U-Net, paired over seeds. Confirmed when both gaps are
  resolved in favour of the U-Nets, refuted when one is resolved in SegNet's favour, otherwise
  not resolved.

Each claim is judged on validation IoU and on test IoU; the verdict is the same word on both,
or "not resolved" when they disagree.

Then the numbers behind the README's and the pages' wording (issue 21):

* claim 1 from the data, not one interval: focal − BCE paired over every architecture × seed
  pair (mean, how many pairs focal is lower, paired t-interval and p-value, exact sign test), the
  rank of every loss per architecture, and the rank of strided U-Net + focal among all cells;
* strided U-Net − U-Net paired over every loss × seed pair (the Architectures page's wording);
* claim 2 at matched size: with ``--matched-home DIR`` (a store holding SegNet runs trained at
  another width with BCE, e.g. ``python -m seglab train --preset quick --arch segnet --width 15
  --loss bce --seed S --threads 1``), the parameter counts and U-Net + BCE − SegNet + BCE paired
  over seeds at both SegNet widths.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from seglab.analysis import compare as cmp
from seglab.analysis.results_table import runs_frame
from seglab.models import create_model
from seglab.store.reference import REFERENCE_ZIP, load_reference_study
from seglab.store.run_store import RunStore


def _arch_cell(comparison: cmp.Comparison, arch: str) -> cmp.Cell:
    """A pseudo-cell: per seed, the architecture's IoU averaged over all its losses."""
    val: dict[int, list[float]] = {}
    test: dict[int, list[float]] = {}
    for cell in comparison.cells:
        if cell.arch != arch:
            continue
        for seed, v in cell.val.items():
            val.setdefault(seed, []).append(v)
        for seed, t in cell.test.items():
            test.setdefault(seed, []).append(t)
    n = max((len(v) for v in val.values()), default=0)
    mean = lambda d: {s: sum(v) / len(v) for s, v in d.items() if len(v) == n}  # noqa: E731
    return cmp.Cell({"arch": arch}, arch, arch, "all losses", "all losses", [], mean(val), mean(test))


def _verdict(pairs: list[cmp.PairedComparison], claimed_positive: bool = True) -> str:
    """'confirmed' when every pair is resolved in the claimed direction, 'refuted' when any is
    resolved against it, else 'not resolved'."""
    if any(p.resolved and ((p.mean > 0) != claimed_positive) for p in pairs):
        return "refuted"
    if pairs and all(p.resolved and ((p.mean > 0) == claimed_positive) for p in pairs):
        return "confirmed"
    return "not resolved"


def _combine(by_metric: dict[str, str]) -> str:
    words = set(by_metric.values())
    return words.pop() if len(words) == 1 else "not resolved"


def paired_stats(diffs: Sequence[float]) -> dict[str, float]:
    """Mean, sample std, 95 % paired t-interval, how many differences are below zero, the paired
    t-test's two-sided p (scipy when installed, else NaN) and the exact two-sided sign test's p."""
    n = len(diffs)
    mean, std = cmp.mean_std(diffs)
    half = cmp.t_quantile_975(n - 1) * std / math.sqrt(n)
    below = sum(d < 0 for d in diffs)
    above = sum(d > 0 for d in diffs)
    k, m = min(below, above), below + above
    sign_p = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2**m) if m else 1.0
    try:
        from scipy import stats

        t_p = float(stats.ttest_1samp(list(diffs), 0.0).pvalue)
    except ImportError:  # scipy is not a SegLab dependency
        t_p = float("nan")
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "low": mean - half,
        "high": mean + half,
        "below": below,
        "t_p": t_p,
        "sign_p": sign_p,
    }


def stats_text(s: dict[str, float]) -> str:
    return (
        f"mean {s['mean']:+.4f} ± {s['std']:.4f} (n={s['n']}), 95 % interval [{s['low']:+.4f}, "
        f"{s['high']:+.4f}], below zero in {s['below']} of {s['n']}, paired t p = {s['t_p']:.1e}, "
        f"sign test p = {s['sign_p']:.4f}"
    )


def pair_over(
    comparison: cmp.Comparison, metric: str, first: tuple[str, str], second: tuple[str, str], over: str
) -> list[float]:
    """first − second per (other axis × seed): ``first``/``second`` are (axis, value) with axis
    "arch" or "loss"; ``over`` is the other axis, whose every value present in both is paired."""
    by_key = {(c.arch, c.loss_label): c for c in comparison.cells}
    others = list(dict.fromkeys(c.arch if over == "arch" else c.loss_label for c in comparison.cells))
    diffs = []
    for other in others:

        def key(side: tuple[str, str], other: str = other) -> tuple[str, str]:
            return (other, side[1]) if over == "arch" else (side[1], other)

        a, b = by_key.get(key(first)), by_key.get(key(second))
        if a is None or b is None:
            continue
        da, db = (a.val, b.val) if metric == cmp.SELECT_METRIC else (a.test, b.test)
        diffs += [da[s] - db[s] for s in sorted(set(da) & set(db))]
    return diffs


def ranks(comparison: cmp.Comparison, metric: str) -> list[cmp.Cell]:
    """All cells, best first, by their mean ``metric`` over seeds."""
    mean = (lambda c: c.val_mean) if metric == cmp.SELECT_METRIC else (lambda c: c.test_mean)  # noqa: E731
    return sorted(comparison.cells, key=lambda c: -(mean(c) or -1.0))


def parameter_count(arch: str, width: int, depth: int = 3) -> int:
    model = create_model(arch, in_channels=3, num_classes=1, width=width, depth=depth)
    return sum(p.numel() for p in model.parameters())


def focal_against_bce(comparison: cmp.Comparison) -> None:
    """Claim 1 from the whole grid: focal − BCE on every architecture × seed pair, loss ranks per
    architecture, and where strided U-Net + focal ranks."""
    print("\n## Claim 1 from the whole grid")
    for metric in (cmp.SELECT_METRIC, cmp.REPORT_METRIC):
        diffs = pair_over(comparison, metric, ("loss", "focal"), ("loss", "bce"), over="arch")
        print(f"focal − bce per arch × seed ({metric}): {stats_text(paired_stats(diffs))}")
        ranked = ranks(comparison, metric)
        place = next(
            i for i, c in enumerate(ranked, 1) if (c.arch, c.loss_label) == ("unet_strided", "focal")
        )
        print(f"unet_strided + focal ranks {place} of {len(ranked)} on {metric}")
        for arch in dict.fromkeys(c.arch for c in comparison.cells):
            cells = [c for c in ranked if c.arch == arch]
            order = ", ".join(
                f"{c.loss_label} {(c.val_mean if metric == cmp.SELECT_METRIC else c.test_mean):.3f}"
                for c in cells
            )
            print(f"  {arch} ({metric}), best to worst: {order}; lowest: {cells[-1].loss_label}")
    for metric in (cmp.SELECT_METRIC, cmp.REPORT_METRIC):
        diffs = pair_over(comparison, metric, ("arch", "unet_strided"), ("arch", "unet"), over="loss")
        print(f"unet_strided − unet per loss × seed ({metric}): {stats_text(paired_stats(diffs))}")


def matched_segnet(comparison: cmp.Comparison, home: Path) -> None:
    """Claim 2 at matched size: U-Nets + BCE against SegNet + BCE at the reference width and at the
    width of the runs in ``home`` (paired over seeds)."""
    runs = runs_frame(RunStore(home).list_runs())
    (matched,) = cmp.build_comparisons(runs)
    (wide,) = matched.cells
    width = int(runs["width"].iloc[0])
    print("\n## Claim 2 at matched size (BCE)")
    print(
        "parameters: "
        + ", ".join(
            f"{a} width {w}: {parameter_count(a, w)}"
            for a, w in (("unet", 8), ("unet_strided", 8), ("segnet", 8), ("segnet", width))
        )
    )
    print(f"matched store: {matched.settings_text()}")
    by_key = {(c.arch, c.loss_label): c for c in comparison.cells}
    narrow = by_key[("segnet", "bce")]
    for label, cell in (("segnet width 8", narrow), (f"segnet width {width}", wide)):
        print(
            f"{label} + bce: val {cmp.format_mean_std(cell.val_mean, cell.val_std, cell.n_seeds)}, "
            f"test {cmp.format_mean_std(cell.test_mean, cell.test_std, cell.n_seeds)}; seeds {sorted(cell.val)}"
        )
    for arch in ("unet", "unet_strided"):
        for label, cell in (("width 8", narrow), (f"width {width}", wide)):
            for metric in (cmp.SELECT_METRIC, cmp.REPORT_METRIC):
                p = cmp.paired_comparison(by_key[(arch, "bce")], cell, metric)
                print(f"{arch} + bce − segnet {label} + bce: {p.sentence()}")


def main(zip_path: Path = REFERENCE_ZIP, matched_home: Path | None = None) -> int:
    with tempfile.TemporaryDirectory() as home:
        load_reference_study(home, zip_path)
        runs = runs_frame(RunStore(home).list_runs())
    (comparison,) = cmp.build_comparisons(runs)
    best = comparison.best
    archs = list(dict.fromkeys(c.arch for c in comparison.cells))
    losses = list(dict.fromkeys(c.loss_label for c in comparison.cells))
    by_key = {(c.arch, c.loss_label): c for c in comparison.cells}
    print(f"Shared settings: {comparison.settings_text()}\n")
    print("| architecture | " + " | ".join(losses) + " |")
    print("|---|" + "---:|" * len(losses))
    for arch in archs:
        cells = []
        for loss in losses:
            cell = by_key.get((arch, loss))
            text = "–" if cell is None else cmp.format_mean_std(cell.val_mean, cell.val_std, cell.n_seeds)
            text = text.replace(f" (n={cell.n_seeds})", "") if cell is not None else text
            cells.append(f"**{text}**" if cell is best else text)
        print(f"| {arch} | " + " | ".join(cells) + " |")
    print(f"\nn = {best.n_seeds} seeds per cell. {comparison.best_sentence()}")
    for metric in (cmp.SELECT_METRIC, cmp.REPORT_METRIC):
        paired = comparison.paired(metric)
        print(f"Best vs runner-up ({metric}): {paired.sentence()}")

    # claim 1: strided U-Net + focal is the best cell
    claimed = by_key.get(("unet_strided", "focal"))
    verdicts = {}
    for metric in (cmp.SELECT_METRIC, cmp.REPORT_METRIC):
        if best is claimed:
            verdicts[metric] = _verdict([comparison.paired(metric)])
        else:
            verdicts[metric] = _verdict([cmp.paired_comparison(claimed, best, metric)])
        print(
            f"claim 1 ({metric}): chosen cell {best.full_label}; "
            + (
                comparison.paired(metric).sentence()
                if best is claimed
                else cmp.paired_comparison(claimed, best, metric).sentence()
            )
        )
    print(f"CLAIM 1 'strided U-Net + focal is best': {_combine(verdicts)} {verdicts}")

    # claim 2: SegNet behind the U-Nets (each architecture averaged over the losses)
    segnet = _arch_cell(comparison, "segnet")
    verdicts = {}
    for metric in (cmp.SELECT_METRIC, cmp.REPORT_METRIC):
        pairs = [
            cmp.paired_comparison(_arch_cell(comparison, a), segnet, metric) for a in ("unet", "unet_strided")
        ]
        for p in pairs:
            print(f"claim 2 ({metric}): {p.sentence()}")
        verdicts[metric] = _verdict(pairs)
    print(f"CLAIM 2 'SegNet behind the U-Nets': {_combine(verdicts)} {verdicts}")

    focal_against_bce(comparison)
    if matched_home is not None:
        matched_segnet(comparison, matched_home)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("zip", nargs="?", type=Path, default=REFERENCE_ZIP)
    ap.add_argument("--matched-home", type=Path, help="store with the size-matched SegNet + BCE runs")
    args = ap.parse_args()
    sys.exit(main(args.zip, args.matched_home))
