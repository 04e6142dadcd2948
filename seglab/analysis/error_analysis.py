"""Error analysis: which test images each run gets most wrong, and what the threshold changes.

A mean IoU hides *where* a model fails. Per-image IoU, worst first, points at the images
to look at (small objects, touching shapes, empty images). Everything here works on the
arrays of ``RunStore.predictions`` (``predictions.npz``): ``test_images`` uint8 (N, H, W, 3),
``test_masks`` (N, H, W), ``test_preds`` (N, H, W) and, for binary runs, ``test_probs``
float16 (N, H, W), the foreground probability.

Threshold: a binary model outputs p = σ(z) per pixel; the engine calls a pixel foreground
when p ≥ 0.5. Moving the threshold t trades false positives (lower t: more foreground)
against false negatives (higher t), so IoU per image changes with t.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seglab.metrics.scores import per_image_iou


def threshold_labels(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Binary label maps (N, H, W) int64: 1 where the foreground probability p ≥ ``threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    return (np.asarray(probs, dtype=np.float32) >= np.float32(threshold)).astype(np.int64)


def labels_at(arrays: dict[str, np.ndarray], threshold: float | None, split: str = "test") -> np.ndarray:
    """A run's predicted label maps on ``split``: thresholded probabilities when the run kept
    them and ``threshold`` is given, else its stored labels (argmax / p ≥ 0.5)."""
    if threshold is not None and f"{split}_probs" in arrays:
        return threshold_labels(arrays[f"{split}_probs"], threshold)
    return np.asarray(arrays[f"{split}_preds"]).astype(np.int64)


def num_classes_of(arrays: dict[str, np.ndarray]) -> int:
    """Number of classes of a run's predictions (from the stored class names)."""
    if "class_names" in arrays:
        return max(2, len(arrays["class_names"]))
    return max(2, int(np.asarray(arrays["test_masks"]).max()) + 1)


def image_ious(
    arrays: dict[str, np.ndarray], threshold: float | None = None, split: str = "test"
) -> np.ndarray:
    """IoU of each stored image, float64 (N,): foreground IoU (binary) or mean IoU over the
    classes present (multi-class), from `seglab.metrics.scores.per_image_iou`. An image with nothing to
    find and nothing predicted scores 1 (``empty="one"``): it was answered perfectly."""
    labels = labels_at(arrays, threshold, split)
    masks = np.asarray(arrays[f"{split}_masks"]).astype(np.int64)
    return per_image_iou(labels, masks, num_classes_of(arrays), empty="one").numpy()


def same_images(a: dict[str, np.ndarray], b: dict[str, np.ndarray], split: str = "test") -> bool:
    """True when two runs kept the same ``split`` images and masks (same data settings)."""
    keys = (f"{split}_images", f"{split}_masks")
    return all(k in a and k in b and a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in keys)


def per_image_table(
    predictions: dict[str, dict[str, np.ndarray]],
    names: dict[str, str],
    threshold: float | None = None,
    split: str = "test",
) -> tuple[pd.DataFrame, list[str]]:
    """Per-image IoU of several runs on the same images, worst first.

    ``predictions`` maps run id → its ``RunStore.predictions`` arrays; ``names`` run id → column
    title. The first run with ``split`` images is the reference; runs whose images differ
    (other data settings) are left out and returned as the second value. Columns: ``image``
    (position in the stored split), one IoU column per run, ``mean`` (over the runs). Rows are
    sorted by ``mean`` ascending, so the images the runs get most wrong come first.
    """
    usable = {r: a for r, a in predictions.items() if f"{split}_masks" in a}
    if not usable:
        return pd.DataFrame(columns=["image", "mean"]), list(predictions)
    reference = next(iter(usable.values()))
    kept = [r for r, a in usable.items() if same_images(reference, a, split)]
    skipped = [r for r in predictions if r not in kept]
    frame = pd.DataFrame({"image": np.arange(len(reference[f"{split}_masks"]))})
    for run_id in kept:
        frame[names.get(run_id, run_id)] = image_ious(usable[run_id], threshold, split)
    frame["mean"] = frame.drop(columns="image").mean(axis=1)
    frame = frame.sort_values(["mean", "image"], kind="stable").reset_index(drop=True)
    return frame, skipped


def mean_iou(arrays: dict[str, Any], threshold: float | None = None, split: str = "test") -> float:
    """Mean of the per-image IoU over the stored images (not the pooled IoU of the test table)."""
    return float(np.mean(image_ious(arrays, threshold, split)))
