"""Small building blocks shared by the architectures.

Every convolution here is followed by BatchNorm and (usually) ReLU, the recipe all SegLab
models use. Convolutions feeding a BatchNorm carry no bias: the BatchNorm shift would
cancel it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: Channel counts stop doubling here (unless ``width`` itself is larger), so deep models
#: stay small enough for a laptop CPU.
MAX_CHANNELS = 512


def level_channels(width: int, level: int) -> int:
    """Channels at pyramid level ``level``: ``width · 2**level``, capped at ``MAX_CHANNELS``.

    Level 0 is full resolution; level ``i`` is ``2**i`` times smaller per side.
    """
    return min(width * 2**level, max(MAX_CHANNELS, width))


class ConvBNReLU(nn.Sequential):
    """``k×k`` convolution → BatchNorm → ReLU (ReLU optional). ``padding = k // 2`` keeps size
    (or divides it by ``stride``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        relu: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class DoubleConv(nn.Sequential):
    """Two 3×3 ConvBNReLU in a row: the basic U-Net / SegNet / VGG stage.

    Two stacked 3×3 convolutions see a 5×5 neighbourhood with fewer weights than one 5×5.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None) -> None:
        mid = out_channels if mid_channels is None else mid_channels
        super().__init__(ConvBNReLU(in_channels, mid), ConvBNReLU(mid, out_channels))


def double_conv_encoder(in_channels: int, channels: Sequence[int]) -> nn.ModuleList:
    """The VGG-style encoder of U-Net, SegNet and FCN: stage ``i`` is a DoubleConv from the
    previous stage's channels (``in_channels`` for the first stage) to ``channels[i]``."""
    inputs = [in_channels, *channels[:-1]]
    return nn.ModuleList(DoubleConv(a, b) for a, b in zip(inputs, channels, strict=True))


class DepthwiseSeparable(nn.Sequential):
    """MobileNet's cheap convolution: a depthwise 3×3 (one filter per channel, spatial mixing
    only) followed by a pointwise 1×1 (channel mixing only).

    A normal 3×3 conv costs ``9·C_in·C_out`` multiplies per pixel; this costs
    ``9·C_in + C_in·C_out`` — roughly 8–9× less for typical channel counts.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            ConvBNReLU(in_channels, in_channels, 3, stride=stride, groups=in_channels),
            ConvBNReLU(in_channels, out_channels, 1),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: expand channels with a 1×1 conv, filter with a depthwise 3×3, then
    project back down with a *linear* 1×1 (no ReLU, so the narrow output loses no information).

    When input and output have the same shape the input is added back (a residual shortcut).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, expand: int = 4) -> None:
        super().__init__()
        hidden = in_channels * expand
        self.use_residual = stride == 1 and in_channels == out_channels
        self.block = nn.Sequential(
            ConvBNReLU(in_channels, hidden, 1),
            ConvBNReLU(hidden, hidden, 3, stride=stride, groups=hidden),
            ConvBNReLU(hidden, out_channels, 1, relu=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y


def head(in_channels: int, num_classes: int) -> nn.Conv2d:
    """A 1×1 convolution turning features into per-class logits (a "classifier" per pixel)."""
    return nn.Conv2d(in_channels, num_classes, kernel_size=1)


def upsample_to(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear resize of ``x`` (N,C,h,w) to ``size`` = (H, W)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def bilinear_init_(deconv: nn.ConvTranspose2d) -> nn.ConvTranspose2d:
    """Initialise a transposed convolution so it starts out as plain bilinear upsampling
    (each output channel copies its own input channel), as in the FCN paper. Training can then
    learn something better. Requires ``in_channels == out_channels``."""
    k = deconv.kernel_size[0]
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    ramp = 1 - torch.abs(torch.arange(k, dtype=torch.float32) - center) / factor
    kernel = ramp[:, None] * ramp[None, :]
    with torch.no_grad():
        deconv.weight.zero_()
        for c in range(min(deconv.in_channels, deconv.out_channels)):
            deconv.weight[c, c] = kernel
        if deconv.bias is not None:
            deconv.bias.zero_()
    return deconv
