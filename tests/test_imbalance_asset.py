"""The shipped imbalance study (assets/imbalance_study.zip, issue 26): small, weightless, complete
at 2 % foreground, each seed on its own data, and one comparison per foreground share once loaded."""

from __future__ import annotations

import zipfile

from seglab.analysis import compare
from seglab.analysis.results_table import runs_frame
from seglab.metrics.threshold import THRESHOLD_METRICS
from seglab.store.checks import check_summary
from seglab.store.reference import IMBALANCE_GROUP, IMBALANCE_ZIP, load_reference_study, reference_summaries
from seglab.store.run_store import RunStore

LOSSES = {"bce", "bce_weighted", "focal_focus", "focal", "dice"}


def test_the_zip_is_small_weightless_and_every_summary_is_usable():
    assert IMBALANCE_ZIP.is_file()
    assert IMBALANCE_ZIP.stat().st_size <= 15e6
    with zipfile.ZipFile(IMBALANCE_ZIP) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".pt")]
    summaries = reference_summaries(IMBALANCE_ZIP)
    for summary in summaries:
        check_summary(summary)
        config = summary["config"]
        assert summary["group"] == IMBALANCE_GROUP and summary["status"] == "done"
        assert config["arch"] == "unet" and config["loss"] in LOSSES and config["epochs"] == 10
        assert config["dataset_params"]["seed"] == config["seed"]  # each seed draws its own data
        assert all(summary["metrics"].get(k) is not None for k in THRESHOLD_METRICS)
    rare = [s["config"] for s in summaries if s["config"]["dataset_params"]["fg_fraction"] == 0.02]
    for loss in LOSSES:  # at 2 %: every loss with at least five seeds (five draws of the data)
        assert len({c["seed"] for c in rare if c["loss"] == loss}) >= 5, loss


def test_loaded_it_is_one_comparison_per_share(tmp_path):
    load_reference_study(tmp_path, IMBALANCE_ZIP)
    runs = runs_frame(RunStore(tmp_path).list_runs())
    comparisons = compare.build_comparisons(runs)
    shares = [c.settings["dataset_params"]["fg_fraction"] for c in comparisons]
    assert sorted(shares) == sorted(set(runs["dataset_params"].map(lambda p: p["fg_fraction"])))
    assert all(c.varied == ["loss"] for c in comparisons)
