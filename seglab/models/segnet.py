"""SegNet (Badrinarayanan, Kendall & Cipolla, 2017).

Idea: an encoder of conv stages, each followed by 2×2 max-pooling, and a mirror-image decoder.
When the encoder pools, it remembers *where* each maximum came from (the pooling indices).
The decoder's un-pooling puts every value back at exactly that position and fills the rest
with zeros; the following convolutions then fill in the gaps. So the decoder recovers sharp
boundaries from a few bits of "where" per pixel, without copying whole feature maps across
(unlike U-Net, there are no feature-map skips and no concatenation — cheap in memory).

Shapes (``c_i = width·2**i``): encoder stage ``i`` works at ``1/2**i`` resolution with
``c_i`` channels and pools to ``1/2**(i+1)``; decoder stage ``i`` un-pools back to
``1/2**i`` (still ``c_i`` channels, the indices need that) and convolves down to ``c_{i-1}``.

Aux outputs (coarse → fine): one 1×1 head on the deepest pooled features, then one on each
decoder stage except the last (whose head is the main output) — ``depth`` heads in all.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seglab.models.base import SegModel, edge, link, node
from seglab.models.blocks import DoubleConv, double_conv_encoder, head
from seglab.models.registry import register_model
from seglab.models.stages import FeatureStage, encoder_stages


@register_model(
    "segnet",
    title="SegNet",
    summary="""An encoder shrinks the image step by step with max-pooling and remembers, for
    every pooling window, which pixel held the maximum. The decoder grows the picture back by
    "un-pooling": each value returns to the exact position it came from, the other positions
    start at zero, and convolutions fill them in. Only these positions travel from encoder to
    decoder — no feature maps are copied across — so SegNet is light on memory, but fine
    detail that the pooling threw away has to be re-invented by the decoder.""",
    link_kind="pool-indices",
)
class SegNet(SegModel):
    """Encoder–decoder with max-pooling indices reused for un-pooling; no feature skips."""

    ENCODER_PREFIXES = ("encoders.",)  # transfer learning: the encoder part of the state dict

    downsample = "maxpool"
    upsample = "unpool"

    def __init__(
        self, *, in_channels: int = 3, num_classes: int = 1, width: int = 16, depth: int = 3
    ) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        d = self.depth
        self.encoders = double_conv_encoder(in_channels, [self.channels(i) for i in range(d)])
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        # decoder stage i: un-pooled c_i channels -> c_{i-1} (c_0 for the last stage)
        self.decoders = nn.ModuleList(
            DoubleConv(self.channels(i), self.channels(max(i - 1, 0)), mid_channels=self.channels(i))
            for i in range(d)
        )
        self.head = head(self.channels(0), num_classes)
        # aux heads: bottom (c_{d-1} channels at 1/2**d), then decoder outputs at levels d-1 .. 1
        self.aux_heads = nn.ModuleList(
            [head(self.channels(d - 1), num_classes)]
            + [head(self.channels(i - 1), num_classes) for i in range(d - 1, 0, -1)]
        )

    def _forward_padded(self, x: torch.Tensor, want_aux: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        indices: list[torch.Tensor] = []
        sizes: list[torch.Size] = []
        for enc in self.encoders:
            x = enc(x)
            sizes.append(x.shape)
            x, idx = self.pool(x)
            indices.append(idx)
        aux: list[torch.Tensor] = []
        if want_aux:
            aux.append(self.aux_heads[0](x))
        for i in range(self.depth - 1, -1, -1):
            x = self.unpool(x, indices[i], output_size=sizes[i][-2:])
            x = self.decoders[i](x)
            if want_aux and i > 0:
                aux.append(self.aux_heads[self.depth - i](x))
        return self.head(x), aux

    def feature_stages(self) -> list[FeatureStage]:
        d = self.depth
        c = self.channels
        stages = encoder_stages(
            d,
            c,
            lambda i: "Two 3×3 convolutions, then 2×2 max-pooling that remembers where each maximum was.",
        )
        for i in range(d - 1, -1, -1):
            stages.append(
                FeatureStage(
                    f"unpool{i + 1}",
                    f"decoders.{i}",
                    "unpool",
                    i,
                    c(i),
                    skips=(f"enc{i + 1}",),
                    capture="input",
                    note=f"Un-pooled with enc{i + 1}'s pooling indices: each value back at its place, zeros elsewhere.",
                )
            )
            stages.append(
                FeatureStage(
                    f"dec{i + 1}",
                    f"decoders.{i}",
                    "decoder",
                    i,
                    c(max(i - 1, 0)),
                    note="Convolutions fill in the zeros left by un-pooling.",
                )
            )
        return stages

    def side_output_names(self) -> list[str]:
        return ["bottom"] + [f"dec{i + 1}" for i in range(self.depth - 1, 0, -1)]

    def graph(self) -> dict[str, Any]:
        d = self.depth
        chans = [self.channels(i) for i in range(d)] + [self.channels(d - 1)]
        nodes = [node(f"enc{i}", i, "encoder", self.channels(i)) for i in range(d)]
        nodes.append(node("bottom", d, "bottleneck", self.channels(d - 1)))
        nodes += [node(f"dec{i}", i, "decoder", self.channels(max(i - 1, 0))) for i in range(d)]
        nodes.append(node("out", 0, "output", self.num_classes))
        path = [edge(f"enc{i}", f"enc{i + 1}" if i + 1 < d else "bottom", "maxpool") for i in range(d)]
        path += [edge("bottom" if i == d - 1 else f"dec{i + 1}", f"dec{i}", "unpool") for i in range(d)]
        path.append(edge("dec0", "out", "conv1x1"))
        links = [link(f"enc{i}", f"dec{i}", "pool-indices") for i in range(d - 1, -1, -1)]
        aux_from = ["bottom"] + [f"dec{i}" for i in range(d - 1, 0, -1)]
        return self._graph_dict(
            level_channels=chans, nodes=nodes, path=path, links=links, aux_from=aux_from, output_from="dec0"
        )
