"""CPU threads per training job, so that jobs side by side never oversubscribe the cores.

A worker with ``slots`` jobs running at once gives each job ``threads_per_slot(slots)``
threads: ``max(1, cores // slots)``, so ``slots × threads ≤ cores`` whenever
``slots ≤ cores``. (Oversubscription is what stalls parallel training: 8 processes with 16
math-library threads each on a 16-core machine made no progress at all; with 2 threads each
they ran fine.) The cap is process-wide: the worker sets it once per slot process with
``set_thread_cap``, and the engine's ``effective_threads`` lowers a run's own
``config.num_threads`` to it. ``thread_env`` gives the same limit to child processes through
the OpenMP / MKL / OpenBLAS environment variables, which they read at start-up.
"""

from __future__ import annotations

import contextlib
import os

_CAP: int | None = None
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def cpu_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads_per_slot(slots: int, cores: int | None = None) -> int:
    """``max(1, cores // slots)``: each of ``slots`` side-by-side jobs gets an equal share."""
    cores = cpu_cores() if cores is None else cores
    return max(1, cores // max(1, slots))


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that cap a child process's math-library threads at ``threads``."""
    return {name: str(threads) for name in THREAD_ENV_VARS}


def set_thread_cap(threads: int | None) -> None:
    """Cap every run in this process at ``threads`` CPU threads (None removes the cap) and
    apply it to torch now (intra-op; inter-op too, where torch still allows it)."""
    global _CAP
    _CAP = None if threads is None else max(1, int(threads))
    if _CAP is None:
        return
    import torch

    torch.set_num_threads(_CAP)
    with contextlib.suppress(RuntimeError):  # only before the process's first inter-op work
        torch.set_num_interop_threads(_CAP)


def thread_cap() -> int | None:
    """The process-wide cap set by ``set_thread_cap`` (None: no cap)."""
    return _CAP


def effective_threads(requested: int | None) -> int | None:
    """The threads a run gets: its request lowered to the cap; the cap when it asks for none.
    None means 'leave torch's setting alone' (no request and no cap)."""
    if _CAP is None:
        return requested
    return _CAP if requested is None else max(1, min(int(requested), _CAP))
