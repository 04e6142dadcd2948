"""AppTest of issue 16's page parts: the Train page's Tune tab and transfer expander, and the
Results page's cross-validation table and per-class report, on real tiny runs."""

from __future__ import annotations

import statistics

import pytest

import seglab.jobs
from seglab.analysis.tune import FINAL_RUN_NOTE, cv_study
from seglab.jobs import JobQueue, run_worker
from seglab.settings.presets import preset
from seglab.store.run_store import RunStore
from seglab.training.run import run_config
from tests.page_support import page_runner

run_train = page_runner("train", timeout=90)
run_results = page_runner("results", timeout=90)


def frames_with(at, column: str) -> list:
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_tune_tab_queues_every_configuration_times_every_fold(seglab_home, monkeypatch):
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)  # no background process
    at = run_train()
    at.selectbox(key="tr_preset").select("smoke").run()
    at.text_input(key="tu_lr").input("0.003, 0.01").run()
    at.text_input(key="tu_width").input("4, 8").run()
    at.number_input(key="tu_folds").set_value(2).run()
    assert any("**8 run(s)** of cross-validation" in m.value for m in at.markdown)
    assert FINAL_RUN_NOTE in [c.value for c in at.caption]  # what the final run is, schedule included
    at.button(key="tu_start").click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
    assert len(jobs) == 8
    assert {(j.config.lr, j.config.width, j.config.fold) for j in jobs} == {
        (lr, w, f) for lr in (0.003, 0.01) for w in (4, 8) for f in (0, 1)
    }
    assert {j.config.folds for j in jobs} == {2}


def test_tune_tab_shows_the_cv_table_and_queues_the_final_run(seglab_home, monkeypatch):
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    study = cv_study(preset("smoke", n=24), {"lr": [0.003, 0.03]}, 2)
    with JobQueue(seglab_home) as queue:
        group = queue.enqueue_study(study)
    run_worker(seglab_home, once=True, device="cpu", verbose=False)
    at = run_train()
    table = frames_with(at, "CV IoU mean")[0]
    records = RunStore(seglab_home).list_runs()
    for lr, mean in zip(table["configuration"], table["CV IoU mean"], strict=True):
        vals = [r.metrics["val_iou"] for r in records if f"lr={r.config.lr}" == lr]
        assert mean == pytest.approx(statistics.fmean(vals))
    at.button(key=f"tu_final_{group}").click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        finals = [j for j in queue.jobs() if j.group != group]
    assert len(finals) == 1 and finals[0].config.fold is None and finals[0].config.folds == 2


def test_transfer_expander_puts_init_from_into_the_queued_config(seglab_home, monkeypatch):
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    source = run_config(preset("smoke"), home=seglab_home)
    at = run_train()
    at.selectbox(key="tr_preset").select("smoke").run()
    at.selectbox(key="tr_init_from").select(source.run_id).run()
    at.selectbox(key="tr_init_scope").select("all").run()
    at.number_input(key="tr_freeze_epochs").set_value(1).run()
    [b for b in at.button if b.label == "Start training"][0].click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
    assert jobs and all(j.config.init_from == source.run_id for j in jobs)
    assert {(j.config.init_scope, j.config.freeze_encoder_epochs) for j in jobs} == {("all", 1)}


def test_results_show_cv_table_and_per_class_report(seglab_home):
    aerial = run_config(preset("smoke", dataset="aerial", loss="ce", n=24), home=seglab_home)
    assert aerial.status == "done", aerial.message
    study = cv_study(preset("smoke", n=24), {"lr": [0.003, 0.03]}, 2)
    with JobQueue(seglab_home) as queue:
        queue.enqueue_study(study)
    run_worker(seglab_home, once=True, device="cpu", verbose=False)
    at = run_results()
    cv = frames_with(at, "CV IoU mean")[0]
    assert len(cv) == 2 and list(cv["folds done"]) == ["2/2", "2/2"]
    at.selectbox(key="pc_run").select(aerial.run_id).run()
    per_class = frames_with(at, "recall")[0]
    assert list(per_class["class"]) == ["ground", "building", "road", "vegetation", "water", "vehicle"]
    cm = RunStore(seglab_home).predictions(aerial.run_id)["test_confusion"]
    assert list(per_class["support"]) == list(cm.sum(axis=1))
    heatmaps = [c for c in at.get("vega_lite_chart") if '"share of row"' in c.proto.spec]
    assert len(heatmaps) == 1  # the row-normalised confusion matrix
