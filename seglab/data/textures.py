"""Shared random-number and procedural-texture helpers for the synthetic datasets.

Every function works on a whole batch at once and draws its randomness from the
``torch.Generator`` it is given, on that generator's device, so a dataset is a pure function
of its seed. Textures are returned roughly zero-mean with unit spread, to be scaled by the
caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def uniform(
    generator: torch.Generator, shape: Sequence[int], low: float = 0.0, high: float = 1.0
) -> torch.Tensor:
    """Uniform samples in [low, high) on the generator's device."""
    u = torch.rand(*shape, generator=generator, device=generator.device)
    return u * (high - low) + low


def normal(generator: torch.Generator, shape: Sequence[int], std: float = 1.0) -> torch.Tensor:
    """Zero-mean normal samples with the given standard deviation."""
    return torch.randn(*shape, generator=generator, device=generator.device) * std


def randint(generator: torch.Generator, shape: Sequence[int], low: int, high: int) -> torch.Tensor:
    """Integers uniform in [low, high] (both ends included), int64."""
    return torch.randint(low, high + 1, tuple(shape), generator=generator, device=generator.device)


def bernoulli(generator: torch.Generator, shape: Sequence[int], p: float | torch.Tensor) -> torch.Tensor:
    """Booleans that are True with probability ``p``."""
    return uniform(generator, shape) < p


def pixel_grid(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates ``(ys, xs)``, each (1, size, size), in pixel units (0.5 … size-0.5)."""
    c = torch.arange(size, device=device, dtype=torch.float32) + 0.5
    return c.view(1, size, 1).expand(1, size, size), c.view(1, 1, size).expand(1, size, size)


def value_noise(generator: torch.Generator, n: int, size: int, cells: int, channels: int = 1) -> torch.Tensor:
    """Smooth random field (n, channels, size, size): normal values on a (cells+1)² lattice, upsampled.

    ``cells`` sets the feature size: about ``size / cells`` pixels per blob. Coarse lattices
    are upsampled bicubically, fine ones (≥ size/4 cells) bilinearly, which is cheaper and
    looks the same at that scale. Values have roughly unit spread (not normalised per image).
    """
    cells = max(1, min(int(cells), size - 1))
    lattice = normal(generator, (n, channels, cells + 1, cells + 1))
    mode = "bilinear" if 4 * cells >= size else "bicubic"
    return F.interpolate(lattice, size=(size, size), mode=mode, align_corners=True) * 1.4


def fractal_noise(
    generator: torch.Generator,
    n: int,
    size: int,
    base_cells: int = 3,
    octaves: int = 3,
    persistence: float = 0.5,
    channels: int = 1,
) -> torch.Tensor:
    """Multi-scale smooth noise (n, channels, size, size) with roughly unit spread.

    Built as a pyramid: start from a (base_cells+1)² lattice of normal values, then repeatedly
    upsample ×2 and add fresh values ``persistence`` times weaker. Only the last step works at
    full resolution, so extra octaves cost little.
    """
    res = max(2, min(base_cells + 1, size))
    field = normal(generator, (n, channels, res, res))
    amplitude, total_var = 1.0, 1.0
    for _ in range(1, octaves):
        if 2 * res > size:
            break
        res *= 2
        field = F.interpolate(field, size=(res, res), mode="bicubic", align_corners=True)
        amplitude *= persistence
        total_var += amplitude**2
        field = field + normal(generator, (n, channels, res, res), amplitude)
    field = F.interpolate(field, size=(size, size), mode="bilinear", align_corners=True)
    return field * (1.4 / total_var**0.5)


def stripes(
    generator: torch.Generator, n: int, size: int, min_period: float, max_period: float
) -> torch.Tensor:
    """Sinusoidal stripes (n, 1, size, size) with a random period (pixels), angle and phase per image."""
    ys, xs = pixel_grid(size, generator.device)
    period = uniform(generator, (n, 1, 1), min_period, max_period)
    angle = uniform(generator, (n, 1, 1), 0.0, math.pi)
    phase = uniform(generator, (n, 1, 1), 0.0, 2 * math.pi)
    along = xs * torch.cos(angle) + ys * torch.sin(angle)
    return (torch.sin(along * (2 * math.pi) / period + phase) * math.sqrt(2.0)).unsqueeze(1)


def linear_gradient(generator: torch.Generator, n: int, size: int) -> torch.Tensor:
    """A plane sloping in a random direction (n, 1, size, size), from about -1 to 1 across the image."""
    ys, xs = pixel_grid(size, generator.device)
    angle = uniform(generator, (n, 1, 1), 0.0, 2 * math.pi)
    ramp = ((xs - size / 2) * torch.cos(angle) + (ys - size / 2) * torch.sin(angle)) / (size / 2)
    return ramp.unsqueeze(1)


def threshold_top_fraction(field: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """Boolean mask (n, H, W) of each image's highest ``fraction[i]`` share of ``field`` (n, 1, H, W).

    Thresholding smooth noise at a per-image quantile gives blobby regions covering a chosen
    share of the image. The quantile is read from a grid of at most 32×32 samples, which is
    plenty for a smooth field and far cheaper than sorting every pixel.
    """
    n, _, h, w = field.shape
    stride = max(1, min(h, w) // 32)
    flat = field[:, 0, ::stride, ::stride].reshape(n, -1)
    k = (fraction.reshape(n) * flat.shape[1]).round().long().clamp(0, flat.shape[1])
    ordered = flat.sort(dim=1, descending=True).values
    cut = ordered.gather(1, (k - 1).clamp_min(0).unsqueeze(1)).view(n, 1, 1)
    return (field[:, 0] >= cut) & (k > 0).view(n, 1, 1)


def random_unit_vectors(generator: torch.Generator, n: int, dim: int = 3) -> torch.Tensor:
    """Directions uniformly spread on the unit sphere, (n, dim)."""
    v = normal(generator, (n, dim))
    return v / v.norm(dim=1, keepdim=True).clamp_min(1e-6)


def offset_colors(base: torch.Tensor, direction: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    """Colours at ``distance`` from ``base`` (n, 3) along ``direction``, reflected back into [0, 1].

    Components that would leave [0.02, 0.98] step the other way instead, so the requested
    contrast is mostly kept rather than lost to clipping.
    """
    step = direction * distance.reshape(-1, 1)
    up = base + step
    down = base - step
    out_of_range = (up < 0.02) | (up > 0.98)
    return torch.where(out_of_range, down, up).clamp(0.0, 1.0)


def gather_colors(table: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Paint a label map: ``table`` (n, K, 3) colours indexed by ``labels`` (n, H, W) → (n, 3, H, W)."""
    n, h, w = labels.shape
    idx = labels.reshape(n, 1, h * w).expand(n, 3, h * w)
    return table.transpose(1, 2).gather(2, idx).reshape(n, 3, h, w)


def gather_values(table: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-label scalars: ``table`` (n, K) indexed by ``labels`` (n, H, W) → (n, 1, H, W)."""
    n, h, w = labels.shape
    return table.gather(1, labels.reshape(n, h * w)).reshape(n, 1, h, w)


def blur3(images: torch.Tensor) -> torch.Tensor:
    """Light 3×3 binomial blur ([1, 2, 1] / 4 along each axis) per channel, edges replicated."""
    x = F.pad(images, (1, 1, 0, 0), mode="replicate")
    x = (x[..., :-2] + 2 * x[..., 1:-1] + x[..., 2:]) * 0.25
    x = F.pad(x, (0, 0, 1, 1), mode="replicate")
    return (x[..., :-2, :] + 2 * x[..., 1:-1, :] + x[..., 2:, :]) * 0.25
