"""The architecture × loss heatmap stays readable when the comparison holds a single model."""

import pandas as pd

from seglab.viz import results_charts as rc


def grid(n_arch: int, n_loss: int) -> pd.DataFrame:
    rows = [
        {
            "model": f"a{i} + l{j}",
            "arch": f"a{i}",
            "loss_label": f"l{j}",
            "mean": 0.5 + 0.01 * (i + j),
            "std": 0.02,
            "n_seeds": 3,
            "best": i == j == 0,
        }
        for i in range(n_arch)
        for j in range(n_loss)
    ]
    return pd.DataFrame(rows)


def test_one_model_gets_room_for_its_title_and_axis_titles():
    spec = rc.arch_loss_heatmap(grid(1, 1)).to_dict()
    title = spec["title"]
    # about 7 px per character of the 13 px title font: the single 140 px cell used to clip it
    assert spec["width"] >= 7 * len(title) and spec["width"] > 140
    # the vertical "Architecture" axis title (12 characters) must fit next to one 64 px row
    assert spec["height"] >= 7 * len("Architecture") and spec["height"] > 64


def test_bigger_grids_keep_their_cell_size_and_cap():
    spec = rc.arch_loss_heatmap(grid(4, 4)).to_dict()
    assert (spec["width"], spec["height"]) == (4 * 140, 4 * 64)
    spec = rc.arch_loss_heatmap(grid(9, 9)).to_dict()
    assert (spec["width"], spec["height"]) == (760, 480)


def test_one_model_ranking_has_room_for_the_four_entry_loss_legend():
    summary = grid(1, 1).drop(columns="best").assign(loss="l0")
    spec = rc.ranked_bars(summary, loss_domain=["bce", "dice", "focal", "bce_ds"]).to_dict()
    # legend title plus four 16 px entries; one 28 px bar used to cut the last entry off
    assert spec["height"] >= 16 * 5 + 28
