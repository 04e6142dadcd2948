"""Live job-queue status: the sidebar line on every page and the worker notice on Train.

Both are read inside ``st.fragment(run_every=...)`` functions, so they are as fresh as the
queue table (a status read once per page run goes stale during a whole study). A worker that
was just spawned is not yet registered in the queue database; :func:`worker_state` tells that
"starting" case apart from "no worker", so the page never claims that nobody is training jobs
while a worker is on its way.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import streamlit as st

from seglab.paths import seglab_home
from seglab.status import ACTIVE_STATUSES, RunStatus

REFRESH_SECONDS = 5  # 30 sessions re-read the queue 6 times a second in all: cheap, still live
LIVE_SECONDS = 2  # the Train page's live panel redraws this often


def worker_state(home: str | os.PathLike[str] | None = None, registered: int | None = None) -> str:
    """ "running" when a worker is registered in the queue, "starting" when one was spawned (or
    holds its slot's lock) but has not registered yet, else "none".

    ``registered``: the number of live workers, when the caller has just read it.
    """
    from seglab.jobs import JobQueue, worker_alive

    if registered is None:
        with JobQueue(home) as queue:
            registered = len(queue.live_workers())
    if registered:
        return "running"
    folder = Path(seglab_home(home)) / "_workers"
    slots = {path.stem for pattern in ("*.spawn", "*.lock") for path in folder.glob(pattern)}
    return "starting" if any(worker_alive(home, slot) for slot in slots) else "none"


def status_line(summary: dict[str, int], state: str | None) -> str:
    """The sidebar's one line: job counts by state, and the worker's state while jobs wait."""
    order = [RunStatus.RUNNING, RunStatus.QUEUED, *(s for s in RunStatus if s not in ACTIVE_STATUSES)]
    parts = [f"{summary[s]} {s}" for s in order if summary.get(s)]
    parts += [f"{n} {s}" for s, n in summary.items() if n and s not in order]
    line = "Job queue: " + (", ".join(parts) or "empty")
    if any(summary.get(s) for s in ACTIVE_STATUSES):
        line += {
            "running": " · worker training",
            "starting": " · worker starting…",
            "none": " · no worker running",
        }.get(state or "", "")
    return line


def queue_stamp() -> tuple[str, int, int]:
    """The queue's home and the change times of its database and write-ahead log: any write
    to the queue gives a new stamp, so :func:`shared_queue_status` is never staler than that."""
    from seglab.jobs.queue import DB_NAME
    from seglab.paths import seglab_home

    home = seglab_home()
    stamps = []
    for name in (DB_NAME, DB_NAME + "-wal"):
        try:
            stamps.append((home / name).stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return str(home), stamps[0], stamps[1]


def live_tick() -> int:
    """The current refresh period: shared reads of the queue and of a running job are reused
    within one, so a class's pages read them at most once per :data:`LIVE_SECONDS`."""
    return int(time.time() // LIVE_SECONDS)


def queue_key() -> tuple[str, int, int, int]:
    """:func:`queue_stamp` and :func:`live_tick`: the key of a shared read of the queue (new at
    every write to it, and every period at least, for workers whose heartbeat stops)."""
    return (*queue_stamp(), live_tick())


@functools.lru_cache(maxsize=8)
def shared_queue_status(home: str, _db: int, _wal: int, _tick: int) -> tuple[dict[str, int], str | None]:
    """Job counts and worker state, read once for every session of the class (not once per
    session every few seconds: 30 sidebars would open the queue six times a second)."""
    from seglab.jobs import queue_summary

    summary = queue_summary(home)
    state = worker_state(home) if any(summary.get(s) for s in ACTIVE_STATUSES) else None
    return summary, state


@st.fragment(run_every=REFRESH_SECONDS)
def sidebar_queue_status() -> None:
    """Job counts, re-read every few seconds. Queued jobs outlive the app: when it finds jobs
    waiting and no worker (e.g. after a restart), it starts one (``ensure_worker`` never starts
    a second)."""
    from seglab.errors import DiskFullError
    from seglab.jobs import ensure_worker

    try:
        summary, state = shared_queue_status(*queue_key())
    except DiskFullError as exc:
        st.caption(f":material/warning: Job queue unavailable: {exc}")
        return
    if summary.get(RunStatus.QUEUED) and state == "none":
        ensure_worker()
        state = worker_state()
    st.caption(status_line(summary, state))
    from seglab.ui.store_health import queue_notice_caption

    queue_notice_caption()
