"""`shapes`: binary segmentation of ellipses, rectangles, triangles and blobs on textured ground.

The class-imbalance knob ``fg_fraction`` sets the mean share of foreground pixels. Each image
draws its own target share around it (so images differ), splits it over 1..``max_objects``
objects, sizes them from their exact shape areas with an allowance for overlaps, and then
corrects the sizes twice from quick low-resolution renders that measures what border
clipping and overlaps really left.
"""

from __future__ import annotations

import math

import torch

from seglab.data.geometry import SMOOTH_SIDES, PolarObjects, compact_labels, render_polar
from seglab.data.registry import DatasetInfo, Generated, register_dataset
from seglab.data.textures import (
    bernoulli,
    blur3,
    fractal_noise,
    gather_colors,
    linear_gradient,
    normal,
    offset_colors,
    randint,
    random_unit_vectors,
    stripes,
    uniform,
    value_noise,
)
from seglab.registry import ParamSpec

SHAPES_INFO = DatasetInfo(
    name="shapes",
    title="Shapes (binary)",
    description=(
        "Ellipses, rectangles, triangles and irregular blobs on a textured, noisy background. "
        "Some objects barely differ from the background, and the foreground share is a knob, "
        "so you can watch how class imbalance changes what each loss learns."
    ),
    num_classes=2,
    class_names=["background", "foreground"],
    params=[
        ParamSpec(
            "fg_fraction",
            0.2,
            min=0.01,
            max=0.5,
            step=0.01,
            help="Mean share of foreground pixels. Small values make a strongly imbalanced task.",
        ),
        ParamSpec("noise", 0.05, min=0.0, max=0.3, step=0.01, help="Standard deviation of the pixel noise."),
        ParamSpec("max_objects", 4, min=1, max=8, step=1, help="Largest number of objects in one image."),
    ],
    default_n=512,
    has_instances=True,
)

# Shape kinds and their polygon side counts: ellipse, rectangle, triangle, blob.
KIND_SIDES = (SMOOTH_SIDES, 4.0, 3.0, SMOOTH_SIDES)
BLOB = 3
TARGET_SPREAD = 0.45  # log-normal spread of the per-image foreground share
MIN_OBJECT_PIXELS = 12.0  # never plan objects smaller than this
CALIBRATION_SIZE = 32  # resolution of the quick render that corrects object sizes
CALIBRATION_ROUNDS = 2


def plan_objects(
    generator: torch.Generator, n: int, size: int, fg_fraction: float, max_objects: int
) -> tuple[PolarObjects, torch.Tensor]:
    """Draw shapes and a per-image foreground target (n,) whose mean is ``fg_fraction``."""
    g = generator
    k = max_objects
    z = normal(g, (n,))
    target = (fg_fraction * torch.exp(TARGET_SPREAD * z - TARGET_SPREAD**2 / 2)).clamp(0.002, 0.85)
    count = randint(g, (n,), 1, k)
    count = torch.minimum(count, (target * size * size / MIN_OBJECT_PIXELS).floor().long().clamp_min(1))
    active = torch.arange(k, device=g.device).unsqueeze(0) < count.unsqueeze(1)
    weights = uniform(g, (n, k), 0.3, 1.0) * active
    weights = weights / weights.sum(1, keepdim=True)
    # Independent, uniformly placed objects of area shares f_j cover 1 - Π(1 - f_j) on average;
    # choosing f_j = 1 - (1 - t)^w_j with Σ w_j = 1 makes that union equal the target t.
    share = 1 - (1 - target.unsqueeze(1)) ** weights

    kind = randint(g, (n, k), 0, 3)
    sides = torch.tensor(KIND_SIDES, device=g.device)[kind]
    amps = uniform(g, (n, k, 2), 0.0, 1.0) * torch.tensor([0.22, 0.15], device=g.device)
    amps = amps * (kind == BLOB).unsqueeze(-1)
    phases = uniform(g, (n, k, 2), 0.0, 2 * math.pi)
    aspect = torch.exp(uniform(g, (n, k), -0.7, 0.7))
    angle = uniform(g, (n, k), 0.0, 2 * math.pi)
    objs = PolarObjects(
        cx=torch.zeros(n, k, device=g.device),
        cy=torch.zeros(n, k, device=g.device),
        a=torch.ones(n, k, device=g.device),
        b=torch.ones(n, k, device=g.device),
        angle=angle,
        sides=sides,
        amps=amps,
        phases=phases,
        active=active,
    )
    ab = share * size * size / objs.unit_area()
    objs.a = torch.sqrt(ab * aspect).clamp_min(1.0)
    objs.b = torch.sqrt(ab / aspect).clamp_min(1.0)
    # Keep most of each object in view but let big ones run off the edges.
    reach = torch.sqrt(ab)
    margin = torch.minimum(0.6 * reach, torch.full_like(reach, 0.45 * size))
    objs.cx = margin + uniform(g, (n, k)) * (size - 2 * margin)
    objs.cy = margin + uniform(g, (n, k)) * (size - 2 * margin)
    return objs, target


def calibrate_sizes(objs: PolarObjects, target: torch.Tensor, size: int) -> None:
    """Rescale every image's objects so the measured foreground share meets its target.

    Renders at a low resolution, measures the covered share, and scales the half-axes by
    sqrt(target / measured) (bounded), because area grows with the square of length.
    """
    low = min(size, CALIBRATION_SIZE)
    labels, _ = render_polar(objs, low, scale=low / size)
    measured = (labels > 0).float().mean(dim=(1, 2))
    factor = torch.sqrt(target / measured.clamp_min(0.25 / (low * low))).clamp(0.75, 1.6)
    objs.a = objs.a * factor.unsqueeze(1)
    objs.b = objs.b * factor.unsqueeze(1)


def paint_shapes(
    generator: torch.Generator, labels: torch.Tensor, max_objects: int, noise: float
) -> torch.Tensor:
    """Colour and texture a label map into an RGB image (n, 3, H, W) in [0, 1]."""
    g = generator
    n, size, _ = labels.shape
    # Muted backgrounds (grey with a slight tint) and objects that step away from them mostly
    # in colour (chroma) plus a random brightness change: a consistent but not always strong cue.
    gray = uniform(g, (n, 1), 0.15, 0.85)
    background = (gray + normal(g, (n, 3), 0.05)).clamp(0.02, 0.98)
    chroma = random_unit_vectors(g, n)
    chroma = chroma - chroma.mean(1, keepdim=True)
    chroma = chroma / chroma.norm(dim=1, keepdim=True).clamp_min(1e-6)
    lightness = uniform(g, (n, 1), -0.8, 0.8) / 3**0.5
    direction = chroma + lightness
    direction = direction / direction.norm(dim=1, keepdim=True)
    # Most objects stand out clearly; about one image in seven is deliberately low-contrast.
    contrast = torch.where(bernoulli(g, (n,), 0.15), uniform(g, (n,), 0.1, 0.2), uniform(g, (n,), 0.2, 0.55))
    object_base = offset_colors(background, direction, contrast)
    slot_colors = (object_base.unsqueeze(1) + normal(g, (n, max_objects, 3), 0.035)).clamp(0, 1)
    table = torch.cat([background.unsqueeze(1), slot_colors], dim=1)
    image = gather_colors(table, labels)

    # Background: soft blotches plus a faint colour cast; objects: fine grain or stripes.
    blotches = fractal_noise(g, n, size, base_cells=3, octaves=3) * uniform(g, (n, 1, 1, 1), 0.02, 0.07)
    grain = value_noise(g, n, size, cells=max(2, size // 3)) * uniform(g, (n, 1, 1, 1), 0.04, 0.1)
    lines = stripes(g, n, size, 3.0, 7.0) * uniform(g, (n, 1, 1, 1), 0.04, 0.1)
    use_lines = uniform(g, (n, 1, 1, 1)) < 0.4
    object_texture = torch.where(use_lines, lines, grain)
    foreground = (labels > 0).unsqueeze(1)
    image = image + torch.where(foreground, object_texture, blotches)
    image = image + linear_gradient(g, n, size) * uniform(g, (n, 1, 1, 1), 0.0, 0.06)
    image = blur3(image)
    if noise > 0:
        image = image + normal(g, (n, 3, size, size), noise)
    return image.clamp(0.0, 1.0)


@register_dataset(SHAPES_INFO)
def build_shapes(
    n: int,
    size: int,
    generator: torch.Generator,
    device: torch.device,
    *,
    fg_fraction: float = 0.2,
    noise: float = 0.05,
    max_objects: int = 4,
) -> Generated:
    """Draw ``n`` shapes samples (see module docstring)."""
    objs, target = plan_objects(generator, n, size, fg_fraction, max_objects)
    for _ in range(CALIBRATION_ROUNDS):
        calibrate_sizes(objs, target, size)
    labels, _ = render_polar(objs, size)
    image = paint_shapes(generator, labels, max_objects, noise)
    masks = (labels > 0).long()
    return Generated(image, masks, compact_labels(labels, max_objects))
