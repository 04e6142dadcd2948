"""Every GPU measurement of the README in one script, one step per call (see gpu_check.sh).

Each step writes ``<out>/steps/<step>.json``; ``collect`` merges them into
``<out>/gpu_figures.json`` and a plain-text ``<out>/gpu_summary.txt``. The shell script runs
each step under its own ``timeout``, so one slow step costs its own figure, never the others.

Steps (study preset on CUDA: 128 px, n 2000, width 32, depth 4, batch 32, bf16 autocast):

* ``env``: device, torch, the bf16 peak used for "fraction of peak", FLOPs per image.
* ``data``: draws the study's data once into a shared cache (later steps reuse it).
* ``engine``: ``bench_engine``'s ratio: the engine's training images/s against a bare loop.
* ``fpn``: training step time of FPN (with and without the depthwise-NCHW fix of
  ``seglab.training.speed.prepare_model``) against U-Net, first step and steady state.
* ``compile``: the engine with ``SEGLAB_COMPILE`` off and on (first epoch and later epochs).
* ``slots-N``: ``bench_study``'s measurement of a shortened study (4 archs × 4 losses, seed 0,
  ``--slot-epochs`` epochs) with N worker slots and packing off: wall time, aggregate
  images/s, TFLOP/s, fraction of peak.
* ``packed``: one U-Net group of the 3-seed study (4 losses × 3 seeds = 12 runs, the group a
  pack trains) trained by the worker packed (1 slot, ``SEGLAB_PACK=on``) and unpacked (the
  default slots, ``SEGLAB_PACK=off``): wall time, images/s, TFLOP/s, fraction of peak, and
  the largest test-IoU gap between a packed run and its unpacked twin.

``--smoke`` runs every step on the CPU at the smoke preset's size (the test suite does this).
Only torch, numpy and the seglab library are used: no Streamlit, no Altair (each step
refuses to import them and records that it did not).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

BLOCKED = ("streamlit", "altair")


class _NoUiImports:
    """A meta-path finder that refuses Streamlit and Altair (absent on the GPU image)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} must not be needed by the GPU measurements")
        return None


sys.meta_path.insert(0, _NoUiImports())  # type: ignore[arg-type]

import torch  # noqa: E402

from seglab.settings.config import TrainConfig  # noqa: E402
from seglab.settings.presets import STUDY_ARCHS, STUDY_LOSSES, preset  # noqa: E402
from seglab.settings.study import Study  # noqa: E402

STEPS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {}


def step(name: str) -> Callable[[Callable[[argparse.Namespace], dict[str, Any]]], Any]:
    def register(fn: Callable[[argparse.Namespace], dict[str, Any]]) -> Any:
        STEPS[name] = fn
        return fn

    return register


# ---- the measured configuration --------------------------------------------------------
def base_config(args: argparse.Namespace) -> TrainConfig:
    """The study preset on CUDA; the smoke preset (a little more data) on the CPU with --smoke."""
    if args.smoke:
        return preset("smoke", n=48, device="cpu", num_threads=1, augment=True)
    return preset("study", device="cuda")


def peak_tflops(device: torch.device) -> float | None:
    from bench_study import device_peak_tflops

    return device_peak_tflops(device, None)


def flops_per_image(config: TrainConfig) -> float:
    from bench_study import train_flops_per_image

    from seglab.data.cache import cached_dataset
    from seglab.training.engine import data_seed

    classes = cached_dataset(config.dataset, size=config.size, n=config.n, seed=data_seed(config)).num_classes
    return train_flops_per_image(config, classes)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def save_partial(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Write what a step has measured so far, so a step stopped by its timeout keeps it."""
    path = Path(args.out) / "steps" / f"{args.step}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**figures, "partial": True}, indent=2, default=str))


# ---- steps ------------------------------------------------------------------------------
@step("env")
def env_step(args: argparse.Namespace) -> dict[str, Any]:
    from seglab.device import device_label, resolve_device

    config = base_config(args)
    device = resolve_device(config.device)
    out: dict[str, Any] = {
        "device": device_label(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "cpu_cores": os.cpu_count(),
        "peak_bf16_tflops": peak_tflops(device),
        "peak_source": "dense bf16 tensor-core peak from NVIDIA's data sheets (bench_study.PEAK_BF16_TFLOPS)",
        "config": config.to_dict(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        out["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        out["sm_count"] = props.multi_processor_count
    return out


@step("data")
def data_step(args: argparse.Namespace) -> dict[str, Any]:
    from seglab.data.cache import cached_dataset
    from seglab.training.engine import data_seed

    config = base_config(args)
    t0 = time.perf_counter()
    ds = cached_dataset(config.dataset, size=config.size, n=config.n, seed=data_seed(config))
    seconds = time.perf_counter() - t0
    flops = {a: flops_per_image(config.replace(arch=a, loss="bce")) for a in (*STUDY_ARCHS, "fpn")}
    return {"seconds": seconds, "images": len(ds), "gflop_per_image": {a: f / 1e9 for a, f in flops.items()}}


@step("engine")
def engine_step(args: argparse.Namespace) -> dict[str, Any]:
    from bench_engine import bare_loop, engine_loop

    config = base_config(args).replace(arch="unet", loss="bce_dice", epochs=3, augment=False)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    rates: dict[str, list[float]] = {"engine": [], "bare": [], "bare_channels_last": []}
    for _ in range(2):
        rates["bare"] += bare_loop(config, config.epochs)[1:]
        rates["bare_channels_last"] += bare_loop(config, config.epochs, channels_last=True)[1:]
        rates["engine"] += engine_loop(config)[1:]
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "images_per_second": med,
        "ratio_engine_bare": med["engine"] / med["bare"],
        "ratio_engine_bare_channels_last": med["engine"] / med["bare_channels_last"],
        "goal": "ratio >= 0.9",
    }


def _step_times(config: TrainConfig, fix: bool, steps: int) -> dict[str, float]:
    """Milliseconds of one training step (forward, backward, Adam) on device-resident data."""
    from seglab.training.engine import _autocast, build_loss, build_model, build_optimizer, load_data
    from seglab.training.speed import prepare_model

    device = torch.device(config.device)
    ds, idx = load_data(config, device)
    x = ds.images.index_select(0, idx["train"][: config.batch_size])
    y = ds.masks.index_select(0, idx["train"][: config.batch_size])
    x = x.contiguous(memory_format=torch.channels_last)
    torch.manual_seed(0)
    model = build_model(config, ds.num_classes).to(device, memory_format=torch.channels_last)
    switched = prepare_model(model, device) if fix else 0
    loss_fn, _ = build_loss(config, ds.num_classes)
    opt = build_optimizer(config, model.parameters(), device)

    def one() -> None:
        with _autocast(device, config.precision):
            out = model(x)
        loss = loss_fn(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    _sync(device)
    t0 = time.perf_counter()
    one()
    _sync(device)
    first = time.perf_counter() - t0
    for _ in range(3):
        one()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    _sync(device)
    return {
        "first_step_ms": first * 1e3,
        "step_ms": (time.perf_counter() - t0) / steps * 1e3,
        "depthwise_convs_switched": switched,
    }


@step("fpn")
def fpn_step(args: argparse.Namespace) -> dict[str, Any]:
    config = base_config(args).replace(loss="bce")
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    steps = 5 if args.smoke else 30
    out = {
        "unet": _step_times(config.replace(arch="unet"), True, steps),
        "fpn_with_fix": _step_times(config.replace(arch="fpn"), True, steps),
        "fpn_without_fix": _step_times(config.replace(arch="fpn"), False, steps),
    }
    out["fpn_over_unet"] = out["fpn_with_fix"]["step_ms"] / out["unet"]["step_ms"]
    out["fix_speedup"] = out["fpn_without_fix"]["step_ms"] / out["fpn_with_fix"]["step_ms"]
    return out


@step("compile")
def compile_step(args: argparse.Namespace) -> dict[str, Any]:
    from seglab.training.engine import train

    config = base_config(args).replace(arch="unet", loss="bce_dice", epochs=3)
    modes = ("0",) if args.smoke else ("0", "1")  # compiling on a 2-core CPU takes minutes
    out: dict[str, Any] = {"skipped": "compile on: not run in smoke mode" if args.smoke else None}
    for mode in modes:
        os.environ["SEGLAB_COMPILE"] = mode
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            result = train(config)
        history = result.history
        out["on" if mode == "1" else "off"] = {
            "status": str(result.status),
            "first_epoch_seconds": history[0]["train_seconds"] if history else None,
            "later_images_per_second": statistics.median(h["images_per_second"] for h in history[1:])
            if len(history) > 1
            else None,
            "compile_fell_back": "torch.compile failed" in err.getvalue(),
            "stderr_tail": err.getvalue()[-500:],
        }
        save_partial(args, out)  # compiling may use up the step's time: keep "off"
    if "on" in out and out["off"]["later_images_per_second"] and out["on"]["later_images_per_second"]:
        out["speedup_on_over_off"] = (
            out["on"]["later_images_per_second"] / out["off"]["later_images_per_second"]
        )
    return out


def _home(work: Path, name: str) -> Path:
    """A fresh experiment home whose data cache is the shared, already drawn one."""
    home = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work))
    (home / "_cache").mkdir()
    (home / "_cache" / "data").symlink_to(work / "data-cache", target_is_directory=True)
    return home


def _study_figures(
    home: Path, group: str, wall: float, flops: dict[str, float], peak: float | None
) -> dict[str, Any]:
    from seglab.store.run_store import RunStore

    store = RunStore(home)
    runs = [r for r in store.list_runs() if r.group == group]
    images = {
        r.id: sum(h["train_seconds"] * h["images_per_second"] for h in store.history(r.id)) for r in runs
    }
    tflops = sum(flops[r.config.arch] * images[r.id] for r in runs) / wall / 1e12
    return {
        "runs": len(runs),
        "done": sum(r.status == "done" for r in runs),
        "wall_seconds": wall,
        "images_per_second": sum(images.values()) / wall,
        "tflops": tflops,
        "fraction_of_peak": tflops / peak if peak else None,
        "test_iou": {f"{r.config.arch}/{r.config.loss}/{r.config.seed}": r.test_iou for r in runs},
    }


def _run_study(args: argparse.Namespace, study: Study, slots: int, pack: str) -> dict[str, Any]:
    from seglab.jobs.queue import JobQueue
    from seglab.jobs.worker import run_worker

    os.environ["SEGLAB_PACK"] = pack
    config = study.base
    home = _home(Path(args.work), f"study-{slots}-{pack}")
    with JobQueue(home) as q:
        group = q.enqueue_study(study)
    archs = sorted({c.arch for c in study.expand()})
    flops = {a: flops_per_image(config.replace(arch=a, loss="bce")) for a in archs}
    device = torch.device(config.device)
    threads = 1 if args.smoke else None
    t0 = time.perf_counter()
    run_worker(
        home, once=True, group=group, device=config.device, slots=slots, threads=threads, verbose=False
    )
    wall = time.perf_counter() - t0
    out = _study_figures(home, group, wall, flops, peak_tflops(device))
    out.update(slots=slots, packing=pack, epochs=config.epochs)
    return out


def slots_step(args: argparse.Namespace, slots: int) -> dict[str, Any]:
    base = base_config(args).replace(epochs=args.slot_epochs)
    archs = ["unet", "segnet"] if args.smoke else list(STUDY_ARCHS)
    losses = ["bce", "dice"] if args.smoke else list(STUDY_LOSSES)
    study = Study(base, {"arch": archs, "loss": losses}, name=f"gpu-check slots {slots}")
    return _run_study(args, study, slots, "off")


for _n in (1, 2, 4, 8, 16):
    STEPS[f"slots-{_n}"] = lambda args, n=_n: slots_step(args, n)


@step("packed")
def packed_step(args: argparse.Namespace) -> dict[str, Any]:
    from seglab.jobs.worker import default_slot_count

    base = base_config(args).replace(arch="unet", epochs=args.slot_epochs)
    losses = ["bce", "dice"] if args.smoke else list(STUDY_LOSSES)
    seeds = [0, 1] if args.smoke else [0, 1, 2]
    study = Study(base, {"loss": losses}, seeds=seeds, name="gpu-check packed")
    unpacked_slots = 2 if args.smoke else default_slot_count("cuda")
    packed = _run_study(args, study, 1, "on")
    save_partial(args, {"packed": packed})
    unpacked = _run_study(args, study, unpacked_slots, "off")
    gaps = [
        abs(packed["test_iou"][k] - unpacked["test_iou"][k])
        for k in packed["test_iou"]
        if packed["test_iou"][k] is not None and unpacked["test_iou"].get(k) is not None
    ]
    return {
        "packed": packed,
        "unpacked": unpacked,
        "speedup_packed_over_unpacked": unpacked["wall_seconds"] / packed["wall_seconds"],
        "largest_test_iou_gap": max(gaps) if gaps else None,
    }


# ---- collecting ------------------------------------------------------------------------
def collect(out_dir: Path) -> dict[str, Any]:
    """Merge the steps' files (and the shell's exit codes) into one figures file and a summary."""
    steps_dir = out_dir / "steps"
    codes: dict[str, dict[str, Any]] = {}
    rc_file = steps_dir / "_rc.txt"
    if rc_file.is_file():
        for line in rc_file.read_text().splitlines():
            name, rc, millis, limit = line.split()
            codes[name] = {"exit_code": int(rc), "seconds": int(millis) / 1000, "limit_seconds": int(limit)}
    figures: dict[str, Any] = {"steps": {}}
    for name in codes or {p.stem: None for p in steps_dir.glob("*.json")}:
        path = steps_dir / f"{name}.json"
        entry: dict[str, Any] = dict(codes.get(name, {}))
        timed_out = entry.get("exit_code") in (124, 137)
        if path.is_file():
            entry.update(json.loads(path.read_text()))
            if timed_out:
                entry["error"] = f"timed out after {entry['limit_seconds']} s (partial figures kept)"
        elif timed_out:
            entry["error"] = f"timed out after {entry['limit_seconds']} s"
        else:
            entry["error"] = f"no figures (exit code {entry.get('exit_code')}); see {name}.log"
        figures["steps"][name] = entry
    figures["total_seconds"] = sum(c["seconds"] for c in codes.values())
    (out_dir / "gpu_figures.json").write_text(json.dumps(figures, indent=2, default=str))
    (out_dir / "gpu_summary.txt").write_text(summary_text(figures))
    return figures


def _num(x: Any, spec: str = ".0f") -> str:
    return format(x, spec) if isinstance(x, (int, float)) else "unknown"


def _pct(x: Any) -> str:
    return f"{x:.1%}" if isinstance(x, (int, float)) else "unknown"


def summary_text(figures: dict[str, Any]) -> str:
    steps = figures["steps"]
    lines = [f"gpu_check: {len(steps)} steps in {figures['total_seconds']:.0f} s"]
    env = steps.get("env", {})
    lines.append(
        f"device: {env.get('device')}; torch {env.get('torch')}; bf16 peak {env.get('peak_bf16_tflops')} TFLOP/s"
    )
    for name, entry in steps.items():
        if "error" in entry:
            what = "PARTLY MEASURED" if entry.get("partial") else "NOT MEASURED"
            lines.append(f"{name}: {what} ({entry['error']}; see gpu_figures.json)")
            continue
        if name == "engine":
            lines.append(
                f"engine: {entry['images_per_second']['engine']:.0f} img/s, ratio engine/bare "
                f"{entry['ratio_engine_bare']:.3f} (channels-last bare {entry['ratio_engine_bare_channels_last']:.3f})"
            )
        elif name == "fpn":
            lines.append(
                f"fpn: U-Net {entry['unet']['step_ms']:.2f} ms/step, FPN {entry['fpn_with_fix']['step_ms']:.2f} "
                f"(without the fix {entry['fpn_without_fix']['step_ms']:.2f}, first step "
                f"{entry['fpn_without_fix']['first_step_ms']:.0f} vs {entry['fpn_with_fix']['first_step_ms']:.0f} ms)"
            )
        elif name == "compile":
            parts = [
                f"{mode}: {_num(entry[mode]['later_images_per_second'])} img/s after a first epoch of "
                f"{_num(entry[mode]['first_epoch_seconds'], '.1f')} s"
                + (" (fell back to no compile)" if entry[mode]["compile_fell_back"] else "")
                for mode in ("off", "on")
                if mode in entry
            ]
            lines.append(
                "compile " + "; ".join(parts) + (f" ({entry['skipped']})" if entry.get("skipped") else "")
            )
        elif name.startswith("slots-"):
            lines.append(
                f"{name}: {entry['done']}/{entry['runs']} done in {entry['wall_seconds']:.1f} s, "
                f"{entry['images_per_second']:.0f} img/s, {entry['tflops']:.2f} TFLOP/s = "
                f"{_pct(entry['fraction_of_peak'])} of peak"
            )
        elif name == "packed":
            p, u = entry["packed"], entry["unpacked"]
            lines.append(
                f"packed: {p['runs']} runs in {p['wall_seconds']:.1f} s ({p['tflops']:.2f} TFLOP/s = "
                f"{_pct(p['fraction_of_peak'])}) vs unpacked {u['slots']} slots {u['wall_seconds']:.1f} s "
                f"({u['tflops']:.2f} TFLOP/s); speed-up {entry['speedup_packed_over_unpacked']:.2f}x; "
                f"largest test-IoU gap {entry['largest_test_iou_gap']}"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=[*STEPS, "collect"])
    parser.add_argument("--out", required=True, help="folder for steps/<step>.json and the figures")
    parser.add_argument("--work", default=None, help="scratch folder (homes, the shared data cache)")
    parser.add_argument("--smoke", action="store_true", help="the CPU at the smoke preset's size")
    parser.add_argument(
        "--slot-epochs", type=int, default=2, help="epochs per run of the slots/packed studies"
    )
    args = parser.parse_args()
    out_dir = Path(args.out)
    if args.step == "collect":
        collect(out_dir)
        print((out_dir / "gpu_summary.txt").read_text(), end="")
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu-check-"))
    (work / "data-cache").mkdir(parents=True, exist_ok=True)
    args.work = str(work)
    os.environ["SEGLAB_DATA_CACHE"] = str(work / "data-cache")
    os.environ.setdefault("SEGLAB_HOME", str(work / "home"))
    t0 = time.perf_counter()
    figures = STEPS[args.step](args)
    figures["step_seconds"] = time.perf_counter() - t0
    figures["ui_modules_imported"] = [m for m in BLOCKED if m in sys.modules]
    (out_dir / "steps").mkdir(parents=True, exist_ok=True)
    (out_dir / "steps" / f"{args.step}.json").write_text(json.dumps(figures, indent=2, default=str))
    print(json.dumps({k: v for k, v in figures.items() if k != "config"}, default=str)[:2000])


if __name__ == "__main__":
    main()
