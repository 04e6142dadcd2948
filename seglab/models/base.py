"""`SegModel`: what every SegLab segmentation network has in common.

A segmentation network maps an image (N, C_in, H, W) to one score ("logit") per class per
pixel: (N, num_classes, H, W). All our architectures halve the resolution ``depth`` times on
the way down, so they need sides divisible by ``2**depth``. `SegModel.forward` hides that:
it pads the input up to the next multiple (mirroring the border, "reflect" padding), runs the
network and crops the answer back to the original size, so any ``H, W ≥ 2**depth`` works.

With ``return_aux=True`` a model also returns *auxiliary* predictions: extra 1×1-conv heads on
intermediate (coarser) decoder stages, resized to full resolution. They are side branches —
computing them never changes the main output — and the deep-supervision loss (``bce_ds``)
trains them too, which pushes useful gradient into the middle of the network.
Every SegLab model returns at least one auxiliary output, ordered coarse → fine (except a
U-Net++ of depth 1, or pruned to level 1, whose only head is the main one). The main output is
never repeated among them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from seglab.errors import ConfigError, SegLabError
from seglab.models.blocks import level_channels, upsample_to
from seglab.models.stages import FeatureStage

MAX_DEPTH = 8


class ModelConfigError(ConfigError):
    """A model was asked for with impossible settings (width, depth, channels, options)."""


class ModelInputError(SegLabError):
    """A model was given an input it cannot process (wrong shape, too small, wrong channels)."""


class WeightsError(SegLabError):
    """A weights file is missing, unreadable or does not fit the model."""


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelConfigError(f"{name} must be a whole number, got {value!r}.")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ModelConfigError(f"{name} must be {bound}, got {value}.")
    return value


class SegModel(nn.Module):
    """Base class: validation, padding/cropping, aux handling and the diagram description.

    Subclasses implement `_forward_padded` (the network itself, on an input whose sides are
    multiples of ``2**depth``) and `graph` (a description for diagrams).
    """

    #: registry name, set by each architecture
    arch: ClassVar[str] = ""
    #: how the encoder halves resolution: "maxpool" | "strided-conv"
    downsample: ClassVar[str] = "maxpool"
    #: how the decoder doubles it: "unpool" | "transposed-conv" | "bilinear"
    upsample: ClassVar[str] = "transposed-conv"
    #: True when the architecture is designed to be trained through its side outputs
    #: (U-Net++); the Inside page then shows them by default
    deep_supervision: ClassVar[bool] = False
    #: state-dict name prefixes of the encoder's parameters: what transfer learning copies with
    #: ``init_scope="encoder"`` and freezes (see `encoder_prefixes`; a model whose encoder is one
    #: ``self.encoder`` module needs nothing here)
    ENCODER_PREFIXES: ClassVar[tuple[str, ...]] = ()
    #: True when a trained model can be cut to a shallower one with ``model.prune(level)``
    #: (U-Net++): the Inside page then measures pruning
    prunable: ClassVar[bool] = False

    def encoder_prefixes(self) -> tuple[str, ...]:
        """Name prefixes (in ``state_dict()``) of the parameters that form the encoder:
        ``("encoder.",)`` for a model whose encoder is one ``encoder`` module (e.g. a VGG16 /
        MobileNetV2 encoder), else the class's ``ENCODER_PREFIXES`` (() = no encoder declared)."""
        if isinstance(getattr(self, "encoder", None), nn.Module):
            return ("encoder.",)
        return self.ENCODER_PREFIXES

    def __init__(
        self, *, in_channels: int = 3, num_classes: int = 1, width: int = 16, depth: int = 3
    ) -> None:
        super().__init__()
        self.in_channels = _check_int("in_channels", in_channels, 1)
        self.num_classes = _check_int("num_classes", num_classes, 1)
        self.width = _check_int("width", width, 1, 1024)
        self.depth = _check_int("depth", depth, 1, MAX_DEPTH)

    # ---- helpers for subclasses -------------------------------------------------------
    def channels(self, level: int) -> int:
        """Feature channels at resolution level ``level`` (``width · 2**level``, capped)."""
        return level_channels(self.width, level)

    @property
    def size_multiple(self) -> int:
        """Input sides are padded up to a multiple of this (``2**depth``)."""
        return 2**self.depth

    # ---- the forward pass -------------------------------------------------------------
    def _forward_padded(self, x: torch.Tensor, want_aux: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the network on ``x`` whose sides are multiples of ``2**depth``.

        Returns ``(main, aux)``: main logits (at the input size or a power-of-two fraction of
        it, the base class resizes) and, if ``want_aux``, a list of auxiliary logits at any
        resolution (empty list otherwise).
        """
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, return_aux: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (N, num_classes, H, W) for images (N, in_channels, H, W).

        With ``return_aux=True`` returns ``(logits, [aux_logits, ...])``, every aux at (H, W).
        """
        if x.dim() != 4:
            raise ModelInputError(f"expected a batch of images (N, C, H, W), got shape {tuple(x.shape)}.")
        n, c, h, w = x.shape
        if c != self.in_channels:
            raise ModelInputError(f"this model expects {self.in_channels} input channels, got {c}.")
        m = self.size_multiple
        if h < m or w < m:
            raise ModelInputError(
                f"images of {h}×{w} are too small for depth {self.depth}: each side must be at least {m}."
            )
        pad_h, pad_w = (-h) % m, (-w) % m
        top, left = pad_h // 2, pad_w // 2
        if pad_h or pad_w:
            # reflect: mirror the border so the padding looks like image, not a black frame
            x = F.pad(x, (left, pad_w - left, top, pad_h - top), mode="reflect")
        main, aux = self._forward_padded(x, return_aux)
        full = x.shape[-2:]

        def finish(t: torch.Tensor) -> torch.Tensor:
            t = upsample_to(t, full)
            return t[..., top : top + h, left : left + w]

        main = finish(main)
        if not return_aux:
            return main
        return main, [finish(a) for a in aux]

    # ---- description ------------------------------------------------------------------
    def graph(self) -> dict[str, Any]:
        """Structure for the Architectures page diagram; see `seglab.models.describe.model_graph`."""
        raise NotImplementedError

    def feature_stages(self) -> list[FeatureStage]:
        """The named encoder / decoder stages, in the order the forward pass computes them
        (see `seglab.models.stages`). `seglab.inspect.feature_maps` hooks exactly these."""
        raise NotImplementedError

    def side_output_names(self) -> list[str]:
        """One name per auxiliary output of ``forward(x, return_aux=True)``, coarse → fine:
        the stage each side head reads."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"arch={self.arch!r}, in_channels={self.in_channels}, num_classes={self.num_classes}, "
            f"width={self.width}, depth={self.depth}"
        )

    def _graph_dict(
        self,
        *,
        level_channels: list[int],
        nodes: list[dict[str, Any]],
        path: list[dict[str, Any]],
        links: list[dict[str, Any]],
        aux_from: list[str],
        output_from: str,
        **extra: Any,
    ) -> dict[str, Any]:
        """Assemble the common graph dictionary (shared by every architecture's `graph`)."""
        levels = [
            {"level": i, "channels": c, "divisor": 2**i, "scale": 2**i} for i, c in enumerate(level_channels)
        ]
        return {
            "arch": self.arch,
            "depth": self.depth,
            "width": self.width,
            "in_channels": self.in_channels,
            "num_classes": self.num_classes,
            "levels": levels,
            "nodes": nodes,
            "path": path,
            "links": links,
            "aux_heads": len(aux_from),
            "aux_from": aux_from,
            "output_from": output_from,
            "downsample": self.downsample,
            "upsample": self.upsample,
            **extra,
        }


def node(node_id: str, level: int, role: str, channels: int) -> dict[str, Any]:
    """One box of a diagram: ``role`` ∈ encoder | bottleneck | decoder | score | fuse | pyramid | output."""
    return {"id": node_id, "level": level, "role": role, "channels": channels}


def edge(src: str, dst: str, op: str) -> dict[str, str]:
    """One main-path arrow of a diagram; ``op`` names what happens along it (e.g. "maxpool")."""
    return {"from": src, "to": dst, "op": op}


def link(src: str, dst: str, kind: str) -> dict[str, str]:
    """One skip-style connection; ``kind`` ∈ concat-skip | pool-indices | nested-skip |
    score-fusion | lateral."""
    return {"from": src, "to": dst, "kind": kind}
