"""Loss lab page (AppTest): runs clean, shows every registered loss, reacts to γ, keeps the URL.

Displayed focal values are checked against the focal formula written out by hand here,
not against the library function the page calls.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from seglab.losses import list_losses, loss_info  # noqa: E402
from tests.page_support import page_runner  # noqa: E402

run_page = page_runner("loss_lab")


def focal_metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric if m.label.startswith("Focal loss at p = ")}


def slider(at: AppTest, key: str):
    return next(s for s in at.slider if s.key == key)


def hand_focal(p: float, alpha: float, gamma: float) -> float:
    """Focal loss of a foreground pixel: −α (1 − p)^γ log p."""
    return -alpha * (1.0 - p) ** gamma * math.log(p)


@pytest.fixture(scope="module")
def page() -> AppTest:
    return run_page()


def test_every_registered_loss_has_a_tab_with_its_formula(page: AppTest) -> None:
    titles = [loss_info(n).title for n in list_losses()]
    assert [t.label for t in page.tabs][: len(titles)] == titles
    shown = {e.value.strip("$\n") for e in page.latex}
    for name in list_losses():
        assert loss_info(name).latex in shown, name


def test_focal_numbers_match_the_formula(page: AppTest) -> None:
    alpha, gamma = slider(page, "alpha").value, slider(page, "gamma").value
    values = focal_metrics(page)
    assert len(values) == 3
    for label, shown in values.items():
        p = float(label.split("p = ")[1].split(" ")[0])
        assert float(shown) == pytest.approx(hand_focal(p, alpha, gamma), abs=6e-5), label


def test_moving_gamma_changes_the_displayed_focal_loss() -> None:
    at = run_page()
    before = focal_metrics(at)
    share_before = next(m.value for m in at.metric if m.label.startswith("Easy pixels' share of focal"))
    bce_before = next(m.value for m in at.metric if m.label.startswith("Easy pixels' share of BCE"))
    slider(at, "gamma").set_value(0.5).run()
    assert not at.exception
    after = focal_metrics(at)
    assert after.keys() == before.keys()
    assert all(after[k] != before[k] for k in before), (before, after)
    assert (
        next(m.value for m in at.metric if m.label.startswith("Easy pixels' share of focal")) != share_before
    )
    # BCE does not have a γ: its numbers must stay put.
    assert next(m.value for m in at.metric if m.label.startswith("Easy pixels' share of BCE")) == bce_before


def test_url_sets_the_sliders() -> None:
    at = run_page(gamma="3.0", alpha="0.6", loss=loss_info("dice").title)
    assert slider(at, "gamma").value == 3.0
    assert slider(at, "alpha").value == 0.6
    assert at.selectbox(key="loss").value == "dice"
    values = focal_metrics(at)
    assert float(values["Focal loss at p = 0.5 (unsure)"]) == pytest.approx(
        hand_focal(0.5, 0.6, 3.0), abs=6e-5
    )


@pytest.mark.parametrize("query", [{"gamma": "abc"}, {"gamma": "99"}, {"loss": "nope", "imbalance": "0.3"}])
def test_a_mangled_link_falls_back_quietly(query: dict[str, str]) -> None:
    run_page(**query)


def test_auto_alpha_follows_the_foreground_share() -> None:
    at = run_page(auto_alpha="true", fg_share="0.2")
    values = focal_metrics(at)
    # α = N_neg / (N_pos + N_neg) = 0.8 when 20 % of the pixels are foreground.
    assert float(values["Focal loss at p = 0.1 (hard)"]) == pytest.approx(hand_focal(0.1, 0.8, 2.0), abs=6e-5)


@pytest.mark.parametrize("name", list_losses())
def test_every_loss_draws_a_pixel_map(name: str) -> None:
    at = run_page(loss=loss_info(name).title)  # a bound select box shows titles in the URL
    mean = next(m for m in at.metric if m.label.startswith("Mean "))
    assert loss_info(name).title in mean.label
    assert math.isfinite(float(mean.value)) and float(mean.value) >= 0


# ---- the computations behind the page, against hand-written formulas ----------------------


def test_same_mistakes_cost_bce_the_same_at_every_foreground_share() -> None:
    from seglab.teach.loss_lab import IMBALANCE_SHARES, imbalance_table

    table = imbalance_table(2.0)
    n, missed = 64 * 64, 16
    hand_bce = ((n - missed) * -math.log(0.95) + missed * -math.log(0.05)) / n
    bce = table[table["loss"] == "BCE"]["value"].to_numpy()
    assert bce == pytest.approx([hand_bce] * len(IMBALANCE_SHARES), rel=1e-4)
    # Dice: soft sums by hand for the smallest object (20 pixels, 16 of them missed), s = 1.
    n_pos = round(IMBALANCE_SHARES[0] * n)
    tp = 0.95 * (n_pos - missed) + 0.05 * missed
    sum_p = tp + 0.05 * (n - n_pos)
    dice = table[table["loss"] == "Dice"]["value"].to_numpy()
    assert dice[0] == pytest.approx(1 - (2 * tp + 1) / (sum_p + n_pos + 1), rel=1e-4)
    assert all(a > b for a, b in zip(dice, dice[1:], strict=False))  # smaller object, larger loss


def test_sigmoid_twice_floor_matches_the_hand_value() -> None:
    import numpy as np

    from seglab.teach.loss_lab import sigmoid_twice

    mask = np.zeros((8, 8), dtype=np.int64)
    mask[:2] = 1  # a quarter of the pixels are foreground
    logits = np.where(mask == 1, 20.0, -20.0)
    v = sigmoid_twice(logits, mask)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    floor = 0.25 * -math.log(sig(1.0)) + 0.75 * -math.log(1 - sig(0.0))
    assert v["floor"] == pytest.approx(floor, rel=1e-5)
    assert v["twice"] == pytest.approx(floor, rel=1e-5)  # a perfect model sits on the floor
    assert v["right"] < 1e-6


@pytest.mark.parametrize("smooth", [0.5, 1.0, 5.0])
@pytest.mark.parametrize("false_pixels", [0, 1, 10])
def test_dice_on_an_empty_mask_is_decided_by_the_smoothing(smooth: float, false_pixels: int) -> None:
    from seglab.teach.loss_lab import dice_on_empty

    v = dice_on_empty(smooth, false_pixels)
    sum_p = false_pixels * 0.9 + (64 * 64 - false_pixels) / (1 + math.exp(12.0))
    assert v["sum_p"] == pytest.approx(sum_p, rel=1e-4)
    assert v["loss"] == pytest.approx(1 - smooth / (sum_p + smooth), rel=1e-4)


def test_auto_alpha_is_the_background_share() -> None:
    from seglab.teach.loss_lab import alpha_from_share

    for share in (0.01, 0.05, 0.3):
        assert alpha_from_share(share) == pytest.approx(1 - share, abs=1e-4)
