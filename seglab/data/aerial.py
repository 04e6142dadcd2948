"""`aerial`: six-class scenes seen from above — ground, buildings, roads, vegetation, water, vehicles.

Layers are drawn back to front: ground, vegetation and water (smooth-noise regions cut at a
per-image quantile, so their share is controlled), buildings (rectangles lined up along the
roads), roads (straight bands) and vehicles (small rectangles on the roads). Each class has
its own colour and texture statistics, and the class shares are deliberately uneven:
vehicles cover about one percent of the pixels.
"""

from __future__ import annotations

import math

import torch

from seglab.data.geometry import band_distance, render_rects
from seglab.data.registry import DatasetInfo, Generated, register_dataset
from seglab.data.textures import (
    bernoulli,
    blur3,
    fractal_noise,
    gather_colors,
    gather_values,
    normal,
    randint,
    threshold_top_fraction,
    uniform,
    value_noise,
)
from seglab.registry import ParamSpec

GROUND, BUILDING, ROAD, VEGETATION, WATER, VEHICLE = range(6)
CLASS_NAMES = ["ground", "building", "road", "vegetation", "water", "vehicle"]

AERIAL_INFO = DatasetInfo(
    name="aerial",
    title="Aerial scenes (6 classes)",
    description=(
        "Synthetic views from above with ground, buildings, roads, vegetation, water and vehicles. "
        "The classes are very unequal in size — vehicles cover about 1 % of the pixels — which "
        "makes per-class IoU and imbalance-aware losses matter."
    ),
    num_classes=6,
    class_names=CLASS_NAMES,
    params=[
        ParamSpec("noise", 0.03, min=0.0, max=0.3, step=0.01, help="Standard deviation of the pixel noise."),
        ParamSpec("max_vehicles", 8, min=0, max=16, step=1, help="Largest number of vehicles in one image."),
        ParamSpec(
            "max_buildings", 8, min=0, max=16, step=1, help="Largest number of buildings in one image."
        ),
    ],
    default_n=512,
)

# Mean colours (RGB) per class; each image jitters them a little.
CLASS_COLORS = torch.tensor(
    [
        [0.58, 0.52, 0.40],  # ground: dry soil
        [0.62, 0.36, 0.30],  # building: placeholder, roofs get their own colours below
        [0.40, 0.40, 0.42],  # road: asphalt
        [0.20, 0.38, 0.17],  # vegetation: dark green
        [0.13, 0.27, 0.42],  # water: deep blue
        [0.90, 0.90, 0.90],  # vehicle: placeholder, cars get their own colours below
    ]
)
# Texture strength per class: coarse (patchy) and fine (grainy) components.
COARSE_AMP = torch.tensor([0.06, 0.0, 0.015, 0.05, 0.025, 0.0])
FINE_AMP = torch.tensor([0.03, 0.015, 0.02, 0.09, 0.008, 0.0])
ROOF_COLORS = torch.tensor(
    [[0.72, 0.30, 0.22], [0.80, 0.80, 0.82], [0.93, 0.91, 0.86], [0.36, 0.38, 0.46], [0.42, 0.54, 0.64]]
)
CAR_COLORS = torch.tensor(
    [[0.95, 0.95, 0.95], [0.08, 0.08, 0.10], [0.80, 0.12, 0.10], [0.15, 0.25, 0.75], [0.95, 0.80, 0.15]]
)
MAX_ROADS = 3


def _pick(
    generator: torch.Generator, palette: torch.Tensor, shape: tuple[int, ...], jitter: float
) -> torch.Tensor:
    """Colours drawn from ``palette`` rows, jittered, shape (*shape, 3)."""
    idx = randint(generator, shape, 0, palette.shape[0] - 1)
    colors = palette.to(generator.device)[idx]
    return (colors + normal(generator, (*shape, 3), jitter)).clamp(0, 1)


@register_dataset(AERIAL_INFO)
def build_aerial(
    n: int,
    size: int,
    generator: torch.Generator,
    device: torch.device,
    *,
    noise: float = 0.03,
    max_vehicles: int = 8,
    max_buildings: int = 8,
) -> Generated:
    """Draw ``n`` aerial samples (see module docstring)."""
    g = generator
    s = size / 64.0  # all lengths below are given for 64-pixel images
    classes = torch.full((n, size, size), GROUND, dtype=torch.int64, device=device)

    # Vegetation and water: smooth fields cut at a per-image quantile.
    veg_field = fractal_noise(g, n, size, base_cells=3, octaves=3)
    veg_share = uniform(g, (n,), 0.06, 0.4)
    classes.masked_fill_(threshold_top_fraction(veg_field, veg_share), VEGETATION)
    water_field = fractal_noise(g, n, size, base_cells=2, octaves=2, persistence=0.35)
    water_share = uniform(g, (n,), 0.06, 0.28) * bernoulli(g, (n,), 0.5)
    classes.masked_fill_(threshold_top_fraction(water_field, water_share), WATER)

    # Roads: 1..3 straight bands, mostly axis-aligned like a street grid.
    n_roads = randint(g, (n,), 1, MAX_ROADS)
    road_on = torch.arange(MAX_ROADS, device=device).unsqueeze(0) < n_roads.unsqueeze(1)
    axis = randint(g, (n, MAX_ROADS), 0, 1).float() * (math.pi / 2)
    road_angle = torch.where(
        bernoulli(g, (n, MAX_ROADS), 0.7),
        axis + normal(g, (n, MAX_ROADS), 0.05),
        uniform(g, (n, MAX_ROADS), 0, math.pi),
    )
    road_x = uniform(g, (n, MAX_ROADS), 0.15, 0.85) * size
    road_y = uniform(g, (n, MAX_ROADS), 0.15, 0.85) * size
    road_half = uniform(g, (n, MAX_ROADS), 1.6, 3.0) * s
    road = torch.zeros(n, size, size, dtype=torch.bool, device=device)
    marking = torch.zeros_like(road)
    for r in range(MAX_ROADS):
        across, along = band_distance(road_x[:, r], road_y[:, r], road_angle[:, r], size)
        half = (road_half[:, r] * road_on[:, r]).view(n, 1, 1)
        road |= across.abs() <= half
        dashes = (across.abs() <= 0.45 * s) & (torch.remainder(along, 6 * s) < 3 * s) & (half >= 2.2 * s)
        marking |= dashes

    # Buildings: most stand beside a road, facing it; the rest anywhere, axis-aligned.
    kb = max_buildings
    b_active = torch.arange(kb, device=device).unsqueeze(0) < randint(g, (n,), min(3, kb), kb).unsqueeze(1)
    b_road = (uniform(g, (n, kb)) * n_roads.unsqueeze(1)).long().clamp_max(MAX_ROADS - 1)
    b_angle = road_angle.gather(1, b_road)
    half_len = uniform(g, (n, kb), 3.0, 7.0) * s
    half_wid = uniform(g, (n, kb), 2.5, 5.5) * s
    offset = road_half.gather(1, b_road) + uniform(g, (n, kb), 1.0, 3.5) * s + half_wid
    side = torch.where(bernoulli(g, (n, kb), 0.5), 1.0, -1.0)
    along_pos = uniform(g, (n, kb), -0.45, 0.45) * size
    cos_b, sin_b = torch.cos(b_angle), torch.sin(b_angle)
    bx = road_x.gather(1, b_road) + along_pos * cos_b - side * offset * sin_b
    by = road_y.gather(1, b_road) + along_pos * sin_b + side * offset * cos_b
    free = bernoulli(g, (n, kb), 0.25)
    bx = torch.where(free, uniform(g, (n, kb), 0.1, 0.9) * size, bx)
    by = torch.where(free, uniform(g, (n, kb), 0.1, 0.9) * size, by)
    b_angle = torch.where(free, randint(g, (n, kb), 0, 1) * (math.pi / 2), b_angle)
    if kb > 0:
        building_id, roof_side = render_rects(bx, by, half_len, half_wid, b_angle, b_active, size)
    else:
        building_id = torch.zeros_like(classes)
        roof_side = torch.zeros_like(road)
    classes.masked_fill_(building_id > 0, BUILDING)
    classes.masked_fill_(road, ROAD)

    # Vehicles: small rectangles on a road, in one of its lanes, aligned with it.
    kv = max_vehicles
    v_active = torch.arange(kv, device=device).unsqueeze(0) < randint(g, (n,), 0, kv).unsqueeze(1)
    v_road = (uniform(g, (n, kv)) * n_roads.unsqueeze(1)).long().clamp_max(MAX_ROADS - 1)
    v_angle = road_angle.gather(1, v_road)
    lane = torch.where(bernoulli(g, (n, kv), 0.5), 0.5, -0.5) * road_half.gather(1, v_road)
    v_along = uniform(g, (n, kv), -0.5, 0.5) * size
    cos_v, sin_v = torch.cos(v_angle), torch.sin(v_angle)
    vx = road_x.gather(1, v_road) + v_along * cos_v - lane * sin_v
    vy = road_y.gather(1, v_road) + v_along * sin_v + lane * cos_v
    v_len = uniform(g, (n, kv), 1.9, 2.6) * s
    v_wid = torch.minimum(uniform(g, (n, kv), 1.0, 1.3) * s, road_half.gather(1, v_road) * 0.6)
    if kv > 0:
        vehicle_id, _ = render_rects(vx, vy, v_len, v_wid, v_angle, v_active, size)
    else:
        vehicle_id = torch.zeros_like(classes)
    classes.masked_fill_(vehicle_id > 0, VEHICLE)

    # Paint: class colours with per-image jitter, per-building roofs, per-vehicle paint.
    palette = CLASS_COLORS.to(device).unsqueeze(0) + normal(g, (n, 6, 3), 0.035)
    image = gather_colors(palette.clamp(0, 1), classes)
    roofs = torch.cat([torch.zeros(n, 1, 3, device=device), _pick(g, ROOF_COLORS, (n, kb), 0.04)], dim=1)
    cars = torch.cat([torch.zeros(n, 1, 3, device=device), _pick(g, CAR_COLORS, (n, kv), 0.04)], dim=1)
    is_building = (classes == BUILDING).unsqueeze(1)
    is_vehicle = (classes == VEHICLE).unsqueeze(1)
    image = torch.where(is_building, gather_colors(roofs, building_id), image)
    image = torch.where(is_vehicle, gather_colors(cars, vehicle_id), image)
    # Gable roofs: one slope lit, the other in shade.
    shade = torch.where(roof_side, 0.06, -0.06).unsqueeze(1) * is_building
    image = image + shade + 0.25 * (marking & (classes == ROAD)).unsqueeze(1)
    # Buildings cast a shadow towards the lower right onto whatever lies there.
    reach = max(1, round(1.5 * s))
    shadow = torch.zeros_like(road)
    shadow[:, reach:, reach:] = (building_id > 0)[:, :-reach, :-reach]
    shadow &= (classes != BUILDING) & (classes != VEHICLE)
    image = image * (1 - 0.45 * shadow.unsqueeze(1))

    coarse = fractal_noise(g, n, size, base_cells=4, octaves=3)
    fine = value_noise(g, n, size, cells=max(2, size // 2))
    coarse_amp = gather_values(COARSE_AMP.to(device).expand(n, 6), classes)
    fine_amp = gather_values(FINE_AMP.to(device).expand(n, 6), classes)
    image = image + coarse_amp * coarse + fine_amp * fine
    # Global lighting / haze of the whole scene.
    image = image * uniform(g, (n, 1, 1, 1), 0.85, 1.15) + uniform(g, (n, 3, 1, 1), -0.03, 0.03)
    image = blur3(image)
    if noise > 0:
        image = image + normal(g, (n, 3, size, size), noise)
    return Generated(image.clamp(0, 1), classes, None)
