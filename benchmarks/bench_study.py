"""A whole study at speed: wall time, aggregate images/s, TFLOP/s, fraction of peak, bare ratio.

Queues a study (architectures × losses × seeds) in a fresh experiment home and runs it with
the job worker at each ``--slots`` value (``1,4,8``: one measurement per value, each in its
own home, so each pays for drawing its data once, as a real study does). For each it prints

* wall time from queueing to the last result;
* aggregate training images/s: Σ over runs of (training images × epochs) ÷ wall time;
* achieved TFLOP/s: Σ over runs of (training FLOPs per image × images trained) ÷ wall time,
  where the FLOPs of one forward + backward pass come from ``torch.utils.flop_counter``
  (evaluation FLOPs are not counted, so this is a lower bound);
* the fraction of the device's peak (a table of bf16 dense tensor-core peaks by device
  name, or ``--peak-tflops``; "unknown" on a CPU unless given);
* the bare-loop ratio: the time the same training would take as bare PyTorch loops run
  one after another (each architecture's channels-last loop, measured here, images/s after a
  warm-up epoch) ÷ the study's wall time. Above 1: the study beats running bare loops in
  sequence; it includes everything a study does (evaluation, checkpoints, predictions).

    python benchmarks/bench_study.py                          # CPU: quick preset, 4 runs, slots 1 and 2
    python benchmarks/bench_study.py --device cuda --seeds 0,1,2   # GPU: the 48-run study, default slots
    python benchmarks/bench_study.py --device cuda --epochs 10 --slots 1,4,8,16   # choose the GPU default
    python benchmarks/bench_study.py --device cuda --epochs 10 --compile          # does torch.compile pay?

On a GPU the default is the study preset (4 archs × 4 losses, 40 epochs, 128 px) at the
default slot count only: one-at-a-time would take ~11 min (issue 10's H200 figure), so compare
slot counts with fewer ``--epochs``. Time budget of a device session: the 48-run study aims at
≤ 6 min; the bare loops and FLOP counts add about a minute.

Uses only the CLI/library paths that need no Streamlit or Altair (checked at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seglab.device import device_label, resolve_device  # noqa: E402
from seglab.jobs.queue import JobQueue  # noqa: E402
from seglab.jobs.worker import default_slot_count, run_worker  # noqa: E402
from seglab.settings.config import TrainConfig  # noqa: E402
from seglab.settings.presets import preset  # noqa: E402
from seglab.settings.study import Study, parse_seeds  # noqa: E402
from seglab.store.run_store import RunStore  # noqa: E402

# bf16 dense tensor-core peak, TFLOP/s (vendor data sheets); matched by substring of the name.
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 80GB HBM3": 989.0,  # how the SXM part names itself
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 756.0,  # an H100 of unknown form factor: the lower (PCIe) figure
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
}


def device_peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16_TFLOPS.items():  # longer keys first in the table where it matters
        if key in name:
            return value
    return None


def train_flops_per_image(config: TrainConfig, num_classes: int, batch: int = 2) -> float:
    """FLOPs of one forward + backward pass per image (``torch.utils.flop_counter``, on the CPU)."""
    from torch.utils.flop_counter import FlopCounterMode

    from seglab.training.engine import build_loss, build_model

    model = build_model(config, num_classes)
    loss_fn, uses_aux = build_loss(config, num_classes)
    x = torch.rand(batch, 3, config.size, config.size)
    y = torch.randint(0, num_classes, (batch, config.size, config.size))
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x, return_aux=True) if uses_aux else model(x)
        loss = loss_fn(out[0], y, aux=list(out[1])) if uses_aux else loss_fn(out, y)
        loss.backward()
    return counter.get_total_flops() / batch


def bare_rate(config: TrainConfig, epochs: int = 3) -> float:
    """Median images/s of a bare channels-last loop for ``config`` (after one warm-up epoch)."""
    from bench_engine import bare_loop

    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    return statistics.median(bare_loop(config.replace(augment=False), epochs, channels_last=True)[1:])


def run_study(study: Study, slots: int, device: str, threads: int | None) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"bench-study-{slots}-"))
    with JobQueue(home) as q:
        group = q.enqueue_study(study)
    t0 = time.perf_counter()
    run_worker(home, once=True, group=group, device=device, slots=slots, threads=threads, verbose=False)
    wall = time.perf_counter() - t0
    store = RunStore(home)
    runs = [r for r in store.list_runs() if r.group == group]
    images = {r.id: 0 for r in runs}
    for r in runs:
        images[r.id] = sum(
            h.get("train_seconds", 0) * h.get("images_per_second", 0) for h in store.history(r.id)
        )
    return {"home": home, "wall": wall, "runs": runs, "images": images}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default=None, help="default: study on a GPU, quick on a CPU")
    parser.add_argument("--archs", default=None, help="default: unet,segnet (CPU), the study's four (GPU)")
    parser.add_argument("--losses", default=None, help="default: bce,dice (CPU), the study's four (GPU)")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument(
        "--slots", default=None, help="comma-separated slot counts to compare (default: 1,<default>)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads per job (default cores // slots)"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--peak-tflops", type=float, default=None, help="the device's peak (overrides the table)"
    )
    parser.add_argument(
        "--compile", action="store_true", help="train through torch.compile (SEGLAB_COMPILE=1)"
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-loop measurement")
    args = parser.parse_args()

    from seglab.settings.presets import STUDY_ARCHS, STUDY_LOSSES

    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    if args.compile:
        os.environ["SEGLAB_COMPILE"] = "1"
    base = preset(args.preset or ("study" if gpu else "quick"), device=device.type)
    if args.epochs:
        base = base.replace(epochs=args.epochs)
    archs = (args.archs or (",".join(STUDY_ARCHS) if gpu else "unet,segnet")).split(",")
    losses = (args.losses or (",".join(STUDY_LOSSES) if gpu else "bce,dice")).split(",")
    seeds = parse_seeds(args.seeds)
    study = Study(base, {"arch": archs, "loss": losses}, seeds=seeds if len(seeds) > 1 else [], name="bench")
    if len(seeds) == 1:
        study = Study(base.replace(seed=seeds[0]), {"arch": archs, "loss": losses}, name="bench")
    default_slots = (
        f"1,{default_slot_count(device.type)}" if not gpu else str(default_slot_count(device.type))
    )
    slot_values = [int(s) for s in (args.slots or default_slots).split(",")]
    slot_values = list(dict.fromkeys(slot_values))
    peak = device_peak_tflops(device, args.peak_tflops)

    print(f"device: {device_label(device)}; cores {os.cpu_count()}; load {os.getloadavg()[0]:.2f}")
    print(
        f"study: {len(archs)} archs × {len(losses)} losses × {len(seeds)} seed(s) = {study.n_runs} runs; "
        f"size {base.size}, n {base.n}, width {base.width}, depth {base.depth}, batch {base.batch_size}, "
        f"{base.epochs} epochs, precision {base.precision}, compile {'on' if args.compile else 'off'}"
    )
    from seglab.data.cache import cached_dataset
    from seglab.training.engine import data_seed

    num_classes = cached_dataset(base.dataset, size=base.size, n=base.n, seed=data_seed(base)).num_classes
    flops = {a: train_flops_per_image(base.replace(arch=a, loss=losses[0]), num_classes) for a in archs}
    for a, f in flops.items():
        print(f"  {a}: {f / 1e9:.2f} GFLOP per image (forward + backward, {losses[0]})")
    bare: dict[str, float] = {}
    if not args.no_bare:
        for a in archs:
            bare[a] = bare_rate(base.replace(arch=a, loss=losses[0], device=device.type))
            print(f"  bare channels-last loop, {a}: {bare[a]:.1f} images/s")

    for slots in slot_values:
        out = run_study(study, slots, device.type, args.threads)
        runs, wall = out["runs"], out["wall"]
        done = sum(r.status == "done" for r in runs)
        total_images = sum(out["images"].values())
        total_flops = sum(flops.get(r.config.arch, 0.0) * out["images"][r.id] for r in runs)
        tflops = total_flops / wall / 1e12
        line = (
            f"slots {slots}: wall {wall:7.1f} s ({wall / 60:.2f} min), {done}/{len(runs)} done, "
            f"{total_images / wall:8.1f} training images/s, {tflops:.3f} TFLOP/s"
        )
        line += f" = {tflops / peak:.1%} of {peak:g} peak" if peak else ", fraction of peak: unknown"
        if bare:
            sequential = sum(out["images"][r.id] / bare[r.config.arch] for r in runs if r.config.arch in bare)
            line += f"; bare-loop ratio {sequential / wall:.3f}"
        print(line, flush=True)
        ious = [r.test_iou for r in runs if r.test_iou is not None]
        if ious:
            print(f"  test IoU: mean {statistics.mean(ious):.4f}, min {min(ious):.4f}, max {max(ious):.4f}")
        print(f"  load average now {os.getloadavg()[0]:.2f}; runs in {out['home']}")
    heavy = [m for m in ("streamlit", "altair") if m in sys.modules]
    print("imports: no streamlit/altair" if not heavy else f"imports: {heavy} were imported (should not be)")


if __name__ == "__main__":
    main()
