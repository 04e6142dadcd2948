"""Architectures: every registered model drawn from its own graph, with its layers and its cost."""

import streamlit as st

from seglab.models import list_models, model_info
from seglab.teach import architectures as arch
from seglab.ui import architecture_views as V
from seglab.ui.chart_view import presenting, show_chart
from seglab.ui.common import URL, accept_url_name

WIDTHS = [4, 8, 16, 24, 32, 48, 64]
SIZES = [32, 64, 128]


def option_widget(spec, depth: int, key: str):
    """A widget for one model option (`ParamSpec`): choices → select box, else a level picker."""
    if spec.choices:
        choices = list(spec.choices)
        index = choices.index(spec.default)
        return st.selectbox(
            spec.name.replace("_", " "), choices, index=index, key=key, help=spec.help, bind=URL
        )
    if spec.default is None:  # an optional level, e.g. U-Net++ pruning: None or min..depth
        options = [None, *range(int(spec.min or 1), depth + 1)]
        return st.selectbox(
            spec.name.replace("_", " "),
            options,
            index=0,
            key=key,
            bind=URL,
            help=spec.help,
            format_func=lambda v: "off (full network)" if v is None else f"level {v}",
        )
    return st.number_input(spec.name.replace("_", " "), value=spec.default, key=key, help=spec.help, bind=URL)


st.title("Architectures: how detail travels from encoder to decoder")
st.markdown(
    "Every model here has the same job: squeeze a 64×64 image down to a small grid of rich "
    "features (the **encoder**), then grow an answer for every pixel back up (the **decoder**). "
    "Shrinking is what lets a 3×3 convolution see the whole object; it is also what throws away "
    "*where* the edges were. The architectures differ mainly in **how they bring that detail "
    "back**. Pick one, change its width and depth, and the diagram, layer table and cost below "
    "are rebuilt from the real network."
)


# The model's settings and everything built from them are one fragment: a move of the width or
# depth slider reruns this part alone, not the explanations below (issue 22).
@st.fragment
def model_explorer() -> None:
    names = list_models()
    c1, c2, c3, c4 = st.columns([1.6, 1.2, 1, 1])
    accept_url_name("model", names, lambda n: model_info(n).title)
    name = c1.selectbox(
        "Architecture",
        names,
        index=names.index("unet") if "unet" in names else 0,
        format_func=lambda n: model_info(n).title,
        key="model",
        bind=URL,
    )
    width = c2.select_slider(
        "Width (channels at full resolution)",
        WIDTHS,
        value=16,
        key="width",
        bind=URL,
        help=arch.width_help(),
    )
    depth = c3.slider("Depth (times the image is halved)", 1, 5, 3, key="depth", bind=URL)
    size = c4.select_slider(
        "Input size (pixels)",
        SIZES,
        value=64,
        key="size",
        bind=URL,
    )
    info = model_info(name)
    options = {}
    if info.params:
        cols = st.columns(len(info.params) + 2)
        for col, spec in zip(cols, info.params, strict=False):
            with col:
                options[spec.name] = option_widget(spec, depth, f"opt_{spec.name}")
    options_key = tuple(sorted(options.items(), key=lambda kv: kv[0]))

    view = V.model_view(name, width, depth, size, options_key)
    graph, total_params, macs = view["graph"], view["total_params"], view["macs"]
    link_title = arch.topic_for(name)[0]

    rows = [sum(1 for n in graph["nodes"] if n["level"] == lv["level"]) for lv in graph["levels"]]
    wide = max(rows, default=0) > 3  # nested or pyramid designs: give the diagram the full width
    if wide:
        st.subheader(f"{info.title}: the diagram")
        st.graphviz_chart(view["dot"], width="stretch")
        st.html(view["legend"])
        right, costs = st.columns([1.4, 1], gap="large")
    else:
        left, right = st.columns([1.45, 1], gap="large")
        with left:
            st.subheader(f"{info.title}: the diagram")
            st.graphviz_chart(view["dot"], width="stretch")
            st.html(view["legend"])
        costs = right
    with right:
        st.subheader(link_title)
        st.markdown(info.summary)
    with costs:
        m1, m2 = st.columns(2)
        # the parameters of the layers that run, as Inside's pruning table counts them: a pruned
        # U-Net++ stores all its weights but uses fewer
        used = view["used_params"]
        m1.metric(
            "Parameters used",
            arch.human_count(used),
            help=f"{used:,} learnable numbers in the layers that run"
            + (f" (the network stores {total_params:,})" if used != total_params else ""),
        )
        m2.metric(
            "MACs per image",
            arch.human_count(macs),
            help=f"{macs:,} multiply–accumulates for one {size}×{size} image",
        )
        st.markdown(
            f"- **Down:** {arch.DOWNSAMPLE_TEXT.get(graph['downsample'], graph['downsample'])}\n"
            f"- **Up:** {arch.UPSAMPLE_TEXT.get(graph['upsample'], graph['upsample'])}\n"
            f"- **Deep-supervision heads:** {arch.aux_heads_text(graph)}"
        )

    st.subheader("Layer by layer")
    tab_layers, tab_compare = st.tabs(["Layer table", "All architectures at this size"])
    with tab_layers:
        unused = total_params - view["used_params"]
        st.caption(
            f"{view['n_layers']} layers in the order they run on one {size}×{size} image. Output shape is "
            "channels × height × width; watch the height halve on the way down and double on the way up."
            + arch.unused_params_text(graph, unused)
        )
        st.dataframe(
            view["layers"],
            hide_index=True,
            width="stretch",
            height=360,
            column_config={"parameters": st.column_config.NumberColumn(format="localized")},
        )
    with tab_compare:
        show_chart(V.comparison_view(width, depth, size, name, presenting()), width="stretch")
        st.caption(
            "Same width, depth and input size for everyone; the selected model is orange. Parameters "
            "decide memory and over-fitting risk; MACs (multiply–accumulates) decide speed. MACs grow "
            "with the number of pixels, parameters do not."
        )


model_explorer()

st.subheader("Six ways to bring the detail back")
topics = arch.explanation_topics()
for tab, topic in zip(st.tabs([t["tab"] for t in topics]), topics, strict=True):
    with tab:
        st.markdown(f"**{topic['heading'][0].upper()}{topic['heading'][1:]}.** {topic['text']}")
        st.caption("Models here: " + (", ".join(topic["models"]) or "none registered"))
st.dataframe(V.overview(), hide_index=True, width="stretch")
