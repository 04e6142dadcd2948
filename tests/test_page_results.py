"""AppTest of the Results page against a store filled with real tiny runs from the engine."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from seglab.settings.presets import preset
from seglab.store.run_store import RunStore
from seglab.training.run import run_config
from tests.page_support import page_runner

ARCHS = ("unet", "segnet")
LOSSES = ("bce", "dice")


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Four real runs (2 archs × 2 losses, 32-pixel images, 2 epochs), trained once per module.

    SEGLAB_HOME points at this store for the whole module and is restored afterwards.
    """
    home = tmp_path_factory.mktemp("results-home")
    for arch in ARCHS:
        for loss in LOSSES:
            config = preset("smoke", size=32, n=24, width=4, epochs=2, lr=0.03, arch=arch, loss=loss)
            outcome = run_config(config, home=home, group="test-study")
            assert outcome.status == "done", outcome.message
    with pytest.MonkeyPatch.context() as patch:  # a module-wide home
        patch.setenv("SEGLAB_HOME", str(home))
        yield home


run_page = page_runner("results", timeout=90)


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def test_tables_charts_and_masks_are_shown(trained_home):
    at = run_page()
    runs_table = at.dataframe[0].value
    assert len(runs_table) == 4
    assert set(runs_table["arch"]) == set(ARCHS)
    # two learning-curve charts, the validation and test heatmaps and the test ranking
    assert len(charts(at)) == 5
    # mask grid: for each shown test image, the image, its ground truth and one tile per run (4)
    images = at.get("image")
    assert len(images) == 4 * (2 + 4)
    captions = [c for image in images for c in image.captions]
    assert sum(c.startswith("IoU ") for c in captions) == 4 * 4
    assert "ground truth" in captions
    labels = [b.label for b in at.get("download_button")]
    assert "Download CSV" in labels and "PNG" in labels and "SVG" in labels


def test_best_model_is_chosen_on_validation(trained_home):
    records = [r for r in RunStore(trained_home).list_runs() if r.status == "done"]
    best = max(records, key=lambda r: r.metrics["val_iou"])  # one seed each: the best run
    at = run_page()
    sentences = [s.value for s in at.success if "Best by validation IoU" in s.value]
    assert len(sentences) == 1
    sentence = sentences[0]
    assert f"{best.config.arch} + {best.config.loss}" in sentence
    assert f"validation IoU {best.metrics['val_iou']:.3f} (1 seed)" in sentence
    assert f"its test IoU {best.metrics['test_iou']:.3f} (1 seed)" in sentence
    assert "±" not in sentence  # one seed has no spread to show
    assert any("optimistic" in c.value for c in at.caption)


def test_filter_by_architecture_shrinks_the_table(trained_home):
    at = run_page()
    assert len(at.dataframe[0].value) == 4
    at.multiselect(key="rs_f_arch").select("unet").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 2 and set(table["arch"]) == {"unet"}
    # the comparison follows the filter: the heatmap now has one architecture
    assert "unet" in at.success[0].value


def test_metric_selector_redraws_curves(trained_home):
    at = run_page()
    at.selectbox(key="rs_metric").select("val_dice").run()
    assert not at.exception
    assert len(charts(at)) == 5
    # a loss gets one panel per loss (each on its own axis), said in words
    at.selectbox(key="rs_metric").select("val_loss").run()
    assert not at.exception
    assert len(charts(at)) == 4
    assert any("own y axis" in c.value for c in at.caption)


def test_delete_needs_confirmation(trained_home, tmp_path, monkeypatch):
    home = tmp_path / "copy"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("SEGLAB_HOME", str(home))
    victim = RunStore(home).list_runs()[0].id
    at = run_page()
    at.multiselect(key="rs_pick").select(victim).run()
    delete = at.button(key="rs_delete")
    assert delete.disabled  # nothing happens before "I understand" is ticked
    at.checkbox(key="rs_sure").check().run()
    at.button(key="rs_delete").click().run()
    assert not at.exception
    assert victim not in {r.id for r in RunStore(home).list_runs()}
    assert len(at.dataframe[0].value) == 3


def test_empty_store_explains_what_to_do(seglab_home):
    at = run_page()
    text = " ".join(m.value for m in at.markdown)
    assert "No runs yet" in text and "Train" in text
    assert at.button(key="rs_quick").label.endswith("Run the quick study")
    assert at.button(key="rs_reference").label.endswith("Load the reference study")
    assert not at.dataframe
