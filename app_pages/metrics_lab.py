"""Metrics lab: shape a prediction by hand and watch IoU, Dice, precision and recall react."""

import math

import numpy as np
import streamlit as st

from seglab.palette import colorize_mask, error_overlay, overlay
from seglab.teach import metrics_lab as ml
from seglab.ui.chart_view import chart_spec, presenting, show_chart
from seglab.ui.common import URL
from seglab.ui.draw_canvas import draw_mask
from seglab.ui.images import image_row
from seglab.ui.tables import dash_missing
from seglab.viz.metric_charts import (
    averaging_chart,
    confusion_chart,
    dice_iou_chart,
    error_legend_html,
    per_class_iou_chart,
)


def fmt(value: float, pattern: str = "{:.3f}") -> str:
    return "—" if value is None or math.isnan(value) else pattern.format(value)


@st.cache_data(show_spinner=False, max_entries=64)
def binary_lab(index: int, settings: ml.PredictionSettings):
    image, target, pred = ml.lab_masks(index, settings)
    return image, target, pred, ml.binary_report(pred, target), ml.confusion(pred, target)


@st.cache_data(show_spinner=False, max_entries=64)
def aerial_lab(index: int, noise: float, missed: int, shift: int):
    image, target, names = ml.aerial_sample(index)
    pred = ml.corrupt_labels(
        target, len(names), noise_percent=noise, missed_class=missed, shift=shift, seed=index
    )
    return (
        image,
        target,
        pred,
        names,
        ml.class_shares_table(pred, target, names),
        ml.multiclass_summary(pred, target, len(names)),
    )


@st.cache_data(show_spinner=False)
def averaging(stray: int):
    return ml.averaging_set(stray), *ml.averaging_report(stray)


# Chart views cached by their inputs and shared by every session (see seglab.ui.chart_view).
@st.cache_data(show_spinner=False, max_entries=512)
def binary_views(index: int, settings: ml.PredictionSettings, present: bool):
    report, cm = binary_lab(index, settings)[3:]
    confusion = confusion_chart(cm, ["background", "object"], height=150)
    dice_iou = dice_iou_chart(ml.dice_iou_curve(), report["iou"], report["dice"])
    return chart_spec(confusion, present), chart_spec(dice_iou, present)


@st.cache_data(show_spinner=False, max_entries=256)
def aerial_view(index: int, noise: float, missed: int, shift: int, present: bool):
    table, summary = aerial_lab(index, noise, missed, shift)[4:]
    return chart_spec(per_class_iou_chart(table, summary["miou"]), present)


@st.cache_data(show_spinner=False)
def averaging_view(stray: int, present: bool):
    return chart_spec(averaging_chart(averaging(stray)[2]), present)


st.title("Metrics lab: how good is this mask?")
st.markdown(
    "A segmentation model answers with one label per pixel, so judging it means comparing two "
    "masks. Every score below is built from four pixel counts: **TP** (object pixels the model "
    "found), **FP** (background it wrongly called object), **FN** (object it missed) and **TN** "
    "(background it rightly left alone). Bend the prediction with the sliders and see which "
    "scores care about which mistakes. The study this app reproduces ranks every model by "
    "**IoU**, so that is the number to watch."
)


# The whole lab is one fragment: a slider move reruns it alone, not the app's navigation and
# sidebar nor this module's cached-function definitions. (Its sections stay together because
# the Dice ↔ IoU tab and the drawing section use the prediction shaped in section 1.)
@st.fragment
def lab() -> None:
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
    image, target, pred, report, cm = binary_lab(index, settings)
    confusion_spec, dice_iou_spec = binary_views(index, settings, presenting())

    pictures, numbers = st.columns([2.3, 1], gap="medium")
    with pictures:
        image_row(
            [
                overlay(image, target, 0.55),
                colorize_mask(pred.astype(np.int64)),
                error_overlay(pred, target),
            ],
            ["Image + ground truth", "Your prediction", "Errors: TP / FP / FN"],
            min_side=192,
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

    # ---------------------------------------------------------------------------------------
    st.header("2 · Draw your own prediction")
    st.markdown(
        "Be the model: paint the object over the picture (the **yellow** line is the ground-truth "
        "border of the sample chosen above). Every stroke rescores your mask; erase, repaint, and "
        "find out how hard an IoU of 0.9 really is."
    )
    canvas_col, drawn_col = st.columns([1.25, 1], gap="large")
    with canvas_col:
        drawing = draw_mask(ml.target_outline(image, target), key=f"draw_{index}", scale=6)
    drawn, drawn_scores = ml.drawn_report(drawing, target)
    with drawn_col.container(key="drawn_scores"):
        image_row([error_overlay(drawn, target)], ["Your drawing: TP / FP / FN"], min_side=192)
        st.html(error_legend_html())
        d1, d2, d3 = st.columns(3)
        d1.metric("IoU ", fmt(drawn_scores["iou"]))
        d2.metric("Dice ", fmt(drawn_scores["dice"]))
        d3.metric("F1 ", fmt(drawn_scores["f1"]))
        d1.metric("Precision ", fmt(drawn_scores["precision"]))
        d2.metric("Recall ", fmt(drawn_scores["recall"]))
        d3.metric("Accuracy ", fmt(drawn_scores["accuracy"], "{:.1%}"))
        st.caption(
            f"TP {drawn_scores['tp']} · FP {drawn_scores['fp']} · FN {drawn_scores['fn']} · TN {drawn_scores['tn']}"
        )

    # ---------------------------------------------------------------------------------------
    st.header("3 · Traps when reading a score")
    paradox, dice_tab, multi, avg = st.tabs(
        ["Accuracy paradox", "Dice ↔ IoU", "Many classes: mIoU", "Averaging & empty masks"]
    )

    with paradox:
        fg_pct = st.slider("Object size (% of the image)", 0.5, 20.0, 2.0, 0.5, key="fg_pct", bind=URL)
        lazy = ml.paradox_report(fg_pct)
        target_small = ml.small_object_target(fg_pct)
        pic, txt = st.columns([1, 2], gap="large")
        with pic:
            image_row(
                [error_overlay(np.zeros_like(target_small), target_small)],
                ["All-background answer: every object pixel missed"],
                200,
            )
        with txt:
            m1, m2, m3, m4 = st.columns(4)
            m1.metric("Pixel accuracy", f"{lazy['accuracy']:.1%}")
            m2.metric("Object IoU", f"{lazy['fg_iou']:.2f}")
            m3.metric("Background IoU", f"{lazy['bg_iou']:.2f}")
            m4.metric("mIoU (2 classes)", f"{lazy['miou']:.2f}")
            st.markdown(
                f"A model that never predicts the object is right on every background pixel, so its "
                f"accuracy equals the background share, **{lazy['accuracy']:.1%}** here, yet it found "
                "nothing: object IoU is **0**. Accuracy counts the huge, easy background as much as the "
                "object you care about. That is why the study, the aerial project with its unbalanced "
                "classes and most papers report IoU, Dice or per-class precision and recall instead. "
                "Averaging IoU over both classes (mIoU) lands near one half: the background class "
                "carries the lazy model."
            )

    with dice_tab:
        left, right = st.columns([1, 1.3], gap="large")
        with left:
            gap = ml.dice_iou_widest_gap()
            st.latex(r"\text{Dice} = \frac{2\,\text{IoU}}{1+\text{IoU}}")
            st.latex(r"\text{IoU} = \frac{\text{Dice}}{2-\text{Dice}}")
            st.markdown(
                "Both scores are built from the same TP, FP and FN: Dice counts the overlap twice, "
                "IoU once. So one fixes the other, Dice is never below IoU, and the gap is widest at "
                f"IoU = √2 − 1 ≈ {gap['iou']:.3f} (Dice {gap['dice']:.3f}, gap {gap['gap']:.3f}), not at 0.5. "
                "For a *single* mask pair they rank predictions "
                "identically. Once you average over many images the link breaks: the mean of Dice "
                "is not the Dice of the mean IoU, so two models can swap places. Report the one your "
                "field uses, and say which. For a binary mask Dice is also exactly the F1 score."
            )
            st.caption("The blue point is the prediction you shaped in section 1.")
        with right:
            show_chart(dice_iou_spec, width="stretch")

    with multi:
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
        names = aerial_lab(0, 0.0, 0, 0)[3]
        missed = c4.selectbox(
            "Class the model never predicts",
            range(len(names)),
            index=5,
            format_func=lambda k: "none" if k == 0 else names[k],
            key="missed",
            bind=URL,
        )
        a_img, a_true, a_pred, names, table, summary = aerial_lab(a_index, float(noise), int(missed), a_shift)
        drop_text = ""
        if missed:
            base_table = aerial_lab(a_index, float(noise), 0, a_shift)[4]
            iou_c = float(base_table["iou"][missed])
            if iou_c == iou_c:  # the class is present, so it had an IoU to lose
                part = ml.miou_drop_breakdown(base_table, table, int(missed))
                drop_text = (
                    f" Here {names[missed]} had IoU {iou_c:.2f} with K = {part['k']} classes counted: "
                    f"its own part is {part['own']:.3f} (IoU_c / K = {ml.miou_drop_if_missed(iou_c, part['k']):.3f}), "
                    f"{names[0]}, which receives its pixels as false positives, adds {part['receiver']:+.3f}; "
                    f"measured drop {part['total']:.3f} (1/K = {1 / part['k']:.3f})."
                )
        image_row(
            [a_img, colorize_mask(a_true), colorize_mask(a_pred)],
            ["Aerial image", "Ground truth", "Corrupted prediction"],
            192,
        )
        numbers_col, chart = st.columns([1, 1.4], gap="large")
        with numbers_col:
            m1, m2 = st.columns(2)
            m1.metric("mIoU", fmt(summary["miou"]))
            m2.metric("Pixel accuracy ", fmt(summary["accuracy"], "{:.1%}"))
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
            show_chart(
                aerial_view(a_index, float(noise), int(missed), a_shift, presenting()), width="stretch"
            )

    with avg:
        stray = st.radio(
            "On the image whose ground truth is empty, the model predicts…",
            [0, 12],
            index=0,
            format_func=lambda k: "nothing (both masks empty)" if k == 0 else f"{k} stray object pixels",
            horizontal=True,
            key="stray",
            bind=URL,
        )
        items, per_image, summary_avg = averaging(stray)
        image_row([error_overlay(p, t) for _, p, t in items], [c for c, _, _ in items], 120)
        iou_columns = [c for c in per_image.columns if c.startswith("IoU")]
        st.dataframe(dash_missing(per_image, iou_columns), hide_index=True, width="stretch")
        chart_col, text_col = st.columns([1.1, 1], gap="large")
        show_chart(averaging_view(stray, presenting()), chart_col, width="stretch")
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


lab()
