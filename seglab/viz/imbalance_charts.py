"""The imbalance chart: test IoU against the foreground share, one line per loss (no Streamlit).

Input: `seglab.analysis.imbalance.imbalance_cells` (one row per share and model). The x axis is
logarithmic (1 %, 2 %, 5 %, 20 % are evenly spread, as the ratios between them are); each line is
the mean over seeds and its band the 95 % t-interval of that mean; a ring around a point marks a
cell where at least one run collapsed.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from seglab.palette import loss_color
from seglab.viz.results_charts import color_domain

WIDTH, HEIGHT = 520, 300


def iou_vs_share(cells: pd.DataFrame, *, title: str, domain: Sequence[str] = ()) -> alt.LayerChart:
    """Mean test IoU (line) with its 95 % interval (band) against the foreground share per model.

    ``title`` names the threshold the IoU is measured at; ``domain`` fixes the colour of every
    model (the loss colours of the other Results charts)."""
    data = cells.copy()
    data["low"] = data["low"].fillna(data["mean"]).clip(0, 1)
    data["high"] = data["high"].fillna(data["mean"]).clip(0, 1)
    data["collapsed"] = [f"{k} of {n}" for k, n in zip(data["n_collapsed"], data["n_runs"], strict=True)]
    data["any_collapsed"] = data["n_collapsed"] > 0
    models = color_domain(list(data["model"]), preferred=list(domain))
    colors = [loss_color(m) for m in models]
    shares = sorted(data["fg_share"].unique())
    x = alt.X(
        "fg_share:Q",
        title="Foreground share (log scale)",
        scale=alt.Scale(type="log", domain=[min(shares) * 0.85, max(shares) * 1.15], nice=False),
        axis=alt.Axis(values=shares, format=".0%", labelExpr="format(datum.value * 100, '~g') + ' %'"),
    )
    y_scale = alt.Scale(domain=[0, 1])
    pick = alt.selection_point(fields=["model"], bind="legend")
    color = alt.Color(
        "model:N",
        title="Loss",
        scale=alt.Scale(domain=models, range=colors),
        legend=alt.Legend(orient="top", labelLimit=260, columns=3),
    )
    base = alt.Chart(data).encode(x=x, color=color, detail="model:N")
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("low:Q", title=f"Test IoU {title}", scale=y_scale),
        y2="high:Q",
        opacity=alt.condition(pick, alt.value(0.18), alt.value(0.03)),
    )
    tooltip = [
        alt.Tooltip("model:N", title="Loss"),
        alt.Tooltip("fg_share:Q", title="Foreground share", format=".1%"),
        alt.Tooltip("mean:Q", title="Test IoU (mean over seeds)", format=".3f"),
        alt.Tooltip("low:Q", title="95 % interval from", format=".3f"),
        alt.Tooltip("high:Q", title="95 % interval to", format=".3f"),
        alt.Tooltip("n:Q", title="Seeds"),
        alt.Tooltip("collapsed:N", title="Collapsed runs"),
    ]
    line = base.mark_line(strokeWidth=2, point=alt.OverlayMarkDef(size=50)).encode(
        y=alt.Y("mean:Q", scale=y_scale),
        opacity=alt.condition(pick, alt.value(0.95), alt.value(0.12)),
        tooltip=tooltip,
    )
    rings = (
        base.transform_filter(alt.datum.any_collapsed)
        .mark_point(size=220, strokeWidth=2, filled=False)
        .encode(y="mean:Q", tooltip=tooltip, opacity=alt.condition(pick, alt.value(0.9), alt.value(0.1)))
    )
    return alt.layer(band, line, rings).add_params(pick).properties(width=WIDTH, height=HEIGHT)
