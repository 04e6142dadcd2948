"""The reference study shipped in ``assets/``: saved results a class can compare from minute one.

``assets/reference_study.zip`` is the quick study (4 architectures × 4 losses × 3 seeds on the
CPU), exported by ``python -m seglab export --no-weights``: histories, summaries and predicted
masks, no weights. Its runs belong to the study `REFERENCE_GROUP`, so once loaded they form one
comparison of their own, never mixed with runs the class trains, and can be deleted together.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from seglab.errors import SegLabError
from seglab.settings.classroom import Actor, Permission, require

REFERENCE_ZIP = Path(__file__).resolve().parents[2] / "assets" / "reference_study.zip"
REFERENCE_GROUP = "reference-quick-3-seeds"
REFERENCE_NAME = "Reference study: quick preset, 4 archs × 4 losses × 3 seeds (trained on a CPU)"

# The imbalance study (issue 26): U-Net × 5 losses × foreground shares (2 %, 1 %, 5 %, 20 %) × 5 seeds, each seed on its
# own draw of the data; made by benchmarks/make_imbalance_study.py, loaded like the first one.
IMBALANCE_ZIP = REFERENCE_ZIP.with_name("imbalance_study.zip")
IMBALANCE_GROUP = "reference-imbalance-5-seeds"
IMBALANCE_NAME = "Imbalance study: quick preset, U-Net × 5 losses × foreground shares × 5 seeds (CPU)"


def reference_available(path: str | os.PathLike[str] = REFERENCE_ZIP) -> bool:
    return Path(path).is_file()


def reference_run_ids(home: str | os.PathLike[str] | None = None, group: str = REFERENCE_GROUP) -> list[str]:
    """Ids of the reference study's runs (or of the shipped study ``group``) already in the store."""
    from seglab.store.run_store import RunStore

    return [r.id for r in RunStore(home).list_runs() if r.group == group]


def load_reference_study(
    home: str | os.PathLike[str] | None = None, path: str | os.PathLike[str] = REFERENCE_ZIP
) -> list[str]:
    """Import the reference study into the store (runs already there are skipped); returns
    the ids added."""
    import warnings

    from seglab.store.run_store import RunStore, StoreWarning

    if not reference_available(path):
        raise SegLabError(f"the reference study {path} is missing from this installation.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreWarning)  # runs already loaded are skipped on purpose
        return RunStore(home).import_runs(path)


def delete_reference_study(
    home: str | os.PathLike[str] | None = None, group: str = REFERENCE_GROUP, *, actor: Actor | None = None
) -> int:
    """Remove every run of the reference study (or of the shipped study ``group``); returns how
    many (teacher only in classroom mode)."""
    from seglab.store.run_store import RunStore

    require(actor, Permission.DELETE)
    store = RunStore(home)
    ids = reference_run_ids(home, group)
    for run_id in ids:
        store.delete_run(run_id, actor=actor)
    return len(ids)


def reference_summaries(path: str | os.PathLike[str] = REFERENCE_ZIP) -> list[dict]:
    """The summary.json of every run in the zip (for checks and the README table)."""
    with zipfile.ZipFile(path) as zf:
        return [json.loads(zf.read(n)) for n in zf.namelist() if n.endswith("/summary.json")]
