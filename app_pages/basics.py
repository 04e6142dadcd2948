"""Basics: a segmentation is a class label for every pixel; masks, one-hot, logits, softmax."""

from __future__ import annotations

import streamlit as st

from seglab.ui import basics_views as V
from seglab.ui.basics_views import ONE_HOT, PATCH, SIZE
from seglab.ui.chart_view import presenting, show_chart
from seglab.ui.common import URL
from seglab.ui.images import image_row

st.title(":material/grid_on: Basics: a label for every pixel")
st.markdown(
    "Image classification answers *what is in this picture?* with one label. Segmentation "
    "answers it **once per pixel**: the output is an image of the same size whose values are "
    "class numbers. Everything on this page is generated, so you can change the scene freely."
)
seed = st.number_input("Scene number", 0, 999, 0, key="scene", bind=URL)
cells = V.scene("cells", SIZE, seed)
views, (top0, left0), n_cells = V.cell_pictures(seed)

# ---- 1. semantic vs instance --------------------------------------------------------------
st.header("1. One scene, two kinds of answer")
image_row(
    views[:3],
    [
        "Input image",
        "Semantic mask: which class is each pixel?",
        "Instance mask: which object is each pixel?",
    ],
)
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
    image_row(views[3:], ["Semantic overlay", "Instance overlay"])


# ---- 2. pixels as numbers ----------------------------------------------------------------
# Sections 2 and 5 are fragments: a move of their widgets reruns that section alone, not the
# page (issue 22: a class moves these sliders together).
@st.fragment
def pixels_as_numbers() -> None:
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
    where, pixels, heatmap = V.window_view(seed, top, left, ids, presenting())
    left_col, mid_col, right_col = st.columns([1, 1, 1.4])
    left_col.image(where, caption="Where the window is (white box)", width="stretch")
    mid_col.image(pixels, caption=f"The window's {PATCH}×{PATCH} pixels, enlarged", width="stretch")
    show_chart(heatmap, right_col, fixed_shape=True)
    st.markdown(
        f"This grid **is** the mask for those {PATCH * PATCH} pixels: the target a network is trained "
        "to reproduce. A model that outputs it has classified every pixel."
    )


pixels_as_numbers()

# ---- 3. binary vs multi-class ---------------------------------------------------------------
st.header("3. Binary or multi-class")
aerial = V.aerial_view(seed, presenting())
n_classes = aerial["num_classes"]
c1, c2, c3 = st.columns([1, 1, 1.2])
c1.image(aerial["pictures"][0], caption="Aerial tile", width="stretch")
c2.image(aerial["pictures"][1], caption="Its mask, one colour per class", width="stretch")
with c3:
    show_chart(aerial["shares"])
st.markdown(
    f"**Binary** segmentation (the cells above) asks one yes/no question per pixel: a network "
    f"outputs a single number per pixel. **Multi-class** segmentation (this tile, "
    f"{n_classes} classes) picks one class out of {n_classes}: the network "
    f"outputs {n_classes} numbers per pixel, one per class. Note how unequal the "
    "classes are: small classes are the hard part."
)

# ---- 4. class ids vs one-hot -------------------------------------------------------------------
st.header("4. Class ids or one-hot channels")
c1, c2 = st.columns([1, 3])
with c1:
    st.caption(f"Class ids of an {ONE_HOT}×{ONE_HOT} window of the tile")
    show_chart(aerial["ids"])
with c2:
    st.caption("The same window as one 0/1 channel per class")
    show_chart(aerial["one_hot"])
st.latex(r"y_{k,i} = [\,m_i = k\,] \qquad \sum_k y_{k,i} = 1 \qquad m_i = \arg\max_k y_{k,i}")
st.markdown(
    "Both describe the same mask. A file on disk stores **class ids** (one small integer per "
    "pixel). Losses such as Dice compare the network's per-class probabilities with the "
    f"**one-hot** version: {n_classes} channels, exactly one 1 per pixel. "
    f"Check: every pixel's column of channels sums to {aerial['channel_sum']}."
)


# ---- 5. logits → probability → mask ------------------------------------------------------------
@st.fragment
def network_outputs() -> None:
    st.header("5. What a network actually outputs: logits")
    c1, c2 = st.columns(2)
    t = c1.slider("Threshold t", 0.05, 0.95, 0.5, 0.05, key="t", bind=URL)
    noise = c2.slider("How unsure is the toy model?", 0.0, 1.5, 0.4, 0.1, key="noise", bind=URL)
    out = V.binary_view(seed, noise, t)
    z, p, pred, counts = out["z"], out["p"], out["pred"], out["counts"]
    image_row(
        out["pictures"],
        [
            "Logits z (blue < 0 < red, clipped at ±8)",
            "Probability p = σ(z) (dark 0 → yellow 1)",
            f"Mask: p ≥ {t:.2f}",
            "Errors: green TP, red FP, blue FN",
        ],
    )
    st.latex(rf"p_i = \sigma(z_i) = \frac{{1}}{{1 + e^{{-z_i}}}} \qquad \hat y_i = [\,p_i \ge {t:.2f}\,]")
    r, c = top0 + PATCH // 2, left0 + PATCH // 2  # the centre of section 2's first window
    cols = st.columns(5)
    cols[0].metric(f"Pixel ({r}, {c}): logit z", f"{z[r, c]:+.2f}")
    cols[1].metric("…its probability σ(z)", f"{p[r, c]:.3f}")
    cols[2].metric(
        "…its predicted class",
        int(pred[r, c]),
        f"true class {int(cells.mask[r, c])}",
        "off",
        delta_arrow="off",
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
    multi = V.multiclass_view(seed, noise, presenting())
    accuracy = multi["accuracy"]
    c1, c2, c3 = st.columns([1, 1, 1.3])
    c1.image(multi["pictures"][0], caption="Prediction: argmax over the toy logits", width="stretch")
    c2.image(multi["pictures"][1], caption="True mask", width="stretch")
    with c3:
        st.caption(f"Pixel {multi['pixel']}: one logit per class → softmax probabilities")
        show_chart(multi["bars"])
    st.latex(r"p_{k,i} = \frac{e^{z_{k,i}}}{\sum_j e^{z_{j,i}}} \qquad \hat m_i = \arg\max_k p_{k,i}")
    st.markdown(
        f"With {n_classes} classes the network outputs {n_classes} logits per pixel. "
        "Softmax turns them into probabilities that sum to 1, and the prediction is the most "
        f"probable class; no threshold needed. Pixel accuracy of this toy output: "
        f"**{accuracy:.1%}**."
    )


network_outputs()
