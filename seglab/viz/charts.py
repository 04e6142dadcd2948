"""Study comparison charts as plain functions returning Altair charts (no Streamlit).

The four figures of the study — IoU vs epoch per architecture (coloured by loss), per loss
(coloured by architecture), the architecture × loss test-IoU heatmap with the best cell
marked, and the ranked bar chart — used by ``python -m seglab report`` and reusable by the
Results page. They accept the tables of :mod:`seglab.analysis.results_table` and delegate drawing to
:mod:`seglab.viz.results_charts`, so the app and the exported report share one colour
language (a loss has the same colour everywhere).

Inputs:

* ``history``: the long table of :func:`seglab.analysis.results_table.histories_frame`
  (``run_id, run, epoch, metric, value, arch, loss_label, seed, …``);
* ``runs``: :func:`seglab.analysis.results_table.runs_frame` (one row per run, then split into
  comparisons by `seglab.analysis.compare` and the first one drawn), or an already aggregated
  table (`seglab.analysis.compare.comparison_grid` / `summary_frame`, recognised by its
  ``mean`` column).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import altair as alt
import pandas as pd

from seglab.analysis.compare import build_comparisons, comparison_grid, comparison_seed_runs, summary_frame
from seglab.viz import results_charts as rc
from seglab.viz.render import ChartRenderError


def _registry_order(kind: str) -> list[str]:
    """Registry order of losses or architectures: colours follow it, so they never shuffle."""
    from seglab.losses import list_losses
    from seglab.models import list_models

    return list_losses() if kind == "loss" else list_models()


def loss_domain(frame: pd.DataFrame) -> list[str]:
    """Stable colour domain of the loss labels in ``frame`` (registry order first)."""
    values = frame["loss_label"] if "loss_label" in frame else pd.Series(dtype=str)
    preferred = _registry_order("loss")
    labels = list(dict.fromkeys(str(v) for v in values.dropna()))
    ordered = sorted(
        labels, key=lambda s: (preferred.index(s.split(" ")[0]) if s.split(" ")[0] in preferred else 99, s)
    )
    return rc.color_domain(ordered, preferred=ordered)


def arch_domain(frame: pd.DataFrame) -> list[str]:
    """Stable colour domain of the architectures in ``frame`` (registry order first)."""
    values = frame["arch"] if "arch" in frame else pd.Series(dtype=str)
    return rc.color_domain(list(values.dropna()), preferred=_registry_order("arch"))


def iou_curves_by_arch(history: pd.DataFrame, metric: str = "val_iou", columns: int = 3) -> alt.FacetChart:
    """Validation IoU vs epoch, one panel per architecture, a line per run coloured by loss."""
    return rc.curves_by_arch(history, metric, loss_domain=loss_domain(history), columns=columns)


def iou_curves_by_loss(history: pd.DataFrame, metric: str = "val_iou", columns: int = 3) -> alt.FacetChart:
    """Validation IoU vs epoch, one panel per loss, a line per run coloured by architecture."""
    return rc.curves_by_loss(history, metric, arch_domain=arch_domain(history), columns=columns)


def test_iou_heatmap(
    runs: pd.DataFrame, metric: str = "test_iou", title: str | None = None
) -> alt.LayerChart:
    """Architecture × loss heatmap of the seed-averaged ``metric``; the best cell (as ``best``
    marks it: `seglab.analysis.compare.comparison_grid` marks the one chosen on validation) is outlined
    and starred."""
    grid = runs if "mean" in runs else comparison_grid(build_comparisons(runs)[0], metric)
    return rc.arch_loss_heatmap(grid, metric, title=title)


def band_curves_by_arch(curves: pd.DataFrame, metric: str = "val_iou", columns: int = 3) -> alt.FacetChart:
    """Mean over seeds with a min–max band (`seglab.analysis.compare.seed_curves`), a panel per
    architecture, coloured by loss."""
    return rc.band_curves(
        curves, metric, facet="arch", color="loss_label", domain=loss_domain(curves), columns=columns
    )


def band_curves_by_loss(curves: pd.DataFrame, metric: str = "val_iou", columns: int = 3) -> alt.FacetChart:
    """Mean over seeds with a min–max band, a panel per loss, coloured by architecture (for a
    loss metric every panel gets its own y axis: different losses are not on one scale)."""
    return rc.band_curves(
        curves, metric, facet="loss_label", color="arch", domain=arch_domain(curves), columns=columns
    )


def ranked_bar(
    runs: pd.DataFrame, metric: str = "test_iou", *, seed_runs: pd.DataFrame | None = None
) -> alt.LayerChart:
    """Models ranked by seed-averaged ``metric``, best on top (± std and seed dots with several
    seeds). ``runs`` may be one row per run or an aggregate with a ``mean`` column, whose seed
    dots then come from ``seed_runs``."""
    if "mean" in runs:
        return rc.ranked_bars(runs, metric, loss_domain=loss_domain(runs), runs=seed_runs)
    first = build_comparisons(runs)[0]
    summary = summary_frame(first, metric)
    return rc.ranked_bars(summary, metric, loss_domain=loss_domain(summary), runs=comparison_seed_runs(first))


def save_chart(
    chart: alt.TopLevelMixin, stem: str | Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Write ``chart`` as ``<stem>.png`` / ``<stem>.svg`` (vl-convert, no browser); returns the paths."""
    stem = Path(stem)
    written = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        if fmt == "png":
            try:
                path.write_bytes(rc.chart_png(chart))
            except ChartRenderError as exc:  # e.g. a memory limit kills the renderer: keep the SVG
                if "svg" in formats:
                    warnings.warn(f"{path.name} not written: {exc}", stacklevel=2)
                    continue
                raise
        elif fmt == "svg":
            path.write_text(rc.chart_svg(chart), encoding="utf-8")
        else:
            raise ValueError(f"unsupported chart format {fmt!r}")
        written.append(path)
    return written
