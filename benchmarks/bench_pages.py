"""Time each page's script run with Streamlit's AppTest, after a warm-up run.

Usage: python benchmarks/bench_pages.py [--repeats 5] [--moves-only]
Prints, per page, the first (cold) run and the median of the warm reruns; the target is a
warm run under one second on a 2-core CPU. Uses a temporary, empty SEGLAB_HOME.

Then it times slider moves, the classroom case (issue 14): a γ move on Loss lab and a shift
move on Metrics lab. "first" moves go to values no session has used yet (every cached
computation misses); "warm" moves go back to values seen before, which is what a class of
students mostly does, since ``st.cache_data`` is shared by all sessions. Wall time is what a
student waits; CPU time is what the move costs the server (on a busy machine the wall time
also counts other programs). Target: warm moves ≤ 50 ms.
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


# page, slider key, the values a move goes to (in order)
MOVES = [
    ("loss_lab", "gamma", [2.25, 2.5, 2.75, 3.0, 3.25, 3.5]),
    ("metrics_lab", "shift_x", [4, 5, 6, 7, 8, 9]),
]


def time_moves(path: Path, key: str, values: list, rounds: int = 2) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of a script run after a slider move, for moves to values
    not seen before ("first") and back to values seen before ("warm")."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(path), default_timeout=300)
    at.run()
    at.run()
    result = {}
    for label, sequence in (("first", values), ("warm", values * rounds)):
        wall, cpu = [], []
        for value in sequence:
            at.slider(key=key).set_value(value)
            start, start_cpu = time.perf_counter(), time.process_time()
            at.run()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            if at.exception:
                raise RuntimeError(f"{path.name} raised: {at.exception[0].value}")
        result[label] = (statistics.median(wall), statistics.median(cpu))
    return result


def report_moves() -> None:
    print(f"\n{'slider move':<24} {'first wall':>11} {'first CPU':>10} {'warm wall':>10} {'warm CPU':>9}")
    for page, key, values in MOVES:
        timing = time_moves(ROOT / "app_pages" / f"{page}.py", key, values)
        (fw, fc), (ww, wc) = timing["first"], timing["warm"]
        print(
            f"{page + ' ' + key:<24} {fw * 1e3:9.0f}ms {fc * 1e3:8.0f}ms {ww * 1e3:8.0f}ms {wc * 1e3:7.0f}ms"
        )
    print("target: warm move ≤ 50 ms (AppTest reruns the whole page; fragments rerun less in a browser)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--moves-only", action="store_true", help="only time the slider moves")
    args = parser.parse_args()
    os.environ.setdefault("SEGLAB_HOME", tempfile.mkdtemp(prefix="seglab-bench-"))
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    if args.moves_only:
        report_moves()
        return
    print(f"{'page':<20} {'cold s':>8} {'warm s':>8}")
    slowest = ("", 0.0)
    for page in sorted((ROOT / "app_pages").glob("*.py")):
        cold, warm = time_page(page, args.repeats)
        print(f"{page.stem:<20} {cold:8.2f} {warm:8.3f}")
        slowest = max(slowest, (page.stem, warm), key=lambda item: item[1])
    print(f"slowest warm page: {slowest[0]} at {slowest[1]:.3f} s (target < 1 s)")
    report_moves()


if __name__ == "__main__":
    main()
