"""Draw an architecture from `model_graph` as a Graphviz DOT string (for `st.graphviz_chart`).

Layout rule: one horizontal row per resolution level (full resolution on top, the coarsest at
the bottom), encoder boxes on the left of each row and decoder / fusion boxes on the right,
so every encoder–decoder network comes out as the familiar "U". Main-path arrows carry the
operation that changes resolution; detail-carrying links are coloured by kind.
"""

from __future__ import annotations

from typing import Any

from seglab.models.link_kinds import LINK_KINDS

ROLE_STYLE = {
    "encoder": ("#c6dbef", "encoder"),
    "bottleneck": ("#6baed6", "bottleneck"),
    "decoder": ("#fdd0a2", "decoder"),
    "score": ("#c7e9c0", "class scores"),
    "fuse": ("#a1d99b", "fused scores"),
    "pyramid": ("#dadaeb", "pyramid level"),
    "output": ("#e6550d", "output"),
}
_ROLE_ORDER = ["encoder", "bottleneck", "pyramid", "decoder", "score", "fuse", "output"]

_DEFAULT_LINK = ("#636363", "dashed", "link")


def link_style(kind: str) -> tuple[str, str, str]:
    """(colour, line style, legend text) of a link kind, from `seglab.models.link_kinds`
    (the one vocabulary); an unregistered kind gets a grey generic link."""
    entry = LINK_KINDS.get(kind)
    return (entry.colour, entry.line_style, entry.legend) if entry else _DEFAULT_LINK


OP_TEXT = {
    "maxpool": "max-pool ↓",
    "strided-conv": "stride-2 conv ↓",
    "unpool": "unpool ↑",
    "transposed-conv": "transposed conv ↑",
    "bilinear": "bilinear ↑",
    "nearest": "nearest ↑",
    "conv1x1": "1×1 conv",
    "maxpool+conv1x1": "pool + 1×1 conv",
}


def _quote(text: str) -> str:
    """Double-quoted DOT id or label; backslash escapes such as \\n are kept on purpose."""
    return '"' + str(text).replace('"', '\\"') + '"'


def _node_sort_key(node: dict[str, Any]) -> tuple[int, int]:
    role = node.get("role", "decoder")
    order = _ROLE_ORDER.index(role) if role in _ROLE_ORDER else len(_ROLE_ORDER)
    return order, int(node.get("column", 0))


def graph_to_dot(graph: dict[str, Any], *, image_size: int = 64, show_ops: bool = True) -> str:
    """DOT source for one `model_graph` dictionary.

    Boxes show id, channels and spatial size (image_size / 2**level); a double border marks a
    deep-supervision (auxiliary) head; greyed dashed boxes are inactive (pruned) nodes.
    """
    aux = set(graph.get("aux_from", []))
    nodes = graph.get("nodes", [])
    lines = [
        "digraph G {",
        '  graph [rankdir=TB, newrank=true, splines=true, nodesep=0.35, ranksep=0.55, bgcolor="transparent"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12, margin="0.12,0.05"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#444444"];',
    ]
    for n in nodes:
        level = int(n.get("level", 0))
        side = max(1, image_size // 2**level)
        role = n.get("role", "decoder")
        fill, _ = ROLE_STYLE.get(role, ("#eeeeee", role))
        if role == "output":
            label = f"output\\n{n['channels']} ch · {image_size}×{image_size}"
        else:
            label = f"{n['id']}\\n{n['channels']} ch · {side}×{side}"
        attrs = [f"label={_quote(label)}", f'fillcolor="{fill}"']
        if role == "output":
            attrs.append('fontcolor="white"')
        if n["id"] in aux:
            attrs += ["peripheries=2", 'color="#e6550d"']
        if n.get("active") is False:
            attrs += ['style="rounded,filled,dashed"', 'fillcolor="#f0f0f0"', 'fontcolor="#999999"']
        lines.append(f"  {_quote(n['id'])} [{', '.join(attrs)}];")

    # One rank per level; invisible flat edges fix the left-to-right order inside the row.
    levels: dict[int, list[dict[str, Any]]] = {}
    for n in nodes:
        levels.setdefault(int(n.get("level", 0)), []).append(n)
    for _level, row in sorted(levels.items()):
        row = sorted(row, key=_node_sort_key)
        ids = " ".join(_quote(n["id"]) for n in row)
        lines.append(f"  {{ rank=same; {ids} }}")
        for a, b in zip(row, row[1:], strict=False):
            lines.append(f"  {_quote(a['id'])} -> {_quote(b['id'])} [style=invis, weight=4];")

    for e in graph.get("path", []):
        op = e.get("op", "")
        label = OP_TEXT.get(op, op) if show_ops else ""
        lines.append(f"  {_quote(e['from'])} -> {_quote(e['to'])} [label={_quote(label)}, penwidth=1.6];")
    for lk in graph.get("links", []):
        color, style, _ = link_style(lk.get("kind", ""))
        lines.append(
            f'  {_quote(lk["from"])} -> {_quote(lk["to"])} [color="{color}", style={style}, penwidth=2, constraint=false];'
        )
    lines.append("}")
    return "\n".join(lines)


def legend_items(graph: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(colour, line style, text) for every link kind and box role present in this graph."""
    items: list[tuple[str, str, str]] = []
    seen = set()
    for lk in graph.get("links", []):
        kind = lk.get("kind", "")
        if kind not in seen:
            seen.add(kind)
            items.append(link_style(kind))
    for role in _ROLE_ORDER:
        if any(n.get("role") == role for n in graph.get("nodes", [])):
            fill, text = ROLE_STYLE[role]
            items.append((fill, "box", text))
    if graph.get("aux_heads"):
        items.append(
            ("#e6550d", "double", f"double border: deep-supervision head ({graph['aux_heads']} in all)")
        )
    return items


def legend_html(graph: dict[str, Any]) -> str:
    """Small HTML legend matching `graph_to_dot`'s colours."""
    parts = []
    for color, style, text in legend_items(graph):
        if style == "box":
            mark = f"<span style='display:inline-block;width:1.1em;height:0.8em;background:{color};border-radius:3px;border:1px solid #999'></span>"
        elif style == "double":
            mark = f"<span style='display:inline-block;width:1.1em;height:0.8em;border:3px double {color};border-radius:3px'></span>"
        else:
            css = {"dashed": "dashed", "dotted": "dotted"}.get(style, "solid")
            mark = f"<span style='display:inline-block;width:1.8em;border-top:3px {css} {color};vertical-align:middle'></span>"
        parts.append(f"<span style='margin-right:1.1em;white-space:nowrap'>{mark} {text}</span>")
    return "<div style='font-size:0.85em;line-height:1.9'>" + "".join(parts) + "</div>"
