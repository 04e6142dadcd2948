"""The job queue: training jobs persisted in SQLite at ``$SEGLAB_HOME/jobs.sqlite``.

Any process can read and write it: the web app enqueues and polls, workers claim jobs and
write progress, the CLI lists and cancels. SQLite runs in WAL mode with a busy timeout so a
reader never blocks the worker and short writes simply wait their turn.

Job states::

    queued ──► running ──► done | failed | diverged | cancelled | interrupted
       └────► cancelled                                   interrupted ──(resume)──► queued

A running job whose worker died (killed, machine crashed) becomes ``interrupted`` as soon as
anyone looks at the queue: every ``JobQueue`` call first checks that the workers owning
running jobs are alive (their lock file is held and their heartbeat is fresh).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import secrets
import shutil
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seglab.errors import (
    ConfigError,
    DiskFullError,
    InternalError,
    SegLabError,
    disk_full_message,
    is_disk_full,
)
from seglab.jobs import dbhealth
from seglab.paths import seglab_home
from seglab.settings.classroom import Actor, NotAllowedError, Permission, require, require_dataset
from seglab.settings.config import TrainConfig
from seglab.settings.limits import check_study, check_study_size, load_limits
from seglab.settings.study import Study
from seglab.status import ALL_STATUSES, FINISHED_STATUSES, RESUMABLE_STATUSES, RunStatus, is_active

# the vocabulary and its groups live in seglab.status; these are its plain-string views
STATES = tuple(s.value for s in ALL_STATUSES)
FINAL_STATES = tuple(s.value for s in ALL_STATUSES if s in FINISHED_STATUSES)
ACTIVE_STATES = tuple(s.value for s in ALL_STATUSES if is_active(s))
# SQL never spells a status: it binds RunStatus values as ``?`` parameters (a test greps for
# quoted statuses in SQL), so renaming a status cannot leave a query behind.


def sql_marks(values: tuple[Any, ...] | list[Any]) -> str:
    """``?, ?, ?``: one SQL parameter per value, for ``status IN (...)``."""
    return ", ".join("?" * len(values))


HEARTBEAT_INTERVAL = 2.0  # seconds between a worker's heartbeats
STALE_AFTER = 30.0  # a heartbeat older than this means the worker is gone (other hosts)
DB_NAME = dbhealth.DB_NAME

_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    base_config TEXT NOT NULL,
    grid TEXT NOT NULL,
    study TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    run_id TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    progress TEXT NOT NULL DEFAULT '{}',
    result TEXT NOT NULL DEFAULT '{}',
    message TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    resume INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, id);
CREATE INDEX IF NOT EXISTS jobs_grp ON jobs(grp);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    device TEXT NOT NULL,
    slot TEXT NOT NULL,
    lock_path TEXT NOT NULL,
    started REAL NOT NULL,
    heartbeat REAL NOT NULL,
    job_id INTEGER,
    stopped REAL
);
"""


@dataclass
class Job:
    """One queued or finished training job, as stored in the queue."""

    id: int
    group: str | None
    status: str
    config: TrainConfig
    run_id: str | None
    created: float
    started: float | None
    finished: float | None
    progress: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    cancel_requested: bool = False
    resume: bool = False
    worker_id: str | None = None
    owner: str = ""  # the student who queued it (classroom mode); '' = nobody in particular

    @property
    def label(self) -> str:
        return self.config.label()

    @property
    def is_active(self) -> bool:
        return is_active(self.status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (config as a plain dict)."""
        return {
            "id": self.id,
            "group": self.group,
            "status": self.status,
            "label": self.label,
            "config": self.config.to_dict(),
            "run_id": self.run_id,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "progress": self.progress,
            "result": self.result,
            "message": self.message,
            "cancel_requested": self.cancel_requested,
            "owner": self.owner,
        }


@dataclass
class GroupSummary:
    """A study: a grid of jobs sharing one group id."""

    id: str
    name: str
    created: float
    grid: dict[str, list[Any]]
    counts: dict[str, int]
    total: int
    best_test_iou: float | None
    best_job_id: int | None
    best_run_id: str | None
    best_label: str | None

    @property
    def finished(self) -> bool:
        return not any(self.counts.get(s.value, 0) for s in RunStatus if is_active(s))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "grid": self.grid,
            "counts": self.counts,
            "total": self.total,
            "best_test_iou": self.best_test_iou,
            "best_job_id": self.best_job_id,
            "best_run_id": self.best_run_id,
            "best_label": self.best_label,
        }


# ---- home, connection, locks ----------------------------------------------------------------


_INITIALISED: set[str] = set()


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def connect(home: Path) -> sqlite3.Connection:
    """A connection to the queue database (created on first use), in autocommit mode.

    The first connection of a process (and any connection that finds the file removed or
    emptied) first checks the database (`seglab.jobs.dbhealth`): a damaged one is moved
    aside as ``jobs.sqlite.damaged-<timestamp>`` and a fresh, empty queue starts.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / DB_NAME
    key = str(path.resolve())
    fresh = key not in _INITIALISED or not path.exists() or dbhealth.looks_emptied(home)
    if not fresh:
        conn = _open(path)
    else:
        with dbhealth.repair_lock(home):
            dbhealth.repair_locked(home)
            if not path.exists():
                dbhealth.forget_marker(home)
            conn = _open(path)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(groups)")}
            if "study" not in columns:  # a queue made before studies were stored
                conn.execute("ALTER TABLE groups ADD COLUMN study TEXT")
            job_columns = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
            if "owner" not in job_columns:  # a queue made before classroom owners
                conn.execute("ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
            dbhealth.mark_in_use(home)
        _INITIALISED.add(key)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class QueueDamagedError(SegLabError):
    """The queue database failed again right after it was checked and replaced."""


def survives_damage(method: Callable[..., Any]) -> Callable[..., Any]:
    """Let a `JobQueue` method survive a damaged database: on a SQLite error that is not a
    busy lock, check the file (`seglab.jobs.dbhealth`), replace it with a fresh queue if it
    is damaged, reconnect and try once more."""

    @functools.wraps(method)
    def wrapper(self: JobQueue, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if is_disk_full(exc):
                raise DiskFullError(disk_full_message(self.home)) from exc
            if dbhealth.is_busy(exc) or not self.reopen_if_damaged():
                raise
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if is_disk_full(exc):
                raise DiskFullError(disk_full_message(self.home)) from exc
            if dbhealth.is_busy(exc):
                raise
            raise QueueDamagedError(
                f"the job queue's database in {self.home} cannot be used: {exc}"
            ) from None

    return wrapper


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: takes the write lock up front, so claims are atomic."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def lock_dir(home: Path) -> Path:
    path = home / "_workers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def lock_is_held(lock_path: str | os.PathLike[str]) -> bool:
    """True when some process holds an exclusive ``flock`` on the file.

    We probe by trying to take the lock without blocking and releasing it at once; a worker
    that starts in that instant retries for a few seconds, so the probe never keeps it out.
    """
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _worker_alive(row: sqlite3.Row, now: float) -> bool:
    if row["stopped"] is not None:
        return False
    if row["host"] == socket.gethostname():
        # Same machine: the kernel drops the flock the moment the process dies, even SIGKILL.
        return lock_is_held(row["lock_path"])
    return now - row["heartbeat"] < STALE_AFTER


def _loads(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


@functools.lru_cache(maxsize=8192)
def _config(text: str) -> TrainConfig:
    """A job's stored config, parsed once per process: a job's config never changes after it is
    queued, and checking it costs ~0.4 ms, which the Train page of 30 students paid for every
    job of the class every two seconds (issue 22). The instance is shared: nothing writes to
    a config (changes go through ``dataclasses.replace``)."""
    return TrainConfig.from_json(text)


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        group=row["grp"],
        status=row["status"],
        config=_config(row["config"]),
        run_id=row["run_id"],
        created=row["created"],
        started=row["started"],
        finished=row["finished"],
        progress=_loads(row["progress"]),
        result=_loads(row["result"]),
        message=row["message"] or "",
        cancel_requested=bool(row["cancel_requested"]),
        resume=bool(row["resume"]),
        worker_id=row["worker_id"],
        owner=row["owner"] or "",
    )


def headline_iou(metrics: dict[str, Any] | None) -> float | None:
    """The IoU a job or run is ranked by: ``test_iou``, else ``iou``, else ``val_iou`` (None if absent).

    The engine's ``iou`` is already the headline figure: foreground IoU for binary data,
    mean IoU for multi-class data."""
    if not metrics:
        return None
    for key in ("test_iou", "iou", "val_iou"):
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            return float(value)
    return None


def _set_run_status(home: Path, run_id: str | None, status: str, message: str) -> None:
    """Mirror a job's final state onto its stored run (best effort: the store may be absent, and
    a run that already reached its own final state, e.g. done before its worker died while
    recording the job, keeps it: the run folder is the record of what was trained)."""
    if not run_id:
        return
    try:
        from seglab.store.run_store import RunStore

        RunStore(home).set_status(run_id, status, message)
    except (ImportError, SegLabError, FileNotFoundError, KeyError, OSError, InternalError):
        pass


LOW_DISK_BYTES = 64 * 2**20  # below this much free space, a dead worker probably died of it


def low_disk_note(home: Path) -> str:
    """', probably because the disk is full (N MB free)' when the disk holding ``home`` is
    nearly full, else ''."""
    try:
        free = shutil.disk_usage(home).free
    except OSError:
        return ""
    return (
        f", probably because the disk is full ({free / 2**20:.0f} MB free)" if free < LOW_DISK_BYTES else ""
    )


def _require_own(actor: Actor | None, owner: str | None) -> None:
    """Refuse a student acting on a job that someone else queued."""
    if actor is None or actor.can(Permission.CANCEL_OTHERS):
        return
    if not actor.name or (owner or "") != actor.name:
        require(actor, Permission.CANCEL_OTHERS)


def _parse_job_id(job_id: int | str) -> int:
    try:
        return int(job_id)
    except (TypeError, ValueError):
        raise SegLabError(f"job id must be a number, got {job_id!r}.") from None


# ---- the queue ------------------------------------------------------------------------------


class JobQueue:
    """The persistent job queue of one SegLab home. Cheap to create; safe across processes."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = seglab_home(home)
        try:
            self.conn = connect(self.home)
        except (sqlite3.DatabaseError, OSError) as exc:
            if is_disk_full(exc):
                raise DiskFullError(disk_full_message(self.home)) from exc
            raise
        self._inode = _inode(self.home / DB_NAME)

    def reopen_if_damaged(self) -> bool:
        """After a SQLite error: replace a damaged database with a fresh queue (keeping a
        copy) and reconnect. True when the connection now points at a different file."""
        copy = dbhealth.repair_if_damaged(self.home)
        if copy is None and _inode(self.home / DB_NAME) == self._inode:
            return False  # the file is fine and unchanged: the error is not about damage
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        _INITIALISED.discard(str((self.home / DB_NAME).resolve()))
        self.conn = connect(self.home)
        self._inode = _inode(self.home / DB_NAME)
        return True

    def notice(self) -> str | None:
        """The plain-words notice about a damaged queue replaced recently (or None)."""
        return dbhealth.queue_notice(self.home)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- adding jobs ---------------------------------------------------------------------
    @survives_damage
    def enqueue(self, config: TrainConfig, group: str | None = None, *, actor: Actor | None = None) -> int:
        """Add one training job; returns its id. ``actor``: who asks (classroom mode: a
        student's job is kept under their name and must stay inside the class limits)."""
        if not isinstance(config, TrainConfig):
            raise ConfigError(f"enqueue needs a TrainConfig, got {type(config).__name__}.")
        config.validate()
        config = config.with_absolute_paths()  # the worker may run in another directory
        with transaction(self.conn):  # the quota is counted and used in one write transaction
            self.admit([config], actor)
            cur = self.conn.execute(
                "INSERT INTO jobs (grp, status, config, created, owner) VALUES (?, ?, ?, ?, ?)",
                (
                    group,
                    RunStatus.QUEUED.value,
                    config.to_json(indent=None),
                    time.time(),
                    actor.name if actor else "",
                ),
            )
        return int(cur.lastrowid)

    def admit(self, configs: list[TrainConfig], actor: Actor | None) -> None:
        """Refuse, in plain words, runs ``actor`` may not queue: a typed server path without
        the permission, or (students) anything over the class limits (`seglab.settings.limits`)."""
        if actor is None:
            return
        from seglab.data import list_datasets

        if actor.limited and not actor.name:
            raise NotAllowedError("type your name in the sidebar first, so your runs are kept under it.")
        registered = frozenset(list_datasets())
        for dataset in {c.dataset for c in configs}:
            require_dataset(actor, dataset, registered, self.home)
        if any(c.encoder_weights for c in configs):
            require(actor, Permission.SERVER_PATHS)
        if actor.limited:
            waiting = self.conn.execute(
                f"SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ({sql_marks(ACTIVE_STATES)})",
                (actor.name, *ACTIVE_STATES),
            ).fetchone()[0]
            check_study(configs, load_limits(self.home), int(waiting))

    @survives_damage
    def enqueue_study(
        self,
        study: Study | TrainConfig,
        grid: dict[str, list[Any]] | None = None,
        name: str | None = None,
        *,
        actor: Actor | None = None,
    ) -> str:
        """Queue one job per run of ``study`` (see `seglab.settings.study.Study`); returns the new group id.

        Every config is validated before anything is queued. The study itself is stored with
        the group (`group_study` reads it back). The older form ``enqueue_study(base, grid,
        name=None)`` (``grid`` maps config fields, ``seed`` included, to lists) still works.
        """
        if not isinstance(study, Study):
            if not grid:
                raise ConfigError("a study needs at least one field to vary.")
            study = Study(study, dict(grid), name=name)
        elif name is not None:
            study = dataclasses.replace(study, name=name)
        if not study.axes and not study.seeds:
            raise ConfigError("a study needs at least one field to vary.")
        if actor is not None and actor.limited:  # refuse a huge grid before expanding it
            check_study_size(study.n_runs, load_limits(self.home))
        study = dataclasses.replace(study, base=study.base.with_absolute_paths())
        configs = [c.with_absolute_paths() for c in study.expand()]  # workers run elsewhere
        now = time.time()
        group_id = time.strftime("study-%Y%m%d-%H%M%S", time.localtime(now)) + "-" + secrets.token_hex(2)
        name = study.name or " × ".join(study.grid()) + f" ({len(configs)} runs)"
        with transaction(self.conn):
            self.admit(configs, actor)  # inside the transaction: two tabs cannot both use the quota
            self.conn.execute(
                "INSERT INTO groups (id, name, created, base_config, grid, study) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    group_id,
                    name,
                    now,
                    study.base.to_json(indent=None),
                    json.dumps(study.grid()),
                    json.dumps(study.to_dict()),
                ),
            )
            owner = actor.name if actor else ""
            self.conn.executemany(
                "INSERT INTO jobs (grp, status, config, created, owner) VALUES (?, ?, ?, ?, ?)",
                [(group_id, RunStatus.QUEUED.value, c.to_json(indent=None), now, owner) for c in configs],
            )
        return group_id

    def mark_running(self, job_ids: list[int], worker_id: str) -> list[dict[str, Any]]:
        """Hand queued jobs to ``worker_id`` (inside the caller's claim transaction): the one place
        a job becomes ``running``. Returns their rows as dicts."""
        now = time.time()
        for job_id in job_ids:
            self.conn.execute(
                "UPDATE jobs SET status = ?, started = ?, finished = NULL, worker_id = ?,"
                " message = '', progress = '{}' WHERE id = ?",
                (RunStatus.RUNNING.value, now, worker_id, job_id),
            )
        return [dict(self.conn.execute("SELECT * FROM jobs WHERE id = ?", (i,)).fetchone()) for i in job_ids]

    # ---- reading -------------------------------------------------------------------------
    @survives_damage
    def jobs(self, group: str | None = None, status: str | None = None) -> list[Job]:
        """All jobs (optionally of one group / status), oldest first."""
        self.recover_stale()
        sql, args = "SELECT * FROM jobs", []
        where = []
        if group is not None:
            where.append("grp = ?")
            args.append(group)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_row_to_job(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    @survives_damage
    def job(self, job_id: int | str) -> Job:
        """One job by id; unknown ids raise SegLabError."""
        self.recover_stale()
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (_parse_job_id(job_id),)).fetchone()
        if row is None:
            raise SegLabError(f"there is no job {job_id} in the queue.")
        return _row_to_job(row)

    def progress(self, job_id: int | str) -> dict[str, Any]:
        """The live progress dict of a job (epoch, epochs, batch, n_batches, loss, metrics, eta_seconds)."""
        return self.job(job_id).progress

    @survives_damage
    def summary(self) -> dict[str, int]:
        """Number of jobs in each state (all states listed, zeros included)."""
        self.recover_stale()
        counts = dict.fromkeys(STATES, 0)
        for row in self.conn.execute("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"):
            counts[row["status"]] = row["n"]
        return counts

    @survives_damage
    def groups(self) -> list[GroupSummary]:
        """Every study with counts per state and the best test IoU reached so far, newest first."""
        self.recover_stale()
        out = []
        for g in self.conn.execute("SELECT * FROM groups ORDER BY created DESC"):
            out.append(self._summarise(g))
        return out

    @survives_damage
    def group_study(self, group_id: str) -> Study | None:
        """The `Study` a group was queued from, or None (unknown group, or queued before
        studies were stored)."""
        row = self.conn.execute("SELECT study FROM groups WHERE id = ?", (group_id,)).fetchone()
        if row is None or not row["study"]:
            return None
        try:
            return Study.from_dict(json.loads(row["study"]))
        except (ValueError, SegLabError):
            return None

    @survives_damage
    def group(self, group_id: str) -> GroupSummary:
        self.recover_stale()
        row = self.conn.execute("SELECT * FROM groups WHERE id = ?", (group_id,)).fetchone()
        if row is None:
            raise SegLabError(f"there is no study {group_id!r} in the queue.")
        return self._summarise(row)

    def _summarise(self, g: sqlite3.Row) -> GroupSummary:
        counts = dict.fromkeys(STATES, 0)
        best: tuple[float, int, str | None, str] | None = None
        total = 0
        for r in self.conn.execute("SELECT * FROM jobs WHERE grp = ? ORDER BY id", (g["id"],)):
            total += 1
            counts[r["status"]] += 1
            iou = headline_iou({"test_iou": _loads(r["result"]).get("test_iou")})
            if iou is not None and (best is None or iou > best[0]):
                best = (iou, r["id"], r["run_id"], TrainConfig.from_json(r["config"]).label())
        return GroupSummary(
            id=g["id"],
            name=g["name"],
            created=g["created"],
            grid=json.loads(g["grid"]),
            counts=counts,
            total=total,
            best_test_iou=best[0] if best else None,
            best_job_id=best[1] if best else None,
            best_run_id=best[2] if best else None,
            best_label=best[3] if best else None,
        )

    # ---- control -------------------------------------------------------------------------
    @survives_damage
    def cancel(self, job_id: int | str, *, actor: Actor | None = None) -> str:
        """Cancel a job. Queued → cancelled at once; running → the worker stops it within a batch.

        Returns the job's state after the call (``cancelled``, or ``running`` while the worker
        winds down). Finished jobs are left as they are. A student ``actor`` may cancel only
        their own jobs (`seglab.settings.classroom`).
        """
        jid = _parse_job_id(job_id)
        with transaction(self.conn):
            row = self.conn.execute("SELECT status, run_id, owner FROM jobs WHERE id = ?", (jid,)).fetchone()
            if row is None:
                raise SegLabError(f"there is no job {job_id} in the queue.")
            _require_own(actor, row["owner"])
            status = row["status"]
            if status == RunStatus.QUEUED:
                self.conn.execute(
                    "UPDATE jobs SET status = ?, finished = ?, message = ? WHERE id = ?",
                    (RunStatus.CANCELLED.value, time.time(), "cancelled before it started", jid),
                )
                status = RunStatus.CANCELLED.value
            elif status == RunStatus.RUNNING:
                self.conn.execute(
                    "UPDATE jobs SET cancel_requested = 1, message = ? WHERE id = ?",
                    ("cancel requested; stopping after the current batch", jid),
                )
        return status

    @survives_damage
    def resume(self, job_id: int | str, *, actor: Actor | None = None) -> None:
        """Queue an interrupted (or cancelled) job again; the next worker continues its run
        from the last checkpoint. A student ``actor`` may resume only their own jobs."""
        self.recover_stale()
        jid = _parse_job_id(job_id)
        with transaction(self.conn):
            row = self.conn.execute("SELECT status, run_id, owner FROM jobs WHERE id = ?", (jid,)).fetchone()
            if row is None:
                raise SegLabError(f"there is no job {job_id} in the queue.")
            _require_own(actor, row["owner"])
            if row["status"] not in RESUMABLE_STATUSES:
                raise SegLabError(
                    f"job {jid} is {row['status']}; only interrupted or cancelled jobs can be resumed."
                )
            self.conn.execute(
                "UPDATE jobs SET status = ?, cancel_requested = 0, resume = ?, finished = NULL,"
                " worker_id = NULL, message = ? WHERE id = ?",
                (
                    RunStatus.QUEUED.value,
                    1 if row["run_id"] else 0,
                    "queued to resume from the last checkpoint",
                    jid,
                ),
            )

    @survives_damage
    def enqueue_resume(self, run_id: str) -> int:
        """Queue a job that continues a stored run from its last checkpoint — a run left
        ``interrupted`` (its process died: a killed foreground ``train`` included) or
        ``cancelled``; returns the new job's id."""
        from seglab.store.run_store import RunStore

        store = RunStore(self.home)
        store.mark_interrupted_if_dead(run_id)
        record = store.load_run(run_id)
        if record.status not in RESUMABLE_STATUSES:
            raise SegLabError(
                f"run {run_id} is {record.status}; only interrupted or cancelled runs can be resumed."
            )
        with transaction(self.conn):
            busy = self.conn.execute(
                f"SELECT id FROM jobs WHERE run_id = ? AND status IN ({sql_marks(ACTIVE_STATES)})",
                (run_id, *ACTIVE_STATES),
            ).fetchone()
            if busy is not None:
                raise SegLabError(f"run {run_id} is already queued or training as job {busy['id']}.")
            cur = self.conn.execute(
                "INSERT INTO jobs (grp, status, config, run_id, created, resume, message)"
                " VALUES (?, ?, ?, ?, ?, 1, ?)",
                (
                    record.group,
                    RunStatus.QUEUED.value,
                    record.config.to_json(indent=None),
                    run_id,
                    time.time(),
                    "queued to resume from the last checkpoint",
                ),
            )
        store.set_status(run_id, RunStatus.QUEUED.value, "queued to resume from the last checkpoint")
        return int(cur.lastrowid)

    @survives_damage
    def delete(self, job_id: int | str, *, actor: Actor | None = None) -> None:
        """Forget a finished job (its stored run, if any, is kept). Teacher only in class."""
        require(actor, Permission.DELETE)
        jid = _parse_job_id(job_id)
        with transaction(self.conn):
            row = self.conn.execute("SELECT status FROM jobs WHERE id = ?", (jid,)).fetchone()
            if row is None:
                raise SegLabError(f"there is no job {job_id} in the queue.")
            if is_active(row["status"]):
                raise SegLabError(f"job {jid} is {row['status']}; cancel it before removing it.")
            self.conn.execute("DELETE FROM jobs WHERE id = ?", (jid,))

    # ---- liveness ------------------------------------------------------------------------
    @survives_damage
    def live_workers(self) -> list[dict[str, Any]]:
        """Workers that are alive now (pid, host, device, slot, heartbeat, job_id)."""
        now = time.time()
        rows = self.conn.execute("SELECT * FROM workers WHERE stopped IS NULL").fetchall()
        return [dict(r) for r in rows if _worker_alive(r, now)]

    @survives_damage
    def recover_stale(self) -> list[int]:
        """Mark running jobs whose worker is gone as ``interrupted``; returns their ids."""
        running = self.conn.execute(
            "SELECT j.id, j.run_id, j.worker_id, w.pid, w.host, w.lock_path, w.heartbeat, w.stopped"
            " FROM jobs j LEFT JOIN workers w ON w.id = j.worker_id WHERE j.status = ?",
            (RunStatus.RUNNING.value,),
        ).fetchall()
        if not running:
            return []
        now = time.time()
        dead = [r for r in running if r["pid"] is None or not _worker_alive(r, now)]
        recovered = []
        low = low_disk_note(self.home)
        for r in dead:
            message = (
                f"the worker (pid {r['pid']}) stopped unexpectedly{low}; resume the job to continue "
                "from its last checkpoint"
            )
            with transaction(self.conn):
                cur = self.conn.execute(
                    "UPDATE jobs SET status = ?, finished = ?, message = ?"
                    " WHERE id = ? AND status = ? AND worker_id IS ?",
                    (
                        RunStatus.INTERRUPTED.value,
                        now,
                        message,
                        r["id"],
                        RunStatus.RUNNING.value,
                        r["worker_id"],
                    ),
                )
                if r["worker_id"]:
                    self.conn.execute(
                        "UPDATE workers SET stopped = ? WHERE id = ? AND stopped IS NULL",
                        (now, r["worker_id"]),
                    )
            if cur.rowcount:
                recovered.append(r["id"])
                _set_run_status(self.home, r["run_id"], RunStatus.INTERRUPTED, message)
        return recovered


def fair_next_job(candidates: list[tuple[int, str]], last_started: dict[str, float]) -> int | None:
    """Round-robin between owners: of the queued ``(job id, owner)`` pairs (oldest first), take
    the oldest job of the owner whose latest job started longest ago (owners never served
    first; ties go to the owner who queued first), so one student's grid cannot starve the class."""
    first_of: dict[str, int] = {}
    for job_id, owner in candidates:
        first_of.setdefault(owner, job_id)
    if not first_of:
        return None
    owner = min(first_of, key=lambda o: (last_started.get(o, float("-inf")), first_of[o]))
    return first_of[owner]


def queue_summary(home: str | os.PathLike[str] | None = None) -> dict[str, int]:
    """Counts of jobs per state — cheap, for the sidebar of every page.

    Returns an empty dict when no job was ever queued in this home (no file is created).
    """
    path = seglab_home(home)
    if not (path / DB_NAME).exists():
        return {}
    with JobQueue(path) as q:
        return q.summary()
