"""Results page sections for honest comparisons (Streamlit; the logic lives in `seglab.analysis.compare`).

* `study_picker`: which study to look at, the latest one by default;
* `pick_comparison`: splits the runs shown into like-with-like comparisons, warns (naming the
  differing settings) when they mix, and names the shared settings once;
* `best_banner`: the best cell chosen on validation, its test IoU beside it, and why;
* `curves_section`, `validation_section`, `test_section`: mean ± spread over seeds;
* `reference_offer` / `reference_manage`: the saved reference study in ``assets/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from seglab.analysis import compare as cmp
from seglab.analysis import stats
from seglab.analysis.results_table import LOWER_IS_BETTER, metric_title
from seglab.errors import SegLabError
from seglab.settings.classroom import Permission
from seglab.store import reference
from seglab.ui import classroom
from seglab.ui.chart_view import show_chart
from seglab.ui.common import URL
from seglab.viz import results_charts as rc

ALL_RUNS = "__all__"
NO_STUDY = "__none__"
CHECKPOINT_LABELS = {"best": "the kept epoch (best on validation)", "last": "the last epoch"}


def study_names(names: Mapping[str, str]) -> dict[str, str]:
    """Queue names of studies plus the reference study's name."""
    return {
        **names,
        reference.REFERENCE_GROUP: reference.REFERENCE_NAME,
        reference.IMBALANCE_GROUP: reference.IMBALANCE_NAME,
    }


def study_picker(
    all_runs: pd.DataFrame, comparisons: Sequence[cmp.Comparison], names: Mapping[str, str]
) -> str:
    """A select box of studies, newest first, defaulting to the latest study (the study
    whose newest run is newest, even a single-run one, before runs outside any study). Returns a group id, `NO_STUDY` or `ALL_RUNS`."""
    latest: dict[str, float] = {}
    for c in comparisons:
        for g in c.groups or [NO_STUDY]:
            latest[g] = max(latest.get(g, 0.0), c.latest)
    if "group" in all_runs and (all_runs["group"] == "").any():
        latest.setdefault(NO_STUDY, 0.0)
    options = sorted(latest, key=lambda g: -latest[g])
    # The really latest study (by its newest run), even a single-run one; runs outside any study
    # (command-line runs) are shown first only when there is no study at all.
    default = next((o for o in options if o != NO_STUDY), NO_STUDY)
    options = [default, *[o for o in options if o != default], ALL_RUNS]
    if st.session_state.get("rs_study") not in options:
        st.session_state.pop("rs_study", None)

    def label(option: str) -> str:
        if option == ALL_RUNS:
            return "All runs (every study together)"
        if option == NO_STUDY:
            return "Runs outside any study"
        text = names.get(option, option)
        return f"{text} (latest)" if option == default else text

    return st.selectbox(
        "Study",
        options,
        index=0,
        key="rs_study",
        bind=URL,
        format_func=label,
        help="Results compare the runs of one study; the latest study is shown first.",
    )


def runs_of_study(frame: pd.DataFrame, study: str) -> pd.DataFrame:
    if study == ALL_RUNS or frame.empty:
        return frame
    if study == NO_STUDY:
        return frame[frame["group"] == ""]
    return frame[frame["group"] == study]


def pick_comparison(
    runs: pd.DataFrame, studies: Mapping[str, Any], names: Mapping[str, str]
) -> cmp.Comparison | None:
    """Split ``runs`` into comparisons (scored at the checkpoint the user picks); warn when they
    mix settings and let the user pick one (default: the latest study); then name the shared
    settings once."""
    checkpoint = st.radio(
        "Score each run at",
        list(cmp.CHECKPOINT_RULES),
        horizontal=True,
        key="rs_checkpoint",
        bind=URL,
        format_func=CHECKPOINT_LABELS.get,
        help="The kept epoch was chosen on the validation images, which flatters its validation "
        "score a little; the last epoch involves no choice.",
    )
    comparisons = cmp.build_comparisons(runs, studies, names, checkpoint=checkpoint or "best")
    if not comparisons:
        return None
    if warning := cmp.mixing_warning(comparisons):
        st.warning(warning + " Pick one below.", icon=":material/warning:")
        differ = cmp.differing_settings(comparisons)
        labels = [
            f"{c.title()} · {len(c.cells)} model(s), {len(c.runs)} run(s) · "
            + ", ".join(f"{f}={c.settings.get(f, 'varied')}" for f in differ)
            for c in comparisons
        ]
        index = st.selectbox(
            "Comparison",
            range(len(comparisons)),
            format_func=lambda i: labels[i],
            key="rs_comparison",
        )
        chosen = comparisons[index if index is not None and index < len(comparisons) else 0]
    else:
        chosen = comparisons[0]
    varied = ", ".join(chosen.varied) or "nothing (one model)"
    st.markdown(
        f"**Comparing {len(chosen.cells)} model(s) over {len(chosen.runs)} run(s); varied: {varied}.**"
    )
    st.caption(f"**Shared settings** (the same for every run below): {shared_settings_words(chosen)}")
    return chosen


def shared_settings_words(comparison: cmp.Comparison) -> str:
    """The comparison's shared settings (those `Comparison.settings_text` keeps) in words."""
    from seglab.analysis.settings_words import readable_settings

    kept = {p.split("=", 1)[0] for p in comparison.settings_text().split(", ") if "=" in p}
    return readable_settings({k: v for k, v in comparison.settings.items() if k in kept})


def best_banner(comparison: cmp.Comparison) -> None:
    """The winner chosen on validation, its test IoU beside it, and one sentence on why."""
    if comparison.best is None:
        st.info("No finished run among these yet: the comparison appears when the first run is done.")
        return
    best = comparison.best
    flagged = bool(best.flags()) or not best.complete or bool(comparison.passed_over)
    (st.warning if flagged else st.success)(comparison.best_sentence(), icon=":material/trophy:")
    st.caption(cmp.TEST_SELECTION_SENTENCE + " " + comparison.checkpoint_sentence())
    statements = [
        comparison.runner_up_sentence(),
        comparison.better_sentence(),
        comparison.seed_plan_sentence(),
    ]
    for sentence in filter(None, statements):
        st.markdown(sentence)
    st.caption(comparison.statistics_basis() + " " + stats.BOOTSTRAP_RULE)
    st.caption("Rules: " + cmp.COUNTING_RULE + " " + stats.HOLM_RULE)


def cells_table(comparison: cmp.Comparison) -> None:
    """Every cell: mean ± std over seeds and n, ranked by validation IoU; test IoU beside it."""
    table = comparison.cells_frame()
    if table.empty:
        return
    by_label = {c.label: c for c in comparison.cells}

    def interval(label: str, which: str) -> str:
        cell = by_label[label]
        ci = cell.val_interval() if which == "val" else cell.test_interval()
        return "–" if ci is None else ci.text()

    table["val_ci"] = [interval(m, "val") for m in table["model"]]
    table["test_ci"] = [interval(m, "test") for m in table["model"]]
    shown = table[
        [
            "rank",
            "model",
            "val_iou",
            "val_ci",
            "test_iou",
            "test_ci",
            "seeds",
            "diverged",
            "collapsed",
            "flags",
        ]
    ].rename(
        columns={
            "rank": "rank (by val IoU)",
            "val_iou": "val IoU (mean ± std)",
            "val_ci": "val IoU 95 % interval",
            "test_iou": "test IoU (mean ± std)",
            "test_ci": "test 95 % interval",
            "seeds": "seeds finished / asked",
        }
    )
    st.dataframe(shown, hide_index=True, key="rs_cells")
    st.caption("Complete cells (every seed finished) rank first. " + comparison.statistics_basis())


def curves_section(
    comparison: cmp.Comparison,
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    metrics: Sequence[str],
    *,
    loss_domain: Sequence[str],
    arch_domain: Sequence[str],
    downloads: Callable[[Any, str, str], None] | None = None,
) -> None:
    """IoU (or loss) vs epoch: the mean over seeds with a min–max band. Loss metrics get one
    panel per loss, each on its own axis, since different losses are not on one scale."""
    if not metrics:
        st.info("No finished epochs yet.")
        return
    metric = st.selectbox("Metric", list(metrics), key="rs_metric", bind=URL, format_func=metric_title)
    curves = cmp.seed_curves(comparison, histories, metric)
    if curves.empty:
        st.info("No finished epochs yet.")
        return
    st.caption(
        f"{cmp.BAND_NOTE.capitalize()}. Hover a line for the values; click a legend entry to highlight it."
    )
    if metric in LOWER_IS_BETTER:
        st.markdown(f"**{metric_title(metric)} vs epoch, one panel per loss**")
        st.caption(
            "Each loss measures error on its own scale (focal values are naturally far smaller than "
            "BCE's), so every panel has its own y axis: compare the shape of the curves, not their "
            "height across panels. To compare models, use the IoU."
        )
        chart = rc.band_curves(
            curves, metric, facet="loss_label", color="arch", domain=arch_domain, facet_order=loss_domain
        )
        show_chart(chart, width="content")
        if downloads:
            downloads(chart, f"{metric}_by_loss", "rs_dl_loss")
        return
    st.markdown(f"**{metric_title(metric)} vs epoch, one panel per architecture, coloured by loss**")
    by_arch = rc.band_curves(
        curves, metric, facet="arch", color="loss_label", domain=loss_domain, facet_order=arch_domain
    )
    show_chart(by_arch, width="content")
    if downloads:
        downloads(by_arch, f"{metric}_by_architecture", "rs_dl_arch")
    st.markdown(f"**{metric_title(metric)} vs epoch, one panel per loss, coloured by architecture**")
    by_loss = rc.band_curves(
        curves, metric, facet="loss_label", color="arch", domain=arch_domain, facet_order=loss_domain
    )
    show_chart(by_loss, width="content")
    if downloads:
        downloads(by_loss, f"{metric}_by_loss", "rs_dl_loss")


def validation_section(
    comparison: cmp.Comparison,
    *,
    loss_domain: Sequence[str],
    arch_domain: Sequence[str],
    downloads: Callable[[Any, str, str], None] | None = None,
) -> None:
    """The comparison that chooses: mean validation IoU per cell, best starred, the cell table."""
    grid = cmp.comparison_grid(comparison, cmp.SELECT_METRIC)
    if grid.empty:
        st.info("The comparison needs at least one finished run.")
        return
    st.caption("Mean validation IoU over seeds (± std with several seeds); ★ and red outline: the best.")
    heatmap = rc.arch_loss_heatmap(
        grid,
        cmp.SELECT_METRIC,
        loss_order=loss_domain,
        arch_order=arch_domain,
        title="Validation IoU (mean over seeds) — ★ the best, chosen here",
    )
    show_chart(heatmap, width="content", theme=None)
    if downloads:
        downloads(heatmap, "val_iou_heatmap", "rs_dl_heat")
    cells_table(comparison)


def test_section(
    comparison: cmp.Comparison,
    *,
    loss_domain: Sequence[str],
    arch_domain: Sequence[str],
    downloads: Callable[[Any, str, str], None] | None = None,
) -> None:
    """Test IoU of every cell and a ranking by it: a separate view, never used to choose."""
    grid = cmp.comparison_grid(comparison, cmp.REPORT_METRIC)
    if grid.empty:
        st.info("Test scores appear when a run has finished.")
        return
    st.warning(
        "This view ranks by **test** IoU, for looking only. The best model is chosen on validation "
        "(★ marks that choice here too); picking the top of this ranking instead would make its "
        "test score optimistic.",
        icon=":material/visibility:",
    )
    heatmap = rc.arch_loss_heatmap(
        grid,
        cmp.REPORT_METRIC,
        loss_order=loss_domain,
        arch_order=arch_domain,
        title="Test IoU of the same cells — ★ the model chosen on validation",
    )
    show_chart(heatmap, width="content", theme=None)
    summary = cmp.summary_frame(comparison, cmp.REPORT_METRIC)
    ranking = rc.ranked_bars(
        summary, cmp.REPORT_METRIC, loss_domain=loss_domain, runs=cmp.comparison_seed_runs(comparison)
    )
    st.markdown(
        "**Ranking by test IoU (a view, not a selection)** — black bars: ± one standard deviation "
        "over seeds; dots: single runs"
    )
    show_chart(ranking, width="content", theme=None)
    if downloads:
        downloads(ranking, "test_iou_ranking", "rs_dl_rank")


# ---- the reference study ------------------------------------------------------------------------
def reference_offer(home: str) -> None:
    """Load the saved reference study with one click: on an empty Results page, and under
    Export & import whatever is queued or trained (until it is loaded)."""
    if not reference.reference_available() or reference.reference_run_ids(home):
        return
    st.markdown(
        "**Compare saved experiments right away:** the reference study is the quick study "
        "(4 architectures × 4 losses × 3 seeds) trained on a CPU. Every run keeps its scores; one "
        "seed per cell also keeps its weights (the Inside page opens it), its predictions epoch by "
        "epoch and its predicted test masks. It loads as its own study and can be deleted again."
    )
    st.button(
        ":material/folder_open: Load the reference study",
        type="primary",
        key="rs_reference",
        on_click=_load_reference,
        args=(home,),
    )
    from seglab.ui.imbalance_view import offer_imbalance_study  # issue 26: the second shipped study

    offer_imbalance_study(home)


def _load_reference(home: str) -> None:
    """Button callback: it runs before the page is drawn again, so it may switch the Study box
    (drawn above the Export & import tab) to the reference study."""
    try:
        added = reference.load_reference_study(home)
    except (SegLabError, OSError) as exc:
        st.session_state["rs_error"] = f"The reference study cannot be loaded: {exc}"
        return
    st.session_state["rs_study"] = reference.REFERENCE_GROUP
    st.session_state["rs_notice"] = f"Loaded the reference study ({len(added)} runs)."


def reference_manage(home: str) -> None:
    """Once loaded: a button to remove the reference study again."""
    from seglab.ui.imbalance_view import manage_imbalance_study  # issue 26: the second shipped study

    manage_imbalance_study(home)
    ids = reference.reference_run_ids(home)
    if not ids:
        return
    with st.expander(f"Reference study loaded ({len(ids)} runs)"):
        st.caption(
            "Saved results shipped with SegLab: one seed per cell kept its weights and predictions "
            "(the Inside page and the epoch-by-epoch view open those)."
        )
        if classroom.can(Permission.DELETE) and st.button(
            "Delete the reference study", key="rs_reference_delete"
        ):
            n = reference.delete_reference_study(home, actor=classroom.current_actor())
            for key in ("rs_study", "rs_comparison", "rs_pick", "rs_table"):
                st.session_state.pop(key, None)
            st.session_state["rs_notice"] = f"Deleted the reference study ({n} runs)."
            st.rerun()
