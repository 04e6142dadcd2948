"""Named starting points for ``TrainConfig``: ``preset("quick", arch="segnet")``.

* ``quick``: a classroom demo on a laptop CPU: 384 images of 64×64, width 8, 10 epochs,
  one CPU thread. Sized so that U-Net with BCE+Dice on the default ``shapes`` data trains
  in well under a minute on a shared two-core machine and passes a validation foreground
  IoU of 0.75, and a 4 architectures × 4 losses study fits in about ten minutes (U-Net++
  is the slowest model, about twice U-Net's time).
* ``study``: the full comparison, sized for a GPU (bigger images, more data, wider and
  deeper models, more epochs).
* ``smoke``: the smallest run that still exercises everything (tests, quick checks).

A preset is a *partial* set of settings over `seglab.settings.schema`: a setting it does not
name keeps its declared default (checked at import: known names, values within bounds).

`PRESET_SEEDS`: the seeds a *study* started from a preset repeats every model with (the
``study`` command without ``--seeds``, the Train page's study form). One seed for the classroom
preset (a lesson's time); one seed cannot tell a real difference from run-to-run noise, so the
shipped reference study carries three, and ``--seeds 0-2`` gives them.
"""

from __future__ import annotations

from typing import Any

from seglab.errors import ConfigError
from seglab.settings.config import TrainConfig
from seglab.settings.schema import SETTINGS, check_partial

# The comparison grid of the study the lab reproduces (seed 000): its three networks (SegNet,
# U-Net and the strided "UNet2") plus U-Net++, whose nested outputs are what deep supervision
# regularises, crossed with its four losses.
STUDY_ARCHS: tuple[str, ...] = ("segnet", "unet", "unet_strided", "unetpp")
STUDY_LOSSES: tuple[str, ...] = ("bce", "dice", "focal", "bce_ds")

PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "dataset": "shapes",
        "size": 64,
        "n": 384,
        "width": 8,
        "depth": 3,
        "batch_size": 16,
        "epochs": 10,
        "lr": 3e-3,
        "augment": True,
        # One thread: in class the laptop's cores are shared with the app and the browser,
        # and oversubscribed math-library threads slow training down many times over.
        "num_threads": 1,
    },
    "study": {
        "dataset": "shapes",
        "size": 128,
        "n": 2000,
        "width": 32,
        "depth": 4,
        "batch_size": 32,
        "epochs": 40,
        "lr": 1e-3,
        "augment": True,
    },
    "smoke": {
        "dataset": "shapes",
        "size": 32,
        "n": 24,
        "width": 4,
        "depth": 2,
        "batch_size": 8,
        "epochs": 1,
        "lr": 3e-3,
        "augment": False,
    },
}

# The seeds a study from a preset repeats every model with, on every road (the `study` command
# without ``--seeds``, the Train form, the one-click quick study): one seed for the classroom
# preset, so its study fits a lesson on a 2-core laptop (the shipped 3-seed reference study shows
# the seed-to-seed spread); three for the GPU-sized study.
PRESET_SEEDS: dict[str, list[int]] = {"quick": [0], "study": [0, 1, 2], "smoke": [0]}

# The Train form's default grid: what a class trains within one lesson on a 2-core laptop. The
# seed study's three networks (SegNet, U-Net, the strided U-Net) × its four losses × one seed:
# 12 quick runs, two at a time, a few minutes; the shipped reference study (3 seeds) then shows
# whether a lead is bigger than the seed-to-seed spread. A preset chosen on the form keeps it.
CLASS_ARCHS: tuple[str, ...] = ("segnet", "unet", "unet_strided")
CLASS_LOSSES: tuple[str, ...] = STUDY_LOSSES

PRESET_HELP: dict[str, str] = {
    "quick": "Classroom demo: small images and model; well under a minute per run on a laptop CPU.",
    "study": "The full comparison: 128-pixel images, 2000 samples, 40 epochs; meant for a GPU.",
    "smoke": "The tiniest run that exercises everything; for tests and checking an install.",
}


for _name, _values in PRESETS.items():
    check_partial(_values, f"preset {_name!r}")


def list_presets() -> list[str]:
    return list(PRESETS)


def preset_seeds(name: str) -> list[int]:
    """The seeds a study from preset ``name`` uses by default (one seed, 0, for unknown names)."""
    return list(PRESET_SEEDS.get(name, [0]))


def preset_settings(name: str) -> dict[str, Any]:
    """Every declared setting as preset ``name`` sets it: its own values over the schema's defaults."""
    if name not in PRESETS:
        raise ConfigError(f"Unknown preset {name!r}. Valid presets: {', '.join(PRESETS)}.")
    return {key: PRESETS[name].get(key, s.default) for key, s in SETTINGS.items()}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """The named preset as a ``TrainConfig``, with ``overrides`` applied (and validated)."""
    if name not in PRESETS:
        raise ConfigError(f"Unknown preset {name!r}. Valid presets: {', '.join(PRESETS)}.")
    return TrainConfig.from_dict({**PRESETS[name], **overrides})
