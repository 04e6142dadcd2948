"""Issue 14 pieces that live outside the pages: presenter-mode charts, the colour-blind-safe
palette, and the Loss lab's stand-in side outputs that make aux_weight live."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from seglab.palette import CATEGORICAL, categorical
from seglab.teach import loss_lab as T
from seglab.ui.chart_view import PRESENT_MIN_FONT, chart_spec, enlarge


def _fonts(node, found=None):
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("fontSize", "labelFontSize", "titleFontSize") and isinstance(value, (int, float)):
                found.append(value)
            else:
                _fonts(value, found)
    elif isinstance(node, list):
        for item in node:
            _fonts(item, found)
    return found


def small_chart() -> alt.LayerChart:
    data = pd.DataFrame({"x": [0, 1, 2], "y": [1, 0, 2], "s": ["a", "b", "a"]})
    line = alt.Chart(data).mark_line(strokeWidth=2).encode(x="x:Q", y="y:Q", color="s:N")
    text = alt.Chart(data).mark_text(fontSize=10).encode(x="x:Q", y="y:Q", text="s:N")
    return (line + text).configure_axis(labelFontSize=11)


def test_presenter_spec_has_no_text_below_18px_and_thicker_lines() -> None:
    plain = small_chart().to_dict()
    big = enlarge(plain)
    assert min(_fonts(big)) >= PRESENT_MIN_FONT
    assert _fonts(plain) and min(_fonts(plain)) < PRESENT_MIN_FONT  # the input is left alone
    assert big["layer"][0]["mark"]["strokeWidth"] == pytest.approx(2 * 1.8)
    assert big["config"]["legend"]["labelFontSize"] >= PRESENT_MIN_FONT


def test_chart_spec_carries_the_palette_and_arrow_data() -> None:
    spec = chart_spec(small_chart(), present=False)
    assert spec["config"]["range"]["category"] == CATEGORICAL
    assert all(isinstance(v, bytes) for v in spec["datasets"].values())


def test_categorical_colours_are_distinct_and_repeat_after_eight() -> None:
    assert len(set(categorical(8))) == 8
    assert categorical(9)[8] == categorical(9)[0]


def test_side_outputs_are_block_means_at_full_size() -> None:
    z = np.arange(16, dtype=np.float32).reshape(4, 4)
    half, quarter = T.side_outputs(z, levels=2)
    assert half.shape == quarter.shape == (4, 4)
    assert half[0, 0] == half[1, 1] == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert half[2, 3] == pytest.approx((10 + 11 + 14 + 15) / 4)
    assert np.all(quarter == pytest.approx(z.mean()))


def test_aux_weight_changes_the_deep_supervision_loss_map() -> None:
    yy, xx = np.mgrid[:16, :16]
    mask = ((yy - 8) ** 2 + (xx - 8) ** 2 < 20).astype(np.int64)
    logits = np.where(mask > 0, 3.0, -3.0).astype(np.float32)
    off, off_mean = T.pixel_loss("bce_ds", logits, mask, aux_weight=0.0)
    on, on_mean = T.pixel_loss("bce_ds", logits, mask, aux_weight=1.0)
    bce, bce_mean = T.pixel_loss("bce", logits, mask)
    assert off_mean == pytest.approx(bce_mean) and np.allclose(off, bce)
    # the blurred side outputs are wrong at the object's edge, so with aux_weight the loss rises
    assert on_mean > off_mean


def test_status_line_names_the_worker_state_only_while_jobs_wait() -> None:
    from seglab.ui.live_status import status_line

    assert status_line({}, None) == "Job queue: empty"
    assert (
        status_line({"queued": 3, "done": 2}, "starting") == "Job queue: 3 queued, 2 done · worker starting…"
    )
    assert status_line({"running": 1}, "running") == "Job queue: 1 running · worker training"
    assert status_line({"done": 4}, "none") == "Job queue: 4 done"


def test_a_just_spawned_worker_counts_as_starting_not_missing(tmp_path) -> None:
    import json
    import os
    import time

    from seglab.ui.live_status import worker_state

    assert worker_state(tmp_path) == "none"
    folder = tmp_path / "_workers"
    folder.mkdir(exist_ok=True)
    (folder / "cpu-0.spawn").write_text(json.dumps({"time": time.time(), "pid": os.getpid()}))
    assert worker_state(tmp_path) == "starting"
    (folder / "cpu-0.spawn").write_text(json.dumps({"time": time.time() - 3600, "pid": os.getpid()}))
    assert worker_state(tmp_path) == "none"


def test_uploaded_datasets_are_named_kept_and_never_overwritten(tmp_path) -> None:
    from seglab.data.uploads import clean_name, delete_dataset, list_uploaded, save_dataset
    from seglab.errors import SegLabError

    assert clean_name("My cells (v2).zip") == "My cells _v2"
    with pytest.raises(SegLabError):
        clean_name("..zip")
    saved = save_dataset(b"zip one", "cells.zip", home=tmp_path)
    assert saved.path == tmp_path / "datasets" / "cells.zip" and saved.path.read_bytes() == b"zip one"
    assert save_dataset(b"zip one", "cells", home=tmp_path).path == saved.path  # same content: fine
    with pytest.raises(SegLabError, match="already saved"):
        save_dataset(b"zip two", "cells", home=tmp_path)
    assert [d.name for d in list_uploaded(tmp_path)] == ["cells"]
    assert delete_dataset("cells", home=tmp_path) and list_uploaded(tmp_path) == []


def test_presenter_panels_grow_alike_and_marks_keep_their_size() -> None:
    spec = {"mark": {"type": "bar", "width": 3}, "width": 200, "height": 100, "encoding": {}}
    big = enlarge(spec)
    assert (big["width"], big["height"]) == (280, 140)
    assert big["mark"]["width"] == 3
