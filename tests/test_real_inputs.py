"""Inputs people really have (issue 12; the cases in ../shared/cases) and the maths they feed.

Each test rebuilds one kind of input in a temporary folder, with variants of the kind, and
checks the right value written out by hand.
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seglab.data import make_dataset, validate_folder
from seglab.data.folder import load_zip
from seglab.data.mask_rules import DatasetWarning, drawn_values, snap_to
from seglab.errors import DatasetError
from seglab.losses import fit_loss_to_training_set, get_loss, loss_info
from seglab.losses import functional as LF
from seglab.metrics.scores import confusion_matrix, per_image_iou
from seglab.models import create_model

# --------------------------------------------------------------------------------------
# EXIF orientation (all 8 values), images and masks
# --------------------------------------------------------------------------------------

# How each EXIF Orientation value stores the upright picture (the inverse of what a viewer
# does to display it), written out from the EXIF 2.3 table.
STORE = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # rotated 180°
    4: lambda a: a[::-1, :],  # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),  # transposed
    6: lambda a: np.rot90(a, 1),  # displayed after 90° clockwise → stored 90° counter-clockwise
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),  # transverse
    8: lambda a: np.rot90(a, -1),  # displayed after 90° counter-clockwise → stored clockwise
}


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _upright_scene(h: int = 48, w: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A portrait scene (h > w) with a white block at rows 4-19, cols 4-15; the mask marks it.
    Nothing else is white, so a wrongly turned image puts no white under the mask."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 2] = 90
    img[4:20, 4:16] = 255
    mask = np.zeros((h, w), np.uint8)
    mask[4:20, 4:16] = 1
    return img, mask


def _white_under_mask(ds) -> float:
    """Share of mask pixels whose image pixel is white (all channels > 0.5) after resizing."""
    white = ds.images[0].min(dim=0).values > 0.5
    fg = ds.masks[0] == 1
    return float(white[fg].float().mean())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_every_value_loads_upright(tmp_path: Path, orientation: int) -> None:
    img, mask = _upright_scene()
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    stored = np.ascontiguousarray(STORE[orientation](img))
    Image.fromarray(stored).save(tmp_path / "images" / "a.png", exif=_exif(orientation))
    Image.fromarray(mask).save(tmp_path / "masks" / "a.png")  # drawn on the upright view
    ds = make_dataset(str(tmp_path), size=32)
    # the white block sits under the mask (rows 4-19 → 2.7-13.3 after resizing 48 → 32 rows);
    # only the resized block edges may blur
    assert int(ds.masks.sum()) > 100
    assert _white_under_mask(ds) > 0.9


@pytest.mark.parametrize("orientation", [3, 6])
def test_exif_orientation_applies_to_masks_too(tmp_path: Path, orientation: int) -> None:
    img, mask = _upright_scene()
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(img).save(tmp_path / "images" / "a.png")
    stored = np.ascontiguousarray(STORE[orientation](mask))
    Image.fromarray(stored).save(tmp_path / "masks" / "a.png", exif=_exif(orientation))
    ds = make_dataset(str(tmp_path), size=32)
    assert int(ds.masks.sum()) > 100
    assert _white_under_mask(ds) > 0.9


# --------------------------------------------------------------------------------------
# Alpha-carrying masks
# --------------------------------------------------------------------------------------


def _pair_folder(root: Path, mask_img: Image.Image, n: int = 1) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(root / "images" / f"m{i}.png")
        mask_img.save(root / "masks" / f"m{i}.png")
    return root


def _object() -> np.ndarray:
    obj = np.zeros((8, 8), bool)
    obj[2:5, 1:6] = True  # 15 pixels
    return obj


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_only_mask_is_read_as_foreground(tmp_path: Path, mode: str) -> None:
    obj = _object()
    alpha = (obj * 255).astype(np.uint8)
    if mode == "RGBA":
        im = Image.fromarray(np.dstack([np.zeros((8, 8, 3), np.uint8), alpha]), "RGBA")
    elif mode == "LA":
        im = Image.fromarray(np.dstack([np.zeros((8, 8), np.uint8), alpha]), "LA")
    with pytest.warns(DatasetWarning, match="alpha"):
        ds = make_dataset(str(_pair_folder(tmp_path, im)), size=8)
    assert ds.num_classes == 2
    assert int(ds.masks.sum()) == 15  # the 3×5 object, nothing else
    assert torch.equal(ds.masks[0].bool(), torch.from_numpy(obj))


def test_pa_mask_alpha_rule_in_memory() -> None:
    # PNG cannot store PA, but other readers can hand it over: the same rule applies
    from seglab.data.mask_rules import apply_alpha_rule, split_alpha

    obj = _object()
    indices = Image.fromarray(np.zeros((8, 8), np.uint8)).convert("P")
    im = Image.merge("PA", (indices, Image.fromarray((obj * 255).astype(np.uint8))))
    colour, alpha = split_alpha(im)
    ids, note = apply_alpha_rule(np.asarray(colour, dtype=np.int64), alpha)
    assert note and np.array_equal(ids, obj.astype(np.int64))


def test_alpha_mask_antialiased_edge_thresholded_at_128(tmp_path: Path) -> None:
    alpha = np.zeros((8, 8), np.uint8)
    alpha[2:5, 1:6] = 255
    alpha[5, 1:6] = 127  # soft edge below half → background
    alpha[1, 1:6] = 128  # soft edge at half → foreground
    im = Image.fromarray(np.dstack([np.zeros((8, 8, 3), np.uint8), alpha]), "RGBA")
    with pytest.warns(DatasetWarning):
        ds = make_dataset(str(_pair_folder(tmp_path, im)), size=8)
    assert int(ds.masks.sum()) == 15 + 5


def test_opaque_rgba_and_agreeing_colour_keep_the_colour_ids(tmp_path: Path) -> None:
    obj = _object()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 255  # fully opaque: alpha says nothing
    rgba[obj, :3] = 1
    ds = make_dataset(str(_pair_folder(tmp_path / "opaque", Image.fromarray(rgba, "RGBA"))), size=8)
    assert int(ds.masks.sum()) == 15
    white = np.zeros((8, 8, 4), np.uint8)
    white[obj] = 255  # white on clear: colour and alpha agree
    ds = make_dataset(str(_pair_folder(tmp_path / "white", Image.fromarray(white, "RGBA"))), size=8)
    assert int(ds.masks.sum()) == 15


def test_disagreeing_colour_and_alpha_is_refused_in_plain_words(tmp_path: Path) -> None:
    obj = _object()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[obj, :3] = 255  # colour marks the object ...
    rgba[:4, :, 3] = 255  # ... alpha marks the top half
    root = _pair_folder(tmp_path, Image.fromarray(rgba, "RGBA"))
    with pytest.raises(DatasetError, match=r"masks/m0\.png: .*transparency"):
        make_dataset(str(root), size=8)
    assert any("transparency" in p for p in validate_folder(root))


def test_palette_mask_with_transparent_entry_keeps_its_indices(tmp_path: Path) -> None:
    ids = np.zeros((8, 8), np.uint8)
    ids[_object()] = 1
    im = Image.fromarray(ids, "P")
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.info["transparency"] = 0
    root = tmp_path / "p"
    _pair_folder(root, im)
    ds = make_dataset(str(root), size=8)
    assert int(ds.masks.sum()) == 15


# --------------------------------------------------------------------------------------
# Lossy (JPEG) masks
# --------------------------------------------------------------------------------------


def test_drawn_values_and_snapping_by_hand() -> None:
    m = np.zeros((16, 16), np.int64)
    m[8:, 8:] = 3  # one whole 8×8 block of 3
    m[0:3, 0:16] = 4  # a 3-row band of 4: crosses blocks without filling one
    assert drawn_values(m).tolist() == [0, 3]
    assert snap_to(np.array([0, 1, 2, 3, 4, 9]), np.array([0, 3])).tolist() == [0, 0, 3, 3, 3, 3]
    assert snap_to(np.array([5, 7]), np.array([2])).tolist() == [2, 2]


def _jpeg_folder(root: Path, masks: list[np.ndarray], quality: int = 75) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir(parents=True)
    for i, m in enumerate(masks):
        h, w = m.shape
        Image.fromarray(np.full((h, w, 3), 80, np.uint8)).save(root / "images" / f"j{i}.png")
        Image.fromarray(m.astype(np.uint8)).save(root / "masks" / f"j{i}.jpg", quality=quality)
    return root


def test_jpeg_01_mask_noise_is_snapped_with_a_warning(tmp_path: Path) -> None:
    # the case's x1: a 16×20 object at rows 5-20, cols 6-25 of 32×32, values 0/1, quality 75;
    # JPEG makes a 3-row band of 2s (the tests below check that the file really holds them)
    m = np.zeros((32, 32), np.uint8)
    m[5:21, 6:26] = 1
    root = _jpeg_folder(tmp_path, [m])
    decoded = np.asarray(Image.open(root / "masks" / "j0.jpg"))
    assert decoded.max() == 2  # the noise is really there
    with pytest.warns(DatasetWarning, match=r"JPEG \(lossy\).*\[2\].*\[0, 1\]"):
        ds = make_dataset(str(root), size=32)
    assert ds.num_classes == 2
    assert torch.equal(ds.masks[0], torch.from_numpy(np.minimum(decoded, 1).astype(np.int64)))


def test_jpeg_multiclass_mask_keeps_drawn_classes(tmp_path: Path) -> None:
    m = np.zeros((32, 32), np.uint8)
    m[0:16, 16:32] = 2  # two whole blocks per class at least
    m[16:32, 0:16] = 4
    m[18:22, 20:28] = 1  # a small class 1 that still fills no block → snapped to a drawn id
    root = _jpeg_folder(tmp_path, [m], quality=90)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        ds = make_dataset(str(root), size=32)
    values = set(torch.unique(ds.masks).tolist())
    assert values <= {0, 2, 4} and {0, 2, 4} <= values
    # the drawn blocks come back exactly
    assert bool((ds.masks[0, 0:8, 16:32] == 2).all()) and bool((ds.masks[0, 24:32, 0:16] == 4).all())


def test_png_masks_are_never_snapped(tmp_path: Path) -> None:
    m = np.zeros((16, 16), np.uint8)
    m[0, 0] = 2  # a one-pixel class in an exact (PNG) file is taken as drawn
    m[8:, 8:] = 1
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "images" / "a.png")
    Image.fromarray(m).save(tmp_path / "masks" / "a.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatasetWarning)
        ds = make_dataset(str(tmp_path), size=16)
    assert ds.num_classes == 3


# --------------------------------------------------------------------------------------
# Float TIFFs with NaN / inf; zip errors name the zip
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_float_tiff_with_non_finite_pixels_is_refused_naming_the_file(tmp_path: Path, bad: float) -> None:
    arr = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    arr[3, 4] = bad
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(arr, "F").save(tmp_path / "images" / "scan.tif")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "masks" / "scan.png")
    with pytest.raises(DatasetError, match=r"images/scan\.tif: 1 pixel\(s\) are NaN or infinite"):
        make_dataset(str(tmp_path), size=8)


def test_finite_float_tiff_still_loads(tmp_path: Path) -> None:
    arr = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(arr, "F").save(tmp_path / "images" / "scan.tif")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "masks" / "scan.png")
    assert make_dataset(str(tmp_path), size=8).images.shape == (1, 3, 8, 8)


def test_zip_errors_name_the_zip_not_a_temporary_folder(tmp_path: Path) -> None:
    archive = tmp_path / "holiday.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "no images here")
    with pytest.raises(DatasetError) as info:
        load_zip(archive, size=8)
    text = str(info.value)
    assert "holiday.zip" in text and "seglab-upload" not in text
    problems = validate_folder(archive)
    assert problems and all("seglab-check" not in p for p in problems)
    assert any("holiday.zip" in p for p in problems)


# --------------------------------------------------------------------------------------
# Out-of-range labels: per_image_iou refuses like confusion_matrix
# --------------------------------------------------------------------------------------


def _maps() -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.zeros(2, 4, 4, dtype=torch.long)
    t[0, :2] = 1
    t[1, 2:] = 1
    return t.clone(), t


@pytest.mark.parametrize(
    ("edit", "found"),
    [
        (lambda p, t: (p * 255, t * 255), "0..255"),  # 0/255 maps
        (
            lambda p, t: (
                p.index_put_((torch.tensor(0), torch.tensor(0), torch.tensor(0)), torch.tensor(2)),
                t,
            ),
            "0..2",
        ),
        (
            lambda p, t: (
                p,
                t.index_put_((torch.tensor(1), torch.tensor(3), torch.tensor(3)), torch.tensor(-1)),
            ),
            "-1..1",
        ),
    ],
    ids=["0-255", "stray-2", "negative"],
)
def test_per_image_iou_refuses_out_of_range_labels_like_confusion_matrix(edit, found: str) -> None:
    p, t = edit(*_maps())
    message = f"labels must lie in 0..1 for 2 classes, found {found}"
    with pytest.raises(ValueError, match=re.escape(message)):
        confusion_matrix(p, t, 2)
    with pytest.raises(ValueError, match=re.escape(message)):
        per_image_iou(p, t, 2)


def test_per_image_iou_in_range_values_by_hand() -> None:
    p, t = _maps()
    p[0, 0, 0] = 0  # image 0: TP 7, FN 1 → 7/8; image 1 perfect
    assert per_image_iou(p, t, 2).tolist() == [7 / 8, 1.0]


# --------------------------------------------------------------------------------------
# Focal α = "auto": from the training set, fixed for the run
# --------------------------------------------------------------------------------------


def test_auto_alpha_from_training_set_counts_by_hand() -> None:
    # training set: 3 masks of 4×4 with 2 + 0 + 6 = 8 foreground pixels of 48 → α = 40/48
    masks = torch.zeros(3, 4, 4, dtype=torch.long)
    masks[0, 0, :2] = 1
    masks[2, :2, :3] = 1
    assert LF.class_pixel_counts(masks, 2).tolist() == [40, 8]
    focal = get_loss("focal")
    resolved = fit_loss_to_training_set(focal, masks, 2)
    assert resolved == {"alpha": pytest.approx(40 / 48), "class_pixel_counts": [40, 8]}
    # multi-class: counts [4, 2, 2] → α_c = 1 − n_c / 8 = [0.5, 0.75, 0.75]
    mc = torch.tensor([[[0, 0, 1, 2], [0, 0, 1, 2]]])
    assert fit_loss_to_training_set(get_loss("focal"), mc, 3)["alpha"] == pytest.approx([0.5, 0.75, 0.75])
    # an explicit α is left alone and nothing is recorded
    assert fit_loss_to_training_set(get_loss("focal", alpha=0.25), masks, 2) == {}
    assert fit_loss_to_training_set(get_loss("bce"), masks, 2) == {}


def test_fitted_focal_is_not_re_estimated_per_batch() -> None:
    focal = get_loss("focal", gamma=2.0)
    focal.fit_class_counts([40, 8])  # α = 5/6
    p = 1 / (1 + math.exp(-5))
    hand = p**2 * -math.log(1 - p)  # one background pixel predicted foreground (logit +5)
    empty = torch.zeros(2, 16, 16, dtype=torch.long)
    z = torch.full((2, 1, 16, 16), 5.0, requires_grad=True)
    loss = focal(z, empty)
    loss.backward()
    assert loss.item() == pytest.approx((1 - 5 / 6) * hand, rel=1e-5)  # background weight 1 − α
    assert float(z.grad.abs().min()) > 0
    full = torch.ones(2, 16, 16, dtype=torch.long)
    assert focal(torch.full((2, 1, 16, 16), -5.0), full).item() == pytest.approx(5 / 6 * hand, rel=1e-5)


def test_unfitted_auto_counts_classes_equally() -> None:
    p = 1 / (1 + math.exp(-5))
    hand = p**2 * -math.log(1 - p)
    empty = torch.zeros(2, 16, 16, dtype=torch.long)
    assert get_loss("focal")(torch.full((2, 1, 16, 16), 5.0), empty).item() == pytest.approx(
        0.5 * hand, rel=1e-5
    )
    mc = torch.zeros(2, 3, 16, 16)
    mc[:, 1] = 5.0
    pt = 1 / (math.exp(5) + 2)
    mc_hand = (1 - pt) ** 2 * -math.log(pt)
    assert get_loss("focal")(mc, empty).item() == pytest.approx((1 - 1 / 3) * mc_hand, rel=1e-5)


def test_engine_records_the_resolved_alpha(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from seglab.settings.presets import preset
    from seglab.training.engine import train

    monkeypatch.setenv("SEGLAB_HOME", str(tmp_path))
    config = preset("smoke", loss="focal", epochs=1)
    result = train(config, run_dir=tmp_path / "run")
    assert result.status == "done"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    resolved = summary["resolved_loss_params"]
    n_neg, n_pos = resolved["class_pixel_counts"]
    assert resolved["alpha"] == pytest.approx(n_neg / (n_neg + n_pos))


# --------------------------------------------------------------------------------------
# bce_ds: U-Net++'s main output counted once
# --------------------------------------------------------------------------------------


def test_unetpp_bce_ds_weights_main_like_every_model() -> None:
    lam = next(s.default for s in loss_info("bce_ds").params if s.name == "aux_weight")
    assert lam == 0.4
    model = create_model("unetpp", depth=4, width=4, num_classes=1).train()
    seen: list[torch.Tensor] = []
    model.heads[3].register_forward_hook(lambda m, i, o: seen.append(o))  # the head on X^{0,4}
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    y = (torch.rand(2, 32, 32, generator=torch.Generator().manual_seed(1)) > 0.5).long()
    main, aux = model(x, return_aux=True)
    assert len(aux) == 3  # M = 3 side outputs: X^{0,1}, X^{0,2}, X^{0,3}
    head = seen[-1]
    (g_ds,) = torch.autograd.grad(get_loss("bce_ds")(main, y, aux), head, retain_graph=True)
    (g_main,) = torch.autograd.grad(get_loss("bce")(main, y), head)
    # registry formula (L0 + λ Σ Lk) / (1 + λM): main weight 1 / (1 + 0.4·3) = 1 / 2.2 = 0.4545…
    # (counting it twice gave (1 + 0.4) / (1 + 0.4·4) = 0.538 at depth 4, 0.636 at depth 3)
    torch.testing.assert_close(g_ds, g_main / 2.2, rtol=1e-4, atol=1e-9)


def test_bce_ds_side_weights_by_hand() -> None:
    # main BCE ln 2 (logit 0), side outputs certain and right (BCE ≈ 0), M = 3, λ = 0.4
    y = torch.ones(1, 2, 2, dtype=torch.long)
    main = torch.zeros(1, 1, 2, 2)
    sides = [torch.full((1, 1, 2, 2), 50.0)] * 3
    assert get_loss("bce_ds")(main, y, sides).item() == pytest.approx(math.log(2) / 2.2, rel=1e-6)
    # and a single wrong side output (BCE ln 2) weighs 0.4 / 2.2 = 0.1818…
    assert get_loss("bce_ds")(torch.full((1, 1, 2, 2), 50.0), y, [main, *sides[:2]]).item() == pytest.approx(
        0.4 * math.log(2) / 2.2, rel=1e-6
    )


# --------------------------------------------------------------------------------------
# Numbers in the teaching text, computed in seglab/teach
# --------------------------------------------------------------------------------------


def test_dice_iou_gap_is_widest_at_sqrt2_minus_1() -> None:
    from seglab.teach import metrics_lab as ml

    widest = ml.dice_iou_widest_gap()
    # independent oracle: a dense grid search of Dice − IoU = 2x/(1+x) − x
    x = np.linspace(0, 1, 1_000_001)
    gap = 2 * x / (1 + x) - x
    assert widest["iou"] == pytest.approx(x[gap.argmax()], abs=2e-6)
    assert widest["gap"] == pytest.approx(gap.max(), abs=1e-9)
    assert round(widest["iou"], 3) == 0.414 and round(widest["gap"], 3) == 0.172
    assert widest["dice"] == pytest.approx(2 - math.sqrt(2))


def test_miou_drop_if_missed_by_hand() -> None:
    from seglab.teach import metrics_lab as ml

    assert ml.miou_drop_if_missed(0.6, 5) == pytest.approx(0.12)
    assert ml.miou_drop_if_missed(1.0, 4) == pytest.approx(0.25)  # its own part, not the whole drop


def test_dice_batch_level_vs_per_image_by_hand() -> None:
    from seglab.teach import loss_lab as T

    table = T.dice_small_vs_large().set_index("mistake")
    whole, part = table.index
    # batch: TP 1024, FN 16 in both cases → 1 − (2·1024 + 1)/(2·1024 + 16 + 1) = 16/2065
    assert table.loc[whole, "batch_dice"] == pytest.approx(16 / 2065, rel=1e-5)
    assert table.loc[part, "batch_dice"] == pytest.approx(16 / 2065, rel=1e-5)
    # per image: (1 − 1/17 + 0)/2 = 8/17 vs (0 + 1 − 2017/2033)/2 = 8/2033
    assert table.loc[whole, "per_image_dice"] == pytest.approx(8 / 17, rel=1e-5)
    assert table.loc[part, "per_image_dice"] == pytest.approx(8 / 2033, rel=1e-4)


def test_architecture_texts_follow_the_models() -> None:
    from seglab.models.blocks import MAX_CHANNELS, level_channels
    from seglab.teach import architectures as arch

    assert str(MAX_CHANNELS) in arch.width_help() and level_channels(64, 5) == MAX_CHANNELS
    assert "full resolution, on the nested top-row nodes" in arch.aux_heads_text(
        arch.graph_for("unetpp", 8, 3)
    )
    assert "coarser decoder stages" in arch.aux_heads_text(arch.graph_for("unet", 8, 3))
    pruned = arch.graph_for("unetpp", 8, 3, prune_level=2)
    assert "pruning skips" in arch.unused_params_text(pruned, 100)
    assert "deep-supervision heads" in arch.unused_params_text(arch.graph_for("unetpp", 8, 3), 100)


def test_data_page_shows_how_alpha_masks_were_read(tmp_path: Path) -> None:
    from seglab.teach import data_page as dp

    alpha = (_object() * 255).astype(np.uint8)
    im = Image.fromarray(np.dstack([np.zeros((8, 8, 3), np.uint8), alpha]), "RGBA")
    result = dp.load_user_dataset(_pair_folder(tmp_path, im, n=2), size=8)
    assert result.ok and len(result.notes) == 1 and "alpha" in result.notes[0]
