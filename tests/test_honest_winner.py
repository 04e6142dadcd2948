"""Every wrong-winner store of issue 21, built run by run, and the right winner or flag asserted.

Stores are written through the store API (tests/synth_runs.py: no training), except the saved
upload case, which trains two tiny models on two zips saved under one name."""

from __future__ import annotations

import io
import json
import math
import random
import zipfile

import numpy as np
import pytest
from synth_runs import fake_run

from seglab.analysis import compare, stats
from seglab.analysis.results_table import runs_frame
from seglab.cli.main import main
from seglab.settings.presets import preset
from seglab.settings.study import Study
from seglab.store.run_store import RunStore

GROUP = "study-20260301-000000-cccc"


def _run(store, *, status="done", seed=0, val=0.5, test=0.5, created=None, metrics=None, **kw) -> str:
    run_id = fake_run(store, group=GROUP, val=val, test=test, seed=seed, created=created, status=status, **kw)
    if metrics:
        store.files(run_id).update_summary(metrics=metrics)
    return run_id


def _comparisons(store, studies=None, **kw) -> list[compare.Comparison]:
    return compare.build_comparisons(runs_frame(store.list_runs()), studies or {}, **kw)


def _three_seed_study(**axes) -> dict[str, Study]:
    return {GROUP: Study(preset("smoke"), axes or {"arch": ["unet", "segnet"]}, seeds=[0, 1, 2])}


# ---- a grid over dataset settings is one comparison per data setting ------------------------------
def test_a_dataset_params_grid_is_split_per_dataset_setting(tmp_path):
    store = RunStore(tmp_path)
    easy, hard = {"noise": 0.0}, {"noise": 0.3}
    # the easy data lifts every score: ranked together, the "best" would be the easier dataset
    for params, arch, val in ((easy, "segnet", 0.95), (hard, "segnet", 0.60), (easy, "unet", 0.90), (hard, "unet", 0.70)):  # fmt: skip
        _run(store, arch=arch, val=val, dataset_params=params)
    study = {GROUP: Study(preset("smoke"), {"dataset_params": [easy, hard], "arch": ["segnet", "unet"]})}
    comparisons = _comparisons(store, study)
    assert len(comparisons) == 2
    best = {c.settings["dataset_params"]["noise"]: c.best.arch for c in comparisons}
    assert best == {0.0: "segnet", 0.3: "unet"}  # each data setting has its own winner
    for c in comparisons:
        assert c.varied == ["arch"] and "dataset_params" not in c.varied
    assert "dataset_params" in compare.mixing_warning(comparisons)


# ---- a cell with fewer finished seeds cannot win silently -----------------------------------------
def test_one_finished_seed_does_not_beat_three(tmp_path):
    store = RunStore(tmp_path)
    for seed, val in enumerate((0.80, 0.81, 0.79)):
        _run(store, arch="unet", seed=seed, val=val)
    _run(store, arch="segnet", seed=0, val=0.90)
    _run(store, arch="segnet", seed=1, val=0.0, status="failed")
    _run(store, arch="segnet", seed=2, val=0.0, status="cancelled")
    (c,) = _comparisons(store, _three_seed_study())
    assert c.best.arch == "unet" and c.best.complete
    segnet = next(x for x in c.cells if x.arch == "segnet")
    assert (segnet.n_finished, segnet.n_requested, segnet.n_unfinished) == (1, 3, 2)
    assert not segnet.complete and c.passed_over == [segnet]
    assert "only 1 of 3 seeds finished (2 not finished)" in segnet.flags()
    assert "segnet + bce_dice has a higher mean (0.900) but is not crowned" in c.best_sentence()
    assert [x.arch for x in c.ranked] == ["unet", "segnet"]  # complete cells rank first


def test_without_a_queue_the_seeds_asked_for_are_the_seeds_seen(tmp_path):
    """An imported study (no queue to ask): every seed seen in the comparison is expected."""
    store = RunStore(tmp_path)
    for seed in (0, 1, 2):
        _run(store, arch="unet", seed=seed, val=0.8)
    _run(store, arch="segnet", seed=0, val=0.9)
    (c,) = _comparisons(store)
    assert c.best.arch == "unet"
    assert next(x for x in c.cells if x.arch == "segnet").n_requested == 3


# ---- diverged seeds are counted, not dropped ------------------------------------------------------
def test_a_cell_that_diverged_on_two_of_three_seeds_does_not_win_on_its_survivor(tmp_path):
    store = RunStore(tmp_path)
    for seed in (0, 1, 2):
        _run(store, arch="unet", seed=seed, val=0.80 + seed / 100)
    _run(store, arch="segnet", seed=0, val=0.92)
    _run(store, arch="segnet", seed=1, val=0.88, status="diverged")  # best epoch before it blew up
    _run(store, arch="segnet", seed=2, val=0.86, status="diverged")
    (c,) = _comparisons(store, _three_seed_study())
    segnet = next(x for x in c.cells if x.arch == "segnet")
    assert (segnet.n_finished, segnet.n_diverged) == (1, 2)
    assert c.best.arch == "unet"
    assert "only 1 of 3 seeds finished (2 diverged)" in segnet.flags()
    cell_json = segnet.to_json()
    assert (cell_json["n_finished"], cell_json["n_diverged"], cell_json["complete"]) == (1, 2, False)


def test_when_no_cell_is_complete_the_best_is_named_provisional(tmp_path):
    store = RunStore(tmp_path)
    _run(store, arch="unet", seed=0, val=0.8)
    _run(store, arch="unet", seed=1, val=0.8, status="diverged")
    _run(store, arch="segnet", seed=0, val=0.7)
    _run(store, arch="segnet", seed=1, val=0.7, status="failed")
    (c,) = _comparisons(store)
    assert c.best.arch == "unet" and not c.best.complete
    assert (
        "provisional" in c.best_sentence() and "only 1 of 2 seeds finished (1 diverged)" in c.best_sentence()
    )


# ---- a seed trained twice: the newest finished run counts, whatever the table's order ------------
@pytest.mark.parametrize("order", ["as stored", "reversed", "by val IoU", "shuffled"])
def test_a_seed_trained_twice_counts_its_newest_finished_run(tmp_path, order):
    store = RunStore(tmp_path)
    old = _run(store, arch="unet", seed=0, val=0.95, created=1000.0)
    new = _run(store, arch="unet", seed=0, val=0.70, created=2000.0)
    _run(store, arch="unet", seed=0, val=0.99, created=3000.0, status="failed")  # newest, not finished
    _run(store, arch="segnet", seed=0, val=0.80, created=1500.0)
    frame = runs_frame(store.list_runs())
    frame = {
        "as stored": frame,
        "reversed": frame.iloc[::-1],
        "by val IoU": frame.sort_values("val_iou"),
        "shuffled": frame.sample(frac=1.0, random_state=random.Random(7).randint(0, 99)),
    }[order]
    (c,) = compare.build_comparisons(frame)
    unet = next(x for x in c.cells if x.arch == "unet")
    assert (
        unet.counted == {0: new} and unet.val == {0: pytest.approx(0.70)} and old not in unet.counted.values()
    )
    assert unet.n_duplicates == 1 and "the newest finished counts" in "; ".join(unet.flags())
    assert c.best.arch == "segnet"


# ---- a run that predicts nothing is flagged -------------------------------------------------------
def test_a_collapsed_run_is_flagged_even_when_it_wins(tmp_path, capsys):
    store = RunStore(tmp_path / "home")
    _run(store, arch="unet", seed=0, val=0.002, test=0.001)
    (c,) = _comparisons(store)
    assert c.best.collapsed == [0]
    assert "collapsed" in c.best_sentence() and "predicts almost nothing" in c.best_sentence()
    code = main(["report", "--json", "-o", str(tmp_path / "out"), "--home", str(tmp_path / "home"), "--formats", "svg"])  # fmt: skip
    assert code == 0
    cell = json.loads(capsys.readouterr().out)["comparisons"][0]["cells"][0]
    assert cell["n_collapsed"] == 1 and any("collapsed" in f for f in cell["flags"])


def test_collapse_uses_the_one_rule():
    from seglab.analysis.collapse import COLLAPSE_IOU

    cell = compare.Cell({}, "x", "unet", "bce", "bce", [], {0: COLLAPSE_IOU - 1e-6, 1: COLLAPSE_IOU}, {})
    cell.collapsed = [s for s, v in cell.val.items() if v < COLLAPSE_IOU]
    assert cell.collapsed == [0]


# ---- the checkpoint rule --------------------------------------------------------------------------
def test_a_study_can_be_compared_at_the_last_epoch(tmp_path):
    store = RunStore(tmp_path)
    # unet peaks early and falls back; segnet keeps improving: at the kept (best) epoch unet
    # wins, at the last epoch segnet does
    _run(store, arch="unet", val=0.90, metrics={"last_val_iou": 0.70, "last_test_iou": 0.69})
    _run(store, arch="segnet", val=0.85, metrics={"last_val_iou": 0.85, "last_test_iou": 0.84})
    (best,) = _comparisons(store)
    (last,) = _comparisons(store, checkpoint="last")
    assert best.best.arch == "unet" and last.best.arch == "segnet"
    assert best.checkpoint == "best" and last.checkpoint == "last"
    # the optimism of best-epoch scores, measured here: ((0.90 − 0.70) + (0.85 − 0.85)) / 2
    assert best.optimism() == pytest.approx(0.10)
    assert "on average 0.100 above the last epoch's" in best.checkpoint_sentence()
    assert last.optimism() is None and "nothing was picked" in last.checkpoint_sentence()
    with pytest.raises(ValueError):
        _comparisons(store, checkpoint="middle")


# ---- statistics over seeds and test images --------------------------------------------------------
def _images(base: float, n: int, rng: np.random.Generator) -> list[float]:
    return [float(v) for v in np.clip(base + rng.normal(0, 0.05, n), 0, 1)]


def test_per_image_scores_give_paired_intervals_over_seeds_and_images_and_holm(tmp_path):
    store = RunStore(tmp_path)
    rng = np.random.default_rng(1)
    hard = rng.uniform(-0.2, 0.0, 40)  # image difficulty, shared by every model (pairing cancels it)
    for arch, lift in (("unet", 0.05), ("segnet", 0.0), ("fcn", 0.049)):
        for seed in (0, 1, 2):
            per_image = [float(v) for v in np.clip(0.8 + lift + hard + rng.normal(0, 0.01, 40), 0, 1)]
            _run(store, arch=arch, seed=seed, val=0.8 + lift + seed / 1000, test=float(np.mean(per_image)),
                 metrics={"test_iou_per_image": per_image})  # fmt: skip
    (c,) = _comparisons(store)
    assert c.has_image_scores and "test images" in c.statistics_basis()
    assert c.best.arch == "unet"
    interval = c.best.test_interval()
    assert interval.basis == "seeds and test images" and interval.n_images == 40
    assert interval.low < interval.mean < interval.high
    gaps = {cell.arch: (t, p) for cell, t, p in c.test_gaps()}
    # unet vs segnet: a clear 0.05 gap; unet vs fcn: 0.001, lost in the noise
    assert gaps["segnet"][0].resolved and gaps["segnet"][0].interval.mean == pytest.approx(0.05, abs=0.01)
    assert not gaps["fcn"][0].resolved
    raw = [gaps[a][0].p_value for a in ("fcn", "segnet")]
    assert [gaps[a][1] for a in ("fcn", "segnet")] == pytest.approx(stats.holm(raw))
    assert [x.arch for x in c.better_than()] == ["segnet"]
    assert "better than 1 of 2 other model(s) after the Holm correction" in c.better_sentence()
    doc = c.to_json()
    assert (
        doc["best_vs_runner_up"]["runner_up"].startswith("fcn") and not doc["best_vs_runner_up"]["resolved"]
    )
    assert doc["cells"][0]["test_iou_ci"]["basis"] == "seeds and test images"


def test_runs_without_per_image_scores_fall_back_to_seeds_and_say_so(tmp_path):
    store = RunStore(tmp_path)
    for seed, (a, b) in enumerate(((0.80, 0.70), (0.82, 0.71))):
        _run(store, arch="unet", seed=seed, val=a, test=a)
        _run(store, arch="segnet", seed=seed, val=b, test=b)
    (c,) = _comparisons(store)
    assert not c.has_image_scores and "seeds only" in c.statistics_basis()
    interval = c.best.test_interval()
    # two seeds: resampled means are 0.80, 0.81 or 0.82, so the 95 % interval is [0.80, 0.82]
    assert interval.basis == "seeds" and (interval.low, interval.high) == pytest.approx((0.80, 0.82))


def test_bootstrap_over_images_matches_the_normal_interval_for_one_seed():
    rng = np.random.default_rng(3)
    values = rng.uniform(0.5, 1.0, 400)
    interval = stats.bootstrap_interval({0: float(values.mean())}, {0: list(values)})
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values))  # independent: the normal approximation
    assert interval.basis == "test images (one seed)"
    assert interval.low == pytest.approx(values.mean() - half, abs=0.004)
    assert interval.high == pytest.approx(values.mean() + half, abs=0.004)


def test_an_empty_image_left_empty_counts_as_one_for_every_model():
    assert list(stats.images_as_scores([0.5, None, float("nan")])) == [0.5, 1.0, 1.0]


def test_holm_by_hand():
    # sorted: 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1 = 0.04 → kept monotone: 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []


@pytest.mark.parametrize("effect", [0.3, 0.5, 1.0, 2.0, 3.0])
def test_seed_planner_reaches_eighty_percent_power(effect):
    """Oracle: the exact power of a two-sided paired t-test (noncentral t, scipy)."""
    from scipy import stats as sp

    def power(n: int) -> float:
        crit = sp.t.ppf(0.975, n - 1)
        nc = effect * math.sqrt(n)
        return float(sp.nct.sf(crit, n - 1, nc) + sp.nct.cdf(-crit, n - 1, nc))

    n = stats.seeds_needed(gap=0.01 * effect, spread=0.01)
    assert power(n) >= 0.80 and (n == 2 or power(n - 1) < 0.80)  # the smallest such n
    sentence = stats.seed_plan_sentence(0.01 * effect, 0.01, 3)
    assert f"about {n} seeds" in sentence and "80 %" in sentence


def test_seed_planner_with_one_seed_asks_for_more_first():
    assert "at least 3 seeds" in stats.seed_plan_sentence(0.02, None, 1)


# ---- a saved upload deleted and saved again under its name ----------------------------------------
def _zip_of(version: int) -> bytes:
    """24 pairs of 32 px images: v0 bright squares masked, v1 dark squares with the background masked."""
    from PIL import Image

    rng = np.random.default_rng(version)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(24):
            y, x = rng.integers(4, 18, 2)
            img = (
                rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
                if version == 0
                else np.full((32, 32, 3), 200, np.uint8)
            )
            img[y : y + 8, x : x + 8] = 220 if version == 0 else 20
            mask = np.zeros((32, 32), np.uint8)
            mask[y : y + 8, x : x + 8] = 1
            if version == 1:
                mask = 1 - mask
            for folder, arr in (("images", img), ("masks", mask)):
                png = io.BytesIO()
                Image.fromarray(arr).save(png, format="PNG")
                zf.writestr(f"{folder}/p{i:02d}.png", png.getvalue())
    return buf.getvalue()


def test_fingerprint_follows_content_not_the_zip_or_the_name(tmp_path):
    from seglab.data.fingerprint import dataset_fingerprint

    first = tmp_path / "a.zip"
    first.write_bytes(_zip_of(0))
    again = tmp_path / "b.zip"  # the same files zipped again (other order, other time stamps)
    with zipfile.ZipFile(first) as src, zipfile.ZipFile(again, "w") as dst:
        for info in reversed(src.infolist()):
            dst.writestr(info.filename, src.read(info))
    assert dataset_fingerprint(str(first)) == dataset_fingerprint(str(again))
    first.write_bytes(_zip_of(1))
    assert dataset_fingerprint(str(first)) != dataset_fingerprint(str(again))
    # a folder relabelled in place
    folder = tmp_path / "folder"
    with zipfile.ZipFile(again) as zf:
        zf.extractall(folder)
    before = dataset_fingerprint(str(folder))
    (folder / "masks" / "p00.png").write_bytes((folder / "masks" / "p01.png").read_bytes())
    assert dataset_fingerprint(str(folder)) != before
    assert dataset_fingerprint("shapes") is None  # a registered dataset is described by its settings


def test_saved_upload_same_name_runs_are_not_ranked_together(seglab_home, tmp_path, capsys):
    """../shared/cases/saved_upload_same_name as a test."""
    from seglab.data.uploads import delete_dataset, save_dataset

    ids = []
    for version, arch in ((0, "unet"), (1, "segnet")):
        saved = save_dataset(_zip_of(version), "cells", home=seglab_home)
        args = ["train", "--preset", "smoke", "--dataset", str(saved.path), "--size", "32", "--arch", arch]
        assert main([*args, "--loss", "bce", "--threads", "1"]) == 0
        ids.append(next(r.id for r in RunStore(seglab_home).list_runs() if r.config.arch == arch))
        if version == 0:
            delete_dataset("cells", home=seglab_home)
    records = {r.id: r for r in RunStore(seglab_home).list_runs()}
    prints = [records[i].data_fingerprint for i in ids]
    assert None not in prints and prints[0] != prints[1]
    capsys.readouterr()
    assert main(["report", "--json", "-o", str(tmp_path / "out"), "--formats", "svg"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["comparisons"]) == 2  # one per version of the data
    assert all(len(c["cells"]) == 1 for c in doc["comparisons"])
    assert "changed between runs" in doc["warnings"][0] and "cells.zip" in doc["warnings"][0]


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 30])
def test_t_p_values_match_scipy(df):
    from scipy import stats as sp

    for t in (0.0, 0.4, 1.5, 4.303, 12.0):
        assert stats.t_two_sided_p(t, df) == pytest.approx(2 * sp.t.sf(t, df), abs=1e-12)


def test_three_seeds_all_ahead_are_not_enough_without_a_clear_gap():
    """Seeds only: a bootstrap over 3 seeds would call any 3-of-3 lead certain (p ≈ 0.001);
    the paired t-test on 3 gaps does not. Gaps 0.01, 0.03, 0.05: t = 0.03 / (0.02/√3) = 2.598,
    2 df → p = 0.1217 (independent: scipy)."""
    from scipy import stats as sp

    test = stats.paired_test({0: 0.81, 1: 0.83, 2: 0.85}, {0: 0.80, 1: 0.80, 2: 0.80})
    assert test.p_value == pytest.approx(2 * sp.t.sf(0.03 / (0.02 / math.sqrt(3)), 2))
    assert not test.resolved
    one = stats.paired_test({0: 0.9}, {0: 0.1}, {0: [0.9] * 50}, {0: [0.1] * 50})
    assert one.p_value is None and not one.resolved and one.interval.basis == "test images (one seed)"
