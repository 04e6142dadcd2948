"""The dataset registry and `make_dataset`, the one door through which every dataset comes in.

Procedural datasets register a *builder* — a function that draws a whole batch of samples
with vectorised torch code — together with a `DatasetInfo` the UI reads to build widgets.
Anything that is not a registered name is treated as a folder or ``.zip`` path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch

from seglab.data.dataset import SegDataset
from seglab.errors import ConfigError, DatasetError, UnknownNameError
from seglab.registry import ParamSpec, Registry, check_param

MIN_SIZE = 8
MAX_SIZE = 1024
MAX_SAMPLES = 100_000
MAX_CLASSES = 256  # masks hold one byte per pixel; more classes than that is a mistake
#: What a folder or .zip dataset accepts (``dataset_params`` of a path), checked like any ParamSpec.
FOLDER_PARAMS = (
    ParamSpec(
        "num_classes", None, min=2, max=MAX_CLASSES, step=1, help="Number of classes, background included."
    ),
    ParamSpec("extract_to", None, help="Folder to unpack a .zip dataset into (kept afterwards)."),
)
# Samples are drawn in chunks of about this many pixels: small enough to stay in the CPU
# cache (which makes elementwise torch ops several times faster), large enough to vectorise.
CPU_CHUNK_PIXELS = 1 << 20
GPU_CHUNK_PIXELS = 1 << 24


class Generated(NamedTuple):
    """One batch drawn by a builder: images (n,3,H,W) float32, masks (n,H,W) int64, instances or None."""

    images: torch.Tensor
    masks: torch.Tensor
    instances: torch.Tensor | None


def model_out_channels(num_classes: int) -> int:
    """A dataset's class count → a model's output channels.

    ``num_classes`` means classes for datasets (2 for binary) and output channels for models:
    binary data (2 classes) use one sigmoid channel; K > 2 classes use K softmax channels.
    """
    return 1 if num_classes == 2 else num_classes


@dataclass(frozen=True)
class DatasetInfo:
    """What the UI and the docs need to know about a registered dataset."""

    name: str
    title: str
    description: str  # a sentence or two for students
    num_classes: int
    class_names: list[str]
    params: list[ParamSpec] = field(default_factory=list)
    default_n: int = 512
    has_instances: bool = False

    @property
    def binary(self) -> bool:
        """True for two-class datasets (trained with a one-channel sigmoid head)."""
        return self.num_classes == 2

    def param(self, name: str) -> ParamSpec:
        """The `ParamSpec` called ``name``."""
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass(frozen=True)
class DatasetEntry:
    """A registered dataset: its description and the function that draws it."""

    info: DatasetInfo
    build: Callable[..., Generated]


DATASETS: Registry[DatasetEntry] = Registry("dataset")


def register_dataset(info: DatasetInfo) -> Callable[[Callable[..., Generated]], Callable[..., Generated]]:
    """Decorator registering a builder under ``info.name``."""

    def deco(build: Callable[..., Generated]) -> Callable[..., Generated]:
        DATASETS.add(info.name, DatasetEntry(info=info, build=build))
        return build

    return deco


def list_datasets() -> list[str]:
    """Names of the procedural datasets, in registration order."""
    return DATASETS.names()


def dataset_info(name: str) -> DatasetInfo:
    """The `DatasetInfo` of a registered dataset (unknown names raise `UnknownNameError`)."""
    return DATASETS.get(name).info


def resolve_data_device(device: torch.device | str | None) -> torch.device:
    """None → CPU; "auto"/"cpu"/"cuda"/"mps" via `seglab.device`; anything else as torch reads it."""
    from seglab.device import DEVICE_CHOICES, resolve_device

    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device in DEVICE_CHOICES:
        return resolve_device(device)
    return torch.device(device)


def check_params(info: DatasetInfo, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, types coerced, ranges checked; bad names or values raise ConfigError."""
    known = {spec.name: spec for spec in info.params}
    unknown = sorted(set(params) - set(known))
    if unknown:
        valid = ", ".join(known) or "none"
        raise ConfigError(
            f"Dataset {info.name!r} has no parameter {', '.join(map(repr, unknown))}. Valid parameters: {valid}."
        )
    values: dict[str, Any] = {}
    for name, spec in known.items():
        value = params.get(name, spec.default)
        values[name] = check_param(spec, value, f"Parameter {name!r} of dataset {info.name!r}")
    return values


def check_folder_params(params: dict[str, Any], *, is_zip: bool = True) -> dict[str, Any]:
    """The ``dataset_params`` of a folder / .zip dataset, checked with `FOLDER_PARAMS`
    (``seed`` aside, which only procedural datasets use); bad names or values raise ConfigError."""
    specs = {spec.name: spec for spec in FOLDER_PARAMS if is_zip or spec.name != "extract_to"}
    unknown = sorted(set(params) - set(specs) - {"seed"})
    if unknown:
        raise ConfigError(
            f"A folder or .zip dataset accepts only {', '.join(specs)}, not {', '.join(map(repr, unknown))}."
        )
    return {
        name: check_param(specs[name], value, f"Dataset parameter {name!r}")
        for name, value in params.items()
        if name != "seed"
    }


def _check_size_and_n(size: int, n: int) -> None:
    if not (MIN_SIZE <= size <= MAX_SIZE):
        raise ConfigError(f"Image size must lie between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}.")
    if not (1 <= n <= MAX_SAMPLES):
        raise ConfigError(f"Number of samples must lie between 1 and {MAX_SAMPLES}, got {n}.")


def generate(
    name: str,
    *,
    size: int = 64,
    n: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    **params: Any,
) -> SegDataset:
    """Draw a registered procedural dataset (see `make_dataset`)."""
    entry = DATASETS.get(name)
    info = entry.info
    values = check_params(info, params)
    n = info.default_n if n is None else int(n)
    size = int(size)
    _check_size_and_n(size, n)
    dev = resolve_data_device(device)
    generator = torch.Generator(device=dev)
    generator.manual_seed(int(seed))
    budget = CPU_CHUNK_PIXELS if dev.type == "cpu" else GPU_CHUNK_PIXELS
    chunk = max(1, budget // (size * size))
    parts = [
        entry.build(min(chunk, n - start), size, generator, dev, **values) for start in range(0, n, chunk)
    ]
    images = torch.cat([p.images for p in parts]) if len(parts) > 1 else parts[0].images
    masks = torch.cat([p.masks for p in parts]) if len(parts) > 1 else parts[0].masks
    instances = None
    if parts[0].instances is not None:
        instances = torch.cat([p.instances for p in parts]) if len(parts) > 1 else parts[0].instances
    return SegDataset(
        images,
        masks,
        num_classes=info.num_classes,
        class_names=info.class_names,
        name=name,
        instances=instances,
        meta={"source": "procedural", "seed": int(seed), "size": size, "n": n, "params": values},
    )


def _exists(path: Path) -> bool:
    """``path.exists()`` that turns a name the file system refuses (too long, a NUL) into a
    plain `DatasetError` instead of an ``OSError``."""
    try:
        return path.exists()
    except (OSError, ValueError) as exc:
        raise DatasetError(f"'{str(path)[:80]}…' cannot be a dataset path: {exc.strerror or exc}.") from None


def make_dataset(
    name_or_path: str | Path,
    *,
    size: int = 64,
    n: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    **params: Any,
) -> SegDataset:
    """Build a dataset from a registered name (``shapes``, ``aerial``, ``cells``) or a folder/.zip path.

    Procedural datasets are drawn deterministically from ``seed`` directly on ``device``
    (default CPU). Folder and zip datasets are read with Pillow, resized to ``size``×``size``
    and limited to their first ``n`` samples (sorted by file name) when ``n`` is given; they
    accept ``num_classes=`` and, for zips, ``extract_to=``. Bad parameters raise
    `ConfigError`, unusable files raise `DatasetError`, unknown names `UnknownNameError`.
    """
    key = str(name_or_path)
    if not isinstance(name_or_path, Path) and key in DATASETS:
        return generate(key, size=size, n=n, seed=seed, device=device, **params)
    path = Path(name_or_path).expanduser()
    if _exists(path):
        from seglab.data.folder import load_path

        size = int(size)
        _check_size_and_n(size, 1 if n is None else int(n))
        params = check_folder_params(params, is_zip=path.is_file())
        dataset = load_path(path, size=size, n=n, **params)
        return dataset.to(resolve_data_device(device))
    if isinstance(name_or_path, Path) or "/" in key or "\\" in key or key.lower().endswith(".zip"):
        raise DatasetError(f"No dataset folder or .zip file found at '{path}'.")
    valid = ", ".join(DATASETS.names())
    raise UnknownNameError(
        f"Unknown dataset {key!r}. Valid names: {valid} — or the path of a folder or .zip file."
    )
