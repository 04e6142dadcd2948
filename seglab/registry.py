"""A tiny name → entry registry shared by datasets, models and losses.

The UI and the tests read registries instead of hard-coding lists, so registering a new
model or loss makes it appear everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from seglab.errors import UnknownNameError

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
