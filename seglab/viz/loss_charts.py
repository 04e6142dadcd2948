"""Altair chart builders for the Basics and Loss lab pages.

Each function takes a tidy DataFrame (built by :mod:`seglab.teach`) and returns a chart;
colours follow :mod:`seglab.palette` so a class, a loss or an error type looks the same on
every page.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from seglab.palette import CATEGORICAL, categorical, class_color, hex_to_rgb, loss_color

# One colour per loss, reused by every loss chart (distinct hues of the colour-blind-safe palette).
# the curves' names on this page → the losses' app-wide colours (`seglab.palette.loss_color`)
LOSS_COLORS = {"BCE": loss_color("bce"), "focal": loss_color("focal"), "Dice": loss_color("dice")}


def _loss_scale(names: Sequence[str]) -> alt.Scale:
    colors = []
    for name in names:
        key = next((k for k in LOSS_COLORS if name.startswith(k)), None)
        colors.append(LOSS_COLORS.get(key, CATEGORICAL[4]))
    return alt.Scale(domain=list(names), range=colors)


def _text_color(hex_color: str) -> str:
    r, g, b = hex_to_rgb(hex_color)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "white"


def _grid_axes(df: pd.DataFrame) -> tuple[alt.X, alt.Y]:
    x = alt.X("col:O", title="column", axis=alt.Axis(labelAngle=0))
    y = alt.Y("row:O", title="row", sort=sorted(df["row"].unique()))
    return x, y


def class_id_heatmap(df: pd.DataFrame, num_classes: int, names: Sequence[str], cell: int = 30) -> alt.Chart:
    """A grid of pixels coloured by class and labelled with their class id (the mask itself)."""
    colors = [class_color(k) for k in range(num_classes)]
    data = df.assign(
        name=[names[v] if 0 <= v < len(names) else str(v) for v in df["value"]],
        ink=[_text_color(colors[v % len(colors)]) for v in df["value"]],
    )
    x, y = _grid_axes(data)
    side = cell * int(np.sqrt(len(data)))
    base = alt.Chart(data).encode(x=x, y=y)
    rect = base.mark_rect(stroke="#ffffff", strokeWidth=0.5).encode(
        color=alt.Color(
            "value:O",
            scale=alt.Scale(domain=list(range(num_classes)), range=colors),
            legend=None,
        ),
        tooltip=["row", "col", alt.Tooltip("value", title="class id"), alt.Tooltip("name", title="class")],
    )
    text = base.mark_text(fontSize=max(9, cell // 2), fontWeight="bold").encode(
        text="value:Q", color=alt.Color("ink:N", scale=None)
    )
    return (rect + text).properties(width=side, height=side)


def value_heatmap(
    df: pd.DataFrame,
    title: str,
    scheme: str = "viridis",
    domain: tuple[float, float] | None = None,
    cell: int = 30,
    fmt: str = ".2f",
    labels: bool = True,
) -> alt.Chart:
    """A grid of pixels coloured by a continuous value; small grids also print the value.

    With ``labels=False`` the axes are hidden too, for whole-image maps (a loss heatmap).
    """
    n_side = int(np.sqrt(len(df)))
    if labels:
        x, y = _grid_axes(df)
    else:
        x = alt.X("col:O", axis=None)
        y = alt.Y("row:O", axis=None, sort=sorted(df["row"].unique()))
    scale = alt.Scale(scheme=scheme, domain=list(domain)) if domain else alt.Scale(scheme=scheme)
    base = alt.Chart(df).encode(x=x, y=y)
    # Stroke in the fill colour: no hairline gaps between neighbouring pixels.
    chart = base.mark_rect(strokeWidth=0.6).encode(
        color=alt.Color("value:Q", scale=scale, title=title),
        stroke=alt.Stroke("value:Q", scale=scale, legend=None),
        tooltip=["row", "col", alt.Tooltip("value:Q", title=title, format=".4f")],
    )
    if labels:
        chart = chart + base.mark_text(fontSize=max(8, cell // 3)).encode(
            text=alt.Text("value:Q", format=fmt), color=alt.value("black")
        )
    return chart.properties(width=cell * n_side, height=cell * n_side)


def one_hot_facets(df: pd.DataFrame, columns: int, cell: int = 13) -> alt.FacetChart:
    """One small 0/1 grid per class channel (dark = 0, the class colour = 1)."""
    side = cell * int(df["row"].max() + 1)
    channels = list(dict.fromkeys(df["channel"]))
    data = df.assign(on=[f"{c}" if v else "off" for c, v in zip(df["channel"], df["value"], strict=True)])
    domain = ["off", *channels]
    colors = ["#f0f0f0", *[class_color(k) for k in range(len(channels))]]
    base = alt.Chart(data).encode(x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None))
    rect = base.mark_rect(stroke="#ffffff", strokeWidth=0.5).encode(
        color=alt.Color("on:N", scale=alt.Scale(domain=domain, range=colors), legend=None),
        tooltip=["channel", "row", "col", "value"],
    )
    text = base.mark_text(fontSize=max(8, cell * 2 // 3)).encode(
        text="value:Q", color=alt.condition("datum.value == 1", alt.value("white"), alt.value("#999999"))
    )
    return (
        (rect + text)
        .properties(width=side, height=side)
        .facet(facet=alt.Facet("channel:N", title=None, sort=channels), columns=columns)
    )


def class_share_bars(names: Sequence[str], shares: Sequence[float]) -> alt.Chart:
    """Horizontal bars: share of pixels per class, in the class colours (doubles as a legend)."""
    data = pd.DataFrame(
        {"id": range(len(names)), "class": [f"{i}: {n}" for i, n in enumerate(names)], "share": list(shares)}
    )
    colors = [class_color(k) for k in range(len(names))]
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=list(data["class"]), title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of pixels"),
            color=alt.Color(
                "class:N", scale=alt.Scale(domain=list(data["class"]), range=colors), legend=None
            ),
            tooltip=["class", alt.Tooltip("share:Q", format=".1%")],
        )
    )
    labels = bars.mark_text(align="left", dx=3).encode(text=alt.Text("share:Q", format=".1%"))
    return (bars + labels).properties(height=alt.Step(30))


def probability_bars(df: pd.DataFrame) -> alt.Chart:
    """Softmax probabilities of one pixel, one bar per class in the class colours."""
    colors = [class_color(k) for k in range(len(df))]
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=list(df["class"]), title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), title="softmax probability"),
            color=alt.Color("class:N", scale=alt.Scale(domain=list(df["class"]), range=colors), legend=None),
            tooltip=[
                "class",
                alt.Tooltip("logit:Q", format=".2f"),
                alt.Tooltip("probability:Q", format=".3f"),
            ],
        )
    )
    text = bars.mark_text(align="left", dx=3).encode(text=alt.Text("probability:Q", format=".2f"))
    return (bars + text).properties(height=alt.Step(30))


# ---- loss lab -----------------------------------------------------------------------------


def loss_curves(
    df: pd.DataFrame, y: str, y_title: str, height: int = 230, y_domain: tuple[float, float] | None = None
) -> alt.FacetChart:
    """``y`` against the predicted probability p, focal vs BCE, one panel per true label.

    ``y_domain`` fixes the vertical range (points above it are dropped, so a steep curve
    ends at the top edge), and moving a slider then changes the curves, not the axis.
    """
    curves = list(dict.fromkeys(df["curve"]))
    if y_domain is not None:
        df = df[(df[y] >= y_domain[0]) & (df[y] <= y_domain[1])]
    chart = (
        alt.Chart(df)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("p:Q", title="predicted foreground probability p"),
            y=alt.Y(
                f"{y}:Q",
                title=y_title,
                scale=alt.Scale(domain=list(y_domain)) if y_domain else alt.Undefined,
            ),
            color=alt.Color(
                "curve:N", scale=_loss_scale(curves), title=None, legend=alt.Legend(orient="top")
            ),
            strokeDash=alt.StrokeDash(
                "curve:N", scale=alt.Scale(domain=curves, range=[[1, 0], [5, 4]]), legend=None
            ),
            tooltip=[alt.Tooltip("p:Q", format=".2f"), "curve", alt.Tooltip(f"{y}:Q", format=".4f")],
        )
    )
    return chart.properties(width=300, height=height).facet(
        column=alt.Column("target:N", title=None, sort=sorted(df["target"].unique(), reverse=True))
    )


def modulating_chart(gamma: float, points: int = 101) -> alt.Chart:
    """(1 − p_t)^γ against p_t for a few γ, the current γ drawn thick."""
    p_t = np.linspace(0.0, 1.0, points)
    gammas = sorted({0.0, 0.5, 1.0, 2.0, 5.0, float(gamma)})
    data = pd.DataFrame(
        [
            {"p_t": x, "γ": f"γ = {g:g}", "factor": (1 - x) ** g, "current": g == gamma}
            for g in gammas
            for x in p_t
        ]
    )
    return (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("p_t:Q", title="p_t, probability of the true class"),
            y=alt.Y("factor:Q", title="(1 − p_t)^γ"),
            color=alt.Color(
                "γ:N",
                sort=[f"γ = {g:g}" for g in gammas],
                scale=alt.Scale(domain=[f"γ = {g:g}" for g in gammas], range=categorical(len(gammas))),
                legend=alt.Legend(orient="top", title=None, columns=3),
            ),
            size=alt.condition("datum.current", alt.value(4), alt.value(1.2)),
            tooltip=["γ", alt.Tooltip("p_t:Q", format=".2f"), alt.Tooltip("factor:Q", format=".4f")],
        )
        .properties(height=330)
    )


def gradient_chart(df: pd.DataFrame) -> alt.Chart:
    """∂loss/∂z against p for both labels: focal (solid) vs BCE (dashed)."""
    data = df.assign(series=df["curve"] + ", " + df["target"].str.split(" ").str[:3].str.join(" "))
    order = list(dict.fromkeys(data["series"]))
    colors = categorical(4)
    return (
        alt.Chart(data)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("p:Q", title="predicted foreground probability p"),
            y=alt.Y("grad:Q", title="∂ loss / ∂ z (logit)"),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=order, range=colors),
                legend=alt.Legend(orient="top", title=None, columns=2),
            ),
            strokeDash=alt.StrokeDash(
                "curve:N", scale=alt.Scale(domain=["focal", "BCE"], range=[[1, 0], [5, 4]]), legend=None
            ),
            tooltip=["series", alt.Tooltip("p:Q", format=".2f"), alt.Tooltip("grad:Q", format=".4f")],
        )
        .properties(height=330)
    )


def loss_source_bars(df: pd.DataFrame) -> alt.Chart:
    """Share of the total loss per p_t bin, BCE and focal side by side."""
    names = list(dict.fromkeys(df["loss"]))
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N", title="p_t of the pixel (right = already well classified)", sort=list(df["label"])
            ),
            xOffset=alt.XOffset("loss:N", sort=names),
            y=alt.Y("share:Q", title="share of the total loss", axis=alt.Axis(format="%")),
            color=alt.Color("loss:N", scale=_loss_scale(names), legend=alt.Legend(orient="top", title=None)),
            tooltip=[
                "label",
                "loss",
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("pixels:Q", title="share of pixels", format=".1%"),
            ],
        )
        .properties(height=330)
    )


def imbalance_chart(df: pd.DataFrame, current: float | None = None) -> alt.Chart:
    """Loss of the same mistakes against the foreground share (log axis), one line per loss."""
    names = list(dict.fromkeys(df["loss"]))
    lines = (
        alt.Chart(df)
        .mark_line(point=True, strokeWidth=2.5)
        .encode(
            x=alt.X(
                "fg_share:Q",
                scale=alt.Scale(type="log", domain=[0.004, 0.6], nice=False),
                axis=alt.Axis(format=".1~%", values=[0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]),
                title="foreground share of the image (log scale)",
            ),
            y=alt.Y(
                "value:Q",
                title="loss (log scale)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(values=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0], format="~g"),
            ),
            color=alt.Color("loss:N", scale=_loss_scale(names), legend=alt.Legend(orient="top", title=None)),
            tooltip=["loss", alt.Tooltip("fg_share:Q", format=".1%"), alt.Tooltip("value:Q", format=".4f")],
        )
    )
    if current is None:
        return lines.properties(height=360)
    rule = (
        alt.Chart(pd.DataFrame({"fg_share": [current]}))
        .mark_rule(strokeDash=[4, 3], color="black")
        .encode(x="fg_share:Q")
    )
    return (lines + rule).properties(height=360)
