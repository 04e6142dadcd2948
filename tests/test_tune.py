"""k-fold tuning: the engine's split function, the CV maths, and ``tune --json`` end to end."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest

from seglab.analysis.tune import CVRow, best_row, cv_rows, cv_study, parse_grid
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


def test_tune_json_schema_on_a_tiny_grid(seglab_home, capsys):
    code = main(
        ["tune", "--preset", "smoke", "--n", "30", "--grid", "lr=0.003,0.03", "--folds", "2", "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert set(out) == {"configs", "best"}
    assert [c["params"] for c in out["configs"]] == [{"lr": 0.003}, {"lr": 0.03}]
    for c in out["configs"]:
        assert set(c) == {"params", "folds", "cv_iou_mean", "cv_iou_std"}
        assert c["folds"] == 2
    assert set(out["best"]) == {"params", "test_iou", "run_id"}
    best_mean = max(c["cv_iou_mean"] for c in out["configs"])
    assert out["best"]["params"] in [c["params"] for c in out["configs"] if c["cv_iou_mean"] == best_mean]

    store = RunStore(seglab_home)
    records = store.list_runs()
    folds = [r for r in records if r.config.fold is not None]
    assert len(folds) == 4
    for r in folds:  # cross-validation never evaluates the test split
        assert "test_iou" not in r.metrics
    # the CV mean is the mean of the stored fold runs' validation IoUs
    for c in out["configs"]:
        vals = [r.metrics["val_iou"] for r in folds if r.config.lr == c["params"]["lr"]]
        assert c["cv_iou_mean"] == pytest.approx(statistics.fmean(vals))
        assert c["cv_iou_std"] == pytest.approx(statistics.stdev(vals))
    final = store.load_run(out["best"]["run_id"])
    assert final.config.folds == 2 and final.config.fold is None
    assert final.config.lr == out["best"]["params"]["lr"]
    assert out["best"]["test_iou"] == pytest.approx(final.metrics["test_iou"])
    # trained on the whole pool: train = val = pool, test as usual
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
