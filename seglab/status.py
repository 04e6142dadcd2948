"""Run status: the one vocabulary shared by the engine, the store, the job queue, the CLI and the UI.

A run or job moves ``queued → running → done | failed | diverged | cancelled | interrupted``;
an interrupted or cancelled one can be queued (resumed) again. ``TRANSITIONS`` is that graph, and
``check_transition`` the one place that enforces it: the store calls it on every status change
(`seglab.store.run_store.RunFiles.set_status`, the only writer of a run's status).
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


#: Finished statuses a run can be resumed from (it continues from its last checkpoint).
RESUMABLE_STATUSES: frozenset[RunStatus] = frozenset({RunStatus.INTERRUPTED, RunStatus.CANCELLED})

_S = RunStatus
#: Which status may follow which. A status may always be written again (a new pid, a message).
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    _S.QUEUED: frozenset({_S.RUNNING, _S.CANCELLED, _S.INTERRUPTED, _S.FAILED}),
    _S.RUNNING: frozenset({_S.DONE, _S.FAILED, _S.DIVERGED, _S.CANCELLED, _S.INTERRUPTED}),
    _S.INTERRUPTED: frozenset({_S.QUEUED, _S.RUNNING, _S.CANCELLED, _S.FAILED}),
    # cancelled → interrupted: a worker that was shut down stopped the run, not the user
    _S.CANCELLED: frozenset({_S.QUEUED, _S.RUNNING, _S.INTERRUPTED}),
    _S.FAILED: frozenset(),
    _S.DIVERGED: frozenset(),
    _S.DONE: frozenset(),
}


def check_transition(old: str | None, new: str) -> RunStatus:
    """``new`` as a ``RunStatus`` if a run may move from ``old`` to it; raises otherwise.

    ``old`` None (a run with no status yet) may take any status. An unknown status is a
    ``ValueError``; a move the lifecycle forbids (``done → running``) an ``InternalError``:
    no user action can cause it, so it stays loud.

    >>> check_transition("queued", "running").value
    'running'
    >>> check_transition("done", "done").value
    'done'
    """
    from seglab.errors import InternalError

    if not is_status(new):
        raise ValueError(f"unknown run status {new!r}")
    target = RunStatus(new)
    if old is None or not is_status(old) or old == target or target in TRANSITIONS[RunStatus(old)]:
        return target
    raise InternalError(f"a run cannot move from {old!r} to {new!r}")


def is_active(status: str | None) -> bool:
    """True for a queued or running status (plain string or ``RunStatus``)."""
    return status in ACTIVE_STATUSES


def is_status(value: object) -> bool:
    """True when ``value`` is one of the known status strings."""
    return isinstance(value, str) and value in {s.value for s in RunStatus}
