"""The store's shared cache of run records (issue 22: a class lists every run on each Results
rerun). A listing must always read as a fresh parse of every summary.json would: a rewrite shows
at once, a dead writer reads "interrupted" at once, and what one caller changes in a record
never reaches the next."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from seglab.settings.config import TrainConfig
from seglab.store import run_store
from seglab.store.run_store import RunFiles, RunStore


def _run(store: RunStore, iou: float = 0.5) -> str:
    run_id = store.create_run(TrainConfig(size=32, width=4, depth=2, epochs=2), group="g")
    RunFiles(store.run_dir(run_id)).update_summary(epochs_done=2, metrics={"val_iou": iou})
    return run_id


def _fresh(store: RunStore) -> list[tuple]:
    """The oracle: every summary parsed now, without the cache."""
    records = []
    for run_id in sorted(p.name for p in store.home.iterdir() if (p / run_store.SUMMARY).exists()):
        path = store.run_dir(run_id)
        record = run_store._record_from_summary(RunFiles(path).read_summary(), path)
        records.append((record.id, record.status, record.metrics, record.message))
    return sorted(records)


def _listed(store: RunStore) -> list[tuple]:
    return sorted((r.id, r.status, r.metrics, r.message) for r in store.list_runs())


def test_listing_follows_every_rewrite(seglab_home: Path) -> None:
    store = RunStore()
    first, second = _run(store, 0.5), _run(store, 0.6)
    assert _listed(store) == _fresh(store)
    store.set_status(first, "running")
    RunFiles(store.run_dir(second)).update_summary(metrics={"val_iou": 0.9})
    assert _listed(store) == _fresh(store)
    assert {r.id: r.metrics["val_iou"] for r in store.list_runs()}[second] == 0.9
    store.set_status(first, "done")
    assert {r.id: r.status for r in store.list_runs()}[first] == "done"
    store.delete_run(second)
    assert [r.id for r in store.list_runs()] == [first]


def test_a_cached_running_run_reads_interrupted_once_its_process_is_gone(seglab_home: Path) -> None:
    store = RunStore()
    run_id = _run(store)
    store.set_status(run_id, "running")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        RunFiles(store.run_dir(run_id)).update_summary(pid=child.pid, pid_started=None)
        [record] = store.list_runs()  # now cached, its process alive
        assert record.status == "running"
    finally:
        child.kill()
        child.wait()
    [record] = store.list_runs()  # the same summary.json, from the cache
    assert record.status == "interrupted" and str(child.pid) in record.message
    assert _listed(store) == _fresh(store)


def test_records_leave_the_cache_as_copies(seglab_home: Path) -> None:
    store = RunStore()
    _run(store, 0.5)
    [record] = store.list_runs()
    record.metrics["val_iou"] = -1.0
    record.status = "failed"
    [again] = store.list_runs()
    assert again.metrics["val_iou"] == 0.5 and again.status == "queued"
