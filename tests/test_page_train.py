"""AppTest of the Train page: the form, the queue read from the database, cancelling, errors."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from seglab.jobs import JobQueue, run_worker
from seglab.settings.config import TrainConfig
from seglab.settings.presets import CLASS_ARCHS, CLASS_LOSSES, PRESETS, preset, preset_seeds
from seglab.ui import train_views as tv
from tests.page_support import page_runner

run_page = page_runner("train", timeout=90)


def queue_frame(at: AppTest):
    frames = [d.value for d in at.dataframe if "job" in d.value.columns]
    assert frames, "the queue table is missing"
    return frames[0]


def test_page_renders_the_form_with_a_preset(seglab_home):
    at = run_page()
    assert at.selectbox(key="tr_preset").label == "Preset"
    assert at.selectbox(key="tr_preset").value == "quick"
    assert at.number_input(key="tr_epochs").value == PRESETS["quick"]["epochs"]
    start = [b for b in at.button if b.label == "Start training"]
    assert len(start) == 1 and not start[0].disabled
    runs_line = [m.value for m in at.markdown if "runs**" in m.value]
    n_archs, n_losses = len(at.multiselect(key="tr_archs").value), len(at.multiselect(key="tr_losses").value)
    # the class-hour default: the seed study's 3 networks × 4 losses × one seed
    assert (n_archs, n_losses) == (len(CLASS_ARCHS), len(CLASS_LOSSES)) == (3, 4)
    n_seeds = 1
    assert at.text_input(key="tr_seeds").value == "0"
    assert runs_line and runs_line[0].startswith(f"**{n_archs * n_losses * n_seeds} runs**")
    assert any("No jobs yet" in i.value for i in at.info)


def test_choosing_a_preset_fills_the_form(seglab_home):
    at = run_page()
    at.selectbox(key="tr_preset").select("smoke").run()
    assert not at.exception
    for field, key in (("epochs", "tr_epochs"), ("size", "tr_size"), ("width", "tr_width")):
        assert at.number_input(key=key).value == PRESETS["smoke"][field]


def test_bad_seeds_are_explained_and_block_the_start(seglab_home):
    at = run_page()
    at.text_input(key="tr_seeds").input("one, two").run()
    assert any("whole numbers" in e.value for e in at.error)
    assert [b for b in at.button if b.label == "Start training"][0].disabled


def test_queued_job_shows_in_the_queue_and_can_be_cancelled(seglab_home):
    with JobQueue(seglab_home) as queue:
        job_id = queue.enqueue(preset("smoke", arch="unet", loss="dice"))
    at = run_page()
    table = queue_frame(at)
    row = table[table["job"] == job_id].iloc[0]
    assert "queued" in row["status"] and row["model"] == "unet + dice" and row["epoch"] == "0/1"

    assert at.selectbox(key="tr_cancel_job").options == [
        f"Job {job_id} · {tv.STATUS_ICONS['queued']} · unet + dice · seed 0"
    ]
    at.button(key="tr_cancel").click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        assert queue.job(job_id).status == "cancelled"
    table = queue_frame(at)
    assert "cancelled" in table[table["job"] == job_id].iloc[0]["status"]


def test_cancel_all_queued(seglab_home):
    with JobQueue(seglab_home) as queue:
        ids = [queue.enqueue(preset("smoke", seed=s)) for s in range(3)]
    at = run_page()
    at.button(key="tr_cancel_all").click().run()
    with JobQueue(seglab_home) as queue:
        assert {queue.job(i).status for i in ids} == {"cancelled"}


def test_cancel_all_queued_cancels_only_the_group_shown(seglab_home):
    """With one study picked in "Show", the button counts that study's queued jobs and must
    cancel those, not every queued job of the queue (it did: "Cancel all queued (2)" cancelled 3)."""
    with JobQueue(seglab_home) as queue:
        first = queue.enqueue_study(preset("smoke"), {"seed": [0]}, name="first")
        second = queue.enqueue_study(preset("smoke"), {"seed": [1, 2]}, name="second")
        first_ids = [j.id for j in queue.jobs(group=first)]
        second_ids = [j.id for j in queue.jobs(group=second)]
    at = run_page()
    at.selectbox(key="tr_queue_group").select(second).run()
    assert at.button(key="tr_cancel_all").label == "Cancel all queued (2)"
    at.button(key="tr_cancel_all").click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        assert [queue.job(i).status for i in second_ids] == ["cancelled", "cancelled"]
        assert [queue.job(i).status for i in first_ids] == ["queued"]


def test_failed_job_shows_its_reason(seglab_home, tmp_path):
    missing = tmp_path / "no-such-folder"
    with JobQueue(seglab_home) as queue:
        job_id = queue.enqueue(preset("smoke", dataset=str(missing)))
    assert run_worker(seglab_home, once=True, device="cpu", verbose=False) == 1
    with JobQueue(seglab_home) as queue:
        job = queue.job(job_id)
    assert job.status == "failed" and job.message
    at = run_page()
    errors = [e.value for e in at.error]
    assert any(f"Job {job_id}" in e and job.message in e for e in errors), errors


# ---- the study the Start button queues (no worker involved) -------------------------------
def test_study_from_form_puts_every_combination_in_one_group(seglab_home):
    base = preset("smoke")
    study = tv.study_from_form(base, ["unet", "segnet"], {"bce": {}, "focal": {"gamma": 3.0}}, [0, 1])
    with JobQueue(seglab_home) as queue:
        group = queue.enqueue_study(study)
        jobs = queue.jobs(group=group)
        groups = queue.groups()
    assert len(jobs) == study.n_runs == 8
    combos = {(j.config.arch, j.config.loss, j.config.seed) for j in jobs}
    assert len(combos) == 8
    assert all(j.config.loss_params == ({"gamma": 3.0} if j.config.loss == "focal" else {}) for j in jobs)
    assert [g.total for g in groups if g.id == group] == [8]
    # loss outermost, then architecture, then seed (the order the page always used)
    assert [(j.config.loss, j.config.arch, j.config.seed) for j in jobs][:3] == [
        ("bce", "unet", 0),
        ("bce", "unet", 1),
        ("bce", "segnet", 0),
    ]


def test_changed_params_keeps_only_non_defaults():
    from seglab.losses import loss_info

    specs = loss_info("focal").params
    assert tv.changed_params(specs, {"alpha": "auto", "gamma": 2.0}) == {}
    assert tv.changed_params(specs, {"alpha": 0.25, "gamma": 2.0}) == {"alpha": 0.25}


def test_quick_study_plan_is_the_seed_study():
    plan = tv.quick_study_plan()
    # one seed, as every study from the quick preset (the reference study carries three)
    assert plan.n_runs == len(plan.expand()) == len(plan.axes["arch"]) * len(plan.axes["loss"])
    assert plan.run_seeds == preset_seeds("quick") == [0]
    assert {"unet_strided", "focal"} <= set(plan.axes["arch"]) | set(plan.axes["loss"])
    assert all(isinstance(c, TrainConfig) and c.epochs == PRESETS["quick"]["epochs"] for c in plan.expand())


# ---- the time estimate ---------------------------------------------------------------------
def test_estimate_button_measures_and_shows_a_duration(seglab_home):
    at = run_page()
    at.selectbox(key="tr_preset").select("smoke").run()
    at.button(key="tr_estimate").click().run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Estimated time: **" in text


def test_estimate_scales_with_epochs_and_seeds():
    from seglab.analysis.estimate import estimate_study, expand_grid
    from seglab.units import format_duration

    base = preset("smoke", size=32, width=4)
    one = estimate_study([base], workers=1)  # one slot: runs add up (slots: test_estimate_slots)
    assert one is not None and one.n_runs == 1 and one.seconds > 0
    grid = expand_grid(base.replace(epochs=4), {"seed": [0, 1, 2]})
    # timings are cached: a cheap, measurement-free re-estimate
    more = estimate_study(grid, workers=1, measure=False)
    assert more is not None and more.n_runs == 3
    assert more.seconds > 3 * one.seconds
    assert estimate_study([base.replace(arch="segnet", width=6)], measure=False) is None
    assert (
        format_duration(42) == "42 s"
        and format_duration(600) == "10 min"
        and format_duration(4800) == "1 h 20 min"
    )


def test_the_url_restores_the_form(seglab_home):
    """A reload (a new session) or a shared link gets the form back from the URL, not the preset."""
    from seglab.models import model_info

    archs = [model_info("unet").title, model_info("segnet").title]
    at = run_page(tr_epochs="3", tr_seeds="0, 1", tr_archs=archs, tr_augment="true")
    assert at.number_input(key="tr_epochs").value == 3
    assert at.text_input(key="tr_seeds").value == "0, 1"
    assert sorted(at.multiselect(key="tr_archs").value) == ["segnet", "unet"]
    assert at.checkbox(key="tr_augment").value is True
    assert at.number_input(key="tr_width").value == PRESETS["quick"]["width"]  # not in the URL
    runs_line = next(m.value for m in at.markdown if "runs**" in m.value)
    assert runs_line.startswith(f"**{2 * len(at.multiselect(key='tr_losses').value) * 2} runs**")


def test_architecture_options_come_from_the_registry_and_are_queued(seglab_home, monkeypatch):
    import seglab.jobs

    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)  # no real worker
    at = run_page()
    at.multiselect(key="tr_archs").set_value(["unet", "fpn"]).run()
    assert not at.exception
    keys = {w.key for w in at.selectbox} | {w.key for w in at.checkbox}
    assert {"tr_model_fpn_merge", "tr_model_fpn_inverted_residual"} <= keys
    assert not any(str(k).startswith("tr_model_unet") for k in keys)  # U-Net declares no options
    at.selectbox(key="tr_model_fpn_merge").select("concat").run()
    at.multiselect(key="tr_losses").set_value(["bce"]).run()
    [b for b in at.button if b.label == "Start training"][0].click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
        study = queue.group_study(jobs[0].group)
    assert {(j.config.arch, tuple(j.config.model_params.items())) for j in jobs} == {
        ("unet", ()),
        ("fpn", (("merge", "concat"),)),
    }
    assert study is not None and study.model_params == {"fpn": {"merge": "concat"}}


def test_the_queue_line_counts_one_job_in_the_singular(seglab_home):
    with JobQueue(seglab_home) as queue:
        queue.enqueue(preset("smoke", arch="unet", loss="dice"))
    at = run_page()
    lines = [c.value for c in at.caption if "queued" in c.value and "·" in c.value]
    assert lines and lines[0].startswith("1 job: 1 queued"), lines


def test_an_interrupted_job_is_offered_for_resume_and_queued_again(seglab_home, monkeypatch):
    import seglab.jobs

    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: None)  # no worker process here
    with JobQueue(seglab_home) as queue:
        job_id = queue.enqueue(preset("smoke", arch="unet", loss="dice"))
        queue.mark_running([job_id], "gone-worker")  # a worker that never registered: it is gone
        assert queue.recover_stale() == [job_id]
    at = run_page()
    assert [o.split(" · ")[0] for o in at.selectbox(key="tr_resume_job").options] == [f"Job {job_id}"]
    at.button(key="tr_resume").click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        job = queue.job(job_id)
    assert job.status == "queued" and "resume" in job.message
