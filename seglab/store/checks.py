"""What the experiment store accepts: the run-id rule and the schema of a run's JSON files.

Everything that reads a run folder written by someone else — ``import_runs`` above all, but
also ``list_runs`` on a folder a user edited by hand — goes through these checks, so that one
odd file is refused with a plain reason instead of breaking a page further down the line.

* **Run ids** follow one positive rule (`RUN_ID_PATTERN`): a letter or digit, then letters,
  digits, ``-`` and ``_`` only, at most 128 characters, no dot. The store's own files and
  folders (``jobs.sqlite`` and its ``-wal``/``-shm`` companions, ``_workers``, hidden
  staging folders, copies of a damaged queue) all contain a dot or start with ``_`` or
  ``.``, so no run id can name them; `RESERVED_NAMES` lists the few dot-free names the store,
  the queue or the saved uploads (``datasets``) use now or may use later, so those are
  refused too.
* **Summaries** (`check_summary`) and **history records** (`check_history_record`) are
  checked for types, finite numbers inside sane ranges, and bounded nesting and size.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from seglab.paths import UPLOADS_FOLDER

#: The one rule for a run id (and the name of its folder).
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
#: Dot-free names the store, the job queue, a worker or the saved uploads use (or may use) under
#: the home: folders that are not runs by design, which ``list_runs`` passes over in silence.
RESERVED_NAMES = frozenset(
    {"jobs", "workers", "locks", "cache", "caches", "tmp", "temp", "imports", "exports", "queue", "runs"}
    | {UPLOADS_FOLDER}
)

MAX_DEPTH = 16  # nesting of dicts/lists inside one JSON document
MAX_NODES = 50_000  # values inside one summary.json
MAX_SUMMARY_BYTES = 4 * 1024**2
MAX_HISTORY_BYTES = 64 * 1024**2
MAX_EPOCHS = 1_000_000
MAX_TIMESTAMP = 1e11  # Unix seconds; about the year 5138
MAX_ABS_METRIC = 1e15  # metrics and losses beyond this are not numbers a run produces


def run_id_problem(run_id: object) -> str | None:
    """Why ``run_id`` cannot name a run (None when it can)."""
    if not isinstance(run_id, str):
        return f"a run id must be text, got {type(run_id).__name__}"
    if not RUN_ID_PATTERN.match(run_id):
        return (
            f"{run_id!r} is not a valid run id (letters, digits, '-' and '_' only, starting "
            "with a letter or digit, at most 128 characters)"
        )
    if run_id.lower() in RESERVED_NAMES:
        return f"{run_id!r} is a name the store keeps for itself"
    return None


def is_store_folder(name: str) -> bool:
    """True for a name under the home that is not a run by design: the store's machinery
    (``.`` or ``_`` first: staging folders, ``_workers``, caches) or a `RESERVED_NAMES` entry."""
    return name.startswith((".", "_")) or name.lower() in RESERVED_NAMES


def parse_json_bounded(text: str, what: str) -> Any:
    """``json.loads`` that turns every failure (syntax, absurd nesting) into ValueError(plain)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def check_shape(value: Any, what: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Refuse JSON nested deeper than ``max_depth`` or holding more than ``max_nodes`` values
    (iterative, so a deep document cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise ValueError(f"{what} holds more than {max_nodes} values")
        if isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise ValueError(f"{what} is nested more than {max_depth} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite_number(value: Any, what: str, *, low: float, high: float) -> float:
    """``value`` as a float if it is a finite number in [low, high]; else ValueError."""
    if not _is_number(value):
        raise ValueError(f"{what} should be a number, got {_short(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{what} is far too large ({_short(value)})") from None
    if not math.isfinite(number) or not (low <= number <= high):
        raise ValueError(f"{what} should lie between {low:g} and {high:g}, got {_short(value)}")
    return number


def whole_number(value: Any, what: str, *, low: int, high: int) -> int:
    """``value`` if it is an int (not bool) in [low, high]; else ValueError."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{what} should be a whole number, got {_short(value)}")
    if not (low <= value <= high):
        raise ValueError(f"{what} should lie between {low} and {high}, got {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_metrics(metrics: Any, what: str = "metrics") -> None:
    """A dict of metric name → finite number, null, or a list / object of those (per-class
    scores); text is allowed where a metric names something."""
    if not isinstance(metrics, dict):
        raise ValueError(f"{what} should be an object, got {type(metrics).__name__}")
    for key, value in metrics.items():
        name = f"{what}[{key!r}]"
        if isinstance(value, (list, dict)):
            items = value.values() if isinstance(value, dict) else value
            for item in items:
                if item is not None and not isinstance(item, str):
                    finite_number(item, name, low=-MAX_ABS_METRIC, high=MAX_ABS_METRIC)
        elif value is not None and not isinstance(value, str):
            finite_number(value, name, low=-MAX_ABS_METRIC, high=MAX_ABS_METRIC)


def check_threshold_metrics(metrics: dict[str, Any]) -> None:
    """The threshold chosen on validation and the IoUs at it (`seglab.metrics.threshold`) are
    null or numbers in [0, 1]."""
    from seglab.metrics.threshold import THRESHOLD_METRICS

    for key in THRESHOLD_METRICS:
        if metrics.get(key) is not None:
            finite_number(metrics[key], f"metrics[{key!r}]", low=0.0, high=1.0)


def check_summary(summary: Any) -> None:
    """Raise ValueError with a plain reason unless ``summary`` is a usable summary.json.

    Checked: an object of bounded size and depth; a known ``status``; timestamps that are
    null or finite Unix seconds; whole epoch counts in range; flat, finite metrics; a config
    that `TrainConfig` accepts; text where text is expected.
    """
    from seglab.errors import SegLabError
    from seglab.settings.config import TrainConfig
    from seglab.status import is_status

    if not isinstance(summary, dict):
        raise ValueError("summary.json is not a JSON object")
    check_shape(summary, "summary.json")
    if not is_status(summary.get("status")):
        raise ValueError(f"unknown status {_short(summary.get('status'))}")
    for key in ("created", "started", "finished", "updated"):
        if summary.get(key) is not None:
            finite_number(summary[key], key, low=0.0, high=MAX_TIMESTAMP)
    for key in ("epochs_done", "epochs"):
        if summary.get(key) is not None:
            whole_number(summary[key], key, low=0, high=MAX_EPOCHS)
    if summary.get("best_epoch") is not None:
        whole_number(summary["best_epoch"], "best_epoch", low=0, high=MAX_EPOCHS)
    if summary.get("num_classes") is not None:
        whole_number(summary["num_classes"], "num_classes", low=1, high=256)
    if summary.get("checkpoint") not in (None, "best", "last"):
        raise ValueError(f"checkpoint should be 'best' or 'last', got {_short(summary.get('checkpoint'))}")
    fingerprint = summary.get("data_fingerprint")
    if fingerprint is not None and not (
        isinstance(fingerprint, str) and re.fullmatch(r"[0-9a-f]{1,64}", fingerprint)
    ):
        raise ValueError(f"data_fingerprint should be hex digits, got {_short(fingerprint)}")
    for key in ("id", "message", "group", "owner", "label", "device"):
        if summary.get(key) is not None and not isinstance(summary[key], str):
            raise ValueError(f"{key} should be text, got {_short(summary[key])}")
    check_metrics(summary.get("metrics") or {})
    check_threshold_metrics(summary.get("metrics") or {})
    if "config" not in summary:
        raise ValueError("summary.json has no config")
    try:
        TrainConfig.from_dict(summary["config"])
    except SegLabError as exc:
        raise ValueError(f"its config is not usable: {exc}") from None


def check_history_record(record: Any, line: int) -> None:
    """One line of history.jsonl: an object with a whole ``epoch`` ≥ 1 and finite numbers."""
    what = f"history line {line}"
    if not isinstance(record, dict):
        raise ValueError(f"{what} is not a JSON object")
    check_shape(record, what, max_depth=4, max_nodes=10_000)
    whole_number(record.get("epoch"), f"{what}: epoch", low=1, high=MAX_EPOCHS)
    for key, value in record.items():
        if _is_number(value):
            finite_number(value, f"{what}: {key}", low=-MAX_ABS_METRIC, high=MAX_ABS_METRIC)


def check_history_text(data: bytes) -> None:
    """A whole history.jsonl as bytes: UTF-8, bounded size, every line a valid record."""
    if len(data) > MAX_HISTORY_BYTES:
        raise ValueError(f"history.jsonl is larger than {MAX_HISTORY_BYTES // 1024**2} MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("history.jsonl is not UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            check_history_record(parse_json_bounded(line, f"history line {number}"), number)
