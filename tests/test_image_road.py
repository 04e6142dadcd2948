"""One image road (`seglab.data.images`): the same file gives the same array at every entry point.

Entry points: the folder loader (`make_dataset(folder)`), a .zip of the same folder, the Data
page's check of a typed folder and of an uploaded zip (`seglab.teach.data_page`), and the
Inside page's "Your photo" (`seglab.inspect.image_from_bytes`). Each kind of file is
built here by hand (16-bit PNGs are even encoded byte by byte) with the brightness it must
give written out, and refusals must read the same everywhere.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seglab.data import images as road
from seglab.data import make_dataset
from seglab.data.folder import read_image
from seglab.errors import DatasetError, SegLabError
from seglab.inspect import ImageInputError, image_from_bytes
from seglab.teach import data_page as dp

SIDE = 16

# How each EXIF Orientation value stores the upright picture (EXIF 2.3 table, written out).
STORE = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, -1),
}


def png16(values: np.ndarray) -> bytes:
    """A 16-bit PNG (grey for (H, W), RGB for (H, W, 3)) encoded by hand (PNG spec, filter 0)."""
    h, w = values.shape[:2]
    colour_type = 2 if values.ndim == 3 else 0
    raw = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def declared_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width``×``height`` grey pixels (its data is cut short)."""
    good = png16(np.zeros((2, 2), np.uint16))
    start = good.index(b"IHDR") - 4
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    ihdr = struct.pack(">I", 13) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return good[:start] + ihdr + good[start + 25 :]


def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def upright_scene() -> np.ndarray:
    """An asymmetric RGB scene: every turn or mirror of it differs."""
    a = np.zeros((SIDE, SIDE, 3), np.uint8)
    a[..., 0] = np.arange(SIDE)[None, :] * 15
    a[..., 1] = np.arange(SIDE)[:, None] * 9
    a[2:6, 9:14, 2] = 255
    return a


def exif(orientation: int) -> bytes:
    tags = Image.Exif()
    tags[0x0112] = orientation
    return tags.tobytes()


def grey3(values: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(values, np.float32)[..., None], 3, axis=2)


def variants() -> dict[str, tuple[bytes, str, np.ndarray, float]]:
    """stem → (file bytes, suffix, expected (H, W, 3) brightness written out, tolerance)."""
    out: dict[str, tuple[bytes, str, np.ndarray, float]] = {}
    scene = upright_scene()
    for o in range(1, 9):  # EXIF orientation, lossless (PNG eXIf) so the values are exact
        stored = np.ascontiguousarray(STORE[o](scene))
        out[f"exif{o}"] = (encode(Image.fromarray(stored), "PNG", exif=exif(o)), ".png", scene / 255.0, 1e-6)
    stored = np.ascontiguousarray(STORE[6](scene))  # a phone photo: JPEG, stored sideways
    out["phone"] = (
        encode(Image.fromarray(stored), "JPEG", exif=exif(6), quality=95),
        ".jpg",
        scene / 255.0,
        0.12,
    )

    grey16 = np.full((SIDE, SIDE), 8000, np.uint16)
    grey16[:, SIDE // 2 :] = 50000
    grey16[4:8, 2:6] = 30000
    out["grey16png"] = (encode(Image.fromarray(grey16), "PNG"), ".png", grey3(grey16 / 65535.0), 1e-6)
    out["grey16tif"] = (encode(Image.fromarray(grey16), "TIFF"), ".tif", grey3(grey16 / 65535.0), 1e-6)
    out["int32tif"] = (
        encode(Image.fromarray(grey16.astype(np.int32)), "TIFF"),
        ".tif",
        grey3(grey16 / 65535.0),
        1e-6,
    )
    rgb16 = np.stack([grey16, 65535 - grey16, np.full_like(grey16, 40000)], axis=2)
    # Pillow keeps the top byte of each 16-bit colour value: within 1/255 of value / 65535
    out["rgb16png"] = (png16(rgb16), ".png", rgb16 / 65535.0, 1 / 255)

    ramp = np.linspace(0, 1, SIDE * SIDE, dtype=np.float32).reshape(SIDE, SIDE)
    out["float01"] = (encode(Image.fromarray(ramp, "F"), "TIFF"), ".tif", grey3(ramp), 1e-6)
    nudged = ramp.copy()
    nudged[0, 0], nudged[-1, -1] = -0.0004, 1.0006  # rounding noise just outside [0, 1]: clipped
    out["float_rounded"] = (encode(Image.fromarray(nudged, "F"), "TIFF"), ".tif", grey3(ramp), 1e-6)

    index = (np.arange(SIDE * SIDE).reshape(SIDE, SIDE) % 3).astype(np.uint8)
    palette = [10, 20, 30, 200, 100, 0, 0, 250, 125]
    pal = Image.fromarray(index, "P")
    pal.putpalette(palette)
    colours = np.array(palette, np.float32).reshape(3, 3)[index] / 255.0
    out["palette"] = (encode(pal, "PNG"), ".png", colours, 1e-6)
    out["palette_clear"] = (encode(pal, "PNG", transparency=0), ".png", colours, 1e-6)
    rgba = np.dstack([scene, (np.arange(SIDE * SIDE) % 256).reshape(SIDE, SIDE).astype(np.uint8)])
    out["rgba"] = (encode(Image.fromarray(rgba, "RGBA"), "PNG"), ".png", scene / 255.0, 1e-6)
    la = Image.merge("LA", [Image.fromarray(scene[..., 0]), Image.fromarray(scene[..., 1])])
    out["la"] = (encode(la, "PNG"), ".png", grey3(scene[..., 0] / 255.0), 1e-6)
    bits = np.zeros((SIDE, SIDE), bool)
    bits[3:9, 5:12] = True
    out["onebit"] = (encode(Image.fromarray(bits), "PNG"), ".png", grey3(bits), 1e-6)
    out["bmp"] = (encode(Image.fromarray(scene), "BMP"), ".bmp", scene / 255.0, 1e-6)
    return out


def write_folder(root: Path, files: dict[str, tuple[bytes, str]]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for stem, (data, suffix) in files.items():
        (root / "images" / f"{stem}{suffix}").write_bytes(data)
        Image.fromarray(np.zeros((SIDE, SIDE), np.uint8)).save(root / "masks" / f"{stem}.png")
    return root


def zip_of(root: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for file in sorted(root.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(root).as_posix())
    return buf.getvalue()


def every_entry_point(root: Path, files: dict[str, bytes], size: int) -> dict[str, dict[str, np.ndarray]]:
    """entry point → stem → (size, size, 3) float array."""

    def by_stem(images: np.ndarray, stems: list[str]) -> dict[str, np.ndarray]:
        return dict(zip(stems, images, strict=True))

    stems = sorted(files)
    archive = root.parent / f"{root.name}.zip"
    archive.write_bytes(zip_of(root))
    loaded = make_dataset(str(root), size=size)
    zipped = make_dataset(str(archive), size=size)
    page_folder = dp.load_user_dataset(str(root), size=size)
    page_upload = dp.load_user_dataset(str(dp.save_upload(archive.read_bytes(), "mine.zip")), size=size)
    assert page_folder.ok and page_upload.ok, (page_folder.problems, page_upload.problems)
    return {
        "folder loader": by_stem(loaded.images.permute(0, 2, 3, 1).numpy(), loaded.meta["files"]),
        "zip loader": by_stem(zipped.images.permute(0, 2, 3, 1).numpy(), zipped.meta["files"]),
        "Data page, folder": by_stem(page_folder.view.images / 255.0, stems),
        "Data page, upload": by_stem(page_upload.view.images / 255.0, stems),
        "Inside page, your photo": {
            s: image_from_bytes(files[s], size, s).permute(1, 2, 0).numpy() for s in stems
        },
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    cases = variants()
    root = write_folder(
        tmp_path_factory.mktemp("road") / "data", {s: (d, x) for s, (d, x, _, _) in cases.items()}
    )
    return root, cases


@pytest.mark.parametrize("size", [SIDE, 12])
def test_every_entry_point_gives_the_same_array(built, size: int) -> None:
    root, cases = built
    seen = every_entry_point(root, {s: c[0] for s, c in cases.items()}, size)
    reference = seen["folder loader"]
    assert sorted(reference) == sorted(cases)
    for entry, arrays in seen.items():
        for stem, array in arrays.items():
            # the Data page shows uint8 pictures: rounding to 1/255 is its only difference
            atol = 0.5 / 255 + 1e-6 if entry.startswith("Data page") else 1e-6
            assert array.shape == (size, size, 3), (entry, stem)
            assert np.allclose(array, reference[stem], atol=atol), (
                f"{entry} differs from the loader on {stem}"
            )


@pytest.mark.parametrize("stem", sorted(variants()))
def test_each_kind_of_file_reads_at_its_written_out_brightness(built, stem: str) -> None:
    root, cases = built
    data, suffix, expected, tol = cases[stem]
    got = read_image(root / "images" / f"{stem}{suffix}", stem)  # full resolution
    assert got.shape == expected.shape and got.dtype == np.float32
    if stem == "phone":  # JPEG: compare the mean error, and where the blue block is
        assert float(np.abs(got - expected).mean()) < 0.03
        away = np.ones((SIDE, SIDE), bool)
        away[0:8, 7:16] = False  # a wrongly turned photo puts the blue block somewhere out here
        assert got[2:6, 9:14, 2].mean() > 0.7 and got[..., 2][away].mean() < 0.15
    else:
        assert np.abs(got - expected).max() <= tol, stem
    # at the file's own size, the loader's resize changes nothing: the model sees these values
    loaded = image_from_bytes(data, SIDE, stem).permute(1, 2, 0).numpy()
    assert np.allclose(loaded, got, atol=1e-6)


REFUSALS = {
    # stem: (bytes, suffix, words the one plain sentence must hold)
    "float255": (
        encode(Image.fromarray(np.full((SIDE, SIDE), 200.0, np.float32), "F"), "TIFF"),
        ".tif",
        "decimal values from 200 to 200",
    ),
    "negative": (
        encode(Image.fromarray(np.full((SIDE, SIDE), -0.5, np.float32), "F"), "TIFF"),
        ".tif",
        "decimal values from -0.5 to -0.5",
    ),
    "nan": (
        encode(Image.fromarray(np.full((SIDE, SIDE), np.nan, np.float32), "F"), "TIFF"),
        ".tif",
        "NaN or infinite",
    ),
    "int70000": (
        encode(Image.fromarray(np.full((SIDE, SIDE), 70000, np.int32)), "TIFF"),
        ".tif",
        "whole-number values from 70000 to 70000",
    ),
    "bomb": (declared_png(15000, 13000), ".png", "decompression-bomb guard"),
    "over_limit": (
        declared_png(7000, 6000),
        ".png",
        "7000×6000 pixels is more than the limit of 40 megapixels",
    ),
    "damaged": (b"\x89PNG\r\n\x1a\n this is no picture", ".png", "damaged or not an image"),
}


@pytest.mark.parametrize("stem", sorted(REFUSALS))
def test_refusals_are_the_same_plain_sentence_everywhere(tmp_path: Path, stem: str) -> None:
    data, suffix, words = REFUSALS[stem]
    root = write_folder(tmp_path / "data", {stem: (data, suffix)})
    rel = f"images/{stem}{suffix}"
    with pytest.raises(DatasetError) as folder_error:
        make_dataset(str(root), size=8)
    assert f"{rel}: " in str(folder_error.value) and words in str(folder_error.value)
    with pytest.raises(ImageInputError) as upload_error:
        image_from_bytes(data, 8, f"{stem}{suffix}")
    assert isinstance(upload_error.value, SegLabError)
    sentence = str(upload_error.value).removeprefix(f"{stem}{suffix}: ")
    assert words in sentence and "Traceback" not in sentence
    assert f"{rel}: {sentence}" in str(folder_error.value)  # the same sentence, naming the file
    page = dp.load_user_dataset(str(root), size=8)
    assert not page.ok and f"{rel}: {sentence}" in page.problems


def test_the_size_limit_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # the header alone is read: a declared 7000×6000 picture with no data is refused for its
    # size (had it been decoded, the missing data would have said "damaged")
    with pytest.raises(ImageInputError, match="megapixels"):
        road.open_image(declared_png(7000, 6000), "x.png")
    monkeypatch.setattr(road, "MAX_IMAGE_PIXELS", 50)
    with pytest.raises(ImageInputError, match=r"8×8 pixels is more than the limit of 5e-05 megapixels"):
        road.open_image(encode(Image.new("L", (8, 8)), "PNG"), "x.png")


def test_centre_square_and_resize_by_hand() -> None:
    wide = np.zeros((4, 7, 3), np.float32)
    wide[:, 1:6] = 1.0  # cols 1-5 white; the centred square is cols 1-4
    assert np.array_equal(road.centre_square(wide), wide[:, 1:5])
    two = np.zeros((2, 2, 3), np.float32)
    two[0, 0] = 1.0
    one = road.resize_image(two, 1)  # antialiased bilinear to one pixel: the mean, 1/4
    assert one.shape == (3, 1, 1) and torch.allclose(one, torch.full((3, 1, 1), 0.25))
