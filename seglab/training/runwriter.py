"""What the engine writes a run through: the ``RunWriter`` interface and the run-folder writer.

The engine itself touches no files and knows no paths. It reports to a run writer:
``prepare`` at the start, ``set_status`` when the run's status changes (the store checks each
move against `seglab.status.TRANSITIONS`), ``update_summary`` as metrics change, ``append_history`` after
each epoch (and ``save_epoch_predictions``, if the writer has it), ``save_checkpoint`` for
``best`` / ``last``, ``save_predictions`` at the end (and
``has_checkpoint`` / ``load_checkpoint`` / ``write_history`` to resume, ``stored_weights``
for ``--init-from``). ``folder_writer(run_dir)`` gives the usual
one, `seglab.store.run_store.RunFiles`, which keeps a run folder of the experiment store; tests or other
front ends may pass their own object with the same methods to ``engine.train(writer=...)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from seglab.settings.config import TrainConfig


class RunWriter(Protocol):
    """The methods the engine calls to record a run (see `seglab.store.run_store.RunFiles`).

    Nothing here exposes the run's files: the writer decides where and how things are kept."""

    #: where the run is kept, in words (for messages and ``TrainResult.run_dir``)
    location: str

    def prepare(self, config: TrainConfig) -> None: ...
    def write_config(self, config: TrainConfig) -> None: ...
    def set_status(self, status: str, message: str = ..., **fields: Any) -> dict[str, Any]: ...
    def update_summary(self, **fields: Any) -> dict[str, Any]: ...
    def append_history(self, record: dict[str, Any]) -> None: ...
    def write_history(self, records: Any) -> None: ...
    def has_checkpoint(self, which: str = ...) -> bool: ...
    def save_checkpoint(self, which: str, obj: Any) -> Any: ...
    def load_checkpoint(self, which: str = ..., map_location: Any = ...) -> Any: ...
    def stored_weights(self, run_id: str) -> Path: ...
    def save_predictions(self, arrays: dict[str, np.ndarray]) -> Any: ...
    # optional: the engine calls it after each epoch only when the writer has it
    def save_epoch_predictions(
        self, epoch: int, preview: dict[str, np.ndarray], indices: np.ndarray, num_classes: int
    ) -> Any: ...


def folder_writer(run_dir: str | os.PathLike[str]) -> RunWriter:
    """The writer of one run folder of the experiment store."""
    from seglab.store.run_store import RunFiles

    return RunFiles(run_dir)
