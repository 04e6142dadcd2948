"""A tiny name → entry registry shared by datasets, models and losses.

The UI and the tests read registries instead of hard-coding lists, so registering a new
model or loss makes it appear everywhere.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from seglab.errors import ConfigError, UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class ParamSpec:
    """One user-tunable parameter, described well enough to build a widget for it."""

    name: str
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    help: str = ""
    choices: tuple[Any, ...] | None = None


MAX_TEXT_PARAM = 4096  # characters in a text parameter (a path)
MAX_LIST_PARAM = 256  # values in a list parameter (one weight per class)


def _number_text(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_param(spec: ParamSpec, value: Any, where: str, error: type[Exception] = ConfigError) -> Any:
    """``value`` checked against ``spec`` before anything is built from it; returns it as the
    type the spec wants (an ``int`` for whole-number parameters).

    The rule, the same for every dataset and loss parameter (``where`` names it in the
    message; ``error`` is the `SegLabError` subclass to raise, one plain sentence):

    * ``choices``: the value must be one of them;
    * a spec with ``min``/``max`` (or a numeric default) wants a finite number — not text,
      not a list, not ``true``/``false``, not NaN — inside ``[min, max]``, and a whole number
      when the default is an ``int`` (or the default is None and ``step`` is whole);
    * a text default (focal's ``"auto"``) also accepts exactly that text, and a list of
      numbers in range (one per class, at most `MAX_LIST_PARAM`);
    * a spec with neither range nor numeric default wants text or a path, or None.
    """
    if spec.choices is not None:
        if value not in spec.choices or isinstance(value, bool) != isinstance(spec.choices[0], bool):
            raise error(
                f"{where} must be one of {', '.join(map(repr, spec.choices))}, got {_number_text(value)}."
            )
        return value
    if value is None:
        if spec.default is None:
            return None
        raise error(f"{where} needs a value, got none.")
    numeric_default = isinstance(spec.default, (int, float)) and not isinstance(spec.default, bool)
    numeric = numeric_default or spec.min is not None or spec.max is not None
    if not numeric:
        if isinstance(value, os.PathLike) or (isinstance(value, str) and len(value) <= MAX_TEXT_PARAM):
            return value
        raise error(f"{where} must be text, got {_number_text(value)}.")
    if isinstance(spec.default, str):
        if value == spec.default:
            return value
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= MAX_LIST_PARAM:
                raise error(f"{where} must list between 1 and {MAX_LIST_PARAM} numbers, got {len(value)}.")
            return [_check_number(spec, v, where, error) for v in value]
    return _check_number(spec, value, where, error)


def _check_number(spec: ParamSpec, value: Any, where: str, error: type[Exception]) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        extra = f' or "{spec.default}"' if isinstance(spec.default, str) else ""
        raise error(f"{where} must be a number{extra}, got {_number_text(value)}.")
    try:
        number = float(value)
    except OverflowError:
        raise error(f"{where} is far too large: {_number_text(value)}.") from None
    if not math.isfinite(number):
        raise error(f"{where} must be a finite number, got {_number_text(value)}.")
    whole = (isinstance(spec.default, int) and not isinstance(spec.default, bool)) or (
        spec.default is None and spec.step is not None and float(spec.step).is_integer()
    )
    if whole and not number.is_integer():
        raise error(f"{where} must be a whole number, got {_number_text(value)}.")
    below = spec.min is not None and number < spec.min
    above = spec.max is not None and number > spec.max
    if below or above:
        if spec.min is not None and spec.max is not None:
            rule = f"lie between {spec.min:g} and {spec.max:g}"
        else:
            rule = f"be at least {spec.min:g}" if below else f"be at most {spec.max:g}"
        raise error(f"{where} must {rule}, got {_number_text(value)}.")
    return int(number) if whole else value


@dataclass
class Registry(Generic[T]):
    """Maps names to entries, in registration order."""

    kind: str
    _entries: dict[str, T] = field(default_factory=dict)

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str, make_entry: Callable[[Any], T]) -> Callable[[Any], Any]:
        """Decorator form: ``@REG.register("x", lambda obj: Entry(obj, ...))``."""

        def deco(obj: Any) -> Any:
            self.add(name, make_entry(obj))
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(self._entries) or "(none registered)"
            raise UnknownNameError(f"Unknown {self.kind} {name!r}. Valid names: {valid}.") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
