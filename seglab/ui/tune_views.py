"""Train-page pieces for issue 16: the Tune tab (k-fold cross-validation through the queue) and
the "Transfer learning" expander (start from a stored run, encoder weights file, freezing).

The orchestration lives in `seglab.analysis.tune`; this module only lays out widgets and queues jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from seglab.analysis.tune import (
    FINAL_RUN_NOTE,
    cv_rows,
    cv_study,
    enqueue_final,
    final_group_of,
    is_cv_study,
    job_results,
    parse_grid,
    tuned_keys,
)
from seglab.errors import SegLabError
from seglab.settings.classroom import Permission
from seglab.settings.config import TrainConfig
from seglab.settings.schema import DEFAULT_TUNE_FOLDS, setting
from seglab.ui import classroom
from seglab.ui.common import URL

#: how many tuning studies the Tune tab lists (newest first)
SHOWN_TUNINGS = 3


# ---- transfer learning -------------------------------------------------------------------------
def transfer_section(archs: list[str]) -> dict[str, Any]:
    """The "Transfer learning" expander: the schema's transfer settings, bound to the URL;
    returns their config values (the declared defaults: no transfer, nothing frozen)."""
    from seglab.store.run_store import RunStore
    from seglab.ui.settings_form import setting_widget
    from seglab.ui.train_views import form_defaults

    defaults = form_defaults()
    out: dict[str, Any] = {}
    with st.expander("Transfer learning"):
        st.caption(
            "Start from weights another model learned: a run of yours (e.g. trained on *shapes*, then "
            "fine-tuned on a few *cells* images), or ImageNet weights you downloaded yourself for the "
            "VGG16 (FCN) / MobileNetV2 (FPN) encoders (choose the encoder under Architecture options)."
        )
        runs = [r for r in RunStore().list_runs() if r.status == "done"]
        labels = {r.id: f"{r.id} · {r.config.label()}" for r in runs}
        out["init_from"] = setting_widget(
            setting("init_from"),
            defaults["init_from"],
            options=["", *labels],
            format_func=lambda i: labels.get(i, "— random weights (no transfer) —"),
        )
        out["init_scope"] = defaults["init_scope"]
        if out["init_from"]:  # what to copy matters only with a source run
            out["init_scope"] = setting_widget(
                setting("init_scope"),
                defaults["init_scope"],
                format_func=lambda s: "the encoder" if s == "encoder" else "all layers whose shapes match",
            )
        out["encoder_weights"] = (  # a file on the server: only where typed server paths are allowed
            setting_widget(setting("encoder_weights"), defaults["encoder_weights"])
            if classroom.can(Permission.SERVER_PATHS)
            else defaults["encoder_weights"]
        )
        weights = out["encoder_weights"]
        if weights and not Path(weights).expanduser().is_file():
            st.warning(f"No file at {weights!r}; the run would fail. Check the path.")
        out["freeze_encoder_epochs"] = setting_widget(
            setting("freeze_encoder_epochs"), defaults["freeze_encoder_epochs"]
        )
        if len(archs) > 1 and any(out[k] != defaults[k] for k in out):
            st.caption("These settings apply to every architecture of the study.")
    return out


# ---- the Tune tab ------------------------------------------------------------------------------
def tune_axes() -> list[Any]:
    """The settings the Tune tab offers as grid axes: those the schema gives ``tune_factors``."""
    from seglab.settings.schema import SETTINGS

    return [s for s in SETTINGS.values() if s.tune_factors]


def tune_default_text(s: Any, base_value: Any) -> str:
    """The grid a Tune-tab box starts with: the form's value times each of the setting's factors
    ('0.003, 0.009' for lr; '8' for width)."""
    values = [s.type(base_value * f) if s.type is int else base_value * f for f in s.tune_factors]
    return ", ".join(f"{v:g}" for v in dict.fromkeys(values))


def _values(text: str, key: str) -> list[Any]:
    return parse_grid([f"{key}={text}"])[key] if text.strip() else []


def tune_panel(base: TrainConfig | None) -> None:
    """Set up a k-fold tuning around the form's settings, queue it, and follow its CV table."""
    st.markdown(
        "**Tune by cross-validation.** The training + validation images are cut into K folds; every "
        "configuration trains K times, each time validated on the fold it did not train on. The mean "
        "± std IoU over the folds ranks the configurations; the best is then retrained on all those "
        "images and tested **once** on the test images, which tuning never looks at."
    )
    if base is None:
        st.info("Complete the form above first: the tuning starts from its dataset, model and loss.")
    else:
        st.caption(f"Base: {base.label()}, {base.epochs} epoch(s) per run (from the form above).")
        grid_settings = tune_axes()
        cols = st.columns(len(grid_settings) + 2)
        texts = {
            s.name: col.text_input(
                f"{s.label}s",
                tune_default_text(s, getattr(base, s.name)),
                key=f"tu_{s.name}",
                bind=URL,
                help=f"Values to try, comma-separated ({s.help}).",
            )
            for s, col in zip(grid_settings, cols, strict=False)
        }
        folds_setting = setting("folds")
        folds = int(
            cols[-2].number_input(
                "Folds (K)",
                min_value=int(folds_setting.min or 2),
                max_value=int(folds_setting.max or 10),
                value=DEFAULT_TUNE_FOLDS,
                key="tu_folds",
                bind=URL,
                help=folds_setting.help[0].upper() + folds_setting.help[1:] + ".",
            )
        )
        seeds = cols[-1].text_input("Seeds", "0", key="tu_seeds", bind=URL)
        try:
            from seglab.settings.study import parse_seeds

            grid = {k: v for k, text in texts.items() if (v := _values(text, k))}
            study = cv_study(base, grid, folds, seeds=parse_seeds(seeds))
        except SegLabError as exc:
            st.error(f"Cannot tune yet: {exc}")
        else:
            st.markdown(f"**{study.n_runs} run(s)** of cross-validation, then 1 final run.")
            st.caption(FINAL_RUN_NOTE)
            if st.button("Queue cross-validation", key="tu_start"):
                from seglab.ui.train_views import start_plan

                try:
                    group = start_plan(study)
                except SegLabError as exc:
                    st.error(f"Could not queue the tuning: {exc}")
                else:
                    st.success(f"Queued tuning study {group}; progress shows in the queue.")
    tunings_panel()


def tunings_panel() -> None:
    """The newest tuning studies: CV table, and the final run (or a button to queue it)."""
    from seglab.jobs import JobQueue, ensure_worker

    with JobQueue() as queue:
        studies = [(g, queue.group_study(g.id)) for g in queue.groups()]
        tunings = [(g, s) for g, s in studies if is_cv_study(s)][:SHOWN_TUNINGS]
        views = []
        for group, study in tunings:
            rows = cv_rows(job_results(queue.jobs(group=group.id), queue.home), tuned_keys(study))
            final_id = final_group_of(queue, group.id)
            final_jobs = queue.jobs(group=final_id) if final_id else []
            views.append((group, rows, final_jobs))
    for group, rows, final_jobs in views:
        st.markdown(f"**{group.name}** · `{group.id}`")
        table = pd.DataFrame(
            [
                {
                    "configuration": ", ".join(f"{k}={v}" for k, v in r.params.items()),
                    "folds done": f"{len(r.fold_curves)}/{r.folds}",
                    "epochs chosen": r.epoch,
                    "CV IoU mean": r.to_dict()["cv_iou_mean"],
                    "CV IoU std": r.to_dict()["cv_iou_std"],
                }
                for r in rows
            ]
        )
        st.dataframe(table, hide_index=True, key=f"tu_table_{group.id}")
        if final_jobs:
            job = final_jobs[0]
            test_iou = (job.result or {}).get("test_iou")
            text = f", test IoU {test_iou:.3f}" if isinstance(test_iou, float) else ""
            st.caption(f"Final run (whole pool): {job.status}{text}; run {job.run_id or '—'}.")
        elif group.finished:
            if st.button("Retrain the best on all training images and test once", key=f"tu_final_{group.id}"):
                with JobQueue() as queue:
                    queued = enqueue_final(queue, group.id)
                if queued is None:
                    st.error("No configuration finished all its folds, so there is nothing to retrain.")
                else:
                    ensure_worker()
                    st.success(f"Queued the final run of {queued[1].label()} (study {queued[0]}).")
        else:
            st.caption("Cross-validation still running; the final run can be queued when it is done.")
