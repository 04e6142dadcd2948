"""The architecture × loss heatmap is sized by its content, from 1 × 1 to 7 × 7 cells."""

import pandas as pd

from seglab.viz import results_charts as rc


def grid(n_arch: int, n_loss: int, n_seeds: int = 3) -> pd.DataFrame:
    rows = [
        {
            "model": f"a{i} + l{j}",
            "arch": f"a{i}",
            "loss_label": f"l{j}",
            "mean": 0.5 + 0.01 * (i + j),
            "std": 0.02,
            "n_seeds": n_seeds,
            "best": i == j == 0,
        }
        for i in range(n_arch)
        for j in range(n_loss)
    ]
    return pd.DataFrame(rows)


def test_width_and_height_are_the_cells_area_not_the_whole_chart():
    spec = rc.arch_loss_heatmap(grid(2, 2)).to_dict()
    # Streamlit's default autosize "fit" squeezed title, axes and legend into the 280 px
    assert spec["autosize"]["type"] == "pad"
    assert spec["title"]["limit"] == 0  # the title is never cut


def test_every_cell_is_wider_than_its_longest_line():
    for n_arch, n_loss in ((1, 1), (2, 2), (4, 4), (6, 7)):
        spec = rc.arch_loss_heatmap(grid(n_arch, n_loss)).to_dict()
        lines = ["0.500 ★", "± 0.020"]  # the two lines of the best cell (3 seeds)
        # 13 px bold digits are about 7.5 px wide: the cell must hold the longest line
        assert spec["width"] / n_loss >= 7.5 * max(map(len, lines)) + 10, (n_arch, n_loss)
        # two 16 px lines per row
        assert spec["height"] / n_arch >= 2 * 16, (n_arch, n_loss)
        assert spec["width"] <= rc.HEATMAP_MAX_WIDTH  # 7 losses stay inside a 1280 px window


def test_one_seed_cells_say_so():
    spec = rc.arch_loss_heatmap(grid(1, 1, n_seeds=1)).to_dict()
    (texts,) = [[r["text"] for r in d] for d in spec["datasets"].values() if d and "text" in d[0]]
    assert texts == ["0.500 ★\n1 seed"]


def test_one_model_ranking_has_room_for_the_four_entry_loss_legend():
    summary = grid(1, 1).drop(columns="best").assign(loss="l0")
    spec = rc.ranked_bars(summary, loss_domain=["bce", "dice", "focal", "bce_ds"]).to_dict()
    # legend title plus four 16 px entries; one 28 px bar used to cut the last entry off
    assert spec["height"] >= 16 * 5 + 28
