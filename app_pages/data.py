"""Data: generate and browse the built-in datasets, or check and load your own images and masks."""

import streamlit as st

from seglab.data import dataset_info, list_datasets
from seglab.data.folder import content_stamp
from seglab.data.uploads import clean_name, delete_dataset, list_uploaded, save_dataset
from seglab.errors import SegLabError
from seglab.settings.classroom import Permission
from seglab.teach import data_page as dp
from seglab.ui import classroom
from seglab.ui import data_views as V
from seglab.ui.chart_view import presenting, show_chart
from seglab.ui.common import URL, accept_url_name
from seglab.ui.images import cached_png

SIZES = [32, 48, 64, 96, 128]
TILES = 8
UPLOAD_PREVIEW = 32  # an upload is previewed whole, up to this many pairs
SHOW_CAPTIONS = {
    "overlay": "Overlay: the mask painted over the image in the class colours, background left clear.",
    "image": "Image: the pictures alone, as the network sees them.",
    "mask": "Mask: the class of every pixel in its class colour; this is what the network must learn to draw.",
}


def save_for_training(upload) -> None:
    """Name a checked upload and keep it under SEGLAB_HOME for the Train page."""
    name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    name = name_col.text_input("Name on the Train page", value=clean_name(upload.name), key="upload_name")
    if button_col.button("Save for training", key="upload_save", type="primary"):
        try:
            saved = save_dataset(None, name, source=dp.save_upload(upload.getvalue(), upload.name))
        except SegLabError as exc:
            st.error(f"Not saved: {exc}")
        else:
            st.success(
                f"Saved as **{saved.name}** (`{saved.path}`). Choose it under *Dataset* on the Train page."
            )


def saved_datasets() -> None:
    """Uploads saved for training, each with a delete button."""
    saved = list_uploaded()
    if not saved:
        return
    st.markdown("**Saved for training** (listed on the Train page)")
    for ds in saved:
        text_col, button_col = st.columns([4, 1], vertical_alignment="center")
        text_col.markdown(f"**{ds.name}** · {ds.size_bytes / 1e6:.1f} MB · `{ds.path}`")
        if classroom.can(Permission.DELETE):
            button_col.button(
                "Delete", key=f"upload_delete_{ds.name}", on_click=delete_dataset, args=(ds.name,)
            )


@st.cache_data(show_spinner="Reading and checking the files…", max_entries=8)
def loaded(path: str, size: int, stamp: str) -> dp.LoadResult:
    return dp.load_user_dataset(path, size=size)


def param_widget(spec, key: str):
    """A widget built from a dataset `ParamSpec`: select box for choices, slider for ranges."""
    label = spec.name.replace("_", " ").capitalize()
    if spec.choices:
        choices = list(spec.choices)
        return st.selectbox(
            label, choices, index=choices.index(spec.default), key=key, help=spec.help, bind=URL
        )
    if isinstance(spec.default, int) and not isinstance(spec.default, bool):
        lo, hi, step = int(spec.min), int(spec.max), int(spec.step or 1)
    else:
        lo, hi, step = float(spec.min), float(spec.max), float(spec.step or 0.01)
    return st.slider(label, lo, hi, spec.default, step, key=key, help=spec.help, bind=URL)


def show_grid(
    view: dp.DataView, start: int, mode: str = "overlay", columns: int = 4, count: int = TILES
) -> None:
    tiles = dp.overlay_tiles(view, start, count, mode=mode)
    for row in range(0, len(tiles), columns):
        for col, (tile, caption) in zip(st.columns(columns), tiles[row : row + columns], strict=False):
            col.image(cached_png(tile, 160), caption=caption, width="stretch", output_format="PNG")


def show_balance(view: dp.DataView, key: tuple | None = None) -> None:
    """The class-balance chart and note; from the shared cache for a built-in dataset (``key``:
    the arguments of `seglab.ui.data_views.generated`)."""
    spec, note = V.balance(view, presenting()) if key is None else V.generated_balance(key, presenting())
    show_chart(spec, width="stretch")
    st.markdown(note)


st.title("Data: what the models learn from")
st.markdown(
    "A segmentation dataset is a list of pairs: an image and a **mask** of the same size that "
    "gives every pixel a class id. Everything a model learns comes from these pairs, so look at "
    "them before training: how big are the objects, how cluttered is the background, and above "
    "all **how unbalanced are the classes**? The built-in datasets are drawn on the fly from a "
    "seed, so the same settings give the same pictures on every computer."
)
builtin, own = st.tabs(["Built-in datasets", "Your own images and masks"], key="data_tab", bind=URL)


# The built-in tab is a fragment: its widgets rerun it alone, not the page (issue 22).
@st.fragment
def builtin_datasets() -> None:
    names = list_datasets()
    controls, main = st.columns([1.25, 3], gap="large")
    with controls:
        accept_url_name("ds", names, lambda n: dataset_info(n).title)
        name = st.selectbox(
            "Dataset",
            names,
            index=0,
            format_func=lambda n: dataset_info(n).title,
            key="ds",
            bind=URL,
        )
        info = dataset_info(name)
        size = st.select_slider(
            "Image size (pixels)",
            SIZES,
            value=64,
            key="ds_size",
            bind=URL,
        )
        n = st.slider("Number of images", 16, 256, 48, 16, key="n", bind=URL)
        seed = st.number_input("Seed", 0, 10_000, 0, key="seed", bind=URL)
        params = {spec.name: param_widget(spec, f"p_{spec.name}") for spec in info.params}
    key = (name, size, n, int(seed), tuple(sorted(params.items())))
    view = V.generated(*key)
    with main:
        st.markdown(f"**{info.title}.** {info.description}")
        m1, m2, m3 = st.columns(3)
        m1.metric("Images", len(view))
        m2.metric("Classes", view.num_classes, help=", ".join(view.class_names))
        m3.metric("Image size", f"{size}×{size}")
        browse, show = st.columns([1.2, 1.3])
        start = 0
        if len(view) > TILES:
            start = browse.slider("Browse: first sample shown", 0, len(view) - TILES, 0, TILES, key="start")
        mode = show.radio("Show", ["overlay", "image", "mask"], horizontal=True, key="show")
        show_grid(view, start, mode)
        st.caption(SHOW_CAPTIONS[mode])
    st.subheader("Class balance")
    chart_col, text_col = st.columns([1.4, 1], gap="large")
    with chart_col:
        show_balance(view, key)
    with text_col:
        st.markdown(
            "The bars count pixels, not images. Rare classes are the hard ones: the loss sees "
            "them seldom, and plain cross-entropy is happy to trade them away for the easy "
            "background. The aerial-imagery project this lab draws on met the same problem with its "
            "six classes and judged its model by per-class precision, recall and F1 rather "
            "than accuracy."
        )
        st.download_button(
            "Download a template zip (8 samples)",
            lambda: dp.example_zip(view),
            file_name=f"{name}_example.zip",
            mime="application/zip",
            help="Exactly the layout the uploader below expects.",
            on_click="ignore",
        )


with builtin:
    builtin_datasets()

with own:
    layout_col, form_col = st.columns([1, 1.3], gap="large")
    with layout_col:
        st.markdown("**What to provide**")
        st.code(dp.EXPECTED_LAYOUT, language=None, wrap_lines=True)
        st.markdown(
            "- **Matching stems**: `images/tile_001.jpg` pairs with `masks/tile_001.png`; an "
            "image without a mask (or the other way round) is reported by name.\n"
            "- **Images**: PNG, JPEG, BMP or TIFF, colour or grey; resized to the chosen size.\n"
            "- **Masks**: single-channel PNG holding the class id of each pixel (0 = "
            "background, 1, 2, …). A black-and-white mask saved as 0/255 is read as binary. "
            "Never save masks as JPEG: its compression invents in-between values at every edge.\n"
            "- **classes.txt** (optional): one class name per line, in class-id order.\n"
            "- A zip may hold the folders at its top level or inside one folder."
        )
    with form_col:
        upload = st.file_uploader("Upload a .zip", type=["zip"], key="upload")
        typed = (
            st.text_input(
                "…or the path of a folder or .zip on this computer",
                "",
                key="path",
                bind=URL,
                placeholder="/home/me/data/my_dataset",
            )
            if classroom.can(Permission.SERVER_PATHS)  # classroom mode: the teacher only
            else ""
        )
        own_size = st.select_slider("Resize to (pixels)", SIZES, value=64, key="own_size")
        if upload is not None:
            source = str(dp.save_upload(upload.getvalue(), upload.name))
            shown_name = upload.name
            if typed.strip():
                st.warning(
                    "You gave both an upload and a path: the upload is checked below. Remove the "
                    "upload (× next to its name) to check the path instead."
                )
        else:
            source, shown_name = typed.strip(), typed.strip()
    if source:
        stamp = content_stamp(source)  # every file the check reads: a fix is seen at the next look
        result = loaded(source, own_size, stamp)
        if not result.ok:
            if result.problems:
                count = f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''}"
                listed = "".join(f"\n- {item}" for item in result.problems)
                st.error(f"**{shown_name} cannot be used yet**: {count} to fix.{listed}")
            else:
                st.error(f"**{shown_name} cannot be used.** {result.headline}")
            st.info("Fix the files listed above and upload again; nothing else was changed.")
        else:
            user = result.view
            st.success(
                f"**{shown_name}**: {len(user)} image–mask pairs, {user.num_classes} classes ({', '.join(user.class_names)})."
            )
            for note in result.notes:
                st.warning(note)
            if upload is not None:
                save_for_training(upload)
            else:
                st.caption(
                    f"To train on it, choose “Folder or .zip on this computer” on the Train page and enter `{source}`."
                )
            shown = min(len(user), UPLOAD_PREVIEW)
            st.caption(f"Showing {shown} of {len(user)} pairs.")
            show_grid(user, 0, count=shown)
            show_balance(user)
    saved_datasets()
