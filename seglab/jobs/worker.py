"""The job worker: claims queued jobs one at a time and trains them with the engine.

A worker owns one *slot* (``cpu-0``, ``cuda-0``, …) for its whole life by holding an
exclusive ``flock`` on ``$SEGLAB_HOME/_workers/<slot>.lock``; the kernel releases the lock
the instant the process dies, which is how everyone else knows a worker is gone. It also
registers itself in the ``workers`` table and heartbeats there every couple of seconds (a
background thread; training callbacks refresh it too) so hosts sharing a home can see it.

Progress goes to the job's row at most four times a second (and at every epoch end), so any
process — the web app, the CLI — can follow a job by reading the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seglab.errors import SegLabError, is_disk_full
from seglab.filelock import exclusive_lock
from seglab.jobs import db_retry
from seglab.jobs.queue import (
    HEARTBEAT_INTERVAL,
    JobQueue,
    connect,
    fair_next_job,
    lock_dir,
    lock_is_held,
    transaction,
)
from seglab.paths import seglab_home
from seglab.settings.config import TrainConfig
from seglab.status import RunStatus
from seglab.training.run import metrics_of, run_config
from seglab.training.threads import cpu_cores, set_thread_cap, thread_env, threads_per_slot

PROGRESS_INTERVAL = 0.25  # at most four progress writes per second
LOCK_RETRY_SECONDS = 3.0  # a starting worker retries this long (a liveness probe may hold the lock)
SPAWN_GRACE_SECONDS = 60.0  # a worker spawned this recently is still starting up
# held while ensure_worker looks at the slots and starts workers (not ``*.lock``: those are slots)
SPAWN_LOCK_NAME = "ensure_worker.mutex"
DEFAULT_IDLE_TIMEOUT = 900.0  # workers started by ensure_worker exit after this long with nothing to do
# Jobs side by side per device by default. CPU: one job per core with one thread each. On the
# shared 2-core machine (README's speed section) a job with 2 threads collapsed under load while
# 1-thread jobs did not; 2 × 1 against 1 × 1 swung both ways between repeats there.
CPU_DEFAULT_SLOTS = 2
# GPU: not measured here (no GPU was lent); issue 10's H200 figures: 8 processes with 2 CPU
# threads each trained fine, 16 with 1 thread reached 74 % mean SM use. 8 fits a large GPU's
# memory many times over at classroom sizes.
GPU_DEFAULT_SLOTS = 8


class WorkerBusyError(SegLabError):
    """Every worker slot for the device is taken by a live worker."""


# ---- slots and locks ------------------------------------------------------------------------


def _cpu_slot_count(cpu_workers: int | None) -> int:
    if cpu_workers is None:
        cpu_workers = int(os.environ.get("SEGLAB_CPU_WORKERS", "1") or 1)
    return max(1, cpu_workers)


def default_slot_count(device_type: str) -> int:
    """How many jobs run side by side on one device when nobody says (``$SEGLAB_SLOTS`` overrides).

    CPU: ``CPU_DEFAULT_SLOTS`` (see its comment for the measurement), never more than the
    cores. GPU: ``GPU_DEFAULT_SLOTS`` per GPU, at most one per CPU core; small classroom models
    leave a large GPU mostly idle, so several jobs share it (see the README's speed section).
    """
    env = os.environ.get("SEGLAB_SLOTS", "").strip()
    if env:
        return max(1, int(env))
    cores = cpu_cores()
    if device_type == "cpu":
        legacy = os.environ.get("SEGLAB_CPU_WORKERS", "").strip()
        return max(1, int(legacy)) if legacy else max(1, min(CPU_DEFAULT_SLOTS, cores))
    return max(1, min(GPU_DEFAULT_SLOTS, cores))


def _device_type(device: str) -> str:
    """Resolve ``auto`` to the device a worker would train on (imports torch)."""
    from seglab.device import resolve_device

    return resolve_device(device).type


def _gpu_index() -> str:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    return visible if visible and "," not in visible else "0"


def slot_names(device_type: str, count: int, gpu: str | None = None) -> list[str]:
    """Names of ``count`` slots: ``cpu-0``, ``cpu-1``, …; ``cuda-0``, ``cuda-0.1``, … on GPU 0."""
    count = max(1, count)
    if device_type == "cpu":
        return [f"cpu-{i}" for i in range(count)]
    base = f"{device_type}-{gpu if gpu is not None else _gpu_index() if device_type == 'cuda' else '0'}"
    return [base] + [f"{base}.{i}" for i in range(1, count)]


def default_slots(device_type: str, cpu_workers: int | None = None) -> list[str]:
    """The slots a worker on this device may take, in order of preference."""
    if device_type == "cpu" and cpu_workers is not None:
        return slot_names("cpu", _cpu_slot_count(cpu_workers))
    return slot_names(device_type, default_slot_count(device_type))


class _SlotLock:
    """An exclusive flock on one slot's lock file, held until ``release``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd = path, fd

    @classmethod
    def acquire(cls, home: Path, slots: list[str], retry_seconds: float) -> tuple[str, _SlotLock] | None:
        import fcntl

        deadline = time.monotonic() + retry_seconds
        while True:
            for slot in slots:
                path = lock_dir(home) / f"{slot}.lock"
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return slot, cls(path, fd)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def release(self) -> None:
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


# ---- progress reporting -----------------------------------------------------------------------


class JobReporter:
    """Engine callbacks that write a job's progress and the worker's heartbeat to the queue DB,
    and a ``should_stop`` that sees cancel requests (and a worker shutdown)."""

    def __init__(self, home: Path, job_id: int, worker_id: str, stop_event: threading.Event) -> None:
        self.conn = connect(home)
        self.job_id, self.worker_id, self.stop_event = job_id, worker_id, stop_event
        self.progress: dict[str, Any] = {}
        self._last_write = 0.0
        self._t0: float | None = None
        self._done0: int | None = None

    # engine callbacks
    def on_start(self, info: Any = None) -> None:
        info = dict(info) if isinstance(info, dict) else {}
        self.progress.update({k: v for k, v in info.items() if isinstance(v, (int, float, str, type(None)))})
        self._write(force=True)

    def on_batch(self, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        self.progress.update(epoch=epoch, batch=batch, n_batches=n_batches, loss=_finite_or_none(loss))
        self._update_eta(epoch, batch, n_batches)
        self._write()

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        metrics = {
            k: v for k, v in dict(record).items() if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        self.progress.update(epoch=epoch, metrics=metrics, epochs_done=epoch)
        # best-so-far validation IoU (the checkpoint the run will keep) beside the last epoch's
        if (val := _finite_or_none(metrics.get("val_iou"))) is not None:
            self.progress["best_val_iou"] = max(val, self.progress.get("best_val_iou") or val)
        self._write(force=True)

    def on_end(self, result: Any) -> None:
        self.progress["eta_seconds"] = 0.0
        self._write(force=True)

    def should_stop(self) -> bool:
        if self.stop_event.is_set():
            return True
        row = db_retry.best_effort(  # a damaged queue must not stop the training
            lambda: self.conn.execute(
                "SELECT cancel_requested FROM jobs WHERE id = ?", (self.job_id,)
            ).fetchone()
        )
        return bool(row and row[0])

    # internals
    def _update_eta(self, epoch: int, batch: int, n_batches: int) -> None:
        epochs = self.progress.get("epochs")
        if not isinstance(epochs, int) or n_batches <= 0:
            return
        done = (epoch - 1) * n_batches + batch  # batches finished so far (engine counts from 1)
        now = time.monotonic()
        if self._t0 is None:
            self._t0, self._done0 = now, done
            return
        rate = (done - self._done0) / max(now - self._t0, 1e-9)
        if rate > 0:
            self.progress["eta_seconds"] = max(0.0, (epochs * n_batches - done) / rate)

    def _write(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last_write < PROGRESS_INTERVAL:
            return
        self._last_write = now
        self.progress["updated"] = now
        text = json.dumps(self.progress, default=str)
        db_retry.best_effort(  # progress is best effort: a damaged queue must not stop the training
            lambda: (
                self.conn.execute("UPDATE jobs SET progress = ? WHERE id = ?", (text, self.job_id)),
                self.conn.execute("UPDATE workers SET heartbeat = ? WHERE id = ?", (now, self.worker_id)),
            )
        )

    def close(self) -> None:
        self.conn.close()


def _finite_or_none(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def _safe_set_status(store: Any, run_id: str, status: str, message: str) -> None:
    with contextlib.suppress(SegLabError, OSError, KeyError, ValueError):
        store.set_status(run_id, status, message)


# ---- the worker loop ------------------------------------------------------------------------------


class _Heartbeat(threading.Thread):
    def __init__(self, home: Path, worker_id: str, registration: dict[str, Any] | None = None) -> None:
        super().__init__(name="seglab-heartbeat", daemon=True)
        self.home, self.worker_id, self.registration = home, worker_id, registration
        self.stopped = threading.Event()

    def run(self) -> None:  # survives database errors (retries with back-off): see db_retry
        db_retry.heartbeat_loop(
            self.home,
            self.worker_id,
            self.stopped,
            HEARTBEAT_INTERVAL,
            connect=connect,
            registration=self.registration,
        )


def claimable_jobs(q: JobQueue, device_type: str, group: str | None = None) -> list[tuple[int, str]]:
    """``(job id, owner)`` of the queued jobs a worker on ``device_type`` may take, oldest first
    (a job asking for another device waits for a worker there); only study ``group``'s if given."""
    devices = ("auto", device_type)
    sql = "SELECT id, config, owner FROM jobs WHERE status = ?"
    args: list[Any] = [RunStatus.QUEUED.value]
    if group is not None:
        sql += " AND grp = ?"
        args.append(group)
    return [
        (row["id"], row["owner"] or "")
        for row in q.conn.execute(sql + " ORDER BY id", args)
        if json.loads(row["config"]).get("device", "auto") in devices
    ]


def _claim(q: JobQueue, worker_id: str, device_type: str, group: str | None) -> dict[str, Any] | None:
    """Atomically take the next queued job this worker can run (``BEGIN IMMEDIATE``): round-robin
    between owners (`fair_next_job`), oldest first within one owner's jobs."""
    with transaction(q.conn):
        candidates = claimable_jobs(q, device_type, group)
        last_started = {
            row["owner"] or "": row["last"]
            for row in q.conn.execute(
                "SELECT owner, MAX(started) AS last FROM jobs WHERE started IS NOT NULL GROUP BY owner"
            )
        }
        chosen = fair_next_job(candidates, last_started)
        if chosen is None:
            return None
        (row,) = q.mark_running([chosen], worker_id)
        q.conn.execute(
            "UPDATE workers SET job_id = ?, heartbeat = ? WHERE id = ?", (chosen, time.time(), worker_id)
        )
        return row


def _claim_pack(
    q: JobQueue,
    worker_id: str,
    row: dict[str, Any],
    device_type: str,
    size: int,
    max_jobs: int | None,
    ran: int,
) -> list[dict[str, Any]]:
    """Companions for ``row`` in one packed model (`seglab.jobs.packed_jobs`), within ``max_jobs``."""
    if max_jobs is not None:
        size = min(size, max_jobs - ran)
    if size <= 1:
        return []
    from seglab.jobs.packed_jobs import claim_companions

    return claim_companions(q, worker_id, row, device_type, size)


def _finish(q: JobQueue, job_id: int, status: str, message: str, result: dict[str, Any]) -> None:
    with transaction(q.conn):
        q.conn.execute(
            "UPDATE jobs SET status = ?, message = ?, result = ?, finished = ?, cancel_requested = 0 WHERE id = ?",
            (status, message, json.dumps(result), time.time(), job_id),
        )


def _run_job(
    q: JobQueue,
    row: dict[str, Any],
    worker_id: str,
    stop_event: threading.Event,
    log: Any,
    job_callbacks: Callable[[int, TrainConfig], Any] | None = None,
) -> str:
    job_id = row["id"]
    config = TrainConfig.from_json(row["config"])
    resume = bool(row["resume"]) and bool(row["run_id"])
    reporter = JobReporter(q.home, job_id, worker_id, stop_event)
    callbacks: list[Any] = [reporter]
    if job_callbacks is not None:
        callbacks.append(job_callbacks(job_id, config))

    def link(run_id: str) -> None:
        db_retry.best_effort(
            lambda: q.conn.execute("UPDATE jobs SET run_id = ? WHERE id = ?", (run_id, job_id))
        )

    log(f"job {job_id}: {config.label()}" + (" (resuming)" if resume else ""))
    try:
        outcome = run_config(
            config,
            callbacks,
            home=q.home,
            should_stop=reporter.should_stop,
            run_id=row["run_id"] if resume else None,
            resume=resume,
            group=row["grp"],
            on_run_created=link,
            owner=row.get("owner") or None,  # the queue's owner column decides; the run keeps a copy
        )
    except Exception as exc:  # an internal bug: record it, keep the worker alive, log loudly
        traceback.print_exc()
        _finish(q, job_id, RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}", {})
        return RunStatus.FAILED
    finally:
        reporter.close()
    status, message = outcome.status, outcome.message
    found = q.conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
    cancel_requested = bool(found and found[0])  # the row is gone if the queue was replaced
    if status == RunStatus.CANCELLED and stop_event.is_set() and not cancel_requested:
        # The worker itself is shutting down (SIGTERM): the job can be resumed later.
        status, message = RunStatus.INTERRUPTED, "the worker was stopped; resume the job to continue"
        _safe_set_status_home(q.home, outcome.run_id, status, message)
    _finish(q, job_id, status, message, metrics_of(outcome.result) if outcome.result is not None else {})
    log(f"job {job_id}: {status}" + (f" — {message}" if message else ""))
    return status


def _run_packed_jobs(
    q: JobQueue, rows: list[dict[str, Any]], worker_id: str, stop_event: threading.Event, log: Any
) -> list[str]:
    """Train the claimed ``rows`` as one pack; finish every job row; the jobs' statuses."""
    from seglab.data.cache import set_cache_home
    from seglab.store.run_store import RunStore
    from seglab.training.packed import PackMember, train_packed

    store = RunStore(q.home)
    set_cache_home(store.home)
    members: list[PackMember] = []
    reporters: list[JobReporter] = []
    run_ids: list[str] = []
    for row in rows:
        config = TrainConfig.from_json(row["config"])
        reporter = JobReporter(q.home, row["id"], worker_id, stop_event)
        run_id = store.create_run(config, group=row["grp"], owner=row.get("owner") or None)
        db_retry.best_effort(
            lambda run_id=run_id, job_id=row["id"]: q.conn.execute(
                "UPDATE jobs SET run_id = ? WHERE id = ?", (run_id, job_id)
            )
        )
        run_dir = store.run_dir(run_id)  # the engine records the run's status (the one writer)

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
        for row in rows:  # the pack recorded "failed" in every run folder it had not finished
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
        _finish(q, row["id"], status, message, metrics_of(result))
        log(f"job {row['id']}: {status}" + (f" — {message}" if message else ""))
        statuses.append(status)
    return statuses


def _safe_set_status_home(home: Path, run_id: str, status: str, message: str) -> None:
    from seglab.store.run_store import RunStore

    _safe_set_status(RunStore(home), run_id, status, message)


def run_worker(
    home: str | os.PathLike[str] | None = None,
    *,
    once: bool = False,
    poll: float = 1.0,
    device: str = "auto",
    max_jobs: int | None = None,
    group: str | None = None,
    idle_timeout: float | None = None,
    cpu_workers: int | None = None,
    slot: str | None = None,
    slots: int | None = None,
    threads: int | None = None,
    verbose: bool = True,
    job_callbacks: Callable[[int, TrainConfig], Any] | None = None,
    monitor: Callable[[], None] | None = None,
) -> int:
    """Run queued jobs; returns how many jobs it ran.

    ``once``: stop when nothing is left to claim (instead of polling every ``poll`` seconds).
    ``max_jobs``: stop after that many jobs (per slot). ``group``: only take jobs of that study.
    ``idle_timeout``: stop after that many seconds with nothing to do.
    ``job_callbacks(job_id, config)``: returns extra engine callbacks for each job (the CLI's
    progress bar; single-slot only). ``slots``: jobs side by side on the device: more than one
    starts that many slot processes (one per GPU and slot on CUDA), each running job after job
    with imports, CUDA set-up and the study's data done once, and waits for them (``monitor()``
    is called about once a second meanwhile). ``threads``: CPU threads per job (default
    ``cores // slots``, so slots × threads ≤ cores). ``cpu_workers``/``slot``: older knobs: how
    many CPU slots a single worker may choose from / exactly which slot to take.
    Raises ``WorkerBusyError`` when a live worker already holds every slot for the device.
    """
    lower_priority_if_asked()  # a background worker of the app yields the CPU to the pages
    home_path = seglab_home(home)
    device_type = _device_type(device)
    if slot is None and slots is not None and slots > 1:
        return _run_slot_processes(
            home_path,
            device_type,
            slots,
            threads,
            once=once,
            poll=poll,
            max_jobs=max_jobs,
            group=group,
            idle_timeout=idle_timeout,
            monitor=monitor,
        )
    if slot:
        candidates = [slot]
    elif slots is not None:
        candidates = slot_names(device_type, slots)
    else:
        candidates = default_slots(device_type, cpu_workers)
    acquired = _SlotLock.acquire(home_path, candidates, LOCK_RETRY_SECONDS)
    if acquired is None:
        raise WorkerBusyError(
            f"a worker is already running for {device_type} in {home_path} (slots {', '.join(candidates)})."
        )
    slot_name, lock = acquired

    def log(text: str) -> None:
        if verbose:
            print(f"[seglab worker {os.getpid()} {slot_name}] {text}", file=sys.stderr, flush=True)

    # Cap this slot's CPU threads: slots side by side must never oversubscribe the cores.
    import torch

    from seglab.data.cache import set_cache_home
    from seglab.training.threads import thread_cap

    previous_threads, previous_cap = torch.get_num_threads(), thread_cap()
    set_thread_cap(threads or threads_per_slot(len(candidates)))
    set_cache_home(home_path)  # the study's data is drawn once, then read by every slot

    q = JobQueue(home_path)
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{int(time.time() * 1000)}"
    registration = {
        "id": worker_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "device": device_type,
        "slot": slot_name,
        "lock_path": str(lock.path.resolve()),
        "started": time.time(),
    }
    db_retry.register_worker(q.conn, registration)
    heartbeat = _Heartbeat(home_path, worker_id, registration)
    heartbeat.start()
    stop_event = threading.Event()
    previous_handlers = _install_signal_handlers(stop_event)
    q.recover_stale()  # jobs left running by a dead predecessor become interrupted
    log(f"started on {device_type} ({torch.get_num_threads()} CPU thread(s) per job)")
    ran, idle_since = 0, time.monotonic()
    from seglab.training.packed import pack_limit, packing_wanted  # see seglab.jobs.packed_jobs

    pack_size = pack_limit() if packing_wanted(device_type) and job_callbacks is None else 1
    try:
        while not stop_event.is_set():
            try:
                row = _claim(q, worker_id, device_type, group)
            except sqlite3.DatabaseError as exc:  # busy, or damaged and replaced: keep going
                stop_event.wait(db_retry.recover_worker_db(q, exc, registration, log))
                continue
            if row is None:
                if once:
                    break
                if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                    log("idle; exiting")
                    break
                stop_event.wait(poll)
                continue
            rows = [row]
            try:
                rows += _claim_pack(q, worker_id, row, device_type, pack_size, max_jobs, ran)
                if len(rows) > 1:
                    _run_packed_jobs(q, rows, worker_id, stop_event, log)
                else:
                    _run_job(q, row, worker_id, stop_event, log, job_callbacks)
                q.conn.execute("UPDATE workers SET job_id = NULL WHERE id = ?", (worker_id,))
            except sqlite3.DatabaseError as exc:  # the run folder already holds the outcome
                if is_disk_full(exc):  # the job cannot be recorded: stop, so readers see it interrupted
                    log(f"the disk is full ({exc}); stopping this worker so its job shows as interrupted")
                    break
                stop_event.wait(db_retry.recover_worker_db(q, exc, registration, log))
            ran += len(rows)
            idle_since = time.monotonic()
            if max_jobs is not None and ran >= max_jobs:
                break
    finally:
        _restore_signal_handlers(previous_handlers)
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
        db_retry.best_effort(
            lambda: q.conn.execute(
                "UPDATE workers SET stopped = ?, job_id = NULL WHERE id = ?", (time.time(), worker_id)
            )
        )
        q.close()
        lock.release()
        set_thread_cap(previous_cap)
        torch.set_num_threads(previous_threads)
        log(f"stopped after {ran} job(s)")
    return ran


def slot_plans(device_type: str, count: int | None = None) -> list[tuple[str, dict[str, str]]]:
    """``(slot name, extra environment)`` for ``count`` slots per device (default
    `default_slot_count`): on CUDA, ``count`` per visible GPU, each pinned to its GPU."""
    count = count or default_slot_count(device_type)
    if device_type != "cuda":
        return [(name, {}) for name in slot_names(device_type, count)]
    import torch

    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    gpus = visible or [str(i) for i in range(max(1, torch.cuda.device_count()))]
    return [(name, {"CUDA_VISIBLE_DEVICES": gpu}) for gpu in gpus for name in slot_names("cuda", count, gpu)]


def _slot_command(home: Path, device_type: str, slot: str, threads: int, **options: Any) -> list[str]:
    cmd = [sys.executable, "-m", "seglab", "worker", "--home", str(home), "--device", device_type]
    cmd += ["--slot", slot, "--threads", str(threads)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            cmd.append(flag)
        elif value not in (None, False):
            cmd += [flag, str(value)]
    return cmd


#: Background workers started by the app run at a lower CPU priority, so that on a shared
#: machine a training job uses the idle CPU but never delays a student's slider move.
BACKGROUND_NICENESS = 10
NICE_ENV = "SEGLAB_WORKER_NICE"


def lower_priority_if_asked() -> None:
    """Apply ``$SEGLAB_WORKER_NICE`` (set for the workers the app spawns) to this process."""
    try:
        step = int(os.environ.get(NICE_ENV, "0"))
    except ValueError:
        return
    if step > 0:
        with contextlib.suppress(OSError):
            os.nice(step)
        os.environ.pop(NICE_ENV, None)  # slot processes inherit the niceness, not a second step


def _slot_env(home: Path, threads: int, extra_env: dict[str, str]) -> dict[str, str]:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ) | extra_env | thread_env(threads)
    env["SEGLAB_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _stop_with_parent() -> None:
    """In a slot process (Linux): get SIGTERM when the parent worker dies, so a killed
    ``worker --slots N`` leaves no slot running on alone (its jobs become ``interrupted``)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _run_slot_processes(
    home: Path,
    device_type: str,
    slots: int,
    threads: int | None,
    *,
    monitor: Callable[[], None] | None,
    **options: Any,
) -> int:
    """Start one worker process per free slot, wait for all of them, return the jobs they ran.

    With ``once`` (run what is queued, then stop) it starts no more processes than there are
    jobs to take: one queued run is one process, not one per slot."""
    plans = [(name, env) for name, env in slot_plans(device_type, slots) if not worker_alive(home, name)]
    if not plans:
        raise WorkerBusyError(f"every {device_type} slot in {home} is held by a running worker.")
    if options.get("once"):
        with JobQueue(home) as q:
            plans = plans[: max(1, len(claimable_jobs(q, device_type, options.get("group"))))]
    per_job = threads or threads_per_slot(len(slot_plans(device_type, slots)))
    started = time.time()
    procs = [
        subprocess.Popen(
            _slot_command(home, device_type, name, per_job, **options),
            stdin=subprocess.DEVNULL,
            env=_slot_env(home, per_job, env),
            cwd=str(Path(__file__).resolve().parents[2]),
            preexec_fn=_stop_with_parent,
        )
        for name, env in plans
    ]
    stop_event = threading.Event()
    previous = _install_signal_handlers(stop_event)
    forwarded = False
    try:
        while any(p.poll() is None for p in procs):
            if stop_event.is_set() and not forwarded:
                for p in procs:  # each slot stops after its current batch; jobs become interrupted
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
                forwarded = True
            if monitor is not None:
                monitor()
            time.sleep(0.5)
        if monitor is not None:
            monitor()
    finally:
        _restore_signal_handlers(previous)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(30)
    pids = [p.pid for p in procs]
    with JobQueue(home) as q:
        marks = ",".join("?" * len(pids))
        row = q.conn.execute(
            f"SELECT COUNT(*) FROM jobs WHERE worker_id IN (SELECT id FROM workers WHERE pid IN ({marks})"
            " AND started >= ?) AND started >= ?",
            (*pids, started - 1, started - 1),
        ).fetchone()
    failed = [p.returncode for p in procs if p.returncode not in (0, None)]
    if failed:
        print(f"[seglab worker] {len(failed)} slot process(es) exited with an error", file=sys.stderr)
    return int(row[0])


def _install_signal_handlers(stop_event: threading.Event) -> dict[int, Any]:
    """SIGTERM (and SIGINT) ask the worker to stop after the current batch; the job becomes
    ``interrupted`` and can be resumed. Only possible from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}

    def handler(signum: int, frame: Any) -> None:
        stop_event.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


# ---- starting workers on demand ---------------------------------------------------------------------

_SPAWNED: list[subprocess.Popen[bytes]] = []
_SPAWNED_LOCK = threading.Lock()  # the app's sessions are threads of one process


def _pid_running(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def worker_alive(home: str | os.PathLike[str] | None = None, slot: str = "cpu-0") -> bool:
    """Is a worker holding this slot (or starting up for it) right now?"""
    home_path = seglab_home(home)
    lock_path = lock_dir(home_path) / f"{slot}.lock"
    if lock_is_held(lock_path):
        return True
    spawn = lock_dir(home_path) / f"{slot}.spawn"
    try:
        record = json.loads(spawn.read_text())
    except (OSError, ValueError):
        return False
    return time.time() - record.get("time", 0) < SPAWN_GRACE_SECONDS and _pid_running(
        int(record.get("pid", -1))
    )


def ensure_worker(
    home: str | os.PathLike[str] | None = None,
    *,
    device: str = "auto",
    cpu_workers: int | None = None,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
) -> bool:
    """Make sure background workers (``python -m seglab worker``) are there for the queued jobs.

    Idempotent: it keeps as many workers alive as there is work for (queued plus running
    jobs), at least one and at most one per free slot of the device, and returns True when it
    started one. A slot whose worker is alive (lock held) or still starting up (spawned
    moments ago) counts as taken; the look and the start happen under one lock file
    (``_workers/ensure_worker.mutex``), so two sessions pressing Start at once start one
    worker, not two. The worker's output goes to ``$SEGLAB_HOME/_workers/worker-<slot>.log``;
    it exits by itself after ``idle_timeout``.
    """
    with _SPAWNED_LOCK:  # reap finished children so they do not linger as zombies
        _SPAWNED[:] = [proc for proc in _SPAWNED if proc.poll() is None]
    home_path = seglab_home(home).resolve()
    device_type = _device_type(device)
    count = _cpu_slot_count(cpu_workers) if device_type == "cpu" and cpu_workers is not None else None
    plans = slot_plans(device_type, count)
    threads = threads_per_slot(len(plans))
    with exclusive_lock(lock_dir(home_path) / SPAWN_LOCK_NAME):
        with JobQueue(home_path) as q:
            q.recover_stale()
            running = q.conn.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (RunStatus.RUNNING.value,))
            work = len(claimable_jobs(q, device_type)) + running.fetchone()[0]
        free = [(slot, env) for slot, env in plans if not worker_alive(home_path, slot)]
        wanted = max(1, min(len(plans), work))  # one worker per job, side by side
        to_start = free[: max(0, wanted - (len(plans) - len(free)))]
        for slot, extra_env in to_start:
            _spawn(home_path, slot, device_type, extra_env, idle_timeout, threads)
    return bool(to_start)


def _spawn(
    home: Path,
    slot: str,
    device_type: str,
    extra_env: dict[str, str],
    idle_timeout: float | None,
    threads: int | None = None,
) -> None:
    threads = threads or threads_per_slot(1)
    cmd = _slot_command(home, device_type, slot, threads, idle_timeout=idle_timeout)
    log_path = lock_dir(home) / f"worker-{slot}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=_slot_env(home, threads, extra_env) | {NICE_ENV: str(BACKGROUND_NICENESS)},
            cwd=str(Path(__file__).resolve().parents[2]),
        )
    with _SPAWNED_LOCK:
        _SPAWNED.append(proc)
    (lock_dir(home) / f"{slot}.spawn").write_text(json.dumps({"pid": proc.pid, "time": time.time()}))
