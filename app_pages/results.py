"""Results: every saved run, learning curves, the final test comparison, masks, exports."""

import tempfile
from pathlib import Path

import streamlit as st

from seglab import results_table as rt
from seglab.charts import arch_domain, loss_domain
from seglab.errors import SegLabError
from seglab.palette import FN_COLOR, FP_COLOR, TP_COLOR
from seglab.status import ACTIVE_STATUSES, RunStatus, is_active
from seglab.store import RunStore, seglab_home
from seglab.ui import results_charts as rc
from seglab.ui import train_views as tv
from seglab.ui.chart_view import show_chart
from seglab.ui.common import URL, stop_page
from seglab.ui.images import upscale
from seglab.ui.store_health import queue_notice_banner, unreadable_runs_panel

st.title(":material/bar_chart: Results")
store = RunStore()


@st.cache_data(show_spinner=False, max_entries=256)
def load_history(home: str, run_id: str, stamp: tuple) -> list[dict]:
    return RunStore(home).history(run_id)


@st.cache_data(show_spinner=False, max_entries=64)
def load_predictions(home: str, run_id: str, stamp: tuple) -> dict:
    return RunStore(home).predictions(run_id)


@st.fragment(run_every=5)
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
    upload = st.file_uploader("Import runs from a zip exported by SegLab", type=["zip"], key="rs_import")
    if upload is not None and st.button("Import", key="rs_import_go"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "runs.zip"
            path.write_bytes(upload.getvalue())
            skipped: list[str] = []
            try:
                added = store.import_runs(path, skipped=skipped)
            except SegLabError as exc:
                st.error(f"Could not import: {exc}")
            else:
                st.success(f"Imported {len(added)} run(s)." if added else "No new runs in that zip.")
                for reason in skipped:
                    st.warning(reason[0].upper() + reason[1:])


watch_for_new_runs()
queue_notice_banner(key="rs_queue_notice")
unreadable_runs_panel(store, key="rs_unreadable")
records = store.list_runs()
if not records:
    st.markdown(
        "### No runs yet\n"
        "Saved experiments appear here. Go to the **Train** page to set up a study, or start the "
        "quick study right now: four architectures (SegNet, U-Net, strided U-Net, U-Net++) × four losses "
        "(BCE, Dice, focal, BCE with deep supervision) on small synthetic shapes, small enough for a "
        "laptop CPU."
    )
    if st.button(":material/play_arrow: Run the quick study", type="primary", key="rs_quick"):
        plan = tv.quick_study_plan()
        tv.start_plan(plan)
        st.success(f"Queued {tv.plural(plan.n_runs, 'run')}. Results appear here as each one finishes.")
    with st.expander("…or import runs someone shared with you"):
        import_uploader()
    stop_page()

all_runs = rt.runs_frame(records)
LOSS_DOMAIN, ARCH_DOMAIN = loss_domain(all_runs), arch_domain(all_runs)
home = str(store.home)

# ---- filters and the table --------------------------------------------------------------
st.subheader("Saved runs")
cols = st.columns(4)
chosen = {}
for col, (column, label) in zip(
    cols,
    [("dataset", "Dataset"), ("arch", "Architecture"), ("loss_label", "Loss"), ("status", "Status")],
    strict=True,
):
    options = sorted(all_runs[column].dropna().astype(str).unique())
    chosen[column] = col.multiselect(
        label, options, key=f"rs_f_{column}", bind=URL, placeholder="all", wrap=True
    )
sortable = ["created", "test_iou", "val_iou", "model", "arch", "loss", "status", "seed"]
sort_col, order_col, _ = st.columns([1, 1, 2])
sort_by = sort_col.selectbox(
    "Sort by", sortable, index=1, key="rs_sort", bind=URL, format_func=rt.metric_title
)
order = order_col.selectbox("Order", ["high → low", "low → high"], key="rs_order", bind=URL)
ascending = order == "low → high"

shown = rt.filter_runs(
    all_runs,
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
        "val_iou": st.column_config.NumberColumn("Val IoU", format="%.3f"),
        "test_iou": st.column_config.NumberColumn("Test IoU", format="%.3f"),
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
            store.delete_run(run_id)
        for key in ("rs_sure", "rs_pick", "rs_table"):
            st.session_state.pop(key, None)
        st.rerun()

# ---- what to compare -------------------------------------------------------------------
compare = shown[shown["run_id"].isin(selected)] if selected else shown
datasets = sorted(compare["dataset"].dropna().unique())
if len(datasets) > 1:
    dataset = st.selectbox(
        "Compare on dataset",
        datasets,
        key="rs_dataset",
        bind=URL,
        help="Scores on different data do not compare.",
    )
    compare = compare[compare["dataset"] == dataset]
compare = rt.add_model_labels(compare)
best = rt.best_model(compare)
if best is not None:
    st.success(best.sentence(), icon=":material/trophy:")
else:
    st.info("No finished run among these yet: the test comparison appears when the first run is done.")

curves_tab, test_tab, masks_tab, export_tab = st.tabs(
    [
        ":material/show_chart: Learning curves",
        ":material/trophy: Test comparison",
        ":material/image: Predicted masks",
        ":material/download: Export & import",
    ]
)

with curves_tab:
    histories = {
        r["run_id"]: load_history(home, r["run_id"], (r["status"], r["epochs_done"]))
        for r in compare.to_dict("records")
    }
    long = rt.histories_frame(histories, compare)
    metrics = [m for m in rt.history_metrics(long) if m.startswith("val_") or m == "train_loss"]
    if not metrics:
        st.info("No finished epochs yet.")
    else:
        metric = st.selectbox("Metric", metrics, key="rs_metric", bind=URL, format_func=rt.metric_title)
        st.markdown(f"**{rt.metric_title(metric)} vs epoch, one panel per architecture, coloured by loss**")
        st.caption("Hover a point for the run's details; click a legend entry to highlight it.")
        by_arch = rc.curves_by_arch(long, metric, loss_domain=LOSS_DOMAIN, arch_order=ARCH_DOMAIN)
        show_chart(by_arch, width="content")
        chart_downloads(by_arch, f"{metric}_by_architecture", "rs_dl_arch")
        st.markdown(f"**{rt.metric_title(metric)} vs epoch, one panel per loss, coloured by architecture**")
        by_loss = rc.curves_by_loss(long, metric, arch_domain=ARCH_DOMAIN, loss_order=LOSS_DOMAIN)
        show_chart(by_loss, width="content")
        chart_downloads(by_loss, f"{metric}_by_loss", "rs_dl_loss")

with test_tab:
    summary = rt.aggregate_seeds(compare, "test_iou")
    if summary.empty:
        st.info("The test comparison needs at least one finished run.")
    else:
        st.caption("Mean over seeds (± standard deviation when there are several); ★ and red outline = best.")
        grid = rt.arch_loss_grid(compare, "test_iou")
        heatmap = rc.arch_loss_heatmap(grid, "test_iou", loss_order=LOSS_DOMAIN, arch_order=ARCH_DOMAIN)
        show_chart(heatmap, width="content", theme=None)
        chart_downloads(heatmap, "test_iou_heatmap", "rs_dl_heat")
        several = bool((summary["n_seeds"] > 1).any())
        st.markdown(
            "**Ranking**"
            + (" — black bars: ± one standard deviation over seeds; dots: single runs" if several else "")
        )
        ranking = rc.ranked_bars(summary, "test_iou", loss_domain=LOSS_DOMAIN, runs=rt.finished(compare))
        show_chart(ranking, width="content", theme=None)
        chart_downloads(ranking, "test_iou_ranking", "rs_dl_rank")
        table_view = summary.drop(columns=["run_ids"]).rename(
            columns={
                "mean": "test IoU (mean)",
                "std": "± std",
                "n_seeds": "seeds",
                "arch": "architecture",
                "loss_label": "loss",
            }
        )
        st.dataframe(
            table_view,
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.3f")
                for c in ("test IoU (mean)", "± std", "min", "max")
            },
        )

with masks_tab:
    done = rt.finished(compare)
    if done.empty:
        st.info("Predicted masks appear when a run has finished.")
    else:
        if selected:
            grid_runs = [r for r in selected if r in set(done["run_id"])][:6]
        else:
            grid_runs = list(rt.sort_runs(done, "test_iou")["run_id"][:4])
            st.caption("Showing the four best runs; select runs above to choose others (up to six).")
        c1, c2, c3 = st.columns(3)
        split = c1.radio("Images from", ["test", "val"], horizontal=True, key="rs_split", bind=URL)
        n_images = c2.slider("Images", 1, 8, 4, key="rs_n_images", bind=URL)
        errors = c3.toggle(
            "Show TP / FP / FN",
            key="rs_errors",
            bind=URL,
            help="For binary masks: colour each pixel by outcome.",
        )
        if errors:
            st.markdown(
                f"<span style='color:{TP_COLOR}'>■</span> true positive &nbsp; "
                f"<span style='color:{FP_COLOR}'>■</span> false positive &nbsp; "
                f"<span style='color:{FN_COLOR}'>■</span> false negative &nbsp; ■ correct background",
                unsafe_allow_html=True,
            )
        predictions = {
            r["run_id"]: load_predictions(home, r["run_id"], (r["status"], r["epochs_done"]))
            for r in done.to_dict("records")
            if r["run_id"] in grid_runs
        }
        names = {r["run_id"]: f"{r['model']} · seed {r['seed']}" for r in done.to_dict("records")}
        header = st.columns(2 + len(grid_runs))
        for col, text in zip(header, ["Image", "Ground truth", *[names[r] for r in grid_runs]], strict=True):
            col.markdown(f"**{text}**")
        for index in range(n_images):
            tiles = rc.prediction_tiles(predictions, grid_runs, split, index, errors=errors)
            if not tiles:
                break
            for col, (image, caption) in zip(st.columns(len(tiles)), tiles, strict=True):
                if image is None:
                    col.caption(caption)
                else:
                    col.image(upscale(image, 160), caption=caption, width="stretch", output_format="PNG")

with export_tab:
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
    st.caption(f"Runs are stored in `{seglab_home().resolve()}`.")

# ---- issue 16: cross-validation table and per-class report (seglab.ui.tune_results) ----------
from seglab.ui import tune_results  # noqa: E402

tune_results.cv_section(records)
tune_results.per_class_section(records, selected)

# ---- look closer: epoch by epoch and error analysis (seglab.ui.epoch_views, self-contained) ----
from seglab.ui import epoch_views as ev  # noqa: E402

ev.results_section(store, list(compare["run_id"]))
