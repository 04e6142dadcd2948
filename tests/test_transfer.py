"""Transfer learning helpers: loading torchvision-layout encoder files, copying weights between
models, freezing the encoder. Weight files are crafted in tmp_path; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seglab.errors import SegLabError
from seglab.models import (
    MobileNetV2Encoder,
    VGG16Encoder,
    WeightsError,
    create_model,
    freeze_encoder,
    init_from_file,
    init_from_state,
    list_models,
    load_encoder_weights,
)
from seglab.models.transfer import encoder_prefixes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _torchvision_style_file(path: Path, encoder_cls: type, *, seed: int, classifier: bool) -> dict:
    """A state dict shaped like torchvision's whole model (features.* + classifier.*), with
    weights that differ from any freshly built SegLab model."""
    torch.manual_seed(seed)
    state = {k: v.clone() for k, v in encoder_cls().state_dict().items()}
    for k, v in state.items():
        if v.is_floating_point():
            v.normal_(0, 0.1, generator=torch.Generator().manual_seed(seed + len(k)))
    if classifier:
        state["classifier.0.weight"] = torch.zeros(10, 7)  # any shape: ignored
        state["classifier.0.bias"] = torch.zeros(10)
    torch.save(state, path)
    return state


@pytest.mark.parametrize("classifier", [True, False], ids=["whole-model", "encoder-only"])
@pytest.mark.parametrize(
    ("arch", "encoder", "cls"), [("fcn", "vgg16", VGG16Encoder), ("fpn", "mobilenet_v2", MobileNetV2Encoder)]
)
def test_load_encoder_weights_accepts_torchvision_files(
    tmp_path: Path, arch: str, encoder: str, cls: type, classifier: bool
) -> None:
    path = tmp_path / "w.pth"
    source = _torchvision_style_file(path, cls, seed=5, classifier=classifier)
    model = create_model(arch, encoder=encoder, num_classes=3)
    head_before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    loaded = load_encoder_weights(model, path)
    assert len(loaded) == len(model.encoder.state_dict())
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(v, source[k]), k
    for k, v in model.state_dict().items():  # the decoder is untouched
        if not k.startswith("encoder."):
            assert torch.equal(v, head_before[k]), k


def test_missing_batchnorm_counters_are_tolerated(tmp_path: Path) -> None:
    state = {k: v for k, v in MobileNetV2Encoder().state_dict().items() if "num_batches_tracked" not in k}
    torch.save(state, tmp_path / "old.pth")
    model = create_model("fpn", encoder="mobilenet_v2")
    assert len(load_encoder_weights(model, tmp_path / "old.pth")) == len(state)


def test_a_file_that_does_not_fit_is_refused_with_what_differs(tmp_path: Path) -> None:
    model = create_model("fcn", encoder="vgg16")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = dict(VGG16Encoder().state_dict())
    del state["features.28.bias"]
    state["features.99.weight"] = torch.zeros(3)
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)  # a grayscale first conv
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightsError) as err:
        load_encoder_weights(model, tmp_path / "bad.pth")
    text = str(err.value)
    assert "1 missing: features.28.bias" in text
    assert "1 unexpected: features.99.weight" in text
    assert "features.0.weight (file (64, 1, 3, 3), model (64, 3, 3, 3))" in text
    assert "vgg16" in text
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items()), "model changed"


def test_a_file_for_the_other_encoder_lists_truncated_differences(tmp_path: Path) -> None:
    torch.save(MobileNetV2Encoder().state_dict(), tmp_path / "mobilenet.pth")
    with pytest.raises(WeightsError) as err:
        load_encoder_weights(create_model("fcn", encoder="vgg16"), tmp_path / "mobilenet.pth")
    text = str(err.value)
    # no VGG name (features.N.weight / .bias) exists in MobileNetV2 (features.N.0.weight, …)
    n_vgg_missing = 13 * 2
    n_mobilenet = len(MobileNetV2Encoder().state_dict())
    assert "missing" in text and "unexpected" in text and "and " in text and " more" in text
    assert text.count("features.") < 40, "the lists are truncated"
    assert f"{n_vgg_missing} missing" in text and f"{n_mobilenet} unexpected" in text


def test_other_bad_files_and_models(tmp_path: Path) -> None:
    model = create_model("fpn", encoder="mobilenet_v2")
    with pytest.raises(WeightsError, match="does not exist"):
        load_encoder_weights(model, tmp_path / "nope.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(WeightsError, match="cannot read"):
        load_encoder_weights(model, tmp_path / "junk.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="state dict"):
        load_encoder_weights(model, tmp_path / "list.pth")
    torch.save(VGG16Encoder().state_dict(), tmp_path / "vgg.pth")
    with pytest.raises(SegLabError, match="small built-in encoder"):
        load_encoder_weights(create_model("fcn"), tmp_path / "vgg.pth")


@pytest.mark.parametrize("name", list_models())
def test_every_architecture_has_an_encoder_part(name: str) -> None:
    model = create_model(name, width=4, depth=2)
    prefixes = encoder_prefixes(model)
    names = [n for n, _ in model.named_parameters()]
    inside = [n for n in names if n.startswith(prefixes)]
    assert 0 < len(inside) < len(names)
    assert all(not n.startswith(prefixes) for n in names if "head" in n or "classifier" in n)


def test_init_from_state_encoder_scope_copies_only_the_encoder() -> None:
    torch.manual_seed(1)
    source = create_model("fcn", width=4, num_classes=2)
    torch.manual_seed(2)
    target = create_model("fcn", width=4, num_classes=5)
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    report = init_from_state(target, source.state_dict(), scope="encoder")
    assert report.copied and all(k.startswith("encoders.") for k in report.copied)
    for k, v in target.state_dict().items():
        expected = source.state_dict()[k] if k in report.copied else fresh[k]
        assert torch.equal(v, expected), k
    assert report.skipped["fc.0.0.weight"] == "outside scope"
    assert set(report.copied) | set(report.skipped) == set(fresh)
    assert "copied" in report.summary()


def test_init_from_state_all_scope_skips_shape_mismatches() -> None:
    torch.manual_seed(1)
    source = create_model("fcn", width=4, num_classes=2)
    torch.manual_seed(2)
    target = create_model("fcn", width=4, num_classes=5)
    report = init_from_state(target, source.state_dict(), scope="all")
    assert "fc.0.0.weight" in report.copied
    assert report.skipped["scores.0.weight"].startswith("shape (2,")  # another number of classes
    assert torch.equal(target.state_dict()["fc.0.0.weight"], source.state_dict()["fc.0.0.weight"])
    assert torch.equal(
        target.state_dict()["encoders.0.0.0.weight"], source.state_dict()["encoders.0.0.0.weight"]
    )


def test_init_from_state_between_pretrained_layout_models() -> None:
    """A run with encoder vgg16 can seed another vgg16 model with other classes."""
    torch.manual_seed(3)
    source = create_model("fcn", encoder="vgg16", num_classes=2)
    target = create_model("fcn", encoder="vgg16", num_classes=6)
    report = init_from_state(target, source.state_dict())
    assert len(report.copied) == len(target.encoder.state_dict())
    assert torch.equal(target.encoder.features[28].weight, source.encoder.features[28].weight)


def test_init_from_state_refuses_a_source_that_shares_nothing() -> None:
    with pytest.raises(WeightsError, match="none of the source weights"):
        init_from_state(create_model("fpn", width=4), create_model("unet", width=4).state_dict())
    with pytest.raises(ValueError):
        init_from_state(create_model("fpn", width=4), {}, scope="decoder")  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "kw"), [("fcn", {"width": 4}), ("fpn", {"encoder": "mobilenet_v2"})])
def test_frozen_encoder_does_not_change_in_an_optimizer_step(name: str, kw: dict) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=2, **kw).train()
    switched = freeze_encoder(model, True)
    prefixes = encoder_prefixes(model)
    enc_names = [n for n, _ in model.named_parameters() if n.startswith(prefixes)]
    assert switched == len(enc_names) > 0
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    target = torch.randint(0, 2, (2, 32, 32), generator=torch.Generator().manual_seed(2))
    torch.nn.functional.cross_entropy(model(x), target).backward()
    optimizer.step()
    for n, p in model.named_parameters():
        if n in enc_names:
            assert torch.equal(p, before[n]), f"frozen {n} changed"
            assert p.grad is None
    changed = [n for n, p in model.named_parameters() if n not in enc_names and not torch.equal(p, before[n])]
    assert changed, "the decoder must still learn"
    freeze_encoder(model, False)
    assert all(p.requires_grad for p in model.parameters())


def test_init_from_file_reads_best_and_last_style_checkpoints(tmp_path: Path) -> None:
    torch.manual_seed(4)
    source = create_model("fpn", width=4, num_classes=2)
    torch.save(source.state_dict(), tmp_path / "best.pt")
    torch.save({"model": source.state_dict(), "optimizer": {}, "epoch": 3}, tmp_path / "last.pt")
    for name in ("best.pt", "last.pt"):
        torch.manual_seed(5)
        target = create_model("fpn", width=4, num_classes=2)
        report = init_from_file(target, tmp_path / name, scope="all")
        assert report.skipped == {}
        assert all(torch.equal(v, source.state_dict()[k]) for k, v in target.state_dict().items())
    with pytest.raises(WeightsError, match="does not exist"):
        init_from_file(target, tmp_path / "missing.pt")
