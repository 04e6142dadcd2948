"""Computations behind the Architectures page: layer tables, size comparisons, explanations.

Every number comes from the model registry (`seglab.models`): building the real network and
running one image through it, so the page can never disagree with what the trainer uses.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from seglab.models import create_model, describe_model, list_models, model_graph, model_info
from seglab.models.link_kinds import LINK_KINDS

#: The study's "UNet2": same skips as U-Net, different way of shrinking.
STRIDED_EXPLANATION = (
    "Strided U-Net (UNet2): learn how to shrink",
    "Max-pooling is a fixed rule: of every 2×2 block keep the largest value. The study's "
    "*UNet2* keeps U-Net's concatenated skips but halves the resolution with a 3×3 "
    "convolution of stride 2 instead, so the network *learns* how to summarise each "
    "neighbourhood (an edge detector, an average, whatever helps the loss). That adds a few "
    "parameters per level and removes the hard-wired choice. In the study this version, "
    "trained with the focal loss, reached the best test IoU of all combinations. SegLab's "
    "reference study does not reproduce this (on the Results page strided U-Net + focal is "
    "far from the top); the Train and Results pages let you check it on your own runs.",
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
    for kind, entry in LINK_KINDS.items():  # each link kind carries its own explanation
        tab, heading = entry.title.split(":", 1)
        text = entry.text
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
    if info.link_kind == "concat-skip" and info.downsample == "strided-conv":
        return STRIDED_EXPLANATION
    kind = LINK_KINDS[info.link_kind]  # register_model accepts registered kinds only
    return kind.title, kind.text


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
