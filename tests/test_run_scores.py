"""What the engine records for honest statistics: per-image test IoU, the last epoch's scores,
the checkpoint rule and the data fingerprint; they survive export / import and the store's checks."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.settings.presets import preset
from seglab.store import checks
from seglab.store.run_store import RunStore
from seglab.training.engine import run_splits
from seglab.training.run import run_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_torch_thread):
    home = tmp_path_factory.mktemp("scores-home")
    config = preset("smoke", n=40, epochs=2, num_threads=1)
    out = run_config(config, home=home)
    assert out.status == "done", out.message
    return home, config, out.run_id


def test_per_image_test_iou_is_stored_for_every_test_image(trained):
    home, config, run_id = trained
    record = RunStore(home).load_run(run_id)
    n_test = len(run_splits(config, config.n)[2])
    per_image = record.metrics["test_iou_per_image"]
    assert len(per_image) == n_test and len(record.metrics["last_test_iou_per_image"]) == n_test
    # independent oracle: foreground IoU of each saved test preview, by hand from its masks
    arrays = RunStore(home).predictions(run_id)
    for k, (pred, mask) in enumerate(zip(arrays["test_preds"], arrays["test_masks"], strict=True)):
        tp = np.sum((pred == 1) & (mask == 1))
        union = np.sum((pred == 1) | (mask == 1))
        expected = None if union == 0 else tp / union
        if expected is None:
            assert per_image[k] is None
        else:
            assert per_image[k] == pytest.approx(expected, abs=1e-6)


def test_the_checkpoint_rule_and_the_last_epoch_are_recorded(trained):
    home, _, run_id = trained
    record = RunStore(home).load_run(run_id)
    assert record.checkpoint == "best" and record.data_fingerprint is None  # shapes: its settings say it all
    history = RunStore(home).history(run_id)
    assert record.metrics["last_val_iou"] == pytest.approx(history[-1]["val_iou"])
    assert 0.0 <= record.metrics["last_test_iou"] <= 1.0
    if record.best_epoch == len(history):  # the kept epoch is the last: both test scores agree
        assert record.metrics["last_test_iou"] == pytest.approx(record.metrics["test_iou"])


def test_new_fields_survive_export_and_import(trained, tmp_path):
    home, _, run_id = trained
    source = RunStore(home)
    zip_path = source.export_runs([run_id], tmp_path / "runs.zip", weights=False)
    other = RunStore(tmp_path / "other")
    assert other.import_runs(zip_path) == [run_id]
    before, after = source.load_run(run_id), other.load_run(run_id)
    for key in ("test_iou_per_image", "last_test_iou", "last_test_iou_per_image", "last_val_iou"):
        assert after.metrics[key] == before.metrics[key]
    assert after.checkpoint == before.checkpoint


def test_the_store_checks_refuse_odd_new_fields(trained):
    home, _, run_id = trained
    summary = RunStore(home).files(run_id).read_summary()
    checks.check_summary(summary)
    for key, bad in (("checkpoint", "middle"), ("data_fingerprint", "../../etc"), ("data_fingerprint", 7)):
        with pytest.raises(ValueError, match=key):
            checks.check_summary({**summary, key: bad})
    with pytest.raises(ValueError):
        checks.check_summary(
            {**summary, "metrics": {**summary["metrics"], "test_iou_per_image": [0.5, "x", float("inf")]}}
        )
