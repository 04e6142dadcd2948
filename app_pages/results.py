"""Results: every saved run; like-with-like comparisons (best chosen on validation, seeds with
spread), learning curves, a separate test view, masks, exports. Sections are functions below;
the comparison logic is `seglab.analysis.compare`, its widgets `seglab.ui.comparison_view`."""

import tempfile
from pathlib import Path

import streamlit as st

from seglab.analysis import results_table as rt
from seglab.analysis.compare import build_comparisons
from seglab.errors import SegLabError
from seglab.paths import seglab_home
from seglab.settings.classroom import Permission
from seglab.settings.config import dataset_display_name
from seglab.status import ACTIVE_STATUSES, RunStatus, is_active
from seglab.store.run_store import RunStore
from seglab.ui import classroom
from seglab.ui import comparison_view as cv
from seglab.ui import train_views as tv
from seglab.ui.common import URL, plain_disk_full, stop_page
from seglab.ui.masks_view import masks_section
from seglab.ui.store_health import queue_notice_banner, unreadable_runs_panel
from seglab.viz import results_charts as rc
from seglab.viz.charts import arch_domain, loss_domain
from seglab.viz.report import queue_studies

st.title(":material/bar_chart: Results")
store = RunStore()


@st.cache_data(show_spinner=False, max_entries=256)
def load_history(home: str, run_id: str, stamp: tuple) -> list[dict]:
    return RunStore(home).history(run_id)


@st.fragment(run_every=5)
@plain_disk_full
def watch_for_new_runs() -> None:
    """While a study trains, refresh the page whenever another run finishes."""
    from seglab.jobs import queue_summary

    counts = queue_summary()
    active = sum(counts.get(s.value, 0) for s in ACTIVE_STATUSES)
    finished = sum(r.status != RunStatus.RUNNING for r in RunStore().list_runs())
    previous = st.session_state.setdefault("rs_finished", finished)
    if finished != previous:
        st.session_state["rs_finished"] = finished
        st.rerun(scope="app")
    if active:
        st.info(f"{active} run(s) still queued or training; this page updates as each one finishes.")


def chart_downloads(chart, stem: str, key: str) -> None:
    """PNG and SVG buttons under a chart (rendered only when clicked)."""
    png_col, svg_col, _ = st.columns([1, 1, 5])
    png_col.download_button(
        "PNG", lambda: rc.chart_png(chart), f"{stem}.png", "image/png", key=f"{key}_png", on_click="ignore"
    )
    svg_col.download_button(
        "SVG",
        lambda: rc.chart_svg(chart),
        f"{stem}.svg",
        "image/svg+xml",
        key=f"{key}_svg",
        on_click="ignore",
    )


def import_uploader() -> None:
    if not classroom.can(Permission.IMPORT):
        return
    upload = st.file_uploader("Import runs from a zip exported by SegLab", type=["zip"], key="rs_import")
    if upload is not None and st.button("Import", key="rs_import_go"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "runs.zip"
            path.write_bytes(upload.getvalue())
            skipped: list[str] = []
            try:
                added = store.import_runs(path, skipped=skipped, actor=classroom.current_actor())
            except SegLabError as exc:
                st.error(f"Could not import: {exc}")
            else:
                st.success(f"Imported {len(added)} run(s)." if added else "No new runs in that zip.")
                for reason in skipped:
                    st.warning(reason[0].upper() + reason[1:])


def empty_state() -> None:
    """No runs yet: load the reference study, start the quick study, or import a zip."""
    st.markdown(
        "### No runs yet\n"
        "Saved experiments appear here. Go to the **Train** page to set up a study, load the saved "
        "reference study, or start the quick study right now: four architectures (SegNet, U-Net, "
        "strided U-Net, U-Net++) × four losses (BCE, Dice, focal, BCE with deep supervision) × one "
        "seed on small synthetic shapes, small enough for a laptop CPU."
    )
    cv.reference_offer(str(store.home))
    if st.button(":material/play_arrow: Run the quick study", key="rs_quick"):
        plan = tv.quick_study_plan()
        try:
            tv.start_plan(plan)
        except SegLabError as exc:
            st.error(f"Could not queue the quick study: {exc}")
        else:
            st.success(f"Queued {tv.plural(plan.n_runs, 'run')}. Results appear here as each one finishes.")
    with st.expander("…or import runs someone shared with you"):
        import_uploader()
    stop_page()


def filters_and_table(all_runs):
    """Study (latest by default) and column filters, the runs table; returns (shown, selected)."""
    st.subheader("Saved runs")
    study = cv.study_picker(all_runs, ALL_COMPARISONS, NAMES)
    in_study = cv.runs_of_study(all_runs, study)
    cols = st.columns(4)
    chosen = {}
    for col, (column, label) in zip(
        cols,
        [("dataset", "Dataset"), ("arch", "Architecture"), ("loss_label", "Loss"), ("status", "Status")],
        strict=True,
    ):
        options = sorted(in_study[column].dropna().astype(str).unique())
        chosen[column] = col.multiselect(
            label,
            options,
            key=f"rs_f_{column}",
            bind=URL,
            placeholder="all",
            wrap=True,
            format_func=dataset_display_name if column == "dataset" else str,  # uploads by saved name
        )
    sortable = ["created", "val_iou", "test_iou", "model", "arch", "loss", "status", "seed"]
    sort_col, order_col, _ = st.columns([1, 1, 2])
    sort_by = sort_col.selectbox(
        "Sort by", sortable, index=1, key="rs_sort", bind=URL, format_func=rt.metric_title
    )
    order = order_col.selectbox("Order", ["high → low", "low → high"], key="rs_order", bind=URL)
    ascending = order == "low → high"

    shown = rt.filter_runs(
        in_study,
        datasets=chosen["dataset"],
        archs=chosen["arch"],
        losses=chosen["loss_label"],
        statuses=chosen["status"],
    )
    shown = rt.sort_runs(shown, sort_by, ascending=ascending).reset_index(drop=True)
    table = rt.display_table(shown)
    event = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="rs_table",
        column_config={
            "val_iou": st.column_config.NumberColumn(
                "Val IoU",
                format="%.3f",
                help="Validation IoU of the epoch kept (the best on validation; the last epoch for "
                "the final run of a tuning). Picked on these images, so a little optimistic.",
            ),
            "test_iou": st.column_config.NumberColumn(
                "Test IoU", format="%.3f", help="Test IoU of that same kept checkpoint."
            ),
            "test_dice": st.column_config.NumberColumn("Test Dice", format="%.3f"),
            "lr": st.column_config.NumberColumn("LR", format="%g"),
            "model": st.column_config.TextColumn("Model"),
            "status": "Status",
            "seed": "Seed",
            "epochs_done": "Epochs done",
            "epochs": "Epochs",
            "dataset": "Dataset",
            "arch": "Architecture",
            "loss": "Loss",
            "width": "Width",
            "depth": "Depth",
            "size": "Size",
            "batch_size": "Batch",
            "group": "Study",
            "owner": st.column_config.TextColumn("Student", help="Who queued the run (classroom mode)."),
            "run_id": "Run id",
            "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
            "message": st.column_config.TextColumn("Message", width="large"),
        },
        height=min(400, 38 + 35 * len(table)),
    )
    labels = {row["run_id"]: rt.run_label(row) for row in shown.to_dict("records")}
    picked_in_table = [table.loc[i, "run_id"] for i in event.selection.rows if i < len(table)]
    st.session_state["rs_pick"] = [r for r in st.session_state.get("rs_pick", []) if r in labels]
    picked = st.multiselect(
        "Runs to compare (tick rows in the table or pick here; none = every run shown)",
        list(labels),
        key="rs_pick",
        wrap=True,
        format_func=labels.get,
    )
    selected = list(dict.fromkeys([*picked_in_table, *picked]))
    st.caption(f"{len(shown)} of {len(all_runs)} runs shown · {len(selected)} selected")
    return shown, selected


def delete_section(shown, selected) -> None:
    if not classroom.can(Permission.DELETE):
        cv.reference_manage(home)
        return
    with st.expander(f"Delete selected runs ({len(selected)})"):
        busy = set(shown.loc[shown["status"].map(is_active), "run_id"])
        deletable = [r for r in selected if r not in busy]
        if len(deletable) < len(selected):
            st.caption("Runs still queued or training are left alone; cancel them on the Train page first.")
        sure = st.checkbox(
            f"I understand: this deletes {tv.plural(len(deletable), 'run')} and their files for good.",
            key="rs_sure",
        )
        if st.button("Delete", key="rs_delete", disabled=not (sure and deletable)):
            for run_id in deletable:
                store.delete_run(run_id, actor=classroom.current_actor())
            for key in ("rs_sure", "rs_pick", "rs_table"):
                st.session_state.pop(key, None)
            st.rerun()
    cv.reference_manage(home)


def comparison_section(compare_runs):
    """Like with like: the chosen comparison, its best (on validation) and the three views."""
    st.subheader("Comparison")
    comparison = cv.pick_comparison(compare_runs, STUDIES, NAMES)
    if comparison is None:
        st.info("No runs to compare.")
        return None
    cv.best_banner(comparison)
    return comparison


def curves_tab(comparison) -> None:
    histories = {
        r["run_id"]: load_history(home, r["run_id"], (r["status"], r["epochs_done"]))
        for r in comparison.runs.to_dict("records")
    }
    long = rt.histories_frame(histories, comparison.runs)
    metrics = [m for m in rt.history_metrics(long) if m.startswith("val_") or m == "train_loss"]
    metrics = [m for m in metrics if m != "val_iou_per_class"]
    cv.curves_section(
        comparison,
        histories,
        metrics,
        loss_domain=LOSS_DOMAIN,
        arch_domain=ARCH_DOMAIN,
        downloads=chart_downloads,
    )


def export_section(shown, selected, all_runs) -> None:
    """CSV of the table, a zip of the runs, and import."""
    st.markdown("**Table** — the runs shown above, as a spreadsheet.")
    st.download_button("Download CSV", rt.to_csv_bytes(shown), "seglab_runs.csv", "text/csv", key="rs_csv")
    st.markdown("**Runs** — all files (weights, history, predictions) as a zip another SegLab can import.")
    export_ids = [
        r
        for r in (selected or list(shown["run_id"]))
        if r not in set(all_runs.loc[all_runs["status"].map(is_active), "run_id"])
    ]

    def zip_bytes() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            return store.export_runs(export_ids, Path(tmp) / "runs.zip").read_bytes()

    st.download_button(
        f"Download {tv.plural(len(export_ids), 'run')} as zip",
        zip_bytes,
        "seglab_runs.zip",
        "application/zip",
        key="rs_zip",
        disabled=not export_ids,
        on_click="ignore",
    )
    st.caption("Charts: use the PNG / SVG buttons under each chart.")
    import_uploader()
    if classroom.can(Permission.IMPORT):
        cv.reference_offer(str(store.home))  # reachable whatever is queued or trained
    st.caption(f"Runs are stored in `{seglab_home().resolve()}`.")


# ---- the page ------------------------------------------------------------------------------
watch_for_new_runs()
queue_notice_banner(key="rs_queue_notice")
unreadable_runs_panel(store, key="rs_unreadable")
if notice := st.session_state.pop("rs_notice", None):
    st.toast(notice)
if problem := st.session_state.pop("rs_error", None):  # a failed load or delete stays on the page
    st.error(problem)
records = store.list_runs()
if not records:
    empty_state()

all_runs = rt.runs_frame(records)
LOSS_DOMAIN, ARCH_DOMAIN = loss_domain(all_runs), arch_domain(all_runs)
home = str(store.home)
_studies, _names = queue_studies(home)
STUDIES, NAMES = _studies, cv.study_names(_names)
ALL_COMPARISONS = build_comparisons(all_runs, STUDIES, NAMES)

shown, selected = filters_and_table(all_runs)
delete_section(shown, selected)
compare_runs = shown[shown["run_id"].isin(selected)] if selected else shown
comparison = comparison_section(compare_runs)
compare = comparison.labelled_runs() if comparison is not None else compare_runs.iloc[0:0]

curves, val_tab, test_tab, masks_tab, export_tab = st.tabs(
    [
        ":material/show_chart: Learning curves",
        ":material/trophy: Validation comparison",
        ":material/visibility: Test IoU view",
        ":material/image: Predicted masks",
        ":material/download: Export & import",
    ],
    key="rs_tab",
    bind=URL,  # a shared link opens the same tab
)
if comparison is not None:
    with curves:
        curves_tab(comparison)
    with val_tab:
        cv.validation_section(
            comparison, loss_domain=LOSS_DOMAIN, arch_domain=ARCH_DOMAIN, downloads=chart_downloads
        )
    with test_tab:
        cv.test_section(
            comparison, loss_domain=LOSS_DOMAIN, arch_domain=ARCH_DOMAIN, downloads=chart_downloads
        )
with masks_tab:
    masks_section(store, compare, selected)
with export_tab:
    export_section(shown, selected, all_runs)

# ---- issue 26: IoU against the foreground share (seglab.ui.imbalance_view, self-contained) ----
from seglab.ui import imbalance_view  # noqa: E402

imbalance_view.imbalance_section(compare_runs, LOSS_DOMAIN)

# ---- issue 16: cross-validation table and per-class report (seglab.ui.tune_results) ----------
from seglab.ui import tune_results  # noqa: E402

tune_results.cv_section(records)
tune_results.per_class_section(records, selected)

# ---- look closer: epoch by epoch and error analysis (seglab.ui.epoch_views, self-contained) ----
from seglab.ui import epoch_views as ev  # noqa: E402

ev.results_section(store, list(compare["run_id"]))
