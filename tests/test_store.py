"""The experiment store: atomic writes, robust listing, export/import, deletion."""

from __future__ import annotations

import json
import os
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from seglab.errors import InternalError, SegLabError
from seglab.settings.config import TrainConfig
from seglab.store.run_store import (
    STATUSES,
    RunFiles,
    RunNotFoundError,
    RunStore,
    StoreWarning,
    atomic_write_json,
)
from seglab.store.run_store import seglab_home as store_home


def _fake_finished_run(store: RunStore, arch: str = "unet", iou: float = 0.5) -> str:
    """A run as the engine leaves it, written through RunFiles (no training)."""
    config = TrainConfig(arch=arch, size=32, width=4, depth=2, epochs=2)
    run_id = store.create_run(config, group="g1")
    files = RunFiles(store.run_dir(run_id))
    for epoch in (1, 2):
        files.append_history({"epoch": epoch, "train_loss": 1.0 / epoch, "val_iou": iou * epoch / 2})
    files.save_checkpoint("best", {"w": torch.arange(6.0).reshape(2, 3)})
    files.save_predictions(
        {"val_preds": np.ones((2, 4, 4), np.uint8), "val_iou": np.array([0.5, float("nan")])}
    )
    files.update_summary(epochs_done=2, metrics={"val_iou": iou, "test_iou": iou - 0.1})
    store.set_status(run_id, "running")
    store.set_status(run_id, "done")
    return run_id


def test_seglab_home_follows_environment(seglab_home: Path) -> None:
    assert store_home() == seglab_home
    assert RunStore().home == seglab_home


def test_create_list_load_roundtrip(seglab_home: Path) -> None:
    store = RunStore()
    run_id = _fake_finished_run(store, arch="segnet", iou=0.8)
    assert run_id.split("-")[2:4] == ["segnet", "bce_dice"]
    [record] = store.list_runs()
    assert record.id == run_id
    assert record.status == "done"
    assert record.config.arch == "segnet"
    assert record.metrics["val_iou"] == pytest.approx(0.8)
    assert record.metrics["test_iou"] == pytest.approx(0.7)
    assert record.epochs_done == 2
    assert record.group == "g1"
    assert record.created <= record.finished
    assert store.load_run(run_id).metrics == record.metrics
    assert [h["epoch"] for h in store.history(run_id)] == [1, 2]
    preds = store.predictions(run_id)
    assert preds["val_preds"].shape == (2, 4, 4)
    assert np.isnan(preds["val_iou"][1])
    assert store.checkpoint_path(run_id).name == "best.pt"


def test_ids_are_unique_and_sort_by_creation_time(seglab_home: Path) -> None:
    store = RunStore()
    ids = [store.create_run(TrainConfig()) for _ in range(5)]
    assert len(set(ids)) == 5
    assert all(i[:15] == ids[0][:15] or i > ids[0] for i in ids)
    assert [r.id for r in store.list_runs()] == sorted(ids, key=lambda i: store.load_run(i).created)


def test_set_status_follows_the_lifecycle(seglab_home: Path) -> None:
    store = RunStore()
    run_id = store.create_run(TrainConfig())
    assert store.load_run(run_id).status == "queued"
    # queued → running → interrupted → queued (resume) → running → done: every move allowed
    for status in ("running", "interrupted", "queued", "running", "done"):
        store.set_status(run_id, status, f"now {status}")
        assert store.load_run(run_id).status == status
        assert store.load_run(run_id).message == f"now {status}"
    assert store.load_run(run_id).finished is not None
    with pytest.raises(ValueError):
        store.set_status(run_id, "exploded")
    # a finished run never moves again (a bug, not a user error: InternalError stays loud)
    for status in sorted(set(STATUSES) - {"done"}):
        with pytest.raises(InternalError, match="cannot move from 'done'"):
            store.set_status(run_id, status)
    assert store.load_run(run_id).status == "done"


def test_a_runs_status_has_one_writer(seglab_home: Path) -> None:
    store = RunStore()
    run_id = store.create_run(TrainConfig())
    with pytest.raises(InternalError, match="only through set_status"):
        store.update_summary(run_id, status="done")
    assert store.load_run(run_id).status == "queued"


def test_history_skips_a_half_written_last_line(seglab_home: Path) -> None:
    store = RunStore()
    run_id = _fake_finished_run(store)
    with open(store.run_dir(run_id) / "history.jsonl", "a") as fh:
        fh.write('{"epoch": 3, "train_lo')
    assert [h["epoch"] for h in store.history(run_id)] == [1, 2]


def test_atomic_write_survives_a_crash_before_rename(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore()
    run_id = store.create_run(TrainConfig(arch="unet"))
    summary_path = store.run_dir(run_id) / "summary.json"
    before = summary_path.read_text()

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.set_status(run_id, "running")
    with pytest.raises(OSError, match="power cut"):
        atomic_write_json(summary_path, {"garbage": True})
    monkeypatch.undo()

    assert summary_path.read_text() == before  # old file intact ...
    assert store.load_run(run_id).status == "queued"  # ... and readable
    assert not [p for p in summary_path.parent.iterdir() if p.name.endswith(".tmp")]  # no litter


def test_listing_skips_corrupt_and_foreign_folders_with_a_warning(seglab_home: Path) -> None:
    store = RunStore()
    good = _fake_finished_run(store)
    bad_json = seglab_home / "20260101-000000-unet-bce-dead"
    bad_json.mkdir()
    (bad_json / "summary.json").write_text("{not json")
    bad_config = seglab_home / "20260101-000001-unet-bce-beef"
    bad_config.mkdir()
    (bad_config / "summary.json").write_text(json.dumps({"status": "done", "config": {"arch": 3}}))
    (seglab_home / "holiday-photos").mkdir()
    (seglab_home / "notes.txt").write_text("not a run")
    (seglab_home / "_workers").mkdir()  # machinery folders are skipped silently

    with pytest.warns(StoreWarning) as caught:
        records = store.list_runs()
    assert [r.id for r in records] == [good]
    messages = " ".join(str(w.message) for w in caught)
    assert "holiday-photos" in messages and "dead" in messages and "beef" in messages
    assert "_workers" not in messages


def test_listing_passes_over_saved_uploads_but_warns_about_a_damaged_run(seglab_home: Path) -> None:
    from seglab.data.uploads import save_dataset

    store = RunStore()
    good = _fake_finished_run(store)
    saved = save_dataset(b"PK\x05\x06" + bytes(18), "my cells")  # an empty zip is enough here
    assert saved.path.parent.parent == seglab_home  # the uploads share the runs' home
    damaged = seglab_home / "20260101-000002-unet-bce-cafe"
    damaged.mkdir()
    (damaged / "summary.json").write_text("{cut off")

    with pytest.warns(StoreWarning) as caught:
        records = store.list_runs()
    assert [r.id for r in records] == [good]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "cafe" in messages[0], messages


def test_unknown_and_malicious_ids_are_refused(seglab_home: Path) -> None:
    store = RunStore()
    for bad in ("../etc", "a/b", "", "..", "/abs"):
        with pytest.raises(RunNotFoundError):
            store.run_dir(bad)
    with pytest.raises(RunNotFoundError):
        store.load_run("20260101-000000-nope")
    assert isinstance(RunNotFoundError("x"), SegLabError)


def test_delete_run(seglab_home: Path) -> None:
    store = RunStore()
    keep, drop = _fake_finished_run(store), _fake_finished_run(store)
    store.delete_run(drop)
    assert [r.id for r in store.list_runs()] == [keep]
    assert not store.run_dir(drop).exists()
    with pytest.raises(RunNotFoundError):
        store.delete_run(drop)


def test_export_import_roundtrip(tmp_path: Path) -> None:
    source = RunStore(tmp_path / "a")
    ids = [_fake_finished_run(source, "unet", 0.6), _fake_finished_run(source, "segnet", 0.7)]
    zip_path = source.export_runs(ids, tmp_path / "runs.zip")

    target = RunStore(tmp_path / "b")
    assert sorted(target.import_runs(zip_path)) == sorted(ids)
    for run_id in ids:
        a, b = source.load_run(run_id), target.load_run(run_id)
        assert (a.metrics, a.config, a.status, a.epochs_done) == (
            b.metrics,
            b.config,
            b.status,
            b.epochs_done,
        )
        assert source.history(run_id) == target.history(run_id)
        wa = torch.load(source.checkpoint_path(run_id), weights_only=True)
        wb = torch.load(target.checkpoint_path(run_id), weights_only=True)
        assert torch.equal(wa["w"], wb["w"])
        np.testing.assert_array_equal(
            source.predictions(run_id)["val_preds"], target.predictions(run_id)["val_preds"]
        )

    # importing again neither overwrites nor duplicates
    target.update_summary(ids[0], message="edited here")
    with pytest.warns(StoreWarning, match="already exists"):
        assert target.import_runs(zip_path) == []
    assert target.load_run(ids[0]).message == "edited here"
    assert len(target.list_runs()) == 2


def test_import_marks_unfinished_runs_interrupted(tmp_path: Path) -> None:
    source = RunStore(tmp_path / "a")
    run_id = source.create_run(TrainConfig())
    source.set_status(run_id, "running")
    zip_path = source.export_runs([run_id], tmp_path / "r.zip")
    target = RunStore(tmp_path / "b")
    target.import_runs(zip_path)
    assert target.load_run(run_id).status == "interrupted"


@pytest.mark.parametrize(
    "member", ["../evil/summary.json", "/abs/summary.json", "run/../../x", "loose.txt", "a\\..\\b"]
)
def test_import_refuses_paths_that_escape(tmp_path: Path, member: str) -> None:
    zip_path = tmp_path / "evil.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr(member, "{}")
    store = RunStore(tmp_path / "home")
    with pytest.raises(SegLabError):
        store.import_runs(zip_path)
    assert list((tmp_path / "home").iterdir()) == []
    assert not (tmp_path / "evil").exists() and not Path("/abs").exists()


def test_import_rejects_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "x.zip"
    bogus.write_text("hello")
    with pytest.raises(SegLabError, match="not a readable zip"):
        RunStore(tmp_path / "h").import_runs(bogus)


def test_listing_many_runs_reads_only_summaries(seglab_home: Path) -> None:
    store = RunStore()
    config = TrainConfig(arch="unet")
    for i in range(500):
        run_id = f"20260101-{i:06d}-unet-bce_dice-{i:04x}"
        RunFiles(seglab_home / run_id).init(config, status="done")
        (seglab_home / run_id / "best.pt").write_bytes(b"\0" * 10)  # never opened by listing
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = store.list_runs()
    seconds = time.perf_counter() - t0
    assert len(records) == 500
    print(f"listed 500 runs in {seconds * 1000:.0f} ms")


def test_run_status_is_one_vocabulary_shared_by_store_and_queue():
    from seglab.jobs import queue as queue_module
    from seglab.status import ACTIVE_STATUSES, FINISHED_STATUSES, RunStatus, is_active

    assert set(STATUSES) == set(queue_module.STATES) == {s.value for s in RunStatus}
    assert set(RunStatus) == ACTIVE_STATUSES | FINISHED_STATUSES
    assert not ACTIVE_STATUSES & FINISHED_STATUSES
    assert [s for s in STATUSES if is_active(s)] == ["queued", "running"]
    assert RunStatus("done") is RunStatus.DONE and RunStatus.DONE == "done"
