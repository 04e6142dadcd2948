"""Encoders in torchvision's layout and the FCN (VGG16) / FPN (MobileNetV2) models built on them.

The expected key → shape tables are written here from the published architectures
(VGG16 "configuration D"; MobileNetV2's (t, c, n, s) table and torchvision's module naming),
independently of `seglab.models.encoders`; the parameter totals are the published ones
(torchvision lists 138,357,544 parameters for vgg16 and 3,504,872 for mobilenet_v2; their
ImageNet classifiers hold 123,642,856 and 1,281,000 of them)."""

from __future__ import annotations

import pytest
import torch

from seglab.models import (
    ENCODERS,
    ModelConfigError,
    create_model,
    describe_model,
    model_graph,
    model_info,
)
from seglab.viz.arch_diagram import graph_to_dot

ENCODED = [("fcn", "vgg16"), ("fpn", "mobilenet_v2")]
BN_BUFFERS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def vgg16_table() -> dict[str, tuple[int, ...]]:
    """torchvision's vgg16().features: conv(3×3, bias) + ReLU per number, one pool per M."""
    table: dict[str, tuple[int, ...]] = {}
    index, c_in = 0, 3
    config = "64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M"
    for item in config.split(","):
        if item == "M":
            index += 1
            continue
        c_out = int(item)
        table[f"features.{index}.weight"] = (c_out, c_in, 3, 3)
        table[f"features.{index}.bias"] = (c_out,)
        index += 2  # the conv and its ReLU
        c_in = c_out
    return table


def _bn(table: dict, prefix: str, channels: int) -> None:
    for name in BN_BUFFERS:
        table[f"{prefix}.{name}"] = () if name == "num_batches_tracked" else (channels,)


def mobilenet_v2_table() -> dict[str, tuple[int, ...]]:
    """torchvision's mobilenet_v2().features: features.0 = conv-BN-ReLU6 (3→32, stride 2);
    features.1…17 = InvertedResidual blocks whose ``conv`` holds [expand 1×1 conv-BN-act if
    t ≠ 1], depthwise 3×3 conv-BN-act, projection 1×1 conv, BN; features.18 = 1×1 conv-BN-act
    (320→1280)."""
    table: dict[str, tuple[int, ...]] = {"features.0.0.weight": (32, 3, 3, 3)}
    _bn(table, "features.0.1", 32)
    settings = [(1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1)]
    block, c_in = 1, 32
    for t, c, n in settings:
        for _ in range(n):
            hidden = c_in * t
            p = f"features.{block}.conv"
            j = 0
            if t != 1:
                table[f"{p}.0.0.weight"] = (hidden, c_in, 1, 1)
                _bn(table, f"{p}.0.1", hidden)
                j = 1
            table[f"{p}.{j}.0.weight"] = (hidden, 1, 3, 3)
            _bn(table, f"{p}.{j}.1", hidden)
            table[f"{p}.{j + 1}.weight"] = (c, hidden, 1, 1)
            _bn(table, f"{p}.{j + 2}", c)
            block += 1
            c_in = c
    table["features.18.0.weight"] = (1280, 320, 1, 1)
    _bn(table, "features.18.1", 1280)
    return table


TABLES = {"vgg16": vgg16_table, "mobilenet_v2": mobilenet_v2_table}
#: published parameter totals of torchvision's whole models minus their classifiers
FEATURE_PARAMS = {"vgg16": 138_357_544 - 123_642_856, "mobilenet_v2": 3_504_872 - 1_281_000}


@pytest.mark.parametrize(("arch", "encoder"), ENCODED)
def test_encoder_state_dict_matches_torchvision_layout(arch: str, encoder: str) -> None:
    model = create_model(arch, encoder=encoder)
    got = {k: tuple(v.shape) for k, v in model.encoder.state_dict().items()}
    expected = TABLES[encoder]()
    assert list(got) == list(expected)  # same names, same order
    assert got == expected
    params = sum(p.numel() for p in model.encoder.parameters())
    assert params == FEATURE_PARAMS[encoder]


def test_the_issue_examples_literally() -> None:
    vgg = create_model("fcn", encoder="vgg16").encoder.state_dict()
    assert vgg["features.0.weight"].shape == (64, 3, 3, 3)
    assert vgg["features.28.weight"].shape == (512, 512, 3, 3)
    assert "features.30.weight" not in vgg  # the last max-pool has no weights
    mob = create_model("fpn", encoder="mobilenet_v2").encoder.state_dict()
    assert mob["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert mob["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)
    assert mob["features.18.0.weight"].shape == (1280, 320, 1, 1)


def test_encoder_registry_and_model_params() -> None:
    assert set(ENCODERS) == {"vgg16", "mobilenet_v2"}
    for arch, encoder in ENCODED:
        spec = {p.name: p for p in model_info(arch).params}["encoder"]
        assert spec.default == "small" and spec.choices == ("small", encoder)
    # the small encoders stay the default
    assert not hasattr(create_model("fcn"), "encoder")
    assert create_model("fcn", encoder="small").depth == 3
    with pytest.raises(ModelConfigError, match="encoder"):
        create_model("fcn", encoder="mobilenet_v2")
    with pytest.raises(ModelConfigError, match="encoder"):
        create_model("fpn", encoder="resnet50")


def test_encoder_taps_have_the_announced_strides() -> None:
    for arch, encoder in ENCODED:
        enc = create_model(arch, encoder=encoder).encoder.eval()
        with torch.no_grad():
            taps = enc(torch.rand(1, 3, 64, 96))
        assert [t.shape[1] for t in taps] == list(enc.tap_channels)
        assert [(64 // t.shape[2], 96 // t.shape[3]) for t in taps] == [(s, s) for s in enc.tap_strides]


def test_fcn_vgg16_is_fcn8s() -> None:
    """Scores at pool3 (1/8), pool4 (1/16) and after pool5 (1/32), fused coarse → fine."""
    model = create_model("fcn", encoder="vgg16", num_classes=4)
    assert (model.depth, model.width) == (5, 64)
    graph = model_graph(model)
    assert graph["score_scales"] == [32, 16, 8]
    assert graph["encoder"] == "vgg16"
    assert [lv["channels"] for lv in graph["levels"]][:5] == [64, 128, 256, 512, 512]
    assert [m.in_channels for m in model.scores][1:] == [512, 256]  # score_pool4, score_pool3


def test_fpn_mobilenet_pyramid_levels() -> None:
    model = create_model("fpn", encoder="mobilenet_v2", num_classes=3)
    assert (model.depth, model.width) == (5, 32)
    assert model.pyramid_levels == [2, 3, 4, 5]  # strides 4, 8, 16, 32
    assert [m.in_channels for m in model.laterals] == [24, 32, 96, 1280]
    graph = model_graph(model)
    assert graph["aux_from"] == ["P5", "P4", "P3", "P2"] and graph["output_from"] == "merge"


@pytest.mark.parametrize("hw", [(37, 45), (64, 40)], ids=str)
@pytest.mark.parametrize(("arch", "encoder"), ENCODED)
def test_forward_aux_padding_and_gradients(arch: str, encoder: str, hw: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = create_model(arch, encoder=encoder, num_classes=3).train()
    x = torch.rand(1, 3, *hw, generator=torch.Generator().manual_seed(1))
    logits, aux = model(x, return_aux=True)
    assert logits.shape == (1, 3, *hw)
    assert len(aux) == model_graph(model)["aux_heads"] >= 1
    assert all(a.shape == logits.shape for a in aux)
    sum((t * torch.linspace(-1, 1, t.numel()).view_as(t)).sum() for t in [logits, *aux]).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert no_grad == []


@pytest.mark.parametrize(("arch", "encoder"), ENCODED)
def test_eval_output_is_cropped_back_and_aux_is_a_side_branch(arch: str, encoder: str) -> None:
    torch.manual_seed(0)
    model = create_model(arch, encoder=encoder, num_classes=2).eval()
    x = torch.rand(1, 3, 62, 62, generator=torch.Generator().manual_seed(3))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")  # what forward does for 62→64
    with torch.no_grad():
        own = model(x)
        main, _aux = model(x, return_aux=True)
        manual = model(padded)[..., 1:63, 1:63]
    torch.testing.assert_close(own, manual)
    assert torch.equal(own, main)


@pytest.mark.parametrize(("arch", "encoder"), ENCODED)
def test_describe_model_and_diagram(arch: str, encoder: str) -> None:
    model = create_model(arch, encoder=encoder)
    desc = describe_model(model, size=32)
    assert desc.total_params == sum(p.numel() for p in model.parameters())
    assert desc.output_shape == (1, 1, 32, 32)
    names = {layer["name"] for layer in desc.layers}
    assert "encoder.features.0" in names or "encoder.features.0.0" in names
    assert desc.macs > 0
    graph = model_graph(model)
    ids = {n["id"] for n in graph["nodes"]}
    assert all(e["from"] in ids and e["to"] in ids for e in graph["path"] + graph["links"])
    assert [lv["level"] for lv in graph["levels"]] == list(range(6))
    assert "digraph" in graph_to_dot(graph)


def test_other_input_channels_change_only_the_first_conv() -> None:
    enc = create_model("fcn", encoder="vgg16", in_channels=1).encoder.state_dict()
    assert enc["features.0.weight"].shape == (64, 1, 3, 3)
    assert enc["features.2.weight"].shape == (64, 64, 3, 3)


def test_three_channel_inputs_are_imagenet_normalised_inside_the_encoder() -> None:
    """ImageNet weights expect (x - mean) / std; the encoder applies it to [0, 1] images, and
    the statistics are not part of the (torchvision-layout) state dict."""
    enc = create_model("fcn", encoder="vgg16").encoder.eval()
    assert "input_mean" not in enc.state_dict()
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        first_pool = enc.features[:5]((x - mean) / std)
        torch.testing.assert_close(enc(x)[0], first_pool)
    gray = create_model("fcn", encoder="vgg16", in_channels=1).encoder.eval()
    g = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(gray(g)[0], gray.features[:5](g))
