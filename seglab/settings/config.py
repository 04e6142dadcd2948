"""`TrainConfig`: the one typed configuration that flows UI → job queue → engine → stored run."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from seglab.errors import ConfigError
from seglab.settings.schema import check_setting, default_of


@dataclass
class TrainConfig:
    """Everything a training run needs. Saved beside the run's weights as ``config.json``.

    Every default, range and help text lives in `seglab.settings.schema` (one declaration per
    field); the comments here only say what a field is.
    """

    # data
    dataset: str = default_of("dataset")  # a registered dataset name, or a folder / .zip path
    dataset_params: dict[str, Any] = field(default_factory=dict)
    size: int = default_of("size")
    n: int | None = default_of("n")  # number of samples; None = the dataset's default
    split_seed: int = default_of("split_seed")
    val_fraction: float = default_of("val_fraction")
    test_fraction: float = default_of("test_fraction")
    # model
    arch: str = default_of("arch")
    width: int = default_of("width")
    depth: int = default_of("depth")
    model_params: dict[str, Any] = field(default_factory=dict)  # the model's own options (see model_info)
    # loss
    loss: str = default_of("loss")
    loss_params: dict[str, Any] = field(default_factory=dict)
    # optimisation
    optimizer: str = default_of("optimizer")
    lr: float = default_of("lr")
    weight_decay: float = default_of("weight_decay")
    lr_schedule: str = default_of("lr_schedule")
    batch_size: int = default_of("batch_size")
    epochs: int = default_of("epochs")
    augment: bool = default_of("augment")
    seed: int = default_of("seed")
    # execution
    device: str = default_of("device")
    precision: str = default_of("precision")
    num_threads: int | None = default_of("num_threads")  # None = engine default
    # cross-validation (see seglab.data.folds.fold_splits and seglab.analysis.tune): with ``folds`` = K,
    # the train+validation pool is cut into K folds; ``fold`` = k trains on the other folds and
    # validates on fold k (no test evaluation); ``fold`` = None trains on the whole pool (the
    # final run of a tuning) and is evaluated once on the test split, which CV never touches.
    folds: int | None = default_of("folds")
    fold: int | None = default_of("fold")
    # transfer learning (applied by the engine at setup; see seglab.models.transfer)
    encoder_weights: str | None = default_of("encoder_weights")  # torchvision-layout weights file
    init_from: str | None = default_of("init_from")  # id of a stored run whose best weights start this one
    init_scope: str = default_of("init_scope")  # what --init-from copies: encoder | all
    freeze_encoder_epochs: int = default_of("freeze_encoder_epochs")  # 0 never; N first N; -1 whole run

    def __post_init__(self) -> None:
        self.validate()

    # ---- validation -------------------------------------------------------------------
    def validate(self) -> None:
        """Check types and ranges; raise ConfigError naming the field in plain words."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not _matches(value, hints[f.name]):
                raise ConfigError(
                    f"config field {f.name!r} should be {_describe(hints[f.name])}, got {value!r}."
                )
        if self.dataset_params or self.loss_params:
            # Range-checked before anything is built; only configs with such parameters import
            # the registries (and torch) that hold their ParamSpecs.
            from seglab.settings.param_checks import check_config_params

            check_config_params(self)
        self._validate_folds_and_transfer()
        for f in dataclasses.fields(self):
            if not isinstance(getattr(self, f.name), dict):
                check_setting(f.name, getattr(self, f.name))  # bounds and choices from the schema
        if self.size < 2**self.depth:
            raise ConfigError(
                f"size {self.size} is too small for depth {self.depth}: need ≥ {2**self.depth}."
            )
        if self.val_fraction + self.test_fraction >= 1:
            raise ConfigError("val_fraction + test_fraction must leave some data for training.")
        if self.model_params:
            # Only configs with model options pay for importing the models (and torch).
            from seglab.models import check_model_params

            check_model_params(self.arch, self.model_params)

    def _validate_folds_and_transfer(self) -> None:
        if self.folds is not None and self.folds < 2:
            raise ConfigError(f"cross-validation needs at least 2 folds, got folds={self.folds}.")
        if self.fold is not None:
            if self.folds is None:
                raise ConfigError("fold needs folds (how many folds the pool is cut into).")
            if not 0 <= self.fold < self.folds:
                raise ConfigError(f"fold must lie between 0 and {self.folds - 1}, got {self.fold}.")
        # Whether the weights file and the run exist is checked where they are used (CLI, engine):
        # a stored run's config must stay readable after its source file is moved away.
        if self.encoder_weights is not None and not self.encoder_weights.strip():
            raise ConfigError("encoder_weights must be the path of a weights file, not an empty text.")
        if self.init_from is not None and not self.init_from.strip():
            raise ConfigError("init_from must name a stored run (its id), not an empty text.")

    # ---- (de)serialisation ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"a config must be a JSON object, got {type(data).__name__}.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown config key(s): {', '.join(unknown)}. Valid keys: {', '.join(sorted(known))}."
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated); unknown names raise ConfigError."""
        return TrainConfig.from_dict(self.to_dict() | changes)

    def with_absolute_paths(self) -> TrainConfig:
        """A copy whose dataset folder / zip and encoder weights file are absolute paths, so a
        worker running in another directory finds them (done when a job is queued). Registered
        dataset names and paths that do not exist are left as they are."""
        from pathlib import Path

        changes: dict[str, Any] = {}
        if self.encoder_weights and Path(self.encoder_weights).expanduser().exists():
            changes["encoder_weights"] = str(Path(self.encoder_weights).expanduser().resolve())
        path = Path(self.dataset).expanduser()
        if not path.is_absolute() and path.exists():
            from seglab.data import list_datasets  # a registered name wins over a same-named folder

            if self.dataset not in list_datasets():
                changes["dataset"] = str(path.resolve())
        elif path.is_absolute() and str(path) != self.dataset:
            changes["dataset"] = str(path)
        if self.encoder_weights and changes.get("encoder_weights") == self.encoder_weights:
            del changes["encoder_weights"]
        return self.replace(**changes) if changes else self

    def label(self) -> str:
        """Short human name, e.g. 'unet · bce_dice · shapes' ('… · cells' for a saved upload)."""
        return f"{self.arch} · {self.loss} · {dataset_display_name(self.dataset)}"


def dataset_display_name(dataset: str) -> str:
    """How pages, reports and warnings name a dataset: a registered name as it is, a folder or
    .zip by its own name without the path (a saved upload ``…/datasets/cells.zip`` → ``cells``,
    the name it was saved under)."""
    text = str(dataset)
    if "/" not in text and "\\" not in text and not text.lower().endswith(".zip"):
        return text
    path = PurePath(text.rstrip("/\\"))
    return (path.stem if path.suffix.lower() == ".zip" else path.name) or text


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is Any:
        return True
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is dict:
        return "an object"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))
