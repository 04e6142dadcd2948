"""The Train form follows what the user chose (issue 19): a preset change keeps the grid, the
number of images follows the dataset, loss titles fit the class count, uploads go by their name."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

import seglab.jobs
from seglab.data.counting import count_pairs
from seglab.data.uploads import save_dataset
from seglab.jobs import JobQueue
from seglab.settings.config import TrainConfig, dataset_display_name
from seglab.settings.presets import PRESETS
from tests.page_support import page_runner

run_page = page_runner("train", timeout=90)


def _zip_of_pairs(n: int) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(n):
            for folder, array in (
                ("images", rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)),
                ("masks", (rng.random((16, 16)) > 0.5).astype(np.uint8)),
            ):
                png = io.BytesIO()
                Image.fromarray(array).save(png, format="PNG")
                archive.writestr(f"{folder}/p{i:02d}.png", png.getvalue())
    return buffer.getvalue()


def test_a_preset_change_keeps_the_chosen_architectures_and_losses(seglab_home):
    at = run_page()
    at.multiselect(key="tr_archs").set_value(["unet"]).run()
    at.multiselect(key="tr_losses").set_value(["dice"]).run()
    at.selectbox(key="tr_preset").select("smoke").run()
    assert not at.exception
    assert at.multiselect(key="tr_archs").value == ["unet"]
    assert at.multiselect(key="tr_losses").value == ["dice"]
    assert at.number_input(key="tr_epochs").value == PRESETS["smoke"]["epochs"]
    assert "keeps your dataset, architectures and losses" in at.selectbox(key="tr_preset").help


def test_the_number_of_images_follows_a_64_image_upload(seglab_home, monkeypatch):
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    saved = save_dataset(_zip_of_pairs(64), "my cells", home=seglab_home)
    assert count_pairs(saved.path) == 64
    at = run_page()
    at.selectbox(key="tr_dataset").select(str(saved.path)).run()
    assert not at.exception
    assert at.number_input(key="tr_n").value == 64  # not the quick preset's 384
    at.multiselect(key="tr_archs").set_value(["unet"]).run()
    at.multiselect(key="tr_losses").set_value(["dice"]).run()
    [b for b in at.button if b.label == "Start training"][0].click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
        names = [g.name for g in queue.groups()]
    assert jobs and {j.config.n for j in jobs} == {64}
    assert names and all("my cells" in name and "/" not in name for name in names)  # its saved name


def test_loss_titles_fit_a_six_class_dataset(seglab_home):
    at = run_page()
    at.selectbox(key="tr_dataset").select("aerial").run()
    titles = at.multiselect(key="tr_losses").options
    assert titles and not [t for t in titles if "Binary" in t]
    assert any("Cross-entropy" in t for t in titles)
    binary = run_page().multiselect(key="tr_losses").options
    assert any(t.startswith("Binary cross-entropy") for t in binary)


def test_saved_datasets_are_named_by_their_saved_name(tmp_path):
    path = str(tmp_path / "datasets" / "my cells.zip")
    assert dataset_display_name(path) == "my cells"
    assert dataset_display_name("shapes") == "shapes"
    assert TrainConfig(dataset=path).label() == "unet · bce_dice · my cells"


def test_results_table_shows_a_saved_upload_by_its_name(tmp_path):
    import pandas as pd

    from seglab.analysis.results_table import display_table

    path = str(tmp_path / "datasets" / "my cells.zip")
    frame = pd.DataFrame([{"dataset": path, "arch": "unet", "loss": "bce", "loss_label": "BCE"}])
    assert list(display_table(frame)["dataset"]) == ["my cells"]
