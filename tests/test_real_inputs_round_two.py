"""Users' files, round two (issue 24; the cases in ../shared/cases), each with its right value
written out: the Inside page on torchvision-layout encoders, phone photos, 16-bit and huge
uploads; float TIFF datasets; classes.txt from Notepad; the Data page seeing a fix at once.
Other variants of each kind: tests/test_image_road.py, test_stage_descriptions.py,
test_text_files.py."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seglab.data import make_dataset
from seglab.data.folder import content_stamp
from seglab.inspect import image_from_bytes
from seglab.settings.presets import preset
from seglab.store.run_store import RunStore
from seglab.training.run import run_config
from tests.page_support import page_runner

run_inside = page_runner("inside", timeout=240)
run_data = page_runner("data", timeout=120)


@pytest.fixture(scope="module")
def encoder_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """FCN on VGG16 and FPN on MobileNetV2, 32-pixel images, 1 epoch (run id per architecture)."""
    home = tmp_path_factory.mktemp("round-two-home")
    for arch, encoder in (("fcn", "vgg16"), ("fpn", "mobilenet_v2")):
        config = preset(
            "smoke", size=32, n=16, epochs=1, arch=arch, loss="bce", model_params={"encoder": encoder}
        )
        outcome = run_config(config, home=home)
        assert outcome.status == "done", outcome.message
    ids = {r.config.arch: r.id for r in RunStore(home).list_runs()}
    with pytest.MonkeyPatch.context() as patch:  # a module-wide home
        patch.setenv("SEGLAB_HOME", str(home))
        yield ids


def stage_captions(at) -> list[str]:
    return [m.value for m in at.markdown if " channels of " in m.value]


# ---- inside_encoder_stages ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arch", "expected"),
    [
        # VGG16 pools 2× five times: pool3 of a 32-pixel image is 256 channels of 4×4
        ("fcn", ["pool1", "pool2", "pool3", "pool4", "pool5", "fc", "score 1/32", "score 1/16", "score 1/8"]),
        ("fpn", ["C2", "C3", "C4", "C5", "P5", "P4", "P3", "P2", "merge"]),
    ],
)
def test_inside_page_draws_every_stage_of_torchvision_layout_encoders(encoder_runs, arch, expected) -> None:
    at = run_inside()
    at.selectbox(key="in_run").select(encoder_runs[arch]).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = stage_captions(at)
    assert [c.split("**")[1].strip("`") for c in captions] == expected
    wanted = "256 channels of 4×4" if arch == "fcn" else "1280 channels of 1×1"
    assert any(wanted in c for c in captions), captions


# ---- inside_exif_photo ----------------------------------------------------------------------
def test_phone_photo_reaches_the_model_upright() -> None:
    upright = np.full((48, 48, 3), 30, np.uint8)
    upright[4:16, 4:16] = 255
    upright[30:36, :, 0] = 220
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the pixels are stored turned left
    buf = io.BytesIO()
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(
        buf, format="JPEG", exif=exif.tobytes(), quality=95
    )
    got = image_from_bytes(buf.getvalue(), 48).permute(1, 2, 0).numpy()
    assert float(np.abs(got - upright / 255.0).mean()) < 8 / 255
    ys, xs = np.nonzero(got.min(axis=2) > 0.8)  # the white square: rows 4-15, cols 4-15
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (4, 15, 4, 15)


# ---- inside_16bit_png -----------------------------------------------------------------------
def test_16bit_upload_keeps_its_brightness() -> None:
    a = np.full((64, 64), 8000, np.uint16)
    a[:, 32:] = 50000
    a[24:40, 8:24] = 30000
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    got = image_from_bytes(buf.getvalue(), 64).permute(1, 2, 0).numpy().mean(axis=2)
    assert got[2:20, 2:28].mean() == pytest.approx(8000 / 65535, abs=1e-4)  # 0.122
    assert got[2:62, 36:62].mean() == pytest.approx(50000 / 65535, abs=1e-4)  # 0.763
    assert got[27:37, 11:21].mean() == pytest.approx(30000 / 65535, abs=1e-4)  # 0.458


# ---- inside_huge_image ----------------------------------------------------------------------
def huge_png() -> bytes:
    """A PNG declaring 15000×13000 grey pixels (195 megapixels) in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 15000, 13000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_huge_upload_on_the_inside_page_is_refused_in_plain_words(encoder_runs) -> None:
    at = run_inside()
    at.radio(key="in_source").set_value("Your photo").run()
    at.file_uploader(key="in_upload").upload("huge.png", huge_png(), "image/png")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert errors == [
        "huge.png: the file declares far more pixels than the limit of 40 megapixels, so it was not "
        "opened (decompression-bomb guard); shrink the picture first."
    ]


def encoded(array: np.ndarray, fmt: str, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("scan16.png", encoded(np.full((40, 40), 30000, np.uint16), "PNG"), None),
        ("scan.tif", encoded(np.full((40, 40), 0.25, np.float32), "TIFF", "F"), None),
        (
            "scan255.tif",
            encoded(np.full((40, 40), 180.0, np.float32), "TIFF", "F"),
            "scan255.tif: holds decimal values from 180 to 180, but decimal pictures are read as "
            "brightness from 0 to 1 and their scale cannot be guessed; divide by the right maximum "
            "(255 for 8-bit data, 65535 for 16-bit) and save it again.",
        ),
    ],
)
def test_inside_page_uploads_take_the_loaders_road(encoder_runs, name, data, error) -> None:
    at = run_inside()
    at.radio(key="in_source").set_value("Your photo").run()
    at.file_uploader(key="in_upload").upload(
        name, data, "image/png" if name.endswith("png") else "image/tiff"
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if error is None:
        assert not at.error and any(h.value.startswith("2 ·") for h in at.header)
    else:
        assert [e.value for e in at.error] == [error]


# ---- float_tiff_image -----------------------------------------------------------------------
def test_float_tiff_dataset_keeps_its_values(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(4):
        img = np.full((32, 32), 0.2, np.float32)
        img[8:20, 8 + i : 20 + i] = 0.9
        Image.fromarray(img, mode="F").save(tmp_path / "images" / f"f{i}.tif")
        Image.fromarray((img > 0.5).astype(np.uint8)).save(tmp_path / "masks" / f"f{i}.png")
    ds = make_dataset(str(tmp_path), size=32)
    assert float(ds.images[:, :, 0:6, 0:6].mean()) == pytest.approx(0.2, abs=1e-6)
    assert float(ds.images[0, :, 10:18, 10:18].mean()) == pytest.approx(0.9, abs=1e-6)


# ---- classes_txt_bom ------------------------------------------------------------------------
def test_classes_txt_from_notepad_gives_clean_names(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(2):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "images" / f"a{i}.png")
        Image.fromarray(np.array([[0, 1, 2, 0]] * 8, np.uint8).repeat(2, axis=1)).save(
            tmp_path / "masks" / f"a{i}.png"
        )
    (tmp_path / "classes.txt").write_bytes(b"\xef\xbb\xbfbackground\r\nroad\r\nbuilding\r\n")
    ds = make_dataset(str(tmp_path), size=8)
    assert ds.num_classes == 3 and list(ds.class_names) == ["background", "road", "building"]


# ---- data_page_stale_cache ------------------------------------------------------------------
def test_data_page_sees_a_fix_made_in_place(seglab_home: Path) -> None:
    root = seglab_home / "work" / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(3)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / "images" / f"s{i}.png")
        mask = np.zeros((32, 32), np.uint8)
        mask[4 + i : 20 + i, 4:20] = 1
        Image.fromarray(mask if i != 2 else mask[:30, :30]).save(root / "masks" / f"s{i}.png")
    first = run_data(path=str(root))
    assert any("masks/s2.png is 30×30" in e.value for e in first.error), [e.value for e in first.error]
    before = content_stamp(root)
    time.sleep(0.01)
    fixed = np.zeros((32, 32), np.uint8)
    fixed[6:22, 4:20] = 1
    Image.fromarray(fixed).save(root / "masks" / "s2.png")  # fixed in place, same name
    assert content_stamp(root) != before
    again = run_data(path=str(root))
    assert not again.error, [e.value for e in again.error]
    assert any("4 image–mask pairs" in s.value for s in again.success)


def test_content_stamp_follows_every_file_the_check_reads(tmp_path: Path) -> None:
    root = tmp_path / "outer" / "data"  # find_root's single sub-folder layout
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "images" / "a.png").write_bytes(b"1")
    stamps = [content_stamp(tmp_path / "outer")]
    edits = [
        lambda: (root / "images" / "a.png").write_bytes(b"12"),  # size
        lambda: os.utime(root / "images" / "a.png", ns=(1, 1)),  # modification time only
        lambda: (root / "masks" / "a.png").write_bytes(b"1"),  # a new file
        lambda: (root / "classes.txt").write_text("x\ny\n"),  # classes.txt
        lambda: (root / "masks" / "a.png").rename(root / "masks" / "b.png"),  # a rename
    ]
    for edit in edits:
        edit()
        stamps.append(content_stamp(tmp_path / "outer"))
    assert len(set(stamps)) == len(stamps)
    assert content_stamp(tmp_path / "outer") == stamps[-1]  # nothing changed: the same stamp
