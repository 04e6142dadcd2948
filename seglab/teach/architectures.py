"""Computations behind the Architectures page: layer tables, size comparisons, explanations.

Every number comes from the model registry (`seglab.models`): building the real network and
running one image through it, so the page can never disagree with what the trainer uses.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from seglab.models import create_model, describe_model, list_models, model_graph, model_info

#: How detail travels from the encoder to the decoder, one explanation per `link_kind`.
#: (title, explanation in markdown) — written for students who know convolutions and pooling.
LINK_EXPLANATIONS: dict[str, tuple[str, str]] = {
    "pool-indices": (
        "SegNet: remember *where* the maximum was",
        "Each 2×2 max-pooling keeps one value out of four and forgets the other three. SegNet "
        "also stores *which* of the four won: a small integer map, not features. On the way up, "
        "max-unpooling puts every value back at its remembered position and zeros elsewhere; "
        "the following convolutions fill the gaps in. The decoder gets sharp locations at almost "
        "no memory cost, but none of the encoder's texture or colour information, which is why "
        "its edges are usually a little softer than U-Net's.",
    ),
    "concat-skips": (
        "U-Net: copy the whole feature map across",
        "At every level the encoder's feature map is copied to the decoder and stacked onto the "
        "upsampled coarse features along the channel axis (concatenation). The decoder can then "
        "combine *what* (from deep, coarse features) with *where exactly* (from the shallow, "
        "full-resolution ones). It costs memory and parameters, since the decoder convolutions "
        "see twice the channels, and it is the single idea that made U-Net the default choice. "
        "**Strided U-Net** (the study's *UNet2*) keeps these skips but replaces max-pooling with "
        "a learned 3×3 convolution of stride 2: the network decides how to summarise each "
        "neighbourhood instead of always keeping the maximum. In the study this version came "
        "out on top, paired with the focal loss.",
    ),
    "nested-skips": (
        "U-Net++: bridge the gap with nested decoders",
        "U-Net joins a shallow encoder map directly to a deep decoder map, features of very "
        "different 'meaning'. U-Net++ fills that gap with a triangle of small decoders: node "
        "X(i, j) takes the upsampled node below it and *all* earlier nodes of its own row, "
        "concatenated (dense, nested skips). Every top-row node X(0, j) is a complete "
        "segmentation of its own, so deep supervision fits naturally, and after training the "
        "deeper columns can be pruned away for speed.",
    ),
    "score-fusion": (
        "FCN: fuse class scores, not features",
        "The fully convolutional network predicts coarse class scores from the deepest features, "
        "upsamples them ×2 and *adds* class scores computed by a 1×1 convolution from a "
        "shallower pooling stage, then repeats (FCN-32s → 16s → 8s). Only K-channel score maps "
        "cross over, so it is cheap, but fine detail has to survive squeezed into K score "
        "channels, and the fused map is still coarser than the image and gets resized "
        "bilinearly at the end: expect rounded, blobby edges.",
    ),
    "pyramid": (
        "FPN: a pyramid of equally wide maps, then merge",
        "A feature pyramid network turns every encoder level into a map of the same channel "
        "count with a lateral 1×1 convolution, and adds the upsampled coarser level to it, top "
        "down. Each pyramid level then holds deep meaning at its own resolution. For "
        "segmentation all levels are upsampled to one size and merged before the classifier. "
        "Here the encoder is MobileNet-like (depthwise-separable convolutions with stride-2 "
        "downsampling), light enough for a phone, as in the FCN-VGG vs FPN-MobileNet project.",
    ),
}

#: The study's "UNet2": same skips as U-Net, different way of shrinking.
STRIDED_EXPLANATION = (
    "Strided U-Net (UNet2): learn how to shrink",
    "Max-pooling is a fixed rule: of every 2×2 block keep the largest value. The study's "
    "*UNet2* keeps U-Net's concatenated skips but halves the resolution with a 3×3 "
    "convolution of stride 2 instead, so the network *learns* how to summarise each "
    "neighbourhood (an edge detector, an average, whatever helps the loss). That adds a few "
    "parameters per level and removes the hard-wired choice. In the study this version, "
    "trained with the focal loss, reached the best test IoU of all combinations; the Train "
    "and Results pages let you check whether that holds on our data.",
)

DOWNSAMPLE_TEXT = {
    "maxpool": "2×2 max-pooling (fixed rule: keep the largest value)",
    "strided-conv": "3×3 convolution with stride 2 (learned downsampling)",
}
UPSAMPLE_TEXT = {
    "unpool": "max-unpooling with the stored indices",
    "transposed-conv": "transposed convolution with stride 2 (learned upsampling)",
    "bilinear": "bilinear interpolation (fixed, no parameters)",
}


def architecture_overview() -> pd.DataFrame:
    """One row per registered model: name, title, link kind, downsampling and upsampling."""
    rows = []
    for name in list_models():
        info = model_info(name)
        rows.append(
            {
                "name": name,
                "title": info.title,
                "link kind": info.link_kind,
                "down": info.downsample,
                "up": info.upsample,
            }
        )
    return pd.DataFrame(rows)


def explanation_topics() -> list[dict[str, Any]]:
    """One teaching topic per way of recovering detail, plus strided downsampling.

    Each dict: tab (short label), heading, text (markdown) and models (titles that use it).
    """
    topics = []
    for kind, (title, text) in LINK_EXPLANATIONS.items():
        tab, heading = title.split(":", 1)
        users = [model_info(n).title for n in list_models() if model_info(n).link_kind == kind]
        topics.append({"tab": tab, "heading": heading.strip(), "text": text, "models": users})
    tab, heading = STRIDED_EXPLANATION[0].split(":", 1)
    users = [model_info(n).title for n in list_models() if model_info(n).downsample == "strided-conv"]
    topics.insert(
        2, {"tab": tab, "heading": heading.strip(), "text": STRIDED_EXPLANATION[1], "models": users}
    )
    return topics


def topic_for(name: str) -> tuple[str, str]:
    """(heading, text) explaining the idea that sets model ``name`` apart."""
    info = model_info(name)
    if info.link_kind == "concat-skips" and info.downsample == "strided-conv":
        return STRIDED_EXPLANATION
    return LINK_EXPLANATIONS.get(info.link_kind, (info.title, ""))


def graph_for(name: str, width: int, depth: int, num_classes: int = 1, **options: Any) -> dict[str, Any]:
    """`model_graph` of the registered model built with these settings and model options."""
    return model_graph(create_model(name, width=width, depth=depth, num_classes=num_classes, **options))


def layer_table(
    name: str, width: int, depth: int, size: int, num_classes: int = 1, **options: Any
) -> tuple[pd.DataFrame, int, int]:
    """(layers, total parameters, MACs) for one model, its options and one square input size.

    The layer frame has columns layer, type, output shape (C × H × W, batch dropped) and
    parameters, in execution order.
    """
    model = create_model(name, width=width, depth=depth, num_classes=num_classes, **options)
    desc = describe_model(model, size)
    rows = [
        {
            "layer": layer["name"],
            "type": layer["type"],
            "output shape": " × ".join(str(s) for s in layer["output_shape"][1:]),
            "parameters": int(layer["params"]),
        }
        for layer in desc.layers
    ]
    return pd.DataFrame(rows), int(desc.total_params), int(desc.macs)


def size_comparison(width: int, depth: int, size: int, num_classes: int = 1) -> pd.DataFrame:
    """Parameters and MACs of every registered model at the same width, depth and input size."""
    rows = []
    for name in list_models():
        desc = describe_model(create_model(name, width=width, depth=depth, num_classes=num_classes), size)
        rows.append(
            {"name": name, "title": model_info(name).title, "params": desc.total_params, "macs": desc.macs}
        )
    return pd.DataFrame(rows)


def human_count(value: float) -> str:
    """12_345_678 → '12.3 M'; keeps small numbers exact."""
    for limit, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{int(value)}"


def width_help() -> str:
    """Help text for the width slider, with the channel cap read from the models."""
    from seglab.models.blocks import MAX_CHANNELS

    return f"Channels double at every level down, width · 2^level, but never beyond {MAX_CHANNELS}."


def aux_heads_text(graph: dict[str, Any]) -> str:
    """Where a model's deep-supervision heads sit, read from its graph (levels of ``aux_from``)."""
    n = int(graph.get("aux_heads", 0))
    if n == 0:
        return "none (this network's only head is its main output)"
    level = {node["id"]: node["level"] for node in graph["nodes"]}
    levels = {level.get(src, 0) for src in graph.get("aux_from", [])}
    where = (
        "at full resolution, on the nested top-row nodes"
        if levels == {0}
        else "on coarser decoder stages, resized to full resolution"
    )
    return f"{n} (extra 1×1 outputs {where}, trained by the *BCE + deep supervision* loss)"


def unused_params_text(graph: dict[str, Any], unused: int) -> str:
    """Which parameters the layer table leaves out: side heads, plus pruned blocks when pruned."""
    if unused <= 0:
        return ""
    if graph.get("prune_level") is not None:
        return (
            f" The other {unused:,} parameters sit in the blocks that pruning skips (every node deeper "
            f"than level {graph['prune_level']} of the nested grid) and in the heads not used."
        )
    return (
        f" The other {unused:,} parameters sit in the deep-supervision heads, which run only "
        "when a loss asks for auxiliary outputs."
    )
