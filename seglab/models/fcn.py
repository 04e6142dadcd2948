"""FCN-8s, the fully convolutional network (Long, Shelhamer & Darrell, 2015).

Idea: take a classification network (VGG: stacks of 3×3 convolutions, each stack followed by
max-pooling), throw away its fully-connected layers and keep everything convolutional, so it
outputs a coarse *map* of class scores instead of one label. A 1×1 "score" convolution turns
features into ``num_classes`` scores per position. The deepest score map knows best *what*
is there but is very coarse (FCN-32s); FCN-16s and FCN-8s sharpen it by adding score maps
computed from earlier, finer pooling stages: up-sample the coarse scores ×2, add the finer
scores, repeat ("score fusion" by up-sample-and-add), then up-sample to the image size.

SegLab version: encoder stage ``i`` (``i = 0 … depth-1``) = two 3×3 ConvBNReLU with
``c_i = width·2**i`` channels then 2×2 max-pool, reaching ``1/2**(i+1)``. After the last pool a
small "fc" block (3×3 then 1×1 ConvBNReLU, ``c_depth`` channels) plays the role of VGG's
fully-connected layers. Scores are taken at the last three scales ``1/2**depth`` (fc block),
``1/2**(depth-1)`` and ``1/2**(depth-2)`` (pool outputs), fused coarse → fine with 4×4
stride-2 transposed convolutions initialised to bilinear up-sampling, and the fused map is
resized bilinearly to the input size. With ``depth = 3`` this is exactly the 8s pattern
(scores at 1/8, 1/4 and 1/2 of our small images).

``encoder="vgg16"`` swaps in the real VGG16 of the paper (`seglab.models.encoders`, in
torchvision's weight layout, so ImageNet weights can be loaded): ``depth`` becomes 5 and
``width`` 64 (VGG's own channels 64 … 512), scores come from pool3 (1/8), pool4 (1/16) and
the fc block on pool5 (1/32), exactly FCN-8s. The fc block is the slim SegLab one (3×3 then
1×1, 512 channels) rather than the paper's 7×7, 4096-channel fc6/fc7.

Smaller depths fuse what exists: ``depth = 2`` fuses two scales (16s-style),
``depth = 1`` has only one score map (32s-style) and nothing to fuse.

Aux outputs (coarse → fine) are the predictions before each fusion step: the deepest score map
alone (the "32s" answer), then each partly fused map except the final one. With ``depth = 1``
there is no fusion step, so the single aux output equals the main output.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seglab.models.base import ModelConfigError, SegModel, edge, link, node
from seglab.models.blocks import ConvBNReLU, bilinear_init_, double_conv_encoder, head
from seglab.models.encoders import VGG16Encoder
from seglab.models.registry import register_model
from seglab.models.stages import FeatureStage, encoder_stages
from seglab.registry import ParamSpec

FCN_ENCODERS = ("small", "vgg16")


@register_model(
    "fcn",
    title="FCN-8s",
    summary="""The first network to segment by turning an image classifier into a fully
    convolutional one. A VGG-style encoder (3×3 convolutions and max-pooling) ends in a
    1×1 "score" convolution that gives a coarse map of class scores. Coarse maps know well
    *what* is in the image but not precisely *where*, so FCN-8s also scores two finer stages,
    up-samples the coarse scores and adds the finer ones ("score fusion"), then stretches the
    result to the image size. There is no real decoder, so it is simple and fast, but edges
    come out blurrier than with U-Net.""",
    link_kind="score-fusion",
    params=(
        ParamSpec(
            "encoder",
            "small",
            help="small: SegLab's little VGG-style encoder; vgg16: the real VGG16 (depth 5, "
            "torchvision weight layout, ImageNet weights loadable).",
            choices=FCN_ENCODERS,
        ),
    ),
)
class FCN8s(SegModel):
    """VGG-style encoder + score layers at the last three scales fused by up-sample-and-add."""

    ENCODER_PREFIXES = ("encoders.",)  # transfer learning: the encoder part of the state dict

    downsample = "maxpool"
    upsample = "transposed-conv"

    def __init__(
        self,
        *,
        in_channels: int = 3,
        num_classes: int = 1,
        width: int = 16,
        depth: int = 3,
        encoder: str | None = "small",
    ) -> None:
        encoder = encoder or "small"
        if encoder not in FCN_ENCODERS:
            raise ModelConfigError(
                f"FCN's encoder must be one of {', '.join(FCN_ENCODERS)}; got {encoder!r}."
            )
        if encoder == "vgg16":  # VGG16 fixes its own channels (64 … 512) and its five poolings
            width, depth = 64, 5
        super().__init__(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        self.encoder_name = encoder
        d = self.depth
        c = self.channels
        if encoder == "vgg16":
            self.encoder = VGG16Encoder(in_channels)
        else:
            self.encoders = double_conv_encoder(in_channels, [c(i) for i in range(d)])
            self.pool = nn.MaxPool2d(2, stride=2)
        self.fc = nn.Sequential(ConvBNReLU(c(d - 1), c(d), 3), ConvBNReLU(c(d), c(d), 1))
        # scales (as powers of two) that get a score layer, coarse first: d, d-1, d-2 (≥ 1)
        self.score_scales = [s for s in (d, d - 1, d - 2) if s >= 1]
        # the pool output at scale 2**s has c_{s-1} channels; the fc block has c_d
        self.scores = nn.ModuleList(
            head(c(d) if s == d else c(s - 1), num_classes) for s in self.score_scales
        )
        self.fuse_ups = nn.ModuleList(
            bilinear_init_(nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1, bias=False))
            for _ in self.score_scales[1:]
        )

    def _forward_padded(self, x: torch.Tensor, want_aux: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        pooled: dict[int, torch.Tensor] = {}
        if self.encoder_name == "vgg16":
            pooled = dict(enumerate(self.encoder(x), start=1))
            x = pooled[self.depth]
        else:
            for i, enc in enumerate(self.encoders):
                x = self.pool(enc(x))
                pooled[i + 1] = x
        features = {s: (self.fc(x) if s == self.depth else pooled[s]) for s in self.score_scales}
        fused = self.scores[0](features[self.score_scales[0]])
        aux: list[torch.Tensor] = []
        for k, s in enumerate(self.score_scales[1:], start=1):
            if want_aux:
                aux.append(fused)
            fused = self.fuse_ups[k - 1](fused) + self.scores[k](features[s])
        if want_aux and not aux:
            aux.append(fused)
        return fused, aux  # the base class resizes ``fused`` bilinearly to the input size

    def _pooled_name(self, s: int) -> str:
        """The stage whose output is the pooled map at scale ``2**s`` (what a score layer reads)."""
        return f"pool{s}" if self.encoder_name == "vgg16" else f"enc{s} (pooled)"

    def feature_stages(self) -> list[FeatureStage]:
        d = self.depth
        c = self.channels
        if self.encoder_name == "vgg16":  # the encoder describes its own stages: pool1 … pool5
            stages = self.encoder.tap_stages("encoder", [f"pool{s}" for s in range(1, d + 1)])
        else:
            stages = encoder_stages(d, c, lambda i: "Two 3×3 convolutions (VGG-style), then 2×2 max-pooling.")
        stages.append(
            FeatureStage(
                "fc",
                "fc",
                "bottleneck",
                d,
                c(d),
                note="The convolutional stand-in for VGG's fully-connected layers.",
            )
        )
        coarser: tuple[str, ...] = ()
        for k, s in enumerate(self.score_scales):
            name = f"score 1/{2**s}"
            source = "fc" if s == d else self._pooled_name(s)
            note = f"1×1 convolution: class scores from {source}" + (
                f", added to the up-sampled coarser scores ({', '.join(coarser)})." if coarser else "."
            )
            stages.append(
                FeatureStage(name, f"scores.{k}", "score", s, self.num_classes, skips=coarser, note=note)
            )
            coarser = (name,)
        return stages

    def side_output_names(self) -> list[str]:
        d = self.depth
        names = [f"score 1/{2**d}"] + [f"fused 1/{2**s}" for s in self.score_scales[1:-1]]
        return names

    def graph(self) -> dict[str, Any]:
        d = self.depth
        c = self.channels
        k = self.num_classes
        nodes = [node(f"enc{i}", i, "encoder", c(i)) for i in range(d)]
        nodes.append(node("fc", d, "bottleneck", c(d)))
        nodes += [node(f"score{s}", s, "score", k) for s in self.score_scales]
        nodes += [node(f"fuse{s}", s, "fuse", k) for s in self.score_scales[1:]]
        nodes.append(node("out", 0, "output", k))
        path = [edge(f"enc{i}", f"enc{i + 1}" if i + 1 < d else "fc", "maxpool") for i in range(d)]
        path.append(edge("fc", f"score{d}", "conv1x1"))
        links = []
        prev = f"score{d}"
        for s in self.score_scales[1:]:
            path.append(edge(f"enc{s - 1}", f"score{s}", "maxpool+conv1x1"))
            path.append(edge(prev, f"fuse{s}", "transposed-conv"))
            links.append(link(f"score{s}", f"fuse{s}", "score-fusion"))
            prev = f"fuse{s}"
        path.append(edge(prev, "out", "bilinear"))
        aux_from = [f"score{d}"] + [f"fuse{s}" for s in self.score_scales[1:-1]]
        return self._graph_dict(
            level_channels=[c(i) for i in range(d + 1)],
            nodes=nodes,
            path=path,
            links=links,
            aux_from=aux_from,
            output_from=prev,
            score_scales=[2**s for s in self.score_scales],
            encoder=self.encoder_name,
        )
