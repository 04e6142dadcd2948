"""Home: what segmentation is for, a tour of the lab and a lesson plan for a class."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from seglab.device import device_label
from seglab.palette import overlay
from seglab.teach.basics import load_scene
from seglab.ui.images import image_row
from seglab.ui.store_health import queue_notice_banner

EXAMPLE_SIZE = 96


@st.cache_data(show_spinner=False)
def example_images() -> tuple[list, list[str]]:
    """Two generated samples (a microscope-like scene and an aerial tile) with overlays."""
    cells = load_scene("cells", size=EXAMPLE_SIZE, seed=3)
    aerial = load_scene("aerial", size=EXAMPLE_SIZE, seed=3)
    images = [
        cells.image,
        overlay(cells.image, cells.mask, 0.6),
        aerial.image,
        overlay(aerial.image, aerial.mask, 0.6),
    ]
    captions = [
        "Generated cells: the input image",
        "…and what a model must output: every cell pixel marked",
        "Generated aerial tile",
        f"…with {aerial.num_classes} classes, one colour each",
    ]
    return images, captions


@st.cache_data(show_spinner=False)
def device_text() -> str:
    return device_label()


def link(path: str, label: str, icon: str) -> None:
    """A link to another page; plain text when the page runs alone (e.g. in a unit test)."""
    try:
        st.page_link(path, label=label, icon=icon)
    except StreamlitAPIException:
        st.markdown(f"{icon} **{label}**")


st.title("SegLab: learn image segmentation by changing things and watching")
queue_notice_banner(key="home_queue_notice")
st.markdown(
    "A segmentation model looks at an image and gives **every pixel a label**. "
    "Below are two generated examples: the picture on the left of each pair is what the "
    "model sees, the coloured version on the right is the answer it has to produce."
)
images, captions = example_images()
image_row(images, captions, min_side=192)

st.header("Where pixel-level labels matter")
medicine, maps, driving = st.columns(3)
with medicine:
    st.subheader(":material/biotech: Medicine")
    st.markdown(
        "Outlining a tumour, an organ or each cell in a microscope slide. A box around the "
        "tumour is not enough when a surgeon or a radiotherapy plan needs its exact edge, "
        "and counting cells needs every cell separated from its neighbours. "
        "SegLab's **cells** data imitates this."
    )
with maps:
    st.subheader(":material/satellite_alt: Aerial maps")
    st.markdown(
        "Turning satellite or drone pictures into maps: which pixels are buildings, roads, "
        "trees or water. Classes are very unequal in size (a few cars, a lot of ground), "
        "which is exactly what the loss functions in this lab struggle with. "
        "SegLab's **aerial** data imitates this."
    )
with driving:
    st.subheader(":material/directions_car: Driving")
    st.markdown(
        "A car's camera must know which pixels are drivable road, lane markings, people "
        "and other cars, many times a second. Small, rare classes (a pedestrian far away) "
        "matter most and cover the fewest pixels. SegLab's **shapes** data is the simplest "
        "version of 'find the objects'."
    )

st.header("The study you will redo")
st.markdown(
    "SegLab is built around one research question: **how much do the network architecture "
    "and the loss function change segmentation quality?** The original study trained "
    "**SegNet**, **U-Net** and a **strided U-Net** (down-sampling with strided convolutions "
    "instead of pooling), each with four losses: **binary cross-entropy**, **Dice**, "
    '**focal loss** and a "BCE supervised regularisation", which SegLab reads as **BCE with '
    "deep supervision** (extra loss terms on intermediate outputs). It scored every model with "
    "**IoU** (intersection over union), compared IoU curves over the epochs on validation data, "
    "and picked a winner on held-out test data. Its headline: the strided U-Net trained with "
    "focal loss scored best, and focal loss helped most where classes were unbalanced. "
    "SegLab's own reference study (Results page) does not reproduce that headline: there focal "
    "is the weakest loss for every architecture.\n\n"
    "Here you can run the same grid on generated data in minutes and check whether that "
    "conclusion holds, and for which data. Treat the published finding as a hypothesis to "
    "test, not as a fact."
)

st.header("A tour of the lab")
tour = [
    (
        "app_pages/basics.py",
        "Basics",
        ":material/grid_on:",
        "pixels, masks, one-hot, logits and probabilities",
    ),
    (
        "app_pages/loss_lab.py",
        "Loss lab",
        ":material/trending_down:",
        "every loss formula, focal α and γ, live heatmaps",
    ),
    ("app_pages/metrics_lab.py", "Metrics lab (IoU)", ":material/target:", "IoU, Dice, precision and recall"),
    (
        "app_pages/architectures.py",
        "Architectures",
        ":material/account_tree:",
        "SegNet, U-Net and relatives, layer by layer",
    ),
    ("app_pages/data.py", "Data", ":material/folder_open:", "the generated datasets and your own images"),
    (
        "app_pages/train.py",
        "Train",
        ":material/model_training:",
        "train a model or the whole study in the background",
    ),
    (
        "app_pages/results.py",
        "Results",
        ":material/leaderboard:",
        "winner chosen on validation, seed spread, masks",
    ),
    (
        "app_pages/inside.py",
        "Inside",
        ":material/visibility:",
        "feature maps, your own photo, U-Net++ pruning",
    ),
]
left, right = st.columns(2)
for i, (path, label, icon, what) in enumerate(tour):
    with left if i < (len(tour) + 1) // 2 else right:
        link(path, f"{label}: {what}", icon)

st.header("A 45-minute lesson plan")
st.markdown(
    "Project the app and let the class call out the values to try. Start a training run "
    "early: it finishes in the background while you teach."
)
st.markdown(
    """
| Minutes | Page | Do this |
|---|---|---|
| 0–4 | Home | Show the examples; ask the class where pixel-exact labels are needed. |
| 4–8 | Train | Queue the form's default: SegNet, U-Net and the strided U-Net × four losses, one seed, preset *quick* (12 runs, two at a time: a few minutes on a 2-core laptop; the form estimates it). On a GPU, preset *study*. Results arrive while you teach. |
| 8–11 | Data | Browse the training images in *mask* mode: how small and how rare is the foreground? |
| 11–17 | Basics | Zoom into a patch: a mask is just a grid of numbers. Move the threshold slider. |
| 17–26 | Loss lab | Raise γ from 0 to 5 and watch the easy pixels' share of the loss collapse; shrink the foreground and compare BCE with Dice. |
| 26–32 | Metrics lab | Why 99 % pixel accuracy can still be a useless model: IoU against accuracy. |
| 32–36 | Architectures | Follow the image down the encoder and back up: what do skip connections carry? |
| 36–42 | Results | Which model did the class's study choose on validation? One seed cannot say whether a lead is real: load the reference study (*Export & import*: the same grid with 3 seeds, plus U-Net++) and ask whether the lead is bigger than the seed spread. Replay its masks epoch by epoch. |
| 42–45 | Inside | Open a trained U-Net (the class's, or the reference study's seed 0): what do the first and the deepest stages respond to? |
"""
)

st.header("This computer")
device = device_text()
if device.startswith("GPU"):
    st.success(f"Training runs on **{device}**: the *study* preset, sized for a GPU, is the one to queue.")
else:
    st.info(
        f"Training runs on **{device}**: no GPU here. Use the *quick* preset (small images and "
        "models) and queue runs early in the lesson."
    )
