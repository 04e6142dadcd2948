"""Time each page's script run with Streamlit's AppTest, after a warm-up run.

Usage: python benchmarks/bench_pages.py [--repeats 5]
Prints, per page, the first (cold) run and the median of the warm reruns; the target is a
warm run under one second on a 2-core CPU. Uses a temporary, empty SEGLAB_HOME.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_page(path: Path, repeats: int) -> tuple[float, float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(path), default_timeout=300)
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{path.name} raised: {at.exception[0].value}")
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("SEGLAB_HOME", tempfile.mkdtemp(prefix="seglab-bench-"))
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    print(f"{'page':<20} {'cold s':>8} {'warm s':>8}")
    slowest = ("", 0.0)
    for page in sorted((ROOT / "app_pages").glob("*.py")):
        cold, warm = time_page(page, args.repeats)
        print(f"{page.stem:<20} {cold:8.2f} {warm:8.3f}")
        slowest = max(slowest, (page.stem, warm), key=lambda item: item[1])
    print(f"slowest warm page: {slowest[0]} at {slowest[1]:.3f} s (target < 1 s)")


if __name__ == "__main__":
    main()
