"""Honest comparisons: like with like, best chosen on validation, seeds with spread."""

from __future__ import annotations

import json
import math
import statistics

import pytest
import torch
from synth_runs import OTHER_GROUP, STUDY_GROUP, STUDY_SCORES, fake_run, must_show_store

from seglab.analysis import compare
from seglab.analysis.results_table import runs_frame
from seglab.cli.main import main
from seglab.settings.presets import preset
from seglab.store.run_store import RunStore


def run_report_json(home, tmp_path, capsys, *extra: str, formats: str = "svg") -> dict:
    capsys.readouterr()
    out = str(tmp_path / "out")
    code = main(["report", "--json", "-o", out, "--home", str(home), "--formats", formats, *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


# ---- small maths ------------------------------------------------------------------------------
def test_mean_std_matches_statistics_and_has_no_spread_for_one_value():
    values = [0.71, 0.75, 0.80]
    mean, std = compare.mean_std(values)
    assert mean == pytest.approx(statistics.mean(values))
    assert std == pytest.approx(statistics.stdev(values))
    assert compare.mean_std([0.5]) == (0.5, None)
    assert compare.mean_std([]) == (None, None)


def test_one_seed_reads_as_one_seed_never_as_zero_spread():
    assert compare.format_mean_std(0.8123, None, 1) == "0.812 (1 seed)"
    assert "±" not in compare.format_mean_std(0.8, 0.0, 1)
    assert compare.format_mean_std(0.8, 0.0123, 3) == "0.800 ± 0.012 (n=3)"


def test_t_quantiles_are_the_textbook_values():
    # two-sided 95 %: df 1 → 12.706, 4 → 2.776, 30 → 2.042; large df → about 1.96
    assert compare.t_quantile_975(1) == pytest.approx(12.706)
    assert compare.t_quantile_975(4) == pytest.approx(2.776)
    assert compare.t_quantile_975(30) == pytest.approx(2.042)
    assert compare.t_quantile_975(1000) == pytest.approx(1.96, abs=0.01)


def _cell(label: str, val: dict[int, float]) -> compare.Cell:
    return compare.Cell({}, label, "unet", "bce", "bce", [], dict(val), dict(val))


def test_paired_comparison_by_hand():
    # differences 0.02, 0.04, 0.00 → mean 0.02, sd 0.02, half-width 4.303·0.02/√3 = 0.0497
    a = _cell("A", {0: 0.82, 1: 0.84, 2: 0.80, 7: 0.9})
    b = _cell("B", {0: 0.80, 1: 0.80, 2: 0.80})
    p = compare.paired_comparison(a, b)
    assert p.seeds == [0, 1, 2]  # seed 7 is not shared
    assert p.mean == pytest.approx(0.02)
    assert p.std == pytest.approx(0.02)
    assert p.low == pytest.approx(0.02 - 4.303 * 0.02 / math.sqrt(3))
    assert p.wins == 2
    assert not p.resolved and "not resolved" in p.sentence()
    # a clear, consistent gap is resolved
    c = _cell("C", {0: 0.70, 1: 0.71, 2: 0.69})
    assert compare.paired_comparison(a, c).resolved
    # one shared seed can never resolve
    one = compare.paired_comparison(_cell("D", {0: 0.9}), _cell("E", {0: 0.1}))
    assert not one.resolved and one.low is None and "not resolved" in one.sentence()


def test_signature_ignores_compared_axes_and_speed_settings_but_not_epochs():
    base = preset("smoke").to_dict()
    other = {**base, "arch": "segnet", "loss": "focal", "seed": 3, "device": "cpu", "num_threads": 1}
    assert compare.signature(base) == compare.signature(other)
    assert compare.signature(base) != compare.signature({**base, "epochs": 5})
    # a study that varied width compares widths; without it, width splits comparisons
    assert compare.signature(base, ["width"]) == compare.signature({**base, "width": 8}, ["width"])
    assert compare.signature(base) != compare.signature({**base, "width": 8})


# ---- the "must show" ----------------------------------------------------------------------
def test_report_json_must_show(tmp_path, capsys):
    home = tmp_path / "home"
    store = must_show_store(home)
    doc = run_report_json(home, tmp_path, capsys, formats="png,svg")
    assert set(doc) == {"comparisons", "warnings"}
    first = doc["comparisons"][0]  # the latest study comes first
    assert set(first) == {
        "settings",
        "varied",
        "checkpoint",
        "checkpoint_rule",
        "counting_rule",
        "statistics",
        "cells",
        "best",
        "best_vs_runner_up",
        "better_than",
        "seed_plan",
    }
    assert first["varied"] == ["arch", "loss"]
    assert first["checkpoint"] == "best" and "best epoch on validation" in first["checkpoint_rule"]
    assert "seeds only" in first["statistics"]  # the synthetic runs stored no per-image scores
    assert len(first["cells"]) == 4
    for cell in first["cells"]:
        assert set(cell) == {
            "arch",
            "loss",
            "n_seeds",
            "n_requested",
            "n_finished",
            "n_diverged",
            "n_unfinished",
            "n_collapsed",
            "complete",
            "flags",
            "val_iou_mean",
            "val_iou_std",
            "test_iou_mean",
            "test_iou_std",
            "val_iou_ci",
            "test_iou_ci",
            "run_ids",
        }
        assert cell["n_seeds"] == 2 and cell["test_iou_std"] is not None
        assert (cell["n_requested"], cell["n_finished"], cell["n_diverged"], cell["n_collapsed"]) == (
            2,
            2,
            0,
            0,
        )
        assert cell["complete"] and cell["flags"] == []
        assert cell["val_iou_ci"]["basis"] == "seeds" and cell["val_iou_ci"]["n_seeds"] == 2
        # independent oracle: the scores the store was written with
        seeds = STUDY_SCORES[(cell["arch"], cell["loss"])]
        assert cell["val_iou_mean"] == pytest.approx(statistics.mean(v for v, _ in seeds.values()))
        assert cell["test_iou_std"] == pytest.approx(statistics.stdev(t for _, t in seeds.values()))
    best = first["best"]
    top_val = max(first["cells"], key=lambda c: c["val_iou_mean"])
    top_test = max(first["cells"], key=lambda c: c["test_iou_mean"])
    assert best["selected_by"] == "val_iou"
    assert (best["arch"], best["loss"]) == (top_val["arch"], top_val["loss"]) == ("unet", "focal")
    assert (top_test["arch"], top_test["loss"]) != (best["arch"], best["loss"])  # test would differ
    assert best["test_iou_mean"] == pytest.approx(top_val["test_iou_mean"])

    # no comparison mixes settings: the runs matching its shared settings differ only in its
    # varied axes (and seed, and the parameters of a varied arch / loss)
    configs = [r.config.to_dict() for r in store.list_runs()]
    allowed = {"seed", "device", "precision", "num_threads", "loss_params", "model_params"}
    covered = 0
    for comparison in doc["comparisons"]:
        members = [c for c in configs if all(c[k] == v for k, v in comparison["settings"].items())]
        covered += len(members)
        n_cells = len({tuple(c[k] for k in comparison["varied"]) for c in members})
        assert n_cells == len(comparison["cells"])
        for key in set(members[0]) - allowed - set(comparison["varied"]):
            assert len({json.dumps(c[key], sort_keys=True) for c in members}) == 1, key
    assert covered == len(configs) == 11  # every run lies in exactly one comparison
    epochs = {c["settings"].get("epochs") for c in doc["comparisons"]}
    datasets = {c["settings"].get("dataset") for c in doc["comparisons"]}
    assert epochs == {3, 5} and datasets == {"shapes", "cells"}
    assert len(doc["warnings"]) == 1 and "epochs: 3 / 5" in doc["warnings"][0]
    assert "dataset: shapes / cells" in doc["warnings"][0]

    # the charts and CSV tables are still written
    out = tmp_path / "out"
    for name in ("iou_by_arch.png", "val_iou_heatmap.svg", "test_iou_heatmap.png", "summary.csv", "runs.csv"):
        assert (out / name).is_file(), name
    assert json.loads((out / "report.json").read_text()) == doc


def test_report_json_for_one_group_has_no_warning(tmp_path, capsys):
    home = tmp_path / "home"
    must_show_store(home)
    doc = run_report_json(home, tmp_path, capsys, "--group", OTHER_GROUP)
    assert doc["warnings"] == []
    (only,) = doc["comparisons"]
    assert only["varied"] == ["arch"] and only["settings"]["epochs"] == 5
    assert all(c["n_seeds"] == 1 and c["val_iou_std"] is None for c in only["cells"])


def test_default_comparison_is_the_latest_study_not_a_newer_lone_run(tmp_path):
    store = must_show_store(tmp_path)
    comparisons = compare.build_comparisons(runs_frame(store.list_runs()))
    # the lone run on 'cells' is the newest run, but it compares nothing
    assert comparisons[0].groups == [STUDY_GROUP]
    assert comparisons[-1].settings["dataset"] == "cells"


def test_a_study_axis_stays_inside_its_comparison(tmp_path):
    from seglab.settings.study import Study

    store = RunStore(tmp_path)
    for width, val in ((4, 0.5), (8, 0.7)):
        for seed in (0, 1):
            fake_run(store, group="g-width", val=val + seed / 100, test=val, width=width, seed=seed)
    study = Study(preset("smoke"), {"width": [4, 8]}, seeds=[0, 1])
    (only,) = compare.build_comparisons(runs_frame(store.list_runs()), {"g-width": study})
    assert only.varied == ["width"] and "width" not in only.settings
    assert only.best.label == "width=8" and only.best.n_seeds == 2


def test_report_handles_a_big_store(tmp_path, capsys):
    """64 runs × 80 epochs, written as files (no training): charts stay within limits."""
    store = RunStore(tmp_path / "home")
    archs, losses = ("segnet", "unet", "unet_strided", "unetpp"), ("bce", "dice", "focal", "bce_ds")
    for i in range(64):
        arch, loss, seed = archs[i % 4], losses[(i // 4) % 4], i // 16
        history = [
            {"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_iou": 0.5 + e / 400 + i / 1000}
            for e in range(1, 81)
        ]
        fake_run(store, group="g-big", val=0.6 + i / 1000, test=0.6, arch=arch, loss=loss, seed=seed,
                 epochs=80, history=history)  # fmt: skip
    doc = run_report_json(tmp_path / "home", tmp_path, capsys)
    (only,) = doc["comparisons"]
    assert len(only["cells"]) == 16 and {c["n_seeds"] for c in only["cells"]} == {4}
    assert (tmp_path / "out" / "iou_by_loss.svg").stat().st_size > 0


def test_export_without_weights_keeps_histories_summaries_and_fewer_previews(tmp_path, capsys):
    import zipfile

    import numpy as np

    store = RunStore(tmp_path / "home")
    run_id = fake_run(store, group="g", val=0.5, test=0.5)
    files = store.files(run_id)
    files.save_checkpoint("best", {"w": torch.zeros(3)})
    files.save_predictions(
        {
            "class_names": np.asarray(["background", "shape"]),
            "val_images": np.zeros((8, 4, 4, 3), np.uint8),
            "val_preds": np.ones((8, 4, 4), np.uint8),
            "val_probs": np.zeros((8, 4, 4), np.float16),
        }
    )
    out = tmp_path / "light.zip"
    home = str(tmp_path / "home")
    assert main(["export", "--all", "--no-weights", "--previews", "2", "-o", str(out), "--home", home]) == 0
    with zipfile.ZipFile(out) as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
    assert names == {"summary.json", "config.json", "history.jsonl", "predictions.npz"}
    other = RunStore(tmp_path / "other")
    assert other.import_runs(out) == [run_id]
    assert len(other.history(run_id)) == 3
    predictions = other.predictions(run_id)
    assert predictions["val_images"].shape[0] == 2 and predictions["val_preds"].shape[0] == 2
    assert "val_probs" not in predictions and list(predictions["class_names"]) == ["background", "shape"]


def test_reference_study_asset_carries_the_lesson_within_its_budget():
    """48 runs with their scores; one seed per cell (seed 0) with weights, per-epoch predictions
    and masks (issue 23); per-image test IoU and the validation threshold on every run (21, 26)."""
    import zipfile

    from seglab.store.reference import REFERENCE_GROUP, REFERENCE_ZIP, reference_summaries

    assert REFERENCE_ZIP.stat().st_size <= 15 * 1024 * 1024
    with zipfile.ZipFile(REFERENCE_ZIP) as zf:
        names = zf.namelist()
    assert sum(n.endswith("/history.jsonl") for n in names) == 48
    assert sum(n.endswith("/best.pt") for n in names) == 16
    assert sum(n.endswith("/predictions.npz") for n in names) == 16
    assert sum(n.endswith("/e0010.npz") for n in names) == 16
    summaries = reference_summaries()
    assert {s["group"] for s in summaries} == {REFERENCE_GROUP} and {s["status"] for s in summaries} == {
        "done"
    }
    kept = {n.split("/")[-2] for n in names if n.endswith("/best.pt")}
    assert {s["config"]["seed"] for s in summaries if s["id"] in kept} == {0}
    for s in summaries:
        assert len(s["metrics"]["test_iou_per_image"]) > 0
        assert 0.0 < s["metrics"]["val_best_threshold"] < 1.0
    cells = {(s["config"]["arch"], s["config"]["loss"]) for s in summaries}
    assert len(cells) == 16 and sorted({s["config"]["seed"] for s in summaries}) == [0, 1, 2]
