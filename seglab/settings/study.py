"""`Study`: one definition of "a study" for the queue, the CLI and the Train page.

A study is a base `TrainConfig`, the config fields that vary (``axes``, e.g.
``{"arch": ["unet", "segnet"], "loss": ["bce", "focal"]}``), the parameters each loss (and each
model) gets, and the seeds every combination is repeated with. `Study.expand` turns it into
the list of configs the queue runs, in a fixed order: the axes in the order given (the first
one outermost), the seed innermost.

    study = Study(preset("quick"), {"arch": ["unet", "segnet"], "loss": ["bce", "focal"]},
                  loss_params={"focal": {"gamma": 3.0}}, seeds=parse_seeds("0-2"))
    group = JobQueue().enqueue_study(study)          # 12 jobs, one group

`parse_seeds` is the one seed syntax (CLI ``--seeds``, Train page, queue): ``"0-4"``,
``"0,1,2"`` or ``"0-2,5"``.

Data settings are axes too: ``"dataset_params.fg_fraction": [0.2, 0.05, 0.02]`` (or just
``"fg_fraction"``, a parameter of the base dataset) varies the foreground share of the procedural
data, and ``data_per_seed=True`` gives every seed its own draw of the data (the data seed follows
the run seed), so the spread over seeds includes the spread over data draws. A separate
``"dataset_params.seed"`` axis varies the draw independently of the seed instead.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from seglab.errors import ConfigError
from seglab.settings.config import TrainConfig

#: the most seeds one range may hold (a typo like 0-1000 should not queue a thousand runs)
MAX_SEED_RANGE = 100


def parse_seeds(text: str) -> list[int]:
    """'0, 1, 2' → [0, 1, 2]; '0-4' → [0..4]; '0-2,5' → [0, 1, 2, 5]; duplicates dropped.

    Raises ConfigError in plain words for anything else (negative numbers, words, a range
    that goes down or holds more than 100 seeds, nothing at all).
    """
    seeds: list[int] = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if len(seeds) > MAX_SEED_RANGE:  # a long list of ranges is refused before it is expanded
            raise ConfigError(f"give at most {MAX_SEED_RANGE} seeds in all.")
        span = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if span:
            low, high = int(span[1]), int(span[2])
            if high < low or high - low >= MAX_SEED_RANGE:
                raise ConfigError(
                    f"the seed range {part!r} should go upwards and hold at most {MAX_SEED_RANGE} seeds."
                )
            seeds.extend(range(low, high + 1))
            continue
        try:
            seeds.append(int(part))
        except ValueError:
            raise ConfigError(
                f"seeds must be whole numbers separated by commas, or ranges like 0-4 (e.g. 0-2,5), "
                f"not {part!r}."
            ) from None
    if not seeds:
        raise ConfigError("give at least one seed, e.g. 0.")
    if any(s < 0 for s in seeds):
        raise ConfigError("seeds must be 0 or larger.")
    seeds = list(dict.fromkeys(seeds))
    if len(seeds) > MAX_SEED_RANGE:
        raise ConfigError(f"give at most {MAX_SEED_RANGE} seeds in all, not {len(seeds)}.")
    return seeds


_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
#: an axis key ``"dataset_params.<name>"`` varies one parameter of the dataset
DATA_AXIS_PREFIX = "dataset_params."


def data_axis_key(key: str, dataset: str) -> str:
    """The axis key for ``key``: a config field stays itself; a parameter of ``dataset`` (or
    ``seed``, its data draw) becomes ``"dataset_params.<name>"``; anything else is returned
    unchanged (and refused by `Study`)."""
    if key in _FIELDS or key.startswith(DATA_AXIS_PREFIX):
        return key
    from seglab.data.registry import DATASETS, dataset_info

    if key == "seed" or (dataset in DATASETS and key in {p.name for p in dataset_info(dataset).params}):
        return DATA_AXIS_PREFIX + key
    return key


@dataclass
class Study:
    """A base config × the values of the varied fields × seeds, with per-loss / per-model params.

    * ``axes``: TrainConfig field → values to try (any field; ``seed`` belongs in ``seeds``).
    * ``loss_params``: loss name → its parameters; a loss not listed keeps the base config's
      ``loss_params`` when it is the base loss, else its defaults.
    * ``model_params``: architecture name → its options (same rule as ``loss_params``).
    * ``seeds``: every combination is trained once per seed; empty → the base config's seed.
    * ``data_per_seed``: each seed also draws its own data (``dataset_params["seed"]`` = the
      run seed), so seeds repeat both the training and the data draw.
    """

    base: TrainConfig
    axes: dict[str, list[Any]] = field(default_factory=dict)
    loss_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    name: str | None = None
    model_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_per_seed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.base, TrainConfig):
            raise ConfigError(f"a study needs a TrainConfig as its base, got {type(self.base).__name__}.")
        axes: dict[str, list[Any]] = {}
        for key, values in dict(self.axes).items():
            key = data_axis_key(key, self.base.dataset) if key != "seed" else key
            if key not in _FIELDS and not key.startswith(DATA_AXIS_PREFIX):
                raise ConfigError(
                    f"unknown config key {key!r}: a study can vary only config fields ({', '.join(_FIELDS)}) "
                    "or parameters of its dataset (e.g. fg_fraction)."
                )
            if self.data_per_seed and key == DATA_AXIS_PREFIX + "seed":
                raise ConfigError(
                    "with each seed drawing its own data, the data seed cannot be an axis as well."
                )
            if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
                raise ConfigError(f"study values for {key!r} must be a non-empty list.")
            axes[key] = list(dict.fromkeys(values)) if _hashable(values) else list(values)
        if "seed" in axes:  # one place for seeds
            self.seeds = [*self.seeds, *axes.pop("seed")]
        self.axes = axes
        self.seeds = [int(s) for s in dict.fromkeys(self.seeds)] if self.seeds else []
        if any(isinstance(s, bool) or s < 0 for s in self.seeds):
            raise ConfigError("seeds must be 0 or larger.")
        for what, params in (("loss_params", self.loss_params), ("model_params", self.model_params)):
            if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
                raise ConfigError(f"a study's {what} must map each name to a dict of parameters.")

    # ---- expansion ---------------------------------------------------------------------
    @property
    def run_seeds(self) -> list[int]:
        """The seeds each combination runs with (the base config's seed when none are given)."""
        return self.seeds or [self.base.seed]

    def expand(self) -> list[TrainConfig]:
        """One validated config per run: axes in order (first outermost), seed innermost."""
        keys = list(self.axes)
        configs = []
        base = self.base.to_dict()
        for combo in itertools.product(*(self.axes[k] for k in keys)):
            changes = dict(zip(keys, combo, strict=True))
            loss = changes.get("loss", self.base.loss)
            arch = changes.get("arch", self.base.arch)
            changes["loss_params"] = self._params_for(self.loss_params, loss, self.base.loss, "loss_params")
            changes["model_params"] = self._params_for(
                self.model_params, arch, self.base.arch, "model_params"
            )
            data = {
                k[len(DATA_AXIS_PREFIX) :]: changes.pop(k) for k in keys if k.startswith(DATA_AXIS_PREFIX)
            }
            if data:
                changes["dataset_params"] = {**base["dataset_params"], **data}
            for seed in self.run_seeds:
                run = base | changes | {"seed": seed}
                if self.data_per_seed:
                    run["dataset_params"] = {**run["dataset_params"], "seed": seed}
                configs.append(type(self.base).from_dict(run))
        return configs

    def _params_for(
        self, table: dict[str, dict[str, Any]], name: str, base_name: str, fld: str
    ) -> dict[str, Any]:
        if name in table:
            return dict(table[name])
        if name == base_name:
            return dict(getattr(self.base, fld))
        return {}

    @property
    def n_runs(self) -> int:
        n = len(self.run_seeds)
        for values in self.axes.values():
            n *= len(values)
        return n

    def varied_fields(self) -> list[str]:
        """Config fields that differ between the study's runs (axes with 2+ values, then seed)."""
        fields = [k for k, v in self.axes.items() if len(v) > 1]
        if self.data_per_seed and len(self.run_seeds) > 1:
            fields.append(DATA_AXIS_PREFIX + "seed")
        if len(self.run_seeds) > 1:
            fields.append("seed")
        return fields

    def grid(self) -> dict[str, list[Any]]:
        """The axes plus the seeds as one ``field → values`` dict (what older code calls a grid)."""
        return {**self.axes, "seed": list(self.run_seeds)}

    def default_name(self) -> str:
        """'2 archs × 4 losses × 1 seed on shapes' for the usual arch × loss study, else the axes."""
        from seglab.settings.config import dataset_display_name

        dataset = dataset_display_name(self.base.dataset)
        parts = []
        keys = [k for k in ("arch", "loss") if k in self.axes] + [
            k for k in self.axes if k not in ("arch", "loss")
        ]
        for key in keys:
            values = self.axes[key]
            short = key.removeprefix(DATA_AXIS_PREFIX)
            word = {"arch": ("arch", "archs"), "loss": ("loss", "losses")}.get(key, (short, short))
            parts.append(f"{len(values)} {word[0] if len(values) == 1 else word[1]}")
        seeds = len(self.run_seeds)
        parts.append(
            f"{seeds} seed{'' if seeds == 1 else 's'}" + (" (own data each)" if self.data_per_seed else "")
        )
        return " × ".join(parts) + f" on {dataset}"

    # ---- (de)serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base.to_dict(),
            "axes": {k: list(v) for k, v in self.axes.items()},
            "loss_params": {k: dict(v) for k, v in self.loss_params.items()},
            "model_params": {k: dict(v) for k, v in self.model_params.items()},
            "seeds": list(self.seeds),
            "name": self.name,
            "data_per_seed": self.data_per_seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Study:
        if not isinstance(data, dict) or "base" not in data:
            raise ConfigError("a study must be a JSON object with at least a 'base' config.")
        return cls(
            base=TrainConfig.from_dict(data["base"]),
            axes=dict(data.get("axes") or {}),
            loss_params=dict(data.get("loss_params") or {}),
            seeds=list(data.get("seeds") or []),
            name=data.get("name"),
            model_params=dict(data.get("model_params") or {}),
            data_per_seed=bool(data.get("data_per_seed", False)),
        )


def _hashable(values: Any) -> bool:
    try:
        dict.fromkeys(values)
    except TypeError:
        return False
    return True
