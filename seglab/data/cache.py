"""Generate a study's data once: a cache of procedural datasets, in memory and on disk.

Every run of a study trains on the same images (same dataset, size, n, data seed and
generator parameters), and drawing them costs seconds: 6 s for the quick preset's 384
images of 64 px on one CPU core, 37 s for the study preset's 2000 of 128 px. So
``cached_dataset`` keeps the tensors

* in memory, for the next run in the same process (a worker slot runs many jobs), and
* on disk under ``$SEGLAB_HOME/_cache/data/<key>.pt``, for the other slots and workers.

The key is a SHA-256 of the data settings plus a fingerprint of the generator's source
code, so changing a generator never serves stale images. Writes are atomic (a temporary
file, then ``os.replace``) and guarded by a per-key ``flock``: when two slots want the same
data at once, one draws it and the other waits and reads it. A file that cannot be read is
drawn again. Folder and zip datasets (user data) are not cached: they are read from disk
anyway and may change under the same name.

The disk cache is used when a home is known: ``set_cache_home`` (the worker and
``run_config`` call it), else ``$SEGLAB_DATA_CACHE``, else ``$SEGLAB_HOME/_cache/data``.
Otherwise (a bare ``engine.train`` in a test) only the in-memory cache is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from seglab.data.dataset import SegDataset
from seglab.filelock import exclusive_lock
from seglab.paths import seglab_home

CACHE_FORMAT = 1  # bump when the file layout changes
MEMORY_ENTRIES = 2  # datasets kept in memory per process (a study uses one)
DISK_LIMIT_BYTES = int(float(os.environ.get("SEGLAB_DATA_CACHE_MB", "4096")) * 2**20)

_MEMORY: OrderedDict[str, SegDataset] = OrderedDict()
_LOCK = threading.Lock()
_HOME: Path | None = None
_FINGERPRINTS: dict[str, str] = {}


def set_cache_home(home: str | os.PathLike[str] | None) -> None:
    """Use ``<home>/_cache/data`` for the disk cache of this process (None: back to the default)."""
    global _HOME
    _HOME = None if home is None else Path(home)


def cache_dir() -> Path | None:
    """Where cached datasets are written, or None when no home is known."""
    if _HOME is not None:
        return _HOME / "_cache" / "data"
    if os.environ.get("SEGLAB_DATA_CACHE"):
        return Path(os.environ["SEGLAB_DATA_CACHE"])
    if os.environ.get("SEGLAB_HOME"):
        return seglab_home() / "_cache" / "data"
    return None


def _generator_fingerprint(name: str) -> str:
    """A hash of the source files that draw dataset ``name`` (its module and the registry)."""
    if name not in _FINGERPRINTS:
        from seglab.data import registry

        build = registry.DATASETS.get(name).build
        digest = hashlib.sha256()
        for obj in (inspect.getmodule(build), registry):
            path = inspect.getsourcefile(obj) if obj is not None else None
            digest.update(Path(path).read_bytes() if path else b"?")
        _FINGERPRINTS[name] = digest.hexdigest()[:16]
    return _FINGERPRINTS[name]


def data_key(name: str, *, size: int, n: int | None, seed: int, **params: Any) -> str:
    """The cache key of a procedural dataset's settings (hex SHA-256, 32 characters)."""
    settings = {
        "format": CACHE_FORMAT,
        "dataset": name,
        "size": int(size),
        "n": None if n is None else int(n),
        "seed": int(seed),
        "params": params,
        "generator": _generator_fingerprint(name),
    }
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cacheable(name: Any) -> bool:
    """Only registered procedural datasets are cached (not folders or zips)."""
    from seglab.data import registry

    return isinstance(name, str) and name in registry.DATASETS


def cached_dataset(name: Any, *, size: int, n: int | None, seed: int, **params: Any) -> SegDataset:
    """``make_dataset(name, size=, n=, seed=, **params)`` on the CPU, drawn at most once per
    data settings (see the module docstring). Callers must not modify the returned tensors
    in place: they are shared with the next run."""
    from seglab.data import make_dataset

    if not cacheable(name):
        return make_dataset(name, size=size, n=n, seed=seed, **params)
    key = data_key(name, size=size, n=n, seed=seed, **params)
    with _LOCK:
        if key in _MEMORY:
            _MEMORY.move_to_end(key)
            return _MEMORY[key]
    folder = cache_dir()
    if folder is None:
        ds = make_dataset(name, size=size, n=n, seed=seed, **params)
    else:
        ds = _from_disk_or_draw(folder, key, lambda: make_dataset(name, size=size, n=n, seed=seed, **params))
    with _LOCK:
        _MEMORY[key] = ds
        while len(_MEMORY) > MEMORY_ENTRIES:
            _MEMORY.popitem(last=False)
    return ds


def clear_memory_cache() -> None:
    """Forget the datasets kept in this process (tests; freeing memory)."""
    with _LOCK:
        _MEMORY.clear()


# ---- disk ----------------------------------------------------------------------------------------


def _key_lock(folder: Path, key: str) -> contextlib.AbstractContextManager[None]:
    return exclusive_lock(folder / f"{key}.lock")


def _from_disk_or_draw(folder: Path, key: str, draw: Any) -> SegDataset:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return draw()
    path = folder / f"{key}.pt"
    with _key_lock(folder, key):
        ds = _read(path)
        if ds is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # most recently used: pruned last
            return ds
        ds = draw()
        _write(path, ds)
    _prune(folder, keep=path)
    return ds


def _read(path: Path) -> SegDataset | None:
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        instances = blob["instances"]
        return SegDataset(
            blob["images"],
            blob["masks"].to(torch.int64),
            num_classes=int(blob["num_classes"]),
            class_names=list(blob["class_names"]),
            name=str(blob["name"]),
            instances=None if instances is None else instances.to(torch.int64),
            meta=json.loads(blob["meta"]),
        )
    except Exception:  # a truncated or foreign file: draw the data again
        return None


def _write(path: Path, ds: SegDataset) -> None:
    small = torch.uint8 if ds.num_classes <= 256 else torch.int64
    blob = {
        "images": ds.images.cpu(),
        "masks": ds.masks.to(small).cpu(),
        "instances": None if ds.instances is None else ds.instances.to(torch.int32).cpu(),
        "num_classes": ds.num_classes,
        "class_names": list(ds.class_names),
        "name": ds.name,
        "meta": json.dumps(ds.meta, default=str),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        torch.save(blob, tmp)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _prune(folder: Path, keep: Path) -> None:
    """Delete the least recently used files while the cache is over ``DISK_LIMIT_BYTES``."""
    try:
        files = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
    except OSError:
        return
    for p in files:
        if total <= DISK_LIMIT_BYTES:
            break
        if p == keep:
            continue
        with contextlib.suppress(OSError):
            size = p.stat().st_size
            p.unlink()
            p.with_suffix(".lock").unlink(missing_ok=True)
            total -= size
