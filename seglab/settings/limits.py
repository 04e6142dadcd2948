"""Class limits: the caps a teacher sets on what one student may queue (classroom mode only).

One declaration, :data:`CAPS`. A cap of scope ``run`` is keyed by a `TrainConfig` field name and
bounds that field in every run; ``study`` caps bound one queued study; ``student`` caps bound
what one student has waiting in the queue. The queue applies them when a student queues a study
(`seglab.jobs.queue.JobQueue.enqueue_study`); a refusal names the cap in plain words. The
teacher's values live in ``$SEGLAB_HOME/classroom_limits.json``; missing or unreadable values
fall back to the safe defaults below, and nothing is ever allowed above ``hard_max``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seglab.errors import SegLabError
from seglab.paths import atomic_write_text
from seglab.settings.classroom import Actor, Permission, require
from seglab.settings.config import TrainConfig

LIMITS_FILE = "classroom_limits.json"


@dataclass(frozen=True)
class Cap:
    key: str  # a TrainConfig field name (scope "run"), else the name of a study / student cap
    label: str  # how the refusal and the teacher's form name it
    default: int  # the safe value a new class starts with
    hard_max: int  # the teacher cannot set more than this
    scope: str  # "run", "study" or "student"


CAPS: tuple[Cap, ...] = (
    Cap("epochs", "epochs per run", 30, 500, "run"),
    Cap("size", "image size in pixels", 128, 512, "run"),
    Cap("width", "model width", 32, 128, "run"),
    Cap("depth", "model depth", 4, 6, "run"),
    Cap("n", "number of images", 1000, 100_000, "run"),
    Cap("batch_size", "batch size", 32, 512, "run"),
    Cap("runs_per_study", "runs in one study", 12, 1000, "study"),
    Cap("seeds_per_study", "seeds in one study", 3, 100, "study"),
    Cap("queued_runs_per_student", "runs one student may have waiting or training", 12, 1000, "student"),
)
CAP_BY_KEY = {cap.key: cap for cap in CAPS}


class LimitError(SegLabError):
    """A student's request goes over a class limit."""


def default_limits() -> dict[str, int]:
    return {cap.key: cap.default for cap in CAPS}


def clamp_limits(values: Mapping[str, Any]) -> dict[str, int]:
    """Every cap present, each a whole number in ``[1, hard_max]``; unknown keys and values
    that are not numbers are dropped in favour of the defaults."""
    out = default_limits()
    for key, value in values.items():
        cap = CAP_BY_KEY.get(key)
        if cap is None or isinstance(value, bool):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            continue
        out[key] = min(cap.hard_max, max(1, number))
    return out


def load_limits(home: str | os.PathLike[str]) -> dict[str, int]:
    """The class limits of ``home`` (the defaults when none were saved or the file is damaged)."""
    from seglab.data.text_files import TextFileError, read_text_file

    path = Path(home) / LIMITS_FILE
    if not path.is_file():
        return default_limits()
    try:  # a teacher may edit the file by hand: any editor's encoding (a byte-order mark) is fine
        values = json.loads(read_text_file(path, what="class limits"))
    except (TextFileError, ValueError):
        return default_limits()
    return clamp_limits(values if isinstance(values, dict) else {})


def save_limits(
    home: str | os.PathLike[str], values: Mapping[str, Any], actor: Actor | None
) -> dict[str, int]:
    """Store new class limits (teacher only), atomically; returns what was stored."""
    require(actor, Permission.CHANGE_LIMITS)
    limits = clamp_limits(values)
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    atomic_write_text(home / LIMITS_FILE, json.dumps(limits, indent=1))
    return limits


def check_study_size(n_runs: int, limits: Mapping[str, int]) -> None:
    """Refuse a study with more runs than the class allows, before its runs are expanded."""
    cap = CAP_BY_KEY["runs_per_study"]
    if n_runs > limits[cap.key]:
        raise LimitError(
            f"the class limit for {cap.label} is {limits[cap.key]}, and this asks for {n_runs}; "
            "make it smaller or ask your teacher."
        )


def check_study(configs: Iterable[TrainConfig], limits: Mapping[str, int], already_queued: int) -> None:
    """Raise :class:`LimitError` naming the first class limit ``configs`` (one study, queued by
    one student who already has ``already_queued`` runs waiting or training) goes over."""
    configs = list(configs)

    def refuse(cap: Cap, asked: int) -> None:
        raise LimitError(
            f"the class limit for {cap.label} is {limits[cap.key]}, and this asks for {asked}; "
            "make it smaller or ask your teacher."
        )

    for cap in CAPS:
        if cap.scope != "run":
            continue
        values = [getattr(c, cap.key) for c in configs if getattr(c, cap.key) is not None]
        if values and max(values) > limits[cap.key]:
            refuse(cap, max(values))
    seeds = len({c.seed for c in configs})
    if seeds > limits["seeds_per_study"]:
        refuse(CAP_BY_KEY["seeds_per_study"], seeds)
    if len(configs) > limits["runs_per_study"]:
        refuse(CAP_BY_KEY["runs_per_study"], len(configs))
    if already_queued + len(configs) > limits["queued_runs_per_student"]:
        cap = CAP_BY_KEY["queued_runs_per_student"]
        raise LimitError(
            f"the class limit is {limits[cap.key]} {cap.label}; you already have {already_queued} and "
            f"this adds {len(configs)}. Wait for some to finish, or cancel some of yours."
        )


def within_limits(config: TrainConfig, limits: Mapping[str, int]) -> bool:
    """True when one run stays inside every per-run cap (used to bound "Estimate time")."""
    return all(
        getattr(config, cap.key) is None or getattr(config, cap.key) <= limits[cap.key]
        for cap in CAPS
        if cap.scope == "run"
    )
