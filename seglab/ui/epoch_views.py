"""Watching predictions grow: the Train page's live strip, and on Results an epoch scrubber
with a play button plus a per-image error analysis.

Data: `seglab.store.run_store.RunStore.epoch_predictions` (a few fixed validation images predicted after
every epoch, `seglab.store.epoch_predictions`) and `RunStore.predictions` (test images kept at the
end, `seglab.analysis.error_analysis`). Each row of tiles is drawn as one image (fast, works offline).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from seglab.analysis import error_analysis as ea
from seglab.errors import SegLabError
from seglab.palette import FN_COLOR, FP_COLOR, TP_COLOR, colorize_mask, error_overlay, hex_to_rgb, overlay
from seglab.store.epoch_predictions import stored_epochs
from seglab.store.run_store import PREDICTIONS, RunStore
from seglab.ui.images import encode_png
from seglab.ui.live_status import live_tick

PLAY_SECONDS = 0.8  # one epoch per tick while the scrubber plays
TILE = 96  # on-screen side of one tile, pixels
GAP = 4  # white pixels between tiles
MAX_RUNS = 4  # runs side by side
MODES = ("TP / FP / FN", "probability")
LEGEND = (
    f"<span style='color:{TP_COLOR}'>■</span> true positive &nbsp; "
    f"<span style='color:{FP_COLOR}'>■</span> false positive &nbsp; "
    f"<span style='color:{FN_COLOR}'>■</span> false negative &nbsp; ■ correct background"
)


# ---- tiles ------------------------------------------------------------------------------
def prediction_tile(
    pred: np.ndarray, target: np.ndarray, kind: str, mode: str = MODES[0], threshold: float = 0.5
) -> np.ndarray:
    """One stored prediction (H, W) as RGB uint8 (H, W, 3).

    Binary (``kind == "probability"``, uint8 = 255·p): ``"TP / FP / FN"`` colours the mask
    p ≥ ``threshold`` against the target; ``"probability"`` shows p as grey (white = sure
    foreground). Multi-class (``kind == "labels"``): ``"TP / FP / FN"`` shows right pixels in the
    TP colour and wrong ones in the FP colour; ``"probability"`` shows the predicted classes.
    """
    pred = np.asarray(pred)
    if kind == "probability":
        if mode == MODES[1]:
            return np.repeat(pred.astype(np.uint8)[..., None], 3, axis=-1)
        return error_overlay(pred.astype(np.float32) / 255.0 >= threshold, target)
    if mode == MODES[1]:
        return colorize_mask(pred)
    right = np.asarray(hex_to_rgb(TP_COLOR), dtype=np.uint8)
    wrong = np.asarray(hex_to_rgb(FP_COLOR), dtype=np.uint8)
    return np.where((pred == np.asarray(target))[..., None], right, wrong).astype(np.uint8)


def strip(tiles: list[np.ndarray], side: int = TILE, gap: int = GAP) -> np.ndarray:
    """Tiles (H, W, 3) enlarged (nearest neighbour) to about ``side`` pixels and laid side by
    side with white gaps: one RGB uint8 image."""
    out = []
    for i, tile in enumerate(tiles):
        factor = max(1, round(side / max(1, tile.shape[0])))
        out.append(tile.repeat(factor, axis=0).repeat(factor, axis=1))
        if i < len(tiles) - 1:
            out.append(np.full((out[-1].shape[0], gap, 3), 255, dtype=np.uint8))
    return np.concatenate(out, axis=1)


def truth_strip(data: dict[str, Any]) -> np.ndarray:
    """The watched images with their ground truth laid over them."""
    images = data["images"].transpose(0, 2, 3, 1)
    return strip([overlay(im, t, alpha=0.45) for im, t in zip(images, data["targets"], strict=True)])


def epoch_strip(data: dict[str, Any], row: int, mode: str, threshold: float = 0.5) -> np.ndarray:
    """Predictions of row ``row`` of ``data["pred"]`` (one epoch) as one strip."""
    return strip(
        [
            prediction_tile(p, t, data["kind"], mode, threshold)
            for p, t in zip(data["pred"][row], data["targets"], strict=True)
        ]
    )


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


# ---- cached reads -----------------------------------------------------------------------
def _stamp(path: Path, name: str) -> float:
    try:
        return os.stat(path / name).st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=64)
def _epoch_data(home: str, run_id: str, stamp: tuple) -> dict[str, Any] | None:
    return RunStore(home).epoch_predictions(run_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _predictions(home: str, run_id: str, stamp: float) -> dict[str, np.ndarray]:
    return RunStore(home).predictions(run_id)


def load_epoch_data(store: RunStore, run_id: str) -> dict[str, Any] | None:
    """``store.epoch_predictions(run_id)``, cached until the run stores another epoch."""
    path = store.run_dir(run_id)
    return _epoch_data(str(store.home), run_id, (tuple(stored_epochs(path)), _stamp(path, "history.jsonl")))


def load_predictions(store: RunStore, run_id: str) -> dict[str, np.ndarray]:
    """``store.predictions(run_id)``, cached until the file changes."""
    return _predictions(str(store.home), run_id, _stamp(store.run_dir(run_id), "predictions.npz"))


def run_names(store: RunStore, run_ids: list[str]) -> dict[str, str]:
    """A short title per run: ``arch + loss · seed s``."""
    names = {}
    for run_id in run_ids:
        try:
            config = store.config(run_id)
        except SegLabError:
            names[run_id] = run_id
            continue
        names[run_id] = f"{config.arch} + {config.loss} · seed {config.seed}"
    titles = list(names.values())
    return {r: t if titles.count(t) == 1 else f"{t} ({r[-4:]})" for r, t in names.items()}


# ---- Train page: the running job --------------------------------------------------------
def live_predictions(run_id: str | None) -> None:
    """The newest epoch's predictions on the watched validation images of a running job."""
    if not run_id:
        return
    store = RunStore()
    # at most one new set of strips per refresh period for the whole class, not one per epoch
    # (and at once when the first epoch's strips appear or the run's are gone)
    stored = bool(stored_epochs(store.run_dir(run_id)))
    pictures = _live_pictures(str(store.home), run_id, (stored, live_tick()))
    if pictures is None:
        st.caption("The model's predictions on a few validation images appear after the first epoch.")
        return
    for url, caption in pictures:
        st.image(url, caption=caption)


@functools.lru_cache(maxsize=32)
def _live_pictures(home: str, run_id: str, stamp: tuple[bool, int]) -> tuple[tuple[bytes, str], ...] | None:
    """(PNG, caption) of each strip :func:`live_predictions` shows, made once per
    ``stamp`` (whether any epoch is stored, and the refresh period) and shared by every session
    watching the job (the Train page redraws every two seconds in each student's browser;
    issue 22). Bytes, not data URLs: Streamlit serves them as media files under a URL that
    changes only with the picture, so a redraw resends a URL (the browser keeps the picture),
    where data URLs resent 200 KB to every watching student every two seconds."""
    try:
        data = RunStore(home).epoch_predictions(run_id, latest_only=True)
    except SegLabError:
        data = None
    if data is None:
        return None
    epoch = data["epochs"][-1]
    strips = [(truth_strip(data), "Validation images with their ground truth")]
    if data["kind"] == "probability":
        strips.append(
            (
                epoch_strip(data, 0, MODES[1]),
                f"Predicted foreground probability after epoch {epoch} (white = sure, black = no)",
            )
        )
    strips.append(
        (
            epoch_strip(data, 0, MODES[0]),
            f"Errors after epoch {epoch}: mean IoU of these images {_nanmean(data['iou'][0]):.2f}",
        )
    )
    return tuple((encode_png(strip, 0), caption) for strip, caption in strips)


# ---- Results: epoch scrubber ------------------------------------------------------------
def epoch_scrubber(store: RunStore, run_ids: list[str]) -> None:
    """Side by side across runs: the watched images after the chosen epoch; Play animates."""
    names = run_names(store, run_ids)
    data = {r: load_epoch_data(store, r) for r in run_ids}
    have = {r: d for r, d in data.items() if d is not None}
    missing = [names[r] for r in run_ids if data[r] is None]
    if missing:
        st.caption(
            "Not stored for " + ", ".join(missing) + " (runs trained before SegLab kept predictions per "
            "epoch, or imported from such a SegLab)."
        )
    if not have:
        st.info("None of these runs stored predictions per epoch.")
        return
    max_epoch = max(d["epochs"][-1] for d in have.values())
    left, right = st.columns([1, 3])
    playing = left.toggle(
        ":material/play_arrow: Play", key="ev_play", disabled=max_epoch < 2, help="Step through the epochs."
    )
    mode = right.radio("Show", MODES, horizontal=True, key="ev_mode")
    view = st.fragment(_scrubber_view, run_every=PLAY_SECONDS if playing and max_epoch > 1 else None)
    view(have, names, max_epoch, mode, playing)


def _scrubber_view(
    have: dict[str, dict[str, Any]], names: dict[str, str], max_epoch: int, mode: str, playing: bool
) -> None:
    key = "ev_epoch"
    current = int(st.session_state.get(key, max_epoch))
    if playing:
        current = current % max_epoch + 1  # one epoch further each tick, then round again
    st.session_state[key] = min(max(1, current), max_epoch)
    if max_epoch > 1:
        epoch = st.slider("Epoch", 1, max_epoch, key=key)
    else:
        epoch = 1
        st.caption("These runs trained for one epoch.")
    if mode == MODES[0]:
        st.markdown(LEGEND, unsafe_allow_html=True)
        if any(d["kind"] == "labels" for d in have.values()):
            st.caption("Multi-class runs: green = the right class, red = a wrong class.")
    reference = next(iter(have.values()))
    st.image(truth_strip(reference), caption="Validation images with their ground truth", output_format="PNG")
    for run_id, data in have.items():
        if (
            not np.array_equal(data["indices"], reference["indices"])
            or data["images"].shape != reference["images"].shape
        ):
            st.image(truth_strip(data), caption=f"{names[run_id]}: other images", output_format="PNG")
        epochs = data["epochs"]
        row = max(i for i, e in enumerate(epochs) if e <= epoch) if epoch >= epochs[0] else 0
        shown = epochs[row]
        note = f" (stopped at epoch {shown})" if shown < epoch else ""
        st.image(
            epoch_strip(data, row, mode),
            caption=f"{names[run_id]} · epoch {shown}{note} · mean IoU of these images "
            f"{_nanmean(data['iou'][row]):.2f}",
            output_format="PNG",
        )


# ---- Results: error analysis ------------------------------------------------------------
def error_analysis(store: RunStore, run_ids: list[str]) -> None:
    """Per-image IoU on the kept test images, worst first, with a threshold slider."""
    names = run_names(store, run_ids)
    predictions = {r: load_predictions(store, r) for r in run_ids}
    predictions = {r: p for r, p in predictions.items() if "test_masks" in p}
    if not predictions:
        st.info("Error analysis needs finished runs (their test predictions are kept at the end).")
        return
    binary = all(ea.num_classes_of(p) == 2 for p in predictions.values())
    threshold = None
    if binary and not all("test_probs" in p for p in predictions.values()):
        st.caption(
            "Some of these runs kept their masks without the probabilities (the reference study, to "
            "stay small), so every mask here is the one at threshold 0.5."
        )
    elif binary:
        threshold = st.slider(
            "Threshold on the foreground probability",
            0.05,
            0.95,
            0.5,
            0.05,
            key="ev_threshold",
            help="A pixel counts as foreground when the model's probability is at least this. "
            "Lower: more foreground, fewer misses, more false alarms.",
        )
    else:
        st.caption("Multi-class runs: every pixel takes its most probable class, so there is no threshold.")
    table, skipped = ea.per_image_table(predictions, names, threshold)
    if skipped:
        st.caption("Left out (other test images): " + ", ".join(names[r] for r in skipped))
    kept = [r for r in predictions if r not in skipped]
    if binary and threshold != 0.5:
        st.caption(
            "Mean per-image IoU at this threshold (at 0.5): "
            + "; ".join(
                f"{names[r]} {ea.mean_iou(predictions[r], threshold):.3f} ({ea.mean_iou(predictions[r], 0.5):.3f})"
                for r in kept
            )
        )
    st.markdown(f"**Per-image IoU on {len(table)} test images, worst first**")
    # Numbered from 1, as the Predicted masks tab numbers the same test images.
    st.dataframe(
        table.assign(image=table["image"] + 1),
        hide_index=True,
        key="ev_table",
        column_config={
            c: st.column_config.NumberColumn(format="%.3f") for c in table.columns if c != "image"
        },
        height=min(300, 38 + 35 * len(table)),
    )
    if table.empty:
        return
    n_show = st.slider("Worst images shown", 1, min(8, len(table)), min(3, len(table)), key="ev_n_worst")
    st.markdown(LEGEND, unsafe_allow_html=True)
    reference = predictions[kept[0]]
    header = st.columns(2 + len(kept))
    for col, text in zip(header, ["Image", "Ground truth", *[names[r] for r in kept]], strict=True):
        col.markdown(f"**{text}**")
    labels = {r: ea.labels_at(predictions[r], threshold) for r in kept}
    for record in table.head(n_show).to_dict("records"):
        i = int(record["image"])
        tiles = [
            (reference["test_images"][i], f"test image {i + 1}"),
            (colorize_mask(reference["test_masks"][i]), "ground truth"),
        ]
        for run_id in kept:
            target = predictions[run_id]["test_masks"][i]
            if predictions[run_id].get("test_probs") is not None:
                tile = error_overlay(labels[run_id][i], target)
            else:
                right = labels[run_id][i] == target
                tile = np.where(right[..., None], colorize_mask(labels[run_id][i]), hex_to_rgb(FP_COLOR))
            tiles.append((tile.astype(np.uint8), f"IoU {record[names[run_id]]:.2f}"))
        for col, (image, caption) in zip(st.columns(len(tiles)), tiles, strict=True):
            col.image(
                strip([np.asarray(image)], side=160), caption=caption, width="stretch", output_format="PNG"
            )


# ---- Results: the section -----------------------------------------------------------------
def results_section(store: RunStore, run_ids: list[str]) -> None:
    """Both views for up to `MAX_RUNS` of the given runs, each behind a toggle (off: nothing loaded)."""
    st.subheader("Look closer")
    run_ids = list(dict.fromkeys(run_ids))
    if len(run_ids) > MAX_RUNS:
        st.caption(
            f"Showing {MAX_RUNS} of {len(run_ids)} runs (those that kept what the view needs first); "
            "select runs above to choose others."
        )
    if not run_ids:
        st.info("No runs to look at.")
        return
    if st.toggle(":material/movie: Epoch by epoch: watch the predictions grow", key="ev_show_epochs"):
        epoch_scrubber(store, keeping_first(run_ids, lambda r: bool(stored_epochs(store.files(r).path))))
    if st.toggle(":material/troubleshoot: Error analysis: the worst test images", key="ev_show_errors"):
        error_analysis(store, keeping_first(run_ids, lambda r: store.files(r).file(PREDICTIONS).is_file()))


def keeping_first(run_ids: list[str], keeps: Any) -> list[str]:
    """Up to `MAX_RUNS` runs, those for which ``keeps(run_id)`` holds first (in their order):
    in the reference study only one seed per cell kept its masks and per-epoch predictions."""
    with_files = [r for r in run_ids if keeps(r)]
    return [*with_files, *[r for r in run_ids if r not in with_files]][:MAX_RUNS]
