"""Rasterising objects for a whole batch at once: polar shapes, rotated rectangles, straight bands.

Objects live in *slots*: every image of a batch has the same number of slots ``K`` and each
parameter is an (n, K) tensor, so drawing slot ``k`` is one vectorised pass over all images.
A slot can be switched off per image with ``active``. Where objects overlap the later slot
wins, which gives an instance-label map for free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SMOOTH_SIDES = 64.0  # a 64-gon is indistinguishable from a circle at our resolutions


@dataclass
class PolarObjects:
    """Shapes described in polar form around a centre, one (n, K) tensor per parameter.

    In the object's rotated frame, scaled by the half-axes ``a`` (along ``angle``) and ``b``,
    a point at radius ρ and angle θ is inside when ρ ≤ P(θ)·H(θ), where P is a regular
    polygon with ``sides`` sides and inradius 1 (``SMOOTH_SIDES`` for round shapes) and
    H(θ) = 1 + Σ_j amps[j]·cos((j + 2)θ + phases[j]) wobbles the outline into a blob.
    Anisotropic ``a`` ≠ ``b`` turns circles into ellipses, squares into rectangles and the
    equilateral triangle into general triangles.
    """

    cx: torch.Tensor  # centre x, pixels
    cy: torch.Tensor  # centre y, pixels
    a: torch.Tensor  # half-axis along `angle`, pixels
    b: torch.Tensor  # half-axis across `angle`, pixels
    angle: torch.Tensor  # rotation, radians
    sides: torch.Tensor  # polygon side count (float), SMOOTH_SIDES for round shapes
    amps: torch.Tensor  # (n, K, J) outline wobble amplitudes (0 for clean shapes)
    phases: torch.Tensor  # (n, K, J) outline wobble phases
    active: torch.Tensor  # (n, K) bool: is the slot drawn in this image

    def unit_area(self) -> torch.Tensor:
        """Area of each shape in its scaled frame (multiply by a·b for pixels), (n, K).

        A regular m-gon of inradius 1 has area m·tan(π/m); the wobble multiplies the mean
        squared radius by 1 + Σ A²/2 (exact for a circle, close for the polygons).
        """
        polygon = self.sides * torch.tan(math.pi / self.sides)
        return polygon * (1 + 0.5 * (self.amps**2).sum(-1))


def render_polar(
    objs: PolarObjects, size: int, *, scale: float = 1.0, want_radius: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Draw the objects on a ``size``×``size`` grid; positions and half-axes are multiplied by ``scale``.

    Returns ``labels`` (n, size, size) int64 — 0 where no object is, else 1 + the index of the
    last slot covering the pixel — and, if asked, ``radius`` (n, size, size): the covering
    object's relative radius ρ / outline (0 at its centre, 1 on its edge; 1 on background).
    """
    n, k_slots = objs.cx.shape
    device = objs.cx.device
    coords = torch.arange(size, device=device, dtype=torch.float32) + 0.5
    labels = torch.zeros(n, size, size, dtype=torch.int64, device=device)
    radius = torch.ones(n, size, size, device=device) if want_radius else None
    cos_r, sin_r = torch.cos(objs.angle), torch.sin(objs.angle)
    segment = 2 * math.pi / objs.sides
    inradius_gain = torch.cos(segment / 2)
    # Switched-off slots are moved far outside the image instead of masked pixel by pixel.
    far = torch.tensor(-1e6, device=device)
    cx = torch.where(objs.active, objs.cx * scale, far)
    cy = torch.where(objs.active, objs.cy * scale, far)
    a, b = objs.a * scale, objs.b * scale

    for k in range(k_slots):
        if not bool(objs.active[:, k].any()):
            continue
        # u and v are sums of a per-column and a per-row term: build those small tensors
        # first so only one full-size operation is needed for each.
        dx = coords.view(1, 1, size) - cx[:, k].view(n, 1, 1)
        dy = coords.view(1, size, 1) - cy[:, k].view(n, 1, 1)
        c, s = cos_r[:, k].view(n, 1, 1), sin_r[:, k].view(n, 1, 1)
        ak, bk = a[:, k].view(n, 1, 1), b[:, k].view(n, 1, 1)
        u = dx * (c / ak) + dy * (s / ak)
        v = dy * (c / bk) - dx * (s / bk)
        rho = torch.sqrt(u * u + v * v)
        theta = torch.atan2(v, u)
        seg = segment[:, k].view(n, 1, 1)
        outline = inradius_gain[:, k].view(n, 1, 1) / torch.cos(torch.remainder(theta, seg) - seg / 2)
        amps = objs.amps[:, k]
        if bool((amps != 0).any()):
            wobble = 1.0
            for j in range(amps.shape[-1]):
                a_j = amps[:, j].view(n, 1, 1)
                p_j = objs.phases[:, k, j].view(n, 1, 1)
                wobble = wobble + a_j * torch.cos(theta * float(j + 2) + p_j)
            outline = outline * wobble
        inside = rho <= outline
        labels.masked_fill_(inside, k + 1)
        if radius is not None:
            radius = torch.where(inside, rho / outline, radius)
    return labels, radius


def render_rects(
    cx: torch.Tensor,
    cy: torch.Tensor,
    half_len: torch.Tensor,
    half_wid: torch.Tensor,
    angle: torch.Tensor,
    active: torch.Tensor,
    size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw rotated rectangles given per-slot (n, K) centre, half length (along ``angle``), half width.

    Returns ``labels`` (n, size, size) int64 (0 = none, 1 + slot of the last rectangle covering
    the pixel) and ``side`` (n, size, size) bool: whether the pixel lies in the rectangle's
    ``+width`` half (used to shade the two slopes of a roof).
    """
    n, k_slots = cx.shape
    device = cx.device
    coords = torch.arange(size, device=device, dtype=torch.float32) + 0.5
    labels = torch.zeros(n, size, size, dtype=torch.int64, device=device)
    side = torch.zeros(n, size, size, dtype=torch.bool, device=device)
    cos_r, sin_r = torch.cos(angle), torch.sin(angle)
    far = torch.tensor(-1e6, device=device)
    cx = torch.where(active, cx, far)
    cy = torch.where(active, cy, far)
    for k in range(k_slots):
        if not bool(active[:, k].any()):
            continue
        dx = coords.view(1, 1, size) - cx[:, k].view(n, 1, 1)
        dy = coords.view(1, size, 1) - cy[:, k].view(n, 1, 1)
        c, s = cos_r[:, k].view(n, 1, 1), sin_r[:, k].view(n, 1, 1)
        along = (dx * (c / half_len[:, k].view(n, 1, 1)) + dy * (s / half_len[:, k].view(n, 1, 1))).abs()
        across = dy * (c / half_wid[:, k].view(n, 1, 1)) - dx * (s / half_wid[:, k].view(n, 1, 1))
        inside = torch.maximum(along, across.abs()) <= 1.0
        labels.masked_fill_(inside, k + 1)
        side = torch.where(inside, across > 0, side)
    return labels, side


def band_distance(
    px: torch.Tensor, py: torch.Tensor, angle: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Signed distance across, and position along, straight lines through (px, py) at ``angle``.

    Inputs are (n,) tensors; outputs are (n, size, size) in pixels.
    """
    n = px.shape[0]
    coords = torch.arange(size, device=px.device, dtype=torch.float32) + 0.5
    dx = coords.view(1, 1, size) - px.view(n, 1, 1)
    dy = coords.view(1, size, 1) - py.view(n, 1, 1)
    c, s = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    return dy * c - dx * s, dx * c + dy * s


def compact_labels(labels: torch.Tensor, k_slots: int) -> torch.Tensor:
    """Renumber each image's visible slot labels to 1..k in slot order (0 stays background).

    Slots that ended up hidden (fully covered, outside the image or switched off) leave no
    gap in the numbering.
    """
    n = labels.shape[0]
    flat = labels.reshape(n, -1)
    present = torch.zeros(n, k_slots + 1, dtype=torch.int64, device=labels.device)
    present.scatter_(1, flat, 1)
    present[:, 0] = 0
    new_ids = present.cumsum(1) * present
    return new_ids.gather(1, flat).reshape(labels.shape)
