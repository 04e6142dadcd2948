"""Predictions per epoch: the model's masks on a fixed handful of validation images, every epoch.

Watching the output sharpen while a network trains is the heart of tools like TensorFlow
Playground. After each epoch the engine predicts ``EPOCH_IMAGES`` fixed validation images and
hands the result to its run writer, which keeps it here, in the run folder::

    epoch_predictions/
        images.npz   images uint8 (K, 3, H, W), targets uint8 (K, H, W), indices int64 (K,)
                     (positions in the dataset), kind ("probability" | "labels"), num_classes
        e0001.npz    pred uint8 (K, H, W) and iou float32 (K,) after epoch 1
        e0002.npz    ...

Which images: ``pick_positions`` spreads K positions evenly over the validation split. The
split depends only on the data settings (dataset, n, size, split seed, fractions), never on
the run's seed, architecture or loss, so every run of a study watches the same images.

What ``pred`` holds:

* binary data: the foreground probability p quantised to uint8, ``round(255 · p)``; read it
  back as ``pred / 255`` (error at most 1/510). A threshold t gives the mask ``pred/255 >= t``.
* multi-class data: the predicted class id per pixel (argmax), uint8. Probabilities of C
  classes would cost C times the space and the picture students watch is the label map.

Size: images larger than ``MAX_SIDE`` (64) are kept at every s-th pixel (s = ``stride_for``),
so H, W ≤ 64 and an epoch costs at most K · 64 · 64 = 32 KiB before compression (the
probabilities of a learning network barely compress): 0.29 MB measured for a quick-preset
run (10 epochs), at most 40 × 32 KiB + the images ≈ 1.4 MB for the study preset (128 px, 40 epochs). Every file is written atomically (temporary
file, then ``os.replace``), so the Train page can read while the worker writes.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import numpy as np

EPOCH_IMAGES = 8  # K: validation images watched per run
MAX_SIDE = 64  # stored side at most: tiles are shown about 100 px wide, so more buys nothing
FOLDER = "epoch_predictions"
FIXED = "images.npz"
_EPOCH_FILE = re.compile(r"^e(\d{4,})\.npz$")


def pick_positions(n_val: int, k: int = EPOCH_IMAGES) -> np.ndarray:
    """``min(k, n_val)`` distinct positions in a validation split of ``n_val`` images, spread evenly:
    position i = floor(i · n_val / k) for i = 0..k-1 (0, n/k, 2n/k, …). int64, increasing."""
    if n_val < 1:
        raise ValueError(f"the validation split is empty (n_val={n_val})")
    k = min(int(k), int(n_val))
    return (np.arange(k, dtype=np.int64) * n_val) // k


def stride_for(height: int, width: int, max_side: int = MAX_SIDE) -> int:
    """Integer step s that brings the longer side to at most ``max_side``: ceil(max(H, W) / max_side).
    Stored arrays keep every s-th row and column (nearest neighbour, so labels stay labels)."""
    return max(1, -(-max(int(height), int(width)) // int(max_side)))


def compact(preview: dict[str, np.ndarray], stride: int = 1) -> dict[str, np.ndarray]:
    """The per-epoch arrays to keep from ``seglab.training.engine.predict_preview``'s output:
    ``pred`` uint8 (K, H/s, W/s) (probability × 255 when there is ``probs``, else class ids)
    and ``iou`` float32 (K,) (measured at full resolution by the engine)."""
    if "probs" in preview:
        probs = np.asarray(preview["probs"], dtype=np.float32)
        pred = np.round(np.clip(probs, 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        pred = np.asarray(preview["preds"]).astype(np.uint8)
    pred = np.ascontiguousarray(pred[:, ::stride, ::stride])
    return {"pred": pred, "iou": np.asarray(preview["iou"], dtype=np.float32)}


def _save_npz(path: Path, arrays: dict[str, Any]) -> None:
    """``np.savez_compressed`` to a hidden temporary file next to ``path``, then rename."""
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(3)}.tmp.npz")
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


def write_epoch(
    run_dir: str | os.PathLike[str],
    epoch: int,
    preview: dict[str, np.ndarray],
    indices: np.ndarray,
    num_classes: int,
) -> Path:
    """Keep one epoch's predictions (and, the first time, the images, targets and indices).

    ``preview`` is ``seglab.training.engine.predict_preview``'s output for the watched images;
    ``indices`` their positions in the dataset. Returns the epoch's file.
    """
    folder = Path(run_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    masks = np.asarray(preview["masks"])
    s = stride_for(*masks.shape[1:])
    fixed = folder / FIXED
    if not fixed.is_file():
        _save_npz(
            fixed,
            {
                "images": np.ascontiguousarray(
                    np.asarray(preview["images"])[:, ::s, ::s].transpose(0, 3, 1, 2)
                ),
                "targets": np.ascontiguousarray(masks[:, ::s, ::s]).astype(np.uint8),
                "indices": np.asarray(indices, dtype=np.int64),
                "kind": np.asarray("probability" if "probs" in preview else "labels"),
                "num_classes": np.asarray(int(num_classes), dtype=np.int64),
            },
        )
    path = folder / f"e{int(epoch):04d}.npz"
    _save_npz(path, compact(preview, s))
    return path


def stored_epochs(run_dir: str | os.PathLike[str]) -> list[int]:
    """The epochs with a prediction file, increasing."""
    folder = Path(run_dir) / FOLDER
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(m.group(1)) for m in map(_EPOCH_FILE.match, names) if m)


def read(
    run_dir: str | os.PathLike[str], last_epoch: int | None = None, *, latest_only: bool = False
) -> dict[str, Any] | None:
    """Everything kept for a run, or None when it has none (an older or imported run, or a
    run still in its first epoch).

    Returns ``epochs`` (list of int, increasing), ``images`` uint8 (K, 3, H, W) (H, W: the
    stored size, at most ``MAX_SIDE``), ``targets``
    uint8 (K, H, W), ``pred`` uint8 (E, K, H, W) (see the module docstring), ``iou`` float32
    (E, K), ``indices`` int64 (K,), ``kind`` and ``num_classes``. ``last_epoch`` drops files
    of epochs after it (left over when a run resumed from an earlier checkpoint);
    ``latest_only`` keeps just the newest epoch (E = 1; what a live view needs).
    """
    folder = Path(run_dir) / FOLDER
    epochs = [e for e in stored_epochs(run_dir) if last_epoch is None or e <= last_epoch]
    if not epochs or not (folder / FIXED).is_file():
        return None
    if latest_only:
        epochs = epochs[-1:]
    with np.load(folder / FIXED, allow_pickle=False) as npz:
        out: dict[str, Any] = {
            "images": npz["images"],
            "targets": npz["targets"],
            "indices": npz["indices"],
            "kind": str(npz["kind"]),
            "num_classes": int(npz["num_classes"]),
        }
    preds, ious = [], []
    for epoch in epochs:
        with np.load(folder / f"e{epoch:04d}.npz", allow_pickle=False) as npz:
            preds.append(npz["pred"])
            ious.append(npz["iou"])
    out["epochs"] = epochs
    out["pred"] = np.stack(preds)
    out["iou"] = np.stack(ious)
    return out


def probabilities(data: dict[str, Any]) -> np.ndarray:
    """The stored binary predictions as float32 probabilities in [0, 1] (``pred / 255``)."""
    if data["kind"] != "probability":
        raise ValueError("only binary runs keep probabilities; multi-class runs keep class ids")
    return data["pred"].astype(np.float32) / 255.0


def stored_bytes(run_dir: str | os.PathLike[str]) -> int:
    """Bytes on disk of a run's per-epoch predictions (0 if none)."""
    folder = Path(run_dir) / FOLDER
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
