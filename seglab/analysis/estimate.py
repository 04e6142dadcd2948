"""How long will a study take on this machine? Measure, then multiply.

We time a few real training steps (forward, backward, optimiser step) of each chosen
architecture at the chosen image size, batch size, width and depth, on the device a worker
would use, with the same number of CPU threads a worker gets. A run then costs about::

    epochs × (train batches × step time + validation batches × forward time)
    + test evaluation + a fixed start-up cost (building data and model, saving files)

and the study is the time until the last run ends when the queue's runs are handed, in
order, to the worker's slots (runs that train side by side: two on a 2-core laptop), each
slot taking the next run as soon as it is free. Step timings are
cached per process, so changing the number of epochs or seeds re-estimates instantly.

Plain functions, no Streamlit. The estimate is an order of magnitude guide: it cannot know
that another program will be busy on the same cores while the study runs.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seglab.errors import SegLabError
from seglab.settings.config import TrainConfig
from seglab.store.epoch_predictions import EPOCH_IMAGES

RUN_OVERHEAD_SECONDS = 0.5  # data generation, model build, checkpoints, previews per run


@dataclass(frozen=True)
class StepTiming:
    """Measured seconds for one training step and one evaluation forward pass."""

    arch: str
    train_step: float
    eval_forward: float  # one forward pass of ``batch_size`` images, no gradients
    device: str
    threads: int


@dataclass
class RunEstimate:
    config: TrainConfig
    n_train: int
    n_val: int
    n_test: int
    train_batches: int
    seconds: float


@dataclass
class StudyEstimate:
    """Total seconds (wall clock, workers in parallel), runs and per-run detail."""

    runs: list[RunEstimate] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    timings: dict[str, StepTiming] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def text(self) -> str:
        """'12 runs, 2 at a time, on CPU (1 thread each)' (the duration is ``seconds``)."""
        runs = f"{self.n_runs} run" + ("s" if self.n_runs != 1 else "")
        side = min(self.workers, self.n_runs)
        at_once = f", {side} at a time" if side > 1 else ""
        where = ""
        if self.timings:
            t = next(iter(self.timings.values()))
            each = " each" if side > 1 else ""
            where = f", on {t.device}" + (
                f" ({t.threads} thread{'s' if t.threads != 1 else ''}{each})" if t.device == "CPU" else ""
            )
        return f"{runs}{at_once}{where}"


def worker_threads() -> int:
    """CPU threads a background worker uses (it leaves one core for the app)."""
    return max(1, (os.cpu_count() or 1) - 1)


def expand_grid(base: TrainConfig, grid: Mapping[str, Sequence[Any]]) -> list[TrainConfig]:
    """Every combination of the grid's values applied to ``base`` (the queue's order: see
    `seglab.settings.study.Study.expand`, which this is a shorthand for)."""
    from seglab.settings.study import Study

    if not grid:
        return [base]
    return Study(base, {k: list(v) for k, v in grid.items()}).expand()


def split_sizes(config: TrainConfig) -> tuple[int, int, int]:
    """(train, val, test) sample counts the engine will use for this config."""
    from seglab.data import split_indices

    n = config.n
    if n is None:
        from seglab.data import dataset_info
        from seglab.errors import UnknownNameError

        try:
            n = dataset_info(config.dataset).default_n
        except UnknownNameError:  # a folder or zip dataset: its size is unknown until it is read
            n = 200
    train, val, test = split_indices(
        n, val=config.val_fraction, test=config.test_fraction, seed=config.split_seed
    )
    return len(train), len(val), len(test)


PROBE_BATCH = 4  # on CPU, expensive steps are timed on 2 and 4 images and extrapolated
CHEAP_SECONDS = 1.5  # a step expected to take less than this is timed at the real batch size
REPEATS = 2  # timed steps after the warm-up (time_step's default, and what cached_timing looks up)
#: The largest step "Estimate time" will run, as first-level activation values per timed step
#: (images × width × size²). Memory and time of a step grow with it (the audit measured ~90 bytes
#: per value for U-Net); 2²⁴ keeps one measurement near 1.5 GB and seconds, not minutes.
MAX_PROBE_VALUES = 2**24


class EstimateTooLargeError(SegLabError):
    """A model too large to time safely on this server."""


def probe_values(size: int, batch_size: int, width: int) -> int:
    """First-level activation values of the step `time_step` runs on the CPU (at most
    :data:`PROBE_BATCH` images): the bound of :data:`MAX_PROBE_VALUES` applies to it."""
    return min(int(batch_size), PROBE_BATCH) * int(width) * int(size) ** 2


def time_step(
    arch: str,
    *,
    size: int,
    batch_size: int,
    width: int,
    depth: int,
    out_channels: int = 1,
    device: str = "auto",
    threads: int | None = None,
    repeats: int = REPEATS,
) -> StepTiming:
    """Time one training step and one evaluation forward pass of ``arch`` on random data.

    One warm-up step (allocations, kernel choice), then the mean of ``repeats`` steps; when
    the warm-up alone takes over a second, it is used as the measurement. Small steps are
    timed at the real batch size. On the CPU, a step that would be slow is timed on 2 and
    :data:`PROBE_BATCH` images instead and extrapolated as fixed cost + cost per image
    (tiny batches are dominated by the fixed cost, so plain proportional scaling would
    overestimate). Cached per argument set.
    """
    threads = threads or worker_threads()
    return _time_step(arch, size, batch_size, width, depth, out_channels, device, threads, repeats)


def cached_timing(
    arch: str,
    *,
    size: int,
    batch_size: int,
    width: int,
    depth: int,
    out_channels: int = 1,
    device: str = "auto",
) -> StepTiming | None:
    """The timing if it was measured already in this process, else None (never measures)."""
    key = (arch, size, batch_size, width, depth, out_channels, device, worker_threads(), REPEATS)
    return _MEASURED.get(key)


_MEASURED: dict[tuple[Any, ...], StepTiming] = {}


def _time_step(
    arch: str,
    size: int,
    batch_size: int,
    width: int,
    depth: int,
    out_channels: int,
    device_name: str,
    threads: int,
    repeats: int,
) -> StepTiming:
    key = (arch, size, batch_size, width, depth, out_channels, device_name, threads, repeats)
    if key in _MEASURED:
        return _MEASURED[key]
    import torch

    from seglab.device import resolve_device
    from seglab.models import create_model

    device = resolve_device(device_name)
    previous = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        model = create_model(arch, in_channels=3, num_classes=out_channels, width=width, depth=depth)
        model = model.to(device, memory_format=torch.channels_last)  # as the engine trains
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        def sync() -> None:
            if device.type == "cuda":
                torch.cuda.synchronize()

        def timed(fn: Any) -> float:
            start = time.perf_counter()
            fn()  # warm-up: allocations, kernel choice
            sync()
            first = time.perf_counter() - start
            if first > 1.0:
                return first
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            sync()
            return (time.perf_counter() - start) / repeats

        def measure(batch: int) -> tuple[float, float]:
            x = torch.rand(batch, 3, size, size, device=device).contiguous(memory_format=torch.channels_last)
            y = (torch.rand(batch, out_channels, size, size, device=device) > 0.5).float()

            def train_step() -> None:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

            model.train()
            step = timed(train_step)
            model.eval()
            with torch.inference_mode():
                forward = timed(lambda: model(x))
            return step, forward

        if device.type != "cpu" or batch_size <= PROBE_BATCH:
            step, forward = measure(batch_size)
        else:
            step_probe, forward_probe = measure(PROBE_BATCH)
            scale = batch_size / PROBE_BATCH
            if step_probe * scale < CHEAP_SECONDS:
                step, forward = measure(batch_size)  # cheap enough to time the real batch
            else:
                # time = fixed cost + cost per image: fit it on two small batches, extrapolate
                half = PROBE_BATCH // 2
                step_half, forward_half = measure(half)
                per_image = max(0.0, (step_probe - step_half) / (PROBE_BATCH - half))
                per_image_fwd = max(0.0, (forward_probe - forward_half) / (PROBE_BATCH - half))
                extra = batch_size - PROBE_BATCH
                step = step_probe + per_image * extra
                forward = forward_probe + per_image_fwd * extra
    finally:
        if device.type == "cpu":
            torch.set_num_threads(previous)
    label = "CPU" if device.type == "cpu" else ("GPU" if device.type == "cuda" else device.type.upper())
    timing = StepTiming(arch, step, forward, label, threads)
    _MEASURED[key] = timing
    return timing


def estimate_run(config: TrainConfig, timing: StepTiming) -> RunEstimate:
    """Seconds for one run from its split sizes and a measured step timing."""
    n_train, n_val, n_test = split_sizes(config)
    train_batches = math.ceil(n_train / config.batch_size)
    # forward time scales with the number of images; timing was measured at batch_size images
    per_image_forward = timing.eval_forward / config.batch_size
    watched = min(n_val, EPOCH_IMAGES)  # validation images predicted again after every epoch
    seconds = (
        config.epochs * (train_batches * timing.train_step + (n_val + watched) * per_image_forward)
        + n_test * per_image_forward
        + (min(n_val, 8) + min(n_test, 32)) * per_image_forward  # prediction previews at the end
        + RUN_OVERHEAD_SECONDS
    )
    return RunEstimate(config, n_train, n_val, n_test, train_batches, seconds)


def estimate_study(
    configs: Iterable[TrainConfig],
    *,
    workers: int | None = None,
    device: str = "auto",
    out_channels: int = 1,
    measure: bool = True,
) -> StudyEstimate | None:
    """Estimate every run (timing each distinct model shape once) and the study total.

    ``workers``: how many runs train at the same time; by default the slots the background
    worker takes on this device (`seglab.jobs.worker.default_slot_count`).
    ``measure=False`` uses only timings measured earlier and returns None if one is missing,
    so a page can re-estimate for free whenever the number of epochs or seeds changes.
    """
    estimate = StudyEstimate(workers=max(1, workers if workers is not None else worker_slots(device)))
    for config in configs:
        shape = {
            "size": config.size,
            "batch_size": config.batch_size,
            "width": config.width,
            "depth": config.depth,
        }
        where = device if config.device == "auto" else config.device
        if measure:
            if probe_values(config.size, config.batch_size, config.width) > MAX_PROBE_VALUES:
                raise EstimateTooLargeError(
                    f"{config.arch} at {config.size} px with width {config.width} is too large to time "
                    "safely on this server; lower the image size or the width to get an estimate."
                )
            timing = time_step(config.arch, **shape, out_channels=out_channels, device=where)
        else:
            timing = cached_timing(config.arch, **shape, out_channels=out_channels, device=where)
            if timing is None:
                return None
        estimate.timings[config.arch + "/" + "/".join(str(v) for v in shape.values())] = timing
        estimate.runs.append(estimate_run(config, timing))
    estimate.seconds = makespan([r.seconds for r in estimate.runs], estimate.workers)
    return estimate


def worker_slots(device: str = "auto") -> int:
    """Runs the background worker trains side by side on ``device`` (its default slots)."""
    from seglab.device import resolve_device
    from seglab.jobs.worker import default_slot_count

    return default_slot_count(resolve_device(device).type)


def makespan(durations: Sequence[float], slots: int) -> float:
    """Seconds until the last of ``durations`` ends when they start in order, each on the first
    of ``slots`` to be free (how the worker's slots take queued runs)."""
    free = [0.0] * max(1, slots)
    for seconds in durations:
        i = free.index(min(free))
        free[i] += seconds
    return max(free)
