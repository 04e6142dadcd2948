"""The old import path of `seglab.analysis.inspect` (before the layout by pipeline stage).

Kept so scripts written against ``seglab.inspect`` (the bug-report cases in ``../shared/cases``,
students' notebooks) keep working; new code imports `seglab.analysis.inspect`. Names are looked
up on first use, so importing ``seglab`` alone never loads the analysis layer.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    from seglab.analysis import inspect as moved

    return getattr(moved, name)
