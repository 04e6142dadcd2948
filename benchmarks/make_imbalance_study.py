"""Make the shipped imbalance study, ``assets/imbalance_study.zip``, with the project's own CLI.

    python benchmarks/make_imbalance_study.py [--out assets/imbalance_study.zip] [--home DIR]

One command, deterministic (training is deterministic for a seed at one thread): the quick preset,
U-Net, the five losses that take focal loss apart (plain BCE, class-weighted BCE = focal γ=0 α=auto,
focal α=0.5 = focusing only, focal α=auto γ=2 = both, Dice), foreground shares 0.02, 0.01, 0.05 and
0.2, seeds 0-4 with each seed drawing its own data (5 data draws): 100 runs, two side by side,
one CPU thread each, under ``nice``. The runs are then put in the study `IMBALANCE_GROUP` and exported
without weights (histories, summaries, the first four predicted masks per split; per-epoch
predictions for seed 0 at 2 % foreground only, see `EPOCHS_KEPT`). Prints the time taken and the zip's size (it must stay within 15 MB).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seglab.store.reference import IMBALANCE_GROUP, IMBALANCE_NAME, IMBALANCE_ZIP  # noqa: E402

LOSSES = ("bce", "bce_weighted", "focal_focus", "focal", "dice")
SHARES = (0.02, 0.01, 0.05, 0.2)  # the rare shares first (see the order below)
SEEDS = "0-4"
MAX_MB = 15.0
# every run's predictions per epoch would not fit in MAX_MB: they are kept for one seed of every loss
# at 2 % foreground (the share the lesson asks about), and dropped elsewhere before the export
EPOCHS_KEPT = (0.02, 0)


def seglab(*args: str, nice: bool = False) -> None:
    command = [sys.executable, "-m", "seglab", *args]
    if nice:
        command = ["nice", "-n", "10", *command]
    subprocess.run(command, cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(IMBALANCE_ZIP), help="the zip to write")
    parser.add_argument("--home", help="store to train into (default: a fresh temporary one)")
    parser.add_argument("--slots", default="2", help="runs side by side (default 2)")
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="train nothing: export the finished runs already in --home (a study stopped early)",
    )
    args = parser.parse_args(argv)
    if args.export_only and not args.home:
        parser.error("--export-only needs --home")
    home = args.home or tempfile.mkdtemp(prefix="seglab-imbalance-")
    t0 = time.perf_counter()
    if not args.export_only:
        train(home, args.slots)
    minutes = (time.perf_counter() - t0) / 60

    from seglab.store.run_store import RunStore

    store = RunStore(home)
    runs = [r for r in store.list_runs() if r.status == "done" or not args.export_only]
    for run in runs:  # one study of its own once loaded, never mixed with a class's runs
        store.update_summary(run.id, group=IMBALANCE_GROUP)
    ids = [r.id for r in runs]
    for run in runs:  # per-epoch predictions (~250 kB a run) only where the lesson looks: see EPOCHS_KEPT
        params = run.config.dataset_params
        if (params.get("fg_fraction"), run.config.seed) != EPOCHS_KEPT:
            shutil.rmtree(store.run_dir(run.id) / "epoch_predictions", ignore_errors=True)
    seglab("export", "--home", home, *ids, "--no-weights", "--previews", "4", "-o", args.out)
    size = Path(args.out).stat().st_size / 1e6
    done = sum(r.status == "done" for r in runs)
    print(f"{len(runs)} runs ({done} done) in {minutes:.1f} min; {args.out}: {size:.1f} MB")
    if size > MAX_MB:
        print(f"the zip is larger than {MAX_MB:g} MB", file=sys.stderr)
        return 1
    return 0 if done == len(runs) else 1


def train(home: str, slots: str) -> None:
    """The study itself, through the CLI (the queue and two workers, one thread each)."""
    seglab(
        "study",
        "--home", home,
        "--preset", "quick",
        "--archs", "unet",
        # the share outermost, then the loss (seed innermost): a study stopped early still holds
        # every loss at the shares it reached
        "--grid", "fg_fraction=" + ",".join(f"{s:g}" for s in SHARES),
        "--grid", "loss=" + ",".join(LOSSES),
        "--seeds", SEEDS,
        "--data-per-seed",
        "--slots", slots,
        "--slot-threads", "1",
        "--name", IMBALANCE_NAME,
        nice=True,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
