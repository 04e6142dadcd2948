"""Choosing the compute device and describing it in words."""

from __future__ import annotations

import torch

from seglab.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """Map "auto" to CUDA, then MPS, then CPU; refuse a device that is not present."""
    if name not in DEVICE_CHOICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {name!r}.")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but no CUDA GPU is visible; use 'auto' or 'cpu'.")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' was requested but Apple's MPS backend is not available.")
    return torch.device(name)


def device_label(device: torch.device | None = None) -> str:
    """A short human description, e.g. 'GPU: NVIDIA H100' or 'CPU (2 threads)'."""
    device = device or resolve_device("auto")
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
