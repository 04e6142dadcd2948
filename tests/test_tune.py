"""k-fold tuning: the engine's split function, the CV maths, and ``tune --json`` end to end."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest

from seglab.analysis.tune import CVRow, best_row, cv_rows, cv_study, final_config, parse_grid
from seglab.cli.main import main
from seglab.data import split_indices
from seglab.errors import ConfigError
from seglab.settings.config import TrainConfig
from seglab.settings.presets import preset
from seglab.store.run_store import RunStore
from seglab.training.engine import run_splits


@pytest.mark.parametrize(("n", "k"), [(40, 2), (57, 3), (100, 5)])
def test_fold_splits_are_disjoint_cover_the_pool_and_leave_test_alone(n, k):
    base = TrainConfig(n=n)
    normal_train, normal_val, normal_test = split_indices(n, val=0.15, test=0.15, seed=0)
    assert run_splits(base, n) == (normal_train, normal_val, normal_test)  # normal runs unchanged
    pool = set(normal_train) | set(normal_val)
    held_out: list[int] = []
    for fold in range(k):
        train, val, test = run_splits(base.replace(folds=k, fold=fold), n)
        assert test == normal_test
        assert not set(train) & set(val)
        assert set(train) | set(val) == pool
        assert not (set(train) | set(val)) & set(test)
        held_out += val
    assert sorted(held_out) == sorted(pool)  # every pool sample validated exactly once
    train, val, test = run_splits(base.replace(folds=k), n)  # the final run: the whole pool
    assert set(train) == pool and test == normal_test


def test_fold_fields_are_validated():
    with pytest.raises(ConfigError, match="fold needs folds"):
        TrainConfig(fold=0)
    with pytest.raises(ConfigError, match="between 0 and 2"):
        TrainConfig(folds=3, fold=3)
    with pytest.raises(ConfigError, match="at least 2 folds"):
        TrainConfig(folds=1)


def test_parse_grid_reads_both_spellings():
    assert parse_grid(["lr=0.001,0.01,width=8,16"]) == {"lr": [0.001, 0.01], "width": [8, 16]}
    assert parse_grid(["lr=0.001,0.01", "depth=2"]) == {"lr": [0.001, 0.01], "depth": [2]}
    with pytest.raises(ConfigError):
        parse_grid(["0.1,0.2"])


def test_cv_study_refuses_fields_that_change_the_split():
    with pytest.raises(ConfigError, match="split_seed"):
        cv_study(TrainConfig(), {"split_seed": [0, 1]}, 3)


def test_cv_rows_mean_and_sample_std_by_hand():
    """One-epoch curves: each fold is scored at its only epoch, so the CV score is the plain
    mean ± sample std over folds."""
    base = TrainConfig(folds=3)
    ious = {0.001: [0.5, 0.6, 0.7], 0.01: [0.2, 0.4, 0.9]}
    pairs = [(base.replace(lr=lr, fold=f), v) for lr, vs in ious.items() for f, v in enumerate(vs)]
    rows = cv_rows(pairs, ["lr"])
    assert [r.params for r in rows] == [{"lr": 0.001}, {"lr": 0.01}]
    assert rows[0].mean == pytest.approx(0.6)
    assert rows[0].std == pytest.approx(0.1)  # sqrt(((-.1)^2 + 0 + .1^2) / 2)
    assert rows[1].mean == pytest.approx(0.5)
    assert rows[1].std == pytest.approx(math.sqrt(((0.2 - 0.5) ** 2 + 0.1**2 + 0.4**2) / 2))
    assert best_row(rows) is rows[0]
    # a failed fold leaves the configuration incomplete: it cannot win
    rows = cv_rows([*pairs[:2], (pairs[2][0], None), *pairs[3:]], ["lr"])
    assert not rows[0].complete and best_row(rows) is rows[1]
    assert isinstance(rows[0], CVRow)


# The validation curves the fold runs of ../shared/cases/tune_epoch_selection recorded (smoke
# preset, 60 images, 5 epochs, 2 folds, one thread), written out.
CASE_CURVES = {
    (0.003, 0): [0.190843, 0.190843, 0.190843, 0.190843, 0.190843],
    (0.003, 1): [0.217969, 0.217969, 0.217969, 0.217969, 0.216777],
    (0.03, 0): [0.189028, 0.000575, 0.046465, 0.030902, 0.033141],
    (0.03, 1): [0.217986, 0.231306, 0.246440, 0.286419, 0.304119],
}


def test_cv_scores_each_fold_at_the_epoch_the_other_folds_chose():
    base = TrainConfig(folds=2, epochs=5)
    rows = cv_rows([(base.replace(lr=lr, fold=f), c) for (lr, f), c in CASE_CURVES.items()], ["lr"])
    slow, fast = rows
    # lr=0.03: fold 0 peaks at epoch 1 (0.189) and collapses; choosing on itself would score
    # (0.189028 + 0.304119) / 2 = 0.2466. Fold 0 is scored at fold 1's peak (epoch 5): 0.033141;
    # fold 1 at fold 0's peak (epoch 1): 0.217986.
    assert fast.fold_epochs == {0: 5, 1: 1}
    assert fast.mean == pytest.approx((0.033141 + 0.217986) / 2)
    assert fast.mean != pytest.approx((0.189028 + 0.304119) / 2)
    # lr=0.003: fold 0 is flat, so the latest of its tied epochs (5) scores fold 1: 0.216777;
    # fold 1 peaks at epochs 1-4 (tied), the latest (4) scores fold 0: 0.190843.
    assert slow.fold_epochs == {0: 4, 1: 5}
    assert slow.mean == pytest.approx((0.190843 + 0.216777) / 2)
    assert slow.std == pytest.approx(math.sqrt(2 * ((0.216777 - 0.190843) / 2) ** 2))
    # the epoch count for the final run: the peak of the mean curve over both folds
    assert slow.epoch == 4  # (0.190843 + 0.217969) / 2 for epochs 1-4, then lower
    assert fast.epoch == 1  # means 0.2035, 0.1159, 0.1465, 0.1587, 0.1686
    assert slow.last_mean == pytest.approx((0.190843 + 0.216777) / 2)
    assert best_row(rows) is slow
    study = cv_study(base, {"lr": [0.003, 0.03]}, 2)
    final = final_config(study, slow)
    assert (final.lr, final.epochs, final.fold, final.folds) == (0.003, 4, None, 2)


def test_a_fold_that_stopped_early_leaves_its_configuration_incomplete():
    base = TrainConfig(folds=2, epochs=3)
    rows = cv_rows([(base.replace(fold=0), [0.5, 0.6, 0.7]), (base.replace(fold=1), [0.4, None, 0.5])], [])
    assert not rows[0].complete and best_row(rows) is None


def test_tune_follows_the_protocol_end_to_end(seglab_home, capsys):
    """../shared/cases/tune_epoch_selection as a test: the CV score never credits a fold with an
    epoch picked on its own validation images; the final run trains the chosen epoch count on
    the whole pool and keeps its last epoch."""
    code = main(
        ["tune", "--preset", "smoke", "--n", "60", "--epochs", "5", "--grid", "lr=0.003,0.03", "--folds", "2"]
        + ["--threads", "1", "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert set(out) == {"configs", "best"}
    assert [c["params"] for c in out["configs"]] == [{"lr": 0.003}, {"lr": 0.03}]
    for c in out["configs"]:
        assert set(c) == {"params", "folds", "epochs", "cv_iou_mean", "cv_iou_std", "cv_iou_last"}
        assert c["folds"] == 2
    assert set(out["best"]) == {"params", "epochs", "test_iou", "run_id"}

    store = RunStore(seglab_home)
    records = store.list_runs()
    folds = [r for r in records if r.config.fold is not None]
    assert len(folds) == 4
    curves = {}
    for r in folds:  # cross-validation never evaluates the test split
        assert "test_iou" not in r.metrics
        history = store.history(r.id)
        assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]  # every fold scored at every epoch
        curves[(r.config.lr, r.config.fold)] = [h["val_iou"] for h in history]

    def latest_peak(curve):
        return max(range(len(curve)), key=lambda i: (curve[i], i)) + 1

    leaks = 0
    for c in out["configs"]:
        lr = c["params"]["lr"]
        own, other = curves[(lr, 0)], curves[(lr, 1)]
        expected = [own[latest_peak(other) - 1], other[latest_peak(own) - 1]]
        assert c["cv_iou_mean"] == pytest.approx(statistics.fmean(expected))
        assert c["cv_iou_last"] == pytest.approx((own[-1] + other[-1]) / 2)
        mean_curve = [(a + b) / 2 for a, b in zip(own, other, strict=True)]
        assert c["epochs"] == latest_peak(mean_curve)
        leaky = (max(own) + max(other)) / 2
        leaks += c["cv_iou_mean"] == pytest.approx(leaky) and leaky != pytest.approx(c["cv_iou_last"])
    assert leaks == 0
    best = max(out["configs"], key=lambda c: c["cv_iou_mean"])
    assert out["best"]["params"] == best["params"] and out["best"]["epochs"] == best["epochs"]
    final = store.load_run(out["best"]["run_id"])
    assert final.config.folds == 2 and final.config.fold is None
    assert final.config.lr == best["params"]["lr"] and final.config.epochs == best["epochs"]
    assert final.checkpoint == "last" and final.best_epoch == best["epochs"]  # the last epoch is kept
    assert out["best"]["test_iou"] == pytest.approx(final.metrics["test_iou"])
    assert final.metrics["last_test_iou"] == pytest.approx(final.metrics["test_iou"])
    assert np.isfinite(out["best"]["test_iou"])


def test_multiclass_test_confusion_is_stored_and_folds_store_none(seglab_home):
    from seglab.metrics.per_class import per_class_table
    from seglab.training.run import run_config

    config = preset("smoke", dataset="aerial", loss="ce", n=24)
    out = run_config(config, home=seglab_home)
    assert out.status == "done", out.message
    arrays = RunStore(seglab_home).predictions(out.run_id)
    cm = arrays["test_confusion"]
    n_test = len(run_splits(config, 24)[2])
    assert cm.shape == (6, 6) and cm.sum() == n_test * config.size * config.size
    table = per_class_table(cm, list(arrays["class_names"]))
    assert list(table["class"])[:2] == ["ground", "building"]
    iou = np.diag(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm))  # independent: TP / (TP + FP + FN)
    assert np.nanmean(iou) == pytest.approx(out.result.test_metrics["miou"], abs=1e-6)
    fold = run_config(config.replace(folds=2, fold=1), home=seglab_home)
    assert "test_confusion" not in RunStore(seglab_home).predictions(fold.run_id)


def _cv_table_benchmark():
    """benchmarks/cv_table.py as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "cv_table.py"
    spec = importlib.util.spec_from_file_location("cv_table_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cv_table_benchmark_prints_what_tune_prints(seglab_home, capsys, monkeypatch):
    """benchmarks/cv_table.py and ``seglab tune`` (and so the Tune tab, which reads the same
    `cv_rows`) give the same CV numbers, on a case where the old protocol (each fold at its own
    best epoch) would have printed others."""
    code = main(
        ["tune", "--preset", "smoke", "--n", "40", "--size", "24", "--epochs", "3", "--folds", "2"]
        + ["--grid", "lr=0.01,0.03", "--threads", "1", "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    configs = json.loads(captured.out)["configs"]
    bench = _cv_table_benchmark()
    store = RunStore(seglab_home)
    assert [row.to_dict() for row in bench.cv_table(store.list_runs())] == configs

    monkeypatch.setattr("sys.argv", ["cv_table.py", "--home", str(seglab_home), "--skip-training"])
    bench.main()
    printed = capsys.readouterr().out
    fold_runs = [r for r in store.list_runs() if r.config.fold is not None]
    own_best = {}  # the old protocol: every fold scored at its own best epoch
    for r in fold_runs:
        own_best.setdefault(r.config.lr, []).append(max(h["val_iou"] for h in store.history(r.id)))
    differs = 0
    for c in configs:
        lr = c["params"]["lr"]
        line = f"| {lr:g} |"
        (row,) = [text for text in printed.splitlines() if text.startswith(line)]
        assert row.endswith(f"| {c['epochs']} | {c['cv_iou_mean']:.3f} ± {c['cv_iou_std']:.3f} |"), row
        differs += f"{statistics.fmean(own_best[lr]):.3f}" != f"{c['cv_iou_mean']:.3f}"
    assert differs, "this case cannot tell the protocols apart"


def test_the_final_run_note_is_true_and_in_the_cli_help():
    """`FINAL_RUN_NOTE`: the final run trains the chosen epochs; with the cosine schedule its
    learning rate is lower than the folds' was at every step after the first, when fewer epochs
    were chosen than the folds trained; with the constant schedule the two are the same."""
    import argparse

    from seglab.analysis.tune import FINAL_RUN_NOTE
    from seglab.cli.main import build_parser
    from seglab.training.engine import scheduled_lr

    for schedule in ("cosine", "constant"):
        base = preset("smoke").replace(epochs=6, lr_schedule=schedule)
        study = cv_study(base, {"lr": [0.01]}, 2)
        row = CVRow(
            params={"lr": 0.01}, folds=2, fold_curves={0: [0.1, 0.3, 0.5, 0.4, 0.4, 0.3]} | {1: [0.1] * 6}
        )
        final = final_config(study, row)
        assert final.epochs == 3 < base.epochs and final.lr_schedule == schedule
        fold = base.replace(lr=0.01, fold=0, folds=2)
        n = 5  # batches per epoch (the final run has more, which changes nothing per epoch)
        steps = [(e, b) for e in range(1, final.epochs + 1) for b in range(1, n + 1)]
        ratios = [scheduled_lr(final, e, b, n) / scheduled_lr(fold, e, b, n) for e, b in steps]
        assert ratios[0] == 1.0  # both start at lr
        if schedule == "cosine":
            assert all(r < 1.0 for r in ratios[1:])
            assert scheduled_lr(final, final.epochs + 1, 1, n) == pytest.approx(0.0, abs=1e-12)
        else:
            assert ratios == [1.0] * len(steps)
    (tune_parser,) = [
        p
        for a in build_parser()._actions
        if isinstance(a, argparse._SubParsersAction)
        for c, p in a.choices.items()
        if c == "tune"
    ]
    assert FINAL_RUN_NOTE in tune_parser.description
