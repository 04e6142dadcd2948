"""Run a study on Ray: one task per run, written into the same experiment store as local runs.

``run_study_on_ray(study, home=..., address=None)``:

1. creates one run folder per configuration in the store (status ``queued``, the study's
   group id), so the Results page lists the study at once;
2. sends one Ray task per run, asking for ``num_cpus`` = the run's CPU threads and, when the
   cluster has GPUs and the run may use one, a *fraction* of a GPU (``gpus_per_run``,
   default ``1/8``: eight small runs share a GPU, like eight worker slots);
3. each task calls `seglab.training.run.run_config` with that run's id: the same code path as
   the job worker (config, history, summary, checkpoints, predictions through the run
   writer), so Ray runs look exactly like local runs on the Results page.

Ray reuses its worker processes between tasks, so imports, CUDA set-up and the study's
data (`seglab.data.cache`) are paid once per Ray worker, not once per run.

Where results go: the tasks write into ``home`` directly. On one machine that is simply the
local folder; on a cluster every node must see the same ``home`` path (a shared file system
such as NFS), and the package must be importable there. Runs bypass the job queue: the
queue page does not list them; the Results page (which reads the store) does.

With no ``address`` a private local Ray instance is started (no dashboard, worker logs not
forwarded) and shut down afterwards; with an address (``ray://host:10001`` or
``host:6379``) the driver connects to that cluster and leaves it running.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seglab.errors import SegLabError
from seglab.paths import seglab_home
from seglab.settings.config import TrainConfig
from seglab.settings.study import Study
from seglab.status import RunStatus
from seglab.training.threads import cpu_cores, thread_env

DEFAULT_GPUS_PER_RUN = 1 / 8
RAY_HINT = "pip install 'ray>=2.9' (or: pip install -r requirements-dev.txt)"


class RayMissingError(SegLabError):
    """``--executor ray`` was asked for, but Ray is not installed."""


@dataclass
class RayRunResult:
    """How one Ray task ended: its stored run, status, message and test/val metrics."""

    run_id: str
    status: str
    message: str
    metrics: dict[str, float]


def import_ray() -> Any:
    """Ray, imported on first use; a plain error when it is missing (it is optional)."""
    try:
        import ray
    except ImportError as exc:
        raise RayMissingError(f"Running a study on Ray needs the 'ray' package: {RAY_HINT}.") from exc
    return ray


def _train_one(config_json: str, home: str, run_id: str, threads: int) -> dict[str, Any]:
    """The body of one Ray task (runs in a Ray worker process)."""
    from seglab.training.run import metrics_of, run_config
    from seglab.training.threads import set_thread_cap

    set_thread_cap(threads)
    outcome = run_config(TrainConfig.from_json(config_json), home=home, run_id=run_id, resume=False)
    metrics = metrics_of(outcome.result) if outcome.result is not None else {}
    return {
        "run_id": outcome.run_id,
        "status": str(outcome.status),
        "message": outcome.message,
        "metrics": metrics,
    }


def _wants_gpu(config: TrainConfig, cluster_gpus: float) -> bool:
    return cluster_gpus > 0 and config.device in ("auto", "cuda")


def run_study_on_ray(
    study: Study,
    *,
    home: str | os.PathLike[str] | None = None,
    address: str | None = None,
    gpus_per_run: float | None = None,
    threads: int | None = None,
    num_cpus: int | None = None,
    verbose: bool = True,
) -> list[RayRunResult]:
    """Train every run of ``study`` as a Ray task; see the module docstring. Returns one
    `RayRunResult` per run, in the study's order. ``threads``: CPU threads (and Ray CPUs) per
    run (default 1). ``num_cpus``: CPUs of a local Ray instance (default: this machine's cores).
    """

    from seglab.store.run_store import RunStore

    ray = import_ray()
    configs = study.expand()
    home_path = Path(seglab_home(home)).resolve()
    store = RunStore(home_path)
    group = time.strftime("study-%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    per_run = max(1, threads or 1)

    def say(text: str) -> None:
        if verbose:
            print(text, file=sys.stderr, flush=True)

    package_root = str(Path(__file__).resolve().parents[2])
    env = {**thread_env(per_run), "SEGLAB_HOME": str(home_path)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
        else:
            ray.init(
                num_cpus=num_cpus or cpu_cores(),
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": env},
                configure_logging=False,
            )
        started_here = True
    run_ids: list[str] = []
    completed = False
    try:
        cluster_gpus = float(ray.cluster_resources().get("GPU", 0))
        fraction = gpus_per_run or DEFAULT_GPUS_PER_RUN
        task = ray.remote(_train_one)
        say(f"study {group}: {len(configs)} run(s) to Ray ({address if address else 'local'})")
        pending: dict[Any, int] = {}
        for i, config in enumerate(configs):
            run_id = store.create_run(config, group=group)
            run_ids.append(run_id)
            options: dict[str, Any] = {"num_cpus": per_run, "max_retries": 0}
            if _wants_gpu(config, cluster_gpus):
                options["num_gpus"] = fraction
            ref = task.options(**options).remote(config.to_json(indent=None), str(home_path), run_id, per_run)
            pending[ref] = i
        results: list[RayRunResult | None] = [None] * len(configs)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                i = pending.pop(ref)
                try:
                    out = ray.get(ref)
                    result = RayRunResult(out["run_id"], out["status"], out["message"], out["metrics"])
                except Exception as exc:  # an internal error inside the task: run_config recorded it
                    result = RayRunResult(
                        run_ids[i], RunStatus.FAILED.value, f"{type(exc).__name__}: {exc}", {}
                    )
                results[i] = result
                iou = result.metrics.get("test_iou")
                say(
                    f"  {configs[i].label()}: {result.status}"
                    + (f", test IoU {iou:.4f}" if isinstance(iou, float) else "")
                    + (f" — {result.message}" if result.message and result.status != RunStatus.DONE else "")
                )
        say(f"study {group}: {sum(r.status == RunStatus.DONE for r in results if r)} of {len(configs)} done")
        print(group)
        completed = True
        return [r for r in results if r is not None]
    finally:
        if started_here:
            ray.shutdown()
        if not completed:  # Ctrl-C or a crash of this client: no run may stay queued or running
            leave_resumable(store, run_ids)


def leave_resumable(store: Any, run_ids: list[str]) -> list[str]:
    """Mark the runs of an abandoned Ray study that never finished (still ``queued`` or
    ``running``) as ``interrupted``, so ``seglab resume RUN_ID`` continues them; returns their ids."""
    from seglab.status import RunStatus

    left = []
    for run_id in run_ids:
        try:
            status = store.load_run(run_id).status
            if status in (RunStatus.QUEUED, RunStatus.RUNNING):
                store.set_status(
                    run_id,
                    RunStatus.INTERRUPTED.value,
                    f"the Ray study stopped before this run finished; `seglab resume {run_id}` continues it",
                )
                left.append(run_id)
        except (SegLabError, OSError, ValueError):
            continue  # unreadable or deleted meanwhile: nothing to leave resumable
    return left
