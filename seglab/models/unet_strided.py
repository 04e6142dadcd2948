"""U-Net with strided convolutions (the study's "UNet2, stride version").

Idea: identical to U-Net except for how the encoder halves the resolution. Max-pooling keeps
the largest value of each 2×2 window by a fixed rule; here a 3×3 convolution with stride 2
(+ BatchNorm + ReLU) does the shrinking instead, so the network *learns* how to summarise
each neighbourhood (an average, an edge detector, a mix ...). It costs a few more weights
and multiplies. The original study reported UNet2 + focal loss as its best model; SegLab's
reference study (``assets/reference_study.zip``) does not reproduce that: there strided U-Net
is slightly below U-Net on average (validation, paired over loss × seed) and strided U-Net +
focal ranks 10th of 16 cells (``benchmarks/reference_claims.py``).

Everything else — channels, transposed-conv up-sampling, concatenated skips, aux heads —
is as in `seglab.models.unet`.
"""

from __future__ import annotations

from torch import nn

from seglab.models.blocks import ConvBNReLU
from seglab.models.registry import register_model
from seglab.models.unet import UNetBase


@register_model(
    "unet_strided",
    title="U-Net (strided, “UNet2”)",
    summary="""The same U shape as U-Net — encoder down, decoder up, feature maps copied
    across and concatenated at every level — but the encoder shrinks the image with a
    convolution that jumps two pixels at a time (stride 2) instead of max-pooling. Pooling
    always keeps the strongest value in each 2×2 window; a strided convolution has weights,
    so the network learns for itself what to keep when it shrinks the picture. This is the
    "UNet2, stride version" of the study, which reported it (with focal loss) as its best
    model; SegLab's reference study does not reproduce that: there strided U-Net + focal
    ranks 10th of 16 models, and focal is the weakest loss for every architecture (see
    Results).""",
    link_kind="concat-skip",
)
class StridedUNet(UNetBase):
    """U-Net whose down-sampling is a learned 3×3 stride-2 ConvBNReLU."""

    downsample = "strided-conv"

    def make_down(self, channels: int) -> nn.Module:
        return ConvBNReLU(channels, channels, kernel_size=3, stride=2)
