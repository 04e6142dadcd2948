"""Datasets: procedural generators, splits, paired augmentation, folder and zip loading."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seglab.data import (
    SegDataset,
    augment_batch,
    dataset_info,
    list_datasets,
    make_dataset,
    split_indices,
    validate_folder,
)
from seglab.data import folder as folder_mod
from seglab.data import images as images_mod
from seglab.errors import ConfigError, DatasetError, UnknownNameError

DATASETS = list_datasets()


# ---- procedural datasets -------------------------------------------------------------------
def test_registered_names() -> None:
    assert {"shapes", "aerial", "cells"} <= set(DATASETS)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("size", [32, 48])
def test_sample_shapes_dtypes_and_ranges(name: str, size: int) -> None:
    info = dataset_info(name)
    ds = make_dataset(name, size=size, n=6, seed=3)
    assert isinstance(ds, SegDataset)
    assert len(ds) == 6
    assert ds.images.shape == (6, 3, size, size) and ds.images.dtype == torch.float32
    assert ds.masks.shape == (6, size, size) and ds.masks.dtype == torch.int64
    assert float(ds.images.min()) >= 0.0 and float(ds.images.max()) <= 1.0
    assert int(ds.masks.min()) >= 0 and int(ds.masks.max()) < info.num_classes
    assert ds.num_classes == info.num_classes and ds.class_names == info.class_names
    assert len(info.class_names) == info.num_classes
    assert ds.name == name
    image, mask = ds[2]
    assert torch.equal(image, ds.images[2]) and torch.equal(mask, ds.masks[2])
    assert int(ds.class_pixel_counts().sum()) == 6 * size * size
    assert ds.images.std() > 0.02  # not a blank picture
    if info.has_instances:
        assert ds.instances is not None and ds.instances.dtype == torch.int64
        assert ds.instances.shape == ds.masks.shape
        assert torch.equal(ds.instances > 0, ds.masks > 0)
    else:
        assert ds.instances is None


@pytest.mark.parametrize("name", DATASETS)
def test_dataset_info_describes_widgets(name: str) -> None:
    info = dataset_info(name)
    assert info.name == name and info.title and len(info.description) > 40
    assert info.default_n >= 100
    assert info.binary == (info.num_classes == 2)
    for spec in info.params:
        assert spec.help, spec.name
        assert spec.min is not None and spec.max is not None and spec.step is not None
        assert spec.min <= spec.default <= spec.max, spec.name
    assert len(make_dataset(name, size=8, n=None, seed=0)) == info.default_n


@pytest.mark.parametrize("name", DATASETS)
def test_generation_is_deterministic_per_seed(name: str) -> None:
    a = make_dataset(name, size=32, n=5, seed=11)
    b = make_dataset(name, size=32, n=5, seed=11)
    c = make_dataset(name, size=32, n=5, seed=12)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert not torch.equal(a.images, c.images)
    assert not torch.equal(a.masks, c.masks)


@pytest.mark.parametrize("name", DATASETS)
def test_images_within_a_dataset_differ(name: str) -> None:
    ds = make_dataset(name, size=32, n=4, seed=0)
    assert not torch.equal(ds.masks[0], ds.masks[1])
    assert not torch.allclose(ds.images[0], ds.images[1])


def test_generation_in_chunks_matches_its_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from seglab.data import registry

    monkeypatch.setattr(registry, "CPU_CHUNK_PIXELS", 3 * 32 * 32)  # force several chunks
    ds = make_dataset("shapes", size=32, n=10, seed=0)
    assert ds.images.shape == (10, 3, 32, 32)
    assert ds.instances is not None and ds.instances.shape == (10, 32, 32)


@pytest.mark.parametrize("fg", [0.01, 0.02, 0.1, 0.3, 0.5])
def test_shapes_foreground_share_follows_fg_fraction(fg: float) -> None:
    ds = make_dataset("shapes", size=64, n=200, seed=5, fg_fraction=fg)
    measured = ds.masks.float().mean().item()
    assert abs(measured - fg) <= 0.3 * fg, f"asked {fg}, measured {measured:.4f}"
    per_image = ds.masks.float().mean(dim=(1, 2))
    assert per_image.std() > 0.1 * fg  # images differ in how much foreground they hold


def test_shapes_noise_parameter_changes_pixels() -> None:
    clean = make_dataset("shapes", size=32, n=4, seed=2, noise=0.0)
    noisy = make_dataset("shapes", size=32, n=4, seed=2, noise=0.2)
    assert torch.equal(clean.masks, noisy.masks)

    # Pixel noise adds high-frequency energy: neighbouring pixels differ more.
    def roughness(x: torch.Tensor) -> float:
        return (x[..., 1:] - x[..., :-1]).abs().mean().item()

    assert roughness(noisy.images) > 2 * roughness(clean.images)


def test_shapes_objects_differ_from_background_in_colour() -> None:
    ds = make_dataset("shapes", size=64, n=64, seed=1, noise=0.0)
    gaps = []
    for image, mask in zip(ds.images, ds.masks, strict=True):
        fg, bg = mask.bool(), ~mask.bool()
        if fg.sum() > 20:
            gaps.append((image[:, fg].mean(1) - image[:, bg].mean(1)).norm().item())
    gaps_t = torch.tensor(gaps)
    assert gaps_t.median() > 0.15  # learnable: objects usually stand out...
    assert gaps_t.min() < 0.2  # ...but some are low-contrast


def test_aerial_has_six_classes_with_vehicles_rarest() -> None:
    info = dataset_info("aerial")
    assert info.num_classes == 6
    assert info.class_names == ["ground", "building", "road", "vegetation", "water", "vehicle"]
    ds = make_dataset("aerial", size=64, n=120, seed=0)
    share = ds.class_fractions()
    assert (share > 0).all()
    assert int(share.argmin()) == 5
    assert 0.002 < share[5] < 0.03


def test_aerial_vehicles_lie_on_roads() -> None:
    ds = make_dataset("aerial", size=64, n=60, seed=4)
    vehicle = ds.masks == 5
    # Pixels just around a vehicle are mostly road (or another vehicle).
    grown = vehicle.clone()
    grown[:, 1:, :] |= vehicle[:, :-1, :]
    grown[:, :-1, :] |= vehicle[:, 1:, :]
    grown[:, :, 1:] |= vehicle[:, :, :-1]
    grown[:, :, :-1] |= vehicle[:, :, 1:]
    ring = grown & ~vehicle
    around = ds.masks[ring]
    assert around.numel() > 100
    assert (around == 2).float().mean() > 0.7


def test_cells_instances_match_semantic_mask() -> None:
    ds = make_dataset("cells", size=64, n=40, seed=0)
    assert ds.instances is not None
    assert torch.equal(ds.instances > 0, ds.masks == 1)
    counts = []
    touching_images = 0
    for inst in ds.instances:
        ids = torch.unique(inst)
        ids = ids[ids > 0]
        # ids are numbered 1..k without gaps
        assert torch.equal(ids, torch.arange(1, len(ids) + 1))
        counts.append(len(ids))
        right = (inst[:, 1:] != inst[:, :-1]) & (inst[:, 1:] > 0) & (inst[:, :-1] > 0)
        down = (inst[1:, :] != inst[:-1, :]) & (inst[1:, :] > 0) & (inst[:-1, :] > 0)
        touching_images += bool(right.any() or down.any())
    assert min(counts) >= 2 and sum(counts) / len(counts) >= 4
    assert touching_images >= len(ds) // 2  # touching cells are the point of the dataset


def test_bad_names_and_parameters() -> None:
    with pytest.raises(UnknownNameError, match="shapes"):
        make_dataset("no-such-dataset")
    with pytest.raises(UnknownNameError):
        dataset_info("no-such-dataset")
    with pytest.raises(ConfigError, match="colour"):
        make_dataset("shapes", n=4, colour=3)
    with pytest.raises(ConfigError, match="fg_fraction"):
        make_dataset("shapes", n=4, fg_fraction=0.9)
    with pytest.raises(ConfigError):
        make_dataset("shapes", n=0)
    with pytest.raises(ConfigError):
        make_dataset("shapes", n=4, size=4)
    with pytest.raises(DatasetError, match="missing.zip"):
        make_dataset("./nowhere/missing.zip")


def test_explicit_cpu_device() -> None:
    ds = make_dataset("cells", size=32, n=3, device="cpu")
    assert ds.device.type == "cpu"
    moved = ds.to("cpu")
    assert moved is ds


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_generation_on_gpu() -> None:
    for name in DATASETS:
        ds = make_dataset(name, size=32, n=4, device="cuda")
        assert ds.images.is_cuda and ds.masks.is_cuda
        assert torch.equal(ds.masks, make_dataset(name, size=32, n=4, device="cuda").masks)


# ---- SegDataset, split_indices ---------------------------------------------------------------
def test_subset_and_class_pixel_counts() -> None:
    ds = make_dataset("aerial", size=32, n=10, seed=1)
    sub = ds.subset([7, 2, 2])
    assert len(sub) == 3
    assert torch.equal(sub.images[0], ds.images[7]) and torch.equal(sub.masks[2], ds.masks[2])
    assert sub.num_classes == 6 and sub.class_names == ds.class_names
    expected = np.bincount(ds.masks.numpy().ravel(), minlength=6)
    assert ds.class_pixel_counts().tolist() == expected.tolist()
    assert ds.class_pixel_counts().dtype == torch.int64
    cells = make_dataset("cells", size=32, n=5, seed=0)
    assert cells.subset(range(1, 3)).instances is not None
    assert torch.equal(cells.subset(torch.tensor([4])).instances[0], cells.instances[4])


@pytest.mark.parametrize("n", [3, 10, 101, 1000])
def test_split_indices_disjoint_covering_deterministic(n: int) -> None:
    train, val, test = split_indices(n, val=0.15, test=0.2, seed=3)
    assert sorted(train + val + test) == list(range(n))
    assert len(val) >= 1 and len(test) >= 1 and len(train) >= 1
    if n >= 100:
        assert abs(len(val) - 0.15 * n) <= 1 and abs(len(test) - 0.2 * n) <= 1
    assert (train, val, test) == split_indices(n, val=0.15, test=0.2, seed=3)
    if n >= 100:
        assert split_indices(n, val=0.15, test=0.2, seed=4) != (train, val, test)


def test_split_indices_rejects_bad_fractions() -> None:
    with pytest.raises(ConfigError):
        split_indices(10, val=0.6, test=0.5)
    with pytest.raises(ConfigError):
        split_indices(0)


# ---- augmentation ----------------------------------------------------------------------------
def _mask_coded_batch(n: int = 64, size: int = 16, classes: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Random masks and images whose channel 0 equals mask / (classes - 1)."""
    g = torch.Generator().manual_seed(0)
    masks = torch.randint(0, classes, (n, size, size), generator=g)
    images = torch.rand(n, 3, size, size, generator=g)
    images[:, 0] = masks.float() / (classes - 1)
    return images, masks


def test_augment_flips_and_rotations_keep_image_and_mask_aligned() -> None:
    images, masks = _mask_coded_batch()
    out_i, out_m = augment_batch(
        images, masks, generator=torch.Generator().manual_seed(1), max_shift=0.0, max_scale=0.0
    )
    assert out_m.dtype == torch.int64 and out_i.dtype == torch.float32
    assert torch.equal((out_i[:, 0] * 4).round().long(), out_m)
    # Every output is one of the eight symmetries of its input, and several kinds occur.
    kinds = set()
    for src, dst in zip(masks, out_m, strict=True):
        variants = [torch.rot90(src, k, (0, 1)) for k in range(4)]
        variants += [v.flip(1) for v in variants]
        matches = [i for i, v in enumerate(variants) if torch.equal(v, dst)]
        assert matches
        kinds.add(matches[0])
    assert len(kinds) >= 6


def test_augment_shift_scale_keeps_masks_valid_and_mostly_aligned() -> None:
    images, masks = _mask_coded_batch(size=32, classes=3)
    # Blocky masks, so that interpolation only matters along block edges.
    masks = masks[:, ::8, ::8].repeat_interleave(8, 1).repeat_interleave(8, 2)
    images[:, 0] = masks.float() / 2
    out_i, out_m = augment_batch(images, masks, generator=torch.Generator().manual_seed(2))
    assert set(out_m.unique().tolist()) <= {0, 1, 2}
    agree = ((out_i[:, 0] * 2).round().long() == out_m).float().mean()
    assert agree > 0.9
    assert not torch.equal(out_m, masks)


def test_augment_is_deterministic_with_a_generator() -> None:
    images, masks = _mask_coded_batch()
    a = augment_batch(images, masks, generator=torch.Generator().manual_seed(5))
    b = augment_batch(images, masks, generator=torch.Generator().manual_seed(5))
    c = augment_batch(images, masks, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_augment_rotations_only_gives_rotations() -> None:
    images, masks = _mask_coded_batch(n=40)
    _, out_m = augment_batch(
        images, masks, generator=torch.Generator().manual_seed(0), flips=False, max_shift=0, max_scale=0
    )
    for src, dst in zip(masks, out_m, strict=True):
        assert any(torch.equal(torch.rot90(src, k, (0, 1)), dst) for k in range(4))


# ---- folders and zips ------------------------------------------------------------------------
def _save(path: Path, array: np.ndarray, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)


def _make_folder(root: Path, *, binary_255: bool = True) -> Path:
    """Three pairs of 20×20 images: RGB, grayscale and RGBA; left half of each mask is foreground."""
    mask = np.zeros((20, 20), np.uint8)
    mask[:, :10] = 255 if binary_255 else 1
    rgb = np.zeros((20, 20, 3), np.uint8)
    rgb[..., 0] = 200
    _save(root / "images" / "a.png", rgb)
    _save(root / "images" / "b.png", np.full((20, 20), 100, np.uint8))
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 2] = 50
    rgba[..., 3] = 128
    _save(root / "images" / "c.png", rgba)
    for stem in "abc":
        _save(root / "masks" / f"{stem}.png", mask)
    return root


def test_folder_dataset_loads_and_resizes(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "mydata")
    ds = make_dataset(root, size=40)
    assert len(ds) == 3 and ds.name == "mydata"
    assert ds.images.shape == (3, 3, 40, 40) and ds.masks.shape == (3, 40, 40)
    assert ds.num_classes == 2 and ds.class_names == ["background", "foreground"]
    expected = torch.zeros(40, 40, dtype=torch.int64)
    expected[:, :20] = 1
    for mask in ds.masks:  # 0/255 became 0/1, and nearest resizing kept the half split
        assert torch.equal(mask, expected)
    assert torch.allclose(ds.images[0, :, 5, 5], torch.tensor([200 / 255, 0.0, 0.0]), atol=1e-3)
    assert torch.allclose(ds.images[1, :, 5, 5], torch.full((3,), 100 / 255), atol=1e-3)  # gray → RGB
    assert torch.allclose(
        ds.images[2, :, 5, 5], torch.tensor([0.0, 0.0, 50 / 255]), atol=1e-3
    )  # alpha dropped
    assert validate_folder(root) == []
    assert len(make_dataset(root, size=16, n=2)) == 2


def test_folder_dataset_with_zero_one_masks_and_jpeg(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "d", binary_255=False)
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(root / "images" / "d.jpg", quality=95)
    _save(root / "masks" / "d.png", np.ones((20, 20), np.uint8))
    ds = make_dataset(root, size=20)
    assert len(ds) == 4 and ds.num_classes == 2
    assert ds.masks[:3, :, :10].eq(1).all() and ds.masks[:3, :, 10:].eq(0).all()
    assert ds.masks[3].eq(1).all()


def test_folder_dataset_with_class_id_masks(tmp_path: Path) -> None:
    root = tmp_path / "multi"
    for i in range(3):
        mask = np.zeros((16, 16), np.uint8)
        mask[:8] = i + 1
        _save(root / "images" / f"img{i}.png", np.full((16, 16, 3), 30 * i, np.uint8))
        _save(root / "masks" / f"img{i}.png", mask)
    inferred = make_dataset(root, size=16)
    assert inferred.num_classes == 4 and len(inferred.class_names) == 4
    assert inferred.masks[2, 0, 0] == 3 and inferred.masks[2, 15, 0] == 0
    declared = make_dataset(root, size=16, num_classes=6)
    assert declared.num_classes == 6
    assert torch.equal(declared.class_pixel_counts()[4:], torch.zeros(2, dtype=torch.int64))
    (root / "classes.txt").write_text("sky\nroad\ncar\nperson\n")
    named = make_dataset(root, size=16)
    assert named.class_names == ["sky", "road", "car", "person"]


def _zip_folder(root: Path, archive: Path, prefix: str) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(root.rglob("*")):
            if file.is_file():
                zf.write(file, f"{prefix}{file.relative_to(root).as_posix()}")
    return archive


@pytest.mark.parametrize("prefix", ["", "top/"])
def test_zip_round_trip(tmp_path: Path, prefix: str) -> None:
    root = _make_folder(tmp_path / "src")
    archive = _zip_folder(root, tmp_path / "upload.zip", prefix)
    target = tmp_path / "unpacked"
    from_zip = make_dataset(archive, size=24, extract_to=target)
    from_dir = make_dataset(root, size=24)
    assert torch.equal(from_zip.images, from_dir.images) and torch.equal(from_zip.masks, from_dir.masks)
    assert (target / prefix / "images" / "a.png").is_file()
    assert from_zip.meta["extracted_to"] == str(target)
    default = make_dataset(archive, size=24)  # via a temporary folder, removed afterwards
    assert torch.equal(default.masks, from_dir.masks)
    assert default.meta["extracted_to"] is None
    assert default.name == ("top" if prefix else "upload")  # the data folder's name, else the zip's
    assert validate_folder(archive) == []


def _message(excinfo: pytest.ExceptionInfo[DatasetError]) -> str:
    return str(excinfo.value)


def test_missing_mask_and_missing_image_are_both_named(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "d")
    _save(root / "images" / "lonely_image.png", np.zeros((20, 20, 3), np.uint8))
    _save(root / "masks" / "lonely_mask.png", np.zeros((20, 20), np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        make_dataset(root)
    assert "lonely_image.png" in _message(excinfo) and "lonely_mask.png" in _message(excinfo)
    problems = validate_folder(root)
    assert len(problems) == 2


def test_corrupt_file_is_named(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "d")
    (root / "images" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    with pytest.raises(DatasetError, match=r"b\.png"):
        make_dataset(root)


def test_size_mismatch_names_both_files(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "d")
    _save(root / "masks" / "c.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        make_dataset(root)
    assert "images/c.png" in _message(excinfo) and "masks/c.png" in _message(excinfo)


def test_mask_values_beyond_declared_classes(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "d", binary_255=False)
    bad = np.zeros((20, 20), np.uint8)
    bad[0, 0] = 3
    _save(root / "masks" / "b.png", bad)
    with pytest.raises(DatasetError, match=r"masks/b\.png.*3"):
        make_dataset(root, num_classes=2)
    stray = np.zeros((20, 20), np.uint8)
    stray[0, 0] = 200
    _save(root / "masks" / "b.png", stray)
    with pytest.raises(DatasetError, match=r"masks/b\.png"):
        make_dataset(root)  # inferred classes: 200 is surely a mistake


def test_empty_and_incomplete_folders(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="images/"):
        make_dataset(empty)
    (empty / "images").mkdir()
    (empty / "masks").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        make_dataset(empty)
    only_images = tmp_path / "only"
    _save(only_images / "images" / "x.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match="masks/"):
        make_dataset(only_images)


def test_many_problems_are_listed_and_capped(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "d")
    for i in range(25):
        _save(root / "images" / f"extra{i:02d}.png", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(DatasetError) as excinfo:
        make_dataset(root)
    message = _message(excinfo)
    assert "25 problems" in message and "extra00.png" in message and "and 5 more" in message
    assert message.count("\n- ") == folder_mod.MAX_LISTED_PROBLEMS


def _png_bytes(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((size, size), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_zip_slip_entry_is_refused_and_nothing_written(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("images/a.png", _png_bytes())
        zf.writestr("masks/a.png", _png_bytes())
        zf.writestr("../evil.png", _png_bytes())
    target = tmp_path / "box" / "inner"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(DatasetError, match=r"\.\./evil\.png"):
        make_dataset(archive, extract_to=target)
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before  # not even the extraction folder was created
    assert not (tmp_path / "box" / "evil.png").exists()


def test_absolute_and_symlink_entries_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    link = zipfile.ZipInfo("images/link.png")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("/tmp/absolute.png", _png_bytes())
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(DatasetError) as excinfo:
        make_dataset(archive, extract_to=tmp_path / "out")
    assert "/tmp/absolute.png" in _message(excinfo) and "images/link.png" in _message(excinfo)
    assert not (tmp_path / "out").exists()


def test_oversized_archive_and_too_many_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _make_folder(tmp_path / "src")
    archive = _zip_folder(root, tmp_path / "big.zip", "")
    monkeypatch.setattr(folder_mod, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(DatasetError, match=r"big\.zip.*MB"):
        make_dataset(archive, extract_to=tmp_path / "out1")
    monkeypatch.setattr(folder_mod, "MAX_ARCHIVE_BYTES", 10**9)
    monkeypatch.setattr(folder_mod, "MAX_ARCHIVE_ENTRIES", 3)
    with pytest.raises(DatasetError, match=r"big\.zip.*entries"):
        make_dataset(archive, extract_to=tmp_path / "out2")
    assert not (tmp_path / "out1").exists() and not (tmp_path / "out2").exists()


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "photos.zip"
    fake.write_text("just some text")
    with pytest.raises(DatasetError, match=r"photos\.zip"):
        make_dataset(fake)
    assert validate_folder(fake)  # reported, not raised


def test_decompression_bomb_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _make_folder(tmp_path / "d")
    monkeypatch.setattr(images_mod, "MAX_IMAGE_PIXELS", 300)  # 20×20 = 400 pixels is "too big"
    with pytest.raises(DatasetError, match=r"images/a\.png.*megapixels"):
        make_dataset(root)
    # Pillow's own guard (raised while decoding) is turned into a DatasetError too.
    monkeypatch.setattr(images_mod, "MAX_IMAGE_PIXELS", 10**9)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150)
    with pytest.raises(DatasetError, match=r"a\.png.*decompression"):
        make_dataset(root)


def test_extract_to_must_be_empty(tmp_path: Path) -> None:
    archive = _zip_folder(_make_folder(tmp_path / "src"), tmp_path / "u.zip", "")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="empty"):
        make_dataset(archive, extract_to=busy)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]


def test_folder_parameters_are_checked(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "d")
    with pytest.raises(ConfigError, match="fg_fraction"):
        make_dataset(root, fg_fraction=0.3)
