"""Unit tests for seglab.analysis.results_table on hand-made run records (no training, no store)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from seglab.analysis import results_table as rt
from seglab.settings.config import TrainConfig


@dataclass
class FakeRun:
    id: str
    config: TrainConfig
    metrics: dict[str, Any]
    status: str = "done"
    epochs_done: int = 2
    message: str = ""
    group: str = "g1"
    timestamps: dict[str, Any] = field(default_factory=lambda: {"created": "2025-01-02T03:04:05"})


def make_run(run_id: str, arch: str, loss: str, test_iou: float | None, seed: int = 0, **kw: Any) -> FakeRun:
    status = kw.pop("status", "done")
    loss_params = kw.pop("loss_params", {})
    config = TrainConfig(arch=arch, loss=loss, seed=seed, loss_params=loss_params, epochs=2, **kw)
    metrics = {"val_iou": None if test_iou is None else test_iou - 0.05, "test_iou": test_iou}
    return FakeRun(run_id, config, metrics, status=status)


@pytest.fixture
def records() -> list[FakeRun]:
    return [
        make_run("r1", "unet", "bce", 0.60, seed=0),
        make_run("r2", "unet", "bce", 0.70, seed=1),
        make_run("r3", "unet", "focal", 0.75, seed=0, loss_params={"alpha": 0.25, "gamma": 2.0}),
        make_run("r4", "unet", "focal", 0.79, seed=1, loss_params={"alpha": 0.25, "gamma": 2.0}),
        make_run("r5", "segnet", "bce", 0.50),
        make_run("r6", "segnet", "focal", 0.99, status="failed"),
        make_run("r7", "segnet", "focal", None, status="running"),
    ]


def test_runs_frame_has_one_row_per_record_with_config_and_metrics(records):
    frame = rt.runs_frame(records)
    assert list(frame["run_id"]) == [r.id for r in records]
    assert frame.loc[0, "arch"] == "unet" and frame.loc[0, "test_iou"] == pytest.approx(0.60)
    assert math.isnan(frame.loc[6, "test_iou"])
    assert frame.loc[2, "loss_label"] == "focal (α=0.25, γ=2)"
    assert frame.loc[0, "model"] == "unet + bce"
    assert frame.loc[0, "created"].year == 2025


def test_model_label_names_only_settings_that_vary():
    frame = rt.runs_frame([make_run("a", "unet", "bce", 0.5, width=8), make_run("b", "unet", "bce", 0.6)])
    assert list(frame["model"]) == ["unet + bce · width=8", "unet + bce · width=16"]


def test_empty_records_give_an_empty_frame_with_the_table_columns():
    frame = rt.runs_frame([])
    assert frame.empty and "test_iou" in frame and "model" in frame


def test_filter_runs_by_arch_loss_and_status(records):
    frame = rt.runs_frame(records)
    assert set(rt.filter_runs(frame, archs=["segnet"])["run_id"]) == {"r5", "r6", "r7"}
    assert set(rt.filter_runs(frame, losses=["focal"], statuses=["done"])["run_id"]) == {"r3", "r4"}
    # the loss label with parameters is accepted as well as the plain name
    assert set(rt.filter_runs(frame, losses=["focal (α=0.25, γ=2)"])["run_id"]) == {"r3", "r4"}
    assert set(rt.filter_runs(frame, losses=["focal"])["run_id"]) == {"r3", "r4", "r6", "r7"}
    assert len(rt.filter_runs(frame, archs=[], losses=None)) == len(records)


def test_sort_runs_puts_missing_values_last(records):
    frame = rt.sort_runs(rt.runs_frame(records), "test_iou", ascending=False)
    assert list(frame["run_id"]) == ["r6", "r4", "r3", "r2", "r1", "r5", "r7"]


def test_the_old_model_helpers_are_gone():
    """One definition of "one model" (seglab.analysis.compare.model_key): the hand list and the
    helpers that chose by test IoU and showed ± 0 for one seed are removed."""
    for name in (
        "MODEL_FIELDS",
        "VARIANT_FIELDS",
        "aggregate_seeds",
        "arch_loss_grid",
        "best_model",
        "BestModel",
    ):
        assert not hasattr(rt, name), name


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (
            {"arch": "fpn", "model_params": {"merge": "sum"}},
            {"arch": "fpn", "model_params": {"merge": "concat"}},
        ),
        ({"arch": "unet"}, {"arch": "unet", "init_from": "20260101-000000-unet-bce-aaaa"}),
        ({"arch": "unet", "lr_schedule": "cosine"}, {"arch": "unet", "lr_schedule": "constant"}),
    ],
)
def test_runs_that_differ_in_any_setting_are_never_seeds_of_one_model(one, other):
    """FPN merge=sum vs concat, fine-tuned vs from scratch: the runs table and the masks
    section label them as two models, as the comparisons do."""
    from seglab.analysis.compare import model_key

    runs = [
        FakeRun("a0", TrainConfig(loss="bce", seed=0, **one), {"val_iou": 0.5}),
        FakeRun("a1", TrainConfig(loss="bce", seed=1, **one), {"val_iou": 0.6}),
        FakeRun("b0", TrainConfig(loss="bce", seed=0, **other), {"val_iou": 0.7}),
    ]
    frame = rt.runs_frame(runs)
    labels = dict(zip(frame["run_id"], frame["model"], strict=True))
    assert labels["a0"] == labels["a1"] != labels["b0"]
    keys = {r["run_id"]: model_key(r) for r in frame.to_dict("records")}
    assert keys["a0"] == keys["a1"] != keys["b0"]


def test_histories_frame_is_long_and_labelled(records):
    frame = rt.runs_frame(records)
    histories = {
        "r1": [
            {"epoch": 1, "val_iou": 0.3, "train_loss": 0.9},
            {"epoch": 2, "val_iou": 0.5, "train_loss": 0.7},
        ],
        "r5": [{"val_iou": 0.2, "note": "text is dropped"}],
        "unknown": [{"epoch": 1, "val_iou": 1.0}],
    }
    long = rt.histories_frame(histories, frame)
    assert len(long) == 5
    assert set(long["run_id"]) == {"r1", "r5"}
    r1 = long[(long["run_id"] == "r1") & (long["metric"] == "val_iou")]
    assert list(r1["epoch"]) == [1, 2] and list(r1["value"]) == [0.3, 0.5]
    assert long[long["run_id"] == "r5"]["epoch"].tolist() == [1]
    assert rt.history_metrics(long) == ["val_iou", "train_loss"]
    assert r1["run"].iloc[0].startswith("unet + bce · seed 0")


def test_display_table_and_csv(records):
    frame = rt.runs_frame(records)
    csv = rt.to_csv_bytes(frame).decode()
    header = csv.splitlines()[0].split(",")
    assert header[:5] == ["model", "status", "seed", "val_iou", "test_iou"] and header[-1] == "run_id"
    assert len(csv.strip().splitlines()) == len(records) + 1
    assert rt.display_table(frame).loc[2, "loss"] == "focal (α=0.25, γ=2)"


def test_metric_title():
    assert rt.metric_title("val_iou") == "Validation IoU"
    assert rt.metric_title("fg_iou") == "Fg IoU"
