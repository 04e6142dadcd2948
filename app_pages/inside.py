"""Inside: what a trained model sees — feature maps of every stage, side outputs, its answer on
any image (yours too), and for deep-supervised U-Net++ what pruning costs and gains."""

import re
import threading

import numpy as np
import streamlit as st

from seglab import inspect as ins
from seglab.data import list_datasets, make_dataset
from seglab.data.images import SUPPORTED_SUFFIXES
from seglab.errors import SegLabError
from seglab.losses import loss_info
from seglab.models import model_info
from seglab.models.link_kinds import link_kind
from seglab.models.pruning import DEFAULT_TOLERANCE, prune_report, recommend_prune_level
from seglab.palette import colorize_mask, overlay
from seglab.paths import seglab_home
from seglab.settings.config import dataset_display_name
from seglab.store.run_store import RunStore
from seglab.teach import inside_text
from seglab.teach.architectures import human_count
from seglab.ui.chart_view import show_chart
from seglab.ui.common import URL, stop_page
from seglab.ui.images import cached_png
from seglab.units import plural
from seglab.viz.inside_charts import prune_chart

#: validation images offered as inputs (and measured for pruning)
VAL_LIMIT = 32
#: built-in samples offered per dataset
SAMPLES = 8


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def load_model(home: str, run_id: str, stamp: float | None):
    """The run's best model (eval mode, CPU) and a lock: hooks must not overlap between users."""
    return RunStore(home).load_model(run_id, "best"), threading.Lock()


@st.cache_resource(show_spinner="Rebuilding the run's validation images…", max_entries=8)
def validation_split(home: str, run_id: str):
    return ins.run_split(RunStore(home).config(run_id), "val", limit=VAL_LIMIT)


@st.cache_data(show_spinner=False, max_entries=8)
def builtin_images(name: str, size: int) -> np.ndarray:
    return make_dataset(name, size=size, n=SAMPLES, seed=0).images.numpy()


@st.cache_data(show_spinner="Running the image through every stage…", max_entries=32)
def stage_grids(home: str, run_id: str, stamp: float | None, image: np.ndarray, k: int, sides: bool):
    """Per stage: name, shape (C, h, w), strongest channel indices and the grid picture."""
    model, lock = load_model(home, run_id, stamp)
    with lock:
        return ins.stage_rows(model, image, k, side_outputs=sides)


@st.cache_data(show_spinner="Reading your picture…", max_entries=8)
def uploaded_picture(data: bytes, size: int, name: str) -> np.ndarray:
    """An upload read once (not on every slider move) by the loader's road."""
    return ins.image_from_bytes(data, size, name).numpy()


@st.cache_data(show_spinner=False, max_entries=32)
def prediction(home: str, run_id: str, stamp: float | None, image: np.ndarray) -> dict:
    model, lock = load_model(home, run_id, stamp)
    with lock:
        return ins.predict_image(model, image)


@st.cache_data(show_spinner="Timing every prune level…", max_entries=8)
def pruning(home: str, run_id: str, stamp: float | None):
    model, lock = load_model(home, run_id, stamp)
    with lock:
        return prune_report(model, validation_split(home, run_id), repeats=5)


def math_name(name: str) -> str:
    """U-Net++ node names are LaTeX (X^{0,2}); show them as maths, other names as code."""
    return f"${name}$" if "^" in name else f"`{name}`"


def math_text(text: str) -> str:
    """A stage note with its U-Net++ node names typeset as maths."""
    return re.sub(r"X\^\{\d+,\d+\}", lambda m: f"${m.group(0)}$", text)


def rgb(image: np.ndarray) -> np.ndarray:
    return (np.clip(image.transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)


st.title(":material/visibility: Inside a trained model")
st.markdown(
    "A segmentation network turns a picture into a mask in stages. Each stage produces a stack "
    "of **feature maps**: small images, one per channel, that light up where the stage found "
    "*its* pattern (an edge, a texture, a blob, later a whole object). Pick one of your trained "
    "runs and a picture, and look at what every stage computed."
)

home = str(seglab_home())
store = RunStore(home)
finished = [r for r in store.list_runs() if r.status == "done"]
runs = [r for r in finished if store.checkpoint_path(r.id).is_file()]
if not runs:
    st.info(
        (
            f"None of the {len(finished)} finished runs here has saved weights (runs imported "
            "without weights cannot be looked inside; the reference study keeps them for seed 0 of each cell). "
            if finished
            else "No finished run yet. "
        )
        + "Train a model on the **Train** page (the quick preset takes a minute)."
    )
    stop_page()

# ---------------------------------------------------------------------------------------
st.header("1 · A model and a picture")
pick_col, image_col = st.columns([1.4, 1], gap="large")
with pick_col:
    by_id = {r.id: r for r in runs}
    run_id = st.selectbox(
        "Trained run",
        list(reversed(by_id)),
        format_func=lambda i: (
            f"{by_id[i].label} · val IoU "
            + ("—" if by_id[i].val_iou is None else f"{by_id[i].val_iou:.2f}")
            + f" · {i}"
        ),
        key="in_run",
        bind=URL,
    )
    record = by_id[run_id]
    config = record.config
    stamp = record.finished
    try:  # a damaged or crafted run: one plain message, the other runs stay selectable
        load_model(home, run_id, stamp)
    except SegLabError as exc:
        st.error(f"This run cannot be opened: {exc} Pick another run.")
        stop_page()
    source = st.radio(
        "Picture",
        ["Validation image", "Built-in sample", "Your photo"],
        horizontal=True,
        key="in_source",
        bind=URL,
    )
    image = None
    target = None
    try:
        if source == "Validation image":
            val = validation_split(home, run_id)
            k = st.slider("Validation image", 0, len(val) - 1, 0, key="in_val")
            image, target = val.images[k].numpy(), val.masks[k].numpy()
        elif source == "Built-in sample":
            a, b = st.columns(2)
            names = list_datasets()
            name = a.selectbox(
                "Dataset",
                names,
                index=names.index(config.dataset) if config.dataset in names else 0,
                key="in_ds",
            )
            k = b.slider("Sample", 0, SAMPLES - 1, 0, key="in_sample")
            image = builtin_images(name, config.size)[k]
        else:
            upload = st.file_uploader(
                "A photo (PNG, JPEG, TIFF or BMP)",
                type=[s.lstrip(".") for s in SUPPORTED_SUFFIXES],
                key="in_upload",
            )
            if upload is not None:
                image = uploaded_picture(upload.getvalue(), config.size, upload.name)
                st.caption(
                    f"Centre-cropped to a square and resized to {config.size}×{config.size}, the size the model learned on."
                )
    except SegLabError as exc:
        st.error(str(exc))
    info = model_info(config.arch)
    st.caption(
        f"**{info.title}**, width {config.width}, depth {config.depth}, trained with `{config.loss}` on `{dataset_display_name(config.dataset)}` for {plural(record.epochs_done, 'epoch')}."
        + (f" Queued by `{record.owner.replace('`', '')}`." if record.owner else "")  # a code span: no markup
    )
if image is None:
    st.info("Upload a photo to continue, or pick a validation image or a built-in sample.")
    stop_page()
image = np.ascontiguousarray(image, dtype=np.float32)
with image_col:
    shown = [rgb(image)] + ([colorize_mask(target)] if target is not None else [])
    captions = ["The picture"] + (["Its ground truth"] if target is not None else [])
    for col, picture, caption in zip(st.columns(len(shown)), shown, captions, strict=True):
        col.image(cached_png(picture, 192), caption=caption, width="stretch")


# ---------------------------------------------------------------------------------------
# Sections 2 and 3 are fragments: the threshold and the channel count rerun their own section,
# not the page (issue 22: a class moves them together). They read the picture chosen above.
@st.fragment
def try_the_model() -> None:
    st.header("2 · Try the model on this picture")
    out = prediction(home, run_id, stamp, image)
    probs = out["probs"]
    binary = probs.shape[0] == 1
    t_col, _ = st.columns([1, 2])
    threshold = t_col.slider(
        "Threshold: object if p ≥",
        0.05,
        0.95,
        0.5,
        0.05,
        key="in_threshold",
        disabled=not binary,
        help="The model gives each pixel a probability; the threshold turns it into a yes/no mask.",
    )
    mask = ins.threshold_mask(probs, threshold)
    tiles = [
        overlay(rgb(image), mask, 0.5),
        ins.heatmap_rgb(probs[0]) if binary else colorize_mask(mask),
        ins.heatmap_rgb(out["confidence"], 0.5, 1.0),
    ]
    names = [
        f"Prediction at threshold {threshold:.2f}" if binary else "Prediction (most likely class)",
        "Object probability p (blue 0 → yellow 1)" if binary else "Predicted classes",
        inside_text.confidence_caption(max(2, probs.shape[0])),
    ]
    for col, tile, caption in zip(st.columns(3), tiles, names, strict=True):
        col.image(cached_png(tile, 192), caption=caption, width="stretch")
    st.caption(inside_text.answer_caption(mask, out["confidence"], max(2, probs.shape[0])))


try_the_model()

# ---------------------------------------------------------------------------------------
model, _ = load_model(home, run_id, stamp)
trained_sides = bool(loss_info(config.loss).uses_aux)  # the loss trained every side head
deep = model.deep_supervision and trained_sides


@st.fragment
def feature_maps() -> None:
    st.header("3 · Feature maps, stage by stage")
    stages = {s.name: s for s in model.feature_stages()}
    k = st.slider("Strongest channels shown per stage", 4, 16, 8, 4, key="in_channels")
    rows = stage_grids(home, run_id, stamp, image, k, model.deep_supervision or trained_sides)
    st.markdown(
        "Each grid shows the stage's **strongest channels** (largest mean |activation|), each "
        "stretched from black (its lowest value) to white (its highest). Deeper stages are smaller "
        "and have more channels: they trade *where* for *what*. " + link_kind(info.link_kind).feature_hint
    )
    feature_rows = [r for r in rows if not r[0].startswith(ins.SIDE_PREFIX)]
    for start in range(0, len(feature_rows), 3):
        for col, (name, shape, idx, grid) in zip(
            st.columns(3), feature_rows[start : start + 3], strict=False
        ):
            stage = stages[name]
            c, h, w = shape
            col.markdown(f"**{math_name(name)}** · {stage.kind} · {c} channels of {h}×{w}")
            col.image(cached_png(grid, 0), width="stretch")
            skips = ", ".join(math_name(s) for s in stage.skips)
            col.caption(
                (f"Skip from {skips}. " if skips else "") + math_text(stage.note) + f" Channels shown: {idx}."
            )

    side_rows = [r for r in rows if r[0].startswith(ins.SIDE_PREFIX)]
    if side_rows:
        st.subheader("Side outputs (deep supervision)")
        heads = [math_name(r[0].removeprefix(ins.SIDE_PREFIX)) for r in side_rows]
        st.markdown(inside_text.side_outputs_text(model.deep_supervision, trained_sides, config.loss, heads))
        side_cols = st.columns(max(4, len(side_rows)))
        for col, (name, _shape, _, p) in zip(side_cols, side_rows, strict=False):
            tile = ins.heatmap_rgb(p[0]) if p.shape[0] == 1 else colorize_mask(p.argmax(axis=0))
            col.markdown(f"head on {math_name(name.removeprefix(ins.SIDE_PREFIX))}")
            col.image(cached_png(tile, 160), width="stretch")
        st.caption(
            "Binary models: object probability, blue 0 → yellow 1. Multi-class: the most likely class."
        )


feature_maps()

# ---------------------------------------------------------------------------------------
if model_info(config.arch).prunable:
    st.header(f"4 · Prune the trained {model_info(config.arch).title}")
    if not deep:
        st.info(
            f"This run was trained with `{config.loss}`, which supervises only the last head, so the "
            "shallower heads never learned to segment and pruning would give nonsense. Train U-Net++ "
            "with `bce_ds` (deep supervision) to measure pruning."
        )
    else:
        st.markdown(
            "Because $X^{0,L}$ depends only on nodes with $i + j ≤ L$, the trained network can be "
            "cut after training: level $L$ keeps that sub-network and answers from its head. Here "
            "every level is measured on this run's validation images "
            f"(at most {VAL_LIMIT}; time = median of 5 passes on this machine's "
            f"{ins.device_name(load_model(home, run_id, stamp)[0])})."
        )
        report = pruning(home, run_id, stamp)
        advice = recommend_prune_level(report, DEFAULT_TOLERANCE)
        st.dataframe(
            report.assign(
                level=["L" + str(v) for v in report["level"]],
                # the units of the Architectures page: "6.63 k", "14.4 M"
                params=[human_count(v) for v in report["params"]],
                macs=[human_count(v) for v in report["macs"]],
            ),
            hide_index=True,
            column_config={
                "iou": st.column_config.NumberColumn("IoU", format="%.3f"),
                "ms_per_image": st.column_config.NumberColumn("ms / image", format="%.2f"),
                "params": st.column_config.TextColumn("Parameters used"),
                "macs": st.column_config.TextColumn("MACs per image"),
                "speedup": st.column_config.NumberColumn("speed-up", format="%.1f×"),
            },
        )
        show_chart(prune_chart(report, advice.level))
        st.success(advice.reason)
        st.caption(
            f"Rule: the smallest level whose IoU is within {DEFAULT_TOLERANCE:.2f} of the best level's. "
            "On a few validation images small IoU differences are noise, so a teacher would not pay "
            "for them with a slower model."
        )
