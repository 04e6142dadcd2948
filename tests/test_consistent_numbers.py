"""Consistent numbers: deep-supervision validation loss, 3-seed study defaults, queue columns."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from seglab.cli.main import build_parser, config_from_args, study_from_args
from seglab.losses import get_loss
from seglab.settings.build import build_model
from seglab.settings.presets import preset, preset_seeds
from seglab.training.engine import evaluate


def test_bce_ds_validation_loss_is_the_training_loss_with_side_outputs():
    torch.manual_seed(0)
    model = build_model(preset("smoke", arch="unetpp", width=4, depth=2), 2).eval()
    images = torch.rand(6, 3, 32, 32)
    masks = (torch.rand(6, 32, 32) > 0.7).long()
    loss_fn = get_loss("bce_ds", aux_weight=0.5)
    got = evaluate(model, images, masks, 2, loss_fn=loss_fn, batch_size=4, uses_aux=True)["loss"]
    # independent oracle: BCE of the main and every side output, averaged as (L + λΣL_k)/(1 + λM)
    with torch.no_grad():
        main, side = model(images, return_aux=True)
    target = masks.float()

    def bce(logits: torch.Tensor) -> float:
        return float(F.binary_cross_entropy_with_logits(logits[:, 0], target))

    assert len(side) >= 1
    expected = (bce(main) + 0.5 * sum(bce(s) for s in side)) / (1 + 0.5 * len(side))
    assert got == pytest.approx(expected, rel=1e-5)
    plain = evaluate(model, images, masks, 2, loss_fn=loss_fn, batch_size=4)["loss"]
    assert plain == pytest.approx(bce(main), rel=1e-5) and plain != pytest.approx(expected, rel=1e-3)
    # the metrics use the main output only, with or without the side outputs
    with_aux = evaluate(model, images, masks, 2, loss_fn=loss_fn, uses_aux=True)
    without = evaluate(model, images, masks, 2, loss_fn=loss_fn)
    assert with_aux["iou"] == without["iou"]


def _study(*argv: str):
    args = build_parser().parse_args(["study", *argv])
    return study_from_args(args, config_from_args(args))


def test_study_presets_default_seeds_one_declaration():
    # quick: one seed (a lesson's time, the same on the Train form); study: three
    assert preset_seeds("quick") == [0] and preset_seeds("study") == [0, 1, 2]
    assert _study("--preset", "quick", "--archs", "unet,segnet").run_seeds == [0]
    assert _study("--preset", "quick", "--archs", "unet,segnet", "--seeds", "0-2").run_seeds == [0, 1, 2]
    assert _study("--preset", "study", "--archs", "unet,segnet").n_runs == 6
    assert _study("--preset", "quick", "--archs", "unet,segnet", "--seeds", "4").run_seeds == [4]
    assert _study("--preset", "smoke", "--archs", "unet,segnet", "--seed", "5").run_seeds == [5]


def test_train_page_study_form_defaults_to_the_class_hour_grid():
    # the quick preset's form fits a class hour: one seed (the reference study carries three)
    from seglab.settings.presets import CLASS_ARCHS
    from tests.page_support import page_runner

    at = page_runner("train", timeout=90)()
    assert preset_seeds("quick") == [0] and len(CLASS_ARCHS) == 3
    assert at.text_input(key="tr_seeds").value == "0"


def test_queue_row_shows_best_so_far_and_last_epoch_val_iou():
    from seglab.ui.train_views import job_row

    config = preset("smoke", epochs=4)
    running = SimpleNamespace(
        id=1,
        status="running",
        config=config,
        progress={
            "epoch": 3,
            "epochs_done": 3,
            "metrics": {"epoch": 3, "val_iou": 0.58},
            "best_val_iou": 0.73,
        },
        result=None,
        message="",
        group=None,
    )
    row = job_row(running, {})
    assert row["best val IoU"] == 0.73 and row["last val IoU"] == 0.58
    done = SimpleNamespace(
        **{**vars(running), "status": "done", "result": {"val_iou": 0.74, "test_iou": 0.7}}
    )
    row = job_row(done, {})
    assert row["best val IoU"] == 0.74 and row["last val IoU"] == 0.58 and row["test IoU"] == 0.7


def test_worker_progress_keeps_the_best_val_iou_so_far():
    from seglab.jobs.worker import JobReporter

    progress = JobReporter.__new__(JobReporter)
    progress.progress = {}
    progress._write = lambda force=False: None
    for epoch, iou in enumerate((0.5, 0.8, 0.6), start=1):
        progress.on_epoch_end(epoch, {"epoch": epoch, "val_iou": iou})
    assert progress.progress["best_val_iou"] == 0.8
    assert progress.progress["metrics"]["val_iou"] == 0.6
