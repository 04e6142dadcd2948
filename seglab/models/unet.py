"""U-Net (Ronneberger, Fischer & Brox, 2015).

Idea: a contracting path (encoder) that captures *what* is in the image, and an expanding path
(decoder) that recovers *where*. At each level the encoder's feature map is copied across and
concatenated with the decoder's up-sampled features ("skip connections"), so the decoder sees
both coarse context and the sharp full-detail features it lost while pooling. Drawn with the
encoder on the left going down and the decoder on the right going up, it looks like a "U".

Shapes (``c_i = width·2**i``): encoder stage ``i`` = two 3×3 ConvBNReLU giving ``c_i``
channels at ``1/2**i`` resolution, then 2×2 max-pooling. The bottleneck (level ``depth``)
has ``c_depth`` channels. Decoder stage ``i``: a 2×2 transposed convolution (stride 2)
doubles the resolution and maps ``c_{i+1} → c_i`` channels; concatenating the skip makes
``2·c_i``; two ConvBNReLU bring it back to ``c_i``. A 1×1 conv gives the logits.

Aux outputs (coarse → fine): a 1×1 head on the bottleneck, then one on each decoder stage
except the last (whose head is the main output) — ``depth`` heads in all.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seglab.models.base import SegModel, edge, link, node
from seglab.models.blocks import DoubleConv, double_conv_encoder, head
from seglab.models.registry import register_model
from seglab.models.stages import FeatureStage, encoder_stages


class UNetBase(SegModel):
    """The U-Net body; subclasses choose how to down-sample via `make_down`."""

    ENCODER_PREFIXES = ("encoders.", "downs.")  # transfer learning: the encoder part of the state dict

    downsample = "maxpool"
    upsample = "transposed-conv"

    def __init__(
        self, *, in_channels: int = 3, num_classes: int = 1, width: int = 16, depth: int = 3
    ) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        d = self.depth
        c = self.channels
        self.encoders = double_conv_encoder(in_channels, [c(i) for i in range(d)])
        self.downs = nn.ModuleList(self.make_down(c(i)) for i in range(d))
        self.bottleneck = DoubleConv(c(d - 1), c(d))
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(c(i + 1), c(i), kernel_size=2, stride=2) for i in range(d)
        )
        self.decoders = nn.ModuleList(DoubleConv(2 * c(i), c(i)) for i in range(d))
        self.head = head(c(0), num_classes)
        self.aux_heads = nn.ModuleList(
            [head(c(d), num_classes)] + [head(c(i), num_classes) for i in range(d - 1, 0, -1)]
        )

    def make_down(self, channels: int) -> nn.Module:
        """The module that halves the resolution after encoder stage with ``channels``."""
        raise NotImplementedError

    def _forward_padded(self, x: torch.Tensor, want_aux: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips: list[torch.Tensor] = []
        for enc, down in zip(self.encoders, self.downs, strict=True):
            x = enc(x)
            skips.append(x)
            x = down(x)
        x = self.bottleneck(x)
        aux: list[torch.Tensor] = []
        if want_aux:
            aux.append(self.aux_heads[0](x))
        for i in range(self.depth - 1, -1, -1):
            x = self.ups[i](x)
            x = self.decoders[i](torch.cat([skips[i], x], dim=1))
            if want_aux and i > 0:
                aux.append(self.aux_heads[self.depth - i](x))
        return self.head(x), aux

    def feature_stages(self) -> list[FeatureStage]:
        d = self.depth
        c = self.channels
        stages = encoder_stages(d, c, lambda i: f"Two 3×3 convolutions; a copy goes across to dec{i + 1}.")
        stages.append(
            FeatureStage(
                "bottleneck", "bottleneck", "bottleneck", d, c(d), note="The deepest, coarsest features."
            )
        )
        for i in range(d - 1, -1, -1):
            below = "bottleneck" if i == d - 1 else f"dec{i + 2}"
            stages.append(
                FeatureStage(
                    f"dec{i + 1}",
                    f"decoders.{i}",
                    "decoder",
                    i,
                    c(i),
                    skips=(f"enc{i + 1}",),
                    note=f"{below} up-sampled ×2, concatenated with the skip copy of enc{i + 1}, then two 3×3 convolutions.",
                )
            )
        return stages

    def side_output_names(self) -> list[str]:
        return ["bottleneck"] + [f"dec{i + 1}" for i in range(self.depth - 1, 0, -1)]

    def graph(self) -> dict[str, Any]:
        d = self.depth
        c = self.channels
        nodes = [node(f"enc{i}", i, "encoder", c(i)) for i in range(d)]
        nodes.append(node("bottom", d, "bottleneck", c(d)))
        nodes += [node(f"dec{i}", i, "decoder", c(i)) for i in range(d)]
        nodes.append(node("out", 0, "output", self.num_classes))
        path = [edge(f"enc{i}", f"enc{i + 1}" if i + 1 < d else "bottom", self.downsample) for i in range(d)]
        path += [edge("bottom" if i == d - 1 else f"dec{i + 1}", f"dec{i}", self.upsample) for i in range(d)]
        path.append(edge("dec0", "out", "conv1x1"))
        links = [link(f"enc{i}", f"dec{i}", "concat-skip") for i in range(d - 1, -1, -1)]
        aux_from = ["bottom"] + [f"dec{i}" for i in range(d - 1, 0, -1)]
        return self._graph_dict(
            level_channels=[c(i) for i in range(d + 1)],
            nodes=nodes,
            path=path,
            links=links,
            aux_from=aux_from,
            output_from="dec0",
        )


@register_model(
    "unet",
    title="U-Net",
    summary="""The encoder shrinks the image with max-pooling while learning more and more
    abstract features; the decoder grows it back with learned up-sampling (transposed
    convolutions). At every level the encoder's feature map is copied across and stuck onto
    the decoder's ("concatenated skip connection"), so the decoder gets both the big picture
    from deep down and the fine detail from the top. This makes edges sharp and works well
    even with little training data, which is why U-Net became the standard for medical images.""",
    link_kind="concat-skip",
)
class UNet(UNetBase):
    """U-Net: max-pool down, transposed-conv up, concatenated skips."""

    def make_down(self, channels: int) -> nn.Module:
        return nn.MaxPool2d(2, stride=2)
