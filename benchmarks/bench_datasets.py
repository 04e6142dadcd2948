"""How fast are the procedural datasets? Time to draw 1,000 samples at 64×64, best of 3.

Usage::

    python benchmarks/bench_datasets.py [--n 1000] [--size 64] [--repeats 3] [--threads 2] [--device cpu]

Prints one line per dataset with the best wall time, samples per second and the ratio to
the one-second goal for ``shapes``; also the measured foreground share of ``shapes`` against
the requested ``fg_fraction``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seglab.data import list_datasets, make_dataset  # noqa: E402

GOAL_SECONDS = 1.0  # shapes: 1,000 samples at 64×64 on the CPU


def best_time(name: str, n: int, size: int, repeats: int, device: str) -> float:
    """Best wall time of ``repeats`` generations, after one warm-up run."""
    make_dataset(name, n=min(n, 64), size=size, device=device)  # warm-up
    best = float("inf")
    for seed in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        make_dataset(name, n=n, size=size, seed=seed, device=device)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"device={args.device} threads={torch.get_num_threads()} n={args.n} size={args.size} best of {args.repeats}"
    )
    for name in list_datasets():
        seconds = best_time(name, args.n, args.size, args.repeats, args.device)
        line = f"{name:>8}: {seconds:7.3f} s  ({args.n / seconds:8.0f} samples/s)"
        if name == "shapes":
            line += f"  goal {GOAL_SECONDS:.1f} s → ratio {seconds / GOAL_SECONDS:.2f}"
        print(line, flush=True)
    print("shapes fg_fraction accuracy (n=1000, 64×64):")
    for fg in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5):
        ds = make_dataset("shapes", n=1000, size=64, seed=0, fg_fraction=fg, device=args.device)
        share = ds.masks.float().mean().item()
        print(f"  fg_fraction {fg:4.2f}: measured {share:.4f}  ({100 * (share / fg - 1):+5.1f} %)")


if __name__ == "__main__":
    main()
