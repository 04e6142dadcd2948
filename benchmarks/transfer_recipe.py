"""The README's transfer-learning recipe, measured: pretrain on ``shapes``, fine-tune on a small
slice of ``cells``, and compare with training from scratch (same seeds, same epochs).

    python benchmarks/transfer_recipe.py --home /tmp/recipe

Prints a Markdown table of the validation IoU per epoch (mean over seeds) and the test IoU of
each seed, for both ways of starting. Every number comes from real runs in the store.
"""

from __future__ import annotations

import argparse
import statistics
import time

from seglab.settings.config import TrainConfig
from seglab.training.run import run_config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--pre-epochs", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--n", type=int, default=40, help="cells images for fine-tuning (70% train)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    common = {"arch": "unet", "width": 16, "depth": 3, "size": 64, "loss": "bce_dice", "num_threads": 1}
    t0 = time.perf_counter()
    pre = run_config(
        TrainConfig(dataset="shapes", n=400, epochs=args.pre_epochs, lr=3e-3, **common), home=args.home
    )
    print(f"pretrained on shapes: run {pre.run_id}, test IoU {pre.result.test_metrics['iou']:.4f}")
    fine = TrainConfig(dataset="cells", n=args.n, epochs=args.epochs, lr=1e-3, **common)
    curves: dict[str, list[list[float]]] = {"scratch": [], "pretrained": []}
    tests: dict[str, list[float]] = {"scratch": [], "pretrained": []}
    for seed in seeds:
        for name, changes in (
            ("scratch", {}),
            ("pretrained", {"init_from": pre.run_id, "init_scope": "all"}),
        ):
            out = run_config(fine.replace(seed=seed, **changes), home=args.home)
            curves[name].append([r["val_iou"] for r in out.result.history])
            tests[name].append(out.result.test_metrics["iou"])
            print(f"{name} seed {seed}: run {out.run_id}, test IoU {tests[name][-1]:.4f}")
    print()
    print("| epoch | val IoU from scratch | val IoU from shapes |")
    print("|---|---|---|")
    for e in range(args.epochs):
        a = statistics.fmean(c[e] for c in curves["scratch"])
        b = statistics.fmean(c[e] for c in curves["pretrained"])
        print(f"| {e + 1} | {a:.3f} | {b:.3f} |")
    for name in ("scratch", "pretrained"):
        vals = ", ".join(f"{v:.3f}" for v in tests[name])
        print(f"test IoU {name}: {vals} (mean {statistics.fmean(tests[name]):.3f})")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
