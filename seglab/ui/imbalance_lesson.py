"""The 'predict, then reveal' step (Loss lab): guess which loss wins at 2 % foreground, then see the
shipped imbalance study's answer and open the study on the Results page. Logic:
`seglab.teach.imbalance_lesson`."""

from __future__ import annotations

import streamlit as st

from seglab.store import reference
from seglab.teach import imbalance_lesson as L
from seglab.ui.common import URL, accept_url_name


def predict_then_reveal() -> None:
    st.header("7. Predict, then reveal: which loss wins at 2 % foreground?")
    st.markdown(
        "Picture images in which only **2 pixels in 100** belong to the objects. Plain BCE can score "
        "well by calling everything background. Focal loss is often said to fix this, but it changes "
        "two things at once: a **class weight α** (rare foreground pixels count more) and **focusing γ** "
        "(easy pixels count less). Which of these five losses trains the best U-Net? Commit to a guess "
        "first; then reveal what the saved imbalance study measured."
    )
    accept_url_name("ll_imb_guess", list(L.CHOICES), L.CHOICES.get)
    guess = st.radio(
        "Your guess", list(L.CHOICES), index=None, format_func=L.CHOICES.get, key="ll_imb_guess", bind=URL
    )
    table = L.study_at_share()
    if table is None:
        st.info("The imbalance study is not installed here, so there is nothing to reveal yet.")
        return
    reveal = st.toggle(
        "Reveal the study's answer",
        key="ll_imb_reveal",
        bind=URL,
        disabled=guess is None,
        help="Make a guess first.",
    )
    if not (reveal and guess):
        return
    (st.success if guess == table.iloc[0]["loss"] else st.warning)(L.reveal_sentence(guess, table))
    shown = table.assign(
        collapsed=[f"{k} of {n}" for k, n in zip(table["collapsed"], table["runs"], strict=True)]
    )
    st.dataframe(
        shown[["what", "val_iou", "test_iou", "test_iou_at_threshold", "collapsed"]].rename(
            columns={
                "what": "loss",
                "val_iou": "validation IoU (chooses)",
                "test_iou": "test IoU, p ≥ 0.5",
                "test_iou_at_threshold": "test IoU, threshold from validation",
                "collapsed": "collapsed runs",
            }
        ),
        hide_index=True,
        key="ll_imb_table",
    )
    st.caption(
        "Means over the study's seeds (each seed with its own draw of the data). A collapsed run predicts "
        "(almost) no foreground: validation IoU below 0.05. Compare the class-weighted BCE with focusing "
        "only: which half of focal loss stops the collapse?"
    )
    if st.button(":material/bar_chart: Open the imbalance study on Results", key="ll_imb_open"):
        if not reference.reference_run_ids(None, reference.IMBALANCE_GROUP):
            reference.load_reference_study(None, reference.IMBALANCE_ZIP)
        st.session_state["rs_study"] = reference.IMBALANCE_GROUP
        st.switch_page("app_pages/results.py")
