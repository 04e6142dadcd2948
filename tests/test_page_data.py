"""Data page: built-in datasets render; bad uploads give readable errors; good folders load."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seglab.data import dataset_info, list_datasets
from seglab.teach import data_page as dp
from tests.page_support import page_runner


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def pair(seed: int, size: int = 24) -> tuple[bytes, bytes]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), dtype=np.uint8)
    mask[4:12, 6:18] = 255  # binary mask saved as 0/255
    return png_bytes(image), png_bytes(mask)


def write_folder(root: Path, stems: list[str]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, stem in enumerate(stems):
        image, mask = pair(i)
        (root / "images" / f"{stem}.png").write_bytes(image)
        (root / "masks" / f"{stem}.png").write_bytes(mask)
    return root


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


run_page = page_runner("data")


def test_page_runs_with_default_dataset() -> None:
    at = run_page()
    assert not at.error
    assert at.get("vega_lite_chart"), "class-balance chart missing"
    assert len(at.get("image")) >= 8


@pytest.mark.parametrize("name", list_datasets())
def test_every_builtin_dataset_and_its_parameter_widgets(name: str) -> None:
    at = run_page(ds=dataset_info(name).title, n="16")  # a bound select box shows titles in the URL
    assert at.selectbox(key="ds").value == name
    assert not at.error
    assert at.metric[0].value == "16"


def test_corrupt_zip_upload_shows_a_readable_error() -> None:
    at = run_page()
    at.file_uploader(key="upload").upload("broken_data.zip", b"this is not a zip file", "application/zip")
    at.run()
    assert not at.exception
    assert at.error, "expected an st.error"
    assert "broken_data.zip" in at.error[0].value
    assert "Traceback" not in at.error[0].value


def test_zip_with_a_missing_mask_names_the_file() -> None:
    image_a, mask_a = pair(0)
    image_b, _ = pair(1)
    archive = zip_bytes(
        {"images/cat_01.png": image_a, "masks/cat_01.png": mask_a, "images/lonely_cat.png": image_b}
    )
    at = run_page()
    at.file_uploader(key="upload").upload("cats.zip", archive, "application/zip")
    at.run()
    assert not at.exception
    assert at.error and "lonely_cat" in at.error[0].value


def test_good_zip_upload_loads() -> None:
    files = {}
    for i, stem in enumerate(["a", "b", "c"]):
        image, mask = pair(i)
        files[f"pets/images/{stem}.png"] = image
        files[f"pets/masks/{stem}.png"] = mask
    at = run_page()
    at.file_uploader(key="upload").upload("pets.zip", zip_bytes(files), "application/zip")
    at.run()
    assert not at.exception and not at.error
    assert any("3 image–mask pairs" in s.value for s in at.success)


def test_good_folder_path_loads(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "my_dataset", ["t1", "t2", "t3", "t4"])
    at = run_page()
    at.text_input(key="path").set_value(str(folder))
    at.run()
    assert not at.exception and not at.error
    assert any("4 image–mask pairs" in s.value and "2 classes" in s.value for s in at.success)


def test_bad_folder_path_names_each_problem(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "broken", ["ok", "orphan"])
    (folder / "masks" / "orphan.png").unlink()
    (folder / "masks" / "ghost.png").write_bytes(pair(5)[1])
    (folder / "images" / "garbage.png").write_bytes(b"not a picture")
    at = run_page()
    at.text_input(key="path").set_value(str(folder))
    at.run()
    assert not at.exception
    message = at.error[0].value
    assert "orphan" in message and "ghost" in message and "garbage" in message


def test_missing_path_is_reported() -> None:
    at = run_page()
    at.text_input(key="path").set_value("/no/such/folder")
    at.run()
    assert not at.exception
    assert at.error and "/no/such/folder" in at.error[0].value


def test_helpers() -> None:
    headline, items = dp.split_problems("Header (2 problems):\n- a.png: bad\n- b.png: worse\n… and 3 more.")
    assert headline.startswith("Header") and items == ["a.png: bad", "b.png: worse", "… and 3 more."]
    view = dp.DataView("t", np.zeros((2, 4, 4, 3), np.uint8), np.array([[[0, 1], [1, 1]]] * 2), ["bg", "fg"])
    balance = dp.class_balance(view)
    assert balance["pixels"].tolist() == [2, 6] and balance["share"].sum() == pytest.approx(1.0)
    grey = dp.DataView("g", np.full((1, 2, 2, 3), 100, np.uint8), np.array([[[0, 1], [0, 0]]]), ["bg", "fg"])
    tile, caption = dp.overlay_tiles(grey, 0, 1)[0]
    assert (tile[0, 0] == 100).all()  # background keeps the picture as it is
    assert not (tile[0, 1] == 100).all() and caption == "#0 · 25% labelled"
    with zipfile.ZipFile(io.BytesIO(dp.example_zip(view))) as zf:
        assert sorted(zf.namelist())[0].endswith("images/sample_000.png")


def test_a_checked_upload_is_saved_for_training_listed_on_train_and_deletable(seglab_home: Path) -> None:
    from seglab.data.uploads import list_uploaded

    files = {}
    for i, stem in enumerate(["a", "b", "c"]):
        files[f"cells/images/{stem}.png"], files[f"cells/masks/{stem}.png"] = pair(i)
    at = run_page()
    at.file_uploader(key="upload").upload("My cells.zip", zip_bytes(files), "application/zip")
    at.text_input(key="path").set_value("/somewhere/else")
    at.run()
    assert any("both an upload and a path" in w.value for w in at.warning), (
        "a typed path must not be ignored silently"
    )
    assert at.text_input(key="upload_name").value == "My cells"
    at.button(key="upload_save").click().run()
    assert not at.exception
    assert [ds.name for ds in list_uploaded()] == ["My cells"]
    assert any("Saved as **My cells**" in s.value for s in at.success)

    train = page_runner("train", timeout=90)()
    options = train.selectbox(key="tr_dataset").options
    assert "My cells (uploaded)" in options

    at.button(key="upload_delete_My cells").click().run()
    assert list_uploaded() == []
