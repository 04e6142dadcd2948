"""A class on one laptop: N students move sliders at once while a study trains.

Usage: python benchmarks/bench_load.py [--sessions 10 30] [--moves 6] [--no-training] [--watchers K]

Starts the real app (``streamlit run app.py``) and opens N sessions on it without browsers:
each student is a thread speaking Streamlit's own websocket protocol, as the browser does
(``tests/socket_session.py``: a ``rerun_script`` message with the moved widget's new value,
then the page's messages until ``script_finished``; a page that raises stops the benchmark). Half the students sit on Loss lab moving γ, half on Metrics lab moving
the prediction's shift; each first loads its page, then makes ``--moves`` moves one after the
other as fast as the page answers (far harder than a real class, whose students pause). A
move that lands inside an ``st.fragment`` is sent as a fragment rerun, as the browser does.
Meanwhile a background worker trains a real job (``quick`` preset, U-Net) in its own process,
and ``--watchers K`` more students wait on the Train page, whose browsers rerun its live panel
every two seconds (the page's ``run_every`` fragments, read from Streamlit's ``auto_rerun``
messages).

Reported first: the server CPU one move costs with one student alone on each page. Then per
N: median (p50) and 95th percentile (p95) of the time from sending a move to the end of that
page run, i.e. what a student waits. Goal: p95 ≤ 1 s at N = 30. The students'
threads run on the same machine as the server, so they take some of its CPU too; report the
machine's load (printed) with the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.socket_session import SocketSession  # noqa: E402

# page (URL path), slider label, the values a student cycles through
STUDENT_MOVES = [
    ("loss_lab", "Focal γ (gamma)", [2.25, 2.5, 2.75, 3.0, 2.75, 2.5]),
    ("metrics_lab", "Shift prediction right (pixels)", [4, 5, 6, 7, 6, 5]),
]


def start_training(home: Path) -> int:
    """Queue one long training job and start a worker for it; returns the job id."""
    from seglab.jobs import JobQueue, ensure_worker
    from seglab.settings.presets import preset

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
    """Cancel the job, then stop the workers started for this home (an idle worker would
    otherwise wait out its idle timeout)."""
    import signal
    import subprocess

    from seglab.jobs import JobQueue

    with JobQueue(home) as queue:
        queue.cancel(job_id)
    found = subprocess.run(["pgrep", "-f", f"seglab worker --home {home}"], capture_output=True, text=True)
    for pid in found.stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def server_pid(url: str) -> int | None:
    """The process id of the Streamlit server listening on ``url``'s port (Linux)."""
    import subprocess

    port = url.rsplit(":", 1)[1]
    found = subprocess.run(
        ["pgrep", "-f", f"server.port {port}"], capture_output=True, text=True
    ).stdout.split()
    return int(found[0]) if found else None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time the process has used so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def watch_train_page(url: str, stop: threading.Event, errors: list[str]) -> None:
    """A student who waits on the Train page: its browser reruns the page's timed fragments
    (the live queue panel every two seconds, the sidebar's queue line) until ``stop``."""
    try:
        session = SocketSession(url, "train")
        session.run()
        due = {fragment: time.monotonic() + interval for fragment, interval in session.auto_reruns.items()}
        while not stop.is_set():
            fragment, when = min(due.items(), key=lambda item: item[1])
            if stop.wait(max(0.0, when - time.monotonic())):
                break
            session.run(None, fragment)
            due[fragment] = time.monotonic() + session.auto_reruns[fragment]
        session.close()
    except Exception as exc:  # reported, as the movers' failures are
        errors.append(f"train watcher: {exc!r}")


def run_class(
    url: str, n: int, moves: int, cpu: list[float] | None = None, watchers: int = 0
) -> dict[str, list[float]]:
    """N students moving sliders at once (and ``watchers`` more waiting on the Train page);
    returns the move times per page. ``cpu`` receives the server's CPU seconds spent from the
    moment all pages are open to the last move."""
    times: dict[str, list[float]] = {page: [] for page, _, _ in STUDENT_MOVES}
    errors: list[str] = []
    pid = server_pid(url)
    start_cpu: list[float] = []
    ready = threading.Barrier(n, action=lambda: start_cpu.append(cpu_seconds(pid)))
    stop_watching = threading.Event()
    watching = [
        threading.Thread(target=watch_train_page, args=(url, stop_watching, errors), daemon=True)
        for _ in range(watchers)
    ]
    for thread in watching:
        thread.start()

    def student(page: str, label: str, values: list) -> None:
        try:
            session = SocketSession(url, page)
            session.run()  # the page load
            ready.wait(timeout=600)  # everyone has the page open: now they all move sliders
            for value in (values * (moves // len(values) + 1))[:moves]:
                times[page].append(session.move(label, value).seconds)
            session.close()
        except Exception as exc:  # a benchmark reports failures instead of hiding them
            errors.append(f"{page}: {exc!r}")
            ready.abort()

    threads = [
        threading.Thread(target=student, args=STUDENT_MOVES[i % len(STUDENT_MOVES)], daemon=True)
        for i in range(n)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop_watching.set()
    for thread in watching:
        thread.join()
    if errors:
        raise RuntimeError("students hit errors:\n" + "\n".join(errors[:5]))
    if cpu is not None and start_cpu:
        cpu.append(cpu_seconds(pid) - start_cpu[0])
    return times


# measured alone too (the first lesson page: a class moves its threshold together)
BASICS_MOVE = ("basics", "Threshold t", [0.3, 0.35, 0.4, 0.45, 0.4, 0.35])


def solo_cost(url: str, moves: int = 30) -> dict[str, float]:
    """Server CPU per move (ms) for one student alone on each page: what a move costs the
    server without queueing, the number the class's waits multiply."""
    pid, cost = server_pid(url), {}
    for page, label, values in [*STUDENT_MOVES, BASICS_MOVE]:
        session = SocketSession(url, page)
        session.run()
        start = cpu_seconds(pid)
        for i in range(moves):
            session.move(label, values[i % len(values)])
        cost[page] = (cpu_seconds(pid) - start) / moves * 1e3
        session.close()
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--moves", type=int, default=6)
    parser.add_argument("--no-training", action="store_true", help="no training job in the background")
    parser.add_argument(
        "--watchers", type=int, default=0, help="more students, waiting on the Train page (its live panel)"
    )
    args = parser.parse_args()
    from tests.browser_support import streamlit_server

    home = Path(tempfile.mkdtemp(prefix="seglab-load-"))
    os.environ["SEGLAB_HOME"] = str(home)
    with streamlit_server(home) as url:
        job_id = None if args.no_training else start_training(home)
        try:
            run_class(url, 2, 6)  # warm-up: imports and the caches of the values students use
            print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            solo = ", ".join(f"{page} {ms:.0f} ms" for page, ms in solo_cost(url).items())
            print(f"one student alone, server CPU per move: {solo}")
            print(f"{'N':>3} {'page':<12} {'moves':>6} {'p50 s':>7} {'p95 s':>7}")
            for n in args.sessions:
                cpu: list[float] = []
                times = run_class(url, n, args.moves, cpu, args.watchers)
                every = [t for page_times in times.values() for t in page_times]
                for page, page_times in [*times.items(), ("all", every)]:
                    p50, p95 = statistics.median(page_times), percentile(page_times, 0.95)
                    print(f"{n:>3} {page:<12} {len(page_times):>6} {p50:7.2f} {p95:7.2f}", flush=True)
                if cpu:
                    print(
                        f"    server CPU per move: {cpu[0] / len(every) * 1e3:.0f} ms (all moves of N = {n}"
                        + (", the watchers' panel reruns counted in" if args.watchers else "")
                        + ")"
                    )
            training = "with" if job_id is not None else "without"
            watching = f", {args.watchers} more students on the Train page" if args.watchers else ""
            print(
                f"({training} a training job running{watching}; load average after: {os.getloadavg()[0]:.1f}; goal: p95 ≤ 1 s at N = 30)"
            )
        finally:
            if job_id is not None:
                stop_training(home, job_id)


if __name__ == "__main__":
    main()
