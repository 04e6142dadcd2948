"""Altair charts of saved experiments: learning curves, test heatmap, ranked bars, exports.

Every builder takes a pandas table from :mod:`seglab.analysis.results_table` and returns an Altair
chart; nothing here calls Streamlit, so the same charts are exported as PNG/SVG and tested.

Colour language: every loss and every architecture has one colour, fixed by its name
(`seglab.palette.loss_color` / `arch_color`), so 'focal' has the same colour in every chart,
after every filter, and on the Loss lab too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from seglab.analysis.results_table import LOWER_IS_BETTER, metric_title
from seglab.palette import arch_color, categorical, colorize_mask, error_overlay, loss_color

# One colour per loss and per architecture, fixed by name (`seglab.palette`).
LOSS_COLORS = loss_color
ARCH_COLORS = arch_color

FACET_WIDTH = 215
FACET_HEIGHT = 170


def color_domain(values: Sequence[str], preferred: Sequence[str] = ()) -> list[str]:
    """Stable domain: names in ``preferred`` order (e.g. the registry), then the rest sorted."""
    present = list(dict.fromkeys(str(v) for v in values if v is not None and v == v))
    ordered = [p for p in preferred if p in present]
    return ordered + sorted(v for v in present if v not in ordered)


def _scale(domain: Sequence[str], color_of: Callable[[str], str]) -> alt.Scale:
    """A colour scale giving every name of ``domain`` its own colour from `seglab.palette`."""
    return alt.Scale(domain=list(domain), range=[color_of(name) for name in domain])


def epoch_axis(epochs: pd.Series) -> alt.Axis:
    """Whole-number epoch ticks: every epoch when there are few, else about eight."""
    last = int(epochs.max()) if len(epochs) else 1
    if last <= 12:
        return alt.Axis(values=list(range(1, last + 1)), format="d")
    return alt.Axis(tickMinStep=1, format="d", tickCount=8)


def _curve_tooltip(metric: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("run:N", title="Run"),
        alt.Tooltip("arch:N", title="Architecture"),
        alt.Tooltip("loss_label:N", title="Loss"),
        alt.Tooltip("seed:Q", title="Seed"),
        alt.Tooltip("epoch:Q", title="Epoch"),
        alt.Tooltip("value:Q", title=metric_title(metric), format=".3f"),
        alt.Tooltip("status:N", title="Status"),
    ]


#: Altair refuses to embed more than 5 000 rows in a chart; curves are thinned below this first.
MAX_CHART_ROWS = 4000


def thin_epochs(frame: pd.DataFrame, max_rows: int = MAX_CHART_ROWS) -> pd.DataFrame:
    """At most about ``max_rows`` rows of a per-epoch table: when it is longer, keep every k-th
    epoch (k the smallest step that fits) and every curve's last epoch, so 16 runs × 400 epochs
    or one run of 10 000 epochs still draw, with their shape and their final value."""
    if len(frame) <= max_rows or "epoch" not in frame:
        return frame
    epochs = pd.to_numeric(frame["epoch"], errors="coerce")
    step = -(-len(frame) // max_rows)
    keep = (epochs % step == 0) | (epochs == epochs.max())
    groups = [c for c in ("run_id", "model", "metric") if c in frame]
    if groups:  # each curve's own last epoch (runs of different lengths)
        keep |= epochs == epochs.groupby([frame[c] for c in groups]).transform("max")
    return frame[keep.fillna(False)]


def _curves(
    long: pd.DataFrame,
    metric: str,
    *,
    facet: str,
    facet_title: str,
    color: str,
    color_title: str,
    domain: Sequence[str],
    palette: Sequence[str],
    columns: int,
    facet_order: Sequence[str] | None = None,
) -> alt.FacetChart:
    data = thin_epochs(long[long["metric"] == metric])
    present = set(data[facet]) if facet in data else set()
    facet_sort = [v for v in facet_order if v in present] if facet_order else "ascending"
    pick = alt.selection_point(fields=[color], bind="legend")
    y_scale = alt.Scale(zero=False) if metric in LOWER_IS_BETTER else alt.Scale(domain=[0, 1])
    base = alt.Chart(data).encode(
        x=alt.X("epoch:Q", title="Epoch", axis=epoch_axis(data["epoch"])),
        y=alt.Y("value:Q", title=metric_title(metric), scale=y_scale, axis=alt.Axis(titleLimit=FACET_HEIGHT)),
        color=alt.Color(
            f"{color}:N",
            title=color_title,
            scale=_scale(domain, palette),
            legend=alt.Legend(orient="top", labelLimit=240, symbolOpacity=1, symbolStrokeWidth=3),
        ),
        detail="run_id:N",
        opacity=alt.condition(pick, alt.value(0.95), alt.value(0.12)),
        tooltip=_curve_tooltip(metric),
    )
    layered = alt.layer(base.mark_line(strokeWidth=2), base.mark_circle(size=36)).add_params(pick)
    return layered.properties(width=FACET_WIDTH, height=FACET_HEIGHT).facet(
        facet=alt.Facet(
            f"{facet}:N",
            sort=facet_sort,
            title=facet_title,
            header=alt.Header(labelFontSize=13, labelFontWeight="bold"),
        ),
        columns=columns,
    )


def curves_by_arch(
    long: pd.DataFrame,
    metric: str = "val_iou",
    *,
    loss_domain: Sequence[str],
    columns: int = 3,
    arch_order: Sequence[str] | None = None,
) -> alt.FacetChart:
    """One small chart per architecture; a line per run, coloured by loss (click the legend
    to highlight a loss)."""
    return _curves(
        long,
        metric,
        facet="arch",
        facet_title="Architecture",
        color="loss_label",
        color_title="Loss",
        domain=loss_domain,
        palette=LOSS_COLORS,
        columns=columns,
        facet_order=arch_order,
    )


def curves_by_loss(
    long: pd.DataFrame,
    metric: str = "val_iou",
    *,
    arch_domain: Sequence[str],
    columns: int = 3,
    loss_order: Sequence[str] | None = None,
) -> alt.FacetChart:
    """One small chart per loss; a line per run, coloured by architecture."""
    return _curves(
        long,
        metric,
        facet="loss_label",
        facet_title="Loss",
        color="arch",
        color_title="Architecture",
        domain=arch_domain,
        palette=ARCH_COLORS,
        columns=columns,
        facet_order=loss_order,
    )


def band_curves(
    curves: pd.DataFrame,
    metric: str,
    *,
    facet: str,
    color: str,
    domain: Sequence[str],
    columns: int = 3,
    facet_order: Sequence[str] | None = None,
) -> alt.FacetChart:
    """Mean over seeds (line) with the lowest-to-highest seed band, one panel per ``facet``.

    ``curves`` comes from `seglab.analysis.compare.seed_curves` (one row per cell and epoch, so the chart
    stays small for any number of runs). For a loss metric each panel gets its own y axis and
    the panels are per loss when ``facet`` is the loss: values of different losses are on
    different scales and must not be read against one axis.
    """
    titles = {"arch": "Architecture", "loss_label": "Loss"}
    curves = thin_epochs(curves)
    palette = LOSS_COLORS if color == "loss_label" else ARCH_COLORS
    present = set(curves[facet]) if facet in curves else set()
    facet_sort = [v for v in facet_order if v in present] if facet_order else "ascending"
    is_loss = metric in LOWER_IS_BETTER
    y_scale = alt.Scale(zero=False) if is_loss else alt.Scale(domain=[0, 1])
    pick = alt.selection_point(fields=[color], bind="legend")
    title = metric_title(metric)
    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("epoch:Q", title="Epoch"),
        alt.Tooltip("mean:Q", title=f"{title} (mean over seeds)", format=".3f"),
        alt.Tooltip("low:Q", title="lowest seed", format=".3f"),
        alt.Tooltip("high:Q", title="highest seed", format=".3f"),
        alt.Tooltip("n:Q", title="Seeds"),
    ]
    base = alt.Chart(curves).encode(
        x=alt.X("epoch:Q", title="Epoch", axis=epoch_axis(curves["epoch"])),
        color=alt.Color(
            f"{color}:N",
            title=titles.get(color, color),
            scale=_scale(domain, palette),
            legend=alt.Legend(orient="top", labelLimit=240, symbolOpacity=1, symbolStrokeWidth=3),
        ),
        detail="model:N",
    )
    band = base.mark_area(opacity=0.18).encode(
        # the axis title fits one panel's height; the band's meaning is in the chart title
        y=alt.Y("low:Q", title=title, scale=y_scale, axis=alt.Axis(titleLimit=FACET_HEIGHT)),
        y2="high:Q",
        opacity=alt.condition(pick, alt.value(0.22), alt.value(0.04)),
    )
    line = base.mark_line(strokeWidth=2, point=True).encode(
        y=alt.Y("mean:Q", scale=y_scale),
        opacity=alt.condition(pick, alt.value(0.95), alt.value(0.12)),
        tooltip=tooltip,
    )
    chart = (
        alt.layer(band, line)
        .add_params(pick)
        .properties(width=FACET_WIDTH, height=FACET_HEIGHT)
        .facet(
            facet=alt.Facet(
                f"{facet}:N",
                sort=facet_sort,
                title=titles.get(facet, facet),
                header=alt.Header(labelFontSize=13, labelFontWeight="bold"),
            ),
            columns=columns,
        )
        .properties(title=f"{title}: line = mean over seeds, band = lowest to highest seed")
    )
    return chart.resolve_scale(y="independent") if is_loss else chart


HEATMAP_MIN_WIDTH, HEATMAP_MIN_HEIGHT = 160, 110  # px: one cell still holds the axis titles


def arch_loss_heatmap(
    grid: pd.DataFrame,
    metric: str = "test_iou",
    *,
    loss_order: Sequence[str] | None = None,
    arch_order: Sequence[str] | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Architecture × loss heatmap of the seed-averaged test metric.

    ``grid`` comes from :func:`seglab.analysis.compare.comparison_grid`. Each cell shows the mean
    (and ± std when there are several seeds); the best cell gets a thick outline and a star.
    """
    data = grid.copy()
    # Two short lines per cell (mean and star; spread), so a cell stays narrow enough for
    # seven losses side by side at 1280 px.
    data["text"] = [
        f"{m:.3f}" + (" ★" if b else "") + "\n" + (f"± {s:.3f}" if n > 1 else "1 seed")
        for m, s, n, b in zip(data["mean"], data["std"], data["n_seeds"], data["best"], strict=True)
    ]
    lower = metric in LOWER_IS_BETTER
    chart_title, title = title, metric_title(metric)
    low, high = data["mean"].min(), data["mean"].max()
    bright = (data["mean"] - low) / (high - low) > 0.5 if high > low else data["mean"] == data["mean"]
    data["ink"] = ["white" if b == lower else "black" for b in bright]
    x_sort = [v for v in loss_order if v in set(data["loss_label"])] if loss_order else "ascending"
    y_sort = [v for v in arch_order if v in set(data["arch"])] if arch_order else "ascending"
    base = alt.Chart(data).encode(
        x=alt.X("loss_label:N", title="Loss", sort=x_sort, axis=alt.Axis(labelAngle=-20)),
        y=alt.Y("arch:N", title="Architecture", sort=y_sort),
    )
    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("mean:Q", title=f"{title} (mean)", format=".3f"),
        alt.Tooltip("std:Q", title="Std over seeds", format=".3f"),
        alt.Tooltip("n_seeds:Q", title="Seeds"),
    ]
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "mean:Q",
            title=title,
            scale=alt.Scale(scheme="viridis", reverse=lower),
            legend=alt.Legend(format=".2f"),
        ),
        tooltip=tooltip,
    )
    labels = base.mark_text(
        fontSize=HEATMAP_FONT, fontWeight="bold", lineHeight=HEATMAP_FONT + 3, lineBreak="\n"
    ).encode(text="text:N", color=alt.Color("ink:N", scale=None), tooltip=tooltip)
    outline = (
        alt.Chart(data[data["best"]])
        .mark_rect(fill=None, stroke="#d62728", strokeWidth=4)
        .encode(x=alt.X("loss_label:N", sort=x_sort), y=alt.Y("arch:N", sort=y_sort))
    )
    n_cols = max(1, data["loss_label"].nunique())
    n_rows = max(1, data["arch"].nunique())
    width, height = heatmap_size(n_cols, n_rows, [line for text in data["text"] for line in text.split("\n")])
    # The label ink uses literal colours; it must not share the cells' quantitative colour
    # scale, or Vega-Lite cannot compile the layer.
    return (
        alt.layer(cells, labels, outline)
        .resolve_scale(color="independent")
        .properties(
            width=width,
            height=height,
            title=alt.TitleParams(chart_title or f"{title} — architecture × loss", limit=0),
            # width / height are the cells' area; axes, legend and title come on top (Streamlit's
            # default "fit" would squeeze all of them into it: 2 × 2 cells drew ~100 px wide)
            autosize=alt.AutoSizeParams(type="pad", contains="padding"),
        )
    )


HEATMAP_FONT = 13
HEATMAP_CHAR_PX = 8.5  # width of one bold 13 px character, generously
HEATMAP_MAX_WIDTH = 720  # leaves room for the axis and the legend in a 1280 px window


def heatmap_size(n_cols: int, n_rows: int, labels: Sequence[str]) -> tuple[int, int]:
    """Width and height (px) of a heatmap's cell area, from its content: each cell holds its
    widest label line with a margin, each row two lines of text; a floor keeps one model's
    single cell big enough for its axis title, a cap keeps seven losses inside the page."""
    longest = max((len(str(t)) for t in labels), default=4)
    cell = max(96, round(HEATMAP_CHAR_PX * longest + 18))
    row = max(44, 2 * (HEATMAP_FONT + 3) + 14)
    width = min(HEATMAP_MAX_WIDTH, max(HEATMAP_MIN_WIDTH, cell * n_cols))
    height = min(480, max(HEATMAP_MIN_HEIGHT, row * n_rows))
    return width, height


def ranked_bars(
    summary: pd.DataFrame,
    metric: str = "test_iou",
    *,
    loss_domain: Sequence[str],
    runs: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """Models ranked by the seed-averaged metric, best on top; with several seeds a black
    bar shows ± one standard deviation and dots the individual runs (from ``runs``)."""
    data = summary.copy()
    data["low"] = data["mean"] - data["std"]
    data["high"] = data["mean"] + data["std"]
    order = list(data["model"])
    title = metric_title(metric)
    x_scale = alt.Scale(zero=True) if metric in LOWER_IS_BETTER else alt.Scale(domain=[0, 1])
    y = alt.Y("model:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("mean:Q", title=f"{title} (mean)", format=".3f"),
        alt.Tooltip("std:Q", title="Std over seeds", format=".3f"),
        alt.Tooltip("n_seeds:Q", title="Seeds"),
    ]
    bars = (
        alt.Chart(data)
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X("mean:Q", title=f"{title} (mean over seeds)", scale=x_scale, axis=alt.Axis(format=".1f")),
            y=y,
            color=alt.Color(
                "loss_label:N",
                title="Loss",
                scale=_scale(loss_domain, LOSS_COLORS),
                legend=alt.Legend(orient="top", symbolOpacity=1),  # the right side holds the values
            ),
            tooltip=tooltip,
        )
    )
    # The values sit in a column of their own right of the plot, clear of bars, error bars
    # and seed dots (at the bar's end they collided with the error bars).
    values = (
        alt.Chart(data)
        .mark_text(align="left", dx=8, fontSize=12, fontWeight="bold")
        .encode(x=alt.value(RANKING_WIDTH), y=y, text=alt.Text("mean:Q", format=".3f"))
    )
    layers = [bars, values]
    if (data["n_seeds"] > 1).any():
        layers.append(
            alt.Chart(data[data["n_seeds"] > 1])
            .mark_rule(color="black", strokeWidth=2)
            .encode(x="low:Q", x2="high:Q", y=y, tooltip=tooltip)
        )
        if runs is not None:
            layers.append(
                _seed_points(runs[runs["model"].isin(data.loc[data["n_seeds"] > 1, "model"])], y, metric)
            )
    return alt.layer(*layers).properties(
        width=RANKING_WIDTH,
        height=max(120, 28 * len(data)),
        title=f"Ranking by {title}",
        autosize=alt.AutoSizeParams(type="pad", contains="padding"),
    )


RANKING_WIDTH = 520


def _seed_points(runs: pd.DataFrame, y: alt.Y, metric: str) -> alt.Chart:
    return (
        alt.Chart(runs[["run_id", "model", "seed", metric]])
        .mark_circle(color="black", size=28, opacity=0.75)
        .encode(
            x=alt.X(f"{metric}:Q"),
            y=y,
            tooltip=[
                alt.Tooltip("run_id:N", title="Run"),
                alt.Tooltip("seed:Q", title="Seed"),
                alt.Tooltip(f"{metric}:Q", title=metric_title(metric), format=".3f"),
            ],
        )
    )


def live_curves(history: pd.DataFrame) -> alt.HConcatChart | None:
    """Loss and IoU of one run as it trains (``history``: one row per epoch).

    Left: training (and validation) loss; right: validation IoU (and Dice). Returns None when
    there is no epoch yet.
    """
    if history.empty or "epoch" not in history:
        return None
    history = thin_epochs(history, MAX_CHART_ROWS // 2)  # two metrics per panel after melting
    loss_cols = [c for c in ("train_loss", "val_loss") if c in history]
    score_cols = [c for c in ("val_iou", "val_dice") if c in history]
    charts = []
    for cols, title, scale in (
        (loss_cols, "Loss", alt.Scale(zero=False)),
        (score_cols, "Score", alt.Scale(domain=[0, 1])),
    ):
        if not cols:
            continue
        long = history.melt(id_vars=["epoch"], value_vars=cols, var_name="metric", value_name="value")
        long["metric"] = long["metric"].map(metric_title)
        charts.append(
            alt.Chart(long)
            .mark_line(point=True)
            .encode(
                x=alt.X("epoch:Q", title="Epoch", axis=epoch_axis(long["epoch"])),
                y=alt.Y("value:Q", title=title, scale=scale),
                color=alt.Color(
                    "metric:N",
                    title=None,
                    legend=alt.Legend(orient="bottom"),
                    scale=alt.Scale(domain=list(dict.fromkeys(long["metric"])), range=categorical(len(cols))),
                ),
                tooltip=["metric:N", "epoch:Q", alt.Tooltip("value:Q", format=".4f")],
            )
            .properties(width=300, height=200)
        )
    if not charts:
        return None
    return alt.hconcat(*charts).resolve_scale(color="independent")


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """Render a chart to PNG bytes with vl-convert (no browser needed), in a child process
    (`seglab.viz.render`: a crash of the renderer cannot take the caller down)."""
    from seglab.viz.render import render_chart

    return render_chart(chart.to_json(), "png", scale)


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """Render a chart to SVG text with vl-convert, in a child process."""
    from seglab.viz.render import render_chart

    return render_chart(chart.to_json(), "svg").decode("utf-8")


# ---- mask grids (numpy only; the page shows them with st.image) ---------------------------
def prediction_tiles(
    predictions: dict[str, dict[str, Any]],
    run_ids: Sequence[str],
    split: str,
    index: int,
    *,
    errors: bool = False,
) -> list[tuple[np.ndarray | None, str]]:
    """One row of the visual comparison: image, ground truth, then each run's prediction.

    ``predictions`` maps run id → arrays from ``RunStore.predictions`` (``<split>_images``
    uint8 (N,H,W,3), ``<split>_masks``, ``<split>_preds`` (N,H,W), ``<split>_iou`` (N,)).
    With ``errors=True`` binary predictions are drawn as TP/FP/FN colours against the truth.
    Returns (RGB image or None, caption) pairs; None when a run has no such image.
    """
    reference = next((predictions[r] for r in run_ids if f"{split}_images" in predictions.get(r, {})), None)
    if reference is None or index >= len(reference[f"{split}_images"]):
        return []
    truth = reference[f"{split}_masks"][index]
    tiles: list[tuple[np.ndarray | None, str]] = [
        (reference[f"{split}_images"][index], f"{split} image {index + 1}"),
        (colorize_mask(truth), "ground truth"),
    ]
    for run_id in run_ids:
        arrays = predictions.get(run_id, {})
        preds = arrays.get(f"{split}_preds")
        if preds is None or index >= len(preds):
            tiles.append((None, "no prediction saved"))
            continue
        pred = preds[index]
        binary = (
            int(max(truth.max(initial=0), pred.max(initial=0))) <= 1
            and len(arrays.get("class_names", [0, 1])) <= 2
        )
        image = error_overlay(pred, truth) if errors and binary else colorize_mask(pred)
        ious = arrays.get(f"{split}_iou")
        iou = float(ious[index]) if ious is not None and index < len(ious) else float("nan")
        tiles.append((image, "IoU n/a" if iou != iou else f"IoU {iou:.2f}"))
    return tiles
