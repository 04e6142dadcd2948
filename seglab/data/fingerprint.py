"""What data a run trained on, by content: a short hash of a folder's or a zip's files.

A saved upload is named by the user (``cells``), and a name says nothing about the images
behind it: a dataset can be deleted and saved again under the same name with other images, or
relabelled in place. Runs record `dataset_fingerprint` when they train, and comparisons
(`seglab.analysis.compare`) never rank runs whose fingerprints differ against each other.

Registered (procedural) datasets are fully described by their settings (name, size, n, seed,
parameters), which every comparison already matches, so their fingerprint is None.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

#: hex digits kept of the SHA-256 (64 bits: collisions are not a practical concern here)
DIGITS = 16


def dataset_fingerprint(dataset: str) -> str | None:
    """SHA-256 (first `DIGITS` hex digits) over the sorted (relative name, bytes) of every file
    of a folder or ``.zip`` dataset; None for a registered dataset name or a missing path.

    A zip is hashed by its members' names and contents, not by the archive's bytes, so the
    same files zipped again give the same fingerprint.
    """
    from seglab.data.registry import list_datasets

    if dataset in list_datasets():
        return None
    path = Path(dataset).expanduser()
    digest = hashlib.sha256()
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if not info.is_dir():
                    _add(digest, info.filename, archive.read(info))
    elif path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            _add(digest, file.relative_to(path).as_posix(), file.read_bytes())
    elif path.is_file():
        _add(digest, path.name, path.read_bytes())
    else:
        return None
    return digest.hexdigest()[:DIGITS]


def _add(digest: hashlib._Hash, name: str, data: bytes) -> None:
    encoded = name.encode("utf-8")
    digest.update(len(encoded).to_bytes(8, "little") + encoded)
    digest.update(len(data).to_bytes(8, "little") + data)
