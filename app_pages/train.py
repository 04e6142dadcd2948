"""Train: set up one run or a study grid, see its cost, queue it, watch it train."""

import streamlit as st

from seglab.analysis.estimate import estimate_study
from seglab.data import model_out_channels
from seglab.errors import SegLabError
from seglab.models import list_models, model_info
from seglab.settings.config import TrainConfig
from seglab.settings.presets import PRESET_HELP, PRESETS
from seglab.settings.study import parse_seeds
from seglab.ui import train_views as tv
from seglab.ui import tune_views  # issue 16: Tune tab, transfer learning
from seglab.ui.class_study_view import class_study_panel  # issue 22: the class study tab
from seglab.ui.common import URL
from seglab.ui.store_health import queue_notice_banner
from seglab.units import format_duration

st.title(":material/model_training: Train")
queue_notice_banner(key="tr_queue_notice")
st.markdown(
    "Choose the data, the architectures and the losses to compare. Every architecture is trained "
    "with every loss (and every seed): that grid is a **study**. Runs train one after another in a "
    "background worker, so you can leave this page, open the Results page, or even close the "
    "browser; the queue below is read from disk and survives reloads and restarts."
)

preset_col, help_col = st.columns([1, 3], vertical_alignment="bottom")
preset_name = preset_col.selectbox(
    "Preset",
    list(PRESETS),
    key="tr_preset",
    bind=URL,
    on_change=tv.apply_preset,
    help=tv.PRESET_HELP_TEXT,
)
help_col.caption(PRESET_HELP.get(preset_name, ""))

st.subheader("What to compare")
arch_col, loss_col = st.columns(2, gap="large")
archs = arch_col.multiselect(
    "Architectures",
    list_models(),
    default=tv.form_default("tr_archs"),
    key="tr_archs",
    wrap=True,
    bind=URL,
    format_func=lambda name: model_info(name).title,
    help="See the Architectures page for what each one does.",
)
with arch_col:
    model_params = tv.model_params_section(list(archs))
with loss_col:
    losses = tv.loss_section(tv.chosen_num_classes())

data_col, model_col, train_col = st.columns(3, gap="large")
# Every setting widget below is generated from its declaration in seglab/settings/schema.py.
with data_col:
    st.subheader("Data")
    dataset, dataset_params, num_classes = tv.dataset_section()
    settings = tv.form_settings_section("main", "data")
    settings["n"] = tv.fit_n_to_dataset(dataset, settings["n"])
    shares_text, data_per_seed = tv.data_axes_section(dataset)

with model_col:
    st.subheader("Model size")
    settings |= tv.form_settings_section("main", "model")
    st.caption("Each level down halves the resolution and doubles the channels.")

with train_col:
    st.subheader("Training")
    settings |= tv.form_settings_section("main", "training")
    seeds_text = st.text_input(
        "Seeds (comma list)",
        value=tv.form_default("tr_seeds"),
        key="tr_seeds",
        bind=URL,
        help="One run per seed; several seeds show how much results vary (mean ± spread). "
        "'0, 1, 2' or a range '0-4'.",
    )
    with st.expander("More options"):
        settings |= tv.form_settings_section("more")
    settings |= tune_views.transfer_section(list(archs))

# ---- the plan, its size and its cost -------------------------------------------------------
plan, problem = None, None
try:
    if not dataset:
        raise SegLabError("enter the path of a folder or .zip with your images and masks.")
    base = TrainConfig(
        dataset=dataset,
        dataset_params=dataset_params,
        arch=archs[0] if archs else "unet",
        loss=next(iter(losses), "bce"),
        **settings,
    )
    plan = tv.study_from_form(
        base,
        list(archs),
        losses,
        parse_seeds(seeds_text),
        model_params,
        data_axes=tv.parse_data_axes(shares_text),
        data_per_seed=data_per_seed,
    )
    if not archs or not losses:
        raise SegLabError("choose at least one architecture and one loss.")
    tv.check_class_limits(plan)  # classroom mode: a student's study must fit the class limits
except SegLabError as exc:
    problem = str(exc)

st.divider()
summary_col, estimate_col, start_col = st.columns([2, 2, 1], vertical_alignment="center")
if problem:
    summary_col.error(f"Cannot start yet: {problem}")
elif plan is not None:
    summary_col.markdown(
        f"**{tv.plural(plan.n_runs, 'run')}**: {tv.plural(len(plan.axes['arch']), 'architecture')} × "
        f"{tv.plural(len(plan.axes['loss']), 'loss', 'losses')} × "
        + "".join(f"{tv.plural(len(v), 'foreground share')} × " for k, v in plan.axes.items() if "." in k)
        + f"{tv.plural(len(plan.run_seeds), 'seed')}, "
        f"{tv.plural(plan.base.epochs, 'epoch')} each."
    )
    out_channels = model_out_channels(int(num_classes or 2))  # unknown class count: binary
    with estimate_col:
        estimate = estimate_study(plan.expand(), out_channels=out_channels, measure=False)
        if estimate is None and st.button(":material/timer: Estimate time on this device", key="tr_estimate"):
            with st.spinner("Timing a few training steps of each architecture…"):
                try:
                    estimate = estimate_study(plan.expand(), out_channels=out_channels)
                except SegLabError as exc:
                    st.warning(str(exc)[0].upper() + str(exc)[1:])
        if estimate is not None:
            st.markdown(f"Estimated time: **{format_duration(estimate.seconds)}** ({estimate.text()}).")
            st.caption("Measured from a few real training steps; other work on this computer slows it down.")

start = start_col.button("Start training", type="primary", disabled=plan is None or problem is not None)
if start and plan is not None:
    try:
        group = tv.start_plan(plan)
    except SegLabError as exc:
        st.error(f"Could not queue the study: {exc}")
    else:
        st.success(
            f"Queued {tv.plural(plan.n_runs, 'run')} as study “{tv.default_study_name(plan)}”. "
            "A background worker trains them one after another; follow them below or on the Results page."
        )
        st.session_state["tr_last_group"] = group

queue_tab, tune_tab, class_tab = st.tabs(["Queue", "Tune (cross-validation)", "Class study"])
with queue_tab:
    tv.queue_panel()
with tune_tab:
    tune_views.tune_panel(plan.base if plan is not None and problem is None else None)
with class_tab:
    class_study_panel(plan)
