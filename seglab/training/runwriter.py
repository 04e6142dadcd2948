"""What the engine writes a run through: the ``RunWriter`` interface and the run-folder writer.

The engine itself touches no files. It reports to a run writer: ``init`` / ``write_config``
at the start, ``update_summary`` as the status and metrics change, ``append_history`` after
each epoch (and ``save_epoch_predictions``, if the writer has it), ``save_checkpoint`` for
``best`` / ``last``, ``save_predictions`` at the end (and
``load_checkpoint`` / ``write_history`` to resume). ``folder_writer(run_dir)`` gives the usual
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
    """The methods the engine calls to record a run (see `seglab.store.run_store.RunFiles`)."""

    path: Path

    def file(self, name: str) -> Path: ...
    def init(self, config: TrainConfig, *, status: str = ..., group: str | None = ...) -> None: ...
    def write_config(self, config: TrainConfig) -> None: ...
    def update_summary(self, **fields: Any) -> dict[str, Any]: ...
    def append_history(self, record: dict[str, Any]) -> None: ...
    def write_history(self, records: Any) -> None: ...
    def checkpoint_path(self, which: str = ...) -> Path: ...
    def save_checkpoint(self, which: str, obj: Any) -> Path: ...
    def load_checkpoint(self, which: str = ..., map_location: Any = ...) -> Any: ...
    def save_predictions(self, arrays: dict[str, np.ndarray]) -> Path: ...
    # optional: the engine calls it after each epoch only when the writer has it
    def save_epoch_predictions(
        self, epoch: int, preview: dict[str, np.ndarray], indices: np.ndarray, num_classes: int
    ) -> Path: ...


def folder_writer(run_dir: str | os.PathLike[str]) -> RunWriter:
    """The writer of one run folder of the experiment store."""
    from seglab.store.run_store import RunFiles

    return RunFiles(run_dir)
