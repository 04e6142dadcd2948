"""The model registry: ``create_model``, ``list_models``, ``model_info``.

Each architecture file registers its class with `register_model`, giving the title and the
plain-words summary the app shows. The UI and tests read this registry, so a new
architecture appears everywhere as soon as its module is imported in ``__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seglab.models.base import ModelConfigError, SegModel
from seglab.registry import ParamSpec, Registry

#: what kind of connection carries detail from encoder to decoder (used by the UI)
LINK_KINDS = ("pool-indices", "concat-skips", "nested-skips", "score-fusion", "pyramid")


@dataclass(frozen=True)
class ModelEntry:
    """Everything the app needs to know about one architecture."""

    name: str
    cls: type[SegModel]
    title: str
    summary: str
    link_kind: str
    params: tuple[ParamSpec, ...] = field(default_factory=tuple)

    @property
    def downsample(self) -> str:
        return self.cls.downsample

    @property
    def upsample(self) -> str:
        return self.cls.upsample


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(
    name: str,
    *,
    title: str,
    summary: str,
    link_kind: str,
    params: tuple[ParamSpec, ...] = (),
) -> Callable[[type[SegModel]], type[SegModel]]:
    """Class decorator adding an architecture to the registry under ``name``."""
    if link_kind not in LINK_KINDS:
        raise ValueError(f"link_kind {link_kind!r} is not one of {LINK_KINDS}")

    def deco(cls: type[SegModel]) -> type[SegModel]:
        cls.arch = name
        MODELS.add(name, ModelEntry(name, cls, title, " ".join(summary.split()), link_kind, tuple(params)))
        return cls

    return deco


def create_model(
    name: str,
    *,
    in_channels: int = 3,
    num_classes: int = 1,
    width: int = 16,
    depth: int = 3,
    **kw: Any,
) -> SegModel:
    """Build the architecture registered as ``name``.

    ``width`` = channels at full resolution (doubling at each level), ``depth`` = number of
    down-sampling stages. Architecture-specific options (see ``model_info(name).params``)
    go in ``kw``. Unknown names raise `UnknownNameError`; bad values `ModelConfigError`.
    """
    entry = MODELS.get(name)
    allowed = {p.name for p in entry.params}
    unknown = sorted(set(kw) - allowed)
    if unknown:
        options = ", ".join(sorted(allowed)) or "none"
        raise ModelConfigError(
            f"model {name!r} has no option {', '.join(map(repr, unknown))}. Its options: {options}."
        )
    return entry.cls(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth, **kw)


def list_models() -> list[str]:
    """Registered architecture names, in registration order."""
    return MODELS.names()


def model_info(name: str) -> ModelEntry:
    """The registry entry (title, summary, link_kind, params, …) for ``name``."""
    return MODELS.get(name)
