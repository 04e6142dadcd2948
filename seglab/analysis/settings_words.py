"""Training settings in words, for students: "Image size 64 px · Epochs 10 · Augmentation on"
instead of raw ``size=64, epochs=10, augment=True`` (the Results page's "Shared settings")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _percent(value: Any) -> str:
    return f"{float(value):.0%}"


def _on_off(value: Any) -> str:
    return "on" if value else "off"


def _dataset(value: Any) -> str:
    from pathlib import PurePath

    text = str(value)
    return PurePath(text).stem if ("/" in text or "\\" in text) else text  # a saved folder: its name


# field → (label, how to write the value); fields not named here are written "field value"
WORDS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "dataset": ("Data", _dataset),
    "size": ("Image size", lambda v: f"{v} px"),
    "n": ("Images", str),
    "split_seed": ("Split seed", str),
    "val_fraction": ("Validation share", _percent),
    "test_fraction": ("Test share", _percent),
    "arch": ("Architecture", str),
    "loss": ("Loss", str),
    "width": ("Width (channels)", str),
    "depth": ("Depth", str),
    "optimizer": ("Optimiser", str),
    "lr": ("Learning rate", lambda v: f"{float(v):g}"),
    "weight_decay": ("Weight decay", lambda v: f"{float(v):g}"),
    "lr_schedule": ("Learning-rate schedule", str),
    "batch_size": ("Batch size", str),
    "epochs": ("Epochs", str),
    "augment": ("Augmentation", _on_off),
    "seed": ("Seed", str),
    "num_threads": ("CPU threads", str),
    "precision": ("Precision", str),
    "device": ("Device", str),
    "freeze_encoder_epochs": (
        "Encoder frozen",
        lambda v: "never" if not v else ("the whole run" if int(v) < 0 else f"{v} epochs"),
    ),
    "init_from": ("Started from run", str),
    "init_scope": ("Copied layers", str),
    "encoder_weights": ("Encoder weights", _dataset),
}


def _empty(value: Any) -> bool:
    if isinstance(value, (str, Mapping, list, tuple)):
        return len(value) == 0
    return value is None


def readable_settings(settings: Mapping[str, Any]) -> str:
    """``settings`` (config field → value) as "Label value" phrases joined by " · "; empty
    values are left out, dictionaries (model or loss options) written "key value"."""
    parts = []
    for field, value in settings.items():
        if _empty(value):
            continue
        label, write = WORDS.get(field, (field.replace("_", " ").capitalize(), str))
        if isinstance(value, Mapping):
            text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
        else:
            text = write(value)
        parts.append(f"{label} {text}")
    return " · ".join(parts)
