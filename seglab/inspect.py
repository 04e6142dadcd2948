"""Look inside a trained network: feature maps of every stage, their strongest channels,
and the model's answer on any image.

`feature_maps` runs one image through a model with PyTorch *forward hooks*: small callbacks
attached to the sub-modules that each architecture names in ``model.feature_stages()`` (see
`seglab.models.stages`). Each hook copies the tensor flowing out of (or into) its module, so we
see exactly what the network computed, without changing it. Deep-supervised models (U-Net++)
also return their side outputs: one prediction per nested sub-network.

A stage's tensor has shape (C, h, w): C feature maps ("channels") of size h×w, with
``h = H / 2**level`` for an input whose sides are multiples of ``2**depth`` (the model pads
other sizes, so their maps are those of the padded image).

No Streamlit here; the Inside page lays these out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from seglab.data.images import ImageFileError, picture_for_model
from seglab.errors import InternalError
from seglab.models.base import ModelInputError, SegModel
from seglab.models.stages import FeatureStage
from seglab.palette import colormap

#: prefix of the names of side outputs in `feature_maps`' answer
SIDE_PREFIX = "side "


#: an uploaded picture could not be used (the one error of `seglab.data.images`)
ImageInputError = ImageFileError


def stages_of(model: SegModel, side_outputs: bool | None = None) -> list[str]:
    """The names `feature_maps` returns for ``model``, in order, without running it."""
    names = [s.name for s in model.feature_stages()]
    if _want_sides(model, side_outputs):
        names += [SIDE_PREFIX + n for n in model.side_output_names()]
    return names


def _want_sides(model: SegModel, side_outputs: bool | None) -> bool:
    return bool(getattr(model, "deep_supervision", False)) if side_outputs is None else side_outputs


@torch.no_grad()
def feature_maps(
    model: SegModel, image: torch.Tensor | np.ndarray, *, side_outputs: bool | None = None
) -> list[tuple[str, torch.Tensor]]:
    """``[(stage name, tensor (C, h, w)), ...]`` for one image (3, H, W) float in [0, 1].

    One entry per ``model.feature_stages()`` (encoder, bottleneck, decoder, nested nodes,
    pyramid levels …) in forward order, then, if ``side_outputs`` (default: the model is
    deep-supervised), one ``"side <stage>"`` entry per auxiliary output: its logits
    (num_classes, H, W) at the input size. Tensors are float32 on the CPU. The model runs in
    eval mode (BatchNorm uses its stored statistics) and its mode is restored afterwards.
    """
    if isinstance(image, np.ndarray):
        image = torch.from_numpy(image)
    if not isinstance(image, torch.Tensor) or image.dim() != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ModelInputError(f"expected one image (3, H, W), got {shape}.")
    stages = model.feature_stages()
    captured: dict[str, list[torch.Tensor]] = {s.name: [] for s in stages}
    handles = []

    def make_hook(stage: FeatureStage):
        if stage.capture == "input":

            def pre_hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
                captured[stage.name].append(args[0].detach().clone())

            return pre_hook

        def hook(_module: nn.Module, _args: Any, output: torch.Tensor) -> None:
            captured[stage.name].append(output.detach().clone())  # safe from in-place ops

        return hook

    for stage in stages:
        try:
            module = model.get_submodule(stage.module)
        except AttributeError:  # the model's description of itself is wrong: a bug, not the user's
            for handle in handles:
                handle.remove()
            raise InternalError(
                f"{type(model).__name__}.feature_stages() names stage {stage.name!r} at "
                f"{stage.module!r}, a module this model does not have"
            ) from None
        if stage.capture == "input":
            handles.append(module.register_forward_pre_hook(make_hook(stage)))
        else:
            handles.append(module.register_forward_hook(make_hook(stage)))
    want_sides = _want_sides(model, side_outputs)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = model(image.to(device, torch.float32).unsqueeze(0), return_aux=want_sides)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    result = []
    for stage in stages:
        seen = captured[stage.name]
        if len(seen) != 1:  # a stage list that does not match the forward pass is a bug
            raise InternalError(f"stage {stage.name!r} ({stage.module}) ran {len(seen)} times, expected once")
        result.append((stage.name, seen[0][0].float().cpu()))
    if want_sides:
        _, aux = out
        names = model.side_output_names()
        if len(names) != len(aux):
            raise InternalError(
                f"{type(model).__name__} names {len(names)} side outputs but returned {len(aux)}"
            )
        result += [(SIDE_PREFIX + n, a[0].float().cpu()) for n, a in zip(names, aux, strict=True)]
    return result


def channel_strength(t: torch.Tensor) -> torch.Tensor:
    """Mean absolute activation of each channel of ``t`` (C, h, w): ``s_c = mean_{y,x} |t_c(y,x)|``."""
    return t.abs().flatten(1).mean(dim=1)


def top_channels(t: torch.Tensor, k: int) -> tuple[list[int], torch.Tensor]:
    """The ``k`` strongest channels of ``t`` (C, h, w) by `channel_strength`, strongest first.

    Returns ``(indices, t[indices])``; ``k`` larger than C gives all channels. Ties keep the
    lower index first.
    """
    if t.dim() != 3:
        raise ValueError(f"expected a (C, h, w) tensor, got shape {tuple(t.shape)}")
    k = max(0, min(int(k), t.shape[0]))
    strength = channel_strength(t)
    order = sorted(range(t.shape[0]), key=lambda c: (-float(strength[c]), c))[:k]
    return order, t[order]


def channel_grid(t: torch.Tensor, *, cols: int = 4, min_tile: int = 48, gap: int = 2) -> np.ndarray:
    """Tile the channels of ``t`` (C, h, w) into one grey uint8 picture (rows, cols of tiles).

    Each channel is stretched on its own to 0…255 (min → black, max → white; a constant
    channel is mid-grey), so weak and strong channels both show their pattern; compare
    strengths with `channel_strength`, not with brightness. Tiles are enlarged by an integer
    factor (nearest neighbour) to at least ``min_tile`` pixels, so a 4×4 map shows 16 crisp
    squares, and separated by ``gap`` white pixels.
    """
    if t.dim() != 3 or t.shape[0] == 0:
        raise ValueError(f"expected a non-empty (C, h, w) tensor, got shape {tuple(t.shape)}")
    c, h, w = t.shape
    cols = max(1, min(cols, c))
    rows = -(-c // cols)
    factor = max(1, -(-min_tile // max(h, w)))
    th, tw = h * factor, w * factor
    grid = np.full((rows * th + (rows - 1) * gap, cols * tw + (cols - 1) * gap), 255, dtype=np.uint8)
    flat = t.detach().float().flatten(1)
    lo = flat.min(dim=1).values[:, None, None]
    hi = flat.max(dim=1).values[:, None, None]
    span = hi - lo
    scaled = torch.where(span > 0, (t - lo) / span.clamp_min(1e-12), torch.full_like(t, 0.5))
    tiles = (scaled * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    for i in range(c):
        r, q = divmod(i, cols)
        y, x = r * (th + gap), q * (tw + gap)
        grid[y : y + th, x : x + tw] = tiles[i].repeat(factor, axis=0).repeat(factor, axis=1)
    return grid


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Per-pixel class probabilities from logits (C, H, W): sigmoid if C == 1 (gives the
    foreground probability, (1, H, W)), softmax over classes otherwise."""
    return torch.sigmoid(logits) if logits.shape[0] == 1 else torch.softmax(logits, dim=0)


@torch.no_grad()
def predict_image(model: SegModel, image: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """The model's answer on one image (3, H, W): ``probs`` float32 (C', H, W) from
    `probabilities` and ``confidence`` float32 (H, W), the probability of the class each
    pixel would get (for one sigmoid channel: ``max(p, 1 - p)``)."""
    device = next(model.parameters()).device
    image = torch.as_tensor(image)
    was_training = model.training
    model.eval()
    try:
        logits = model(image.to(device, torch.float32).unsqueeze(0))[0].float().cpu()
    finally:
        model.train(was_training)
    probs = probabilities(logits)
    # one sigmoid channel: the chosen class has probability p (object) or 1 - p (background)
    confidence = torch.maximum(probs[0], 1 - probs[0]) if probs.shape[0] == 1 else probs.max(dim=0).values
    return {"probs": probs.numpy(), "confidence": confidence.numpy()}


def stage_rows(
    model: SegModel, image: np.ndarray, k: int, *, side_outputs: bool | None = None
) -> list[tuple[str, tuple[int, ...], list[int], np.ndarray]]:
    """What the Inside page draws per stage: ``(name, shape (C, h, w), shown channel indices,
    picture)``; the picture is the grid of the ``k`` strongest channels (`channel_grid`), or for
    a side output its probabilities (C', H, W)."""
    rows = []
    for name, t in feature_maps(model, image, side_outputs=side_outputs):
        if name.startswith(SIDE_PREFIX):
            rows.append((name, tuple(t.shape), [], probabilities(t).numpy()))
        else:
            idx, top = top_channels(t, k)
            rows.append((name, tuple(t.shape), idx, channel_grid(top, cols=4)))
    return rows


def device_name(model: nn.Module) -> str:
    """ "GPU" or "CPU": where the model's weights are (the Inside page's timings run there)."""
    return "GPU" if next(model.parameters()).device.type == "cuda" else "CPU"


def threshold_mask(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Labels (H, W) int64: for one channel ``p ≥ threshold`` → 1; for several, argmax
    (the threshold only applies to binary models)."""
    if probs.shape[0] == 1:
        return (probs[0] >= threshold).astype(np.int64)
    return probs.argmax(axis=0).astype(np.int64)


def image_from_bytes(data: bytes, size: int, name: str = "the picture") -> torch.Tensor:
    """An uploaded picture as a float tensor (3, size, size) in [0, 1], read exactly as the
    folder loader reads a file (`seglab.data.images`: upright, 16-bit and decimal pictures at
    their brightness, size limits), centre-cropped to a square, then resized to the size the
    model was trained on. Unusable files raise `ImageInputError` naming ``name``."""
    return picture_for_model(data, size, name)


def heatmap_rgb(values: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Colour a (H, W) array of probabilities or confidences, ``lo`` → dark, ``hi`` → yellow:
    the app's one sequential colour map (`seglab.palette.colormap`, viridis). uint8 (H, W, 3)."""
    if hi <= lo:
        raise ValueError(f"hi must be above lo, got lo={lo}, hi={hi}")
    return colormap(values, lo, hi, "viridis")


def run_split(config: Any, split: str = "val", limit: int | None = None) -> Any:
    """The images of a stored run's ``split`` ("train" | "val" | "test"), rebuilt exactly as
    training built them (same dataset, size, seeds and split), on the CPU; at most ``limit``."""
    from seglab.training.engine import load_data

    ds, idx = load_data(config)
    chosen = idx[split] if limit is None else idx[split][:limit]
    return ds.subset(chosen)
