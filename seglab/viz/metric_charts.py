"""Altair charts for the Metrics lab, the Architectures page and the Data page.

Each function takes plain numbers or a DataFrame and returns an `alt.Chart`; the page decides
where to put it. Colours come from `seglab.palette`, so a class or an error type looks the
same on every page.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from seglab.palette import FN_COLOR, FP_COLOR, TN_COLOR, TP_COLOR, class_color


def error_legend_html() -> str:
    """Inline HTML legend for the TP/FP/FN/TN overlay colours."""
    items = [
        (TP_COLOR, "TP hit"),
        (FP_COLOR, "FP false alarm"),
        (FN_COLOR, "FN miss"),
        (TN_COLOR, "TN background"),
    ]
    swatch = (
        "<span style='white-space:nowrap;margin-right:1.2em'>"
        "<span style='display:inline-block;width:0.9em;height:0.9em;background:{};"
        "border:1px solid #888;margin-right:0.35em;vertical-align:middle'></span>{}</span>"
    )
    body = "".join(swatch.format(c, t) for c, t in items)
    return f"<div style='font-size:0.9em;line-height:1.9;text-align:center'>{body}</div>"


def confusion_chart(cm: np.ndarray, class_names: list[str], *, height: int = 220) -> alt.Chart:
    """Heat map of a confusion matrix (rows = truth, columns = prediction) with counts printed."""
    k = len(class_names)
    total = max(1, int(np.asarray(cm).sum()))
    rows = [
        {
            "truth": class_names[i],
            "prediction": class_names[j],
            "pixels": int(cm[i, j]),
            "share": cm[i, j] / total,
        }
        for i in range(k)
        for j in range(k)
    ]
    df = pd.DataFrame(rows)
    order = list(class_names)
    base = alt.Chart(df).encode(
        x=alt.X("prediction:N", sort=order, title="predicted", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("truth:N", sort=order, title="true"),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", type="sqrt"), legend=None),
        tooltip=["truth", "prediction", "pixels", alt.Tooltip("share:Q", format=".1%")],
    )
    text = base.mark_text(fontSize=14 if k <= 3 else 10).encode(
        text="pixels:Q",
        color=alt.condition(alt.datum.share > 0.3, alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=height)


def dice_iou_chart(curve: pd.DataFrame, iou: float, dice: float) -> alt.Chart:
    """The Dice = 2·IoU/(1+IoU) curve, the diagonal for reference, and the current point."""
    line = (
        alt.Chart(curve)
        .mark_line(color="#e6550d", strokeWidth=3)
        .encode(
            x=alt.X("iou:Q", title="IoU", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("dice:Q", title="Dice (= F1)", scale=alt.Scale(domain=[0, 1])),
        )
    )
    diagonal = (
        alt.Chart(pd.DataFrame({"iou": [0.0, 1.0], "dice": [0.0, 1.0]}))
        .mark_line(color="#999", strokeDash=[4, 4])
        .encode(x="iou:Q", y="dice:Q")
    )
    point_df = pd.DataFrame({"iou": [iou], "dice": [dice], "label": [f"IoU {iou:.2f} → Dice {dice:.2f}"]})
    point = (
        alt.Chart(point_df)
        .mark_point(size=160, filled=True, color="#1f77b4")
        .encode(x="iou:Q", y="dice:Q", tooltip=["label"])
    )
    label = (
        alt.Chart(point_df)
        .mark_text(align="left", dx=10, dy=12, fontSize=13)
        .encode(x="iou:Q", y="dice:Q", text="label")
    )
    return (diagonal + line + point + label).properties(height=300)


def per_class_iou_chart(table: pd.DataFrame, miou: float) -> alt.Chart:
    """Bar per class in its palette colour, with a rule at the mIoU. Expects class, class_id, iou."""
    df = table.copy()
    df["color"] = [class_color(int(i)) for i in df["class_id"]]
    df["shown"] = df["iou"].fillna(0.0)
    df["note"] = [("absent" if np.isnan(v) else f"{v:.2f}") for v in df["iou"]]
    order = list(df["class"])
    bars = (
        alt.Chart(df)
        .mark_bar(stroke="#444", strokeWidth=0.5)
        .encode(
            x=alt.X("class:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("shown:Q", title="IoU", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("color:N", scale=None),
            tooltip=["class", "note"],
        )
    )
    text = alt.Chart(df).mark_text(dy=-8).encode(x=alt.X("class:N", sort=order), y="shown:Q", text="note")
    rule_df = pd.DataFrame({"miou": [miou], "label": [f"mIoU {miou:.2f}"]})
    rule = alt.Chart(rule_df).mark_rule(color="#1f77b4", strokeDash=[6, 3], strokeWidth=2).encode(y="miou:Q")
    rule_text = (
        alt.Chart(rule_df)
        .mark_text(align="left", dx=4, dy=-6, color="#1f77b4")
        .encode(y="miou:Q", x=alt.value(0), text="label")
    )
    return (bars + text + rule + rule_text).properties(height=280)


def averaging_chart(summary: pd.DataFrame) -> alt.Chart:
    """Horizontal bars: one per averaging method. Expects columns method, value."""
    df = summary.copy()
    df["shown"] = df["value"].fillna(0.0)
    df["note"] = [("undefined" if np.isnan(v) else f"{v:.3f}") for v in df["value"]]
    order = list(df["method"])
    bars = (
        alt.Chart(df)
        .mark_bar(color="#e6550d")
        .encode(
            y=alt.Y("method:N", sort=order, title=None, axis=alt.Axis(labelLimit=360)),
            x=alt.X("shown:Q", title="score", scale=alt.Scale(domain=[0, 1])),
            tooltip=["method", "note"],
        )
    )
    text = (
        alt.Chart(df)
        .mark_text(align="left", dx=4)
        .encode(y=alt.Y("method:N", sort=order), x="shown:Q", text="note")
    )
    return (bars + text).properties(height=40 * len(df))


def class_balance_chart(table: pd.DataFrame) -> alt.Chart:
    """Pixel share per class in class colours. Expects class, class_id, share."""
    df = table.copy()
    df["color"] = [class_color(int(i)) for i in df["class_id"]]
    df["note"] = [f"{v:.1%}" for v in df["share"]]
    order = list(df["class"])
    bars = (
        alt.Chart(df)
        .mark_bar(stroke="#444", strokeWidth=0.5)
        .encode(
            y=alt.Y("class:N", sort=order, title=None),
            x=alt.X("share:Q", title="share of all pixels", axis=alt.Axis(format="%")),
            color=alt.Color("color:N", scale=None),
            tooltip=["class", "note"],
        )
    )
    text = (
        alt.Chart(df)
        .mark_text(align="left", dx=4)
        .encode(y=alt.Y("class:N", sort=order), x="share:Q", text="note")
    )
    return (bars + text).properties(height=max(130, 40 * len(df)))


def size_comparison_chart(table: pd.DataFrame, current: str) -> alt.Chart:
    """Two side-by-side bar charts, parameters and MACs per architecture, current one highlighted.

    Expects columns title, name, params, macs.
    """
    df = table.copy()
    df["chosen"] = df["name"] == current
    long = df.melt(id_vars=["name", "title", "chosen"], value_vars=["params", "macs"], var_name="measure")
    long["measure"] = long["measure"].map({"params": "Parameters", "macs": "MACs per image"})
    order = list(df["title"])
    base = alt.Chart().encode(
        y=alt.Y("title:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("value:Q", title=None, axis=alt.Axis(format="~s")),
        tooltip=["title", "measure", alt.Tooltip("value:Q", format=",")],
    )
    bars = base.mark_bar().encode(
        color=alt.condition(alt.datum.chosen, alt.value("#e6550d"), alt.value("#9ecae1")),
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("value:Q", format=".3~s"))
    return (
        alt.layer(bars, text, data=long)
        .properties(width=300, height=34 * len(df))
        .facet(column=alt.Column("measure:N", title=None, sort=["Parameters", "MACs per image"]))
        .resolve_scale(x="independent")
    )
