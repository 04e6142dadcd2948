"""One blocking, exclusive lock file for short critical sections between processes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block.

    Blocks until every other holder has left; the lock goes with the process if it dies.
    POSIX only (``fcntl``), imported here so that merely importing SegLab works elsewhere.
    """
    import fcntl

    fd = os.open(Path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
