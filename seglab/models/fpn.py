"""FPN: a Feature Pyramid Network decoder (Lin et al., 2017; segmentation head after
Kirillov et al.'s Panoptic FPN, 2019) on a MobileNet-style encoder (Howard et al., 2017;
Sandler et al., 2018).

Encoder idea (MobileNet): split each 3×3 convolution into a *depthwise* 3×3 (filters each
channel on its own) and a *pointwise* 1×1 (mixes channels) — about 8× fewer multiplies.
A stem ConvBNReLU (``c_0 = width`` channels, full resolution) is followed by ``depth`` stages;
stage ``s`` is a stride-2 depthwise-separable conv to ``c_s = width·2**s`` channels at
``1/2**s`` resolution, optionally followed by a MobileNetV2 *inverted residual* block
(expand ×4 with 1×1, depthwise 3×3, linear 1×1 back, plus a shortcut).

Decoder idea (FPN): deep features know *what*, shallow ones know *where*. Build a pyramid with
the same number of channels ``p`` at every level:

* a *lateral* 1×1 conv brings each encoder output ``C_s`` to ``p`` channels;
* *top-down*: start from the deepest level and repeatedly up-sample ×2 (bilinear) and add
  the next lateral, so meaning flows down into every finer level: ``P_s = lat(C_s) + up(P_{s+1})``;
* a 3×3 ConvBNReLU smooths each ``P_s`` (removes the up-sampling's blockiness).

Segmentation head: each pyramid level goes through its own 3×3 ConvBNReLU, is up-sampled to
the finest pyramid level (``1/2``) and the levels are merged — summed (default) or
concatenated (``merge="concat"``) — then a 1×1 conv gives logits, resized bilinearly to the
input. ``p`` defaults to ``2·width``.

Aux outputs (coarse → fine): one 1×1 head per pyramid level ``P_depth … P_1``.

``encoder="mobilenet_v2"`` swaps in the real MobileNetV2 (`seglab.models.encoders`, in
torchvision's weight layout, so ImageNet weights can be loaded): ``depth`` becomes 5 and
``width`` 32 (its stem), the pyramid has the four levels ``P_2 … P_5`` (strides 4, 8, 16, 32:
the outputs of ``features.3``, ``.6``, ``.13`` and ``.18``) with ``p = 128`` channels, and the
merged map (at 1/4) goes through the same single classifier.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seglab.models.base import ModelConfigError, SegModel, edge, link, node
from seglab.models.blocks import ConvBNReLU, DepthwiseSeparable, InvertedResidual, head, upsample_to
from seglab.models.encoders import MobileNetV2Encoder
from seglab.models.registry import register_model
from seglab.models.stages import FeatureStage
from seglab.registry import ParamSpec

MERGE_MODES = ("sum", "concat")
FPN_ENCODERS = ("small", "mobilenet_v2")
#: pyramid channels ``p`` on the MobileNetV2 encoder
MOBILENET_PYRAMID_CHANNELS = 128


@register_model(
    "fpn",
    title="FPN (MobileNet encoder)",
    summary="""A light, phone-friendly encoder (MobileNet: each convolution split into a cheap
    per-channel filter and a 1×1 channel mixer) followed by a Feature Pyramid Network. The
    pyramid starts from the deepest, most meaningful features and walks back up to finer
    levels, at each step enlarging what it has and adding the encoder's features of that size
    through a "lateral" 1×1 connection. The levels are then enlarged to a common size and
    merged (summed or stacked), and one classifier turns the merged features into the mask.
    Good at objects of very different sizes, and cheap to run.""",
    link_kind="lateral",
    params=(
        ParamSpec(
            "merge", "sum", help="How pyramid levels are combined: sum or concat.", choices=MERGE_MODES
        ),
        ParamSpec(
            "inverted_residual",
            True,
            help="Add a MobileNetV2 inverted-residual block after each stride-2 stage.",
            choices=(True, False),
        ),
        ParamSpec(
            "encoder",
            "small",
            help="small: SegLab's little MobileNet-style encoder; mobilenet_v2: the real MobileNetV2 "
            "(depth 5, torchvision weight layout, ImageNet weights loadable).",
            choices=FPN_ENCODERS,
        ),
    ),
)
class FPN(SegModel):
    """MobileNet-style encoder + FPN top-down pathway + merged per-level heads."""

    ENCODER_PREFIXES = ("stem.", "stages.")  # transfer learning: the encoder part of the state dict

    downsample = "strided-conv"
    upsample = "bilinear"

    def __init__(
        self,
        *,
        in_channels: int = 3,
        num_classes: int = 1,
        width: int = 16,
        depth: int = 3,
        merge: str = "sum",
        inverted_residual: bool = True,
        encoder: str | None = "small",
    ) -> None:
        encoder = encoder or "small"
        if encoder not in FPN_ENCODERS:
            raise ModelConfigError(
                f"FPN's encoder must be one of {', '.join(FPN_ENCODERS)}; got {encoder!r}."
            )
        if encoder == "mobilenet_v2":  # MobileNetV2 fixes its own channels and its five halvings
            width, depth = 32, 5
        super().__init__(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        if merge not in MERGE_MODES:
            raise ModelConfigError(f"merge must be 'sum' or 'concat', got {merge!r}.")
        if not isinstance(inverted_residual, bool):
            raise ModelConfigError(f"inverted_residual must be True or False, got {inverted_residual!r}.")
        self.merge = merge
        self.inverted_residual = inverted_residual
        self.encoder_name = encoder
        d = self.depth
        c = self.channels
        if encoder == "mobilenet_v2":
            self.encoder = MobileNetV2Encoder(in_channels)
            p = self.pyramid_channels = MOBILENET_PYRAMID_CHANNELS
            #: pyramid levels s (resolution 1/2**s), fine → coarse, and their encoder channels
            self.pyramid_levels = [s.bit_length() - 1 for s in self.encoder.tap_strides]
            level_in = list(self.encoder.tap_channels)
        else:
            p = self.pyramid_channels = c(1)
            self.stem = ConvBNReLU(in_channels, c(0), 3)
            self.stages = nn.ModuleList()
            for s in range(1, d + 1):
                layers: list[nn.Module] = [DepthwiseSeparable(c(s - 1), c(s), stride=2)]
                if inverted_residual:
                    layers.append(InvertedResidual(c(s), c(s), stride=1, expand=4))
                self.stages.append(nn.Sequential(*layers))
            self.pyramid_levels = list(range(1, d + 1))
            level_in = [c(s) for s in self.pyramid_levels]
        n = len(self.pyramid_levels)
        # index k of these lists belongs to pyramid level self.pyramid_levels[k]
        self.laterals = nn.ModuleList(nn.Conv2d(ch, p, kernel_size=1) for ch in level_in)
        self.smooth = nn.ModuleList(ConvBNReLU(p, p, 3) for _ in range(n))
        self.level_heads = nn.ModuleList(ConvBNReLU(p, p, 3) for _ in range(n))
        self.classifier = head(p * n if merge == "concat" else p, num_classes)
        self.aux_heads = nn.ModuleList(head(p, num_classes) for _ in range(n))

    def _forward_padded(self, x: torch.Tensor, want_aux: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats: list[torch.Tensor] = []  # C_s for s in pyramid_levels (fine → coarse)
        if self.encoder_name == "mobilenet_v2":
            feats = self.encoder(x)
        else:
            x = self.stem(x)
            for stage in self.stages:
                x = stage(x)
                feats.append(x)
        n = len(feats)
        pyramid: list[torch.Tensor] = []  # smoothed P_d … P_1 (built deepest first)
        top: torch.Tensor | None = None
        for k in range(n - 1, -1, -1):
            lateral = self.laterals[k](feats[k])
            top = lateral if top is None else lateral + upsample_to(top, lateral.shape[-2:])
            pyramid.append(self.smooth[k](top))
        pyramid.reverse()  # now fine → coarse: pyramid[k] is level pyramid_levels[k]
        finest = pyramid[0].shape[-2:]
        per_level = [upsample_to(self.level_heads[k](pyramid[k]), finest) for k in range(n)]
        if self.merge == "sum":
            merged = per_level[0]
            for t in per_level[1:]:
                merged = merged + t
        else:
            merged = torch.cat(per_level, dim=1)
        aux: list[torch.Tensor] = []
        if want_aux:
            aux = [self.aux_heads[k](pyramid[k]) for k in range(n - 1, -1, -1)]
        return self.classifier(merged), aux  # at the finest level's resolution; the base class resizes

    def feature_stages(self) -> list[FeatureStage]:
        c = self.channels
        p = self.pyramid_channels
        levels = self.pyramid_levels
        if self.encoder_name == "mobilenet_v2":  # the encoder describes its own stages: C2 … C5
            stages = self.encoder.tap_stages("encoder", [f"C{s}" for s in levels])
        else:
            stages = [
                FeatureStage(
                    "stem", "stem", "encoder", 0, c(0), note="One 3×3 convolution at full resolution."
                )
            ]
            stages += [
                FeatureStage(
                    f"C{s}",
                    f"stages.{s - 1}",
                    "encoder",
                    s,
                    c(s),
                    note="MobileNet stage: stride-2 depthwise-separable convolution.",
                )
                for s in levels
            ]
        for k in range(len(levels) - 1, -1, -1):
            s = levels[k]
            above = "" if k == len(levels) - 1 else f" plus P{levels[k + 1]} up-sampled ×2"
            stages.append(
                FeatureStage(
                    f"P{s}",
                    f"smooth.{k}",
                    "pyramid",
                    s,
                    p,
                    skips=(f"C{s}",),
                    note=f"Lateral 1×1 from C{s}{above}, smoothed by a 3×3 convolution.",
                )
            )
        merged = p * len(levels) if self.merge == "concat" else p
        stages.append(
            FeatureStage(
                "merge",
                "classifier",
                "merge",
                levels[0],
                merged,
                capture="input",
                note=f"Every pyramid level through its own 3×3 convolution, enlarged to 1/{2 ** levels[0]} and {'concatenated' if self.merge == 'concat' else 'summed'}.",
            )
        )
        return stages

    def side_output_names(self) -> list[str]:
        return [f"P{s}" for s in reversed(self.pyramid_levels)]

    def graph(self) -> dict[str, Any]:
        d = self.depth
        c = self.channels
        p = self.pyramid_channels
        levels = self.pyramid_levels
        n = len(levels)
        if self.encoder_name == "mobilenet_v2":
            # the stride-2 stem and block 1 sit at 1/2; blocks 3, 6, 13 and conv 18 are tapped
            enc_channels = {1: 16, **dict(zip(levels, self.encoder.tap_channels, strict=True))}
            level_channels = [self.in_channels] + [enc_channels[s] for s in range(1, d + 1)]
            nodes = [node("stem", 1, "encoder", 32)]
            first_op = "inverted-residual"
        else:
            enc_channels = {s: c(s) for s in range(1, d + 1)}
            level_channels = [c(i) for i in range(d + 1)]
            nodes = [node("stem", 0, "encoder", c(0))]
            first_op = "strided-conv"
        nodes += [node(f"enc{s}", s, "encoder", enc_channels[s]) for s in range(1, d + 1)]
        nodes += [node(f"P{s}", s, "pyramid", p) for s in levels]
        nodes.append(node("merge", levels[0], "fuse", p * n if self.merge == "concat" else p))
        nodes.append(node("out", 0, "output", self.num_classes))
        path = [
            edge("stem" if s == 1 else f"enc{s - 1}", f"enc{s}", first_op if s == 1 else "strided-conv")
            for s in range(1, d + 1)
        ]
        path += [edge(f"P{levels[k + 1]}", f"P{levels[k]}", "bilinear") for k in range(n - 2, -1, -1)]
        path += [edge(f"P{s}", "merge", "bilinear" if s > levels[0] else "conv3x3") for s in reversed(levels)]
        path.append(edge("merge", "out", "bilinear"))
        links = [link(f"enc{s}", f"P{s}", "lateral") for s in reversed(levels)]
        return self._graph_dict(
            level_channels=level_channels,
            nodes=nodes,
            path=path,
            links=links,
            aux_from=[f"P{s}" for s in reversed(levels)],
            output_from="merge",
            pyramid_channels=p,
            merge=self.merge,
            encoder=self.encoder_name,
        )
