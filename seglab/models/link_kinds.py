"""Link kinds: how an architecture carries detail from its encoder to its decoder.

ONE vocabulary, used by the model registry (``register_model(link_kind=...)``), by every
model's diagram links (``link(src, dst, kind)`` in ``model_graph``), by the diagram's colours
(`seglab.viz.arch_diagram`) and by the Architectures page's topic tabs. Each kind carries its
drawing style and its teaching text, so a model with a new kind registers it here once
(``register_link_kind``) and every view picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinkKind:
    """One way of carrying detail: how it is drawn and how it is explained."""

    name: str
    colour: str  # line colour in the diagram (hex)
    line_style: str  # Graphviz style: dashed | dotted | solid | bold
    legend: str  # short legend text under the diagram
    title: str  # "Tab: heading" of its topic on the Architectures page
    text: str  # the explanation, markdown, written for students
    feature_hint: str = ""  # what to look for in this kind's feature maps (Inside page)


#: name → LinkKind, in the order the Architectures page shows the topics
LINK_KINDS: dict[str, LinkKind] = {}


def register_link_kind(
    name: str,
    *,
    colour: str,
    line_style: str,
    legend: str,
    explanation: tuple[str, str],
    feature_hint: str = "",
) -> LinkKind:
    """Add a link kind; ``explanation`` is ``("Tab: heading", "markdown text")``."""
    if name in LINK_KINDS:
        raise ValueError(f"link kind {name!r} is registered twice")
    title, text = explanation
    if ":" not in title or not text.strip():
        raise ValueError(f"link kind {name!r} needs a 'Tab: heading' title and an explanation")
    kind = LinkKind(name, colour, line_style, legend, title, text, feature_hint)
    LINK_KINDS[name] = kind
    return kind


def link_kind(name: str) -> LinkKind:
    """The registered kind ``name``; unknown names raise ValueError listing the known ones."""
    try:
        return LINK_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown link kind {name!r}; known kinds: {', '.join(LINK_KINDS)}") from None


# ---- the built-in kinds --------------------------------------------------------------------
register_link_kind(
    "pool-indices",
    colour="#756bb1",
    line_style="dotted",
    legend="max-pooling indices passed to the unpooling",
    explanation=(
        "SegNet: remember *where* the maximum was",
        "Each 2×2 max-pooling keeps one value out of four and forgets the other three. SegNet "
        "also stores *which* of the four won: a small integer map, not features. On the way up, "
        "max-unpooling puts every value back at its remembered position and zeros elsewhere; "
        "the following convolutions fill the gaps in. The decoder gets sharp locations at almost "
        "no memory cost, but none of the encoder's texture or colour information, which is why "
        "its edges are usually a little softer than U-Net's.",
    ),
    feature_hint="Only the max-pooling positions travel across: look at how sparse the un-pooled maps are.",
)


register_link_kind(
    "concat-skip",
    colour="#31a354",
    line_style="dashed",
    legend="skip: encoder map copied and concatenated",
    explanation=(
        "U-Net: copy the whole feature map across",
        "At every level the encoder's feature map is copied to the decoder and stacked onto the "
        "upsampled coarse features along the channel axis (concatenation). The decoder can then "
        "combine *what* (from deep, coarse features) with *where exactly* (from the shallow, "
        "full-resolution ones). It costs memory and parameters, since the decoder convolutions "
        "see twice the channels. The U-Net paper credits these skips together with heavy data "
        "augmentation and its overlap-tile strategy for its results. "
        "**Strided U-Net** (the study's *UNet2*) keeps these skips but replaces max-pooling with "
        "a learned 3×3 convolution of stride 2: the network decides how to summarise each "
        "neighbourhood instead of always keeping the maximum. The study reported this version, "
        "paired with the focal loss, on top; SegLab's reference study does not reproduce this "
        "(see Results).",
    ),
    feature_hint="Skip connections copy each encoder stage across to the decoder stage of the same size.",
)


register_link_kind(
    "nested-skip",
    colour="#31a354",
    line_style="dashed",
    legend="nested skip: every earlier node of the row, concatenated",
    explanation=(
        "U-Net++: bridge the gap with nested decoders",
        "U-Net joins a shallow encoder map directly to a deep decoder map, features of very "
        "different 'meaning'. U-Net++ fills that gap with a triangle of small decoders: node "
        "X(i, j) takes the upsampled node below it and *all* earlier nodes of its own row, "
        "concatenated (dense, nested skips). Every top-row node X(0, j) is a complete "
        "segmentation of its own, so deep supervision fits naturally, and after training the "
        "deeper columns can be pruned away for speed.",
    ),
    feature_hint="Every node $X^{i,j}$ sees all earlier nodes of its row (nested skips) and the node below.",
)


register_link_kind(
    "score-fusion",
    colour="#d62728",
    line_style="dashed",
    legend="class scores added (score fusion)",
    explanation=(
        "FCN: fuse class scores, not features",
        "The fully convolutional network predicts coarse class scores from the deepest features, "
        "upsamples them ×2 and *adds* class scores computed by a 1×1 convolution from a "
        "shallower pooling stage, then repeats (FCN-32s → 16s → 8s). Only K-channel score maps "
        "cross over, so it is cheap, but fine detail has to survive squeezed into K score "
        "channels, and the fused map is still coarser than the image and gets resized "
        "bilinearly at the end: expect rounded, blobby edges.",
    ),
    feature_hint="Coarse class scores are enlarged and added to finer ones (score fusion).",
)


register_link_kind(
    "lateral",
    colour="#3182bd",
    line_style="dashed",
    legend="lateral 1×1 conv, added to the upsampled level",
    explanation=(
        "FPN: a pyramid of equally wide maps, then merge",
        "A feature pyramid network turns every encoder level into a map of the same channel "
        "count with a lateral 1×1 convolution, and adds the upsampled coarser level to it, top "
        "down. Each pyramid level then holds deep meaning at its own resolution. For "
        "segmentation all levels are upsampled to one size and merged before the classifier. "
        "Here the encoder is MobileNet-like (depthwise-separable convolutions with stride-2 "
        "downsampling), light enough for a phone, as in the FCN-VGG vs FPN-MobileNet project.",
    ),
    feature_hint="Lateral 1×1 connections bring each encoder stage into the pyramid level of its size.",
)
