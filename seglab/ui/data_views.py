"""What the Data page's built-in tab shows, made once per setting and shared by every session.

The rules of :mod:`seglab.ui.loss_lab_views`. A module of the library, not the page script:
Streamlit runs a page script afresh on every full page run, so a cache defined there would
start empty for each student who opens the page.
"""

from __future__ import annotations

from functools import lru_cache

from seglab.teach import data_page as dp
from seglab.ui.chart_view import chart_spec
from seglab.ui.common import read_only
from seglab.viz.metric_charts import class_balance_chart


@lru_cache(maxsize=8)
def generated(name: str, size: int, n: int, seed: int, params: tuple) -> dp.DataView:
    """A built-in dataset as the page draws it (read-only arrays; ``params``: sorted (name,
    value) pairs). Shared, where ``st.cache_data`` gave every session and move a copy: up to
    45 MB of unpickling at 256 images of 128 px."""
    view = dp.generate_view(name, size=size, n=n, seed=seed, params=dict(params))
    read_only(view.images, view.masks)
    return view


def balance(view: dp.DataView, present: bool) -> tuple[dict, str]:
    """The class-balance chart of ``view`` (a Vega-Lite spec) and its note."""
    shares = dp.class_balance(view)
    return chart_spec(class_balance_chart(shares), present), dp.imbalance_note(shares)


@lru_cache(maxsize=32)
def generated_balance(key: tuple, present: bool) -> tuple[dict, str]:
    """:func:`balance` of ``generated(*key)``."""
    return balance(generated(*key), present)
