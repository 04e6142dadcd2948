"""The job queue and worker: every status transition, with real processes where it matters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seglab.errors import ConfigError, SegLabError
from seglab.jobs import JobQueue, ensure_worker, queue_summary, run_worker
from seglab.jobs import worker as worker_mod
from seglab.settings.config import TrainConfig
from seglab.store.run_store import RunStore

ROOT = Path(__file__).resolve().parent.parent


def tiny(**overrides) -> TrainConfig:
    """The smallest real training run: 32 px, 24 images, width 4, depth 2."""
    base = dict(dataset="shapes", size=32, n=24, width=4, depth=2, batch_size=8, epochs=1, augment=False)
    base.update(lr=3e-3, arch="unet", loss="bce", device="cpu")
    return TrainConfig(**{**base, **overrides})


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Recorder:
    """Extra engine callbacks that note what the engine reported, for the tests to check."""

    def __init__(self) -> None:
        self.start: dict = {}
        self.batches: list[tuple[float, int, int]] = []

    def on_start(self, info: dict) -> None:
        self.start = dict(info)

    def on_batch(self, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        self.batches.append((time.monotonic(), epoch, batch))


# ---- queue only (no training) ------------------------------------------------------------------


def test_enqueue_lists_and_cancels_queued_job(seglab_home: Path) -> None:
    assert queue_summary() == {}  # nothing queued yet, and no file created by asking
    assert not (seglab_home / "jobs.sqlite").exists()
    q = JobQueue()
    a = q.enqueue(tiny())
    b = q.enqueue(tiny(arch="segnet"))
    assert [j.id for j in q.jobs()] == [a, b]
    job = q.job(a)
    assert job.status == "queued" and job.config == tiny() and job.run_id is None
    assert queue_summary()["queued"] == 2

    assert q.cancel(b) == "cancelled"  # queued → cancelled at once
    assert q.job(b).status == "cancelled" and q.job(b).finished is not None
    assert q.cancel(b) == "cancelled"  # cancelling again changes nothing
    summary = queue_summary(seglab_home)
    assert summary["queued"] == 1 and summary["cancelled"] == 1 and summary["running"] == 0
    with pytest.raises(SegLabError, match="no job 999"):
        q.job(999)
    with pytest.raises(SegLabError, match="only interrupted or cancelled"):
        q.resume(a)


def test_study_enqueues_grid_in_one_group(seglab_home: Path) -> None:
    q = JobQueue(seglab_home)
    group = q.enqueue_study(
        tiny(), {"arch": ["unet", "segnet"], "loss": ["bce", "dice"], "seed": [0, 1]}, name="s"
    )
    jobs = q.jobs(group=group)
    combos = {(j.config.arch, j.config.loss, j.config.seed) for j in jobs}
    assert len(jobs) == 8 and len(combos) == 8
    assert {j.group for j in jobs} == {group}
    assert all(j.config.size == 32 and j.config.width == 4 for j in jobs)  # the base carries over
    (summary,) = q.groups()
    assert summary.id == group and summary.name == "s" and summary.total == 8
    assert summary.counts["queued"] == 8 and summary.best_test_iou is None and not summary.finished
    assert summary.grid == {"arch": ["unet", "segnet"], "loss": ["bce", "dice"], "seed": [0, 1]}

    with pytest.raises(ConfigError, match="unknown config key"):
        q.enqueue_study(tiny(), {"arch": ["unet"], "no_such_field": [1]})
    with pytest.raises(ConfigError):
        q.enqueue_study(tiny(), {"width": [4, -1]})  # one bad value: nothing is queued
    assert len(q.jobs()) == 8 and len(q.groups()) == 1


# ---- the worker, in this process ----------------------------------------------------------------


def test_worker_done_failed_diverged(seglab_home: Path) -> None:
    q = JobQueue()
    good = q.enqueue(tiny(epochs=2))
    bad_path = q.enqueue(tiny(dataset=str(seglab_home / "no-such-folder")))
    huge_lr = q.enqueue(tiny(lr=1e30, epochs=2))
    assert run_worker(once=True, verbose=False) == 3
    assert queue_summary() == {**dict.fromkeys(queue_summary(), 0), "done": 1, "failed": 1, "diverged": 1}

    store = RunStore(seglab_home)
    done = q.job(good)
    assert done.status == "done" and done.started <= done.finished
    assert done.progress["epoch"] == 2 and done.progress["epochs"] == 2 and done.progress["epochs_done"] == 2
    assert done.progress["batch"] == done.progress["n_batches"] == 2  # 16 training images, batch 8
    assert 0.0 <= done.progress["metrics"]["val_iou"] <= 1.0
    record = store.load_run(done.run_id)
    assert record.status == "done" and record.epochs_done == 2
    assert done.result["test_iou"] == pytest.approx(record.metrics["test_iou"])
    assert done.result["val_iou"] == pytest.approx(record.metrics["val_iou"])

    failed = q.job(bad_path)
    assert failed.status == "failed" and "no-such-folder" in failed.message
    assert store.load_run(failed.run_id).status == "failed"

    diverged = q.job(huge_lr)
    assert diverged.status == "diverged" and "learning rate" in diverged.message
    assert store.load_run(diverged.run_id).status == "diverged"


def test_cancel_running_job_stops_within_a_batch(seglab_home: Path) -> None:
    q = JobQueue()
    job_id = q.enqueue(tiny(epochs=40, n=40))
    recorder = Recorder()
    thread = threading.Thread(
        target=run_worker,
        kwargs=dict(once=True, verbose=False, job_callbacks=lambda *_: recorder),
        daemon=True,
    )
    thread.start()
    wait_for(lambda: len(recorder.batches) >= 2, 60, "the job to train a couple of batches")
    assert q.job(job_id).status == "running"
    assert queue_summary()["running"] == 1
    t_cancel = time.monotonic()
    assert q.cancel(job_id) == "running"  # the worker winds down
    thread.join(60)
    assert not thread.is_alive()
    after = [b for b in recorder.batches if b[0] > t_cancel]
    assert len(after) <= 1, f"{len(after)} batches ran after the cancel request"
    job = q.job(job_id)
    assert job.status == "cancelled" and not job.cancel_requested
    assert RunStore(seglab_home).load_run(job.run_id).status == "cancelled"
    assert len(recorder.batches) < 40 * 4


# ---- real worker processes ---------------------------------------------------------------------


def _worker_env(home: Path) -> dict[str, str]:
    env = dict(os.environ, SEGLAB_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def test_sigkilled_worker_leaves_job_interrupted_and_resume_continues(seglab_home: Path) -> None:
    q = JobQueue()
    job_id = q.enqueue(tiny(epochs=3))
    proc = subprocess.Popen(
        [sys.executable, "-m", "seglab", "worker", "--once"],
        env=_worker_env(seglab_home),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Wait until the first epoch (and its checkpoint) is done, then kill without warning.
        wait_for(lambda: q.job(job_id).progress.get("epochs_done", 0) >= 1, 120, "epoch 1 in the worker")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    job = q.job(job_id)  # looking at the queue notices the dead worker
    assert job.status == "interrupted", job
    assert "stopped unexpectedly" in job.message
    store = RunStore(seglab_home)
    assert store.load_run(job.run_id).status == "interrupted"
    assert store.checkpoint_path(job.run_id, "last").is_file()
    killed_at = store.load_run(job.run_id).epochs_done
    assert 1 <= killed_at < 3

    q.resume(job_id)
    assert q.job(job_id).status == "queued" and q.job(job_id).resume
    recorder = Recorder()
    assert run_worker(once=True, verbose=False, job_callbacks=lambda *_: recorder) == 1
    job = q.job(job_id)
    assert job.status == "done", job.message
    assert recorder.start["start_epoch"] == killed_at + 1  # continued from the checkpoint
    assert recorder.batches[0][1] == killed_at + 1
    assert [h["epoch"] for h in store.history(job.run_id)] == [1, 2, 3]
    assert store.load_run(job.run_id).status == "done"


class FakeSpawns:
    """Stands in for ``worker._spawn``: notes each start and leaves the record a real start
    leaves (this test process's pid, alive), after ``delay`` seconds, as ``Popen`` takes time."""

    def __init__(self, delay: float = 0.0) -> None:
        self.slots: list[str] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, home: Path, slot: str, *args: object, **kwargs: object) -> None:
        with self.lock:
            self.slots.append(slot)
        time.sleep(self.delay)
        record = {"pid": os.getpid(), "time": time.time()}
        (home / "_workers" / f"{slot}.spawn").write_text(json.dumps(record))


def test_ensure_worker_starts_one_worker_per_queued_job_not_per_slot(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawns = FakeSpawns()
    monkeypatch.setattr(worker_mod, "_spawn", spawns)
    monkeypatch.setenv("SEGLAB_SLOTS", "2")
    q = JobQueue(seglab_home)
    q.enqueue(tiny())
    assert ensure_worker(seglab_home, device="cpu") is True
    assert spawns.slots == ["cpu-0"]  # one queued run: one worker, the other slot stays free
    assert ensure_worker(seglab_home, device="cpu") is False  # pressing again starts nothing
    q.enqueue(tiny(seed=1))
    assert ensure_worker(seglab_home, device="cpu") is True
    assert spawns.slots == ["cpu-0", "cpu-1"]  # a second job: the second slot
    q.enqueue(tiny(seed=2))
    assert ensure_worker(seglab_home, device="cpu") is False  # no free slot left
    assert spawns.slots == ["cpu-0", "cpu-1"]


def test_two_sessions_pressing_start_at_once_start_one_worker(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawns = FakeSpawns(delay=0.3)  # both sessions look before either start is recorded
    monkeypatch.setattr(worker_mod, "_spawn", spawns)
    finished = [FinishedProcess() for _ in range(3)]  # earlier workers: every session reaps them
    monkeypatch.setattr(worker_mod, "_SPAWNED", list(finished))
    monkeypatch.setenv("SEGLAB_SLOTS", "1")
    JobQueue(seglab_home).enqueue(tiny())
    JobQueue(seglab_home).enqueue(tiny(seed=1))
    barrier = threading.Barrier(3)
    results: list[bool] = []

    def press_start() -> None:
        barrier.wait()
        results.append(ensure_worker(seglab_home, device="cpu"))

    sessions = [threading.Thread(target=press_start) for _ in range(3)]
    for t in sessions:
        t.start()
    for t in sessions:
        t.join(30)
    assert spawns.slots == ["cpu-0"]
    assert sorted(results) == [False, False, True]  # no session failed
    assert worker_mod._SPAWNED == []


class FinishedProcess:
    """A spawned worker that has exited; asking takes a moment, as a real ``poll`` can."""

    def poll(self) -> int:
        time.sleep(0.02)
        return 0


class FakePopen:
    """Stands in for a slot process that has already finished."""

    started: list[list[str]] = []

    def __init__(self, cmd: list[str], **kwargs: object) -> None:
        FakePopen.started.append(cmd)
        self.pid, self.returncode = 10_000_000 + len(FakePopen.started), 0

    def poll(self) -> int:
        return 0


@pytest.mark.parametrize(("jobs", "processes"), [(1, 1), (3, 2)])
def test_a_study_starts_no_more_slot_processes_than_jobs(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, processes: int
) -> None:
    monkeypatch.setattr(worker_mod.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(FakePopen, "started", [])
    group = JobQueue(seglab_home).enqueue_study(tiny(), {"seed": list(range(jobs))})
    run_worker(seglab_home, once=True, group=group, device="cpu", slots=2, verbose=False)
    assert len(FakePopen.started) == processes
    assert [cmd[cmd.index("--slot") + 1] for cmd in FakePopen.started] == ["cpu-0", "cpu-1"][:processes]


def test_ensure_worker_starts_one_worker_only(seglab_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_mod, "LOCK_RETRY_SECONDS", 0.2)
    monkeypatch.setenv("SEGLAB_SLOTS", "1")  # one slot: a second worker would have nowhere to go
    assert ensure_worker(seglab_home, device="cpu", idle_timeout=60) is True
    spawned = worker_mod._SPAWNED[-1]
    try:
        assert ensure_worker(seglab_home, device="cpu") is False  # still starting: not a second one
        q = JobQueue(seglab_home)
        live = wait_for(q.live_workers, 60, "the worker to register")
        assert [w["pid"] for w in live] == [spawned.pid]
        assert ensure_worker(seglab_home, device="cpu") is False  # alive: not a second one
        with pytest.raises(worker_mod.WorkerBusyError):
            run_worker(seglab_home, once=True, device="cpu", verbose=False)
        # It runs queued jobs; the heartbeat is fresh.
        job_id = q.enqueue(tiny())
        wait_for(lambda: q.job(job_id).status == "done", 120, "the background worker to run the job")
        assert time.time() - q.live_workers()[0]["heartbeat"] < 10
    finally:
        spawned.send_signal(signal.SIGTERM)  # asks it to stop after the current batch
        spawned.wait(30)
    assert JobQueue(seglab_home).live_workers() == []
    log = (seglab_home / "_workers" / "worker-cpu-0.log").read_text()
    assert "started on cpu" in log and "stopped after 1 job" in log
    assert json.loads((seglab_home / "_workers" / "cpu-0.spawn").read_text())["pid"] == spawned.pid
