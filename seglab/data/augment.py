"""Paired augmentation: the same random geometric change applied to each image and its mask.

Flips and 90° rotations are exact pixel permutations (the eight symmetries of a square are
"maybe transpose, maybe flip left-right, maybe flip up-down"), done with indexing so masks
keep their exact ids. The small shift-and-scale step resamples with ``grid_sample``:
bilinear for images, nearest for masks, both with reflected borders so the two stay aligned.
Everything is drawn per sample but computed for the whole batch at once, on its device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _draw(generator: torch.Generator | None, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) numbers drawn on the generator's device, returned on ``device``."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _select(flag: torch.Tensor, changed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Per-sample choice between two batches; ``flag`` is (N,) bool."""
    return torch.where(flag.view(-1, *([1] * (original.ndim - 1))), changed, original)


def augment_batch(
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    flips: bool = True,
    rotations: bool = True,
    max_shift: float = 0.08,
    max_scale: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Randomly flip, rotate by multiples of 90°, shift and scale each (image, mask) pair.

    Args:
        images: float tensor (N, C, H, W).
        masks: integer tensor (N, H, W) of class ids.
        generator: source of randomness; the same generator state gives the same result.
        flips: random left-right and up-down flips (each with probability 1/2).
        rotations: random 90° rotations; only used for square images.
        max_shift: largest shift as a fraction of the image side (0 disables shifting).
        max_scale: largest relative zoom in or out (0 disables scaling).

    Returns:
        ``(images, masks)`` with the same shapes, dtypes and device; mask values are a
        subset of the input's.
    """
    if images.ndim != 4 or masks.ndim != 3 or images.shape[0] != masks.shape[0]:
        raise ValueError(
            f"expected images (N,C,H,W) and masks (N,H,W), got {tuple(images.shape)}, {tuple(masks.shape)}"
        )
    n, _, h, w = images.shape
    device = images.device
    mask_dtype = masks.dtype
    square = h == w
    coins = _draw(generator, (n, 3), device) < 0.5
    transpose, flip_x, flip_y = coins[:, 0], coins[:, 1], coins[:, 2]
    if rotations and square and not flips:
        # Rotations only: k quarter turns = transpose if k is odd, then the flips below.
        k = (_draw(generator, (n,), device) * 4).long().clamp_max(3)
        transpose, flip_x, flip_y = k % 2 == 1, k >= 2, (k == 1) | (k == 2)
    if not (rotations and square):
        transpose = torch.zeros_like(transpose)
    if not (flips or (rotations and square)):
        flip_x = flip_y = torch.zeros_like(transpose)
    images = _select(transpose, images.transpose(-1, -2), images)
    masks = _select(transpose, masks.transpose(-1, -2), masks)
    images = _select(flip_x, images.flip(-1), images)
    masks = _select(flip_x, masks.flip(-1), masks)
    images = _select(flip_y, images.flip(-2), images)
    masks = _select(flip_y, masks.flip(-2), masks)

    if max_shift > 0 or max_scale > 0:
        params = _draw(generator, (n, 3), device) * 2 - 1  # uniform in [-1, 1)
        zoom = 1 + max_scale * params[:, 0]
        theta = torch.zeros(n, 2, 3, device=device, dtype=images.dtype)
        theta[:, 0, 0] = 1 / zoom
        theta[:, 1, 1] = 1 / zoom
        theta[:, 0, 2] = 2 * max_shift * params[:, 1]  # normalised coordinates span 2
        theta[:, 1, 2] = 2 * max_shift * params[:, 2]
        grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        warped = F.grid_sample(
            masks.unsqueeze(1).to(images.dtype),
            grid,
            mode="nearest",
            padding_mode="reflection",
            align_corners=False,
        )
        masks = warped.squeeze(1).round().to(mask_dtype)
    return images, masks
