"""A run's owner is kept with the run: the worker copies the queue's ``owner`` column into the
new run's summary (single jobs and packed ones), it survives export and import, and the Results
table shows it (and shows no empty column outside classroom mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seglab.analysis import results_table as rt
from seglab.jobs import JobQueue
from seglab.jobs.worker import run_worker
from seglab.settings.classroom import Actor, Role
from seglab.settings.config import TrainConfig
from seglab.store.run_store import RunStore

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(**overrides) -> TrainConfig:
    base = dict(dataset="shapes", size=32, n=24, width=4, depth=2, batch_size=8, epochs=1, augment=False)
    return TrainConfig(**{**base, **overrides})


@pytest.mark.parametrize("pack", ["0", "1"], ids=["one-by-one", "packed"])
def test_the_worker_records_the_queue_owner_in_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pack: str
) -> None:
    monkeypatch.setenv("SEGLAB_PACK", pack)
    with JobQueue(tmp_path) as q:
        ann = q.enqueue(tiny(seed=1), actor=Actor("Ann Lee", Role.STUDENT))
        mine = q.enqueue(tiny(seed=2))  # the CLI or a laptop: nobody in particular
    assert run_worker(tmp_path, once=True, device="cpu", verbose=False) >= 1
    with JobQueue(tmp_path) as q:
        runs = {job.id: job.run_id for job in q.jobs()}
    store = RunStore(tmp_path)
    assert store.load_run(runs[ann]).owner == "Ann Lee"
    assert store.load_run(runs[mine]).owner == ""
    assert store.files(runs[ann]).read_summary()["owner"] == "Ann Lee"


def test_the_owner_survives_export_and_import_and_shows_in_the_table(tmp_path: Path, capsys) -> None:
    source = RunStore(tmp_path / "a")
    theirs = source.create_run(tiny(), owner="Bo")
    nobodys = source.create_run(tiny(seed=3))
    archive = source.export_runs([theirs, nobodys], tmp_path / "runs.zip")
    target = RunStore(tmp_path / "b")
    assert sorted(target.import_runs(archive)) == sorted([theirs, nobodys])
    assert target.load_run(theirs).owner == "Bo" and target.load_run(nobodys).owner == ""
    table = rt.display_table(rt.runs_frame(target.list_runs()))
    assert dict(zip(table["run_id"], table["owner"], strict=True)) == {theirs: "Bo", nobodys: ""}
    from seglab.cli.main import main

    assert main(["runs", "--home", str(tmp_path / "b"), "--json"]) == 0
    listed = {r["id"]: r["owner"] for r in json.loads(capsys.readouterr().out)}
    assert listed == {theirs: "Bo", nobodys: None}
    alone = rt.display_table(rt.runs_frame([target.load_run(nobodys)]))
    assert "owner" not in alone  # outside classroom mode no run has one: no empty column


def test_an_imported_owner_is_checked_and_cleaned(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = store.create_run(tiny(), owner="x")
    files = store.files(run_id)
    summary = files.read_summary()
    files.write_summary({**summary, "owner": "  Ann   Lee\x00" + "!" * 500})
    assert store.load_run(run_id).owner == "Ann Lee" + "!" * 33  # 40 characters at most
    files.write_summary({**summary, "owner": ["not", "text"]})
    assert [u.id for u in store.unreadable_runs()] == [run_id]
