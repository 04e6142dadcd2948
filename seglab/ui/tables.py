"""Tables shown to students: an undefined value is written "–", never "None" or "nan"."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
import streamlit as st

DASH = "–"


def is_undefined(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def dash_missing(frame: pd.DataFrame, columns: Iterable[str], digits: int = 3) -> pd.DataFrame:
    """A copy of ``frame`` whose ``columns`` are numbers written with ``digits`` decimals, or
    :data:`DASH` where the value is undefined (a class never predicted has no precision)."""
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = [DASH if is_undefined(v) else f"{float(v):.{digits}f}" for v in out[column]]
    return out


def text_columns(columns: Iterable[str], **configs: Any) -> dict[str, Any]:
    """Right-aligned text columns for numbers written by :func:`dash_missing`."""
    return {c: st.column_config.TextColumn(configs.get(c, c)) for c in columns}
