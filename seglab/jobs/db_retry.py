"""Keeping a worker alive through database trouble: heartbeats with back-off, re-registering.

The queue database can be busy for a moment, or damaged and replaced by a fresh queue
(`seglab.jobs.dbhealth`) while a worker trains. None of that may kill the worker: its
heartbeat thread retries with growing pauses instead of dying, progress writes are best
effort, and after the queue was replaced the worker registers itself again so nobody
mistakes it for a dead one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_BACKOFF = 30.0  # seconds between retries at most


def backoff_delay(failures: int, interval: float, cap: float = MAX_BACKOFF) -> float:
    """Pause after ``failures`` failed tries in a row: ``interval · 2^failures``, at most ``cap``."""
    return min(cap, interval * 2.0 ** max(0, failures))


def heartbeat_loop(
    home: Path,
    worker_id: str,
    stopped: threading.Event,
    interval: float,
    *,
    connect: Callable[[Path], sqlite3.Connection],
    registration: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> None:
    """Write ``heartbeat = now`` for ``worker_id`` every ``interval`` seconds until ``stopped``.

    Never raises: a failed write closes the connection and retries after `backoff_delay`.
    When the worker's row is gone (the queue was replaced), ``registration`` — the row's
    columns — is inserted again.
    """
    conn: sqlite3.Connection | None = None
    failures = 0
    delay = interval
    try:
        while not stopped.wait(delay):
            try:
                if conn is None:
                    conn = connect(home)
                cur = conn.execute("UPDATE workers SET heartbeat = ? WHERE id = ?", (time.time(), worker_id))
                if cur.rowcount == 0 and registration is not None:
                    register_worker(conn, registration)
                failures, delay = 0, interval
            except Exception as exc:  # noqa: BLE001 - the heartbeat must outlive any error
                failures += 1
                delay = backoff_delay(failures, interval)
                if log is not None and failures in (1, 5, 20):
                    log(f"heartbeat failed ({type(exc).__name__}: {exc}); retrying in {delay:.0f} s")
                if conn is not None:
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
                    conn = None
    finally:
        if conn is not None:
            conn.close()


def register_worker(conn: sqlite3.Connection, registration: dict[str, Any]) -> None:
    """Insert (or refresh) the worker's row; ``registration`` maps column names to values."""
    row = dict(registration, heartbeat=time.time())
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT OR REPLACE INTO workers ({columns}) VALUES ({marks})", tuple(row.values()))


def best_effort(action: Callable[[], Any], default: Any = None) -> Any:
    """Run a database write that may fail without harm (a progress update): on a SQLite
    error return ``default`` instead of raising."""
    try:
        return action()
    except sqlite3.Error:
        return default


def recover_worker_db(queue: Any, exc: BaseException, registration: dict[str, Any], log: Any) -> float:
    """After a SQLite error in the worker loop: repair/reconnect the queue, register the worker
    again, and return how long to pause before the next try."""
    try:
        replaced = queue.reopen_if_damaged()
    except Exception as again:  # noqa: BLE001 - report and keep the worker alive
        print(f"seglab worker: could not check the queue database: {again}", file=sys.stderr)
        return MAX_BACKOFF / 6
    if replaced:
        log(f"the queue database failed ({exc}); it was checked and reopened")
        with contextlib.suppress(sqlite3.Error):
            register_worker(queue.conn, registration)
        return 0.0
    log(f"queue database error ({exc}); retrying shortly")
    return 1.0
