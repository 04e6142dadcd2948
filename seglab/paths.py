"""Where SegLab keeps its files: the one rule for the experiment home.

Every stage that writes (the store, the job queue, uploads, the data cache) asks ``seglab_home``,
so the rule lives here once: an explicit folder wins, else ``$SEGLAB_HOME``, else ``./runs``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The home's folder of the datasets students saved on the Data page (`seglab.data.uploads`):
#: not a run, so the store never lists it and no run may take its name.
UPLOADS_FOLDER = "datasets"


def seglab_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The experiment home: ``home`` if given, else ``$SEGLAB_HOME``, else ``./runs``."""
    if home is not None:
        return Path(home)
    return Path(os.environ.get("SEGLAB_HOME") or "runs")
