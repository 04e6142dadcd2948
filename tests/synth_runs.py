"""Finished runs written straight through the store API (no training), for comparison tests.

`fake_run` writes one finished run with a given val / test IoU and a short history;
`must_show_store` builds the store the issue's "Must show" asks for.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from seglab.settings.presets import preset
from seglab.store.run_store import RunStore

STUDY_GROUP = "study-20260101-000000-aaaa"
OTHER_GROUP = "study-20260102-000000-bbbb"

# (arch, loss) → per-seed (val IoU, test IoU); unet + focal has the best mean val IoU, while
# segnet + bce has the best mean *test* IoU: choosing on test would crown another cell.
STUDY_SCORES: dict[tuple[str, str], dict[int, tuple[float, float]]] = {
    ("unet", "bce"): {0: (0.70, 0.71), 1: (0.72, 0.70)},
    ("unet", "focal"): {0: (0.80, 0.74), 1: (0.78, 0.73)},
    ("segnet", "bce"): {0: (0.75, 0.90), 1: (0.73, 0.88)},
    ("segnet", "focal"): {0: (0.60, 0.61), 1: (0.62, 0.60)},
}


def fake_run(
    store: RunStore,
    *,
    group: str | None,
    val: float,
    test: float,
    epochs: int = 3,
    created: float | None = None,
    history: list[dict[str, Any]] | None = None,
    status: str = "done",
    **overrides: Any,
) -> str:
    """One run (finished unless ``status`` says otherwise) with best-checkpoint ``val`` IoU and
    ``test`` IoU; the status moves queued → running → ``status`` through the store's one writer."""
    config = preset("smoke", epochs=epochs, **overrides)
    run_id = store.create_run(config, group=group)
    files = store.files(run_id)
    if history is None:
        history = [
            {
                "epoch": e,
                "train_loss": 1.0 / e,
                "val_loss": 1.1 / e,
                "val_iou": val * e / epochs,
                "last_val_iou": val * e / epochs,
            }
            for e in range(1, epochs + 1)
        ]
    files.write_history(history)
    fields: dict[str, Any] = {
        "epochs_done": epochs,
        "best_epoch": epochs,
        "metrics": {"val_iou": val, "test_iou": test, "last_val_iou": val},
    }
    if created is not None:
        fields["created"] = created
    files.set_status("running")
    files.set_status(status, **fields)
    return run_id


def must_show_store(home: str | Path) -> RunStore:
    """A 2 × 2 study with 2 seeds, the same two models again with other epochs (another study),
    and one run on another dataset (no study)."""
    store = RunStore(home)
    t0 = time.time() - 1000
    for (arch, loss), seeds in STUDY_SCORES.items():
        for seed, (val, test) in seeds.items():
            fake_run(
                store, group=STUDY_GROUP, val=val, test=test, arch=arch, loss=loss, seed=seed, created=t0
            )
    for arch in ("unet", "segnet"):
        fake_run(
            store, group=OTHER_GROUP, val=0.9, test=0.95, arch=arch, loss="bce", epochs=5, created=t0 - 500
        )
    fake_run(
        store, group=None, val=0.99, test=0.99, arch="unet", loss="bce", dataset="cells", created=t0 + 10
    )
    return store
