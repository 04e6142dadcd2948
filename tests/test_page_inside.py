"""AppTest of the Inside page against real tiny runs trained by the engine."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from seglab.models import create_model
from seglab.settings.presets import preset
from seglab.store.run_store import RunStore
from seglab.training.run import run_config
from tests.page_support import page_runner

DEPTH = 2


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A deep-supervised U-Net++ run (bce_ds) and a U-Net run, 32-pixel images, 1 epoch."""
    home = tmp_path_factory.mktemp("inside-home")
    ids = {}
    for arch, loss in (("unet", "bce"), ("unetpp", "bce_ds")):
        config = preset("smoke", size=32, n=24, width=4, depth=DEPTH, epochs=1, arch=arch, loss=loss)
        outcome = run_config(config, home=home)
        assert outcome.status == "done", outcome.message
    for record in RunStore(home).list_runs():
        ids[record.config.arch] = record.id
    with pytest.MonkeyPatch.context() as patch:  # a module-wide home
        patch.setenv("SEGLAB_HOME", str(home))
        yield ids


run_page = page_runner("inside", timeout=120)


def select_run(at, run_id: str):
    at.selectbox(key="in_run").select(run_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def stage_titles(at) -> list[str]:
    return [m.value for m in at.markdown if " channels of " in m.value]


def test_empty_store_says_to_train_first(seglab_home):
    at = run_page()
    assert any("No finished run yet" in i.value for i in at.info)


def test_unet_run_shows_every_stage_with_its_shape_and_skips(trained_home):
    at = select_run(run_page(), trained_home["unet"])
    model = create_model("unet", width=4, depth=DEPTH)
    titles = stage_titles(at)
    assert len(titles) == len(model.feature_stages()) == 2 * DEPTH + 1
    # enc1: 4 channels of 32×32; bottleneck: 16 channels of 8×8
    assert any(t.startswith("**`enc1`**") and "4 channels of 32×32" in t for t in titles), titles
    assert any(t.startswith("**`bottleneck`**") and "16 channels of 8×8" in t for t in titles), titles
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Skip from `enc1`") for c in captions)
    assert not at.get("subheader") or all("Side outputs" not in s.value for s in at.subheader)
    assert not any("Prune" in h.value for h in at.header)
    # the prediction row: overlay, probability and confidence tiles, plus the input pair
    assert len(at.get("image")) >= 3 + 2


def test_threshold_slider_changes_the_prediction_caption(trained_home):
    at = select_run(run_page(), trained_home["unet"])

    def share() -> str:
        return next(c.value for c in at.caption if "called object" in c.value)

    at.slider(key="in_threshold").set_value(0.05).run()
    low = share()
    at.slider(key="in_threshold").set_value(0.95).run()
    assert not at.exception
    high = share()
    assert int(low.split("%")[0]) >= int(high.split("%")[0])


def test_unetpp_shows_nodes_side_outputs_and_pruning(trained_home):
    at = select_run(run_page(), trained_home["unetpp"])
    titles = stage_titles(at)
    assert len(titles) == (DEPTH + 1) * (DEPTH + 2) // 2
    assert any(t.startswith("**$X^{0,2}$**") for t in titles), titles
    assert any("Side outputs" in s.value for s in at.subheader)
    assert any("Prune" in h.value for h in at.header)
    table = at.dataframe[0].value
    assert list(table["level"]) == [f"L{v}" for v in range(1, DEPTH + 1)]
    assert table["params"].is_monotonic_increasing
    sentence = [s.value for s in at.success]
    assert len(sentence) == 1 and sentence[0].startswith("Ship L")
    assert len(at.get("vega_lite_chart")) == 1


def test_built_in_sample_and_uploaded_photo(trained_home):
    at = select_run(run_page(), trained_home["unet"])
    at.radio(key="in_source").set_value("Built-in sample").run()
    assert not at.exception
    assert stage_titles(at)
    at.radio(key="in_source").set_value("Your photo").run()
    assert not at.exception
    assert any("Upload a photo" in i.value for i in at.info)
    assert not stage_titles(at)


def test_uploaded_photo_runs_through_the_model(trained_home):
    """AppTest cannot upload files, so the page's reader is checked on a real PNG directly."""
    from PIL import Image

    from seglab.inspect import image_from_bytes, predict_image

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((50, 70, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    model = RunStore().load_model(trained_home["unet"])
    out = predict_image(model, image_from_bytes(buf.getvalue(), 32))
    assert out["probs"].shape == (1, 32, 32) and out["confidence"].min() >= 0.5


def test_runs_without_weights_are_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finished runs imported without weights cannot be opened: say why."""
    from synth_runs import must_show_store

    store = must_show_store(tmp_path)
    monkeypatch.setenv("SEGLAB_HOME", str(tmp_path))
    at = run_page()
    assert not at.exception, [e.value for e in at.exception]
    n_done = sum(r.status == "done" for r in store.list_runs())
    assert n_done > 0
    assert any(f"None of the {n_done} finished runs here has saved weights" in i.value for i in at.info)
