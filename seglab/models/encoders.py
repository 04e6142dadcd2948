"""Classic ImageNet encoders (VGG16, MobileNetV2) laid out exactly as torchvision lays them out.

Why the layout matters: a student who has downloaded ImageNet weights for torchvision's
``vgg16`` or ``mobilenet_v2`` can load them into SegLab unchanged (see
`seglab.models.transfer.load_encoder_weights`), because every parameter and buffer has the
same name and shape. SegLab never imports torchvision and never downloads anything: the
modules below are written from the published architectures.

Both encoders hold a single ``features`` `nn.Sequential`, so ``encoder.state_dict()`` keys
read ``features.0.weight``, ``features.1.conv.0.0.weight``, … exactly like
``torchvision.models.vgg16().features`` wrapped in a module called ``features``.

* **VGG16** (Simonyan & Zisserman, 2015, configuration "D"): thirteen 3×3 convolutions (with
  bias, no BatchNorm) each followed by ReLU, in five groups of 2, 2, 3, 3, 3 convolutions with
  64, 128, 256, 512, 512 channels, each group closed by a 2×2 max-pool. Index ``i`` of
  ``features`` counts every layer (conv, ReLU and pool), so the last conv is ``features.28``.
* **MobileNetV2** (Sandler et al., 2018): a stride-2 3×3 conv to 32 channels, then
  seventeen *inverted residual* blocks given by the table (t, c, n, s) = expansion factor,
  output channels, repeats, stride of the first repeat, then a 1×1 conv to 1280 channels.
  Every conv is followed by BatchNorm; activations are ReLU6, except after the block's last
  (projection) 1×1 conv, which stays linear.

`forward` returns the feature maps a segmentation decoder taps (coarse last), with their
channels in ``tap_channels`` and their down-sampling factors in ``tap_strides``.

Input scaling: ImageNet weights were trained on images normalised per channel with the
ImageNet mean and standard deviation. SegLab images lie in [0, 1], so for 3-channel inputs the
encoder first computes ``(x - IMAGENET_MEAN) / IMAGENET_STD`` itself (kept in non-persistent
buffers, so they are not part of the state dict and the weight layout stays torchvision's).
Other channel counts are passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from seglab.models.stages import FeatureStage

#: VGG16 ("configuration D"): output channels of each 3×3 conv, "M" = 2×2 max-pool
VGG16_LAYOUT: tuple[int | str, ...] = (
    64, 64, "M",
    128, 128, "M",
    256, 256, 256, "M",
    512, 512, 512, "M",
    512, 512, 512, "M",
)  # fmt: skip

#: MobileNetV2 inverted-residual settings: (expansion t, out channels c, repeats n, stride s)
MOBILENET_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
MOBILENET_V2_STEM = 32
#: per-channel statistics of the ImageNet training images (RGB, values in [0, 1])
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MOBILENET_V2_LAST = 1280


class PretrainedLayoutEncoder(nn.Module):
    """Base class of encoders whose weights follow torchvision's layout (``features.*``)."""

    #: registry name ("vgg16", "mobilenet_v2")
    name: ClassVar[str] = ""
    #: torchvision's architecture function with the same ``features`` layout
    torchvision_name: ClassVar[str] = ""
    #: indices into ``features`` whose outputs `forward` returns, fine → coarse
    taps: ClassVar[tuple[int, ...]] = ()
    #: channels of the tapped outputs, fine → coarse
    tap_channels: ClassVar[tuple[int, ...]] = ()
    #: down-sampling factor of each tapped output relative to the input, fine → coarse
    tap_strides: ClassVar[tuple[int, ...]] = ()
    #: one plain sentence per tapped output: what the encoder computed up to there
    tap_notes: ClassVar[tuple[str, ...]] = ()

    features: nn.Sequential

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.normalise_input = in_channels == len(IMAGENET_MEAN)
        self.register_buffer("input_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def tap_stages(self, prefix: str, names: Sequence[str]) -> list[FeatureStage]:
        """The encoder's own description of its stages: one `FeatureStage` per tapped output,
        fine → coarse, named ``names[i]``, hooked at ``{prefix}.features.{taps[i]}`` (``prefix``
        is where the model keeps this encoder), at level ``log2(tap_strides[i])``."""
        if len(names) != len(self.taps):
            raise ValueError(f"{type(self).__name__} has {len(self.taps)} stages, got {len(names)} names")
        return [
            FeatureStage(name, f"{prefix}.features.{tap}", "encoder", stride.bit_length() - 1, ch, note=note)
            for name, tap, stride, ch, note in zip(
                names, self.taps, self.tap_strides, self.tap_channels, self.tap_notes, strict=True
            )
        ]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The tapped feature maps, fine → coarse (shapes (N, tap_channels[i], H/s_i, W/s_i)),
        for images ``x`` with values in [0, 1] (ImageNet-normalised first when 3-channel)."""
        if self.normalise_input:
            x = (x - self.input_mean) / self.input_std
        out: list[torch.Tensor] = []
        last = self.taps[-1]
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
            if i == last:
                break
        return out


class VGG16Encoder(PretrainedLayoutEncoder):
    """VGG16's convolutional part; `forward` returns the five pool outputs (strides 2 … 32)."""

    name = "vgg16"
    torchvision_name = "vgg16"
    taps = (4, 9, 16, 23, 30)
    tap_channels = (64, 128, 256, 512, 512)
    tap_strides = (2, 4, 8, 16, 32)
    tap_notes = tuple(
        f"VGG16 group {g}: {n} 3×3 convolutions with ReLU ({c} channels), then 2×2 max-pooling."
        for g, (n, c) in enumerate(((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)), start=1)
    )

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__(in_channels)
        layers: list[nn.Module] = []
        channels = in_channels
        for item in VGG16_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers.append(nn.Conv2d(channels, int(item), kernel_size=3, padding=1))
                layers.append(nn.ReLU(inplace=True))
                channels = int(item)
        self.features = nn.Sequential(*layers)
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)


class ConvBNReLU6(nn.Sequential):
    """Conv (no bias) → BatchNorm → ReLU6, keys ``0.*`` and ``1.*`` (torchvision's
    ``Conv2dNormActivation`` with its defaults). ``padding = (k - 1) // 2`` keeps the size
    (or divides it by ``stride``)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class MobileNetV2Block(nn.Module):
    """MobileNetV2's inverted residual: 1×1 expand (×t, skipped when t = 1) → depthwise 3×3
    (carries the stride) → linear 1×1 projection + BatchNorm, all in ``self.conv``; the input is
    added back when the stride is 1 and the channel count does not change."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand))
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU6(in_channels, hidden, kernel_size=1))
        layers += [
            ConvBNReLU6(hidden, hidden, kernel_size=3, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.use_residual else y


class MobileNetV2Encoder(PretrainedLayoutEncoder):
    """MobileNetV2's ``features`` (19 entries); `forward` returns the outputs at strides
    4, 8, 16, 32 (after blocks 3, 6, 13 and the final 1×1 conv 18)."""

    name = "mobilenet_v2"
    torchvision_name = "mobilenet_v2"
    taps = (3, 6, 13, 18)
    tap_channels = (24, 32, 96, MOBILENET_V2_LAST)
    tap_strides = (4, 8, 16, 32)
    tap_notes = (
        "MobileNetV2 stem and inverted-residual blocks 1-3 (expand, depthwise 3×3, project).",
        "Inverted-residual blocks 4-6; the first one halves the resolution.",
        "Inverted-residual blocks 7-13; the first one halves the resolution.",
        "Blocks 14-17, then a 1×1 convolution to 1280 channels.",
    )

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__(in_channels)
        layers: list[nn.Module] = [ConvBNReLU6(in_channels, MOBILENET_V2_STEM, kernel_size=3, stride=2)]
        channels = MOBILENET_V2_STEM
        for t, c, n, s in MOBILENET_V2_SETTINGS:
            for r in range(n):
                layers.append(MobileNetV2Block(channels, c, stride=s if r == 0 else 1, expand=t))
                channels = c
        layers.append(ConvBNReLU6(channels, MOBILENET_V2_LAST, kernel_size=1))
        self.features = nn.Sequential(*layers)
        for m in self.features.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


#: encoder name → class; "small" (SegLab's own little encoders) is not in here
ENCODERS: dict[str, type[PretrainedLayoutEncoder]] = {
    VGG16Encoder.name: VGG16Encoder,
    MobileNetV2Encoder.name: MobileNetV2Encoder,
}
