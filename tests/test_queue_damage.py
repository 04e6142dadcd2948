"""A damaged jobs.sqlite: detected, copied aside, replaced by a fresh queue, reported in plain
words; the worker's heartbeat and the worker itself survive it. Damage is done by the tests."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from seglab.cli.main import main as cli_main
from seglab.jobs import JobQueue, db_retry, dbhealth, queue_summary
from seglab.jobs.queue import DB_NAME, connect
from seglab.jobs.worker import run_worker
from seglab.settings.config import TrainConfig
from seglab.store.run_store import RunStore


def tiny(**overrides: Any) -> TrainConfig:
    base = dict(dataset="shapes", size=32, n=24, width=4, depth=2, batch_size=8, epochs=1, augment=False)
    base.update(arch="unet", loss="bce", device="cpu")
    return TrainConfig(**{**base, **overrides})


def _cut_in_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _overwrite_header(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.write(b"this is not sqlite" * 4)


def _empty(path: Path) -> None:
    os.truncate(path, 0)


DAMAGE = {"cut in half": _cut_in_half, "header overwritten": _overwrite_header, "emptied": _empty}


def _queue_with_jobs(home: Path, n: int = 150) -> None:
    with JobQueue(home) as q:
        for _ in range(n):  # enough rows for the file to span many pages
            q.enqueue(tiny())
    # fold the WAL into the main file, as a closed queue leaves it
    conn = sqlite3.connect(home / DB_NAME)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _forget_connections(home: Path) -> None:
    """Make this test process behave like a new process opening the home."""
    from seglab.jobs import queue

    queue._INITIALISED.discard(str((home / DB_NAME).resolve()))


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_queue_is_copied_replaced_and_reported(
    seglab_home: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _queue_with_jobs(seglab_home)
    original = (seglab_home / DB_NAME).read_bytes()
    DAMAGE[damage](seglab_home / DB_NAME)
    damaged = (seglab_home / DB_NAME).read_bytes()
    assert dbhealth.damage_reason(seglab_home) is not None
    _forget_connections(seglab_home)

    capsys.readouterr()
    assert cli_main(["jobs"]) == 0
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err
    [copy] = list(seglab_home.glob(f"{DB_NAME}.damaged-*"))
    assert copy.read_bytes() == damaged and len(original) > 0
    assert dbhealth.damage_reason(seglab_home) is None
    assert queue_summary(seglab_home)["queued"] == 0  # a fresh, empty queue
    notice = dbhealth.queue_notice(seglab_home)
    assert notice is not None and copy.name in notice and "Finished runs are safe" in notice
    for argv in (["cancel", "1"], ["resume", "1"], ["delete", "nope"], ["runs"]):
        assert cli_main(argv) in (0, 1)
        assert "Traceback" not in capsys.readouterr().err
    with JobQueue() as q:  # and it works again
        job_id = q.enqueue(tiny())
        assert q.job(job_id).status == "queued"
    dbhealth.dismiss_queue_notice(seglab_home)
    assert dbhealth.queue_notice(seglab_home) is None


def test_damage_under_an_open_connection_is_repaired_on_the_next_call(seglab_home: Path) -> None:
    _queue_with_jobs(seglab_home)
    with JobQueue() as q:
        assert q.summary()["queued"] == 150
        _empty(seglab_home / DB_NAME)
        assert q.summary()["queued"] == 0  # no traceback: repaired and reconnected
        assert list(seglab_home.glob(f"{DB_NAME}.damaged-*"))
        q.enqueue(tiny())
        assert q.summary()["queued"] == 1


def test_a_deliberately_deleted_queue_is_not_damage(seglab_home: Path) -> None:
    _queue_with_jobs(seglab_home, 3)
    for suffix in ("", "-wal", "-shm"):
        (seglab_home / f"{DB_NAME}{suffix}").unlink(missing_ok=True)
    _forget_connections(seglab_home)
    assert queue_summary(seglab_home) == {}
    with JobQueue() as q:
        assert q.summary()["queued"] == 0
    assert dbhealth.queue_notice(seglab_home) is None
    assert not list(seglab_home.glob(f"{DB_NAME}.damaged-*"))


def test_a_busy_database_is_not_damage(seglab_home: Path) -> None:
    assert dbhealth.is_busy(sqlite3.OperationalError("database is locked"))
    assert not dbhealth.is_busy(sqlite3.DatabaseError("database disk image is malformed"))


def test_heartbeat_survives_transient_errors_with_backoff(seglab_home: Path) -> None:
    connect(seglab_home).close()
    registration = {
        "id": "w1",
        "pid": os.getpid(),
        "host": "h",
        "device": "cpu",
        "slot": "cpu-0",
        "lock_path": "/nonexistent",
        "started": time.time(),
    }
    failures = {"left": 3}

    def flaky_connect(home: Path) -> sqlite3.Connection:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return connect(home)

    stopped = threading.Event()
    thread = threading.Thread(
        target=db_retry.heartbeat_loop,
        args=(seglab_home, "w1", stopped, 0.01),
        kwargs={"connect": flaky_connect, "registration": registration},
    )
    thread.start()
    deadline = time.monotonic() + 10
    row = None
    while time.monotonic() < deadline:
        row = connect(seglab_home).execute("SELECT heartbeat FROM workers WHERE id = 'w1'").fetchone()
        if row is not None:
            break
        time.sleep(0.02)
    assert thread.is_alive() and row is not None and failures["left"] == 0
    stopped.set()
    thread.join(5)
    assert not thread.is_alive()
    assert db_retry.backoff_delay(1, 2.0) == 4.0 and db_retry.backoff_delay(10, 2.0) == db_retry.MAX_BACKOFF


def test_the_worker_survives_a_queue_emptied_while_a_job_trains(seglab_home: Path) -> None:
    """The issue's case: jobs.sqlite truncated to 0 bytes mid-job. The run finishes intact,
    the worker keeps running and trains the next job queued in the fresh queue."""
    with JobQueue() as q:
        q.enqueue(tiny(epochs=2))

    class Saboteur:
        def __init__(self) -> None:
            self.done = False

        def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
            if not self.done:
                self.done = True
                _empty(seglab_home / DB_NAME)

    errors: list[BaseException] = []

    def work() -> None:
        try:
            ran.append(
                run_worker(
                    seglab_home,
                    max_jobs=2,
                    poll=0.1,
                    idle_timeout=60,
                    verbose=False,
                    job_callbacks=lambda job_id, config: Saboteur(),
                )
            )
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    ran: list[int] = []
    thread = threading.Thread(target=work)
    thread.start()
    store = RunStore(seglab_home)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(r.status == "done" for r in store.list_runs()):
        time.sleep(0.2)
    [first] = store.list_runs()
    assert first.status == "done" and first.epochs_done == 2
    with JobQueue() as q:  # the fresh queue takes new work
        q.enqueue(tiny(seed=1))
    thread.join(120)
    assert not errors and ran == [2]
    runs = store.list_runs()
    assert len(runs) == 2 and all(r.status == "done" for r in runs)
    assert list(seglab_home.glob(f"{DB_NAME}.damaged-*"))
