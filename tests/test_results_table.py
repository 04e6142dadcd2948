"""Unit tests for seglab.analysis.results_table on hand-made run records (no training, no store)."""

from __future__ import annotations

import math
import statistics
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
    assert rt.best_model(frame) is None
    assert rt.aggregate_seeds(frame).empty


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


def test_aggregate_seeds_mean_and_sample_std(records):
    table = rt.aggregate_seeds(rt.runs_frame(records))
    # failed and running runs are left out, two seeds of each unet model are merged
    assert list(table["model"]) == ["unet + focal (α=0.25, γ=2)", "unet + bce", "segnet + bce"]
    focal = table.iloc[0]
    assert focal["mean"] == pytest.approx((0.75 + 0.79) / 2)
    assert focal["std"] == pytest.approx(statistics.stdev([0.75, 0.79]))
    assert focal["n_seeds"] == 2 and sorted(focal["run_ids"]) == ["r3", "r4"]
    assert table.iloc[2]["std"] == 0.0 and table.iloc[2]["n_seeds"] == 1


def test_best_model_and_sentence(records):
    best = rt.best_model(rt.runs_frame(records))
    assert best is not None
    assert best.arch == "unet" and best.loss_label.startswith("focal")
    assert best.mean == pytest.approx(0.77)
    sentence = best.sentence()
    assert sentence.startswith("Best: unet + focal (α=0.25, γ=2), test IoU 0.77")
    assert "2 seeds" in sentence


def test_best_single_run_sentence_has_no_spread():
    best = rt.best_model(rt.runs_frame([make_run("x", "unet_strided", "focal", 0.834)]))
    assert best.sentence() == "Best: unet_strided + focal, test IoU 0.83."


def test_lower_is_better_for_losses():
    runs = [make_run("a", "unet", "bce", 0.5), make_run("b", "fcn", "bce", 0.6)]
    runs[0].metrics["test_loss"] = 0.2
    runs[1].metrics["test_loss"] = 0.1
    assert rt.best_model(rt.runs_frame(runs), metric="test_loss").arch == "fcn"


def test_arch_loss_grid_marks_exactly_the_best_cell(records):
    grid = rt.arch_loss_grid(rt.runs_frame(records))
    assert len(grid) == 3
    assert grid["best"].sum() == 1
    best = grid[grid["best"]].iloc[0]
    assert (best["arch"], best["loss_label"]) == ("unet", "focal (α=0.25, γ=2)")


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
