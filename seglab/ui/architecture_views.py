"""What the Architectures page shows, built once per distinct setting and shared by every session.

The rules of :mod:`seglab.ui.loss_lab_views`: ``functools.lru_cache`` keyed by the widget
values, read-only values (graph dicts only read by the drawing code, DOT text, Arrow tables,
Vega-Lite specs). A move of the width or depth slider reran the whole page, unpickled the
cached layer table and rebuilt the comparison chart: about 60 ms of server time per move under
load (issue 22: a class moves these sliders together).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pyarrow as pa

from seglab.teach import architectures as arch
from seglab.ui.chart_view import chart_spec
from seglab.viz.arch_diagram import graph_to_dot, legend_html
from seglab.viz.metric_charts import size_comparison_chart


@lru_cache(maxsize=256)
def model_view(name: str, width: int, depth: int, size: int, options: tuple) -> dict[str, Any]:
    """The model built with these settings (``options``: sorted (name, value) pairs): its graph,
    diagram (DOT) and legend, its layer table (Arrow), parameters used and stored, MACs."""
    graph = arch.graph_for(name, width, depth, **dict(options))
    layers, total_params, macs = arch.layer_table(name, width, depth, size, **dict(options))
    return {
        "graph": graph,
        "dot": graph_to_dot(graph, image_size=size),
        "legend": legend_html(graph),
        "layers": pa.Table.from_pandas(layers, preserve_index=False),
        "n_layers": len(layers),
        "used_params": int(layers["parameters"].sum()),
        "total_params": total_params,
        "macs": macs,
    }


@lru_cache(maxsize=128)
def comparison_view(width: int, depth: int, size: int, name: str, present: bool) -> dict:
    """Every registered model's parameters and MACs at these settings, ``name`` highlighted."""
    return chart_spec(size_comparison_chart(_comparison(width, depth, size), name), present)


@lru_cache(maxsize=32)
def _comparison(width: int, depth: int, size: int) -> Any:
    return arch.size_comparison(width, depth, size)


@lru_cache(maxsize=1)
def overview() -> pa.Table:
    """One row per registered model (the page's closing table)."""
    return pa.Table.from_pandas(arch.architecture_overview(), preserve_index=False)
