"""Datasets students upload (a .zip of images/ and masks/), kept under ``$SEGLAB_HOME/datasets``.

An upload checked on the Data page is saved here under a name; the Train page lists these
next to the built-in datasets, and the training job reads the zip from its stored path, so
the dataset survives reloads and restarts like the runs do. Names are plain file names:
letters, digits, ``-``, ``_`` and spaces.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seglab.errors import DiskFullError, SegLabError, disk_full_message
from seglab.paths import UPLOADS_FOLDER, seglab_home

FOLDER = UPLOADS_FOLDER
MAX_NAME = 60


@dataclass(frozen=True)
class UploadedDataset:
    name: str
    path: Path
    size_bytes: int


def datasets_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """Where uploaded datasets live (created on demand)."""
    return seglab_home(home)


def _folder(home: str | os.PathLike[str] | None) -> Path:
    return datasets_dir(home) / FOLDER


def clean_name(text: str) -> str:
    """A safe dataset name from what the user typed or the file's name ('My cells.zip' → 'My cells')."""
    stem = Path(str(text).strip()).name
    if stem.lower().endswith(".zip"):
        stem = stem[:-4]
    name = re.sub(r"[^A-Za-z0-9 _-]+", "_", stem).strip(" _")[:MAX_NAME]
    if not name:
        raise SegLabError("give the dataset a name with at least one letter or digit.")
    return name


def save_dataset(
    data: bytes | None,
    name: str,
    home: str | os.PathLike[str] | None = None,
    *,
    source: str | os.PathLike[str] | None = None,
) -> UploadedDataset:
    """Store an uploaded zip as ``<name>.zip``; the same name with other content is refused.

    Atomic and race-free: the bytes go to a temporary file of a unique name, which is then
    *linked* to ``<name>.zip`` — a link never replaces an existing file, so of two sessions
    saving one name at once exactly one wins and the other is compared with what won.
    ``source``: a file already on this disk holding the bytes (the copy the Data page checked);
    it is linked instead of written again, so an upload is stored once.
    """
    name = clean_name(name)
    folder = _folder(home)
    path = folder / f"{name}.zip"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if data is None:
            data = Path(source).read_bytes() if source is not None else b""
        if not _exists_with(path, data):
            staged = _stage(folder, data, source)
            try:
                os.link(staged, path)
            except FileExistsError:
                if not _exists_with(path, data):
                    raise SegLabError(
                        f"a different dataset was just saved as {name!r}; choose another name."
                    ) from None
            finally:
                staged.unlink(missing_ok=True)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(disk_full_message(folder)) from None
        raise
    return UploadedDataset(name, path, path.stat().st_size)


def _exists_with(path: Path, data: bytes) -> bool:
    """True when ``path`` holds ``data``; a different content is refused in plain words."""
    try:
        held = path.read_bytes()
    except FileNotFoundError:
        return False
    if held != data:
        raise SegLabError(f"a different dataset is already saved as {path.stem!r}; choose another name.")
    return True


def _stage(folder: Path, data: bytes, source: str | os.PathLike[str] | None) -> Path:
    """A hidden file of a unique name in ``folder`` holding ``data`` (a link to ``source`` when
    the bytes already sit on this disk)."""
    fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
    os.close(fd)
    staged = Path(name)
    if source is not None:
        try:
            staged.unlink()
            os.link(source, staged)
            return staged
        except OSError:  # another file system: write the bytes instead
            pass
    staged.write_bytes(data)
    return staged


def list_uploaded(home: str | os.PathLike[str] | None = None) -> list[UploadedDataset]:
    """Saved uploads, by name."""
    folder = _folder(home)
    if not folder.is_dir():
        return []
    return [UploadedDataset(p.stem, p, p.stat().st_size) for p in sorted(folder.glob("*.zip"))]


def delete_dataset(name: str, home: str | os.PathLike[str] | None = None) -> bool:
    """Remove a saved upload; True when there was one. Runs trained on it keep their results."""
    path = _folder(home) / f"{clean_name(name)}.zip"
    if path.exists():
        path.unlink()
        return True
    return False
