"""Imbalance as a study axis (issue 26): foreground share and data draws vary like any axis,
and every foreground share is a comparison of its own."""

from __future__ import annotations

import pytest
from synth_runs import fake_run

from seglab.analysis import compare
from seglab.analysis.results_table import runs_frame
from seglab.cli.main import build_parser, config_from_args, study_from_args
from seglab.errors import ConfigError
from seglab.settings.presets import preset
from seglab.settings.study import Study
from seglab.store.run_store import RunStore


def test_fg_fraction_axis_expands_into_dataset_params_with_the_seed_innermost():
    study = Study(preset("smoke"), {"loss": ["bce", "focal"], "fg_fraction": [0.2, 0.02]}, seeds=[0, 1])
    configs = study.expand()
    assert study.n_runs == len(configs) == 8
    got = [(c.loss, c.dataset_params.get("fg_fraction"), c.seed) for c in configs]
    assert got[:4] == [("bce", 0.2, 0), ("bce", 0.2, 1), ("bce", 0.02, 0), ("bce", 0.02, 1)]
    assert all("seed" not in c.dataset_params for c in configs)  # one draw of the data
    assert "dataset_params.fg_fraction" in study.varied_fields()


def test_data_per_seed_gives_each_seed_its_own_draw_and_survives_a_round_trip():
    study = Study(preset("smoke"), {"dataset_params.fg_fraction": [0.05]}, seeds=[3, 4], data_per_seed=True)
    assert [c.dataset_params for c in study.expand()] == [
        {"fg_fraction": 0.05, "seed": 3},
        {"fg_fraction": 0.05, "seed": 4},
    ]
    again = Study.from_dict(study.to_dict())
    assert again.data_per_seed and again.expand() == study.expand()
    assert "own data" in study.default_name()


def test_a_share_out_of_range_or_an_unknown_key_is_a_plain_words_error():
    with pytest.raises(ConfigError, match="fg_fraction"):
        Study(preset("smoke"), {"fg_fraction": [0.9]}).expand()
    with pytest.raises(ConfigError, match="unknown config key 'colour'"):
        Study(preset("smoke"), {"colour": [1, 2]})
    with pytest.raises(ConfigError, match="data seed"):
        Study(preset("smoke"), {"dataset_params.seed": [1, 2]}, seeds=[0, 1], data_per_seed=True)


def test_cli_grid_takes_a_dataset_parameter_and_data_per_seed():
    args = build_parser().parse_args(
        ["study", "--preset", "smoke", "--losses", "bce", "--grid", "fg_fraction=0.2,0.01", "--seeds", "0-1"]
        + ["--data-per-seed"]
    )
    study = study_from_args(args, config_from_args(args))
    assert study.axes["dataset_params.fg_fraction"] == [0.2, 0.01] and study.data_per_seed
    assert {c.dataset_params["seed"] for c in study.expand()} == {0, 1}


def _imbalance_store(home) -> RunStore:
    """2 losses × 2 shares × 2 seeds, each seed on its own data draw; at 2 % bce is worse."""
    store = RunStore(home)
    for share in (0.2, 0.02):
        for loss, val in (("bce", 0.9 if share == 0.2 else 0.01), ("focal", 0.8)):
            for seed in (0, 1):
                fake_run(
                    store,
                    group="g-imb",
                    val=val + seed / 100,
                    test=val,
                    loss=loss,
                    seed=seed,
                    dataset_params={"fg_fraction": share, "seed": seed},
                )
    return store


@pytest.mark.parametrize("known_study", [True, False])
def test_each_foreground_share_is_its_own_comparison(tmp_path, known_study):
    store = _imbalance_store(tmp_path)
    study = Study(
        preset("smoke"),
        {"loss": ["bce", "focal"], "fg_fraction": [0.2, 0.02]},
        seeds=[0, 1],
        data_per_seed=True,
    )
    studies = {"g-imb": study} if known_study else {}  # an imported study: no Study known
    comparisons = compare.build_comparisons(runs_frame(store.list_runs()), studies, {"g-imb": "imb"})
    assert len(comparisons) == 2
    by_share = {c.settings["dataset_params"]["fg_fraction"]: c for c in comparisons}
    assert set(by_share) == {0.2, 0.02}
    for share, comparison in by_share.items():
        assert comparison.varied == ["loss"]  # never ranked across shares
        assert all(cell.n_seeds == 2 for cell in comparison.cells)  # the tied draw is the seed's
        assert f"fg_fraction={share:g}" in comparison.name
    assert by_share[0.2].best.loss == "bce" and by_share[0.02].best.loss == "focal"
