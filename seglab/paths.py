"""Where SegLab keeps its files: the one rule for the experiment home, and how a file in it is
replaced.

Every stage that writes (the store, the job queue, uploads, the data cache) asks ``seglab_home``,
so the rule lives here once: an explicit folder wins, else ``$SEGLAB_HOME``, else ``./runs``.
Small files that readers must never see half written (run summaries, class limits, the teacher
passphrase) go through :func:`atomic_write_text`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: The home's folder of the datasets students saved on the Data page (`seglab.data.uploads`):
#: not a run, so the store never lists it and no run may take its name.
UPLOADS_FOLDER = "datasets"


def seglab_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The experiment home: ``home`` if given, else ``$SEGLAB_HOME``, else ``./runs``."""
    if home is not None:
        return Path(home)
    return Path(os.environ.get("SEGLAB_HOME") or "runs")


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a mix: a
    hidden temporary file next to it, flushed to disk, then renamed over it. ``mode``: the
    file's permission bits (the temporary file is created readable by its owner only)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
