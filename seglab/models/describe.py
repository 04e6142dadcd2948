"""Look inside a model: a layer table, parameter and MAC counts, a diagram description, and
loading / saving weights.

*Parameters* are the learnable numbers (weights and biases). *MACs* (multiply–accumulates)
count the arithmetic of one forward pass for one image: a convolution producing an output of
``C_out × H × W`` with a ``k×k`` kernel over ``C_in`` channels does
``C_out·H·W·C_in·k²`` of them. We let ``torch.utils.flop_counter.FlopCounterMode`` count
FLOPs (it counts a multiply and an add as two) and report ``MACs = FLOPs / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from seglab.models.base import SegModel, WeightsError


@dataclass
class ModelDescription:
    """Result of `describe_model`.

    ``layers``: one dict per executed leaf module, in execution order, with ``name`` (dotted
    path inside the model), ``type`` (class name), ``output_shape`` (tuple, batch of 1
    included) and ``params`` (its own parameter count).
    """

    layers: list[dict[str, Any]] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    macs: int = 0
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()

    @property
    def flops(self) -> int:
        """Floating-point operations, counting multiply and add separately (= 2 · MACs)."""
        return 2 * self.macs


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for item in out:
            t = _first_tensor(item)
            if t is not None:
                return t
    return None


def describe_model(
    model: nn.Module, size: int | tuple[int, int] = 64, in_channels: int = 3
) -> ModelDescription:
    """Run one image of ``size`` (int or (H, W)) through ``model`` (eval mode, no gradients)
    and record every leaf layer's output shape and parameters, plus the total MACs.

    ``in_channels`` is used unless the model says otherwise (``model.in_channels``).
    The model's train/eval mode is restored afterwards.
    """
    h, w = (size, size) if isinstance(size, int) else size
    channels = getattr(model, "in_channels", in_channels)
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    x = torch.zeros(1, channels, h, w, device=device)

    layers: list[dict[str, Any]] = []
    handles = []

    def make_hook(name: str):
        def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
            t = _first_tensor(output)
            layers.append(
                {
                    "name": name,
                    "type": type(module).__name__,
                    "output_shape": tuple(t.shape) if t is not None else (),
                    "params": sum(p.numel() for p in module.parameters(recurse=False)),
                }
            )

        return hook

    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):
            handles.append(module.register_forward_hook(make_hook(name)))

    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    out_t = _first_tensor(out)
    return ModelDescription(
        layers=layers,
        total_params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        macs=int(counter.get_total_flops()) // 2,
        input_shape=tuple(x.shape),
        output_shape=tuple(out_t.shape) if out_t is not None else (),
    )


def model_graph(model: SegModel) -> dict[str, Any]:
    """A structured description of ``model`` for drawing its diagram.

    Keys: ``levels`` (list of ``{level, channels, divisor, scale}``; ``divisor`` = ``scale`` =
    ``2**level``, the resolution is ``H/divisor``), ``nodes`` (boxes: ``{id, level, role,
    channels}``), ``path`` (main-path arrows ``{from, to, op}``), ``links`` (skip-style
    connections ``{from, to, kind}`` with kind ∈ concat-skip | pool-indices | nested-skip |
    score-fusion | lateral), ``aux_heads`` (count), ``aux_from`` (node ids, coarse → fine),
    ``output_from``, ``downsample`` (maxpool | strided-conv), ``upsample`` (unpool |
    transposed-conv | bilinear), plus ``arch``, ``depth``, ``width`` and model-specific extras.
    """
    return model.graph()


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict stored in ``path``: a bare one, or one held by a checkpoint dict under
    ``model_state`` / ``state_dict`` / ``model``.

    Reads with ``torch.load(path, weights_only=True, map_location="cpu")`` (no code runs,
    nothing is downloaded). A missing, unreadable or non-weights file raises `WeightsError`
    naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {str(path)!r} does not exist.")
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # corrupt or non-PyTorch file: the user's problem, say so plainly
        raise WeightsError(f"cannot read weights from {str(path)!r}: {exc}") from exc
    if isinstance(obj, dict):
        for key in ("model_state", "state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{str(path)!r} does not contain model weights (expected a PyTorch state dict).")
    return dict(obj)


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load weights saved with `save_weights` (or ``torch.save(model.state_dict(), path)``).

    Uses ``torch.load(path, weights_only=True, map_location="cpu")`` — safe for untrusted
    files, nothing is downloaded — then copies the tensors onto the model's device.
    Raises `WeightsError` (plain words) if the file is missing, unreadable or does not fit.
    """
    state = read_state_dict(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(
            f"the weights in {str(path)!r} do not fit this model (different architecture, width, "
            f"depth or number of classes?). Details: {exc}"
        ) from exc
    return model


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Save ``model.state_dict()`` to ``path`` (creating folders); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path
