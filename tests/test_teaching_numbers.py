"""Every corrected teaching statement that a number backs (issue 21, ../shared/reviews/science-text.md).

Each test recomputes the number the sentence relies on, from the same functions the page calls
or by hand, so a page that drifts back to the old wording's claim has a failing test to face.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seglab.teach import metrics_lab as ml

# --------------------------------------------------------------------------------------
# Metrics lab: missing a class costs IoU_c / K plus the receiving class's loss (finding 1)
# --------------------------------------------------------------------------------------


def _table(iou: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"iou": iou})


def test_miou_drop_breakdown_by_hand() -> None:
    # target [0, 0, 1, 1]; the model finds both classes, then never predicts class 1 (all → 0):
    # IoU_0 = 2 / 4 = 0.5, IoU_1 = 0; mIoU 1 → 0.25, a drop of 0.75 > 1/K = 0.5
    target = np.array([[0, 0, 1, 1]])
    before = ml.class_shares_table(target.copy(), target, ["background", "thing"])
    after = ml.class_shares_table(np.zeros_like(target), target, ["background", "thing"])
    part = ml.miou_drop_breakdown(before, after, missed=1)
    assert part["k"] == 2
    assert part["total"] == pytest.approx(0.75)
    assert part["own"] == pytest.approx(0.5)  # IoU_c / K = 1 / 2
    assert part["receiver"] == pytest.approx(0.25)  # (1 − 0.5) / 2
    assert part["others"] == pytest.approx(0.0)


def test_miou_drop_breakdown_refuses_different_class_sets() -> None:
    with pytest.raises(ValueError):
        ml.miou_drop_breakdown(_table([1.0, 0.5, float("nan")]), _table([1.0, 0.5, 0.0]), missed=1)


def _page_settings():
    """The Metrics lab's multi-class section, over every sample, noise {0, 10, 30} %,
    boundary shift {0, 1, 3} and every class the model could miss (as the page computes it)."""
    for index in range(ml.SAMPLE_COUNT):
        _image, target, names = ml.aerial_sample(index)
        k = len(names)
        for noise in (0.0, 10.0, 30.0):
            for shift in (0, 1, 3):
                pred = ml.corrupt_labels(target, k, noise_percent=noise, shift=shift, seed=index)
                before = ml.class_shares_table(pred, target, names)
                for missed in range(1, k):
                    if np.isnan(before["iou"][missed]):
                        continue  # absent from both masks: nothing to lose
                    pred_m = ml.corrupt_labels(
                        target, k, noise_percent=noise, missed_class=missed, shift=shift, seed=index
                    )
                    after = ml.class_shares_table(pred_m, target, names)
                    yield (
                        (index, noise, shift, missed),
                        before,
                        after,
                        ml.multiclass_summary(pred, target, k),
                        ml.multiclass_summary(pred_m, target, k),
                    )


def test_miou_drop_is_own_part_plus_the_receiving_class_and_can_exceed_one_over_k() -> None:
    above = []
    for where, before, after, s_before, s_after in _page_settings():
        part = ml.miou_drop_breakdown(before, after, where[3])
        measured = s_before["miou"] - s_after["miou"]  # what the page's mIoU metric shows
        assert part["total"] == pytest.approx(measured, abs=1e-9), where
        assert part["own"] + part["receiver"] + part["others"] == pytest.approx(measured, abs=1e-9), where
        assert part["others"] == pytest.approx(0.0, abs=1e-12), where  # only the missed pixels changed
        if where[1] == 0.0:  # without noise the missed class is predicted nowhere: own = IoU_c / K
            iou_c = float(before["iou"][where[3]])
            assert part["own"] == pytest.approx(ml.miou_drop_if_missed(iou_c, part["k"])), where
        if measured > 1 / part["k"] + 1e-9:
            above.append(where)
            assert part["receiver"] > 0, where  # beyond 1/K only through the receiving class
    # the old sentence ("at most 1/K") is false on the page's own settings
    assert above, "no setting drops mIoU by more than 1/K"


# --------------------------------------------------------------------------------------
# Dice: the push on p is the same for every pixel of a class (finding 5); the Loss lab map
# is each pixel's share of the value, not that push (finding 6)
# --------------------------------------------------------------------------------------


def _binary_batch(seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    target = (torch.rand(2, 8, 8, generator=g) < 0.3).long()
    logits = torch.randn(2, 1, 8, 8, generator=g)
    return logits, target


def test_soft_dice_gradient_on_p_is_the_same_for_every_pixel_of_a_class_by_hand() -> None:
    import torch

    from seglab.losses import get_loss

    logits, target = _binary_batch()
    z = logits.clone().requires_grad_(True)
    get_loss("dice", smooth=1.0)(z, target).backward()
    p = torch.sigmoid(logits)[:, 0]
    grad_p = z.grad[:, 0] / (p * (1 - p))  # chain rule: ∂L/∂z = ∂L/∂p · p(1 − p)
    # by hand: L = 1 − N/D with N = 2Σpy + s, D = Σp + Σy + s, so
    # ∂L/∂p_i = −(2 y_i D − N) / D²: one value for y = 1, another for y = 0, whatever p_i is
    y = target.double()
    n = 2 * (p.double() * y).sum() + 1.0
    d = p.double().sum() + y.sum() + 1.0
    hand_fg, hand_bg = float(-(2 * d - n) / d**2), float(n / d**2)
    fg, bg = grad_p[target == 1].double(), grad_p[target == 0].double()
    assert fg.numel() > 1 and bg.numel() > 1
    assert fg.tolist() == pytest.approx([hand_fg] * fg.numel(), rel=1e-4)
    assert bg.tolist() == pytest.approx([hand_bg] * bg.numel(), rel=1e-4)
    # correct and wrong pixels of a class get the same push
    right_fg, wrong_fg = fg[p[target == 1] >= 0.5], fg[p[target == 1] < 0.5]
    assert right_fg.numel() and wrong_fg.numel()


@pytest.mark.parametrize("name", ["bce", "dice", "focal", "tversky", "bce_dice"])
def test_loss_lab_map_is_each_pixels_share_of_the_value(name: str) -> None:
    import torch

    from seglab.teach import loss_lab as T
    from seglab.teach.basics import load_scene

    scene = load_scene("shapes", size=64, seed=1)
    mask = (scene.mask > 0).astype("int64")
    logits = T.imperfect_logits(mask, 0.4, seed=1)
    values, mean = T.pixel_loss(name, logits, mask, **T.loss_params(name, 0.8, 2.0))
    assert values.mean() == pytest.approx(mean, rel=1e-5)  # shares that add up to the loss
    if name in ("dice", "tversky"):
        # ... and not the push: the map differs between foreground pixels, ∂L/∂p does not
        from seglab.losses import get_loss

        z = torch.as_tensor(logits, dtype=torch.float32)[None, None].requires_grad_(True)
        y = torch.as_tensor(mask)[None]
        get_loss(name, **T.loss_params(name, 0.8, 2.0))(z, y).backward()
        p = torch.sigmoid(z.detach())[0, 0]
        push = (z.grad[0, 0] / (p * (1 - p)))[y[0] == 1]
        shown = torch.as_tensor(values)[y[0] == 1]
        assert float(push.std() / push.abs().mean()) < 1e-3
        assert float(shown.std() / shown.abs().mean()) > 0.1


# --------------------------------------------------------------------------------------
# Focal: how much weight a hard pixel keeps (finding 17)
# --------------------------------------------------------------------------------------


def test_focal_kept_weight_by_hand() -> None:
    from seglab.teach import loss_lab as T

    assert T.kept_weight(0.3, 5.0) == pytest.approx(0.7**5)
    assert f"{T.kept_weight(0.3, 5.0):.0%}" == "17%"
    assert f"{T.kept_weight(0.1, 5.0):.0%}" == "59%"
    assert T.kept_weight(0.9, 2.0) == pytest.approx(0.01)


def test_loss_lab_uses_one_alpha_under_the_auto_toggle() -> None:
    import math

    from tests.page_support import page_runner

    at = page_runner("loss_lab")(auto_alpha="true", fg_share="0.2", loss="Focal loss")
    alpha = next(s for s in at.slider if s.key == "alpha")
    assert "0.80" in alpha.label  # the greyed slider says which α is used
    share_labels = [s.label for s in at.slider if "share" in s.label.lower()]
    share_labels += [s.label for s in at.select_slider if "share" in s.label.lower()]
    assert len(share_labels) == len(set(share_labels)) == 2
    # section 4's map uses the same α = 1 − 0.2 = 0.8, written out by hand on the page's sample
    from seglab.teach import loss_lab as T
    from seglab.teach.basics import load_scene

    mask = (load_scene("shapes", size=64, seed=1).mask > 0).astype("int64")
    z = T.imperfect_logits(mask, 0.4, seed=1)
    p = 1 / (1 + np.exp(-z.astype(np.float64)))
    hand = -np.mean(0.8 * mask * (1 - p) ** 2 * np.log(p) + 0.2 * (1 - mask) * p**2 * np.log(1 - p))
    shown = next(m for m in at.metric if m.label.startswith("Mean "))
    assert float(shown.value) == pytest.approx(hand, abs=6e-5)
    assert math.isfinite(hand)


# --------------------------------------------------------------------------------------
# Multi-class α = auto hardly balances many classes (finding 21)
# --------------------------------------------------------------------------------------


def test_multiclass_auto_alpha_ratio_on_aerial_matches_the_text() -> None:
    import re

    from seglab.data import make_dataset
    from seglab.losses import functional as LF
    from seglab.losses import loss_info

    ds = make_dataset("aerial", size=64, n=384, seed=0)
    counts = LF.class_pixel_counts(ds.masks, ds.num_classes).double()
    alpha = LF.alpha_from_counts(counts, binary=False)
    share = (counts / counts.sum()).tolist()
    assert alpha == pytest.approx([1 - s for s in share])  # α_c = 1 − n_c / Σn, by hand
    ratio, inverse = max(alpha) / min(alpha), max(share) / min(share)
    text = loss_info("focal").explanation
    said_ratio = float(re.search(r"about ([\d.]+)× the", text).group(1))
    said_inverse = float(re.search(r"give about (\d+)×", text).group(1))
    assert round(ratio, 1) == said_ratio
    assert abs(inverse - said_inverse) / said_inverse < 0.15
    assert inverse > 10 * ratio  # far from class balancing


# --------------------------------------------------------------------------------------
# The reference study against the original study's claims (findings 3, 4, 8, 11)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_cells() -> pd.DataFrame:
    """Mean val / test IoU per (arch, loss) over seeds, read straight from the shipped zip."""
    import json
    import zipfile

    from seglab.store.reference import REFERENCE_ZIP

    rows = []
    with zipfile.ZipFile(REFERENCE_ZIP) as z:
        for name in z.namelist():
            if name.endswith("summary.json"):
                d = json.loads(z.read(name))
                c, m = d["config"], d["metrics"]
                rows.append(
                    {
                        "arch": c["arch"],
                        "loss": c["loss"],
                        "seed": c["seed"],
                        "val": m["val_iou"],
                        "test": m["test_iou"],
                    }
                )
    return pd.DataFrame(rows)


def test_strided_unet_focal_rank_in_the_reference_study_matches_the_text(
    reference_cells: pd.DataFrame,
) -> None:
    import re

    from seglab.models import model_info

    means = reference_cells.groupby(["arch", "loss"])[["val", "test"]].mean()
    said = re.search(r"ranks (\d+)th of (\d+)", " ".join(model_info("unet_strided").summary.split()))
    assert said, "the summary states the rank"
    for metric in ("val", "test"):
        order = list(means[metric].sort_values(ascending=False).index)
        assert (order.index(("unet_strided", "focal")) + 1, len(order)) == (int(said[1]), int(said[2])), (
            metric
        )


def test_focal_is_the_weakest_loss_for_every_architecture_and_below_bce_on_every_pair(
    reference_cells: pd.DataFrame,
) -> None:
    means = reference_cells.groupby(["arch", "loss"])[["val", "test"]].mean()
    for metric in ("val", "test"):
        for arch, by_loss in means[metric].groupby(level="arch"):
            assert by_loss.idxmin()[1] == "focal", (arch, metric)
        wide = reference_cells.pivot_table(index=["arch", "seed"], columns="loss", values=metric)
        diffs = wide["focal"] - wide["bce"]
        assert len(diffs) == 12 and (diffs < 0).all(), metric  # "12 of 12 pairs"


# --------------------------------------------------------------------------------------
# bce_ds: the main output's weight depends on the architecture (finding 12)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "heads", "weight"), [("unet", 3, "0.45"), ("segnet", 3, "0.45"), ("unetpp", 2, "0.56")]
)
def test_bce_ds_main_output_weight_by_architecture(arch: str, heads: int, weight: str) -> None:
    import torch

    from seglab.losses import get_loss, loss_info
    from seglab.models import create_model

    model = create_model(arch, in_channels=3, num_classes=1, width=4, depth=3)
    assert len(model.side_output_names()) == heads
    x = torch.rand(1, 3, 32, 32)
    target = (torch.rand(1, 32, 32) < 0.3).long()
    logits, aux = model(x, return_aux=True)
    main = logits.detach().requires_grad_(True)
    get_loss("bce_ds", aux_weight=0.4)(main, target, aux=[a.detach() for a in aux]).backward()
    plain = logits.detach().requires_grad_(True)
    get_loss("bce")(plain, target).backward()
    ratio = (main.grad / plain.grad).flatten()
    assert ratio.tolist() == pytest.approx([1 / (1 + 0.4 * heads)] * ratio.numel(), rel=1e-5)
    assert f"{1 / (1 + 0.4 * heads):.2f}" == weight
    assert (
        f"({weight})" in loss_info("bce_ds").explanation or f"= {weight}" in loss_info("bce_ds").explanation
    )


# --------------------------------------------------------------------------------------
# Data page: ignoring the rare class gives *up to* 1 − share pixel accuracy (finding 19)
# --------------------------------------------------------------------------------------


def test_accuracy_when_ignoring_the_rare_class_is_an_upper_bound() -> None:
    from seglab.teach.data_page import imbalance_note

    balance = pd.DataFrame({"class": ["ground", "car"], "share": [0.9, 0.1]})
    note = imbalance_note(balance)
    assert "up to" in note and "90.0%" in note
    target = np.array([0] * 9 + [1])
    perfect_elsewhere = np.zeros(10, dtype=int)  # ignores the car, right everywhere else
    assert (perfect_elsewhere == target).mean() == pytest.approx(0.9)
    one_more_error = perfect_elsewhere.copy()
    one_more_error[0] = 1
    assert (one_more_error == target).mean() < 0.9  # below the bound as soon as anything else is wrong


# --------------------------------------------------------------------------------------
# Inside: the answer's caption in binary and multi-class words (finding 18, lesson walk 13)
# --------------------------------------------------------------------------------------


def test_inside_answer_caption_binary_by_hand() -> None:
    from seglab.teach import inside_text as it

    labels = np.zeros((8, 8), dtype=int)
    labels[:, 4:] = 1  # right half called object; the border lies between columns 3 and 4
    conf = np.ones((8, 8))
    conf[:, 3:5] = 0.6  # unsure on the two columns at the border: 16 pixels, 8 of them object
    conf[0, 7] = 0.6  # and one object pixel 3 columns from it
    n = it.answer_numbers(labels, conf)
    assert n["object"] == 0.5
    assert n["unsure"] == pytest.approx(17 / 64)
    assert n["unsure_of_object"] == pytest.approx(9 / 32)  # "of them" counts object pixels only
    assert n["unsure_near_border"] == pytest.approx(16 / 17)
    text = it.answer_caption(labels, conf, 2)
    assert "50% of the pixels are called object" in text and "28% of the object pixels" in text
    assert "94% of those unsure pixels" in text


def test_inside_answer_caption_multiclass_has_no_object_wording() -> None:
    from seglab.teach import inside_text as it

    labels = np.repeat(np.arange(4), 16).reshape(8, 8)  # four bands of classes 0..3
    conf = np.full((8, 8), 0.4)
    text = it.answer_caption(labels, conf, 6)
    assert "object" not in text and "6 classes" in text and "100% of the pixels" in text
    assert "1/6" in it.confidence_caption(6) and "0.5 = unsure" in it.confidence_caption(2)


def test_inside_side_output_text_fits_the_run() -> None:
    from seglab.teach import inside_text as it

    trained = it.side_outputs_text(True, True, "bce_ds", ["$X^{0,1}$", "$X^{0,2}$"])
    untrained = it.side_outputs_text(True, False, "bce", ["$X^{0,1}$", "$X^{0,2}$"])
    other = it.side_outputs_text(False, True, "bce_ds", ["`bottleneck`", "`dec3`"])
    assert "usable mask" in trained and "$X^{0,1}$, $X^{0,2}$" in trained
    assert "never trained" in untrained and "usable" not in untrained and "`bce`" in untrained
    assert "X^{0" not in other and "`bottleneck`, `dec3`" in other
