"""The README's transfer-learning recipe, measured: pretrain on ``shapes``, fine-tune on a small
slice of ``cells``, and compare with training from scratch, including a scratch baseline trained
long enough to converge.

    python benchmarks/transfer_recipe.py --home /tmp/recipe [--long-epochs 60]

Prints, from real runs in the store:

* the shapes run's own test IoU, and its IoU on the ``cells`` validation and test images
  *before any fine-tuning* (how close the two tasks are);
* the short recipe (``--epochs``): validation IoU per epoch (mean over seeds) and each seed's
  test IoU, from scratch and from the shapes run;
* with ``--long-epochs N`` (0 skips it): both ways of starting trained for N epochs, each seed's
  test IoU, the epoch with the best validation IoU, and the mean validation IoU over the last
  and the previous ``--window`` epochs (a curve that still rises has not converged);
* the wall time of every run, and the CPU time of the whole script (user + system, this process:
  every run trains in it with one thread), so that a loaded machine does not hide the cost.
"""

from __future__ import annotations

import argparse
import statistics
import time

from seglab.settings.config import TrainConfig
from seglab.store.run_store import RunStore
from seglab.training.engine import evaluate, load_data
from seglab.training.run import run_config

STARTS = ("scratch", "pretrained")


def zero_shot(home: str, run_id: str, config: TrainConfig) -> dict[str, float]:
    """IoU of run ``run_id``'s best weights on the val and test images ``config`` would use."""
    model = RunStore(home).load_model(run_id, "best")
    ds, idx = load_data(config)
    return {
        split: float(evaluate(model, ds.images[idx[split]], ds.masks[idx[split]], ds.num_classes)["iou"])
        for split in ("val", "test")
    }


def train_both(
    home: str, config: TrainConfig, pre_id: str, seeds: list[int], starts: tuple[str, ...] = STARTS
) -> tuple[dict[str, list[list[float]]], dict[str, list[float]], float]:
    """Per start: each seed's validation curve and test IoU; and the CPU seconds spent."""
    curves: dict[str, list[list[float]]] = {s: [] for s in STARTS}
    tests: dict[str, list[float]] = {s: [] for s in STARTS}
    spent = 0.0
    for seed in seeds:
        for name, changes in (("scratch", {}), ("pretrained", {"init_from": pre_id, "init_scope": "all"})):
            if name not in starts:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            out = run_config(config.replace(seed=seed, **changes), home=home)
            took = time.perf_counter() - t0
            spent += time.process_time() - c0
            curves[name].append([r["val_iou"] for r in out.result.history])
            tests[name].append(out.result.test_metrics["iou"])
            print(
                f"{name} seed {seed}, {config.epochs} epochs: run {out.run_id}, "
                f"test IoU {tests[name][-1]:.4f} ({took:.0f} s wall)"
            )
    return curves, tests, spent


def test_line(tests: dict[str, list[float]], epochs: int) -> None:
    for name in (s for s in STARTS if tests[s]):
        vals = ", ".join(f"{v:.3f}" for v in tests[name])
        print(f"test IoU {name}, {epochs} epochs: {vals} (mean {statistics.fmean(tests[name]):.3f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--pre-epochs", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--long-epochs", type=int, default=60, help="the long runs' epochs (0: skip them)")
    ap.add_argument("--long-starts", default="scratch,pretrained", help="which starts the long runs train")
    ap.add_argument("--pre-run", help="reuse this stored shapes run instead of pretraining again")
    ap.add_argument("--skip-short", action="store_true", help="train only the long runs")
    ap.add_argument("--window", type=int, default=10, help="epochs averaged to judge convergence")
    ap.add_argument("--n", type=int, default=40, help="cells images for fine-tuning (70% train)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    common = {"arch": "unet", "width": 16, "depth": 3, "size": 64, "loss": "bce_dice", "num_threads": 1}
    t0 = time.perf_counter()
    if args.pre_run:
        pre_id = args.pre_run
        pre_test = next(r.test_iou for r in RunStore(args.home).list_runs() if r.id == pre_id)
    else:
        pre = run_config(
            TrainConfig(dataset="shapes", n=400, epochs=args.pre_epochs, lr=3e-3, **common), home=args.home
        )
        pre_id, pre_test = pre.run_id, pre.result.test_metrics["iou"]
    print(f"pretrained on shapes: run {pre_id}, test IoU {pre_test:.4f} ({time.perf_counter() - t0:.0f} s)")
    fine = TrainConfig(dataset="cells", n=args.n, epochs=args.epochs, lr=1e-3, **common)
    before = zero_shot(args.home, pre_id, fine)
    print(
        f"shapes run on cells before fine-tuning: val IoU {before['val']:.4f}, test IoU {before['test']:.4f}"
    )

    if not args.skip_short:
        curves, tests, _ = train_both(args.home, fine, pre_id, seeds)
        print()
        print("| epoch | val IoU from scratch | val IoU from shapes |")
        print("|---|---|---|")
        for e in range(args.epochs):
            a = statistics.fmean(c[e] for c in curves["scratch"])
            b = statistics.fmean(c[e] for c in curves["pretrained"])
            print(f"| {e + 1} | {a:.3f} | {b:.3f} |")
        test_line(tests, args.epochs)

    if args.long_epochs:
        print()
        long_curves, long_tests, spent = train_both(
            args.home,
            fine.replace(epochs=args.long_epochs),
            pre_id,
            seeds,
            tuple(args.long_starts.split(",")),
        )
        w = args.window
        for name in (s for s in STARTS if long_curves[s]):
            for seed, curve in zip(seeds, long_curves[name], strict=True):
                best = max(range(len(curve)), key=curve.__getitem__) + 1
                last, previous = statistics.fmean(curve[-w:]), statistics.fmean(curve[-2 * w : -w])
                print(
                    f"{name} seed {seed}: best val IoU {max(curve):.3f} at epoch {best} of {len(curve)}; "
                    f"mean val IoU over the last {w} epochs {last:.3f}, the {w} before {previous:.3f}"
                )
        test_line(long_tests, args.long_epochs)
        print(f"long runs: {spent:.0f} CPU s of training")
    print(f"total {time.perf_counter() - t0:.0f} s wall, {time.process_time():.0f} CPU s")


if __name__ == "__main__":
    main()
