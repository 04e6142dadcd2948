"""Train one configuration into the store: ``run_config``, the road every front end takes.

The worker (`seglab.jobs.worker`), ``python -m seglab train`` and the Ray executor all call it,
so every run lands in the store the same way: a run folder is created (or reopened to resume),
the engine trains through that folder's writer, and the engine records the run's status as it
goes (`seglab.store.run_store.RunFiles.set_status`, the one writer). Only when the engine never
got to record anything (an error before it started) does ``run_config`` write the outcome.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

from seglab.errors import SegLabError, disk_full_message, is_disk_full
from seglab.paths import seglab_home
from seglab.settings.config import TrainConfig
from seglab.status import RunStatus


@dataclass
class RunOutcome:
    """What ``run_config`` returns: the stored run id and the engine's TrainResult."""

    run_id: str
    result: Any
    status: str
    message: str


def metrics_of(result: Any) -> dict[str, Any]:
    """Plain-number view of a TrainResult's metrics: ``val_iou``, ``test_iou``, ``test_dice``, …
    (the engine's ``iou`` is the headline: foreground IoU if binary, mean IoU otherwise)."""
    out: dict[str, Any] = {}
    for split in ("val", "test"):
        metrics = getattr(result, f"{split}_metrics", None) or {}
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{split}_{key}"] = float(value)
    return out


def run_config(
    config: TrainConfig,
    callbacks: Any = None,
    *,
    home: str | os.PathLike[str] | None = None,
    should_stop: Any = None,
    run_id: str | None = None,
    resume: bool = False,
    group: str | None = None,
    on_run_created: Any = None,
    owner: str | None = None,
) -> RunOutcome:
    """Create (or reopen, when resuming) a stored run for ``config`` and train it; a new run
    records ``owner`` (the name its job was queued under, classroom mode).

    Errors the user caused (bad dataset path, bad parameter) become a ``failed`` run with the
    message; internal errors are recorded as failed too and then re-raised.
    """
    from seglab.data.cache import set_cache_home
    from seglab.store.run_store import RunDeletedError, RunStore
    from seglab.training.engine import train

    store = RunStore(seglab_home(home))
    set_cache_home(store.home)
    if run_id is None:
        run_id = store.create_run(config, group=group, owner=owner)
        resume = False
    if on_run_created is not None:
        on_run_created(run_id)
    run_dir = store.run_dir(run_id)

    def stop_requested() -> bool:  # a run folder deleted while it trains stops the job
        return not run_dir.is_dir() or bool(should_stop is not None and should_stop())

    try:
        result = train(config, callbacks, run_dir=run_dir, should_stop=stop_requested, resume=resume)
    except RunDeletedError as exc:
        return RunOutcome(run_id, None, RunStatus.CANCELLED, str(exc))
    except SegLabError as exc:  # refused before the engine could record it (e.g. the config)
        _record(store, run_id, RunStatus.FAILED, str(exc))
        return RunOutcome(run_id, None, RunStatus.FAILED, str(exc))
    except BaseException as exc:
        if is_disk_full(exc):  # not a bug: say so, and the run resumes once space is freed
            message = f"interrupted: {disk_full_message(store.home)} Then resume it."
            _record(store, run_id, RunStatus.INTERRUPTED, message)
            return RunOutcome(run_id, None, RunStatus.INTERRUPTED, message)
        if isinstance(exc, KeyboardInterrupt):
            _record(store, run_id, RunStatus.INTERRUPTED, "interrupted from the keyboard")
        elif isinstance(exc, SystemExit):  # e.g. a Ray worker shut down mid-run: resumable
            _record(store, run_id, RunStatus.INTERRUPTED, "stopped before it finished")
        else:
            _record(store, run_id, RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}")
        raise
    status = getattr(result, "status", RunStatus.DONE)
    return RunOutcome(run_id, result, status, getattr(result, "message", "") or "")


def _record(store: Any, run_id: str, status: str, message: str) -> None:
    """Write an outcome the engine could not write itself, unless the run already has a final
    status (the engine recorded it before the error reached us)."""
    from seglab.errors import InternalError

    with contextlib.suppress(SegLabError, InternalError, OSError, KeyError, ValueError):
        store.set_status(run_id, status, message)
