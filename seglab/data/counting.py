"""How many image / mask pairs a folder or .zip holds, without loading the pictures.

The Train form uses it so that "Number of images" follows the chosen dataset: a 64-image
upload trains (and is reported) with n = 64, not a preset's 384.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from seglab.data.folder import extract_zip, pair_files
from seglab.errors import SegLabError


def count_pairs(path: str | Path) -> int | None:
    """The number of matched ``images/x`` + ``masks/x`` pairs in a folder or .zip; None when the
    path is neither, or cannot be read (the Data page explains why)."""
    path = Path(path).expanduser()
    try:
        if path.is_dir():
            return len(pair_files(path)[0].stems)
        if path.is_file() and path.suffix.lower() == ".zip":
            target = Path(tempfile.mkdtemp(prefix="seglab-count-"))
            try:
                extract_zip(path, target)
                return len(pair_files(target)[0].stems)
            finally:
                shutil.rmtree(target, ignore_errors=True)
    except (OSError, SegLabError):
        return None
    return None
