"""The store against an attacker and an unlucky user: crafted imports, odd run folders,
dead processes, leftover temporary files, a run deleted while it is written.

Every crafted input is made here, by the test itself, from a normal run (no fixture files).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seglab.analysis import results_table as rt
from seglab.cli.main import EXIT_USER_ERROR
from seglab.cli.main import main as cli_main
from seglab.settings.config import TrainConfig
from seglab.store.checks import RESERVED_NAMES, run_id_problem
from seglab.store.run_store import (
    RunDeletedError,
    RunFiles,
    RunNotFoundError,
    RunStore,
    StoreWarning,
    check_run_id,
)


def _finished_run(store: RunStore, iou: float = 0.5) -> str:
    """A small finished run written through RunFiles (no training)."""
    run_id = store.create_run(TrainConfig(size=32, width=4, depth=2, epochs=2), group="g")
    files = RunFiles(store.run_dir(run_id))
    for epoch in (1, 2):
        files.append_history({"epoch": epoch, "train_loss": 1.0 / epoch, "val_iou": iou * epoch / 2})
    files.save_predictions({"val_preds": np.ones((2, 4, 4), np.uint8)})
    files.update_summary(epochs_done=2, metrics={"val_iou": iou, "test_iou": iou - 0.1})
    store.set_status(run_id, "running")
    store.set_status(run_id, "done")
    return run_id


def _set_summary(path: Path, **fields: Any) -> None:
    summary = json.loads((path / "summary.json").read_text())
    summary.update(fields)
    (path / "summary.json").write_text(json.dumps(summary))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _object_npz() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("val_preds.npy", buf.getvalue())
    return out.getvalue()


# Each crafted case: how to damage one file of a normal run folder (in place).
CASES: dict[str, Callable[[Path], None]] = {
    "created yesterday": lambda p: _set_summary(p, created="yesterday"),
    "created 1e308": lambda p: _set_summary(p, created=1e308),
    "metric 10**400": lambda p: (p / "summary.json").write_text(
        (p / "summary.json").read_text().replace('"val_iou": 0.5', '"val_iou": 1' + "0" * 400)
    ),
    "epochs_done 1e308": lambda p: _set_summary(p, epochs_done=1e308),
    "deeply nested summary": lambda p: (p / "summary.json").write_text(
        '{"status": "done", "config": {}, "x": ' + _nested(100_000) + "}"
    ),
    "summary not utf-8": lambda p: (p / "summary.json").write_bytes(b'{"status": "\xff\xfe"}'),
    "unknown status": lambda p: _set_summary(p, status="exploded"),
}
# Damage that leaves the run listable but must not break reading its details.
SOFT_CASES: dict[str, Callable[[Path], None]] = {
    "history epoch 'one'": lambda p: (p / "history.jsonl").write_text(
        '{"epoch": "one", "val_iou": 0.1}\n{"epoch": 2, "val_iou": 0.2}\n'
    ),
    "history not utf-8": lambda p: (p / "history.jsonl").write_bytes(
        b'{"epoch": 1, "val_iou": 0.1}\n\xff\xfe\x00garbage\n'
    ),
    "history metric 1e400": lambda p: (p / "history.jsonl").write_text(
        '{"epoch": 1, "val_iou": 1e400}\n{"epoch": 2, "val_iou": 0.2}\n'
    ),
    "predictions not a zip": lambda p: (p / "predictions.npz").write_bytes(b"PK\x03\x04 not really"),
    "predictions object array": lambda p: (p / "predictions.npz").write_bytes(_object_npz()),
}


# ---- the run-id rule -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["jobs.sqlite", "jobs.sqlite-wal", "jobs.sqlite-shm", "jobs.sqlite.damaged-20260101-000000", "_workers"]
    + [".import-abc", ".jobs.sqlite.in-use", "a.b", "..", "x/y", "", "-x", "a" * 129]
    + sorted(RESERVED_NAMES)
    + ["JOBS", "Cache"],
)
def test_store_names_are_never_run_ids(name: str) -> None:
    assert run_id_problem(name) is not None
    with pytest.raises(RunNotFoundError):
        check_run_id(name)


def test_generated_ids_follow_the_rule(seglab_home: Path) -> None:
    store = RunStore()
    for arch in ("unet", "unet_strided", "unetpp"):
        assert run_id_problem(store.create_run(TrainConfig(arch=arch))) is None


def _zip_of(store: RunStore, run_id: str, rename: str | None = None) -> bytes:
    """The export of one run, optionally under another folder name."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for file in sorted(store.run_dir(run_id).iterdir()):
            if file.name.startswith("."):
                continue
            zf.writestr(f"{rename or run_id}/{file.name}", file.read_bytes())
    return out.getvalue()


@pytest.mark.parametrize("folder", ["jobs.sqlite", "jobs.sqlite-wal", "_workers", "jobs", "a.b"])
def test_import_refuses_ids_that_name_store_files_and_keeps_the_rest(tmp_path: Path, folder: str) -> None:
    source = RunStore(tmp_path / "a")
    good, evil = _finished_run(source), _finished_run(source)
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for blob in (_zip_of(source, good), _zip_of(source, evil, rename=folder)):
            with zipfile.ZipFile(io.BytesIO(blob)) as inner:
                for item in inner.infolist():
                    zf.writestr(item.filename, inner.read(item))
    target = RunStore(tmp_path / "b")
    skipped: list[str] = []
    assert target.import_runs(archive, skipped=skipped) == [good]
    assert len(skipped) == 1 and folder in skipped[0]
    assert not (target.home / folder).exists()
    # the queue still opens and the CLI still lists and deletes
    from seglab.jobs import JobQueue

    with JobQueue(target.home) as q:
        assert q.summary()["queued"] == 0
    assert cli_main(["runs", "--home", str(target.home)]) == 0
    assert cli_main(["delete", "jobs.sqlite", "--home", str(target.home)]) == EXIT_USER_ERROR


@pytest.mark.parametrize("case", sorted(CASES) + sorted(SOFT_CASES))
def test_import_skips_a_crafted_run_with_a_reason_and_imports_the_rest(tmp_path: Path, case: str) -> None:
    source = RunStore(tmp_path / "a")
    good, bad = _finished_run(source, 0.6), _finished_run(source, 0.5)
    (CASES | SOFT_CASES)[case](source.run_dir(bad))
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for run_id in (good, bad):
            for file in sorted(source.run_dir(run_id).iterdir()):
                zf.write(file, f"{run_id}/{file.name}")
    target = RunStore(tmp_path / "b")
    skipped: list[str] = []
    assert target.import_runs(archive, skipped=skipped) == [good]
    assert len(skipped) == 1 and bad in skipped[0]
    assert "Traceback" not in skipped[0] and len(skipped[0]) < 300
    assert not target.run_dir(bad).exists()
    assert [r.id for r in target.list_runs()] == [good]


# ---- reading a store with one odd run -----------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unreadable_run_is_listed_with_its_reason_and_breaks_nothing(
    seglab_home: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore()
    good, bad = _finished_run(store, 0.6), _finished_run(store, 0.5)
    CASES[case](store.run_dir(bad))

    with pytest.warns(StoreWarning):
        records = store.list_runs()
    assert [r.id for r in records] == [good]
    [unreadable] = store.unreadable_runs()
    assert unreadable.id == bad and unreadable.status == "unreadable" and unreadable.reason
    frame = rt.runs_frame(records)  # the Results table of what is readable
    assert list(frame["run_id"]) == [good]

    capsys.readouterr()
    assert cli_main(["runs"]) == 0
    out = capsys.readouterr()
    assert bad in out.out and "unreadable" in out.out and "Traceback" not in out.err
    assert cli_main(["runs", "--json"]) == 0
    listed = {r["id"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    assert listed == {good: "done", bad: "unreadable"}
    assert cli_main(["report", "-o", str(seglab_home.parent / "report")]) == 0
    assert bad in capsys.readouterr().err

    assert cli_main(["delete", bad]) == 0
    assert store.unreadable_runs() == [] and not store.run_dir(bad).exists()


@pytest.mark.parametrize("case", sorted(SOFT_CASES))
def test_a_damaged_history_or_predictions_file_never_breaks_reading(seglab_home: Path, case: str) -> None:
    store = RunStore()
    run_id = _finished_run(store)
    SOFT_CASES[case](store.run_dir(run_id))
    [record] = store.list_runs()
    assert record.id == run_id
    history = store.history(run_id)
    assert all(isinstance(r["epoch"], int) for r in history)
    assert all(np.isfinite(v) for r in history for v in r.values() if isinstance(v, float))
    frame = rt.histories_frame({run_id: history}, rt.runs_frame([record]))
    assert set(frame["epoch"]) == {r["epoch"] for r in history} and history
    if "predictions" in case:
        with pytest.warns(StoreWarning, match="predictions.npz"):
            assert store.predictions(run_id) == {}
    else:
        assert store.predictions(run_id)["val_preds"].shape == (2, 4, 4)


def test_a_folder_without_summary_but_with_run_files_is_unreadable_not_foreign(seglab_home: Path) -> None:
    store = RunStore()
    run_id = _finished_run(store)
    (store.run_dir(run_id) / "summary.json").unlink()
    (seglab_home / "holiday-photos").mkdir()
    assert [u.id for u in store.unreadable_runs()] == [run_id]


# ---- runs whose process died ------------------------------------------------------------------
def test_a_running_run_whose_process_died_reads_as_interrupted_and_can_be_resumed_or_deleted(
    seglab_home: Path,
) -> None:
    store = RunStore()
    run_id = store.create_run(TrainConfig(size=32, width=4, depth=2, epochs=2))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.files(run_id).set_status("running", pid=dead.pid)
    assert store.load_run(run_id).status == "interrupted"
    assert "pid" in store.load_run(run_id).message
    # a live writer stays running
    store.update_summary(run_id, pid=os.getpid())
    assert store.load_run(run_id).status == "running"
    store.update_summary(run_id, pid=dead.pid)

    from seglab.jobs import JobQueue

    with JobQueue() as q:
        job_id = q.enqueue_resume(run_id)
        job = q.job(job_id)
    assert job.resume is True and job.run_id == run_id and job.status == "queued"
    assert store.load_run(run_id).status == "queued"


def test_a_killed_foreground_train_is_interrupted_and_deletable(seglab_home: Path) -> None:
    """A real `seglab train` process killed mid-run: its run reads as interrupted."""
    env = dict(os.environ, SEGLAB_HOME=str(seglab_home))
    cmd = [sys.executable, "-m", "seglab", "train", "--size", "32", "--n", "64", "--epochs", "50"]
    proc = subprocess.Popen(cmd + ["--width", "4", "--depth", "2"], env=env, stderr=subprocess.DEVNULL)
    store = RunStore(seglab_home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = store.list_runs()
        if runs and runs[0].status == "running":
            break
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    [record] = store.list_runs()
    assert record.status == "interrupted"
    assert cli_main(["delete", record.id]) == 0
    assert store.list_runs() == []


# ---- leftovers and deletions -------------------------------------------------------------------
def test_old_temporary_files_are_cleaned_when_the_store_opens_young_ones_kept(seglab_home: Path) -> None:
    store = RunStore()
    run_id = _finished_run(store)
    folder = store.run_dir(run_id)
    old = folder / ".last.pt.abc123.tmp"
    young = folder / ".summary.json.x1y2.tmp"
    staging = seglab_home / ".import-old"
    for path in (old, young):
        path.write_bytes(b"half a file")
    staging.mkdir()
    long_ago = time.time() - 2 * 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(staging, (long_ago, long_ago))
    removed = store.clean_leftovers()
    assert set(removed) == {old, staging}
    assert young.exists() and not old.exists() and not staging.exists()
    assert (folder / "summary.json").exists()


def test_writing_to_a_deleted_run_does_not_recreate_it(seglab_home: Path) -> None:
    store = RunStore()
    run_id = _finished_run(store)
    files = RunFiles(store.run_dir(run_id))
    store.delete_run(run_id)
    for write in (
        lambda: files.update_summary(epochs_done=3),
        lambda: files.append_history({"epoch": 3}),
        lambda: files.write_config(TrainConfig()),
        lambda: files.save_predictions({"x": np.zeros(2)}),
    ):
        with pytest.raises(RunDeletedError):
            write()
    assert not store.run_dir(run_id).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.list_runs() == []


def test_deleting_a_run_while_it_trains_stops_it_as_cancelled_without_recreating_it(
    seglab_home: Path,
) -> None:
    import shutil

    from seglab.settings.presets import preset
    from seglab.training.run import run_config

    class DeleteAfterFirstEpoch:
        def __init__(self) -> None:
            self.run_dir: Path | None = None

        def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
            if epoch == 1:
                shutil.rmtree(self.run_dir)

    deleter = DeleteAfterFirstEpoch()

    def created(run_id: str) -> None:
        deleter.run_dir = seglab_home / run_id

    outcome = run_config(preset("smoke", epochs=5), deleter, home=seglab_home, on_run_created=created)
    assert outcome.status == "cancelled" and "deleted" in outcome.message
    assert not (seglab_home / outcome.run_id).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RunStore(seglab_home).list_runs() == []
