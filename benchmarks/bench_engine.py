"""Training throughput of ``seglab.training.engine.train`` against a bare PyTorch loop.

Both train the same model (same seed, same initial weights) on the same device-resident
tensors with the same batch size, loss and optimiser; the bare loop does nothing else (no
evaluation, no callbacks, no augmentation), so the ratio shows what the engine's
bookkeeping costs. Only the engine's training phase is timed (its per-epoch
``train_seconds``); the first epoch of each is a warm-up and is not counted. Engine and
bare loop alternate ``--repeats`` times and the median is reported, which keeps the
comparison fair on a busy machine.

    python benchmarks/bench_engine.py                      # quick preset, U-Net, BCE+Dice
    python benchmarks/bench_engine.py --arch segnet --epochs 4 --repeats 5

Goal: ratio (engine / bare) ≥ 0.9.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seglab.device import device_label, resolve_device  # noqa: E402
from seglab.settings.presets import preset  # noqa: E402
from seglab.training.engine import build_loss, build_model, build_optimizer, load_data, train  # noqa: E402


def bare_loop(config, epochs: int, channels_last: bool = False) -> list[float]:  # noqa: ANN001
    """Images/s of each epoch of a plain training loop (no eval, no callbacks).

    ``channels_last=False`` is the loop most people write; ``True`` also uses the memory
    layout the engine uses, so the ratio to it isolates the engine's bookkeeping.
    """
    torch.set_flush_denormal(True)  # as the engine does, so both see the same CPU mode
    device = resolve_device(config.device)
    ds, idx = load_data(config, device)
    x_all, y_all = ds.images[idx["train"]], ds.masks[idx["train"]]
    torch.manual_seed(config.seed)
    model = build_model(config, ds.num_classes).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    loss_fn, uses_aux = build_loss(config, ds.num_classes)
    optimizer = build_optimizer(config, model.parameters(), device)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    )
    g = torch.Generator().manual_seed(config.seed)
    n, rates = len(x_all), []
    model.train()
    for _ in range(epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g).to(device)
        for start in range(0, n, config.batch_size):
            ix = perm[start : start + config.batch_size]
            x, y = x_all[ix], y_all[ix]
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                out = model(x, return_aux=True) if uses_aux else model(x)
            loss = (
                loss_fn(out[0].float(), y, aux=[a.float() for a in out[1]])
                if uses_aux
                else loss_fn(out.float(), y)
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - t0))
    return rates


def engine_loop(config) -> list[float]:  # noqa: ANN001
    result = train(config)
    if result.status != "done":
        raise SystemExit(f"engine run ended {result.status}: {result.message}")
    return [h["images_per_second"] for h in result.history]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--arch", default="unet")
    parser.add_argument("--loss", default="bce_dice")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (first is warm-up)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    config = preset(
        args.preset, arch=args.arch, loss=args.loss, epochs=args.epochs, augment=False, device=args.device
    )
    if args.threads:
        config = config.replace(num_threads=args.threads)
    if config.num_threads:  # the engine sets this for its run; the bare loop gets the same
        torch.set_num_threads(config.num_threads)
    device = resolve_device(config.device)
    print(f"device: {device_label(device)}")
    print(
        f"config: {config.arch} / {config.loss}, size {config.size}, n {config.n}, width {config.width}, "
        f"depth {config.depth}, batch {config.batch_size}, {args.epochs} epochs × {args.repeats} repeats"
    )
    rates: dict[str, list[float]] = {"engine": [], "bare": [], "bare_cl": []}
    for r in range(args.repeats):
        rates["bare"] += (bare := bare_loop(config, args.epochs)[1:])
        rates["bare_cl"] += (bare_cl := bare_loop(config, args.epochs, channels_last=True)[1:])
        rates["engine"] += (eng := engine_loop(config)[1:])
        print(
            f"  repeat {r + 1}: engine {statistics.median(eng):7.1f}   bare {statistics.median(bare):7.1f}"
            f"   bare channels-last {statistics.median(bare_cl):7.1f}  images/s"
        )
    e, b, bc = (statistics.median(rates[k]) for k in ("engine", "bare", "bare_cl"))
    print(f"engine:                  {e:8.1f} images/s (median)")
    print(f"bare loop (NCHW):        {b:8.1f} images/s (median)")
    print(f"bare loop channels-last: {bc:8.1f} images/s (median)")
    print(f"ratio engine/bare:               {e / b:.3f}  (goal ≥ 0.9)")
    print(f"ratio engine/bare channels-last: {e / bc:.3f}  (goal ≥ 0.9)")


if __name__ == "__main__":
    main()
