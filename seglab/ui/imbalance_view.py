"""Results: the imbalance view (issue 26), and the offer to load the shipped imbalance study.

Shown when the runs on the page span two or more foreground shares: test IoU against the
foreground share, one line per loss (mean over seeds, 95 % interval band), at p ≥ 0.5 or at the
threshold each run chose on validation, and how many runs collapsed in each cell. The numbers
come from `seglab.analysis.imbalance`; the chart from `seglab.viz.imbalance_charts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from seglab.analysis import imbalance as imb
from seglab.analysis.collapse import COLLAPSE_IOU
from seglab.errors import SegLabError
from seglab.settings.classroom import Permission
from seglab.store import reference
from seglab.ui import classroom
from seglab.ui.chart_view import show_chart
from seglab.ui.common import URL, accept_url_name
from seglab.viz.imbalance_charts import iou_vs_share

THRESHOLD_LABELS = {"0.5": "p ≥ 0.5 (the usual)", "validation": "threshold chosen on validation"}


def imbalance_section(runs: pd.DataFrame, loss_domain: Sequence[str] = ()) -> None:
    """The imbalance view for ``runs`` (a `runs_frame`); nothing when they span one share only."""
    if runs.empty or not imb.has_imbalance_axis(runs):
        return
    st.subheader(":material/balance: Imbalance: IoU against the foreground share")
    st.markdown(
        "Each foreground share is its own comparison (a model is never ranked against one trained on "
        "other data). Here they stand side by side: how does each loss cope as the objects get rarer?"
    )
    accept_url_name(
        "rs_imb_threshold", list(THRESHOLD_LABELS), THRESHOLD_LABELS.get
    )  # ?rs_imb_threshold=validation works too
    which = st.segmented_control(
        "Score the test images at",
        list(THRESHOLD_LABELS),
        default="0.5",
        format_func=THRESHOLD_LABELS.get,
        key="rs_imb_threshold",
        bind=URL,
        help="A class-weighted loss pushes the foreground's probabilities up, so p ≥ 0.5 may not be its "
        "best cut. Each run picked its own threshold on its validation images (0.05 … 0.95); the test "
        "images played no part in that choice.",
    )
    which = which or "0.5"
    metric = imb.AT_THRESHOLD[which]
    cells = imb.imbalance_cells(runs, metric)
    if cells["n"].sum() == 0:
        st.info("These runs recorded no score at a validation threshold (trained before SegLab kept one).")
        return
    chart = iou_vs_share(cells, title=imb.THRESHOLD_TITLES[which], domain=loss_domain)
    show_chart(chart, width="content", theme=None)
    st.caption(
        f"Test IoU {imb.THRESHOLD_TITLES[which]}; {imb.INTERVAL_NOTE}. Ringed points: cells where some "
        "run collapsed."
    )
    st.markdown(
        f"**Collapsed runs per cell** (validation IoU below {COLLAPSE_IOU:g}: the model learned to "
        "predict (almost) nothing)"
    )
    st.dataframe(imb.collapse_table(runs), key="rs_imb_collapse")
    with st.expander("The numbers behind the chart"):
        table = cells.assign(
            share=[imb.share_text(s) for s in cells["fg_share"]],
            collapsed=[f"{k} of {n}" for k, n in zip(cells["n_collapsed"], cells["n_runs"], strict=True)],
        )[["share", "model", "n", "mean", "low", "high", "collapsed"]]
        st.dataframe(
            table.rename(
                columns={"mean": "test IoU (mean)", "low": "95 % from", "high": "95 % to", "n": "seeds"}
            ),
            hide_index=True,
            key="rs_imb_numbers",
        )


def offer_imbalance_study(home: str) -> None:
    """A button that loads the shipped imbalance study (when it ships and is not loaded yet)."""
    if not reference.reference_available(reference.IMBALANCE_ZIP):
        return
    if reference.reference_run_ids(home, reference.IMBALANCE_GROUP):
        return
    if st.button(":material/balance: Load the imbalance study", key="rs_imbalance"):
        try:
            added = reference.load_reference_study(home, reference.IMBALANCE_ZIP)
        except (SegLabError, OSError) as exc:
            st.error(f"The imbalance study cannot be loaded: {exc}")
            return
        st.session_state["rs_study"] = reference.IMBALANCE_GROUP
        st.session_state["rs_notice"] = f"Loaded the imbalance study ({len(added)} runs)."
        st.rerun()
    st.caption(
        "The imbalance study: U-Net with five losses (BCE, class-weighted BCE, focal with α = 0.5, focal "
        "with α = auto, Dice) on rare foregrounds (down to 1 % of the pixels), five seeds each, on a CPU."
    )


def manage_imbalance_study(home: str) -> None:
    """Once loaded: a button to remove the imbalance study again."""
    ids = reference.reference_run_ids(home, reference.IMBALANCE_GROUP)
    if not ids:
        return
    with st.expander(f"Imbalance study loaded ({len(ids)} runs)"):
        st.caption("Saved results shipped with SegLab (no weights: the Inside page cannot open them).")
        if classroom.can(Permission.DELETE) and st.button(
            "Delete the imbalance study", key="rs_imbalance_delete"
        ):
            n = reference.delete_reference_study(
                home, reference.IMBALANCE_GROUP, actor=classroom.current_actor()
            )
            for key in ("rs_study", "rs_comparison", "rs_pick", "rs_table"):
                st.session_state.pop(key, None)
            st.session_state["rs_notice"] = f"Deleted the imbalance study ({n} runs)."
            st.rerun()
