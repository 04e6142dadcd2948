"""What do predictions per epoch cost? Time and bytes on a quick-preset run.

Usage::

    python benchmarks/bench_epoch_predictions.py [--repeats 2] [--arch unet] [--loss bce_dice]
        [--epochs 10] [--size 64]

Trains the same config ``repeats`` times with per-epoch predictions and ``repeats`` times
without (alternating, so machine load hits both alike) and prints:

* the direct cost: seconds from the end of ``append_history`` to the end of
  ``save_epoch_predictions`` (the predict + write the engine inserts), summed over epochs,
  as a share of the run's time (goal: at most 5 %);
* best-of-``repeats`` run time with and without, and their ratio (noisy on a shared machine);
* the bytes of ``epoch_predictions/`` (goal: at most 2 MB per run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seglab.settings.presets import preset  # noqa: E402
from seglab.store.epoch_predictions import stored_bytes  # noqa: E402
from seglab.store.run_store import RunFiles  # noqa: E402
from seglab.training import engine  # noqa: E402

BYTES_GOAL = 2_000_000
SHARE_GOAL = 0.05


class TimedFiles(RunFiles):
    """The usual run folder writer, timing the per-epoch prediction step."""

    spent = 0.0
    _mark = 0.0

    def append_history(self, record: dict[str, Any]) -> None:
        super().append_history(record)
        self._mark = time.perf_counter()

    def save_epoch_predictions(self, *args: Any, **kwargs: Any) -> Path:
        path = super().save_epoch_predictions(*args, **kwargs)
        self.spent += time.perf_counter() - self._mark
        return path


class WithoutEpochPredictions:
    """A writer like RunFiles but without ``save_epoch_predictions`` (the engine then skips it)."""

    def __init__(self, path: Path) -> None:
        self._files = RunFiles(path)

    def __getattr__(self, name: str) -> Any:
        if name == "save_epoch_predictions":
            raise AttributeError(name)
        return getattr(self._files, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--arch", default="unet")
    ap.add_argument("--loss", default="bce_dice")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--size", type=int, default=None)
    args = ap.parse_args()
    overrides: dict[str, Any] = {"arch": args.arch, "loss": args.loss}
    if args.epochs:
        overrides["epochs"] = args.epochs
    if args.size:
        overrides["size"] = args.size
    config = preset("quick", **overrides)
    print(f"config: {config.label()}, {config.epochs} epochs, {config.n} images of {config.size}px")
    with_times, without_times, shares, sizes = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            files = TimedFiles(Path(tmp) / f"with{r}")
            result = engine.train(config, writer=files)
            assert result.ok, result.message
            with_times.append(result.seconds)
            shares.append(files.spent / result.seconds)
            sizes.append(stored_bytes(files.path))
            print(
                f"  with:    {result.seconds:6.2f} s, predict+write {files.spent:.3f} s "
                f"({100 * shares[-1]:.2f} %), {sizes[-1]} bytes"
            )
            result = engine.train(config, writer=WithoutEpochPredictions(Path(tmp) / f"without{r}"))
            assert result.ok, result.message
            without_times.append(result.seconds)
            print(f"  without: {result.seconds:6.2f} s")
    best_with, best_without = min(with_times), min(without_times)
    print(
        f"direct cost: {100 * max(shares):.2f} % of the run (goal <= {100 * SHARE_GOAL:.0f} %); "
        f"best run time with/without: {best_with:.2f} / {best_without:.2f} s "
        f"(ratio {best_with / best_without:.3f}); "
        f"stored: {max(sizes) / 1e6:.3f} MB (goal <= {BYTES_GOAL / 1e6:.0f} MB)"
    )


if __name__ == "__main__":
    main()
