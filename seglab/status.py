"""Run status: the one vocabulary shared by the engine, the store, the job queue, the CLI and the UI.

A run or job moves ``queued → running → done | failed | diverged | cancelled | interrupted``.
``RunStatus`` is a ``str`` enum, so its members compare equal to the plain strings stored in
``summary.json`` and the queue's database (``RunStatus.DONE == "done"``).
"""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    """Where a run (or the job that trains it) stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DIVERGED = "diverged"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value


#: Every status value, in lifecycle order.
ALL_STATUSES: tuple[RunStatus, ...] = tuple(RunStatus)
#: Statuses of a run that has not finished yet (waiting or training).
ACTIVE_STATUSES: frozenset[RunStatus] = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
#: Statuses of a run that will not change again unless it is resumed.
FINISHED_STATUSES: frozenset[RunStatus] = frozenset(set(RunStatus) - ACTIVE_STATUSES)


def is_active(status: str | None) -> bool:
    """True for a queued or running status (plain string or ``RunStatus``)."""
    return status in ACTIVE_STATUSES


def is_status(value: object) -> bool:
    """True when ``value`` is one of the known status strings."""
    return isinstance(value, str) and value in {s.value for s in RunStatus}
