"""A class study: the teacher publishes one grid; students claim its cells and train them.

The published study is an ordinary queue group with no jobs yet (so the Results page lists and
compares it like any study) plus ``$SEGLAB_HOME/class_study.json`` naming it. Each cell is one
run of the grid (architecture × loss × seed, or whatever the grid varies). A student claims a
free cell by queueing exactly that run under their name, inside the study's group; a cell is
free again when its job was cancelled, failed or interrupted. Claims happen in one SQLite
write transaction, so two students never train the same cell.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from seglab.errors import SegLabError
from seglab.jobs.queue import JobQueue, transaction
from seglab.settings.classroom import Actor, NotAllowedError, Permission, require
from seglab.settings.study import Study
from seglab.status import RunStatus

CLASS_STUDY_FILE = "class_study.json"
MAX_CELLS = 500
#: a cell whose job is in one of these states is taken
TAKEN = (RunStatus.QUEUED.value, RunStatus.RUNNING.value, RunStatus.DONE.value, RunStatus.DIVERGED.value)


@dataclass
class Cell:
    """One run of the class study and who trains it ('' and None while it is free)."""

    index: int
    label: str
    seed: int
    owner: str
    status: str
    job_id: int | None

    @property
    def free(self) -> bool:
        return self.status not in TAKEN


def publish(queue: JobQueue, study: Study, actor: Actor | None, name: str | None = None) -> str:
    """Publish ``study`` as the class study (teacher only); returns its group id."""
    require(actor, Permission.CHANGE_LIMITS)
    if study.n_runs > MAX_CELLS:
        raise SegLabError(f"a class study holds at most {MAX_CELLS} cells, not {study.n_runs}.")
    group_id = time.strftime("class-%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    name = name or f"Class study: {study.default_name()}"
    with transaction(queue.conn):
        queue.conn.execute(
            "INSERT INTO groups (id, name, created, base_config, grid, study) VALUES (?, ?, ?, ?, ?, ?)",
            (
                group_id,
                name,
                time.time(),
                study.base.to_json(indent=None),
                json.dumps(study.grid()),
                json.dumps(study.to_dict()),
            ),
        )
    (Path(queue.home) / CLASS_STUDY_FILE).write_text(json.dumps({"group": group_id}), encoding="utf-8")
    return group_id


def current(queue: JobQueue) -> tuple[str, Study] | None:
    """The published class study (group id, study), or None."""
    try:
        group_id = json.loads((Path(queue.home) / CLASS_STUDY_FILE).read_text(encoding="utf-8"))["group"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    study = queue.group_study(str(group_id))
    return (str(group_id), study) if study is not None else None


def cells(queue: JobQueue) -> list[Cell]:
    """Every cell of the class study with its owner and state (the latest job per cell)."""
    found = current(queue)
    if found is None:
        return []
    group_id, study = found
    latest = {job.config.to_json(indent=None): job for job in queue.jobs(group=group_id)}
    out = []
    for index, config in enumerate(study.expand()):
        job = latest.get(config.to_json(indent=None))
        out.append(
            Cell(
                index,
                config.label(),
                config.seed,
                job.owner if job else "",
                job.status if job else "",
                job.id if job else None,
            )
        )
    return out


def claim(queue: JobQueue, index: int, actor: Actor | None) -> int:
    """Queue cell ``index`` of the class study under ``actor``'s name; returns the job id.
    Refused when the cell is taken, or when the class limits refuse it."""
    found = current(queue)
    if found is None:
        raise SegLabError("there is no class study yet; the teacher publishes one on the Train page.")
    group_id, study = found
    configs = study.expand()
    if not 0 <= index < len(configs):
        raise SegLabError(f"the class study has no cell {index}.")
    config = configs[index]
    if actor is not None and actor.limited and not actor.name:
        raise NotAllowedError("type your name in the sidebar first, so your runs are kept under it.")
    text = config.to_json(indent=None)
    with transaction(queue.conn):
        queue.admit([config], actor)
        rows = queue.conn.execute(
            "SELECT status, owner FROM jobs WHERE grp = ? AND config = ? ORDER BY id DESC LIMIT 1",
            (group_id, text),
        ).fetchall()
        if rows and rows[0]["status"] in TAKEN:
            who = rows[0]["owner"] or "someone"
            raise SegLabError(
                f"cell {index} ({config.label()}, seed {config.seed}) is already taken by {who}."
            )
        cur = queue.conn.execute(
            "INSERT INTO jobs (grp, status, config, created, owner) VALUES (?, ?, ?, ?, ?)",
            (group_id, RunStatus.QUEUED.value, text, time.time(), actor.name if actor else ""),
        )
    return int(cur.lastrowid)
