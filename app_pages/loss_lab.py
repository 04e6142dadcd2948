"""Loss lab: every registered loss with its formula, focal α/γ live, per-pixel loss maps,
class imbalance and the conventions that trip people up."""

from __future__ import annotations

import streamlit as st

from seglab.losses import list_losses, loss_info
from seglab.palette import SCHEMES
from seglab.teach import loss_lab as T
from seglab.ui import loss_lab_views as V
from seglab.ui.chart_view import presenting, show_chart
from seglab.ui.common import URL, accept_url_name
from seglab.ui.images import colour_bar_html, image_row, metric_row


def url_slider(where, label: str, key: str, default: float, low: float, high: float, step: float, **kw):
    """A slider bound to the URL (``?key=...``): a link restores it, a move replaces the URL."""
    return where.slider(label, low, high, default, step, key=key, bind=URL, **kw)


st.title(":material/trending_down: Loss lab")
st.markdown(
    "A loss turns *how wrong the prediction is* into one number that training pushes down. "
    "Different losses disagree about **which** mistakes matter, and that is what decides what "
    "a network learns. Every number on this page comes from the same loss code that trains "
    "the models."
)

# ---- 1. the catalogue -------------------------------------------------------------------
st.header("1. The losses")
names = list_losses()
for tab, name in zip(st.tabs([loss_info(n).title for n in names]), names, strict=True):
    info = loss_info(name)
    with tab:
        st.latex(info.latex)
        st.markdown(info.explanation)
        if info.params:
            st.caption(
                "Parameters: " + "; ".join(f"`{p.name}` = {p.default} ({p.help})" for p in info.params)
            )
        st.caption(f"Reference: {info.reference}")


# Sections 2-6 share the focal sliders, so they rerun together, as one fragment: a slider move
# reruns them alone, not the catalogue above nor the app's navigation and sidebar.
@st.fragment
def focal_sections() -> None:
    # ---- 2. focal loss term by term -----------------------------------------------------------
    st.header("2. Focal loss, term by term")
    c1, c2, c3, c4 = st.columns(4)
    gamma = url_slider(c1, "Focal γ (gamma)", "gamma", 2.0, 0.0, 5.0, 0.25)
    auto = c3.toggle("α = auto", False, key="auto_alpha", bind=URL, help=T.AUTO_ALPHA_HELP)
    share_help, alpha_help = "α = N_neg / (N_pos + N_neg) when α = auto.", "Background pixels get 1 − α."
    fg_share = url_slider(
        c4,
        "Foreground share (for α = auto)",
        "fg_share",
        0.05,
        0.01,
        0.5,
        0.01,
        disabled=not auto,
        help=share_help,
        format="percent",
    )
    auto_alpha = V.auto_alpha(fg_share)
    alpha_label = f"Focal α: auto gives {auto_alpha:.2f} (slider unused)" if auto else "Focal α (alpha)"
    alpha_slider = url_slider(c2, alpha_label, "alpha", 0.25, 0.0, 1.0, 0.05, disabled=auto, help=alpha_help)
    alpha = auto_alpha if auto else alpha_slider
    # Always one container, filled only when α = auto: an element that comes and goes would shift
    # every later element of the fragment, and Streamlit 1.67 then stopped writing the later
    # sliders (section 3's) into the URL (tests/test_browser_lesson.py).
    with st.container():
        if auto:
            st.latex(
                rf"\alpha = \frac{{N_{{neg}}}}{{N_{{pos}} + N_{{neg}}}} = 1 - {fg_share:.2f} = {alpha:.2f}"
            )
            st.caption("The study's choice: the rarer foreground gets the larger weight.")
    st.latex(
        rf"\ell_{{y=1}} = -{alpha:.2f}\,(1-p)^{{{gamma:g}}}\log p \qquad "
        rf"\ell_{{y=0}} = -{1 - alpha:.2f}\,p^{{{gamma:g}}}\log(1-p)"
    )
    with st.container(horizontal=True, gap="small"):
        at_examples, kept_03, kept_01 = V.focal_numbers(alpha, gamma)
        for (p_true, what), v in zip(V.EXAMPLE_PIXELS, at_examples, strict=True):
            st.metric(
                f"Focal loss at p = {p_true} ({what})",
                f"{v['focal']:.4f}",
                f"{v['focal'] / v['bce']:.1%} of BCE ({v['bce']:.3f})",
                "off",
                help=f"One foreground pixel (y = 1) predicted with p = {p_true}.",
                delta_arrow="off",
                width="stretch",
            )
    curves_spec, modulating_spec, gradient_spec = V.focal_views(alpha, gamma, presenting())
    show_chart(curves_spec)
    left, right = st.columns(2)
    with left:
        st.markdown(
            "**The modulating factor** $(1-p_t)^\\gamma$, with $p_t$ the probability of the true "
            "class, is what turns BCE into focal loss. Larger γ pushes it to 0 sooner: easy pixels "
            "are switched off, and fairly hard ones lose much of their weight too (at "
            f"γ = {gamma:g} a pixel with p_t = 0.3 keeps {kept_03:.0%}, one with "
            f"p_t = 0.1 keeps {kept_01:.0%}); only the hardest keep almost full weight."
        )
        show_chart(modulating_spec)
    with right:
        st.markdown(
            "**The gradient** with respect to the logit z is what actually trains the network. "
            "For BCE it is simply p − y. Focal loss flattens it for confident, correct pixels "
            "(p near y), so those stop pulling on the weights."
        )
        show_chart(gradient_spec)

    # ---- 3. a realistic prediction: where the loss comes from ------------------------------------
    st.header("3. Easy and hard pixels in a real prediction")
    c1, c2 = st.columns([3, 1])
    wrong_help = "0 = sharp and correct; 1 = shifted, blurred, unsure and noisy."
    wrong = url_slider(c1, "How wrong is the prediction?", "wrong", 0.4, 0.0, 1.0, 0.05, help=wrong_help)
    seed = c2.number_input("Sample", 0, 99, 1, key="sample", bind=URL)
    pictures = V.prediction_pictures(seed, wrong)
    image_row(
        pictures[:4],
        [
            "Image",
            "True mask",
            "Predicted probability p (dark 0 → yellow 1)",
            "Errors at p ≥ 0.5: green TP, red FP, blue FN",
        ],
    )
    share, bars_spec = V.confidence_view(seed, wrong, alpha, gamma, presenting())
    left, right = st.columns([1, 2])
    with left:
        st.metric(
            "Easy pixels (p_t > 0.5)",
            f"{share['easy_fraction']:.1%}",
            help="p_t: probability of the true class.",
        )
        st.metric("Easy pixels' share of BCE", f"{share['bce_share']:.1%}")
        st.metric(f"Easy pixels' share of focal (γ = {gamma:g})", f"{share['focal_share']:.1%}")
    with right:
        show_chart(bars_spec)
    st.markdown(
        f"Here {share['easy_fraction']:.0%} of the pixels are already right, and under BCE they still "
        f"produce {share['bce_share']:.0%} of the loss: effort spent polishing what is done. The focal "
        f"factor cuts their share to {share['focal_share']:.0%}. Set *how wrong* to 0 (a nearly finished "
        "model) to see the effect at its strongest, then move γ."
    )

    # ---- 4. per-pixel loss map ----------------------------------------------------------------
    st.header("4. Which pixels does each loss punish?")
    start = names.index("focal") if "focal" in names else 0
    accept_url_name("loss", names, lambda n: loss_info(n).title)
    chosen = st.selectbox(
        "Loss", names, index=start, format_func=lambda n: loss_info(n).title, key="loss", bind=URL
    )
    info = loss_info(chosen)
    extra = {}
    free_params = [p for p in info.params if p.name not in ("alpha", "gamma")]
    with st.container():  # always there, filled when the loss has parameters of its own (see section 2)
        for col, spec in zip(st.columns(len(free_params)) if free_params else [], free_params, strict=True):
            key = f"{chosen}_{spec.name}"
            lo, hi, step = float(spec.min), float(spec.max), float(spec.step)
            extra[spec.name] = url_slider(
                col, spec.name, key, float(spec.default), lo, hi, step, help=spec.help
            )
    params = T.loss_params(chosen, alpha, gamma, **extra)  # one α on the page: section 2's
    loss_image, top, mean = V.loss_map(chosen, seed, wrong, tuple(sorted(params.items())))
    left, mid, right = st.columns([1, 1.25, 1.1])
    left.image(
        pictures[4], caption="The prediction's errors (as above)", width="stretch", output_format="PNG"
    )
    mid.image(loss_image, caption="Loss of every pixel", width="stretch", output_format="PNG")
    mid.html(colour_bar_html(SCHEMES["heat"], 0.0, top, "loss per pixel"))
    with right:
        st.metric(f"Mean {info.title}", f"{mean:.4f}", help="Mean over the pixels of this image.")
        st.markdown(info.pixel_map_note)
        if info.uses_aux:
            st.info(
                "Deep supervision also scores a network's side outputs. Here they are stand-ins: the "
                "prediction seen at 1/2 and 1/4 resolution, blurrier at the edges. Raise aux_weight and "
                "the edges, where the coarse heads are wrong, weigh more."
            )
    st.caption(
        "Bright pixels are where this loss's value comes from: each pixel's share of it (the map's "
        "mean is the loss). That is not how hard the loss pushes a pixel: for Dice and Tversky the "
        "push on p is the same for every pixel of a class. Compare BCE (every wrong pixel, most of all "
        "confident mistakes), Dice (each error divided by one batch-wide denominator, 2·TP + FP + FN, so "
        "every wrong pixel weighs the same, more when the batch holds little foreground) and focal (easy "
        "pixels almost black)."
    )

    # ---- 5. class imbalance ----------------------------------------------------------------
    st.header("5. Class imbalance: the same mistake, different verdicts")
    st.markdown(
        "Each image below has 4 096 pixels. In every one exactly **16 foreground pixels are "
        "missed** (p = 0.05) and every other pixel is right (p_t = 0.95). Only the size of the "
        "object changes."
    )
    shares, as_percent = list(T.IMBALANCE_SHARES), "{:.1%}".format
    current = st.select_slider(
        "Object size (share of the image)", shares, 0.02, format_func=as_percent, key="imbalance", bind=URL
    )
    imbalance_spec, at_current = V.imbalance_view(gamma, current, presenting())
    left, right = st.columns([3, 2])
    show_chart(imbalance_spec, left)
    with right:
        for loss, value in at_current:
            st.metric(f"{loss} at {current:.1%} foreground", f"{value:.4f}")
        st.caption(f"The 16 missed pixels are {16 / max(16, round(current * 4096)):.0%} of this object.")
    st.markdown(
        "**BCE** averages over all pixels, so it charges the same whatever the object's size: missing "
        "most of a tiny object costs as little as missing a sliver of a big one. **Dice** is a ratio "
        "over the object, so the tiny object's loss is near its maximum. **Focal** with α = auto, "
        "counted here on each image (α = 1 − its share, not section 2's slider), rises as the "
        "foreground shrinks, but far less steeply than Dice."
    )
    st.subheader("Batch-level or per-image Dice?")
    st.markdown(
        "SegLab's Dice loss sums over the **whole batch**: one ratio per class. Take a batch of two "
        "images, one with a 16-pixel object and one with a 1024-pixel object. Batch-level Dice "
        "charges missing the *whole* small object exactly as much as missing 16 pixels of the large "
        "one: each wrong pixel is divided by the same batch denominator. **Per-image** Dice (one ratio "
        "per image, then averaged) is where a small object counts as much as a large one."
    )
    st.dataframe(V.dice_batch_table(), hide_index=True)

    # ---- 6. conventions that trip people -----------------------------------------------------
    st.header("6. Conventions that trip people up")
    t1, t2, t3, t4 = st.tabs(
        ["Logits vs probabilities", "Which α?", "Sigmoid vs softmax focal", "Dice on empty masks"]
    )
    with t1:
        st.markdown(
            "`*_with_logits` losses apply the sigmoid themselves. Feed them probabilities and "
            "σ runs twice: a prediction in [0, 1] becomes 0.5–0.73, so no pixel can ever be "
            "confidently background. The loss stalls at a floor even for a perfect model."
        )
        v = V.pitfalls(seed, wrong, gamma)[0]
        metric_row(
            [
                ("BCE given logits (right)", f"{v['right']:.4f}"),
                ("BCE given probabilities (σ twice)", f"{v['twice']:.4f}"),
                ("σ twice: floor for a perfect prediction", f"{v['floor']:.4f}"),
            ]
        )
    with t2:
        v = V.pitfalls(seed, wrong, gamma)[1]
        st.markdown(
            "RetinaNet's α = 0.25 multiplies the **foreground** term by 0.25 and background by 0.75: "
            "it *down-weights* the rare class, because γ already silences the many easy negatives. "
            f"The study's α = N_neg/(N_pos+N_neg) does the opposite: counted on this sample image "
            f"({v['fg_share']:.1%} foreground, not section 2's slider) it gives α = {v['auto_alpha']:.3f}. "
            "Always check which one a paper means."
        )
        metric_row(
            [
                ("Focal loss, α = 0.25 (RetinaNet)", f"{v['retina']:.4f}"),
                (f"Focal loss, α = {v['auto_alpha']:.3f} (class frequency)", f"{v['study']:.4f}"),
            ]
        )
    with t3:
        v = V.pitfalls(seed, wrong, gamma)[2]
        st.markdown(
            "One pixel, three classes, true class 1. Softmax makes the classes compete "
            "(probabilities sum to 1); one-vs-rest runs an independent sigmoid per class and "
            "adds up three binary focal losses. Same logits, different losses and gradients."
        )
        st.dataframe(
            v["table"],
            hide_index=True,
            column_config={c: st.column_config.NumberColumn(format="%.3f") for c in v["numbers"]},
        )
        metric_row(
            [
                (f"Softmax focal (γ = {gamma:g})", f"{v['softmax_focal']:.4f}"),
                (f"One-vs-rest sigmoid focal (γ = {gamma:g})", f"{v['one_vs_rest_focal']:.4f}"),
            ]
        )
    with t4:
        st.markdown(
            "With an empty true mask, Dice loss = 1 − s / (Σp + s): the smoothing term s, not "
            "the model, decides the value. s = 0 gives the worst loss, 1, for the faintest "
            "false alarm (and 0/0 for an exactly empty prediction)."
        )
        smooth = url_slider(st, "Smoothing s", "smooth", 1.0, 0.0, 10.0, 0.1)
        empty = V.empty_mask_dice(smooth)
        metric_row(
            [
                (
                    f"{k} false alarms",
                    f"{d['loss']:.4f}",
                    f"Dice loss when the prediction adds up to Σp = {d['sum_p']:.2f}.",
                )
                for k, d in empty.items()
            ]
        )


focal_sections()

# ---- 7. predict, then reveal (issue 26: seglab.ui.imbalance_lesson) --------------------------
from seglab.ui.imbalance_lesson import predict_then_reveal  # noqa: E402

predict_then_reveal()
