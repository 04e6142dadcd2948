"""Is the job-queue database usable? If not: keep a copy, start a fresh queue, say so.

The queue (``$SEGLAB_HOME/jobs.sqlite``) only tracks *work in flight*; every finished run
lives in its own folder of the experiment store, which stays the source of truth. So when
the database is damaged — cut short, its header overwritten, emptied to 0 bytes — the
safest repair is to move it aside as ``jobs.sqlite.damaged-<timestamp>`` (with its
``-wal``/``-shm`` companions), start an empty queue, and leave a notice (`queue_notice`)
that the pages and the CLI show in plain words.

How damage is recognised (`damage_reason`):

* a file whose first 16 bytes are not SQLite's header (``file is not a database``);
* ``PRAGMA quick_check`` reporting anything but ``ok``, or SQLite refusing to read it
  (``database disk image is malformed``);
* a 0-byte file, or one missing the queue's tables, while the sidecar marker
  ``.jobs.sqlite.in-use`` says this home's queue was created before (SQLite would
  otherwise silently treat a truncated file as a new, empty database).

A missing file is not damage: deleting ``jobs.sqlite`` is a deliberate way to reset a queue.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from seglab.filelock import exclusive_lock

DB_NAME = "jobs.sqlite"
MARKER_NAME = ".jobs.sqlite.in-use"
NOTICE_NAME = ".jobs.sqlite.damaged.json"
LOCK_NAME = ".jobs.sqlite.repair.lock"
NOTICE_SHOWN_FOR = 7 * 24 * 3600.0  # a notice older than a week is no longer shown
SQLITE_HEADER = b"SQLite format 3\x00"
QUEUE_TABLES = ("groups", "jobs", "workers")


def is_busy(exc: BaseException) -> bool:
    """True for the transient errors of a busy database (another writer holds the lock)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def damage_reason(home: Path) -> str | None:
    """Why the queue database of ``home`` is damaged, in plain words (None when it is fine
    or absent). Reads the file; changes nothing."""
    path = home / DB_NAME
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    marker = (home / MARKER_NAME).exists()
    if size == 0:
        return "the file is empty (0 bytes) although the queue held jobs before" if marker else None
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"the file cannot be read ({exc.strerror or exc})"
    if header != SQLITE_HEADER:
        return "the file is not a SQLite database any more (its first bytes were overwritten)"
    try:
        conn = sqlite3.connect(path, timeout=30.0)
    except sqlite3.Error as exc:
        return f"SQLite cannot open it ({exc})"
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        rows = conn.execute("PRAGMA quick_check").fetchall()
        if [r[0] for r in rows] != ["ok"]:
            return f"SQLite's integrity check failed ({rows[0][0]})"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if marker and not set(QUEUE_TABLES) <= tables:
            return "the queue's tables are gone although the queue held jobs before"
    except sqlite3.Error as exc:
        if is_busy(exc):
            return None  # busy is not damage; the caller retries
        return f"SQLite cannot read it ({exc})"
    finally:
        conn.close()
    return None


def repair_lock(home: Path) -> contextlib.AbstractContextManager[None]:
    """One process at a time checks and moves a damaged database."""
    return exclusive_lock(home / LOCK_NAME)


def repair_if_damaged(home: Path) -> Path | None:
    """Move a damaged queue database aside and leave a notice; returns the copy's path
    (None when the database was fine). The next connection starts a fresh queue."""
    home.mkdir(parents=True, exist_ok=True)
    with repair_lock(home):
        return repair_locked(home)


def repair_locked(home: Path) -> Path | None:
    """`repair_if_damaged` for a caller that already holds `repair_lock`."""
    reason = damage_reason(home)
    if reason is None:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    copy = home / f"{DB_NAME}.damaged-{stamp}"
    n = 1
    while copy.exists():
        n += 1
        copy = home / f"{DB_NAME}.damaged-{stamp}-{n}"
    os.replace(home / DB_NAME, copy)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(home / f"{DB_NAME}{suffix}", home / f"{copy.name}{suffix}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(home / MARKER_NAME)
    notice = {"time": time.time(), "copy": copy.name, "reason": reason}
    tmp = home / f".{NOTICE_NAME}.tmp"
    tmp.write_text(json.dumps(notice), encoding="utf-8")
    os.replace(tmp, home / NOTICE_NAME)
    return copy


def looks_emptied(home: Path) -> bool:
    """Cheap test (two ``stat`` calls): a 0-byte queue file where a queue existed before."""
    try:
        return (home / DB_NAME).stat().st_size == 0 and (home / MARKER_NAME).exists()
    except OSError:
        return False


def forget_marker(home: Path) -> None:
    """The queue file was removed on purpose: a new, empty queue is not damage."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(home / MARKER_NAME)


def mark_in_use(home: Path) -> None:
    """Leave the sidecar marker once the queue database exists with its tables."""
    marker = home / MARKER_NAME
    if not marker.exists():
        with contextlib.suppress(OSError):
            marker.write_text("the job queue of this folder was created; see seglab/jobs/dbhealth.py\n")


def queue_notice(home: Path, *, max_age: float = NOTICE_SHOWN_FOR) -> str | None:
    """The plain-words notice about a damaged queue that was replaced (None if there is none,
    or it was dismissed, or it is older than ``max_age`` seconds)."""
    try:
        data: Any = json.loads((home / NOTICE_NAME).read_text(encoding="utf-8"))
        when, copy, reason = float(data["time"]), str(data["copy"]), str(data["reason"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if time.time() - when > max_age:
        return None
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
    return (
        f"The job queue's database was damaged ({reason}) and was replaced by an empty queue on "
        f"{stamp}. Finished runs are safe in their folders; jobs that were queued or training "
        f"then must be started again. A copy of the damaged file is kept as {copy} in {home}."
    )


def dismiss_queue_notice(home: Path) -> None:
    """Stop showing the notice (the damaged copy is kept)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(home / NOTICE_NAME)
