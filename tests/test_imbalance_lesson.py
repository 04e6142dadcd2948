"""'Predict, then reveal' (issue 26): the study's answer at 2 % foreground, by hand, and the Loss
lab step in AppTest against a small exported study."""

from __future__ import annotations

import pytest
from synth_runs import fake_run

from seglab.store.run_store import RunStore
from seglab.teach import imbalance_lesson as L
from tests.page_support import page_runner

# loss → per seed (val IoU, test IoU at 0.5, test IoU at the validation threshold), at 2 %
RARE = {
    "bce": [(0.01, 0.00, 0.02), (0.40, 0.38, 0.41)],
    "bce_weighted": [(0.36, 0.34, 0.55), (0.38, 0.37, 0.58)],
    "focal": [(0.30, 0.28, 0.50), (0.34, 0.30, 0.52)],
}


@pytest.fixture
def study_zip(tmp_path):
    store = RunStore(tmp_path / "home")
    ids = []
    for loss, seeds in RARE.items():
        for seed, (val, test, thr) in enumerate(seeds):
            run_id = fake_run(
                store, group="g", val=val, test=test, loss=loss, seed=seed,
                dataset_params={"fg_fraction": 0.02, "seed": seed},
            )  # fmt: skip
            store.update_summary(run_id, metrics={"test_iou_at_val_threshold": thr})
            ids.append(run_id)
    # a run at another share stays out of the lesson
    ids.append(
        fake_run(store, group="g", val=0.99, test=0.99, loss="dice", dataset_params={"fg_fraction": 0.2})
    )
    return store.export_runs(ids, tmp_path / "imbalance.zip", weights=False)


def test_study_at_two_percent_by_hand(study_zip):
    table = L.study_at_share(path=study_zip)
    assert list(table["loss"]) == ["bce_weighted", "focal", "bce"]  # by mean validation IoU
    row = table.set_index("loss").loc["bce"]
    assert row["val_iou"] == pytest.approx(0.205) and row["test_iou"] == pytest.approx(0.19)
    assert row["test_iou_at_threshold"] == pytest.approx(0.215) and row["collapsed"] == 1
    assert "dice" not in set(table["loss"])
    assert L.reveal_sentence("bce_weighted", table).startswith("Right")
    wrong = L.reveal_sentence("focal", table)
    assert wrong.startswith("Not this time") and "2nd of 3" in wrong and "BCE with a class weight" in wrong
    assert L.study_at_share(path=study_zip.parent / "missing.zip") is None


def test_loss_lab_reveals_after_a_guess(study_zip, monkeypatch):
    monkeypatch.setattr(L, "IMBALANCE_ZIP", study_zip)
    run_page = page_runner("loss_lab", timeout=120)
    at = run_page(ll_imb_guess="focal", ll_imb_reveal="true")
    assert any("Predict, then reveal" in h.value for h in at.header)
    assert any("Not this time" in w.value for w in at.warning)
    (table,) = [d.value for d in at.dataframe if "collapsed runs" in d.value.columns]
    assert list(table["collapsed runs"]) == ["0 of 2", "0 of 2", "1 of 2"]
    assert at.button(key="ll_imb_open") is not None
