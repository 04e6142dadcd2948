"""The README's cross-validation example, measured and read with its fold spread.

    python benchmarks/cv_table.py --home /tmp/cv

Runs the README's ``tune`` command (through the CLI, into ``--home``), then prints from the
stored runs, by the protocol of `seglab.analysis.tune` (the numbers the Tune tab and
``seglab tune`` print; `tests/test_tune.py` checks that they agree):

* the CV table: per configuration each fold's IoU at the epoch the *other* folds chose, the
  epoch count chosen for the final run, mean ± std;
* the chosen configuration (`tune.best_row`) against the runner-up, fold by fold (the folds
  are the same images for both, so the differences are paired): whether the choice is outside
  the fold spread;
* how many fold runs still improved at their last epoch (under-trained), and the number of
  optimiser steps of a fold run and of the final run;
* the final run's best and last epoch, and its test mIoU from the ``best`` and ``last``
  checkpoints (what "keeps the best epoch" changes).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time

from seglab.analysis import tune
from seglab.analysis.compare import t_quantile_975
from seglab.store.run_store import RunRecord, RunStore
from seglab.training.engine import evaluate, load_data

TUNE = (
    "tune --dataset aerial --loss ce --size 48 --n 160 --epochs 4 --depth 2 --batch-size 16 "
    "--no-augment --threads 1 --grid lr=0.003,0.01 --grid width=8,16 --folds 3 --json"
)


def cv_table(records: list[RunRecord]) -> list[tune.CVRow]:
    """The CV rows of the one CV study in ``records``, by `seglab.analysis.tune`'s protocol."""
    studies = tune.stored_cv_rows(records)
    if len(studies) != 1:
        raise SystemExit(f"expected one cross-validation study in the home, found {len(studies)}")
    return next(iter(studies.values()))


def _params(row: tune.CVRow) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.params.items())


def steps(n_train: int, batch_size: int, epochs: int) -> int:
    return math.ceil(n_train / batch_size) * epochs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--skip-training", action="store_true", help="read an existing --home")
    args = ap.parse_args()
    if not args.skip_training:
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "seglab", *TUNE.split(), "--home", args.home]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        print(f"python -m seglab {TUNE}: {time.perf_counter() - t0:.0f} s wall")
    store = RunStore(args.home)
    records = [r for r in store.list_runs() if r.finished_ok]
    folds = [r for r in records if tune.is_cv_config(r.config)]
    finals = [r for r in records if tune.is_final_config(r.config)]
    rows = cv_table(records)
    keys = list(rows[0].params) if rows else []
    print("\n| " + " | ".join(keys) + " | fold IoUs (at epoch) | epochs chosen | CV IoU mean ± std |")
    print("|" + "---|" * (len(keys) + 3))
    for row in rows:
        epochs = row.fold_epochs
        text = ", ".join(f"{iou:.3f} ({epochs[f]})" for f, iou in sorted(row.fold_ious.items()))
        values = " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row.params.values())
        print(f"| {values} | {text} | {row.epoch} | {row.mean:.3f} ± {row.std:.3f} |")
    best = tune.best_row(rows)
    others = sorted((r for r in rows if r is not best and r.complete), key=lambda r: -r.mean)
    if best is None or not others:
        print("\nno two configurations finished all their folds: nothing to compare")
    else:
        second = others[0]
        shared = sorted(set(best.fold_ious) & set(second.fold_ious))
        diffs = [best.fold_ious[f] - second.fold_ious[f] for f in shared]
        mean, sd = statistics.fmean(diffs), statistics.stdev(diffs)
        half = t_quantile_975(len(diffs) - 1) * sd / math.sqrt(len(diffs))
        print(
            f"\nchosen {_params(best)} vs runner-up {_params(second)}: fold-paired differences "
            f"{', '.join(f'{d:+.3f}' for d in diffs)}; mean {mean:+.3f} ± {sd:.3f}, "
            f"95 % interval [{mean - half:+.3f}, {mean + half:+.3f}]: "
            + ("outside the fold spread" if mean - half > 0 else "within the fold spread, a tie")
        )
    improving = 0
    for r in folds:
        curve = [h["val_iou"] for h in store.history(r.id)]
        improving += max(range(len(curve)), key=curve.__getitem__) == len(curve) - 1
    print(f"fold runs whose best validation epoch is their last: {improving} of {len(folds)}")
    fold_cfg = folds[0].config
    _, idx = load_data(fold_cfg)
    print(
        f"optimiser steps: a fold run {steps(len(idx['train']), fold_cfg.batch_size, fold_cfg.epochs)} "
        f"({len(idx['train'])} training images)",
        end="",
    )
    for r in finals:
        ds, idx = load_data(r.config)
        n_steps = steps(len(idx["train"]), r.config.batch_size, r.config.epochs)
        print(f"; the final run {n_steps} ({len(idx['train'])} training images, {len(idx['test'])} test)")
        curve = [h["val_iou"] for h in store.history(r.id)]
        print(
            f"final run {r.id}: best epoch {r.best_epoch} of {len(curve)} (curve {[round(v, 3) for v in curve]})"
        )
        x, y = ds.images[idx["test"]], ds.masks[idx["test"]]
        for which in ("best", "last"):
            score = evaluate(store.load_model(r.id, which), x, y, ds.num_classes)
            print(
                f"  test mIoU from {which}.pt: {score['miou']:.4f} (pixel accuracy {score['accuracy']:.4f})"
            )


if __name__ == "__main__":
    main()
