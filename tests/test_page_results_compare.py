"""AppTest: the Results page compares like with like (synthesised runs, no training)."""

from __future__ import annotations

import pytest
from synth_runs import OTHER_GROUP, STUDY_GROUP, fake_run, must_show_store

from seglab.store import reference
from seglab.store.run_store import RunStore
from tests.page_support import page_runner

run_page = page_runner("results", timeout=90)


@pytest.fixture
def store(seglab_home):
    return must_show_store(seglab_home)


def warnings_of(at) -> list[str]:
    return [w.value for w in at.warning if "different settings" in w.value]


def test_latest_study_is_shown_by_default_without_a_warning(store):
    at = run_page()
    assert at.selectbox(key="rs_study").value == STUDY_GROUP
    assert len(at.dataframe[0].value) == 8  # the 2 × 2 × 2 seeds study, not the newer lone run
    assert warnings_of(at) == []
    (best,) = [s.value for s in at.success if "Best by validation IoU" in s.value]
    # unet + focal has the best mean validation IoU; segnet + bce the best test IoU
    assert best.startswith("Best by validation IoU: unet + focal")
    assert "0.790 ± 0.014 (n=2)" in best
    texts = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "Shared settings" in texts and "Epochs 3" in texts and "Augmentation off" in texts
    (shared,) = [c.value for c in at.caption if "Shared settings" in c.value]
    assert "Image size 32 px" in shared and "=" not in shared  # words, not key=value
    assert "varied: arch, loss" in texts
    cells = at.dataframe[1].value
    assert list(cells["model"])[:2] == ["unet + focal", "segnet + bce"]  # ranked by val IoU
    assert set(cells["seeds finished / asked"]) == {"2/2"} and set(cells["diverged"]) == {0}


def test_a_newer_single_run_study_is_the_latest(store):
    """The walk's slip: a study of one run trained after the 2 × 2 study is the latest one."""
    import time

    fake_run(
        store, group="g-lone", val=0.6, test=0.6, arch="unet", loss="dice", epochs=2, created=time.time()
    )
    at = run_page()
    assert at.selectbox(key="rs_study").value == "g-lone"
    assert len(at.dataframe[0].value) == 1


def test_mixing_settings_warns_and_names_the_differing_fields(store):
    at = run_page()
    at.selectbox(key="rs_study").select("__all__").run()
    assert not at.exception
    (warning,) = warnings_of(at)
    assert "epochs: 3 / 5" in warning and "dataset: shapes / cells" in warning
    picker = at.selectbox(key="rs_comparison")
    assert len(picker.options) == 3
    # still the latest study by default, never a mixed heatmap
    (best,) = [s.value for s in at.success if "Best by validation IoU" in s.value]
    assert best.startswith("Best by validation IoU: unet + focal")
    picker.select(1).run()
    assert not at.exception
    (best,) = [s.value for s in at.success if "Best by validation IoU" in s.value]
    assert "(1 seed)" in best and "±" not in best.split("—")[1]


def test_a_study_with_one_setting_has_no_warning(store):
    at = run_page()
    at.selectbox(key="rs_study").select(OTHER_GROUP).run()
    assert warnings_of(at) == [] and len(at.dataframe[0].value) == 2


def test_reference_study_loads_with_one_click_and_can_be_deleted(seglab_home):
    assert reference.reference_available(), "assets/reference_study.zip is missing"
    at = run_page()
    at.button(key="rs_reference").click().run()
    assert not at.exception
    runs = RunStore(seglab_home).list_runs()
    assert len(runs) == 48 and {r.group for r in runs} == {reference.REFERENCE_GROUP}
    assert at.selectbox(key="rs_study").value == reference.REFERENCE_GROUP
    (best,) = [s.value for s in at.success if "Best by validation IoU" in s.value]
    assert "(n=3)" in best
    at.button(key="rs_reference_delete").click().run()
    assert not at.exception
    assert RunStore(seglab_home).list_runs() == []


def test_flags_the_checkpoint_rule_and_the_last_epoch_view(seglab_home):
    """A cell that diverged on 2 of 3 seeds is named, not crowned; the checkpoint rule is said,
    and the page can score every run at its last epoch instead."""
    from synth_runs import fake_run

    store = RunStore(seglab_home)
    for seed in (0, 1, 2):
        fake_run(store, group=STUDY_GROUP, val=0.80, test=0.78, arch="unet", seed=seed)
    fake_run(store, group=STUDY_GROUP, val=0.95, test=0.9, arch="segnet", seed=0)
    for seed in (1, 2):
        fake_run(store, group=STUDY_GROUP, val=0.9, test=0.9, arch="segnet", seed=seed, status="diverged")
    at = run_page()
    assert not at.exception
    texts = " ".join(w.value for w in at.warning) + " ".join(s.value for s in at.success)
    assert "Best by validation IoU: unet" in texts
    assert "not crowned: only 1 of 3 seeds finished (2 diverged)" in texts
    captions = " ".join(c.value for c in at.caption)
    assert "best epoch on validation" in captions and "seeds only" in captions
    cells = at.dataframe[1].value
    assert dict(zip(cells["model"], cells["diverged"], strict=True)) == {"unet": 0, "segnet": 1 + 1}
    at.radio(key="rs_checkpoint").set_value("last").run()
    assert not at.exception
    assert "last epoch: nothing was picked" in " ".join(c.value for c in at.caption)
