"""A class on one laptop: N students move sliders at once while a study trains.

Usage: python benchmarks/bench_load.py [--sessions 10 30] [--moves 6] [--no-training]

Each student is one Streamlit session (an ``AppTest`` of the page, no browser), run in its own
thread of this one process, as a Streamlit server runs its sessions; half of them sit on Loss
lab moving γ, half on Metrics lab moving the prediction's shift. Each student first loads the
page, then makes ``--moves`` moves, one at a time, as fast as the page answers (a much harder
load than real students, who pause between moves). Meanwhile a background worker trains a
real job (the ``quick`` preset, U-Net) in its own process, as during a lesson. The time of
each move (from the slider change to the end of the page's run) is collected and reported as
median (p50) and 95th percentile (p95) per N. Goal: p95 ≤ 1 s at N = 30.

AppTest reruns the whole page on every move; in a browser, moves inside an ``st.fragment``
rerun only the fragment, so these figures are an upper bound on the server's work. The
machine's other load counts too: report it (``uptime``) next to the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# page, slider key, the values a student cycles through
STUDENT_MOVES = [
    ("loss_lab", "gamma", [2.25, 2.5, 2.75, 3.0, 2.75, 2.5]),
    ("metrics_lab", "shift_x", [4, 5, 6, 7, 6, 5]),
]


def start_training(home: Path) -> int:
    """Queue one long training job and start a worker for it; returns the job id."""
    from seglab.jobs import JobQueue, ensure_worker
    from seglab.presets import preset

    with JobQueue(home) as queue:
        job_id = queue.enqueue(preset("quick", arch="unet", loss="bce", epochs=200))
    ensure_worker(home)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until it really trains
        with JobQueue(home) as queue:
            if queue.job(job_id).status == "running":
                return job_id
        time.sleep(0.5)
    raise RuntimeError("the training job did not start within 2 minutes")


def stop_training(home: Path, job_id: int) -> None:
    from seglab.jobs import JobQueue

    with JobQueue(home) as queue:
        queue.cancel(job_id)


def student(page: str, key: str, values: list, moves: int, times: list[float], errors: list[str]) -> None:
    from streamlit.testing.v1 import AppTest

    try:
        at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=600)
        at.run()
        for value in (values * (moves // len(values) + 1))[:moves]:
            at.slider(key=key).set_value(value)
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
            if at.exception:
                errors.append(f"{page}: {at.exception[0].value}")
                return
    except Exception as exc:  # a benchmark reports failures instead of hiding them
        errors.append(f"{page}: {exc!r}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_class(n: int, moves: int) -> dict[str, list[float]]:
    """N students at once; returns the move times per page."""
    times: dict[str, list[float]] = {page: [] for page, _, _ in STUDENT_MOVES}
    errors: list[str] = []
    threads = []
    for i in range(n):
        page, key, values = STUDENT_MOVES[i % len(STUDENT_MOVES)]
        thread = threading.Thread(target=student, args=(page, key, values, moves, times[page], errors))
        threads.append(thread)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError("students hit errors:\n" + "\n".join(errors[:5]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--moves", type=int, default=6)
    parser.add_argument("--no-training", action="store_true", help="no training job in the background")
    args = parser.parse_args()
    home = Path(os.environ.setdefault("SEGLAB_HOME", tempfile.mkdtemp(prefix="seglab-load-")))
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    job_id = None if args.no_training else start_training(home)
    try:
        run_class(2, 2)  # warm-up: imports and the caches of the values students use
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'N':>3} {'page':<12} {'moves':>6} {'p50 s':>7} {'p95 s':>7}")
        for n in args.sessions:
            times = run_class(n, args.moves)
            every = [t for page_times in times.values() for t in page_times]
            for page, page_times in [*times.items(), ("all", every)]:
                p50, p95 = statistics.median(page_times), percentile(page_times, 0.95)
                print(f"{n:>3} {page:<12} {len(page_times):>6} {p50:7.2f} {p95:7.2f}")
        training = "with" if job_id is not None else "without"
        print(f"({training} a training job running; goal: p95 ≤ 1 s at N = 30)")
    finally:
        if job_id is not None:
            stop_training(home, job_id)


if __name__ == "__main__":
    main()
