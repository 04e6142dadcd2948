"""Feature maps of every architecture × every encoder, from the model's own stage description.

The Inside page hooks exactly ``model.feature_stages()``; a description that names a module the
model does not have (``FCN8s has no attribute 'encoders'`` with the VGG16 encoder) or a shape
it does not produce is caught here for every registered model and every encoder it offers.
"""

from __future__ import annotations

import pytest
import torch

from seglab.inspect import SIDE_PREFIX, feature_maps, stages_of
from seglab.models import create_model, list_models, model_info
from seglab.models.stages import STAGE_KINDS

SIZE = 64  # VGG16 and MobileNetV2 halve five times: 64 → 2


def encoder_choices(name: str) -> list[str | None]:
    """The encoders a registered model offers (its ``encoder`` ParamSpec), or [None]."""
    specs = {spec.name: spec for spec in model_info(name).params}
    return list(specs["encoder"].choices) if "encoder" in specs else [None]


ALL = [(name, enc) for name in list_models() for enc in encoder_choices(name)]


def build(name: str, encoder: str | None):
    torch.manual_seed(0)
    kwargs = {} if encoder is None else {"encoder": encoder}
    return create_model(name, width=4, depth=3, **kwargs).eval()


def test_the_registry_offers_the_torchvision_layout_encoders() -> None:
    assert ("fcn", "vgg16") in ALL and ("fpn", "mobilenet_v2") in ALL


@pytest.mark.parametrize(("name", "encoder"), ALL)
def test_every_stage_is_a_real_module_with_the_described_shape(name: str, encoder: str | None) -> None:
    model = build(name, encoder)
    stages = model.feature_stages()
    names = [s.name for s in stages]
    assert len(stages) >= 3 and len(set(names)) == len(names)
    for i, stage in enumerate(stages):
        model.get_submodule(stage.module)  # raises AttributeError for a module the model lacks
        assert stage.kind in STAGE_KINDS
        assert set(stage.skips) <= set(names[:i]), f"{stage.name} skips from a later or unknown stage"
    maps = feature_maps(model, torch.rand(3, SIZE, SIZE), side_outputs=True)
    assert [n for n, _ in maps] == stages_of(model, side_outputs=True)
    for stage, (_, t) in zip(stages, maps, strict=False):
        side = SIZE // 2**stage.level
        assert tuple(t.shape) == (stage.channels, side, side), stage
        assert torch.isfinite(t).all()
    _, aux = model(torch.rand(1, 3, SIZE, SIZE), return_aux=True)
    sides = [n for n, _ in maps if n.startswith(SIDE_PREFIX)]
    assert len(sides) == len(aux) == len(model.side_output_names())


# Hand-counted from the papers' layouts, independent of the models' own lists.
TORCHVISION_LAYOUT = {
    # FCN-8s on VGG16: pool1 … pool5, the fc block, scores at 1/32, 1/16, 1/8
    ("fcn", "vgg16"): [
        ("pool1", 64, 32),
        ("pool2", 128, 16),
        ("pool3", 256, 8),
        ("pool4", 512, 4),
        ("pool5", 512, 2),
        ("fc", 512, 2),
        ("score 1/32", 1, 2),
        ("score 1/16", 1, 4),
        ("score 1/8", 1, 8),
    ],
    # FPN on MobileNetV2: C2 … C5 (24, 32, 96, 1280 channels), P5 … P2 (128), merged at 1/4
    ("fpn", "mobilenet_v2"): [
        ("C2", 24, 16),
        ("C3", 32, 8),
        ("C4", 96, 4),
        ("C5", 1280, 2),
        ("P5", 128, 2),
        ("P4", 128, 4),
        ("P3", 128, 8),
        ("P2", 128, 16),
        ("merge", 128, 16),
    ],
}


@pytest.mark.parametrize("key", sorted(TORCHVISION_LAYOUT))
def test_torchvision_layout_encoders_show_their_published_stages(key: tuple[str, str]) -> None:
    model = build(*key)
    maps = feature_maps(model, torch.rand(3, SIZE, SIZE), side_outputs=False)
    assert [(n, t.shape[0], t.shape[1]) for n, t in maps] == TORCHVISION_LAYOUT[key]


def test_a_hooked_encoder_stage_is_what_the_encoder_computes() -> None:
    model = build("fcn", "vgg16")
    image = torch.rand(3, SIZE, SIZE)
    maps = dict(feature_maps(model, image, side_outputs=False))
    with torch.no_grad():
        pools = model.encoder(image[None])  # the encoder's own forward: pool1 … pool5
    for s, pooled in enumerate(pools, start=1):
        assert torch.allclose(maps[f"pool{s}"], pooled[0], atol=1e-6)


def test_a_stage_naming_a_missing_module_is_a_bug_report_not_an_attribute_error() -> None:
    from seglab.errors import InternalError, SegLabError
    from seglab.models.stages import FeatureStage

    model = build("unet", None)
    wrong = [*model.feature_stages(), FeatureStage("ghost", "encoders.9", "encoder", 0, 4)]
    model.feature_stages = lambda: wrong  # a description that does not match the model
    with pytest.raises(InternalError, match=r"names stage 'ghost' at 'encoders\.9'") as info:
        feature_maps(model, torch.rand(3, 32, 32))
    assert not isinstance(info.value, SegLabError)  # a bug keeps its traceback
    hooked = [m for m in model.modules() if m._forward_hooks or m._forward_pre_hooks]
    assert hooked == []  # the hooks placed before the bad stage were removed again
