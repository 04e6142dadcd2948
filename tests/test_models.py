"""Tests for seglab.models: the registry, the forward/aux contract, gradients, memory formats,
describe_model / model_graph, U-Net++ pruning and weight files. Widths stay tiny (4) so the
whole file runs in well under a minute on two CPU cores."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from seglab.errors import ConfigError, SegLabError, UnknownNameError
from seglab.models import (
    ModelConfigError,
    ModelInputError,
    SegModel,
    WeightsError,
    create_model,
    describe_model,
    list_models,
    load_weights,
    model_graph,
    model_info,
    save_weights,
)
from seglab.models.registry import LINK_KINDS

MODELS = list_models()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _make(name: str, **kw) -> SegModel:
    torch.manual_seed(0)
    kw.setdefault("width", 4)
    return create_model(name, **kw)


def _images(n: int, h: int, w: int, channels: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, channels, h, w, generator=torch.Generator().manual_seed(seed))


# ---- registry ------------------------------------------------------------------------------
def test_registry_lists_the_six_architectures_in_order() -> None:
    assert MODELS == ["segnet", "unet", "unet_strided", "unetpp", "fcn", "fpn"]


@pytest.mark.parametrize("name", MODELS)
def test_model_info_has_teaching_text(name: str) -> None:
    info = model_info(name)
    assert info.title and info.name == name
    assert len(info.summary.split()) >= 40, "summary should be a real paragraph for students"
    assert info.link_kind in LINK_KINDS  # one vocabulary: the registry's kinds are the diagram's
    assert info.cls.__doc__


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as err:
        create_model("resnet-unet")
    assert isinstance(err.value, SegLabError)
    for name in MODELS:
        assert name in str(err.value)
    with pytest.raises(UnknownNameError):
        model_info("nope")


@pytest.mark.parametrize(
    ("kw", "word"),
    [({"width": 0}, "width"), ({"depth": 0}, "depth"), ({"width": -3}, "width"), ({"depth": 2.5}, "depth")],
)
@pytest.mark.parametrize("name", MODELS)
def test_bad_width_or_depth_is_a_clear_user_error(name: str, kw: dict, word: str) -> None:
    with pytest.raises(ModelConfigError, match=word) as err:
        create_model(name, **kw)
    assert isinstance(err.value, ConfigError) and isinstance(err.value, SegLabError)


def test_unknown_option_is_a_user_error() -> None:
    with pytest.raises(ModelConfigError, match="prune_level"):
        create_model("unet", prune_level=2)
    with pytest.raises(ModelConfigError, match="merge"):
        create_model("fpn", merge="max")


# ---- forward / backward contract -----------------------------------------------------------
CASES = [
    # depth, (H, W), num_classes
    (2, (32, 32), 1),
    (3, (37, 45), 6),
    (4, (64, 64), 1),
]


@pytest.mark.parametrize(("depth", "hw", "classes"), CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("name", MODELS)
def test_forward_backward_shapes_and_gradients(
    name: str, depth: int, hw: tuple[int, int], classes: int
) -> None:
    model = _make(name, depth=depth, num_classes=classes).train()
    assert (model.depth, model.width, model.num_classes) == (depth, 4, classes)
    x = _images(2, *hw)
    logits, aux = model(x, return_aux=True)
    assert logits.shape == (2, classes, *hw)
    assert len(aux) >= 1
    for a in aux:
        assert a.shape == logits.shape
    outputs = [logits, *aux]
    assert all(torch.isfinite(t).all() for t in outputs)
    # a loss that depends on every output pixel in a non-trivial way
    weights = torch.randn(logits.shape, generator=torch.Generator().manual_seed(2))
    loss = sum((t * weights).mean() + t.square().mean() for t in outputs)
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{pname} has an all-zero gradient"


@pytest.mark.parametrize("name", MODELS)
def test_aux_outputs_do_not_change_main_output(name: str) -> None:
    model = _make(name, depth=3, num_classes=2).eval()
    x = _images(2, 8, 13)  # the smallest allowed height for depth 3
    with torch.no_grad():
        plain = model(x)
        main, aux = model(x, return_aux=True)
    assert plain.shape == (2, 2, 8, 13)
    assert torch.equal(plain, main)
    assert model_graph(model)["aux_heads"] == len(aux)


@pytest.mark.parametrize("name", MODELS)
def test_output_is_cropped_back_not_resized(name: str) -> None:
    """Internal padding + cropping keeps every pixel in place: a 30×30 input (padded inside
    to 32×32) gives exactly the centre of what the model says for the hand-padded image."""
    model = _make(name, depth=2).eval()
    x = _images(1, 30, 30)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")  # what forward does for 30→32
    with torch.no_grad():
        own = model(x)
        manual = model(padded)[..., 1:31, 1:31]
    torch.testing.assert_close(own, manual)


@pytest.mark.parametrize("name", MODELS)
def test_input_errors_are_user_errors(name: str) -> None:
    model = _make(name, depth=3).eval()
    with pytest.raises(ModelInputError, match="at least 8"):
        model(_images(1, 7, 32))
    with pytest.raises(ModelInputError, match="channels"):
        model(_images(1, 16, 16, channels=1))


@pytest.mark.parametrize("name", MODELS)
def test_channels_last_and_bfloat16_autocast(name: str) -> None:
    model = _make(name, depth=3, num_classes=2).eval()
    x = _images(2, 24, 20)
    with torch.no_grad():
        reference = model(x)
        model_cl = model.to(memory_format=torch.channels_last)
        out_cl = model_cl(x.contiguous(memory_format=torch.channels_last))
        torch.testing.assert_close(out_cl, reference, rtol=1e-4, atol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out_bf, aux_bf = model_cl(x.contiguous(memory_format=torch.channels_last), return_aux=True)
    assert out_bf.shape == reference.shape and all(a.shape == reference.shape for a in aux_bf)
    assert torch.isfinite(out_bf.float()).all()
    assert (out_bf.float() - reference).abs().mean() < 0.1 * reference.abs().mean() + 0.05
    # training step in channels_last too
    model_cl.train()
    out, aux = model_cl(x.contiguous(memory_format=torch.channels_last), return_aux=True)
    sum(t.mean() for t in [out, *aux]).backward()
    assert all(p.grad is not None for p in model_cl.parameters())


# ---- describe_model / model_graph ----------------------------------------------------------
def test_describe_model_counts_a_single_conv_by_hand() -> None:
    conv = nn.Conv2d(3, 5, kernel_size=3, padding=1)
    desc = describe_model(conv, size=8)
    assert desc.total_params == 5 * 3 * 3 * 3 + 5
    assert desc.macs == 5 * 8 * 8 * 3 * 3 * 3  # C_out·H·W·C_in·k²


@pytest.mark.parametrize("name", MODELS)
def test_describe_model_totals(name: str) -> None:
    model = _make(name, depth=3).train()
    small = describe_model(model, size=32)
    large = describe_model(model, size=64)
    assert model.training, "describe_model must restore the training mode"
    total = sum(p.numel() for p in model.parameters())
    assert small.total_params == large.total_params == total
    # the table lists the layers a plain forward pass runs; the only layers it skips are the
    # auxiliary 1×1 heads (used only with return_aux=True)
    seen = {layer["name"] for layer in small.layers}
    skipped = [m for n, m in model.named_modules() if n and not list(m.children()) and n not in seen]
    assert (
        sum(layer["params"] for layer in small.layers)
        + sum(p.numel() for m in skipped for p in m.parameters())
        == total
    )
    assert all(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in skipped)
    assert small.macs > 0
    assert 3.5 < large.macs / small.macs < 4.5, "MACs of a conv net grow with the pixel count"
    assert small.output_shape == (1, 1, 32, 32)
    convs = [layer for layer in large.layers if layer["type"] == "Conv2d"]
    assert convs and all(isinstance(layer["output_shape"], tuple) for layer in large.layers)
    assert {"name", "type", "output_shape", "params"} <= set(large.layers[0])


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("name", MODELS)
def test_model_graph_is_drawable(name: str, depth: int) -> None:
    model = _make(name, depth=depth)
    graph = model_graph(model)
    assert [lv["level"] for lv in graph["levels"]] == list(range(depth + 1))
    assert [lv["divisor"] for lv in graph["levels"]] == [2**i for i in range(depth + 1)]
    assert all(lv["channels"] >= 1 for lv in graph["levels"])
    ids = {n["id"] for n in graph["nodes"]}
    assert len(ids) == len(graph["nodes"])
    for conn in graph["links"] + graph["path"]:
        assert conn["from"] in ids and conn["to"] in ids
    kinds = {conn["kind"] for conn in graph["links"]}
    if name == "fcn" and depth == 1:
        assert kinds == set()  # a single score map: nothing to fuse
    else:
        assert kinds == {model_info(name).link_kind}  # the entry's kind is what the diagram draws
    assert kinds <= set(LINK_KINDS)
    # U-Net++ of depth 1 has one head, the main one, so no side output
    assert graph["aux_heads"] >= (0 if (name, depth) == ("unetpp", 1) else 1)
    assert set(graph["aux_from"]) <= ids
    assert graph["output_from"] in ids
    assert graph["downsample"] in {"maxpool", "strided-conv"}
    assert graph["upsample"] in {"unpool", "transposed-conv", "bilinear"}


def test_downsampling_styles() -> None:
    strided = _make("unet_strided")
    plain = _make("unet")
    assert model_graph(strided)["downsample"] == "strided-conv"
    assert model_graph(plain)["downsample"] == "maxpool"
    assert not any(isinstance(m, nn.MaxPool2d) for m in strided.modules())
    assert any(isinstance(m, nn.MaxPool2d) for m in plain.modules())
    assert any(isinstance(m, nn.Conv2d) and m.stride == (2, 2) for m in strided.modules())


# ---- architecture-specific behaviour -------------------------------------------------------
def _count_cat_calls(model: SegModel, x: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> int:
    calls = []
    real_cat = torch.cat

    def counting_cat(*args, **kwargs):
        calls.append(1)
        return real_cat(*args, **kwargs)

    monkeypatch.setattr(torch, "cat", counting_cat)
    with torch.no_grad():
        model(x, return_aux=True)
    monkeypatch.setattr(torch, "cat", real_cat)
    return len(calls)


def test_segnet_unpools_with_indices_and_never_concatenates(monkeypatch: pytest.MonkeyPatch) -> None:
    segnet = _make("segnet", depth=3).eval()
    assert any(isinstance(m, nn.MaxUnpool2d) for m in segnet.modules())
    assert all(m.return_indices for m in segnet.modules() if isinstance(m, nn.MaxPool2d))
    graph = model_graph(segnet)
    assert graph["upsample"] == "unpool"
    assert len(graph["links"]) == 3 and all(li["kind"] == "pool-indices" for li in graph["links"])
    x = _images(1, 32, 32)
    assert _count_cat_calls(segnet, x, monkeypatch) == 0
    # the same probe does see U-Net's concatenations, so it can fail
    assert _count_cat_calls(_make("unet", depth=3).eval(), x, monkeypatch) == 3


def test_unetpp_pruning() -> None:
    model = _make("unetpp", depth=3, num_classes=2).eval()
    x = _images(2, 36, 40)
    with torch.no_grad():
        full, nested = model(x, return_aux=True)
    # side outputs are the nested heads X^{0,1}, X^{0,2}; the main head X^{0,3} is not among them
    assert len(nested) == 2 and not any(torch.equal(a, full) for a in nested)

    ran: list[str] = []
    hooks = [
        block.register_forward_hook(lambda m, i, o, key=key: ran.append(key))
        for key, block in model.blocks.items()
    ]
    model.prune(2)
    with torch.no_grad():
        pruned, pruned_aux = model(x, return_aux=True)
    for h in hooks:
        h.remove()
    assert pruned.shape == full.shape
    assert not torch.allclose(pruned, full)
    # X^{0,2} depends only on nodes with i + j ≤ 2, so the pruned answer is the full model's
    # second nested output, and no node with i + j = 3 was computed
    torch.testing.assert_close(pruned, nested[1])
    assert len(pruned_aux) == 1
    assert all(int(k.split("_")[0]) + int(k.split("_")[1]) <= 2 for k in ran)
    assert "3_0" not in ran and "0_3" not in ran
    assert model_graph(model)["output_from"] == "X0,2"

    via_kwarg = _make("unetpp", depth=3, num_classes=2, prune_level=2).eval()
    with torch.no_grad():
        torch.testing.assert_close(via_kwarg(x), pruned)
    model.prune(None)
    with torch.no_grad():
        torch.testing.assert_close(model(x), full)
    with pytest.raises(ModelConfigError):
        model.prune(0)
    with pytest.raises(ModelConfigError):
        model.prune(4)


@pytest.mark.parametrize("options", [{"merge": "concat"}, {"inverted_residual": False}])
def test_fpn_options(options: dict) -> None:
    model = _make("fpn", depth=3, num_classes=3, **options).eval()
    with torch.no_grad():
        out, aux = model(_images(1, 24, 28), return_aux=True)
    assert out.shape == (1, 3, 24, 28) and len(aux) == 3
    has_ir = any(type(m).__name__ == "InvertedResidual" for m in model.modules())
    assert has_ir == options.get("inverted_residual", True)


def test_fcn_fuses_the_last_three_scales() -> None:
    assert model_graph(_make("fcn", depth=4))["score_scales"] == [16, 8, 4]
    assert model_graph(_make("fcn", depth=2))["score_scales"] == [4, 2]
    assert model_graph(_make("fcn", depth=1))["score_scales"] == [2]


# ---- weights -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", MODELS)
def test_load_weights_round_trip(name: str, tmp_path: Path) -> None:
    source = _make(name, depth=2, num_classes=2)
    with torch.no_grad():  # make BN running stats non-default too
        source.train()(_images(2, 16, 16))
    path = save_weights(source, tmp_path / "w" / "model.pt")
    torch.manual_seed(123)
    target = create_model(name, width=4, depth=2, num_classes=2)
    x = _images(1, 20, 20)
    source.eval()
    target.eval()
    with torch.no_grad():
        assert not torch.allclose(source(x), target(x))
        assert load_weights(target, path) is target
        torch.testing.assert_close(target(x), source(x))


def test_load_weights_errors(tmp_path: Path) -> None:
    model = _make("unet", depth=2)
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(model, tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save(_make("unet", depth=3).state_dict(), other)
    with pytest.raises(WeightsError, match="do not fit"):
        load_weights(model, other)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError):
        load_weights(model, junk)
    # a checkpoint dict holding the state dict under a usual key is accepted
    wrapped = tmp_path / "ckpt.pt"
    torch.save({"model_state": model.state_dict(), "epoch": 3}, wrapped)
    load_weights(model, wrapped)
