"""Results-page sections for issue 16: the cross-validation table of tuning studies, and the
per-class report (precision, recall, F1/Dice, IoU, row-normalised confusion matrix) of one
multi-class run. The numbers come from `seglab.analysis.tune` and `seglab.metrics.per_class`."""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from seglab.analysis.tune import cv_table_rows
from seglab.metrics.per_class import per_class_table, row_normalized_confusion
from seglab.store.run_store import RunStore
from seglab.ui.chart_view import show_chart
from seglab.ui.tables import dash_missing


def cv_section(records: list[Any]) -> None:
    """The CV table: one row per tuned configuration (nothing is shown without tuning runs)."""
    rows = cv_table_rows(records)
    if not rows:
        return
    st.subheader("Cross-validation (tuning)")
    st.caption(
        "Each configuration was trained once per fold of the training + validation images and "
        "validated after every epoch on the fold it did not see. The curves are averaged over the "
        "folds; the highest point of that mean curve chooses the configuration and the number of "
        "epochs, the same for every fold. The best one was retrained on all of them for that many "
        "epochs, its last epoch kept, and tested once (the final run): its test IoU is the honest "
        "number, the CV IoU a slightly optimistic one."
    )
    frame = pd.DataFrame(rows)
    st.dataframe(
        frame,
        hide_index=True,
        key="cv_table",
        column_config={
            "CV IoU mean": st.column_config.NumberColumn(format="%.3f"),
            "CV IoU std": st.column_config.NumberColumn(format="%.3f"),
            "final test IoU": st.column_config.NumberColumn(format="%.3f"),
        },
    )


def confusion_heatmap(share: pd.DataFrame) -> alt.Chart:
    """Altair heatmap of a row-normalised confusion matrix (truth down, prediction across)."""
    long = share.reset_index().melt(id_vars="truth", var_name="prediction", value_name="share")
    order = list(share.index)
    base = alt.Chart(long).encode(
        x=alt.X("prediction:N", sort=order, title="predicted class"),
        y=alt.Y("truth:N", sort=order, title="true class"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="share of row"),
        tooltip=["truth", "prediction", alt.Tooltip("share:Q", format=".1%")],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("share:Q", format=".0%"),
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=40 * len(order) + 40)


def multiclass_runs(records: list[Any]) -> list[Any]:
    """Finished runs of multi-class data (their test confusion matrix may be stored)."""
    out = []
    for r in records:
        if r.status != "done" or r.config.fold is not None:
            continue
        n = _num_classes(r)
        if n is not None and n > 2:
            out.append(r)
    return out


def _num_classes(record: Any) -> int | None:
    path = getattr(record, "path", None)
    if path is None:
        return None
    try:
        summary = RunStore(path.parent).files(record.id).read_summary()
    except Exception:  # an unreadable run is skipped here; the runs table reports it
        return None
    value = summary.get("num_classes")
    return int(value) if value else None


def per_class_section(records: list[Any], preferred: list[str] | None = None) -> None:
    """Per-class table and confusion heatmap of one chosen multi-class run."""
    runs = multiclass_runs(records)
    if not runs:
        return
    st.subheader("Per-class report (multi-class runs)")
    st.caption(
        "With imbalanced classes the overall accuracy hides the rare ones. Per class: precision = of the "
        "pixels predicted as the class, the share that is it; recall = of its pixels, the share found; "
        "F1 = Dice; IoU. The matrix shows, for each true class (row), where its pixels went."
    )
    ids = [r.id for r in runs]
    start = next((ids.index(i) for i in (preferred or []) if i in ids), len(ids) - 1)
    labels = {r.id: f"{r.id} · {r.config.label()}" for r in runs}
    run_id = st.selectbox("Run", ids, index=start, format_func=labels.get, key="pc_run")
    record = next(r for r in runs if r.id == run_id)
    arrays = RunStore(record.path.parent).predictions(run_id)
    if "test_confusion" not in arrays:
        st.info("This run was saved before SegLab stored test confusion matrices; train it again to see it.")
        return
    cm = np.asarray(arrays["test_confusion"])
    names = [str(n) for n in arrays.get("class_names", [])] or None
    table = per_class_table(cm, names)
    scores = ("precision", "recall", "f1", "iou")
    st.dataframe(dash_missing(table, scores), hide_index=True, key="pc_table")
    if table[[c for c in scores if c in table]].isna().any().any():
        st.caption("– : undefined, e.g. the precision of a class the model never predicts (0 / 0).")
    show_chart(confusion_heatmap(row_normalized_confusion(cm, names)), key="pc_heatmap")
