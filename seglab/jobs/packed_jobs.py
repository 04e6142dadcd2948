"""Queued jobs that train together as one pack (see `seglab.training.packed`).

When a worker has claimed a job and packing pays on its device (`packing_wanted`: CUDA by
default, ``$SEGLAB_PACK`` switches it), `claim_companions` also takes the queued jobs of the
same study that could share the pack (same `pack_key`, not resuming), up to `pack_limit`.
The worker's ``_run_packed_jobs`` then trains them in one process: every job still gets its
own run folder, progress row, cancel button and outcome, exactly as when it runs alone.
"""

from __future__ import annotations

import json
from typing import Any

from seglab.errors import SegLabError
from seglab.jobs.queue import JobQueue, transaction
from seglab.settings.config import TrainConfig
from seglab.status import RunStatus
from seglab.training.packed import can_pack, pack_key


def claim_companions(
    q: JobQueue, worker_id: str, row: dict[str, Any], device_type: str, limit: int
) -> list[dict[str, Any]]:
    """Atomically take up to ``limit - 1`` queued jobs of ``row``'s study that can train in one
    pack with it (oldest first); ``[]`` when ``row`` itself cannot be packed."""
    if limit <= 1 or row.get("resume"):
        return []
    try:
        config = TrainConfig.from_json(row["config"])
    except SegLabError:
        return []
    if not can_pack(config):
        return []
    key, devices = pack_key(config), ("auto", device_type)
    taken: list[int] = []
    with transaction(q.conn):
        sql = "SELECT id, config FROM jobs WHERE status = ? AND resume = 0"
        args: list[Any] = [RunStatus.QUEUED.value]
        if row.get("grp") is not None:
            sql += " AND grp = ?"
            args.append(row["grp"])
        for other in q.conn.execute(sql + " ORDER BY id", args).fetchall():
            if len(taken) >= limit - 1:
                break
            try:
                candidate = TrainConfig.from_json(other["config"])
            except SegLabError:
                continue  # the worker's own claim reports a broken config, job by job
            if json.loads(other["config"]).get("device", "auto") not in devices:
                continue
            if can_pack(candidate) and pack_key(candidate) == key:
                taken.append(other["id"])
        return q.mark_running(taken, worker_id)
