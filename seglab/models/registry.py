"""The model registry: ``create_model``, ``list_models``, ``model_info``.

Each architecture file registers its class with `register_model`, giving the title and the
plain-words summary the app shows. The UI and tests read this registry, so a new
architecture appears everywhere as soon as its module is imported in ``__init__.py``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seglab.models.base import ModelConfigError, SegModel
from seglab.models.link_kinds import LINK_KINDS as _LINK_KIND_TABLE
from seglab.registry import ParamSpec, Registry

#: what kind of connection carries detail from encoder to decoder: the one vocabulary of
#: `seglab.models.link_kinds` (style and explanation included)
LINK_KINDS = _LINK_KIND_TABLE


@dataclass(frozen=True)
class ModelEntry:
    """Everything the app needs to know about one architecture."""

    name: str
    cls: type[SegModel]
    title: str
    summary: str
    link_kind: str
    params: tuple[ParamSpec, ...] = field(default_factory=tuple)
    #: True when ``model(x, return_aux=True)`` gives deep-supervision side outputs (every
    #: built-in model does; a plugged-in model without side heads registers ``uses_aux=False``)
    uses_aux: bool = True

    @property
    def downsample(self) -> str:
        return self.cls.downsample

    @property
    def upsample(self) -> str:
        return self.cls.upsample

    @property
    def prunable(self) -> bool:
        """Whether a trained model can be cut to a shallower one (``model.prune(level)``)."""
        return bool(self.cls.prunable)


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(
    name: str,
    *,
    title: str,
    summary: str,
    link_kind: str,
    params: tuple[ParamSpec, ...] = (),
    uses_aux: bool = True,
) -> Callable[[type[SegModel]], type[SegModel]]:
    """Class decorator adding an architecture to the registry under ``name``.

    Each ``ParamSpec`` must name a keyword of the class's ``__init__``; its default is taken
    from that signature (the class is the one source of truth). ``uses_aux`` says the model
    returns deep-supervision side outputs with ``return_aux=True``.
    """
    if link_kind not in LINK_KINDS:
        raise ValueError(
            f"link_kind {link_kind!r} is not one of {', '.join(LINK_KINDS)}; "
            "add a new kind with seglab.models.link_kinds.register_link_kind"
        )

    def deco(cls: type[SegModel]) -> type[SegModel]:
        cls.arch = name
        specs = _defaults_from_signature(cls, params)
        entry = ModelEntry(name, cls, title, " ".join(summary.split()), link_kind, specs, uses_aux=uses_aux)
        MODELS.add(name, entry)
        return cls

    return deco


def _defaults_from_signature(cls: type, params: tuple[ParamSpec, ...]) -> tuple[ParamSpec, ...]:
    """``params`` with each default replaced by the default of ``cls.__init__``."""
    signature = inspect.signature(cls.__init__)
    out = []
    for spec in params:
        arg = signature.parameters.get(spec.name)
        if arg is None or arg.default is inspect.Parameter.empty:
            raise ValueError(f"{cls.__name__}.__init__ has no keyword {spec.name!r} with a default")
        out.append(dataclasses.replace(spec, default=arg.default))
    return tuple(out)


def check_model_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check ``params`` against the options model ``name`` declares; return them unchanged.

    Raises ``ModelConfigError`` (a ``ConfigError``) in plain words for an unknown option, a
    value of the wrong type, one outside its range or not among its choices.
    """
    entry = MODELS.get(name)
    specs = {p.name: p for p in entry.params}
    for key, value in params.items():
        spec = specs.get(key)
        if spec is None:
            options = ", ".join(specs) or "none"
            raise ModelConfigError(f"model {name!r} has no option {key!r}. Its options: {options}.")
        _check_value(name, spec, value)
    return params


def _check_value(model: str, spec: ParamSpec, value: Any) -> None:
    where = f"model option {spec.name!r} of {model!r}"
    if spec.choices is not None:
        if value not in spec.choices or isinstance(value, bool) != isinstance(spec.choices[0], bool):
            allowed = ", ".join(map(repr, spec.choices))
            raise ModelConfigError(f"{where} must be one of {allowed}, got {value!r}.")
        return
    if value is None:
        if spec.default is None:
            return
        raise ModelConfigError(f"{where} needs a value, got none.")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelConfigError(f"{where} must be a number, got {value!r}.")
    whole = spec.step is not None and float(spec.step).is_integer() or isinstance(spec.default, int)
    if whole and not (isinstance(value, int) or float(value).is_integer()):
        raise ModelConfigError(f"{where} must be a whole number, got {value!r}.")
    if not math.isfinite(value):
        raise ModelConfigError(f"{where} must be a finite number, got {value!r}.")
    if spec.min is not None and value < spec.min:
        raise ModelConfigError(f"{where} must be at least {spec.min:g}, got {value!r}.")
    if spec.max is not None and value > spec.max:
        raise ModelConfigError(f"{where} must be at most {spec.max:g}, got {value!r}.")


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
    check_model_params(name, kw)
    return entry.cls(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth, **kw)


def list_models() -> list[str]:
    """Registered architecture names, in registration order."""
    return MODELS.names()


def model_info(name: str) -> ModelEntry:
    """The registry entry (title, summary, link_kind, params, …) for ``name``."""
    return MODELS.get(name)
