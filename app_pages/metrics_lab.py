"""Metrics lab: shape a prediction by hand and watch IoU, Dice, precision and recall react."""

import math

import streamlit as st

from seglab.teach import metrics_lab as ml
from seglab.ui import metrics_lab_views as V
from seglab.ui.chart_view import presenting, show_chart
from seglab.ui.common import URL
from seglab.ui.draw_canvas import draw_mask
from seglab.ui.images import image_row, metric_row
from seglab.viz.metric_charts import error_legend_html


def fmt(value: float, pattern: str = "{:.3f}") -> str:
    return "—" if value is None or math.isnan(value) else pattern.format(value)


METRIC_WIDTH = 130  # pixels: the drawing's six scores wrap two or three a row


st.title("Metrics lab: how good is this mask?")
st.markdown(
    "A segmentation model answers with one label per pixel, so judging it means comparing two "
    "masks. Every score below is built from four pixel counts: **TP** (object pixels the model "
    "found), **FP** (background it wrongly called object), **FN** (object it missed) and **TN** "
    "(background it rightly left alone). Bend the prediction with the sliders and see which "
    "scores care about which mistakes. The study this app reproduces ranks every model by "
    "**IoU**, so that is the number to watch."
)


# Each part of the lab is a fragment: a widget move reruns only the part that depends on it,
# not the app's navigation and sidebar nor the other parts. With a class on one server, every
# element a move resends is server time (issue 22): section 3's tabs have widgets of their own
# and do not depend on section 1, so they are fragments of their own.
@st.fragment
def shape_and_draw() -> None:
    """Sections 1 and 2: both follow the sample chosen in section 1 (the drawing scores
    against its truth), and the Dice–IoU chart places the prediction shaped there."""
    # ---------------------------------------------------------------------------------------
    st.header("1 · Shape a prediction, watch the scores")
    row1, row2 = st.columns(3), st.columns(3)
    index = row1[0].slider(
        "Ground-truth sample (shapes)",
        0,
        ml.SAMPLE_COUNT - 1,
        0,
        key="truth",
        bind=URL,
    )
    shift_x = row1[1].slider("Shift prediction right (pixels)", -16, 16, 3, key="shift_x", bind=URL)
    shift_y = row1[2].slider("Shift prediction down (pixels)", -16, 16, 0, key="shift_y", bind=URL)
    scale = row2[0].slider("Scale prediction (× size)", 0.5, 1.5, 1.0, 0.05, key="scale", bind=URL)
    morph = row2[1].slider(
        "Grow (+) / shrink (−) the outline (pixels)",
        -4,
        4,
        0,
        key="morph",
        bind=URL,
        help="Dilation or erosion with a 3×3 square, once per step: a too-fat or too-thin outline.",
    )
    blobs = row2[2].slider("Noise blobs (false detections)", 0, 8, 0, key="blobs", bind=URL)
    settings = ml.PredictionSettings(shift_x, shift_y, round(scale, 2), morph, blobs)
    report = V.binary_lab(index, settings)[3]
    confusion_spec, dice_iou_spec = V.binary_views(index, settings, presenting())

    pictures, numbers = st.columns([2.3, 1], gap="medium")
    with pictures:
        image_row(
            V.binary_pictures(index, settings),
            ["Image + ground truth", "Your prediction", "Errors: TP / FP / FN"],
        )
        st.html(error_legend_html())
    with numbers:
        a, b = st.columns(2)
        a.metric("IoU", fmt(report["iou"]), help="TP / (TP + FP + FN): the study's ranking metric.")
        b.metric("Dice", fmt(report["dice"]), help="2TP / (2TP + FP + FN)")
        a.metric(
            "Precision", fmt(report["precision"]), help="TP / (TP + FP): how much of the prediction is right"
        )
        b.metric("Recall", fmt(report["recall"]), help="TP / (TP + FN): how much of the object was found")
        a.metric("F1", fmt(report["f1"]), help="2PR / (P + R); for one binary mask it equals Dice")
        b.metric("Pixel accuracy", fmt(report["accuracy"], "{:.1%}"), help="(TP + TN) / all pixels")

    matrix_col, formula_col = st.columns([1, 1.5], gap="large")
    with matrix_col:
        st.markdown("**Confusion matrix** (pixels)")
        show_chart(confusion_spec, width="stretch")
        st.caption(f"TP {report['tp']} · FP {report['fp']} · FN {report['fn']} · TN {report['tn']}")
    with formula_col:
        st.markdown("**The formulas with these counts plugged in**")
        for line in ml.formula_lines(report):
            st.latex(line)
    st.info(
        "Try this: shift by a few pixels and IoU drops much faster than accuracy; add noise blobs "
        "and **precision** falls while **recall** stays put; shrink the outline and it is the "
        "other way round. IoU and Dice punish both kinds of mistake at once."
    )

    st.subheader("Dice and IoU always move together")
    left, right = st.columns([1, 1.3], gap="large")
    with left:
        gap = ml.dice_iou_widest_gap()
        st.latex(
            r"\text{Dice} = \frac{2\,\text{IoU}}{1+\text{IoU}} \qquad \text{IoU} = \frac{\text{Dice}}{2-\text{Dice}}"
        )
        st.markdown(
            "Both scores are built from the same TP, FP and FN: Dice counts the overlap twice, "
            "IoU once. So one fixes the other, Dice is never below IoU, and the gap is widest at "
            f"IoU = √2 − 1 ≈ {gap['iou']:.3f} (Dice {gap['dice']:.3f}, gap {gap['gap']:.3f}), not at 0.5. "
            "For a *single* mask pair they rank predictions "
            "identically. Once you average over many images the link breaks: the mean of Dice "
            "is not the Dice of the mean IoU, so two models can swap places. Report the one your "
            "field uses, and say which. For a binary mask Dice is also exactly the F1 score."
        )
        st.caption("The blue point is the prediction you shaped above.")
    with right:
        show_chart(dice_iou_spec, width="stretch")

    # ---------------------------------------------------------------------------------------
    st.header("2 · Draw your own prediction")
    st.markdown(
        "Be the model: paint the object over the picture (the **yellow** line is the ground-truth "
        "border of the sample chosen above). Every stroke rescores your mask; erase, repaint, and "
        "find out how hard an IoU of 0.9 really is."
    )
    canvas_col, drawn_col = st.columns([1.25, 1], gap="large")
    with canvas_col:
        background, background_url = V.outline(index)
        drawing = draw_mask(background, key=f"draw_{index}", scale=6, background_url=background_url)
    drawn_picture, drawn_scores = V.drawn_view(index, drawing)
    with drawn_col.container(key="drawn_scores"):
        image_row([drawn_picture], ["Your drawing: TP / FP / FN"])
        st.html(error_legend_html())
        metric_row(
            [
                ("IoU ", fmt(drawn_scores["iou"])),
                ("Dice ", fmt(drawn_scores["dice"])),
                ("F1 ", fmt(drawn_scores["f1"])),
                ("Precision ", fmt(drawn_scores["precision"])),
                ("Recall ", fmt(drawn_scores["recall"])),
                ("Accuracy ", fmt(drawn_scores["accuracy"], "{:.1%}")),
            ],
            width=METRIC_WIDTH,
        )
        st.caption(
            f"TP {drawn_scores['tp']} · FP {drawn_scores['fp']} · FN {drawn_scores['fn']} · TN {drawn_scores['tn']}"
        )


@st.fragment
def accuracy_paradox() -> None:
    fg_pct = st.slider("Object size (% of the image)", 0.5, 20.0, 2.0, 0.5, key="fg_pct", bind=URL)
    lazy, picture = V.paradox_view(fg_pct)
    pic, txt = st.columns([1, 2], gap="large")
    with pic:
        image_row([picture], ["All-background answer: every object pixel missed"])
    with txt:
        metric_row(
            [
                ("Pixel accuracy", f"{lazy['accuracy']:.1%}"),
                ("Object IoU", f"{lazy['fg_iou']:.2f}"),
                ("Background IoU", f"{lazy['bg_iou']:.2f}"),
                ("mIoU (2 classes)", f"{lazy['miou']:.2f}"),
            ]
        )
        st.markdown(
            f"A model that never predicts the object is right on every background pixel, so its "
            f"accuracy equals the background share, **{lazy['accuracy']:.1%}** here, yet it found "
            "nothing: object IoU is **0**. Accuracy counts the huge, easy background as much as the "
            "object you care about. That is why the study, the aerial project with its unbalanced "
            "classes and most papers report IoU, Dice or per-class precision and recall instead. "
            "Averaging IoU over both classes (mIoU) lands near one half: the background class "
            "carries the lazy model."
        )


@st.fragment
def many_classes() -> None:
    c1, c2, c3, c4 = st.columns(4)
    a_index = c1.slider(
        "`aerial` sample",
        0,
        ml.SAMPLE_COUNT - 1,
        0,
        key="aerial",
        bind=URL,
    )
    noise = c2.slider("Label noise (% of 4×4 tiles)", 0, 50, 10, 5, key="label_noise", bind=URL)
    a_shift = c3.slider("Boundary shift (pixels)", 0, 6, 1, key="ashift", bind=URL)
    names = V.aerial_lab(0, 0.0, 0, 0)[3]
    missed = c4.selectbox(
        "Class the model never predicts",
        range(len(names)),
        index=5,
        format_func=lambda k: "none" if k == 0 else names[k],
        key="missed",
        bind=URL,
    )
    table, summary = V.aerial_lab(a_index, float(noise), int(missed), a_shift)[4:]
    pictures, chart_spec = V.aerial_view(a_index, float(noise), int(missed), a_shift, presenting())
    drop_text = ""
    if missed:
        base_table = V.aerial_lab(a_index, float(noise), 0, a_shift)[4]
        iou_c = float(base_table["iou"][missed])
        if iou_c == iou_c:  # the class is present, so it had an IoU to lose
            part = ml.miou_drop_breakdown(base_table, table, int(missed))
            drop_text = (
                f" Here {names[missed]} had IoU {iou_c:.2f} with K = {part['k']} classes counted: "
                f"its own part is {part['own']:.3f} (IoU_c / K = {ml.miou_drop_if_missed(iou_c, part['k']):.3f}), "
                f"{names[0]}, which receives its pixels as false positives, adds {part['receiver']:+.3f}; "
                f"measured drop {part['total']:.3f} (1/K = {1 / part['k']:.3f})."
            )
    image_row(pictures, ["Aerial image", "Ground truth", "Corrupted prediction"])
    numbers_col, chart = st.columns([1, 1.4], gap="large")
    with numbers_col:
        metric_row([("mIoU", fmt(summary["miou"])), ("Pixel accuracy ", fmt(summary["accuracy"], "{:.1%}"))])
        st.latex(r"\text{mIoU} = \frac{1}{K}\sum_{k=1}^{K} \frac{TP_k}{TP_k+FP_k+FN_k}")
        st.markdown(
            "Each class gets its own IoU, counting every other class as background; mIoU is the "
            "plain mean, so a rare class (a few vehicles) weighs as much as the ground that fills "
            "half the picture. Make the model miss a small class: pixel accuracy hardly moves, "
            "but mIoU loses IoU_c / K for the missed class, plus whatever the class that receives "
            "its pixels loses from the new false positives; for a large class the drop can exceed "
            f"1/K.{drop_text} A class absent from both masks has no IoU (0/0) and is left "
            "out of the mean; a class the noise *invents* where there is none scores 0."
        )
    with chart:
        show_chart(chart_spec, width="stretch")


@st.fragment
def averaging_and_empty_masks() -> None:
    stray = st.radio(
        "On the image whose ground truth is empty, the model predicts…",
        [0, 12],
        index=0,
        format_func=lambda k: "nothing (both masks empty)" if k == 0 else f"{k} stray object pixels",
        horizontal=True,
        key="stray",
        bind=URL,
    )
    pictures, captions, per_image, chart_spec = V.averaging_view(stray, presenting())
    image_row(pictures, captions)
    st.dataframe(per_image, hide_index=True, width="stretch")
    chart_col, text_col = st.columns([1.1, 1], gap="large")
    show_chart(chart_spec, chart_col, width="stretch")
    text_col.markdown(
        "**Dataset-level** IoU pools every pixel of the set into one big confusion matrix, so "
        "large objects dominate. **Per-image** IoU scores each image, then averages, so a tiny "
        "object counts as much as a big one. **Per-class** mIoU averages classes instead of "
        "images, background included, which flatters a model on a mostly empty set."
    )
    st.markdown(
        "An image with nothing to find and nothing predicted has IoU = 0/0. Libraries pick a "
        "convention: call it a perfect **1**, a failed **0**, or **leave it out** (the empty cell "
        "in the table); the three per-image means differ only in that choice. Give the model a few "
        "stray pixels on the empty image and the question disappears: the union is no longer "
        "empty and IoU = 0 under every convention. Always say which averaging and which "
        "convention a table uses: the study's test-set IoU depends on it as much as on the model."
    )


shape_and_draw()

# ---------------------------------------------------------------------------------------
st.header("3 · Traps when reading a score")
paradox, multi, avg = st.tabs(["Accuracy paradox", "Many classes: mIoU", "Averaging & empty masks"])
with paradox:
    accuracy_paradox()
with multi:
    many_classes()
with avg:
    averaging_and_empty_masks()
