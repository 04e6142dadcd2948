"""The imbalance view (issue 26): numbers by hand, collapse counts by the one rule, report --json,
and an AppTest of the Results page's imbalance section (both thresholds)."""

from __future__ import annotations

import json
import math
import statistics

import pytest
from synth_runs import fake_run

from seglab.analysis import imbalance as imb
from seglab.analysis.results_table import runs_frame
from seglab.cli.main import main
from seglab.store.run_store import RunStore
from tests.page_support import page_runner

GROUP = "study-20260301-000000-imba"
# (share, loss) → per seed (val IoU, test IoU at 0.5, test IoU at the validation threshold)
SCORES = {
    (0.2, "bce"): [(0.80, 0.78, 0.79), (0.82, 0.80, 0.80), (0.78, 0.76, 0.77)],
    (0.2, "focal"): [(0.75, 0.70, 0.77), (0.77, 0.72, 0.78), (0.73, 0.69, 0.76)],
    (0.02, "bce"): [(0.01, 0.00, 0.00), (0.30, 0.28, 0.35), (0.02, 0.01, 0.02)],  # 2 of 3 collapsed
    (0.02, "focal"): [(0.35, 0.30, 0.40), (0.38, 0.33, 0.42), (0.33, 0.29, 0.41)],
}


def _store(home) -> RunStore:
    store = RunStore(home)
    for (share, loss), seeds in SCORES.items():
        for seed, (val, test, test_thr) in enumerate(seeds):
            run_id = fake_run(
                store, group=GROUP, val=val, test=test, loss=loss, seed=seed,
                dataset_params={"fg_fraction": share, "seed": seed},
            )  # fmt: skip
            store.update_summary(
                run_id, metrics={"test_iou_at_val_threshold": test_thr, "val_best_threshold": 0.3}
            )
    return store


def test_cells_by_hand_with_the_t_interval(tmp_path):
    cells = imb.imbalance_cells(runs_frame(_store(tmp_path).list_runs()), "test_iou")
    assert list(zip(cells["fg_share"], cells["model"], strict=True)) == [
        (0.2, "bce"), (0.2, "focal"), (0.02, "bce"), (0.02, "focal")
    ]  # fmt: skip
    row = cells.iloc[3]  # 2 % focal: 0.30, 0.33, 0.29
    values = [0.30, 0.33, 0.29]
    half = 4.303 * statistics.stdev(values) / math.sqrt(3)  # t(0.975, 2 df) = 4.303
    assert row["mean"] == pytest.approx(statistics.mean(values))
    assert (row["low"], row["high"]) == pytest.approx(
        (statistics.mean(values) - half, statistics.mean(values) + half)
    )
    assert list(cells["n_collapsed"]) == [0, 0, 2, 0]  # is_collapsed: validation IoU < 0.05
    at_val = imb.imbalance_cells(runs_frame(_store(tmp_path / "b").list_runs()), "test_iou_at_val_threshold")
    assert at_val.iloc[3]["mean"] == pytest.approx(statistics.mean([0.40, 0.42, 0.41]))


def test_collapse_table_and_no_view_for_one_share(tmp_path):
    runs = runs_frame(_store(tmp_path).list_runs())
    table = imb.collapse_table(runs)
    assert table.loc["2 %", "bce"] == "2 of 3" and table.loc["20 %", "focal"] == "0 of 3"
    one_share = runs[[p.get("fg_fraction") == 0.2 for p in runs["dataset_params"]]]
    assert not imb.has_imbalance_axis(one_share) and imb.imbalance_json(one_share) is None


def test_report_json_one_comparison_per_share_with_both_thresholds_and_collapses(tmp_path, capsys):
    _store(tmp_path / "home")
    capsys.readouterr()
    code = main(
        [
            "report",
            "--json",
            "-o",
            str(tmp_path / "out"),
            "--home",
            str(tmp_path / "home"),
            "--formats",
            "svg",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    shares = sorted(c["settings"]["dataset_params"]["fg_fraction"] for c in doc["comparisons"])
    assert shares == [0.02, 0.2] and all(c["varied"] == ["loss"] for c in doc["comparisons"])
    cells = {(c["fg_fraction"], c["loss"]): c for c in doc["imbalance"]["cells"]}
    rare_bce = cells[(0.02, "bce")]
    assert rare_bce["n_collapsed"] == 2 and rare_bce["n_runs"] == 3
    assert rare_bce["test_iou_at_0_5"]["mean"] == pytest.approx((0.00 + 0.28 + 0.01) / 3)
    assert rare_bce["test_iou_at_val_threshold"]["mean"] == pytest.approx((0.00 + 0.35 + 0.02) / 3)
    assert (tmp_path / "out" / "imbalance.csv").is_file()
    assert (tmp_path / "out" / "imbalance_at_validation.svg").is_file()


run_page = page_runner("results", timeout=90)


@pytest.fixture
def imbalance_home(tmp_path):
    _store(tmp_path)
    with pytest.MonkeyPatch.context() as patch:  # a module-wide home
        patch.setenv("SEGLAB_HOME", str(tmp_path))
        yield tmp_path


def _numbers(at) -> dict:
    (table,) = [d.value for d in at.dataframe if "test IoU (mean)" in d.value.columns]
    return {(r["share"], r["model"]): r for r in table.to_dict("records")}


@pytest.mark.parametrize("threshold,column", [("0.5", 1), ("validation", 2)])
def test_results_page_shows_the_imbalance_view(imbalance_home, threshold, column):
    at = run_page(rs_imb_threshold=threshold)
    assert any("Imbalance" in h.value for h in at.subheader)
    numbers = _numbers(at)
    for (share, loss), seeds in SCORES.items():
        row = numbers[(imb.share_text(share), loss)]
        assert row["test IoU (mean)"] == pytest.approx(statistics.mean(s[column] for s in seeds))
        assert row["seeds"] == 3
    collapse = [d.value for d in at.dataframe if "bce" in d.value.columns and "2 %" in d.value.index]
    assert collapse and collapse[0].loc["2 %", "bce"] == "2 of 3"
    chart_titles = [
        json.dumps(json.loads(c.spec), ensure_ascii=False)
        for c in at.get("vega_lite_chart")
        if "Foreground share" in c.spec
    ]
    assert len(chart_titles) == 1 and imb.THRESHOLD_TITLES[threshold] in chart_titles[0]
