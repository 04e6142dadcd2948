"""Altair chart for the Inside page: what each U-Net++ prune level costs and gains."""

from __future__ import annotations

import altair as alt
import pandas as pd


def prune_chart(report: pd.DataFrame, recommended: int | None = None, *, height: int = 220) -> alt.Chart:
    """Two panels side by side over prune level L: IoU (line) and milliseconds per image
    (bars). The ``recommended`` level is drawn in orange, the others in blue."""
    data = report.assign(
        level_name="L" + report["level"].astype(str),
        shipped=report["level"] == recommended,
    )
    x = alt.X("level_name:N", title="prune level", sort=list(data["level_name"]), axis=alt.Axis(labelAngle=0))
    color = alt.condition("datum.shipped", alt.value("#ff7f0e"), alt.value("#1f77b4"))
    iou = (
        alt.Chart(data, title="IoU on the split")
        .mark_line(point=alt.OverlayMarkDef(size=90, filled=True), color="#1f77b4")
        .encode(
            x=x,
            y=alt.Y("iou:Q", title="IoU", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("level_name:N", title="level"), alt.Tooltip("iou:Q", format=".3f")],
        )
    )
    iou = iou + iou.mark_point(size=160, filled=True).encode(color=color)
    speed = (
        alt.Chart(data, title="Inference time per image")
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("ms_per_image:Q", title="ms per image"),
            color=color,
            tooltip=[
                alt.Tooltip("level_name:N", title="level"),
                alt.Tooltip("ms_per_image:Q", title="ms/image", format=".2f"),
                alt.Tooltip("params:Q", format=","),
            ],
        )
    )
    return alt.hconcat(iou.properties(height=height, width=260), speed.properties(height=height, width=260))
