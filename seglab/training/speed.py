"""Speed settings of the training engine that do not change what is computed.

* ``prepare_model(model, device)``: on CUDA, depthwise convolutions (MobileNet-style blocks:
  FPN's encoder, MobileNetV2) run in the plain NCHW layout while the rest of the model stays
  channels-last. PyTorch sends every channels-last convolution to cuDNN, including depthwise
  ones (``use_cudnn_depthwise``: "always use cudnn_depthwise for channels_last format"), and
  cuDNN's depthwise kernels in NHWC are slow, chosen per shape by its heuristics (a new plan
  for every batch shape, which is where a slow first epoch comes from). In NCHW, PyTorch uses
  its own depthwise kernel (``CudaDepthwise2d``) for fp32 and bf16. This was FPN's "3× slower
  steps and slow first epoch" on an H200; on the CPU (oneDNN) depthwise convolutions are
  fast in either layout and nothing changes. The hooks convert layouts only, so the numbers
  computed are the same.
* ``eval_batch_size(batch_size, device)``: evaluation keeps no gradients, so it uses large
  batches: at least 64 images on the CPU, 256 on a GPU.
* ``training_forward(model, device)``: the forward pass used for training, optionally through
  ``torch.compile`` (``$SEGLAB_COMPILE=1``; off by default: it costs tens of seconds of compile
  time per run and per batch shape, which short classroom runs do not win back on the CPU).
  If compiling fails, training carries on with the plain model and says so once.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from torch import nn

EVAL_BATCH_CPU = 64
EVAL_BATCH_GPU = 256


def is_depthwise(conv: nn.Module) -> bool:
    """A 2-D convolution with one group per input channel (and a multiple of it out)."""
    return (
        isinstance(conv, nn.Conv2d)
        and conv.groups > 1
        and conv.groups == conv.in_channels
        and conv.out_channels % conv.groups == 0
    )


def nchw_strides(shape: torch.Size | tuple[int, ...]) -> tuple[int, ...]:
    """Row-major (NCHW) strides of ``shape``, size-1 dimensions included."""
    strides, step = [], 1
    for size in reversed(tuple(shape)):
        strides.append(step)
        step *= max(1, int(size))
    return tuple(reversed(strides))


def _to_nchw(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    x = args[0]
    if x.stride() != nchw_strides(x.shape):  # also when only size-1 dims make it "contiguous"
        x = torch.empty_strided(x.shape, nchw_strides(x.shape), dtype=x.dtype, device=x.device).copy_(x)
    return (x, *args[1:])


def _to_channels_last(module: nn.Module, args: tuple[Any, ...], out: torch.Tensor) -> torch.Tensor:
    return out.contiguous(memory_format=torch.channels_last)


def prepare_model(model: nn.Module, device: torch.device) -> int:
    """Adjust ``model`` for fast steps on ``device`` (see the module docstring); returns how
    many depthwise convolutions were switched to NCHW (0 off CUDA)."""
    if device.type != "cuda":
        return 0
    count = 0
    for module in model.modules():
        if is_depthwise(module) and not getattr(module, "_seglab_nchw", False):
            # cuDNN is chosen when the input *or* the weight looks channels-last: give the
            # weight plain NCHW strides too (a (C,1,k,k) weight is ambiguous otherwise)
            w = module.weight.data
            module.weight.data = torch.empty_strided(
                w.shape, nchw_strides(w.shape), dtype=w.dtype, device=w.device
            ).copy_(w)
            module.register_forward_pre_hook(_to_nchw)
            module.register_forward_hook(_to_channels_last)
            module._seglab_nchw = True  # type: ignore[attr-defined]
            count += 1
    return count


def eval_batch_size(batch_size: int, device: torch.device) -> int:
    """Batch size for evaluation: the training batch, but at least 64 (CPU) or 256 (GPU)."""
    return max(int(batch_size), EVAL_BATCH_GPU if device.type == "cuda" else EVAL_BATCH_CPU)


def compile_wanted() -> bool:
    """``$SEGLAB_COMPILE`` is 1/true/yes (default off)."""
    return os.environ.get("SEGLAB_COMPILE", "").strip().lower() in ("1", "true", "yes", "on")


class TrainingForward:
    """Calls ``model`` (compiled when asked); falls back to the plain model if compiling fails."""

    def __init__(self, model: nn.Module, compiled: Any = None) -> None:
        self.model = model
        self.compiled = compiled
        self.fallback_reason: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as exc:  # a compiler problem: train on without it
                if _is_oom(exc):
                    raise
                self.compiled = None
                self.fallback_reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                print(
                    f"[seglab] torch.compile failed; training without it ({self.fallback_reason})",
                    file=sys.stderr,
                )
        return self.model(*args, **kwargs)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc)


def training_forward(model: nn.Module, device: torch.device, compile: bool | None = None) -> TrainingForward:
    """The forward pass the engine trains with (``compile``: None reads ``$SEGLAB_COMPILE``)."""
    wanted = compile_wanted() if compile is None else compile
    compiled = None
    if wanted and hasattr(torch, "compile"):
        try:
            compiled = torch.compile(model, dynamic=False)
        except Exception as exc:  # e.g. an unsupported Python version
            print(f"[seglab] torch.compile unavailable ({type(exc).__name__}: {exc})", file=sys.stderr)
    return TrainingForward(model, compiled)
