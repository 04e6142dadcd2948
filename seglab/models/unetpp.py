"""U-Net++ (Zhou, Siddiquee, Tajbakhsh & Liang, 2018).

Idea: in U-Net the encoder's sharp-but-shallow features are concatenated straight onto the
decoder's deep-but-blurry ones — a big "semantic gap". U-Net++ bridges it with a grid of
intermediate nodes. Node ``X^{i,j}`` lives at level ``i`` (resolution ``1/2**i``, ``c_i``
channels); ``j`` counts how many convolution blocks lie between it and the encoder:

* ``X^{i,0}`` is the ordinary encoder (conv block, then max-pool to the next level);
* ``X^{i,j}`` (``j ≥ 1``) = conv block of the concatenation of **all** earlier nodes on its
  level ``X^{i,0} … X^{i,j-1}`` (dense "nested skips") and the up-sampled node below it,
  ``up(X^{i+1,j-1})`` (2×2 transposed conv, ``c_{i+1} → c_i``).

So every top node ``X^{0,j}`` is the output of a complete little U-Net of depth ``j``, and all
these U-Nets share weights. A 1×1 head on each ``X^{0,1} … X^{0,depth}`` gives a prediction;
training supervises all of them ("deep supervision").

Main output = the **last** head, on ``X^{0,depth}`` (not the mean of heads).
Aux (side) outputs = the other nested heads ``X^{0,1} … X^{0,L-1}`` in order, **not** the
main one, so a deep-supervision loss weighs main + M = L − 1 side outputs exactly as it does
for every other model (the main output counted once). All heads are at full resolution.
A network pruned to level 1 has no side outputs.

Pruning: because ``X^{0,L}`` only depends on nodes with ``i + j ≤ L``, at inference time one
can keep just that sub-network — faster and smaller, usually a little less accurate.
``model.prune(L)`` (or ``create_model("unetpp", prune_level=L)``) does this: forward then
computes only the nodes with ``i + j ≤ L`` and answers from the head on ``X^{0,L}``;
``model.prune(None)`` restores the full network.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seglab.models.base import ModelConfigError, SegModel, edge, link, node
from seglab.models.blocks import DoubleConv, head
from seglab.models.registry import register_model
from seglab.models.stages import FeatureStage
from seglab.registry import ParamSpec


def _key(i: int, j: int) -> str:
    return f"{i}_{j}"


@register_model(
    "unetpp",
    title="U-Net++",
    summary="""A U-Net whose skip connections are re-designed. Instead of copying an encoder
    feature map straight across to the decoder, U-Net++ passes it through a small ladder of
    extra convolution blocks, each of which also looks at everything before it on the same
    level ("nested, dense skips"). This way the fine encoder features are gradually made
    more meaningful before they meet the decoder. The top row gives one prediction per depth,
    all trained together (deep supervision); after training you can "prune" the network and
    keep only a shallower, faster part of it.""",
    link_kind="nested-skip",
    params=(
        ParamSpec(
            "prune_level",
            None,
            min=1,
            step=1,
            help="Answer from the head on X^{0,L} and skip all deeper computation (None = full network).",
        ),
    ),
)
class UNetPlusPlus(SegModel):
    """U-Net++ with nested dense skips, deep-supervision heads and pruning."""

    prunable = True  # model.prune(level) cuts the trained network (the Inside page measures it)

    def encoder_prefixes(self) -> tuple[str, ...]:
        """The backbone column X^{i,0} of the nested grid."""
        return tuple(f"blocks.{i}_0." for i in range(self.depth + 1))

    downsample = "maxpool"
    upsample = "transposed-conv"
    deep_supervision = True

    def __init__(
        self,
        *,
        in_channels: int = 3,
        num_classes: int = 1,
        width: int = 16,
        depth: int = 3,
        prune_level: int | None = None,
    ) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        d = self.depth
        c = self.channels
        self.pool = nn.MaxPool2d(2, stride=2)
        self.blocks = nn.ModuleDict()
        self.ups = nn.ModuleDict()
        for i in range(d + 1):
            self.blocks[_key(i, 0)] = DoubleConv(in_channels if i == 0 else c(i - 1), c(i))
        for j in range(1, d + 1):
            for i in range(d + 1 - j):
                self.ups[_key(i, j)] = nn.ConvTranspose2d(c(i + 1), c(i), kernel_size=2, stride=2)
                self.blocks[_key(i, j)] = DoubleConv((j + 1) * c(i), c(i))
        # heads[j - 1] sits on X^{0,j}
        self.heads = nn.ModuleList(head(c(0), num_classes) for _ in range(d))
        self.prune_level: int | None = None
        self.prune(prune_level)

    def prune(self, level: int | None) -> UNetPlusPlus:
        """Use only the sub-network up to ``X^{0,level}`` (``None`` or ``depth`` = all of it)."""
        if level is not None:
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= self.depth:
                raise ModelConfigError(
                    f"prune_level must be a whole number from 1 to depth ({self.depth}) or None, got {level!r}."
                )
            if level == self.depth:
                level = None
        self.prune_level = level
        return self

    @property
    def active_level(self) -> int:
        """The ``L`` whose head answers: ``prune_level`` if pruned, else ``depth``."""
        return self.depth if self.prune_level is None else self.prune_level

    def _forward_padded(self, x: torch.Tensor, want_aux: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        top = self.active_level
        nodes: dict[tuple[int, int], torch.Tensor] = {}
        h = x
        for i in range(top + 1):
            h = self.blocks[_key(i, 0)](h if i == 0 else self.pool(h))
            nodes[i, 0] = h
        for j in range(1, top + 1):
            for i in range(top + 1 - j):
                up = self.ups[_key(i, j)](nodes[i + 1, j - 1])
                same_level = [nodes[i, k] for k in range(j)]
                nodes[i, j] = self.blocks[_key(i, j)](torch.cat([*same_level, up], dim=1))
        main = self.heads[top - 1](nodes[0, top])
        aux: list[torch.Tensor] = []
        if want_aux:
            aux = [self.heads[j - 1](nodes[0, j]) for j in range(1, top)]  # main is not a side output
        return main, aux

    def feature_stages(self) -> list[FeatureStage]:
        """Every node ``X^{i,j}`` that the (possibly pruned) network computes, column by column."""
        c = self.channels
        top = self.active_level
        stages = []
        for j in range(top + 1):
            for i in range(top + 1 - j):
                name = f"X^{{{i},{j}}}"
                if j == 0:
                    kind = "bottleneck" if i == self.depth else "encoder"
                    note = "Encoder block (two 3×3 convolutions)" + (", after 2×2 max-pooling." if i else ".")
                    skips: tuple[str, ...] = ()
                else:
                    kind = "node"
                    skips = tuple(f"X^{{{i},{k}}}" for k in range(j))
                    note = (
                        f"Concatenates every earlier node on its level ({', '.join(skips)}; nested skips) "
                        f"with X^{{{i + 1},{j - 1}}} up-sampled ×2, then two 3×3 convolutions."
                    )
                stages.append(
                    FeatureStage(name, f"blocks.{_key(i, j)}", kind, i, c(i), skips=skips, note=note)
                )
        return stages

    def side_output_names(self) -> list[str]:
        """The heads on X^{0,1} … X^{0,L-1}; the main head on X^{0,L} is the prediction, not a side output."""
        return [f"X^{{0,{j}}}" for j in range(1, self.active_level)]

    def graph(self) -> dict[str, Any]:
        d = self.depth
        c = self.channels
        top = self.active_level

        def nid(i: int, j: int) -> str:
            return f"X{i},{j}"

        nodes = []
        for j in range(d + 1):
            for i in range(d + 1 - j):
                role = "encoder" if j == 0 else "decoder"
                if (i, j) == (d, 0):
                    role = "bottleneck"
                entry = node(nid(i, j), i, role, c(i))
                entry["column"] = j
                entry["active"] = i + j <= top
                nodes.append(entry)
        nodes.append(node("out", 0, "output", self.num_classes))
        path = [edge(nid(i, 0), nid(i + 1, 0), "maxpool") for i in range(d)]
        links = []
        for j in range(1, d + 1):
            for i in range(d + 1 - j):
                path.append(edge(nid(i + 1, j - 1), nid(i, j), "transposed-conv"))
                links += [link(nid(i, k), nid(i, j), "nested-skip") for k in range(j)]
        path.append(edge(nid(0, top), "out", "conv1x1"))
        return self._graph_dict(
            level_channels=[c(i) for i in range(d + 1)],
            nodes=nodes,
            path=path,
            links=links,
            aux_from=[nid(0, j) for j in range(1, top)],
            output_from=nid(0, top),
            prune_level=self.prune_level,
        )
