"""Results' predicted-masks section: the best runs' (or the selected runs') masks side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from seglab.analysis import results_table as rt
from seglab.palette import FN_COLOR, FP_COLOR, TP_COLOR
from seglab.store.run_store import PREDICTIONS, RunStore
from seglab.ui.common import URL
from seglab.ui.images import upscale
from seglab.viz import results_charts as rc


@st.cache_data(show_spinner=False, max_entries=64)
def load_predictions(home: str, run_id: str, stamp: tuple) -> dict:
    return RunStore(home).predictions(run_id)


def masks_section(store: RunStore, compare: pd.DataFrame, selected: list[str]) -> None:
    """Predicted masks of the best runs of ``compare`` (or of the ``selected`` ones)."""
    home = str(store.home)
    done = rt.finished(compare)
    if done.empty:
        st.info("Predicted masks appear when a run has finished.")
    else:
        if selected:
            grid_runs = [r for r in selected if r in set(done["run_id"])][:6]
        else:
            # runs that kept masks (in the reference study one seed per cell) come first
            kept = done[[store.files(r).file(PREDICTIONS).is_file() for r in done["run_id"]]]
            grid_runs = list(rt.sort_runs(kept if not kept.empty else done, "val_iou")["run_id"][:4])
            st.caption(
                "Showing the four runs with the best validation IoU; select runs above to choose others (up to six)."
            )
        c1, c2, c3 = st.columns(3)
        split = c1.radio("Images from", ["test", "val"], horizontal=True, key="rs_split", bind=URL)
        predictions = {
            r["run_id"]: load_predictions(home, r["run_id"], (r["status"], r["epochs_done"]))
            for r in done.to_dict("records")
            if r["run_id"] in grid_runs
        }
        stored = max((len(p.get(f"{split}_masks", ())) for p in predictions.values()), default=0)
        # the slider goes as far as the runs kept images, no further
        n_images = (
            c2.slider("Images", 1, stored, min(4, stored), key="rs_n_images", bind=URL)
            if stored > 1
            else stored
        )
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
