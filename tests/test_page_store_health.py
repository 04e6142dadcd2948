"""Pages with a damaged store or queue: nothing breaks, the problem is said in plain words,
unreadable and interrupted runs can be deleted from the Results page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from seglab.jobs import JobQueue
from seglab.jobs.queue import DB_NAME
from seglab.settings.presets import preset
from seglab.store.run_store import RunStore
from seglab.training.run import run_config
from tests.page_support import page_runner


@pytest.fixture
def home_with_odd_runs(seglab_home: Path) -> Iterator[dict[str, str]]:
    """One real finished run, a copy whose summary says created "yesterday", a copy with a
    damaged history and predictions, and a copy left running by a dead process."""
    outcome = run_config(preset("smoke", size=32, epochs=1), home=seglab_home, group="g")
    assert outcome.status == "done", outcome.message
    good = outcome.run_id
    ids = {"good": good}
    for kind in ("unreadable", "damaged", "dead"):
        run_id = good[:-4] + {"unreadable": "aaaa", "damaged": "bbbb", "dead": "cccc"}[kind]
        path = seglab_home / run_id
        import shutil

        shutil.copytree(seglab_home / good, path)
        summary = json.loads((path / "summary.json").read_text())
        summary["id"] = run_id
        summary["config"]["seed"] = len(ids)  # a distinct label in the page's run picker
        if kind == "unreadable":
            summary["created"] = "yesterday"
        elif kind == "damaged":
            (path / "history.jsonl").write_bytes(b'{"epoch": "one"}\n\xff\xfe\n')
            (path / "predictions.npz").write_bytes(b"PK\x03\x04 broken")
        else:
            dead = subprocess.Popen([sys.executable, "-c", "pass"])
            dead.wait()
            summary.update(status="running", pid=dead.pid, host=os.uname().nodename)
        (path / "summary.json").write_text(json.dumps(summary))
        ids[kind] = run_id
    yield ids


run_results = page_runner("results", timeout=90)


def test_results_page_survives_odd_runs_and_deletes_the_unreadable_one(home_with_odd_runs, seglab_home):
    ids = home_with_odd_runs
    at = run_results()
    table = at.dataframe[1].value  # [0] lists the unreadable runs
    statuses = dict(zip(table["run_id"], table["status"], strict=True))
    assert statuses[ids["dead"]] == "interrupted" and ids["unreadable"] not in statuses
    assert ids["unreadable"] in set(at.dataframe[0].value["Run id"])
    assert any("unreadable run" in e.label for e in at.expander)

    at.multiselect(key="rs_unreadable_pick").set_value([ids["unreadable"]]).run()
    at.button(key="rs_unreadable_delete").click().run()
    assert not at.exception
    assert not (seglab_home / ids["unreadable"]).exists()
    assert RunStore(seglab_home).unreadable_runs() == []

    # the interrupted run may be deleted from the page like any finished run
    at.multiselect(key="rs_pick").select(ids["dead"]).run()
    at.checkbox(key="rs_sure").check().run()
    assert not at.button(key="rs_delete").disabled, [c.value for c in at.caption]
    at.button(key="rs_delete").click().run()
    assert not at.exception
    assert not (seglab_home / ids["dead"]).exists(), (sorted(p.name for p in seglab_home.iterdir()), ids)


@pytest.mark.parametrize("page", ["home", "train", "results"])
def test_pages_say_when_the_queue_was_damaged_and_replaced(seglab_home: Path, page: str) -> None:
    with JobQueue(seglab_home) as q:
        q.enqueue(preset("smoke"))
    (seglab_home / DB_NAME).write_bytes(b"garbage, not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (seglab_home / f"{DB_NAME}{suffix}").unlink(missing_ok=True)
    from seglab.jobs import queue

    queue._INITIALISED.clear()  # as in a freshly started app
    with JobQueue(seglab_home) as q:
        assert q.summary()["queued"] == 0
    at = page_runner(page, timeout=90)()
    warnings = [w.value for w in at.warning]
    assert any("job queue's database was damaged" in w and "damaged-" in w for w in warnings), warnings
    key = {"home": "home_queue_notice", "train": "tr_queue_notice", "results": "rs_queue_notice"}[page]
    at.button(key=f"{key}_dismiss").click().run()
    assert not at.exception
    assert not any("database was damaged" in w.value for w in at.warning)
