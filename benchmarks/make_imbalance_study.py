"""Make the shipped imbalance study, ``assets/imbalance_study.zip``, with the project's own CLI.

    python benchmarks/make_imbalance_study.py [--out assets/imbalance_study.zip] [--home DIR]

One command, deterministic (training is deterministic for a seed at one thread): the quick preset,
U-Net, the five losses that take focal loss apart (plain BCE, class-weighted BCE = focal γ=0 α=auto,
focal α=0.5 = focusing only, focal α=auto γ=2 = both, Dice), foreground shares 0.02, 0.01, 0.05 and
0.2, seeds 0-4 with each seed drawing its own data (5 data draws): 100 runs, two side by side,
one CPU thread each, under ``nice``. The runs are then put in the study `IMBALANCE_GROUP` and exported
without weights (histories, summaries, the first four predicted masks per split, per-epoch
predictions). Prints the time taken and the zip's size (it must stay within 15 MB).
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
    home = args.home or tempfile.mkdtemp(prefix="seglab-imbalance-")
    t0 = time.perf_counter()
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
        "--slots", args.slots,
        "--slot-threads", "1",
        "--name", IMBALANCE_NAME,
        nice=True,
    )  # fmt: skip
    minutes = (time.perf_counter() - t0) / 60

    from seglab.store.run_store import RunStore

    store = RunStore(home)
    runs = store.list_runs()
    for run in runs:  # one study of its own once loaded, never mixed with a class's runs
        store.update_summary(run.id, group=IMBALANCE_GROUP)
    seglab("export", "--home", home, "--all", "--no-weights", "--previews", "4", "-o", args.out)
    size = Path(args.out).stat().st_size / 1e6
    done = sum(r.status == "done" for r in runs)
    print(f"{len(runs)} runs ({done} done) in {minutes:.1f} min; {args.out}: {size:.1f} MB")
    if size > MAX_MB:
        print(f"the zip is larger than {MAX_MB:g} MB", file=sys.stderr)
        return 1
    return 0 if done == len(runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
