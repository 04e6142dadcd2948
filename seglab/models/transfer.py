"""Transfer learning without downloads: load ImageNet encoder weights the user already has,
start a model from another model's weights, and freeze the encoder.

*Transfer learning*: a network trained on one task has learned filters (edges, textures,
parts) that help on another. Starting from those weights instead of random ones usually needs
less data and fewer epochs; *freezing* the encoder (no gradient, no update) for the first
epochs lets the new decoder settle before the borrowed features are disturbed.

* `load_encoder_weights` reads a file in torchvision's layout (a whole ``vgg16`` /
  ``mobilenet_v2`` state dict, whose ``classifier.*`` entries are ignored, or just the
  ``features.*`` part) into ``model.encoder``; anything that does not fit is refused with a
  list of what differs.
* `init_from_state` (`init_from_file` for a run's checkpoint file) copies, from any state dict, every tensor whose name and shape match —
  the encoder only or all layers — and reports what it copied and skipped.
* `freeze_encoder` switches ``requires_grad`` off (or on) for the encoder's parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from seglab.models.base import SegModel, WeightsError
from seglab.models.describe import read_state_dict
from seglab.models.encoders import PretrainedLayoutEncoder

#: how many names an error message lists before saying "and N more"
SHOWN_NAMES = 5


def _name_list(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def pretrained_encoder(model: nn.Module) -> PretrainedLayoutEncoder | None:
    """``model.encoder`` if it is a torchvision-layout encoder (VGG16, MobileNetV2), else None."""
    enc = getattr(model, "encoder", None)
    return enc if isinstance(enc, PretrainedLayoutEncoder) else None


def encoder_prefixes(model: SegModel) -> tuple[str, ...]:
    """Name prefixes (in ``model.state_dict()``) of the parameters that form the encoder, as the
    model itself declares them (`SegModel.encoder_prefixes`); a model that declares none is
    refused in plain words (copy all layers instead)."""
    if pretrained_encoder(model) is not None:
        return ("encoder.",)
    prefixes = model.encoder_prefixes()
    if not prefixes:
        raise WeightsError(
            f"the {model.arch or type(model).__name__} architecture does not say which layers form its "
            "encoder, so the encoder cannot be copied or frozen on its own; use init scope 'all' and no "
            "freezing, or give the model class ENCODER_PREFIXES."
        )
    return prefixes


def load_encoder_weights(model: nn.Module, path: str | Path) -> list[str]:
    """Load encoder weights in torchvision's layout from ``path`` into ``model.encoder``.

    The file (read with ``torch.load(path, weights_only=True)``: no code runs, nothing is
    downloaded) may hold a whole torchvision ``vgg16`` / ``mobilenet_v2`` state dict — its
    ``classifier.*`` entries are ignored — or only the ``features.*`` entries. Every encoder
    tensor must be present with the same shape (BatchNorm's ``num_batches_tracked`` counters
    may be absent); otherwise `WeightsError` lists the missing, unexpected and mis-shaped names
    and the model is left unchanged. Returns the loaded names.
    """
    encoder = pretrained_encoder(model)
    if encoder is None:
        arch = getattr(model, "arch", type(model).__name__)
        raise WeightsError(
            f"this {arch} model has SegLab's small built-in encoder, which has no ImageNet weights; "
            "choose encoder vgg16 (FCN) or mobilenet_v2 (FPN) to load an encoder weights file."
        )
    state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("classifier.")}
    expected = encoder.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k} (file {tuple(state[k].shape)}, model {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong_shape:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing: {_name_list(missing)}")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected: {_name_list(unexpected)}")
        if wrong_shape:
            problems.append(f"{len(wrong_shape)} with another shape: {_name_list(wrong_shape)}")
        raise WeightsError(
            f"{str(path)!r} does not hold {encoder.torchvision_name} encoder weights in torchvision's "
            f"layout (keys 'features.N…'): " + "; ".join(problems) + "."
        )
    encoder.load_state_dict(state, strict=False)
    return [k for k in expected if k in state]


@dataclass
class TransferReport:
    """What `init_from_state` did: names copied, and names skipped with the reason."""

    copied: list[str] = field(default_factory=list)
    #: target names not copied → reason ("not in source", "shape (a) vs (b)", "outside scope")
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for logs: how many tensors were copied and skipped."""
        return f"copied {len(self.copied)} tensors, skipped {len(self.skipped)}"


def init_from_state(
    model: SegModel,
    state_dict: Mapping[str, torch.Tensor],
    *,
    scope: Literal["encoder", "all"] = "encoder",
) -> TransferReport:
    """Copy into ``model`` every tensor of ``state_dict`` whose name and shape match.

    ``scope="encoder"`` touches only the encoder (see `encoder_prefixes`); ``"all"`` every
    layer, so e.g. a head with another number of classes is skipped and keeps its fresh
    initialisation. Returns a `TransferReport`; raises `WeightsError` if nothing at all fits.
    """
    if scope not in ("encoder", "all"):
        raise ValueError(f"scope must be 'encoder' or 'all', got {scope!r}")
    prefixes = encoder_prefixes(model) if scope == "encoder" else ("",)
    target = model.state_dict()
    report = TransferReport()
    update: dict[str, torch.Tensor] = {}
    for name, tensor in target.items():
        if not name.startswith(prefixes):
            report.skipped[name] = "outside scope"
        elif name not in state_dict:
            report.skipped[name] = "not in source"
        elif state_dict[name].shape != tensor.shape:
            report.skipped[name] = f"shape {tuple(state_dict[name].shape)} vs {tuple(tensor.shape)}"
        else:
            update[name] = state_dict[name]
            report.copied.append(name)
    if not any(not n.endswith("num_batches_tracked") for n in report.copied):
        raise WeightsError(
            f"none of the source weights fit this {model.arch} model's {scope} layers "
            "(different architecture, encoder, width or depth?)."
        )
    model.load_state_dict(update, strict=False)
    return report


def init_from_file(
    model: SegModel, path: str | Path, *, scope: Literal["encoder", "all"] = "encoder"
) -> TransferReport:
    """`init_from_state` from a weights file: a bare state dict (e.g. a run's ``best.pt``) or a
    checkpoint holding one under ``model`` / ``state_dict`` / ``model_state`` (e.g. ``last.pt``),
    read with ``torch.load(weights_only=True)``. Unreadable files raise `WeightsError`."""
    return init_from_state(model, read_state_dict(path), scope=scope)


def freeze_encoder(model: SegModel, frozen: bool = True) -> int:
    """Switch gradients off (``frozen=True``) or back on for the encoder's parameters.

    Frozen parameters get no gradient, so an optimizer step leaves them unchanged (BatchNorm
    running statistics still update in training mode). Returns how many tensors were switched.
    """
    prefixes = encoder_prefixes(model)
    count = 0
    for name, param in model.named_parameters():
        if name.startswith(prefixes):
            param.requires_grad_(not frozen)
            count += 1
    return count
