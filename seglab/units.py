"""How SegLab writes quantities for people: durations.

One format everywhere (estimates, the live queue's ETA, the command line), rounded the way
people say a duration: "40 s", "3.5 min", "1 h 20 min".
"""

from __future__ import annotations

import math
from typing import Any


def format_duration(seconds: Any, unknown: str = "unknown") -> str:
    """``seconds`` as people say it: '40 s', '3.5 min', '12 min', '1 h 20 min'; ``unknown``
    for anything that is not a finite number (a missing ETA, NaN).

    >>> format_duration(42), format_duration(210), format_duration(600), format_duration(4800)
    ('42 s', '3.5 min', '10 min', '1 h 20 min')
    >>> format_duration(None, unknown="-")
    '-'
    """
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return unknown
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{round(minutes)} min" if minutes >= 10 else f"{minutes:.1f} min".replace(".0 min", " min")
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def plural(n: int, word: str, many: str | None = None) -> str:
    """plural(1, 'loss') → '1 loss'; plural(4, 'loss', 'losses') → '4 losses'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
