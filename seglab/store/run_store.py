"""The experiment store: every training run is one folder under ``seglab_home()``.

Layout of a run folder ``<home>/<run_id>/``::

    summary.json     small, always up to date: id, status, message, timestamps, config,
                     headline metrics, epochs done. ``list_runs`` reads only this file.
    config.json      the run's ``TrainConfig`` (human-readable copy)
    history.jsonl    one JSON object per finished epoch, appended as training goes
    best.pt          model ``state_dict`` of the best validation epoch
    last.pt          model + optimiser + RNG states + history, for ``resume``
    predictions.npz  a few fixed val/test images with masks, predicted labels, per-image IoU
    epoch_predictions/  a few fixed val images predicted after every epoch (seglab.store.epoch_predictions)

Every JSON file is written atomically (temporary file in the same folder, then
``os.replace``), so a crash leaves either the old or the new file, never half of one.
Checkpoints are read only with ``torch.load(..., weights_only=True)``.

Timestamps are Unix seconds (``float``); ``format_time`` turns them into local text.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
import secrets
import shutil
import socket
import stat
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from seglab.errors import ConfigError, InternalError, SegLabError
from seglab.paths import atomic_write_text, seglab_home
from seglab.settings.classroom import MAX_NAME_LENGTH, Actor, Permission, clean_owner_name, require
from seglab.settings.config import TrainConfig
from seglab.status import ALL_STATUSES, FINISHED_STATUSES, RunStatus, check_transition, is_active
from seglab.store import checks as store_checks

# kept as names for older imports; the vocabulary itself lives in seglab.status
STATUSES = tuple(s.value for s in ALL_STATUSES)
FINAL_STATUSES = tuple(s.value for s in ALL_STATUSES if s in FINISHED_STATUSES)
CHECKPOINTS = ("best", "last")

SUMMARY = "summary.json"
CONFIG = "config.json"
HISTORY = "history.jsonl"
PREDICTIONS = "predictions.npz"

_MAX_IMPORT_BYTES = 4 * 1024**3  # refuse archives that would unpack to more than 4 GiB
_MAX_PREDICTIONS_BYTES = 512 * 1024**2
TEMP_GRACE_SECONDS = 3600.0  # hidden temporary files older than this are leftovers of a killed writer
_CLEANED: dict[str, float] = {}  # home → when this process last swept it for leftovers


class RunNotFoundError(SegLabError):
    """The store holds no run with the requested id."""


class RunDeletedError(SegLabError):
    """The run's folder was deleted while something was still writing to it."""


class StoreWarning(UserWarning):
    """A folder in the store could not be read and was skipped."""


# ---- small file helpers ---------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/inf become null, tuples lists, numpy/torch scalars numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy / torch scalar
        return _jsonable(value.item())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def atomic_write_with(path: Path, write: Callable[[Path], object], suffix: str = ".tmp") -> Path:
    """Let ``write(tmp)`` fill a hidden temporary file next to ``path``, then rename it over
    ``path``: a crash never leaves half a file. Returns ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(3)}{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with _suppress_os_error():
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path: Path, data: Any) -> None:
    """``atomic_write_text`` of strict JSON (NaN written as null)."""
    atomic_write_text(path, json.dumps(_jsonable(data), indent=2, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class _suppress_os_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return exc_type is not None and issubclass(exc_type, OSError)


def format_time(ts: float | None) -> str:
    """Local ``YYYY-MM-DD HH:MM:SS`` for a stored timestamp ('' for None)."""
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def new_run_id(config: TrainConfig, now: float | None = None) -> str:
    """Sortable by creation time: ``20261123-153000-unet-bce_dice-ab12``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    arch = re.sub(r"[^A-Za-z0-9_]", "", config.arch)[:24] or "model"
    loss = re.sub(r"[^A-Za-z0-9_]", "", config.loss)[:24] or "loss"
    return f"{stamp}-{arch}-{loss}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    """Refuse ids that break the run-id rule (`seglab.store.checks.RUN_ID_PATTERN`): paths
    outside the store, and the names of the store's own files and folders."""
    problem = store_checks.run_id_problem(run_id)
    if problem is not None:
        raise RunNotFoundError(problem[0].upper() + problem[1:] + ".")
    return run_id


# ---- one run folder ---------------------------------------------------------------------
class RunFiles:
    """Reads and writes the files of one run folder. The engine writes through this class."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    # summary -----------------------------------------------------------------------------
    def read_summary(self) -> dict[str, Any]:
        """summary.json as a dict; ValueError (plain reason) for a damaged or absurd file."""
        path = self.file(SUMMARY)
        if path.stat().st_size > store_checks.MAX_SUMMARY_BYTES:
            raise ValueError("summary.json is larger than 4 MB")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError("summary.json is not UTF-8 text") from None
        data = store_checks.parse_json_bounded(text, "summary.json")
        if not isinstance(data, dict):
            raise ValueError("summary.json is not a JSON object")
        return data

    def _require_folder(self) -> None:
        """Writers never re-create a deleted run folder (it would lack its config)."""
        if not self.path.is_dir():
            raise RunDeletedError(f"run {self.run_id!r} was deleted while it was being written.")

    def write_summary(self, summary: dict[str, Any]) -> None:
        self._require_folder()
        atomic_write_json(self.file(SUMMARY), summary)

    def update_summary(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into summary.json (``metrics`` is merged key by key). A run's
        ``status`` is not among them: it changes only through `set_status`."""
        if "status" in fields:
            raise InternalError("a run's status changes only through set_status (seglab.status.TRANSITIONS)")
        return self._merge_summary(fields)

    def set_status(self, status: str, message: str = "", **fields: Any) -> dict[str, Any]:
        """Move the run to ``status`` with its ``message`` and any other summary ``fields``: the
        one writer of a run's status, checked against `seglab.status.TRANSITIONS`.

        ``running`` records this process (``pid``) so readers can tell when it dies; a finished
        status records when it finished (unless ``fields`` says otherwise)."""
        try:
            old = self.read_summary().get("status")
        except (OSError, ValueError):
            old = None
        target = check_transition(old, status)
        if target == RunStatus.RUNNING:
            fields.setdefault("pid", os.getpid())
        if target in FINISHED_STATUSES:
            fields.setdefault("finished", time.time())
        return self._merge_summary({**fields, "message": message}, status=target.value)

    def _merge_summary(self, fields: dict[str, Any], status: str | None = None) -> dict[str, Any]:
        """Read summary.json (or start one), merge ``fields`` (and ``status``), write it back.

        A ``pid`` field also records this host and the process's start time, so that
        readers can tell when the process training the run has died (`process_gone`)."""
        self._require_folder()
        try:
            summary = self.read_summary()
        except (OSError, ValueError):
            summary = {"id": self.run_id, "created": time.time()}
        if "pid" in fields:
            fields.setdefault("host", socket.gethostname())
            fields.setdefault("pid_started", process_start_ticks(int(fields["pid"])))
        if "metrics" in fields:
            summary["metrics"] = {**summary.get("metrics", {}), **(fields.pop("metrics") or {})}
        if status is not None:
            summary["status"] = status
        summary.update(fields)
        summary["updated"] = time.time()
        self.write_summary(summary)
        return summary

    def init(
        self,
        config: TrainConfig,
        *,
        status: str = RunStatus.QUEUED.value,
        group: str | None = None,
        owner: str | None = None,
    ) -> None:
        """Create the folder with config.json and a fresh summary.json. ``owner`` is the name of
        the student whose queued job made the run (copied once from the queue's ``owner``
        column, which decides; None outside classroom mode)."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.file(CONFIG), config.to_json() + "\n")
        now = time.time()
        self.write_summary(
            {
                "id": self.run_id,
                "status": status,
                "message": "",
                "group": group,
                "owner": owner or None,
                "label": config.label(),
                "created": now,
                "started": None,
                "finished": None,
                "updated": now,
                "epochs_done": 0,
                "epochs": config.epochs,
                "best_epoch": None,
                "device": None,
                "metrics": {},
                "config": config.to_dict(),
            }
        )

    def write_config(self, config: TrainConfig) -> None:
        self._require_folder()
        atomic_write_text(self.file(CONFIG), config.to_json() + "\n")

    # history -----------------------------------------------------------------------------
    def append_history(self, record: dict[str, Any]) -> None:
        self._require_folder()
        line = json.dumps(_jsonable(record), allow_nan=False)
        with open(self.file(HISTORY), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()

    def write_history(self, records: Iterable[dict[str, Any]]) -> None:
        text = "".join(json.dumps(_jsonable(r), allow_nan=False) + "\n" for r in records)
        atomic_write_text(self.file(HISTORY), text)

    def read_history(self) -> list[dict[str, Any]]:
        """Records in epoch order. A line that is not a valid record (a crash mid-append, a
        hand edit, bytes that are not UTF-8, an epoch that is not a whole number, a value
        that is not finite) is skipped, so one bad line never breaks a chart."""
        try:
            data = self.file(HISTORY).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return []
        records = []
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip() or "\ufffd" in line:
                continue
            try:
                record = store_checks.parse_json_bounded(line, "history line")
                store_checks.check_history_record(record, number)
            except ValueError:
                continue
            records.append(record)
        return records

    # what the engine asks (RunWriter), without seeing the folder's layout -------------
    @property
    def location(self) -> str:
        """Where the run is kept, in words for messages and results (its folder)."""
        return str(self.path)

    def prepare(self, config: TrainConfig) -> None:
        """Make sure the run exists with ``config``: a new folder (status ``queued``) or an
        existing run (queued by the job queue, or being resumed) whose config is rewritten."""
        if not self.file(SUMMARY).is_file():
            self.init(config)
        else:
            self.write_config(config)

    def has_checkpoint(self, which: str = "last") -> bool:
        return self.checkpoint_path(which).is_file()

    def stored_weights(self, run_id: str) -> Path:
        """The best weights of another run of the same store (``--init-from``); plain errors."""
        store = RunStore(self.path.parent)
        if not store.exists(run_id):
            raise ConfigError(f"there is no stored run {run_id!r} to start from (in {store.home}).")
        path = store.checkpoint_path(run_id, "best")
        if not path.is_file():
            raise ConfigError(f"run {run_id!r} has no saved weights to start from yet.")
        return path

    # checkpoints and predictions -------------------------------------------------------
    def checkpoint_path(self, which: str = "best") -> Path:
        if which not in CHECKPOINTS:
            raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, not {which!r}")
        return self.file(f"{which}.pt")

    def save_checkpoint(self, which: str, obj: Any) -> Path:
        """``torch.save`` to a temporary file, then rename: a crash never leaves half a file."""
        import torch

        self._require_folder()
        return atomic_write_with(self.checkpoint_path(which), lambda tmp: torch.save(obj, tmp))

    def load_checkpoint(self, which: str = "best", map_location: Any = "cpu") -> Any:
        import torch

        return torch.load(self.checkpoint_path(which), map_location=map_location, weights_only=True)

    def save_predictions(self, arrays: dict[str, np.ndarray]) -> Path:
        # np.savez_compressed appends ".npz" to a name that lacks it, so the temporary file keeps it
        self._require_folder()
        return atomic_write_with(
            self.file(PREDICTIONS), lambda tmp: np.savez_compressed(tmp, **arrays), suffix=".tmp.npz"
        )

    def save_epoch_predictions(
        self, epoch: int, preview: dict[str, np.ndarray], indices: np.ndarray, num_classes: int
    ) -> Path:
        """Keep one epoch's predictions of the watched validation images (`seglab.store.epoch_predictions`)."""
        from seglab.store import epoch_predictions

        return epoch_predictions.write_epoch(self.path, epoch, preview, indices, num_classes)

    def read_predictions(self) -> dict[str, np.ndarray]:
        """The saved preview arrays; {} when there are none or the file is damaged (a damaged
        file gives a `StoreWarning` naming the problem)."""
        try:
            return load_predictions_file(self.file(PREDICTIONS))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            warnings.warn(f"run {self.run_id!r}: {exc}", StoreWarning, stacklevel=2)
            return {}


def load_predictions_file(source: Any) -> dict[str, np.ndarray]:
    """Read a predictions .npz (path or file object) without pickles; every failure of a
    damaged file (not a zip, truncated, object arrays, bad headers) becomes ValueError."""
    try:
        with np.load(source, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ValueError(f"predictions.npz is damaged ({type(exc).__name__}: {exc})") from None
    for key, arr in arrays.items():
        if arr.dtype.hasobject:
            raise ValueError(f"predictions.npz holds an object array {key!r}")
    return arrays


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc; None if unknown).
    Together with the pid it names one process, even after the pid is reused."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def process_gone(summary: dict[str, Any]) -> bool:
    """True when the summary names the process writing it (``pid`` on this host) and that
    process no longer exists (or the pid now belongs to a newer process)."""
    pid, host = summary.get("pid"), summary.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if host is not None and host != socket.gethostname():
        return False  # another machine's process: we cannot see it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    started = summary.get("pid_started")
    now = process_start_ticks(pid)
    if started is not None and now is not None and started != now:
        return True  # the pid was reused by another process
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state == "Z"


# ---- the store ------------------------------------------------------------------------
@dataclass
class RunRecord:
    """What the UI needs to list and compare a run; built from summary.json alone."""

    id: str
    status: str
    config: TrainConfig
    created: float | None = None
    started: float | None = None
    finished: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    epochs_done: int = 0
    message: str = ""
    group: str | None = None
    #: the student whose job made the run (classroom mode; '' = nobody in particular)
    owner: str = ""
    best_epoch: int | None = None
    device: str | None = None
    path: Path | None = None
    #: the data by content (`seglab.data.fingerprint`); None for registered datasets and old runs
    data_fingerprint: str | None = None
    #: which epoch's weights its val/test scores come from: "best" (on validation) or "last";
    #: runs written before the rule was recorded kept their best epoch
    checkpoint: str = "best"

    @property
    def val_iou(self) -> float | None:
        return self.metrics.get("val_iou")

    @property
    def test_iou(self) -> float | None:
        return self.metrics.get("test_iou")

    @property
    def label(self) -> str:
        return self.config.label()

    @property
    def finished_ok(self) -> bool:
        return self.status == "done"


@dataclass
class UnreadableRun:
    """A run folder whose files cannot be read; listed so it can be seen and deleted."""

    id: str
    reason: str
    path: Path | None = None

    @property
    def status(self) -> str:
        return "unreadable"


INTERRUPTED_MESSAGE = (
    "the process training it (pid {pid}) stopped; resume the run to continue from its last "
    "checkpoint, or delete it"
)


def _record_from_summary(summary: dict[str, Any], path: Path) -> RunRecord:
    return _live_record(_stored_record(summary, path), summary)


def _live_record(record: RunRecord, summary: dict[str, Any]) -> RunRecord:
    """``record`` as of now: "running" in the file while its process is gone reads as
    "interrupted" (the process check needs only the summary's pid fields)."""
    if record.status == RunStatus.RUNNING and process_gone(summary):
        return replace(
            record,
            status=RunStatus.INTERRUPTED.value,
            message=INTERRUPTED_MESSAGE.format(pid=summary["pid"]),
            metrics=dict(record.metrics),
        )
    return replace(record, metrics=dict(record.metrics))


#: Run records parsed from summary.json, shared by every ``RunStore`` of this process and keyed
#: by the file's identity (inode, size, change time: summaries are replaced whole, so a write
#: gives a new inode). The Results page lists every run on each rerun and the class's pages
#: watch for finished runs: parsing 148 summaries cost ~150 ms each time (issue 22), a stat
#: per run costs well under a millisecond. Records leave as copies (their ``config`` shared:
#: nothing writes to a record's config).
_RECORDS: dict[str, tuple[tuple[int, int, int], RunRecord, dict[str, Any]]] = {}
_PID_FIELDS = ("pid", "host", "pid_started")


def _cached_record(path: Path) -> RunRecord:
    """The run record of ``path`` from the shared cache, or parsed (and cached) when its
    summary.json changed. Raises what ``RunFiles.read_summary`` and the checks raise."""
    info = (path / SUMMARY).stat()
    stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
    cached = _RECORDS.get(str(path))
    if cached is None or cached[0] != stamp:
        summary = RunFiles(path).read_summary()
        cached = (stamp, _stored_record(summary, path), {k: summary.get(k) for k in _PID_FIELDS})
        if len(_RECORDS) > 100_000:  # a bound, far above any class's store
            _RECORDS.clear()
        _RECORDS[str(path)] = cached
    return _live_record(cached[1], cached[2])


def _stored_record(summary: dict[str, Any], path: Path) -> RunRecord:
    """The record exactly as summary.json states it (checked)."""
    store_checks.check_summary(summary)
    status, message = summary["status"], str(summary.get("message") or "")
    return RunRecord(
        id=str(summary.get("id") or path.name),
        status=status,
        config=TrainConfig.from_dict(summary["config"]),
        created=summary.get("created"),
        started=summary.get("started"),
        finished=summary.get("finished"),
        metrics=dict(summary.get("metrics") or {}),
        epochs_done=int(summary.get("epochs_done") or 0),
        message=message,
        group=summary.get("group"),
        owner=clean_owner_name(str(summary.get("owner") or "")[: 4 * MAX_NAME_LENGTH]),
        best_epoch=summary.get("best_epoch"),
        device=summary.get("device"),
        path=path,
        data_fingerprint=summary.get("data_fingerprint"),
        checkpoint=summary.get("checkpoint") or "best",
    )


def _looks_like_a_run(path: Path) -> bool:
    return any((path / name).exists() for name in (SUMMARY, CONFIG, HISTORY, "last.pt", "best.pt"))


class RunStore:
    """All runs under one home folder (default ``seglab_home()``)."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = seglab_home(home)
        self.home.mkdir(parents=True, exist_ok=True)
        key = str(self.home.resolve())
        if time.time() - _CLEANED.get(key, 0.0) > TEMP_GRACE_SECONDS / 4:
            _CLEANED[key] = time.time()
            self.clean_leftovers()

    def clean_leftovers(self, grace_seconds: float = TEMP_GRACE_SECONDS) -> list[Path]:
        """Remove hidden temporary files (``.last.pt.*.tmp``, ``.summary.json.*.tmp``, …) and
        import staging folders (``.import-*``) left by a killed writer; returns what it removed.

        Only leftovers older than ``grace_seconds`` go: a live writer renames its temporary
        file within seconds, so a young one may still be in use.
        """
        cutoff = time.time() - grace_seconds
        removed: list[Path] = []

        def old(path: Path) -> bool:
            try:
                return path.lstat().st_mtime < cutoff
            except OSError:
                return False

        try:
            entries = list(os.scandir(self.home))
        except OSError:
            return removed
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith(".import-") and entry.is_dir(follow_symlinks=False):
                if old(path):
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
                continue
            if store_checks.is_store_folder(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                inner = list(os.scandir(path))
            except OSError:
                continue
            for item in inner:
                if (
                    item.name.startswith(".")
                    and ".tmp" in item.name
                    and item.is_file(follow_symlinks=False)
                    and old(Path(item.path))
                ):
                    with _suppress_os_error():
                        os.unlink(item.path)
                        removed.append(Path(item.path))
        return removed

    # naming --------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        return self.home / check_run_id(run_id)

    def files(self, run_id: str) -> RunFiles:
        path = self.run_dir(run_id)
        if not (path / SUMMARY).is_file():
            raise RunNotFoundError(f"no run {run_id!r} in {self.home}.")
        return RunFiles(path)

    def exists(self, run_id: str) -> bool:
        try:
            return (self.run_dir(run_id) / SUMMARY).is_file()
        except RunNotFoundError:
            return False

    # writing -------------------------------------------------------------------------
    def create_run(
        self,
        config: TrainConfig,
        run_id: str | None = None,
        *,
        group: str | None = None,
        owner: str | None = None,
    ) -> str:
        """Make an empty run folder (status ``queued``) and return its id; ``owner``: the name
        its job was queued under (`RunFiles.init`)."""
        if run_id is None:
            run_id = new_run_id(config)
            while (self.home / run_id).exists():
                run_id = new_run_id(config)
        path = self.run_dir(run_id)
        if path.exists():
            raise SegLabError(f"a run called {run_id!r} already exists.")
        path.mkdir(parents=True)
        RunFiles(path).init(config, status=RunStatus.QUEUED.value, group=group, owner=owner)
        return run_id

    def set_status(self, run_id: str, status: str, message: str = "") -> None:
        """Move run ``run_id`` to ``status`` (see `RunFiles.set_status`, the one writer)."""
        self.files(run_id).set_status(status, message)

    def update_summary(self, run_id: str, **fields: Any) -> None:
        self.files(run_id).update_summary(**fields)

    def delete_run(self, run_id: str, *, actor: Actor | None = None) -> None:
        """Remove a run folder (teacher only in classroom mode: `seglab.settings.classroom`)."""
        require(actor, Permission.DELETE)
        path = self.run_dir(run_id)
        if not path.is_dir():
            raise RunNotFoundError(f"no run {run_id!r} in {self.home}.")
        shutil.rmtree(path)

    # reading -------------------------------------------------------------------------
    def _scan(self) -> tuple[list[RunRecord], list[UnreadableRun], list[Path]]:
        """(readable runs oldest first, unreadable run folders, foreign folders)."""
        records: list[RunRecord] = []
        unreadable: list[UnreadableRun] = []
        foreign: list[Path] = []
        try:
            entries = list(os.scandir(self.home))
        except FileNotFoundError:
            return records, unreadable, foreign
        for entry in entries:
            if store_checks.is_store_folder(entry.name) or not entry.is_dir():
                continue
            path = Path(entry.path)
            if store_checks.run_id_problem(entry.name) is not None:
                foreign.append(path)
                continue
            try:
                records.append(_cached_record(path))
            except FileNotFoundError:
                if _looks_like_a_run(path):
                    unreadable.append(UnreadableRun(entry.name, "its summary.json is missing", path))
                else:
                    foreign.append(path)
            except (OSError, ValueError, KeyError, TypeError, OverflowError, SegLabError) as exc:
                unreadable.append(UnreadableRun(entry.name, str(exc) or type(exc).__name__, path))
        records.sort(key=lambda r: (r.created or 0.0, r.id))
        unreadable.sort(key=lambda u: u.id)
        return records, unreadable, foreign

    def list_runs(self) -> list[RunRecord]:
        """Every readable run, oldest first. Unreadable folders are skipped with a warning
        (`unreadable_runs` lists them with the reason, so they can be shown and deleted).

        Folders that are not runs by design (`seglab.store.checks.is_store_folder`: names
        starting with ``.`` or ``_``, such as imports in progress and the workers' folder, and
        the reserved names, such as the saved uploads' ``datasets``) are skipped silently.
        """
        records, unreadable, foreign = self._scan()
        for path in foreign:
            warnings.warn(f"skipping {path}: not a SegLab run.", StoreWarning, stacklevel=2)
        for bad in unreadable:
            warnings.warn(f"skipping {bad.path}: unreadable run ({bad.reason}).", StoreWarning, stacklevel=2)
        return records

    def unreadable_runs(self) -> list[UnreadableRun]:
        """Run folders that cannot be read, each with the reason in plain words."""
        return self._scan()[1]

    def load_run(self, run_id: str) -> RunRecord:
        files = self.files(run_id)
        try:
            return _record_from_summary(files.read_summary(), files.path)
        except (OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
            raise SegLabError(f"run {run_id!r} cannot be read: {exc}") from None

    def mark_interrupted_if_dead(self, run_id: str) -> bool:
        """Write ``interrupted`` into a running run whose process has died; True if it did."""
        files = self.files(run_id)
        try:
            summary = files.read_summary()
        except (OSError, ValueError):
            return False
        if summary.get("status") != RunStatus.RUNNING or not process_gone(summary):
            return False
        files.set_status(RunStatus.INTERRUPTED, INTERRUPTED_MESSAGE.format(pid=summary["pid"]))
        return True

    def config(self, run_id: str) -> TrainConfig:
        return self.load_run(run_id).config

    def history(self, run_id: str) -> list[dict[str, Any]]:
        return self.files(run_id).read_history()

    def predictions(self, run_id: str) -> dict[str, np.ndarray]:
        """Arrays saved at the end of training (empty dict if the run saved none)."""
        return self.files(run_id).read_predictions()

    def epoch_predictions(self, run_id: str, *, latest_only: bool = False) -> dict[str, Any] | None:
        """Predictions of the watched validation images after each epoch, or None if the run
        kept none (older or imported runs): ``epochs`` [1..E], ``images`` (K,3,H,W),
        ``targets`` (K,H,W), ``pred`` (E,K,H,W) and more; see `seglab.store.epoch_predictions.read`."""
        from seglab.store import epoch_predictions

        files = self.files(run_id)
        epochs = [int(r["epoch"]) for r in files.read_history() if isinstance(r.get("epoch"), int)]
        return epoch_predictions.read(files.path, max(epochs) if epochs else 0, latest_only=latest_only)

    def checkpoint_path(self, run_id: str, which: str = "best") -> Path:
        return self.files(run_id).checkpoint_path(which)

    def load_model(self, run_id: str, which: str = "best", device: Any = "cpu") -> Any:
        """Rebuild the run's model from its config and load its weights (eval mode)."""
        from seglab.settings.build import build_model  # local import: the store needs no torch to list runs

        files = self.files(run_id)
        summary = files.read_summary()
        config = TrainConfig.from_dict(summary["config"])
        path = files.checkpoint_path(which)
        if not path.is_file():
            raise SegLabError(f"run {run_id!r} has no {which} checkpoint yet.")
        try:  # a damaged or crafted run (truncated weights, absurd sizes) is a plain refusal
            state = files.load_checkpoint(which, map_location=device)
            if which == "last":
                state = state["model"]
            model = build_model(config, int(summary.get("num_classes") or 2))
            model.load_state_dict(state)
        except SegLabError as exc:
            raise SegLabError(f"run {run_id!r} cannot be opened: {exc}") from None
        except (
            OSError,
            RuntimeError,
            ValueError,
            TypeError,
            KeyError,
            EOFError,
            pickle.UnpicklingError,
        ) as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise SegLabError(
                f"run {run_id!r} cannot be opened: its saved weights are damaged ({reason})."
            ) from None
        return model.to(device).eval()

    # sharing -------------------------------------------------------------------------
    def export_runs(
        self,
        run_ids: Iterable[str],
        zip_path: str | os.PathLike[str],
        *,
        weights: bool = True,
        previews: int | None = None,
    ) -> Path:
        """Write the given runs (all their files) into one zip, folders named by run id.

        ``weights=False`` leaves out the checkpoints (``*.pt``): histories, summaries and
        predictions only, a small zip for sharing results. ``previews=N`` keeps only the
        first N preview images per split in the predictions, without the probability maps."""
        zip_path = Path(zip_path)
        ids = list(run_ids)
        paths = [self.files(i).path for i in ids]

        def write_zip(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for run_id, path in zip(ids, paths, strict=True):
                    for file in sorted(path.rglob("*")):
                        if not weights and file.suffix == ".pt":
                            continue
                        if file.is_file() and not file.is_symlink() and not file.name.startswith("."):
                            name = f"{run_id}/{file.relative_to(path).as_posix()}"
                            if previews is not None and file.name == PREDICTIONS:
                                zf.writestr(name, _fewer_previews(file, previews))
                            else:
                                zf.write(file, name)

        return atomic_write_with(zip_path, write_zip)

    def import_runs(
        self,
        zip_path: str | os.PathLike[str],
        *,
        skipped: list[str] | None = None,
        actor: Actor | None = None,
    ) -> list[str]:
        """Unpack runs from an exported zip; returns the ids added.

        Every run is checked before anything of it is written (`_import_problem`: its id may
        not name one of the store's own files, its summary, config, history and predictions
        must pass `seglab.store.checks`). A bad run is skipped with a plain reason — appended
        to ``skipped`` when given, else a `StoreWarning` — and the others are imported.

        Safe extraction: every member must be a plain file inside ``<run_id>/``; absolute
        paths, ``..``, links and oversized archives are refused. A run whose id already
        exists is skipped (ids carry a random suffix, so the same id means the same run).
        Runs that were queued or running when exported are marked ``interrupted``.
        In classroom mode only the teacher may import (``actor``).
        """
        require(actor, Permission.IMPORT)
        try:
            zf = zipfile.ZipFile(zip_path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SegLabError(f"{zip_path} is not a readable zip archive: {exc}") from None

        def skip(reason: str) -> None:
            if skipped is not None:
                skipped.append(reason)
            else:
                warnings.warn(reason, StoreWarning, stacklevel=3)

        with zf:
            members: dict[str, list[tuple[zipfile.ZipInfo, PurePosixPath]]] = {}
            total = 0
            for info in zf.infolist():
                if info.is_dir():
                    continue
                rel = _safe_member(info)
                members.setdefault(rel.parts[0], []).append((info, rel))
                total += info.file_size
            if total > _MAX_IMPORT_BYTES:
                raise SegLabError(f"{zip_path} would unpack to {total / 1e9:.1f} GB; refusing.")
            added = []
            for run_id, files in members.items():
                problem = _import_problem(zf, run_id, files)
                if problem is None and (self.home / run_id).exists():
                    skip(f"run {run_id!r} already exists; not imported again.")
                    continue
                if problem is not None:
                    skip(f"skipping {run_id!r} in {zip_path}: {problem}.")
                    continue
                staging = Path(tempfile.mkdtemp(dir=self.home, prefix=".import-"))
                try:
                    target = staging / run_id
                    for info, rel in files:
                        dest = staging.joinpath(*rel.parts)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        with zf.open(info) as src, open(dest, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                    run_files = RunFiles(target)
                    summary = run_files.read_summary()
                    summary["id"] = run_id
                    if is_active(summary.get("status")):
                        summary["status"] = "interrupted"
                        summary["message"] = "imported while unfinished"
                    run_files.write_summary(summary)
                    os.replace(target, self.home / run_id)
                    added.append(run_id)
                except (OSError, ValueError, KeyError, TypeError, SegLabError) as exc:
                    skip(f"skipping {run_id!r} in {zip_path}: {exc}")
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        return added


def _import_problem(
    zf: zipfile.ZipFile, run_id: str, files: list[tuple[zipfile.ZipInfo, PurePosixPath]]
) -> str | None:
    """Why the run ``run_id`` of an archive must not be imported (None if it may), judged
    from the archive alone, before anything is written: its id, summary, config, history
    and predictions are all checked."""
    problem = store_checks.run_id_problem(run_id)
    if problem is not None:
        return problem
    by_name = {rel.parts[1:]: info for info, rel in files}
    if (SUMMARY,) not in by_name:
        return "no summary.json"

    def read(name: str, limit: int) -> bytes:
        info = by_name[(name,)]
        if info.file_size > limit:
            raise ValueError(f"{name} is larger than {limit // 1024**2} MB")
        with zf.open(info) as fh:
            return fh.read(limit + 1)

    try:
        raw = read(SUMMARY, store_checks.MAX_SUMMARY_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "summary.json is not UTF-8 text"
        store_checks.check_summary(store_checks.parse_json_bounded(text, "summary.json"))
        if (CONFIG,) in by_name:
            config_text = read(CONFIG, store_checks.MAX_SUMMARY_BYTES).decode("utf-8")
            data = store_checks.parse_json_bounded(config_text, "config.json")
            store_checks.check_shape(data, "config.json")
            TrainConfig.from_dict(data)
        if (HISTORY,) in by_name:
            store_checks.check_history_text(read(HISTORY, store_checks.MAX_HISTORY_BYTES))
        if (PREDICTIONS,) in by_name:
            load_predictions_file(io.BytesIO(read(PREDICTIONS, _MAX_PREDICTIONS_BYTES)))
    except UnicodeDecodeError:
        return "config.json is not UTF-8 text"
    except (ValueError, OverflowError, zipfile.BadZipFile, OSError) as exc:
        return str(exc)
    except SegLabError as exc:
        return f"its config.json is not usable: {exc}"
    return None


def _fewer_previews(path: Path, keep: int) -> bytes:
    """predictions.npz with the first ``keep`` images per split and no probability maps."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {
            k: (npz[k][:keep] if k.startswith(("val_", "test_")) and not k.endswith("_confusion") else npz[k])
            for k in npz.files
            if not k.endswith("_probs")
        }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path if it is a plain file inside one run folder; else SegLabError."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise SegLabError(f"archive member {name!r} is a link; refusing to import.")
    rel = PurePosixPath(name)
    if (
        "\\" in name
        or rel.is_absolute()
        or len(rel.parts) < 2
        or len(rel.parts) > 8
        or any(p in ("", ".", "..") or ":" in p for p in rel.parts)
    ):
        raise SegLabError(f"archive member {name!r} is outside a run folder; refusing to import.")
    return rel
