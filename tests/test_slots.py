"""Studies at speed: worker slots side by side, capped CPU threads, the study data cache,
the engine's speed settings and the Ray executor."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

import seglab.jobs as jobs_pkg
from seglab.cli.main import main
from seglab.data import cache as cache_mod
from seglab.data import make_dataset
from seglab.jobs.worker import slot_names, slot_plans
from seglab.models import create_model
from seglab.store.run_store import RunStore
from seglab.training import threads as threads_mod
from seglab.training.speed import TrainingForward, eval_batch_size, is_depthwise, nchw_strides, prepare_model

ROOT = Path(__file__).resolve().parent.parent
SMOKE_STUDY = [
    "study",
    "--preset",
    "smoke",
    "--epochs",
    "2",
    "--archs",
    "unet,segnet",
    "--losses",
    "bce,dice",
]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, SEGLAB_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


# ---- threads ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 7, 16, 64])
def test_slots_times_threads_never_exceeds_cores(cores: int) -> None:
    for slots in range(1, cores + 1):
        threads = threads_mod.threads_per_slot(slots, cores)
        assert threads >= 1
        assert slots * threads <= cores, (slots, threads, cores)
    # and no core is left idle when the slots divide the cores evenly
    assert threads_mod.threads_per_slot(1, cores) == cores


def test_thread_cap_lowers_a_runs_request_and_is_undone() -> None:
    before = torch.get_num_threads()
    try:
        threads_mod.set_thread_cap(1)
        assert torch.get_num_threads() == 1
        assert threads_mod.effective_threads(None) == 1
        assert threads_mod.effective_threads(8) == 1  # a run cannot ask for more than its slot's share
        threads_mod.set_thread_cap(None)
        assert threads_mod.effective_threads(3) == 3 and threads_mod.effective_threads(None) is None
    finally:
        threads_mod.set_thread_cap(None)
        torch.set_num_threads(before)
    assert threads_mod.thread_env(2)["OMP_NUM_THREADS"] == "2"


def test_slot_names_and_gpu_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    assert slot_names("cpu", 3) == ["cpu-0", "cpu-1", "cpu-2"]
    assert slot_names("cuda", 3, gpu="1") == ["cuda-1", "cuda-1.1", "cuda-1.2"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    plans = slot_plans("cuda", 2)
    assert [name for name, _ in plans] == ["cuda-0", "cuda-0.1", "cuda-1", "cuda-1.1"]
    assert [env["CUDA_VISIBLE_DEVICES"] for _, env in plans] == ["0", "0", "1", "1"]


# ---- worker slots: two jobs at a time ------------------------------------------------------------


def test_background_study_then_two_slot_worker_runs_jobs_side_by_side(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # queue only: no background worker may take the jobs before ours does
    monkeypatch.setattr(jobs_pkg, "ensure_worker", lambda *a, **k: False)
    assert main([*SMOKE_STUDY, "--background"]) == 0
    out = subprocess.run(
        [sys.executable, "-m", "seglab", "worker", "--once", "--slots", "2", "--device", "cpu"],
        env=_env(seglab_home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "worker ran 4 job(s)" in out.stderr
    runs = RunStore(seglab_home).list_runs()
    assert len(runs) == 4 and {r.status for r in runs} == {"done"}
    summaries = [RunStore(seglab_home).files(r.id).read_summary() for r in runs]
    spans = sorted((s["started"], s["finished"]) for s in summaries)
    overlaps = sum(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert overlaps >= 1, f"no two runs overlapped in time: {spans}"
    # two slot processes, each with cores // 2 threads
    pids = {s["pid"] for s in summaries}
    assert len(pids) == 2
    cores = threads_mod.cpu_cores()
    for s in summaries:
        threads = int(re.search(r"\((\d+) threads?\)", s["device"]).group(1))
        assert 2 * threads <= max(cores, 2), s["device"]


# ---- the study data cache ------------------------------------------------------------------------


def test_data_cache_draws_once_and_serves_identical_tensors(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_mod.set_cache_home(seglab_home)
    cache_mod.clear_memory_cache()
    try:
        reference = make_dataset("cells", size=24, n=6, seed=5)
        first = cache_mod.cached_dataset("cells", size=24, n=6, seed=5)
        assert torch.equal(first.images, reference.images) and torch.equal(first.masks, reference.masks)
        assert torch.equal(first.instances, reference.instances)
        files = list((seglab_home / "_cache" / "data").glob("*.pt"))
        assert len(files) == 1
        assert cache_mod.cached_dataset("cells", size=24, n=6, seed=5) is first  # in memory

        def no_drawing(*args: object, **kwargs: object) -> None:
            raise AssertionError("the data was drawn again")

        monkeypatch.setattr("seglab.data.make_dataset", no_drawing)
        cache_mod.clear_memory_cache()
        from_disk = cache_mod.cached_dataset("cells", size=24, n=6, seed=5)  # another slot: from disk
        assert torch.equal(from_disk.images, reference.images)
        assert torch.equal(from_disk.masks, reference.masks) and from_disk.masks.dtype == torch.int64
        assert from_disk.class_names == reference.class_names and from_disk.meta == reference.meta
        monkeypatch.undo()
        # other settings are another key
        assert cache_mod.data_key("cells", size=24, n=6, seed=5) != cache_mod.data_key(
            "cells", size=24, n=6, seed=6
        )
        # a damaged file is drawn again
        files[0].write_bytes(b"not a tensor file")
        cache_mod.clear_memory_cache()
        again = cache_mod.cached_dataset("cells", size=24, n=6, seed=5)
        assert torch.equal(again.images, reference.images)
    finally:
        cache_mod.set_cache_home(None)
        cache_mod.clear_memory_cache()


def test_data_cache_is_safe_when_slots_ask_at_once(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_mod.set_cache_home(seglab_home)
    cache_mod.clear_memory_cache()
    monkeypatch.setattr(cache_mod, "MEMORY_ENTRIES", 0)  # every call goes to the disk cache
    calls = []
    real = make_dataset

    def counting(*args: object, **kwargs: object):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("seglab.data.make_dataset", counting)
    results = []
    try:
        workers = [
            threading.Thread(
                target=lambda: results.append(cache_mod.cached_dataset("shapes", size=16, n=5, seed=1))
            )
            for _ in range(4)
        ]
        for t in workers:
            t.start()
        for t in workers:
            t.join(60)
    finally:
        cache_mod.set_cache_home(None)
        cache_mod.clear_memory_cache()
    assert len(results) == 4 and len(calls) == 1  # drawn once, read three times
    assert all(torch.equal(r.images, results[0].images) for r in results)
    assert not list((seglab_home / "_cache" / "data").glob("*.tmp"))


def test_folder_datasets_are_not_cached() -> None:
    assert cache_mod.cacheable("shapes")
    assert not cache_mod.cacheable("/some/folder") and not cache_mod.cacheable(Path("x"))


# ---- engine speed settings ------------------------------------------------------------------------


def test_depthwise_convs_run_nchw_on_cuda_with_identical_results() -> None:
    torch.manual_seed(0)
    model = create_model("fpn", num_classes=1, width=8, depth=3).eval()
    model = model.to(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = model(x)
    seen: list[bool] = []
    depthwise = [m for m in model.modules() if is_depthwise(m)]
    assert depthwise, "FPN's encoder has depthwise convolutions"
    # what the CUDA path does, checked on the CPU: the hooks only change the memory layout
    assert prepare_model(model, torch.device("cuda")) == len(depthwise)
    assert prepare_model(model, torch.device("cuda")) == 0  # not twice
    for m in depthwise:
        m.register_forward_pre_hook(
            lambda mod, args: seen.append(args[0].stride() == nchw_strides(args[0].shape))
        )
    with torch.no_grad():
        got = model(x)
    assert seen and all(seen)
    for m in depthwise:  # the weights too: cuDNN would be picked for a channels-last weight
        assert m.weight.stride() == nchw_strides(m.weight.shape)
    assert torch.allclose(got, expected, atol=1e-6)
    assert prepare_model(create_model("fpn", num_classes=1, width=8, depth=2), torch.device("cpu")) == 0


def test_eval_batches_are_larger_on_gpu() -> None:
    assert eval_batch_size(16, torch.device("cpu")) == 64
    assert eval_batch_size(16, torch.device("cuda")) == 256
    assert eval_batch_size(512, torch.device("cuda")) == 512


def test_compile_failure_falls_back_to_the_plain_model(capsys: pytest.CaptureFixture[str]) -> None:
    model = torch.nn.Linear(3, 2)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("backend compiler failed")

    forward = TrainingForward(model, compiled=broken)
    x = torch.rand(4, 3)
    assert torch.equal(forward(x), model(x))
    assert forward.compiled is None and "backend compiler failed" in forward.fallback_reason
    assert "torch.compile failed" in capsys.readouterr().err


# ---- Ray ------------------------------------------------------------------------------------------


def test_study_on_ray_writes_four_done_runs_into_the_store(seglab_home: Path) -> None:
    pytest.importorskip("ray")
    out = subprocess.run(
        [sys.executable, "-m", "seglab", *SMOKE_STUDY, "--executor", "ray"],
        env=_env(seglab_home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    store = RunStore(seglab_home)
    runs = store.list_runs()
    assert len(runs) == 4 and {r.status for r in runs} == {"done"}
    assert len({r.group for r in runs}) == 1 and runs[0].group == out.stdout.strip().splitlines()[-1]
    assert {(r.config.arch, r.config.loss) for r in runs} == {
        (a, b) for a in ("unet", "segnet") for b in ("bce", "dice")
    }
    for r in runs:  # the same files as a local run: Results shows them the same way
        folder = store.run_dir(r.id)
        for name in ("config.json", "history.jsonl", "summary.json", "best.pt", "last.pt", "predictions.npz"):
            assert (folder / name).is_file(), (r.id, name)
        assert len(store.history(r.id)) == 2


def test_ray_missing_gives_a_plain_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from seglab.jobs import ray_executor

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ray_executor.RayMissingError, match="pip install"):
        ray_executor.import_ray()
