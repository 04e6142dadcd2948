"""Queued jobs that train together as one pack (see `seglab.training.packed`).

When a worker has claimed a job and packing pays on its device (`packing_wanted`: CUDA by
default, ``$SEGLAB_PACK`` switches it), `claim_companions` also takes the queued jobs of the
same study that could share the pack (same `pack_key`, not resuming), up to `pack_limit`.
`run_packed_jobs` then trains them in one process: every job still gets its own run folder,
progress row, cancel button and outcome, exactly as when the worker runs it alone.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from typing import Any

from seglab.errors import SegLabError
from seglab.jobs import db_retry
from seglab.jobs.queue import JobQueue, transaction
from seglab.settings.config import TrainConfig
from seglab.status import RunStatus
from seglab.training.packed import PackMember, can_pack, pack_key, train_packed


def claim_companions(
    q: JobQueue, worker_id: str, row: dict[str, Any], device_type: str, limit: int
) -> list[dict[str, Any]]:
    """Atomically take up to ``limit - 1`` queued jobs of ``row``'s study that can train in one
    pack with it (oldest first); ``[]`` when ``row`` itself cannot be packed."""
    if limit <= 1 or row.get("resume"):
        return []
    try:
        config = TrainConfig.from_json(row["config"])
    except SegLabError:
        return []
    if not can_pack(config):
        return []
    key, devices = pack_key(config), ("auto", device_type)
    taken: list[int] = []
    with transaction(q.conn):
        sql = "SELECT id, config FROM jobs WHERE status = 'queued' AND resume = 0"
        args: list[Any] = []
        if row.get("grp") is not None:
            sql += " AND grp = ?"
            args.append(row["grp"])
        for other in q.conn.execute(sql + " ORDER BY id", args).fetchall():
            if len(taken) >= limit - 1:
                break
            try:
                candidate = TrainConfig.from_json(other["config"])
            except SegLabError:
                continue  # the worker's own claim reports a broken config, job by job
            if json.loads(other["config"]).get("device", "auto") not in devices:
                continue
            if can_pack(candidate) and pack_key(candidate) == key:
                taken.append(other["id"])
        now = time.time()
        for job_id in taken:
            q.conn.execute(
                "UPDATE jobs SET status = 'running', started = ?, finished = NULL, worker_id = ?,"
                " message = '', progress = '{}' WHERE id = ?",
                (now, worker_id, job_id),
            )
        return [dict(q.conn.execute("SELECT * FROM jobs WHERE id = ?", (i,)).fetchone()) for i in taken]


def run_packed_jobs(
    q: JobQueue, rows: list[dict[str, Any]], worker_id: str, stop_event: threading.Event, log: Any
) -> list[str]:
    """Train the claimed ``rows`` as one pack; finish every job row; the jobs' statuses."""
    from seglab.data.cache import set_cache_home
    from seglab.jobs.worker import JobReporter, _finish, _metrics_of, _safe_set_status
    from seglab.store.run_store import RunStore

    store = RunStore(q.home)
    set_cache_home(store.home)
    members: list[PackMember] = []
    reporters: list[JobReporter] = []
    run_ids: list[str] = []
    for row in rows:
        config = TrainConfig.from_json(row["config"])
        reporter = JobReporter(q.home, row["id"], worker_id, stop_event)
        run_id = store.create_run(config, group=row["grp"])
        db_retry.best_effort(
            lambda run_id=run_id, job_id=row["id"]: q.conn.execute(
                "UPDATE jobs SET run_id = ? WHERE id = ?", (run_id, job_id)
            )
        )
        _safe_set_status(store, run_id, RunStatus.RUNNING, "")
        run_dir = store.run_dir(run_id)

        def should_stop(run_dir: Any = run_dir, reporter: JobReporter = reporter) -> bool:
            return not run_dir.is_dir() or reporter.should_stop()  # a deleted run folder stops its job

        members.append(PackMember(config, [reporter], run_dir=run_dir, should_stop=should_stop))
        reporters.append(reporter)
        run_ids.append(run_id)
    log(f"jobs {', '.join(str(r['id']) for r in rows)}: one pack of {len(rows)} ({members[0].config.arch})")
    try:
        results = train_packed(members)
    except Exception as exc:  # an internal bug: record it on every job, keep the worker alive
        traceback.print_exc()
        message = f"internal error: {type(exc).__name__}: {exc}"
        for row, run_id in zip(rows, run_ids, strict=True):
            _safe_set_status(store, run_id, RunStatus.FAILED, message)
            _finish(q, row["id"], RunStatus.FAILED, message, {})
        return [RunStatus.FAILED] * len(rows)
    finally:
        for reporter in reporters:
            reporter.close()
    statuses = []
    for row, run_id, result in zip(rows, run_ids, results, strict=True):
        status, message = result.status, result.message or ""
        found = q.conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        cancel_requested = bool(found and found[0])
        if status == RunStatus.CANCELLED and stop_event.is_set() and not cancel_requested:
            status, message = RunStatus.INTERRUPTED, "the worker was stopped; resume the job to continue"
        _safe_set_status(store, run_id, status, message)
        _finish(q, row["id"], status, message, _metrics_of(result))
        log(f"job {row['id']}: {status}" + (f" — {message}" if message else ""))
        statuses.append(status)
    return statuses
