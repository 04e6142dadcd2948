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
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from seglab.analysis import compare as cmp
from seglab.analysis.results_table import runs_frame
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


def main(zip_path: Path = REFERENCE_ZIP) -> int:
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
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REFERENCE_ZIP))
