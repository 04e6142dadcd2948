"""Basics: a segmentation is a class label for every pixel; masks, one-hot, logits, softmax."""

from __future__ import annotations

import numpy as np
import streamlit as st

from seglab.palette import colorize_mask, colormap, error_overlay, overlay
from seglab.teach import basics as B
from seglab.ui.chart_view import show_chart
from seglab.ui.common import URL
from seglab.ui.images import as_rgb, image_row, upscale
from seglab.viz import loss_charts as C

SIZE = 96  # cells scene
PATCH = 12  # zoomed window, pixels per side
AERIAL = 96
ONE_HOT = 8  # one-hot demo window


@st.cache_data(show_spinner=False)
def scene(dataset: str, size: int, seed: int) -> B.Scene:
    return B.load_scene(dataset, size=size, seed=seed)


@st.cache_data(show_spinner=False)
def cell_views(seed: int):
    s = scene("cells", SIZE, seed)
    views = [
        as_rgb(s.image),
        colorize_mask(s.mask),
        B.colorize_instances(s.instances),
        overlay(s.image, s.mask, 0.55),
        B.overlay_instances(s.image, s.instances),
    ]
    return [upscale(v, 240) for v in views], B.busiest_window(s.mask, PATCH)


@st.cache_data(show_spinner=False)
def aerial_views(seed: int):
    s = scene("aerial", AERIAL, seed)
    views = [upscale(as_rgb(s.image), 240), upscale(overlay(s.image, s.mask, 0.7), 240)]
    return views, B.class_shares(s.mask, s.num_classes), B.busiest_window(s.mask, ONE_HOT)


@st.cache_data(show_spinner=False)
def binary_output(seed: int, noise: float, t: float):
    mask = scene("cells", SIZE, seed).mask
    z = B.toy_logits(mask, noise=noise, seed=seed)
    p = B.sigmoid(z)
    pred = B.threshold(p, t)
    pictures = [
        colormap(z, -8, 8, "diverging"),
        colormap(p, 0, 1),
        colorize_mask(pred),
        error_overlay(pred, mask),
    ]
    return z, p, pred, [upscale(x, 200) for x in pictures], B.binary_counts(pred, mask)


@st.cache_data(show_spinner=False)
def multiclass_output(seed: int, noise: float):
    s = scene("aerial", AERIAL, seed)
    zk = B.toy_multiclass_logits(s.mask, s.num_classes, noise=noise, seed=seed)
    pictures = [upscale(colorize_mask(zk.argmax(0)), 240), upscale(colorize_mask(s.mask), 240)]
    return zk, pictures, float((zk.argmax(0) == s.mask).mean())


st.title(":material/grid_on: Basics: a label for every pixel")
st.markdown(
    "Image classification answers *what is in this picture?* with one label. Segmentation "
    "answers it **once per pixel**: the output is an image of the same size whose values are "
    "class numbers. Everything on this page is generated, so you can change the scene freely."
)
seed = st.number_input("Scene number", 0, 999, 0, key="scene", bind=URL)
cells = scene("cells", SIZE, seed)
views, (top0, left0) = cell_views(seed)

# ---- 1. semantic vs instance --------------------------------------------------------------
st.header("1. One scene, two kinds of answer")
image_row(
    views[:3],
    [
        "Input image",
        "Semantic mask: which class is each pixel?",
        "Instance mask: which object is each pixel?",
    ],
    min_side=240,
)
n_cells = len(np.unique(cells.instances[cells.instances > 0])) if cells.instances is not None else 0
c1, c2, c3 = st.columns(3)
c1.metric(f"Pixels to label ({SIZE} × {SIZE})", f"{SIZE * SIZE:,}")
c2.metric("Cell pixels (class 1)", f"{(cells.mask > 0).mean():.1%}")
c3.metric("Separate cells (instances)", n_cells)
st.markdown(
    "A **semantic** mask only says *cell* or *background*: two touching cells merge into one "
    "blob. An **instance** mask numbers every object (1, 2, 3, …), which is what you need to "
    "count cells or measure each one. The models in this lab do semantic segmentation."
)
with st.expander("Show both masks laid over the image"):
    image_row(views[3:], ["Semantic overlay", "Instance overlay"], min_side=240)

# ---- 2. pixels as numbers ----------------------------------------------------------------
st.header("2. Classifying every pixel, literally")
c1, c2, c3 = st.columns(3)
top = c1.slider("Window: top row", 0, SIZE - PATCH, top0, key="row", bind=URL)
left = c2.slider("Window: left column", 0, SIZE - PATCH, left0, key="col", bind=URL)
ids = c3.radio(
    "Numbers shown",
    ["class id", "instance id"],
    horizontal=True,
    index=0,
    key="ids",
    bind=URL,
)
values = cells.mask if ids == "class id" else cells.instances
left_col, mid_col, right_col = st.columns([1, 1, 1.4])
left_col.image(
    upscale(B.draw_box(as_rgb(cells.image), top, left, PATCH, PATCH), 288),
    caption="Where the window is (white box)",
    width="stretch",
)
mid_col.image(
    upscale(as_rgb(cells.image[top : top + PATCH, left : left + PATCH]), 288),
    caption=f"The window's {PATCH}×{PATCH} pixels, enlarged",
    width="stretch",
)
patch = B.patch_frame(values, top, left, PATCH)
if ids == "class id":
    show_chart(
        C.class_id_heatmap(patch, cells.num_classes, cells.class_names, cell=26), right_col, fixed_shape=True
    )
else:
    show_chart(
        C.value_heatmap(patch, "instance id", scheme="category20", cell=26, fmt="d"),
        right_col,
        fixed_shape=True,
    )
st.markdown(
    f"This grid **is** the mask for those {PATCH * PATCH} pixels: the target a network is trained "
    "to reproduce. A model that outputs it has classified every pixel."
)

# ---- 3. binary vs multi-class ---------------------------------------------------------------
st.header("3. Binary or multi-class")
aerial = scene("aerial", AERIAL, seed)
c1, c2, c3 = st.columns([1, 1, 1.2])
a_views, a_shares, (a_top, a_left) = aerial_views(seed)
c1.image(a_views[0], caption="Aerial tile", width="stretch")
c2.image(a_views[1], caption="Its mask, one colour per class", width="stretch")
with c3:
    show_chart(C.class_share_bars(aerial.class_names, a_shares))
st.markdown(
    f"**Binary** segmentation (the cells above) asks one yes/no question per pixel: a network "
    f"outputs a single number per pixel. **Multi-class** segmentation (this tile, "
    f"{aerial.num_classes} classes) picks one class out of {aerial.num_classes}: the network "
    f"outputs {aerial.num_classes} numbers per pixel, one per class. Note how unequal the "
    "classes are: small classes are the hard part."
)

# ---- 4. class ids vs one-hot -------------------------------------------------------------------
st.header("4. Class ids or one-hot channels")
window = aerial.mask[a_top : a_top + ONE_HOT, a_left : a_left + ONE_HOT]
c1, c2 = st.columns([1, 3])
with c1:
    st.caption(f"Class ids of an {ONE_HOT}×{ONE_HOT} window of the tile")
    show_chart(
        C.class_id_heatmap(
            B.patch_frame(aerial.mask, a_top, a_left, ONE_HOT),
            aerial.num_classes,
            aerial.class_names,
            cell=24,
        )
    )
with c2:
    st.caption("The same window as one 0/1 channel per class")
    stack = B.one_hot(window, aerial.num_classes)
    show_chart(C.one_hot_facets(B.channels_frame(stack, aerial.class_names), columns=3, cell=16))
st.latex(r"y_{k,i} = [\,m_i = k\,] \qquad \sum_k y_{k,i} = 1 \qquad m_i = \arg\max_k y_{k,i}")
st.markdown(
    "Both describe the same mask. A file on disk stores **class ids** (one small integer per "
    "pixel). Losses such as Dice compare the network's per-class probabilities with the "
    f"**one-hot** version: {aerial.num_classes} channels, exactly one 1 per pixel. "
    f"Check: every pixel's column of channels sums to {int(stack.sum(0).max())}."
)

# ---- 5. logits → probability → mask ------------------------------------------------------------
st.header("5. What a network actually outputs: logits")
c1, c2 = st.columns(2)
t = c1.slider("Threshold t", 0.05, 0.95, 0.5, 0.05, key="t", bind=URL)
noise = c2.slider("How unsure is the toy model?", 0.0, 1.5, 0.4, 0.1, key="noise", bind=URL)
z, p, pred, pictures, counts = binary_output(seed, noise, t)
image_row(
    pictures,
    [
        "Logits z (blue < 0 < red, clipped at ±8)",
        "Probability p = σ(z) (dark 0 → yellow 1)",
        f"Mask: p ≥ {t:.2f}",
        "Errors: green TP, red FP, blue FN",
    ],
    min_side=200,
)
st.latex(rf"p_i = \sigma(z_i) = \frac{{1}}{{1 + e^{{-z_i}}}} \qquad \hat y_i = [\,p_i \ge {t:.2f}\,]")
r, c = top + PATCH // 2, left + PATCH // 2
cols = st.columns(5)
cols[0].metric(f"Pixel ({r}, {c}): logit z", f"{z[r, c]:+.2f}")
cols[1].metric("…its probability σ(z)", f"{p[r, c]:.3f}")
cols[2].metric(
    "…its predicted class", int(pred[r, c]), f"true class {int(cells.mask[r, c])}", "off", delta_arrow="off"
)
cols[3].metric("Wrong pixels (FP + FN)", counts["FP"] + counts["FN"])
cols[4].metric("Foreground IoU", f"{counts['IoU']:.3f}")
st.markdown(
    "The network's last layer produces a **logit** z per pixel: any real number, positive for "
    "*probably foreground*. The sigmoid squashes it into a probability, and a threshold turns "
    "that into a mask. t = 0.5 is the same as z ≥ 0; move t and watch errors trade places: "
    "lower t gains true positives and false positives together."
)

st.subheader("Several classes: softmax")
zk, pictures, accuracy = multiclass_output(seed, noise)
ar, ac = a_top + ONE_HOT // 2, a_left + ONE_HOT // 2
c1, c2, c3 = st.columns([1, 1, 1.3])
c1.image(pictures[0], caption="Prediction: argmax over the toy logits", width="stretch")
c2.image(pictures[1], caption="True mask", width="stretch")
with c3:
    st.caption(f"Pixel ({ar}, {ac}): one logit per class → softmax probabilities")
    show_chart(C.probability_bars(B.pixel_scores(zk, aerial.class_names, ar, ac)))
st.latex(r"p_{k,i} = \frac{e^{z_{k,i}}}{\sum_j e^{z_{j,i}}} \qquad \hat m_i = \arg\max_k p_{k,i}")
st.markdown(
    f"With {aerial.num_classes} classes the network outputs {aerial.num_classes} logits per pixel. "
    "Softmax turns them into probabilities that sum to 1, and the prediction is the most "
    f"probable class; no threshold needed. Pixel accuracy of this toy output: "
    f"**{accuracy:.1%}**."
)
