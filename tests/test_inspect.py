"""seglab.inspect: feature maps from forward hooks, strongest channels, grids, predictions."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from seglab.inspect import (
    SIDE_PREFIX,
    ImageInputError,
    channel_grid,
    feature_maps,
    image_from_bytes,
    predict_image,
    stages_of,
    threshold_mask,
    top_channels,
)
from seglab.models import create_model, list_models
from seglab.models.base import ModelInputError

DEPTH = 3
SIZE = 32


def expected_stage_count(name: str, depth: int) -> int:
    """Hand-counted stages per architecture (independent of the models' own lists)."""
    return {
        "segnet": depth + 2 * depth,  # encoders, then un-pooled input + decoder per level
        "unet": 2 * depth + 1,  # encoders, bottleneck, decoders
        "unet_strided": 2 * depth + 1,
        "unetpp": (depth + 1) * (depth + 2) // 2,  # nodes X^{i,j} with i + j ≤ depth
        "fcn": depth + 1 + min(depth, 3),  # encoders, fc, one score map per scale (≤ 3)
        "fpn": 1 + depth + depth + 1,  # stem, C_1..C_d, P_d..P_1, merge
    }[name]


@pytest.mark.parametrize("name", list_models())
def test_every_stage_of_every_model_is_captured_with_its_shape(name):
    torch.manual_seed(0)
    model = create_model(name, width=4, depth=DEPTH)
    stages = model.feature_stages()
    assert len(stages) == expected_stage_count(name, DEPTH)
    maps = feature_maps(model, torch.rand(3, SIZE, SIZE), side_outputs=False)
    assert [n for n, _ in maps] == [s.name for s in stages] == stages_of(model, side_outputs=False)
    assert len({n for n, _ in maps}) == len(maps), "stage names must be unique"
    for stage, (_, t) in zip(stages, maps, strict=True):
        side = SIZE // 2**stage.level
        assert tuple(t.shape) == (stage.channels, side, side), stage
        assert t.dtype == torch.float32 and torch.isfinite(t).all()
    for stage in stages:
        for skip in stage.skips:
            assert skip in [s.name for s in stages], f"{stage.name} names an unknown skip {skip}"


@pytest.mark.parametrize("name", list_models())
def test_side_outputs_are_the_models_aux_outputs(name):
    torch.manual_seed(0)
    model = create_model(name, width=4, depth=DEPTH).eval()
    image = torch.rand(3, SIZE, SIZE)
    maps = dict(feature_maps(model, image, side_outputs=True))
    _, aux = model(image[None], return_aux=True)
    names = [SIDE_PREFIX + n for n in model.side_output_names()]
    assert len(names) == len(aux)
    for n, a in zip(names, aux, strict=True):
        assert torch.allclose(maps[n], a[0], atol=1e-6)
    # without the flag only the deep-supervised architecture shows its side outputs
    default = [n for n, _ in feature_maps(model, image)]
    assert any(n.startswith(SIDE_PREFIX) for n in default) == (name == "unetpp")


def test_hooks_do_not_change_the_answer_and_are_removed():
    torch.manual_seed(1)
    model = create_model("unet", width=4, depth=2).train()
    image = torch.rand(3, 16, 16)
    feature_maps(model, image)
    assert model.training
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    model.eval()
    with torch.no_grad():
        logits = model(image[None])[0]
    # the decoder's last stage followed by the 1×1 head is the main output
    dec1 = dict(feature_maps(model, image))["dec1"]
    with torch.no_grad():
        assert torch.allclose(model.head(dec1[None])[0], logits, atol=1e-5)


def test_unet_encoder_stage_equals_its_block_applied_by_hand():
    torch.manual_seed(2)
    model = create_model("unet", width=4, depth=2).eval()
    image = torch.rand(3, 16, 16)
    with torch.no_grad():
        enc1 = model.encoders[0](image[None])[0]
        enc2 = model.encoders[1](torch.nn.functional.max_pool2d(enc1[None], 2))[0]
    maps = dict(feature_maps(model, image))
    assert torch.allclose(maps["enc1"], enc1) and torch.allclose(maps["enc2"], enc2)


def test_pruned_unetpp_lists_only_the_nodes_it_computes():
    model = create_model("unetpp", width=4, depth=3, prune_level=2)
    names = [n for n, _ in feature_maps(model, torch.rand(3, 16, 16))]
    assert names == [
        "X^{0,0}", "X^{1,0}", "X^{2,0}", "X^{0,1}", "X^{1,1}", "X^{0,2}",
        "side X^{0,1}",  # X^{0,2} is the main head, not a side output
    ]  # fmt: skip


def test_feature_maps_refuses_a_batch():
    model = create_model("unet", width=4, depth=2)
    with pytest.raises(ModelInputError):
        feature_maps(model, torch.rand(1, 3, 16, 16))


def test_top_channels_orders_by_mean_absolute_activation():
    t = torch.zeros(4, 2, 2)
    t[0] = 0.5
    t[1] = torch.tensor([[-3.0, 3.0], [0.0, 0.0]])  # mean |.| = 1.5
    t[2] = 1.0
    t[3] = -2.0
    idx, picked = top_channels(t, 3)
    assert idx == [3, 1, 2]
    assert torch.equal(picked, t[[3, 1, 2]])
    assert top_channels(t, 10)[0] == [3, 1, 2, 0]


def test_channel_grid_layout_and_per_channel_stretch():
    t = torch.zeros(3, 2, 2)
    t[0] = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    t[1] = 7.0  # constant → mid grey
    t[2] = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    grid = channel_grid(t, cols=2, min_tile=4, gap=1)
    assert grid.dtype == np.uint8
    assert grid.shape == (2 * 4 + 1, 2 * 4 + 1)  # 2 rows × 2 cols of 4-pixel tiles
    tile0 = grid[0:4, 0:4]
    assert tile0[0, 0] == 0 and tile0[3, 3] == 255 and tile0[0, 2] == 85  # (1-0)/3·255
    assert (grid[0:4, 5:9] == 128).all()
    assert (grid[5:9, 0:4][:2] == 0).all() and (grid[5:9, 0:4][2:] == 255).all()
    assert (grid[:, 4] == 255).all() and (grid[5:9, 5:9] == 255).all()  # gap and empty slot


def test_predict_image_and_threshold():
    torch.manual_seed(3)
    model = create_model("unet", width=4, depth=2)
    image = torch.rand(3, 16, 16)
    out = predict_image(model, image)
    model.eval()
    with torch.no_grad():
        p = torch.sigmoid(model(image[None]))[0].numpy()
    np.testing.assert_allclose(out["probs"], p, atol=1e-6)
    np.testing.assert_allclose(out["confidence"], np.maximum(p[0], 1 - p[0]), atol=1e-6)
    assert (threshold_mask(out["probs"], 0.0) == 1).all()
    assert (threshold_mask(out["probs"], 1.01) == 0).all()
    three = np.stack([np.zeros((2, 2)), np.ones((2, 2)), np.full((2, 2), 0.5)])
    assert (threshold_mask(three, 0.9) == 1).all()


def test_image_from_bytes_crops_and_resizes():
    from PIL import Image

    img = np.zeros((20, 40, 3), dtype=np.uint8)
    img[:, 10:30] = 255  # the white centre square survives the centre crop
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    t = image_from_bytes(buf.getvalue(), 8)
    assert t.shape == (3, 8, 8) and t.dtype == torch.float32
    assert float(t.min()) > 0.9
    with pytest.raises(ImageInputError):
        image_from_bytes(b"not a picture", 8)
