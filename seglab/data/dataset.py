"""`SegDataset`, the in-memory container every SegLab dataset becomes, and `split_indices`.

A dataset is small enough to live as a few tensors (on the CPU or straight on the GPU), so
training reads batches by indexing instead of going through worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from seglab.errors import ConfigError

IndexLike = Sequence[int] | torch.Tensor | range


def default_class_names(num_classes: int) -> list[str]:
    """Names used when a dataset brings none: background/foreground for two classes."""
    if num_classes == 2:
        return ["background", "foreground"]
    return ["background"] + [f"class {i}" for i in range(1, num_classes)]


class SegDataset(torch.utils.data.Dataset):
    """Images, masks and (optionally) instance ids of one segmentation dataset, all in memory.

    Attributes:
        images: float32 tensor (N, 3, H, W) with values in [0, 1].
        masks: int64 tensor (N, H, W) of class ids in ``0 .. num_classes - 1``.
        instances: int64 tensor (N, H, W) — 0 for background, 1..k numbering the objects of
            each image — or None when the dataset has no object identities.
        num_classes: number of classes, background included (2 for a binary dataset).
        class_names: one name per class id.
        name: where the data came from (a registered name or a folder name).
        meta: free-form provenance (seed, size, generator parameters, source path).
    """

    def __init__(
        self,
        images: torch.Tensor,
        masks: torch.Tensor,
        *,
        num_classes: int,
        class_names: Sequence[str] | None = None,
        name: str = "dataset",
        instances: torch.Tensor | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W), got {tuple(images.shape)}")
        if masks.shape != (images.shape[0], *images.shape[2:]):
            raise ValueError(f"masks must be (N, H, W) matching images, got {tuple(masks.shape)}")
        if instances is not None and instances.shape != masks.shape:
            raise ValueError(f"instances must have the masks' shape, got {tuple(instances.shape)}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.images = images.to(torch.float32)
        self.masks = masks.to(torch.int64)
        self.instances = None if instances is None else instances.to(torch.int64)
        self.num_classes = int(num_classes)
        names = list(class_names) if class_names is not None else default_class_names(num_classes)
        if len(names) != self.num_classes:
            raise ValueError(f"{len(names)} class names given for {num_classes} classes")
        self.class_names = names
        self.name = name
        self.meta = dict(meta or {})

    # ---- torch Dataset protocol -----------------------------------------------------------
    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.masks[index]

    def __repr__(self) -> str:
        n, _, h, w = self.images.shape
        return (
            f"SegDataset(name={self.name!r}, n={n}, size={h}x{w}, num_classes={self.num_classes}, "
            f"device={self.device}, instances={'yes' if self.instances is not None else 'no'})"
        )

    # ---- convenience ------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """Where the tensors live."""
        return self.images.device

    @property
    def size(self) -> tuple[int, int]:
        """Image height and width in pixels."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    def subset(self, indices: IndexLike) -> SegDataset:
        """A new dataset holding the samples at ``indices`` (in that order)."""
        idx = torch.as_tensor(list(indices) if isinstance(indices, range) else indices, dtype=torch.long)
        idx = idx.to(self.device)
        return SegDataset(
            self.images[idx],
            self.masks[idx],
            num_classes=self.num_classes,
            class_names=self.class_names,
            name=self.name,
            instances=None if self.instances is None else self.instances[idx],
            meta=self.meta,
        )

    def to(self, device: torch.device | str) -> SegDataset:
        """The same data on ``device`` (returns ``self`` when it is already there)."""
        device = torch.device(device)
        if device == self.device:
            return self
        return SegDataset(
            self.images.to(device),
            self.masks.to(device),
            num_classes=self.num_classes,
            class_names=self.class_names,
            name=self.name,
            instances=None if self.instances is None else self.instances.to(device),
            meta=self.meta,
        )

    def class_pixel_counts(self) -> torch.Tensor:
        """Number of pixels of each class over the whole dataset: int64 (num_classes,) on the CPU."""
        counts = torch.bincount(self.masks.reshape(-1), minlength=self.num_classes)
        return counts[: self.num_classes].cpu()

    def class_fractions(self) -> torch.Tensor:
        """Share of pixels of each class over the whole dataset: float64 (num_classes,), sums to 1."""
        counts = self.class_pixel_counts().to(torch.float64)
        return counts / counts.sum().clamp_min(1)


def split_indices(
    n: int, *, val: float = 0.15, test: float = 0.15, seed: int = 0
) -> tuple[list[int], list[int], list[int]]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into train / validation / test index lists.

    The three lists are disjoint, together cover ``range(n)``, and each is sorted. Sizes are
    ``round(n * val)`` and ``round(n * test)``, raised to one sample each when the fraction is
    positive and ``n`` allows, so small datasets still get a validation and a test sample.
    """
    if n < 1:
        raise ConfigError(f"Cannot split a dataset of {n} samples.")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(
            f"Validation and test fractions must lie in [0, 1) and leave room for training; got {val} and {test}."
        )
    n_val = round(n * val)
    n_test = round(n * test)
    if val > 0 and n_val == 0 and n >= 3:
        n_val = 1
    if test > 0 and n_test == 0 and n >= 3:
        n_test = 1
    while n_val + n_test >= n and (n_val or n_test):  # always keep one training sample
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator).tolist()
    val_idx = sorted(order[:n_val])
    test_idx = sorted(order[n_val : n_val + n_test])
    train_idx = sorted(order[n_val + n_test :])
    return train_idx, val_idx, test_idx
