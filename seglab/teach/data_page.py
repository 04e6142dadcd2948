"""Computations behind the Data page: draw or load a dataset, tile it, measure class balance.

The page never touches tensors: everything here hands back numpy arrays and DataFrames, and
every problem a user can cause (a broken upload, a wrong folder) comes back as a list of
plain sentences instead of an exception.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.data import make_dataset
from seglab.data.mask_rules import DatasetWarning
from seglab.errors import SegLabError
from seglab.palette import colorize_mask, overlay, to_uint8_image

#: Where uploaded archives are written to be checked (one file per distinct content), inside the
#: experiment home so that "Save for training" links the same file instead of writing it again.
UPLOAD_FOLDER = "_uploads"
#: A checked upload older than this is removed by the next upload (it is only needed while the
#: student looks at it; once saved for training it lives on under ``datasets/``).
UPLOAD_KEEP_SECONDS = 3600.0

EXPECTED_LAYOUT = """\
my_dataset/   (or a .zip of it)
├── images/
│   ├── tile_001.png
│   ├── tile_002.jpg
│   └── …
├── masks/
│   ├── tile_001.png
│   ├── tile_002.png
│   └── …
└── classes.txt     (optional)"""


@dataclass
class DataView:
    """A dataset reduced to what the page draws.

    images: uint8 (N, H, W, 3); masks: int64 (N, H, W); class_names: one per class id.
    """

    name: str
    images: np.ndarray
    masks: np.ndarray
    class_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class LoadResult:
    """Either a `DataView` or the problems that stopped it (headline + one item per file)."""

    view: DataView | None = None
    headline: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the data was interpreted (alpha masks, JPEG noise)

    @property
    def ok(self) -> bool:
        return self.view is not None


def _to_view(ds: Any) -> DataView:
    images = ds.images.permute(0, 2, 3, 1).cpu().numpy()
    images = to_uint8_image(images)
    return DataView(
        name=str(ds.name),
        images=images,
        masks=ds.masks.cpu().numpy().astype(np.int64),
        class_names=list(ds.class_names),
        meta=dict(getattr(ds, "meta", {}) or {}),
    )


def generate_view(name: str, *, size: int, n: int, seed: int, params: dict[str, Any]) -> DataView:
    """Draw a registered procedural dataset and convert it for display."""
    return _to_view(make_dataset(name, size=size, n=n, seed=seed, **params))


def split_problems(message: str) -> tuple[str, list[str]]:
    """Split an error message into its first line and the list of per-file problems below it.

    Bulleted lines ("- …", "• …", "* …") become items; a one-line message has no items.
    """
    lines = [line.rstrip() for line in str(message).splitlines() if line.strip()]
    if not lines:
        return "The dataset could not be read.", []
    headline, items = lines[0], []
    for line in lines[1:]:
        text = line.strip()
        if text[:2] in ("- ", "• ", "* "):
            items.append(text[2:].strip())
        elif text.startswith("…"):
            items.append(text)
        elif items:
            items[-1] += " " + text
        else:
            items.append(text)
    return headline, items


def load_user_dataset(path: str | Path, *, size: int = 64, n: int | None = None) -> LoadResult:
    """Load a folder or .zip with images/ and masks/; user mistakes become a `LoadResult` with problems.

    Only `SegLabError` (the errors a user can cause) is caught; anything else is a bug and
    propagates.
    """
    text = str(path).strip()
    if not text:
        return LoadResult(headline="Give the path of a folder or a .zip file.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DatasetWarning)
        try:
            ds = make_dataset(Path(text).expanduser(), size=size, n=n)
        except SegLabError as err:
            headline, items = split_problems(str(err))
            return LoadResult(headline=headline, problems=items)
    notes = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, DatasetWarning)))
    return LoadResult(view=_to_view(ds), notes=notes)


def upload_dir(home: str | Path | None = None) -> Path:
    from seglab.paths import seglab_home

    return Path(home if home is not None else seglab_home()) / UPLOAD_FOLDER


def save_upload(data: bytes, filename: str, home: str | Path | None = None) -> Path:
    """Write uploaded bytes to a stable path under ``$SEGLAB_HOME/_uploads`` and return it.

    The file keeps its own name (so messages about it name what the user uploaded) inside a
    folder named after a hash of the content: the same upload is written only once, through a
    temporary file of a unique name (two sessions uploading it at once never see half a file).
    Checked uploads older than :data:`UPLOAD_KEEP_SECONDS` are removed on the way.
    """
    import os
    import shutil
    import time

    root = upload_dir(home)
    digest = hashlib.sha1(data).hexdigest()[:16]
    name = Path(filename).name.strip() or "upload.zip"
    name = "".join(ch if ch.isalnum() or ch in "-_. " else "_" for ch in name)[:80]
    folder = root / digest
    target = folder / name
    try:
        for old in root.glob("*") if root.is_dir() else []:
            if old.name != digest and time.time() - old.stat().st_mtime > UPLOAD_KEEP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            fd, tmp = tempfile.mkstemp(prefix=".part-", dir=folder)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
    except OSError as exc:
        from seglab.errors import DiskFullError, disk_full_message, is_disk_full

        if is_disk_full(exc):
            raise DiskFullError(disk_full_message(root)) from None
        raise
    return target


def overlay_tiles(
    view: DataView, start: int, count: int, alpha: float = 0.5, mode: str = "overlay"
) -> list[tuple[np.ndarray, str]]:
    """Up to `count` (tile, caption) pairs from sample `start` on.

    mode: "overlay" (mask painted over the image), "image" or "mask" (class colours only).
    The caption gives the sample number and its share of non-background pixels.
    """
    tiles = []
    for i in range(start, min(len(view), start + count)):
        if mode == "image":
            tile = view.images[i]
        elif mode == "mask":
            tile = colorize_mask(view.masks[i])
        else:
            tile = overlay(view.images[i], view.masks[i], alpha)
        labelled = float((view.masks[i] != 0).mean())
        tiles.append((tile, f"#{i} · {labelled:.0%} labelled"))
    return tiles


def class_balance(view: DataView) -> pd.DataFrame:
    """Pixels and share of all pixels per class, plus the share of images containing it."""
    k = view.num_classes
    counts = np.bincount(view.masks.reshape(-1), minlength=k)[:k]
    present = np.stack([(view.masks == c).any(axis=(1, 2)) for c in range(k)], axis=1).mean(axis=0)
    total = max(1, int(counts.sum()))
    return pd.DataFrame(
        {
            "class_id": list(range(k)),
            "class": view.class_names,
            "pixels": counts.astype(int),
            "share": counts / total,
            "images containing it": present,
        }
    )


def imbalance_note(balance: pd.DataFrame) -> str:
    """One sentence on how unbalanced the classes are, for the page to show under the chart."""
    shares = balance.set_index("class")["share"]
    rare, common = shares.idxmin(), shares.idxmax()
    if shares.min() <= 0:
        return f"Class **{rare}** never occurs in these samples: no model can learn it from them."
    ratio = shares.max() / shares.min()
    return (
        f"**{common}** covers {shares.max():.1%} of the pixels and **{rare}** only {shares.min():.1%}: "
        f"a ratio of {ratio:.0f} : 1. A model that ignores **{rare}** can still score up to "
        f"{1 - shares.min():.1%} pixel accuracy (if it gets every other pixel right), which is why "
        "the study ranks models by IoU and "
        "why losses such as focal or Dice exist."
    )


def example_zip(view: DataView, count: int = 8) -> bytes:
    """A small zip in the expected layout (images/*.png, masks/*.png with class ids) as a template."""
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(min(count, len(view))):
            for folder, array in (("images", view.images[i]), ("masks", view.masks[i].astype(np.uint8))):
                png = io.BytesIO()
                Image.fromarray(array).save(png, format="PNG")
                zf.writestr(f"{view.name}_example/{folder}/sample_{i:03d}.png", png.getvalue())
    return buffer.getvalue()
