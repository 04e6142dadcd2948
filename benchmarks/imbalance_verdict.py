"""The README's imbalance table and the verdict on the seed claim, computed from the shipped zip.

    python benchmarks/imbalance_verdict.py [assets/imbalance_study.zip]

The seed study says focal loss "proved effective in handling class imbalance". Focal loss changes
BCE in two ways, a class weight α and a focusing factor (1 − p_t)^γ; the imbalance study
(`benchmarks/make_imbalance_study.py`) trains U-Net with BCE (neither), class-weighted BCE (α only),
focal α = 0.5 (γ only), focal α = auto, γ = 2 (both) and Dice at several foreground shares, each seed
on its own draw of the data. This script loads the zip into a temporary store and prints, per share:

* a Markdown table: per loss, test IoU at p ≥ 0.5 and at the threshold chosen on validation (mean
  over seeds with the 95 % t-interval of the mean) and the collapsed runs (`is_collapsed`);
* the claim "focal beats BCE", judged with paired comparisons over seeds (same seed = same data
  draw) at both thresholds: confirmed / refuted when the 95 % paired t-interval of the differences
  excludes zero, else not resolved (`seglab.analysis.compare.PAIRED_RULE`);
* which mechanism prevents collapse: the collapse counts of α only and γ only against BCE.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seglab.analysis import compare as cmp  # noqa: E402
from seglab.analysis import imbalance as imb  # noqa: E402
from seglab.analysis.results_table import runs_frame  # noqa: E402
from seglab.store.reference import IMBALANCE_ZIP, load_reference_study  # noqa: E402
from seglab.store.run_store import RunStore  # noqa: E402

NEITHER, ALPHA, GAMMA, BOTH, DICE = "bce", "bce_weighted", "focal_focus", "focal", "dice"
NAMES = {
    NEITHER: "BCE (neither)",
    ALPHA: "class-weighted BCE (α only)",
    GAMMA: "focal α = 0.5 (γ only)",
    BOTH: "focal α = auto, γ = 2 (both)",
    DICE: "Dice",
}


def _per_seed(runs, share: float, loss: str, metric: str) -> dict[int, float]:
    rows = runs[(runs["fg_share"] == share) & (runs["loss"] == loss)]
    return {int(s): float(v) for s, v in zip(rows["seed"], rows[metric], strict=True) if v == v}


def _pair(runs, share: float, a: str, b: str, metric: str) -> cmp.PairedComparison:
    cells = []
    for loss in (a, b):
        scores = _per_seed(runs, share, loss, metric)
        cells.append(cmp.Cell({"loss": loss}, NAMES[loss], "unet", loss, loss, [], scores, scores))
    return cmp.paired_comparison(cells[0], cells[1], metric="test_iou")


def _word(pair: cmp.PairedComparison) -> str:
    if pair.n < 2:
        return "not resolved (fewer than two shared seeds)"
    if not pair.resolved:
        return f"not resolved ({pair.mean:+.3f}, 95 % [{pair.low:+.3f}, {pair.high:+.3f}], n={pair.n})"
    word = "confirmed" if pair.mean > 0 else "refuted"
    return f"{word} ({pair.mean:+.3f}, 95 % [{pair.low:+.3f}, {pair.high:+.3f}], n={pair.n})"


def _cell_text(row) -> str:
    if row is None or row["n"] == 0:
        return "–"
    if row["low"] is None or row["low"] != row["low"]:
        return f"{row['mean']:.3f} (1 seed)"
    return f"{row['mean']:.3f} [{row['low']:.2f}, {row['high']:.2f}]"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    zip_path = Path(argv[0]) if argv else IMBALANCE_ZIP
    with tempfile.TemporaryDirectory() as home:
        load_reference_study(home, zip_path)
        runs = imb.imbalance_runs(runs_frame(RunStore(home).list_runs()))
    at = {name: imb.imbalance_cells(runs, metric) for name, metric in imb.AT_THRESHOLD.items()}
    seeds = sorted(runs["seed"].unique())
    print(
        f"{len(runs)} finished runs from {zip_path.name}; seeds {', '.join(map(str, seeds))} (each seed its "
        "own draw of the data). Test IoU: mean over seeds [95 % t-interval of the mean]; collapsed: "
        f"validation IoU < {imb.COLLAPSE_IOU:g}.\n"
    )
    print(
        "| foreground | loss | seeds | test IoU at p ≥ 0.5 | test IoU at the validation threshold | collapsed |"
    )
    print("|---|---|---:|---:|---:|---:|")
    shares = sorted(runs["fg_share"].unique(), reverse=True)
    for share in shares:
        for loss in NAMES:
            rows = {
                name: next(
                    (r for r in cells.to_dict("records") if r["fg_share"] == share and r["loss"] == loss),
                    None,
                )
                for name, cells in at.items()
            }
            half = rows["0.5"]
            if half is None:
                continue
            print(
                f"| {imb.share_text(share)} | {NAMES[loss]} | {half['n']} | {_cell_text(half)} | "
                f"{_cell_text(rows['validation'])} | {half['n_collapsed']} of {half['n_runs']} |"
            )
    print()
    for share in shares:
        present = set(runs[runs["fg_share"] == share]["loss"])
        print(f"**{imb.share_text(share)} foreground.**")
        if {BOTH, NEITHER} <= present:
            for name, metric in imb.AT_THRESHOLD.items():
                pair = _pair(runs, share, BOTH, NEITHER, metric)
                print(f"- focal (both) beats BCE, test IoU {imb.THRESHOLD_TITLES[name]}: {_word(pair)}")
        collapsed = {
            loss: (int(g["collapsed"].sum()), len(g))
            for loss, g in runs[runs["fg_share"] == share].groupby("loss")
        }
        parts = [f"{NAMES[loss]} {k} of {n}" for loss, (k, n) in collapsed.items() if loss in NAMES]
        print(f"- collapsed runs: {'; '.join(parts)}")
        if {ALPHA, GAMMA, NEITHER} <= present:
            k_alpha, k_gamma, k_none = (collapsed[x][0] for x in (ALPHA, GAMMA, NEITHER))
            if k_none == 0:
                verdict = (
                    "BCE did not collapse in these seeds, so neither mechanism had a collapse to prevent"
                )
            elif k_alpha == 0 and k_gamma > 0:
                verdict = (
                    "the class weight α prevented every collapse in these seeds; focusing γ alone did not"
                )
            elif k_alpha == 0 and k_gamma == 0:
                verdict = "α alone and γ alone each prevented every collapse in these seeds"
            elif k_alpha < k_none and k_gamma >= k_none:
                verdict = "the class weight α reduced collapse in these seeds; focusing γ alone did not"
            elif k_gamma < k_none and k_alpha >= k_none:
                verdict = "focusing γ reduced collapse in these seeds; the class weight α alone did not"
            else:
                verdict = "neither mechanism alone prevented collapse in these seeds"
            print(f"- mechanism: {verdict}.")
        done = at["0.5"][at["0.5"]["fg_share"] == share]
        if len(done) > 1:
            best = done.loc[done["mean"].idxmax()]
            print(
                f"- highest mean test IoU at p ≥ 0.5: {NAMES.get(best['loss'], best['loss'])} ({best['mean']:.3f})"
            )
        for a, b, what in (
            (BOTH, GAMMA, "adding α to focusing"),
            (BOTH, ALPHA, "adding γ to the class weight"),
        ):
            if {a, b} <= present:
                pair = _pair(runs, share, a, b, imb.AT_THRESHOLD["0.5"])
                print(
                    f"- {what} (test IoU at p ≥ 0.5): {_word(pair).replace('confirmed', 'helps').replace('refuted', 'hurts')}"
                )
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
