"""Datasets students upload (a .zip of images/ and masks/), kept under ``$SEGLAB_HOME/datasets``.

An upload checked on the Data page is saved here under a name; the Train page lists these
next to the built-in datasets, and the training job reads the zip from its stored path, so
the dataset survives reloads and restarts like the runs do. Names are plain file names:
letters, digits, ``-``, ``_`` and spaces.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from seglab.errors import SegLabError
from seglab.paths import seglab_home

FOLDER = "datasets"
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


def save_dataset(data: bytes, name: str, home: str | os.PathLike[str] | None = None) -> UploadedDataset:
    """Store an uploaded zip as ``<name>.zip``; the same name with other content is refused."""
    name = clean_name(name)
    folder = _folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.zip"
    if path.exists() and path.read_bytes() != data:
        raise SegLabError(f"a different dataset is already saved as {name!r}; choose another name.")
    if not path.exists():
        tmp = path.with_suffix(".zip.part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return UploadedDataset(name, path, path.stat().st_size)


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
