"""Pieces of the Train page: the study form, the estimate, the live queue and its controls.

The page script lays these out; everything that talks to the job queue or the store lives
here, and everything shown comes from the queue database, so a reload, a second browser or
an app restart shows the same queue.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from seglab.errors import SegLabError
from seglab.registry import ParamSpec
from seglab.settings.config import TrainConfig
from seglab.settings.presets import CLASS_ARCHS, CLASS_LOSSES, STUDY_ARCHS, STUDY_LOSSES
from seglab.settings.presets import PRESET_SEEDS as _PRESET_SEEDS
from seglab.settings.study import Study, parse_seeds  # noqa: F401  (parse_seeds: used by the page)
from seglab.status import RunStatus, is_active
from seglab.ui.common import URL
from seglab.ui.live_status import LIVE_SECONDS, live_tick, queue_key
from seglab.ui.tables import dash_missing
from seglab.units import format_duration, plural

# the study form's default seeds per preset, as text (`seglab.settings.presets.PRESET_SEEDS`)
PRESET_SEEDS = {name: ", ".join(map(str, seeds)) for name, seeds in _PRESET_SEEDS.items()}
PATH_CHOICE = "Folder or .zip on this computer"
STATUS_ICONS = {
    RunStatus.QUEUED: "⏳ queued",
    RunStatus.RUNNING: "🏃 running",
    RunStatus.DONE: "✅ done",
    RunStatus.FAILED: "❌ failed",
    RunStatus.DIVERGED: "💥 diverged",
    RunStatus.CANCELLED: "🚫 cancelled",
    RunStatus.INTERRUPTED: "⏸️ interrupted",
}


# ---- the study: what "Start training" will queue (see seglab.settings.study) ----------------------
def study_from_form(
    base: TrainConfig,
    archs: list[str],
    losses: dict[str, dict[str, Any]],
    seeds: list[int],
    model_params: dict[str, dict[str, Any]] | None = None,
    name: str | None = None,
    data_axes: dict[str, list[Any]] | None = None,
    data_per_seed: bool = False,
) -> Study:
    """The form's choices as a `Study`: losses (each with its parameters) × architectures ×
    data axes (e.g. foreground shares, see `data_axes_section`) × seeds."""
    study = Study(
        base,
        {"loss": list(losses), "arch": list(archs), **(data_axes or {})},
        loss_params={loss: params for loss, params in losses.items() if params},
        seeds=list(seeds),
        name=name,
        model_params={arch: params for arch, params in (model_params or {}).items() if params},
        data_per_seed=data_per_seed,
    )
    if data_axes:
        study.expand()  # a share out of range is a plain-words ConfigError here, not later
    return study


# ---- imbalance as a study axis (issue 26) ---------------------------------------------------------
IMBALANCE_PARAM = "fg_fraction"


def data_axes_section(dataset: str) -> tuple[str, bool]:
    """Widgets for the data axes of a study: the foreground shares to compare (datasets with an
    ``fg_fraction`` parameter) and whether each seed draws its own data. Returns the shares as
    typed (parsed by `parse_data_axes`) and the per-seed-data choice."""
    from seglab.data import dataset_info, list_datasets

    shares = ""
    if dataset in list_datasets() and IMBALANCE_PARAM in {p.name for p in dataset_info(dataset).params}:
        shares = st.text_input(
            "Foreground shares to compare (optional)",
            key="tr_fg_shares",
            bind=URL,
            placeholder="0.2, 0.05, 0.02",
            help="Each share is its own comparison: e.g. 0.02 means 2 % of the pixels are foreground "
            "(rare objects). Empty: the share set under Dataset parameters.",
        )
    per_seed = st.checkbox(
        "Each seed draws its own data",
        key="tr_data_per_seed",
        bind=URL,
        help="Seeds then repeat both the training and the draw of the images, so the spread over "
        "seeds also shows how much the result depends on the data.",
    )
    return shares, bool(per_seed)


def parse_data_axes(shares_text: str) -> dict[str, list[Any]]:
    """'0.2, 0.05' → {'dataset_params.fg_fraction': [0.2, 0.05]}; empty → {}; plain-words
    ConfigError for anything that is not a list of numbers."""
    from seglab.errors import ConfigError

    parts = [p.strip() for p in str(shares_text or "").replace(";", ",").split(",") if p.strip()]
    if not parts:
        return {}
    try:
        values = [float(p.rstrip("%")) / (100.0 if p.endswith("%") else 1.0) for p in parts]
    except ValueError:
        raise ConfigError(
            f"foreground shares must be numbers separated by commas, e.g. 0.2, 0.05, 0.02, not {shares_text!r}."
        ) from None
    return {f"dataset_params.{IMBALANCE_PARAM}": values}


def default_study_name(study: Study) -> str:
    """'3 archs × 4 losses × 1 seed on shapes' (what the queue table shows)."""
    return study.default_name()


def quick_study_plan() -> Study:
    """The one-click classroom study: the `quick` preset over the study's archs and losses."""
    from seglab.losses import list_losses
    from seglab.models import list_models
    from seglab.settings.presets import preset, preset_seeds

    archs = [a for a in STUDY_ARCHS if a in list_models()]
    losses: dict[str, dict[str, Any]] = {loss: {} for loss in STUDY_LOSSES if loss in list_losses()}
    return study_from_form(
        preset("quick"), archs, losses, preset_seeds("quick"), name="Quick study (quick preset)"
    )


def start_plan(study: Study) -> str:
    """Queue the study (as this session's classroom actor: its name, its limits) and make sure a
    background worker is running; returns the group id."""
    from seglab.jobs import JobQueue, ensure_worker
    from seglab.ui.classroom import current_actor

    if study.name is None:
        study = dataclasses.replace(study, name=study.default_name())
    with JobQueue() as queue:
        group = queue.enqueue_study(study, actor=current_actor())
    ensure_worker()
    return group


def check_class_limits(study: Study) -> None:
    """Classroom mode: raise the queue's own plain refusal now if this session could not queue
    ``study`` (over a class limit, no name, a server path), so the form says why before Start."""
    from seglab.jobs import JobQueue
    from seglab.settings.limits import check_study_size, load_limits
    from seglab.ui.classroom import current_actor

    actor = current_actor()
    if not actor.limited:
        return
    with JobQueue() as queue:
        check_study_size(study.n_runs, load_limits(queue.home))
        queue.admit(study.expand(), actor)


# ---- form widgets -------------------------------------------------------------------------
#: where the schema's settings show on the Train form (see `seglab.settings.schema.Setting.form`)
FORM_PLACES = ("main", "more", "transfer")

DEFAULT_PRESET = "quick"


def form_settings() -> list[Any]:
    """The schema declarations the Train form draws a widget for."""
    from seglab.settings.schema import SETTINGS

    return [s for s in SETTINGS.values() if s.form in FORM_PLACES]


def form_defaults(name: str = DEFAULT_PRESET) -> dict[str, Any]:
    """Setting name → the value the form starts with under preset ``name`` (its values over the
    schema's defaults)."""
    from seglab.settings.presets import preset_settings

    return preset_settings(name)


def preset_form_values(name: str = DEFAULT_PRESET) -> dict[str, Any]:
    """Widget key → value for every field of the Train form, as the preset ``name`` sets them."""
    from seglab.losses import list_losses
    from seglab.models import list_models
    from seglab.ui.settings_form import widget_value

    values = form_defaults(name)
    form: dict[str, Any] = {s.widget_key: widget_value(s, values[s.name]) for s in form_settings()}
    form["tr_archs"] = [a for a in CLASS_ARCHS if a in list_models()]  # a grid for a class hour
    form["tr_losses"] = [loss for loss in CLASS_LOSSES if loss in list_losses()]
    form["tr_seeds"] = PRESET_SEEDS.get(name, "0")
    return form


def form_default(key: str) -> Any:
    """The value a Train-form widget starts with: the default preset's.

    Every form widget is bound to the URL and passes this as its default, so the URL holds
    exactly the fields that differ from it: a reload (even while a study trains) or a shared
    link restores the whole form, and nothing resets it behind the user's back.
    """
    return preset_form_values()[key]


#: what choosing a preset leaves alone (said in the preset selector's help)
PRESET_KEEPS = ("tr_dataset", "tr_archs", "tr_losses")
PRESET_HELP_TEXT = (
    "Sets the image size and count, the model size, the training and transfer settings and the "
    "seeds to the preset's values; keeps your dataset, architectures and losses."
)


def apply_preset(name: str | None = None) -> None:
    """Fill the form's settings and seeds from a preset (the preset selector's callback); the
    chosen dataset, architectures and losses stay as they are."""
    name = name or st.session_state.get("tr_preset", DEFAULT_PRESET)
    for key, value in preset_form_values(name).items():
        if key not in PRESET_KEEPS:
            st.session_state[key] = value


def form_settings_section(place: str, group: str | None = None) -> dict[str, Any]:
    """The widgets of the schema settings shown at ``place`` (and of ``group``); returns
    {setting name: config value}."""
    from seglab.ui.settings_form import settings_widgets

    chosen = [s for s in form_settings() if s.form == place and (group is None or s.group == group)]
    return settings_widgets(chosen, form_defaults())


def param_widget(spec: ParamSpec, key: str) -> Any:
    """A widget built from a ParamSpec: select for choices, checkbox for bools, "auto" toggle
    for parameters whose default is the string "auto", else a number input."""
    label = spec.name.replace("_", " ")
    if spec.choices:
        options = list(spec.choices)
        index = options.index(spec.default) if spec.default in options else 0
        return st.selectbox(label, options, index=index, key=key, help=spec.help or None, bind=URL)
    if isinstance(spec.default, bool):
        return st.checkbox(label, value=spec.default, key=key, help=spec.help or None, bind=URL)
    if spec.default is None:  # an optional whole number (e.g. U-Net++ prune level): none or a level
        low = int(spec.min if spec.min is not None else 0)
        high = int(spec.max if spec.max is not None else low + 5)
        options = [None, *range(low, high + 1)]
        return st.selectbox(
            label,
            options,
            key=key,
            help=spec.help or None,
            format_func=lambda v: "none" if v is None else str(v),
            bind=URL,
        )
    if spec.default == "auto":
        auto = st.checkbox(f"{label}: auto", value=True, key=f"{key}_auto", help=spec.help or None, bind=URL)
        if auto:
            return "auto"
        low = spec.min if spec.min is not None else 0.0
        high = spec.max if spec.max is not None else 1.0
        return st.slider(
            label,
            float(low),
            float(high),
            float((low + high) / 2),
            float(spec.step or 0.05),
            key=key,
            bind=URL,
        )
    if isinstance(spec.default, int):
        kwargs = {k: int(v) for k, v in (("min_value", spec.min), ("max_value", spec.max)) if v is not None}
        step = int(spec.step) if spec.step else 1
        return st.number_input(
            label, value=int(spec.default), step=step, key=key, help=spec.help or None, bind=URL, **kwargs
        )
    kwargs = {k: float(v) for k, v in (("min_value", spec.min), ("max_value", spec.max)) if v is not None}
    return st.number_input(
        label,
        value=float(spec.default),
        step=float(spec.step or 0.01),
        key=key,
        help=spec.help or None,
        format="%g",
        bind=URL,
        **kwargs,
    )


def changed_params(specs: list[ParamSpec], values: dict[str, Any]) -> dict[str, Any]:
    """Only the values that differ from their defaults (the rest the loss fills in itself)."""
    out = {}
    for spec in specs:
        value = values.get(spec.name, spec.default)
        if (
            isinstance(value, float)
            and isinstance(spec.default, (int, float))
            and not isinstance(spec.default, bool)
        ):
            if math.isclose(value, float(spec.default), rel_tol=1e-9, abs_tol=1e-12):
                continue
        elif value == spec.default:
            continue
        out[spec.name] = value
    return out


def chosen_num_classes() -> int | None:
    """Classes of the dataset picked in the form (None for a folder / zip not read yet)."""
    from seglab.data import dataset_info, list_datasets

    name = st.session_state.get("tr_dataset")
    return dataset_info(name).num_classes if name in list_datasets() else None


@st.cache_data(show_spinner=False, max_entries=32)
def _pairs_in(path: str, modified: float) -> int | None:
    from seglab.data.counting import count_pairs

    return count_pairs(path)


def dataset_image_count(dataset: str) -> int | None:
    """Image / mask pairs in a folder or .zip dataset (None for built-in data or a bad path)."""
    from seglab.data import list_datasets

    if not dataset or dataset in list_datasets():
        return None
    path = Path(dataset).expanduser()
    return _pairs_in(str(path), path.stat().st_mtime) if path.exists() else None


def fit_n_to_dataset(dataset: str, n: int | None) -> int | None:
    """The number of images a run of ``dataset`` really uses: all of a folder / zip's pairs when
    the form asks for more (or for "all"), so the queue and Results report the true n."""
    count = dataset_image_count(dataset)
    if count is None or (n is not None and n <= count):
        return n
    st.caption(f"This dataset holds {plural(count, 'image pair')}: the runs use all {count}.")
    return count


def _follow_dataset() -> None:
    """The dataset selector's callback: "Number of images" follows the new choice (a folder's or
    an upload's own count; the preset's number for built-in data)."""
    from seglab.settings.schema import setting
    from seglab.ui.settings_form import widget_value

    choice = st.session_state.get("tr_dataset", "")
    count = dataset_image_count(choice) if choice != PATH_CHOICE else None
    preset_n = form_defaults(st.session_state.get("tr_preset", DEFAULT_PRESET))["n"]
    st.session_state["tr_n"] = count if count is not None else widget_value(setting("n"), preset_n)


def dataset_section() -> tuple[str, dict[str, Any], int | None]:
    """Dataset choice with its parameter widgets; returns (name or path, params, num_classes)."""
    from seglab.data import dataset_info, list_datasets
    from seglab.data.uploads import list_uploaded
    from seglab.settings.classroom import Permission
    from seglab.ui.classroom import can

    names = list_datasets()
    uploads = {str(ds.path): ds.name for ds in list_uploaded()}  # saved on the Data page
    options = [*names, *uploads, *([PATH_CHOICE] if can(Permission.SERVER_PATHS) else [])]
    if "tr_dataset" in st.session_state and st.session_state["tr_dataset"] not in options:
        st.session_state["tr_dataset"] = names[0] if names else PATH_CHOICE  # e.g. an upload was deleted
    choice = st.selectbox(
        "Dataset",
        options,
        key="tr_dataset",
        bind=URL,
        on_change=_follow_dataset,
        format_func=lambda n: (
            dataset_info(n).title if n in names else f"{uploads[n]} (uploaded)" if n in uploads else n
        ),
        help="Built-in datasets, the uploads saved on the Data page, or a folder / .zip on this computer.",
    )
    if choice in uploads:
        st.caption(f"Your upload “{uploads[choice]}”, saved on the Data page (manage it there).")
        return choice, {}, None
    if choice == PATH_CHOICE:
        path = st.text_input(
            "Path to a folder or .zip",
            key="tr_path",
            bind=URL,
            placeholder="/home/me/my-images",
            help="A folder (or zip) with images/ and masks/ side by side; see the Data page.",
        ).strip()
        try:
            found = not path or Path(path).expanduser().exists()
        except (OSError, ValueError):  # a name the file system refuses (too long, a NUL)
            found = False
        if not found:
            st.warning(f"Nothing found at {path[:120]!r}; check the path.")
        return path, {}, None
    info = dataset_info(choice)
    st.caption(info.description)
    params = {}
    if info.params:
        with st.expander("Dataset parameters"):
            values = {spec.name: param_widget(spec, f"tr_ds_{choice}_{spec.name}") for spec in info.params}
            params = changed_params(info.params, values)
    return choice, params, info.num_classes


def loss_section(num_classes: int | None) -> dict[str, dict[str, Any]]:
    """Loss multiselect (losses that cannot handle the data are left out) and per-loss
    parameter widgets; returns {loss: non-default params}."""
    from seglab.losses import list_losses, loss_info

    binary = num_classes in (None, 2)
    usable = [n for n in list_losses() if (loss_info(n).binary if binary else loss_info(n).multiclass)]
    kept = [n for n in st.session_state.get("tr_losses", form_default("tr_losses")) if n in usable]
    if "tr_losses" in st.session_state and kept != st.session_state["tr_losses"]:
        st.session_state["tr_losses"] = kept  # only when the data rules some out: no URL churn
    chosen = st.multiselect(
        "Losses",
        usable,
        default=[n for n in form_default("tr_losses") if n in usable],
        key="tr_losses",
        wrap=True,
        bind=URL,
        format_func=lambda n: loss_info(n).title_for(num_classes),
        help="Every chosen loss is trained with every chosen architecture.",
    )
    losses: dict[str, dict[str, Any]] = {}
    with_params = [n for n in chosen if loss_info(n).params]
    if with_params:
        with st.expander("Loss parameters (defaults are the usual choices)"):
            for name in with_params:
                st.markdown(f"**{loss_info(name).title_for(num_classes)}**")
                specs = loss_info(name).params
                values = {spec.name: param_widget(spec, f"tr_loss_{name}_{spec.name}") for spec in specs}
                losses[name] = changed_params(specs, values)
    return {name: losses.get(name, {}) for name in chosen}


def model_params_section(archs: list[str]) -> dict[str, dict[str, Any]]:
    """Option widgets of the chosen architectures that declare any (read from the model
    registry); returns {arch: non-default options}."""
    from seglab.models import model_info

    with_params = [a for a in archs if model_info(a).params]
    out: dict[str, dict[str, Any]] = {}
    if with_params:
        with st.expander("Architecture options (defaults are the usual choices)"):
            for name in with_params:
                st.markdown(f"**{model_info(name).title}**")
                specs = list(model_info(name).params)
                values = {spec.name: param_widget(spec, f"tr_model_{name}_{spec.name}") for spec in specs}
                out[name] = changed_params(specs, values)
    return out


# ---- the live queue -----------------------------------------------------------------------
def job_row(job: Any, group_names: dict[str, str]) -> dict[str, Any]:
    """One line of the queue table from a Job (progress read from the DB)."""
    progress = job.progress or {}
    epochs = job.config.epochs
    metrics = progress.get("metrics") or {}
    epoch_done = max(int(progress.get("epochs_done") or 0), int(metrics.get("epoch") or 0))
    if job.status == RunStatus.RUNNING:
        batch, n_batches = progress.get("batch"), progress.get("n_batches")
        fraction_in_epoch = (batch / n_batches) if batch and n_batches else 0.0
        current = int(progress.get("epoch") or 1)
        done_fraction = min(1.0, ((current - 1) + fraction_in_epoch) / epochs) if epochs else 0.0
        done_fraction = max(done_fraction, epoch_done / epochs if epochs else 0.0)
    elif job.status == "done":
        done_fraction = 1.0
    else:
        done_fraction = epoch_done / epochs if epochs else 0.0
    # last epoch's val IoU, and the best so far (= the checkpoint the run keeps and Results shows)
    last_iou = metrics.get("val_iou")
    best_iou = (job.result or {}).get("val_iou") if job.status == "done" else progress.get("best_val_iou")
    if best_iou is None:
        best_iou = last_iou
    return {
        "job": job.id,
        "status": STATUS_ICONS.get(job.status, job.status),
        "model": f"{job.config.arch} + {job.config.loss}",
        "seed": job.config.seed,
        "epoch": f"{epoch_done}/{epochs}",
        "progress": done_fraction,
        "best val IoU": float(best_iou) if isinstance(best_iou, (int, float)) else None,
        "last val IoU": float(last_iou) if isinstance(last_iou, (int, float)) else None,
        "test IoU": (job.result or {}).get("test_iou"),
        "ETA": format_duration(progress.get("eta_seconds"), unknown="")
        if job.status == RunStatus.RUNNING
        else "",
        "message": job.message or "",
        "study": group_names.get(job.group or "", job.group or "—"),
    }


def queue_table(jobs: list[Any], group_names: dict[str, str]) -> pd.DataFrame:
    """Newest jobs first, active ones on top."""
    rows = [job_row(j, group_names) for j in jobs]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    rank = {
        j.id: (0 if j.status == RunStatus.RUNNING else 1 if j.status == RunStatus.QUEUED else 2) for j in jobs
    }
    frame["_rank"] = frame["job"].map(rank)
    return (
        frame.sort_values(["_rank", "job"], ascending=[True, False])
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


QUEUE_COLUMNS = {
    "job": st.column_config.NumberColumn("Job", width="small"),
    "progress": st.column_config.ProgressColumn("Progress", min_value=0.0, max_value=1.0, format="percent"),
    # written by `seglab.ui.tables.dash_missing`: "–" until a value exists, never "None"
    "best val IoU": st.column_config.TextColumn(
        "Best val IoU so far",
        help="Validation IoU of the best epoch so far: the checkpoint the run keeps, tests and Results shows.",
    ),
    "last val IoU": st.column_config.TextColumn(
        "Last epoch's val IoU", help="Validation IoU of the most recent epoch."
    ),
    "test IoU": st.column_config.TextColumn("Test IoU", help="Measured once the run has finished."),
    "message": st.column_config.TextColumn("Message", width="large"),
}


@functools.lru_cache(maxsize=32)
def _live_curves(home: str, run_id: str, tick: int | None, present: bool) -> dict | None:
    """The live loss/IoU chart of a run as a Vega-Lite spec, built once per ``tick`` (a refresh
    period) and shared by every session watching it (issue 22). None before the first epoch
    (``tick`` None: no history yet)."""
    from seglab.store.run_store import RunStore
    from seglab.ui.chart_view import chart_spec
    from seglab.viz.results_charts import live_curves

    try:
        history = RunStore(home).history(run_id) if tick is not None else []
    except SegLabError:
        history = []
    chart = live_curves(pd.DataFrame(history))
    return None if chart is None else chart_spec(chart, present)


def show_live_run(job: Any) -> None:
    """Epoch/batch progress and live loss/IoU curves of one running job."""
    from seglab.store.run_store import HISTORY, RunStore
    from seglab.ui.chart_view import presenting, show_chart

    progress = job.progress or {}
    epoch, epochs = int(progress.get("epoch") or 0), job.config.epochs
    batch, n_batches = progress.get("batch") or 0, progress.get("n_batches") or 0
    text = f"**Job {job.id} · {job.config.arch} + {job.config.loss} · seed {job.config.seed}** — epoch {epoch}/{epochs}"
    if n_batches:
        text += f", batch {batch}/{n_batches}"
    if progress.get("loss") is not None:
        text += f", batch loss {progress['loss']:.4f}"
    if progress.get("eta_seconds") is not None:
        text += f", about {format_duration(progress['eta_seconds'])} left"
    st.markdown(text)
    if job.cancel_requested:
        st.caption("Cancel requested: stopping after the current batch.")
    store = RunStore()
    spec = None
    if job.run_id:
        # rebuilt at most once per refresh for the whole class, not at every epoch: short
        # epochs made it several chart builds a second while students watched (issue 22)
        has_history = (store.run_dir(job.run_id) / HISTORY).exists()
        tick = live_tick() if has_history else None
        spec = _live_curves(str(store.home), job.run_id, tick, presenting())
    if spec is None:
        st.caption("Curves appear after the first epoch.")
    else:
        show_chart(spec, width="content")
    from seglab.ui.epoch_views import live_predictions  # issue 15: predictions growing epoch by epoch

    live_predictions(job.run_id)


def problem_messages(jobs: list[Any], limit: int = 5) -> list[tuple[str, str]]:
    """(level, text) for recent failed / diverged / interrupted jobs, in plain words."""
    out = []
    for job in sorted(jobs, key=lambda j: j.id, reverse=True):
        if job.status not in ("failed", "diverged", "interrupted"):
            continue
        what = f"Job {job.id} ({job.config.arch} + {job.config.loss}, seed {job.config.seed})"
        reason = job.message or "no reason was recorded"
        level = "warning" if job.status in ("diverged", "interrupted") else "error"
        out.append((level, f"{what} {job.status}: {reason}"))
        if len(out) >= limit:
            break
    return out


def cancel_job(job_id: int) -> None:
    from seglab.jobs import JobQueue
    from seglab.ui.classroom import current_actor

    with JobQueue() as queue:
        try:
            state = queue.cancel(job_id, actor=current_actor())
        except SegLabError as exc:
            st.session_state["tr_notice"] = f"Job {job_id} not cancelled: {exc}"
            return
    st.session_state["tr_notice"] = (
        f"Job {job_id} cancelled."
        if state == "cancelled"
        else f"Job {job_id} will stop after its current batch."
    )


def cancel_all_queued(shown: tuple[int, ...]) -> None:
    """Cancel the queued jobs among ``shown`` (the ids the button counted: the group picked
    in "Show") that this session may cancel (a student: their own) and that are still queued."""
    from seglab.jobs import JobQueue
    from seglab.ui.classroom import current_actor

    actor = current_actor()
    wanted = set(shown)
    with JobQueue() as queue:
        ids = [j.id for j in queue.jobs(status=RunStatus.QUEUED) if j.id in wanted and may_control(j)]
        for job_id in ids:
            queue.cancel(job_id, actor=actor)
    st.session_state["tr_notice"] = f"Cancelled {len(ids)} queued job(s)."


def resume_job(job_id: int) -> None:
    from seglab.jobs import JobQueue, ensure_worker
    from seglab.ui.classroom import current_actor

    with JobQueue() as queue:
        try:
            queue.resume(job_id, actor=current_actor())
        except SegLabError as exc:
            st.session_state["tr_notice"] = f"Job {job_id} not resumed: {exc}"
            return
    ensure_worker()
    st.session_state["tr_notice"] = f"Job {job_id} queued again; it continues from its last checkpoint."


def may_control(job: Any) -> bool:
    """True when this session may cancel or resume ``job`` (classroom mode: a student, their own)."""
    from seglab.settings.classroom import Permission
    from seglab.ui.classroom import current_actor

    actor = current_actor()
    return actor.can(Permission.CANCEL_OTHERS) or (bool(actor.name) and job.owner == actor.name)


def job_label(job: Any) -> str:
    """How a job reads in the cancel and resume lists."""
    return (
        f"Job {job.id} · {STATUS_ICONS.get(job.status, job.status)} · {job.config.arch} + "
        f"{job.config.loss} · seed {job.config.seed}"
    )


def job_controls(jobs: list[Any]) -> None:
    """Cancel for active jobs, resume for interrupted ones (those this session may control):
    pick a job, then press the button. One list and one button, not a row per job: the panel
    is redrawn every two seconds in every student's browser, and a class's queue holds
    hundreds of jobs (issue 22)."""
    jobs = [j for j in jobs if may_control(j)]
    active = sorted((j for j in jobs if is_active(j.status)), key=lambda j: j.id)
    resumable = sorted((j for j in jobs if j.status == "interrupted"), key=lambda j: j.id)
    queued_ids = tuple(j.id for j in jobs if j.status == RunStatus.QUEUED)
    if not active and not resumable:
        return
    labels = {j.id: job_label(j) for j in (*active, *resumable)}
    with st.expander(f"Stop or resume jobs ({len(active)} active)", expanded=bool(active)):
        for name, chosen_jobs, verb, action in (
            ("cancel", active, "Cancel", cancel_job),
            ("resume", resumable, "Resume", resume_job),
        ):
            if not chosen_jobs:
                continue
            pick, press = st.columns([5, 1], vertical_alignment="bottom")
            job_id = pick.selectbox(
                f"Job to {name}", [j.id for j in chosen_jobs], format_func=labels.get, key=f"tr_{name}_job"
            )
            press.button(verb, key=f"tr_{name}", on_click=action, args=(job_id,), width="stretch")
        st.button(
            f"Cancel all queued ({len(queued_ids)})",
            key="tr_cancel_all",
            on_click=cancel_all_queued,
            args=(queued_ids,),
            disabled=not queued_ids,
        )


@functools.lru_cache(maxsize=8)
def _queue_snapshot(home: str, db: int, wal: int, tick: int) -> tuple[tuple, tuple, int]:
    """(jobs, groups newest first, live workers) of the queue, read once per change of its
    database (and at least every refresh period, for workers whose heartbeat stops)
    for every session of the class: 30 Train pages re-read it every two seconds (issue 22)."""
    from seglab.jobs import JobQueue

    with JobQueue(home) as queue:
        return tuple(queue.jobs()), tuple(queue.groups()), len(queue.live_workers())


@functools.lru_cache(maxsize=32)
def _queue_view(key: tuple, shown: str) -> Any:
    """The queue table of one snapshot (``key``: :func:`_queue_snapshot`'s arguments), as an
    Arrow table with undefined scores written "–", for the jobs of group ``shown`` (all: "")."""
    import pyarrow as pa

    jobs, groups, _ = _queue_snapshot(*key)
    names = group_labels(groups)
    chosen = [j for j in jobs if not shown or j.group == shown]
    table = dash_missing(queue_table(chosen, names), ("best val IoU", "last val IoU", "test IoU"))
    return pa.Table.from_pandas(table, preserve_index=False)


def group_labels(groups: tuple) -> dict[str, str]:
    return {g.id: f"{g.name} · {time.strftime('%H:%M', time.localtime(g.created))}" for g in groups}


@st.fragment(run_every=LIVE_SECONDS)
def queue_panel() -> None:
    """The live part of the page, re-read from the queue database every two seconds."""
    from seglab.ui.live_status import worker_state

    notice = st.session_state.pop("tr_notice", None)
    if notice:
        st.toast(notice)
    key = queue_key()
    try:
        jobs, groups, n_workers = _queue_snapshot(*key)
    except SegLabError as exc:  # a full disk: say so, keep the page
        st.error(f"The job queue cannot be read: {exc}")
        return
    jobs = list(jobs)
    if not jobs:
        st.info("No jobs yet. Set up a study above and press **Start training**.")
        return
    group_names = group_labels(groups)
    shown = ""
    if len(groups) > 1:
        options = ["", *group_names]
        shown = st.selectbox(
            "Show",
            options,
            key="tr_queue_group",
            format_func=lambda g: group_names.get(g, "All jobs"),
        )
        if shown:
            jobs = [j for j in jobs if j.group == shown]
    # a Counter, not pandas: value_counts was 6 % of this panel's time (py-spy)
    counts = collections.Counter(j.status for j in jobs)
    parts = [f"{counts.get(s, 0)} {s}" for s in STATUS_ICONS if counts.get(s, 0)]
    state = worker_state(registered=n_workers)
    worker_text = {
        "running": f"{plural(n_workers, 'worker')} active",
        "starting": "a worker is starting",
        "none": "no worker running",
    }[state]
    st.caption(
        f"{plural(len(jobs), 'job')}: "
        + ", ".join(parts)
        + f" · {worker_text} · updated {time.strftime('%H:%M:%S')}"
    )
    if state == "starting" and counts.get(RunStatus.QUEUED, 0):
        st.info("A background worker is starting; the first job begins in a few seconds.")
    elif state == "none" and counts.get(RunStatus.QUEUED, 0):
        st.warning("Jobs are waiting but no worker is running.")
        if st.button("Start a worker", key="tr_start_worker"):
            from seglab.jobs import ensure_worker

            ensure_worker()
    st.dataframe(
        _queue_view(key, shown or ""),
        hide_index=True,
        column_config=QUEUE_COLUMNS,
        height=min(420, 38 + 35 * min(len(jobs), 11)),
        key="tr_queue_table",
    )
    for level, text in problem_messages(jobs):
        (st.error if level == "error" else st.warning)(text)
    running = [j for j in jobs if j.status == RunStatus.RUNNING]
    for job in running[:2]:
        show_live_run(job)
    job_controls(jobs)
