"""`cells`: round, touching and overlapping blobs like a microscopy image, with instance ids.

Each image holds several cells — slightly irregular ellipses. Many are placed right next to
an earlier cell, so they touch or overlap; where they overlap, the later cell is on top.
The semantic mask says "cell or not"; ``instances`` numbers every visible cell 1..k, so the
same picture shows the difference between semantic and instance segmentation.
Half the images look like fluorescence (bright cells on black), half like a stained
brightfield slide (purple cells on pale ground).
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
    gather_values,
    normal,
    randint,
    uniform,
    value_noise,
)
from seglab.registry import ParamSpec

CELLS_INFO = DatasetInfo(
    name="cells",
    title="Cells (binary + instances)",
    description=(
        "Round, touching and overlapping cells as in a microscope image. The mask marks cell "
        "versus background; the instance map gives every cell its own number, showing why "
        "semantic segmentation alone cannot separate cells that touch."
    ),
    num_classes=2,
    class_names=["background", "cell"],
    params=[
        ParamSpec("noise", 0.04, min=0.0, max=0.3, step=0.01, help="Standard deviation of the pixel noise."),
        ParamSpec("max_cells", 10, min=2, max=20, step=1, help="Largest number of cells in one image."),
        ParamSpec(
            "touching",
            0.6,
            min=0.0,
            max=1.0,
            step=0.05,
            help="Chance that a cell is placed against an earlier one, so that they touch or overlap.",
        ),
    ],
    default_n=512,
    has_instances=True,
)

FLUORESCENT_COLORS = torch.tensor(
    [[0.35, 1.0, 0.40], [0.35, 0.65, 1.0], [1.0, 0.40, 0.50], [1.0, 0.85, 0.35]]
)
STAIN_COLORS = torch.tensor([[0.42, 0.20, 0.58], [0.55, 0.22, 0.45], [0.30, 0.22, 0.55]])


def place_cells(
    generator: torch.Generator, radius: torch.Tensor, touching: float, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres (n, K) for cells of mean ``radius`` (n, K): free, or against a random earlier cell."""
    g = generator
    n, k_slots = radius.shape
    cx = uniform(g, (n, k_slots), 0.1, 0.9) * size
    cy = uniform(g, (n, k_slots), 0.1, 0.9) * size
    attach = bernoulli(g, (n, k_slots), touching)
    direction = uniform(g, (n, k_slots), 0.0, 2 * math.pi)
    spacing = uniform(g, (n, k_slots), 0.7, 1.0)
    pick = uniform(g, (n, k_slots))
    for k in range(1, k_slots):
        j = (pick[:, k] * k).long().clamp_max(k - 1).unsqueeze(1)
        dist = (radius.gather(1, j).squeeze(1) + radius[:, k]) * spacing[:, k]
        nx = cx.gather(1, j).squeeze(1) + dist * torch.cos(direction[:, k])
        ny = cy.gather(1, j).squeeze(1) + dist * torch.sin(direction[:, k])
        cx[:, k] = torch.where(attach[:, k], nx.clamp(0, size), cx[:, k])
        cy[:, k] = torch.where(attach[:, k], ny.clamp(0, size), cy[:, k])
    return cx, cy


@register_dataset(CELLS_INFO)
def build_cells(
    n: int,
    size: int,
    generator: torch.Generator,
    device: torch.device,
    *,
    noise: float = 0.04,
    max_cells: int = 10,
    touching: float = 0.6,
) -> Generated:
    """Draw ``n`` cells samples (see module docstring)."""
    g = generator
    k_slots = max_cells
    s = size / 64.0
    count = randint(g, (n,), max(2, (k_slots + 1) // 2), k_slots)
    active = torch.arange(k_slots, device=device).unsqueeze(0) < count.unsqueeze(1)
    radius = uniform(g, (n, k_slots), 4.0, 7.5) * s
    aspect = torch.exp(uniform(g, (n, k_slots), -0.3, 0.3))
    cx, cy = place_cells(g, radius, touching, size)
    objs = PolarObjects(
        cx=cx,
        cy=cy,
        a=radius * aspect.sqrt(),
        b=radius / aspect.sqrt(),
        angle=uniform(g, (n, k_slots), 0.0, 2 * math.pi),
        sides=torch.full((n, k_slots), SMOOTH_SIDES, device=device),
        amps=uniform(g, (n, k_slots, 2)) * torch.tensor([0.10, 0.06], device=device),
        phases=uniform(g, (n, k_slots, 2), 0.0, 2 * math.pi),
        active=active,
    )
    labels, rel_radius = render_polar(objs, size, want_radius=True)
    assert rel_radius is not None

    # Appearance: background + (cell colour - background) * strength, strength 0 off-cell.
    fluorescent = bernoulli(g, (n, 1, 1, 1), 0.5)
    dark_bg = uniform(g, (n, 3, 1, 1), 0.02, 0.08)
    pale_bg = torch.tensor([0.93, 0.88, 0.91], device=device).view(1, 3, 1, 1) + normal(g, (n, 3, 1, 1), 0.02)
    background = torch.where(fluorescent, dark_bg, pale_bg)
    fl_color = FLUORESCENT_COLORS.to(device)[randint(g, (n,), 0, len(FLUORESCENT_COLORS) - 1)]
    st_color = STAIN_COLORS.to(device)[randint(g, (n,), 0, len(STAIN_COLORS) - 1)]
    cell_color = torch.where(fluorescent, fl_color.view(n, 3, 1, 1), st_color.view(n, 3, 1, 1))

    intensity = torch.cat([torch.zeros(n, 1, device=device), uniform(g, (n, k_slots), 0.45, 1.0)], dim=1)
    granules = value_noise(g, n, size, cells=max(2, size // 3))
    inside = (labels > 0).unsqueeze(1)
    strength = gather_values(intensity, labels) * (1 - 0.45 * rel_radius.unsqueeze(1) ** 2)
    strength = strength * (1 + 0.12 * granules) * inside
    image = background + (cell_color - background) * strength

    illumination = fractal_noise(g, n, size, base_cells=2, octaves=2) * uniform(g, (n, 1, 1, 1), 0.0, 0.03)
    image = blur3(image + illumination)
    if noise > 0:
        image = image + normal(g, (n, 3, size, size), noise)
    masks = (labels > 0).long()
    return Generated(image.clamp(0, 1), masks, compact_labels(labels, k_slots))
