"""How files that people really have are turned into images and masks.

Four rules, each small and stated in plain words, used by :mod:`seglab.data.folder`:

1. **EXIF orientation.** Phone cameras store pixels sideways and add an EXIF ``Orientation``
   tag (values 1-8) telling viewers how to turn them. Images *and* masks are turned upright
   with Pillow's own :func:`PIL.ImageOps.exif_transpose`, so they line up with masks drawn
   on the picture as every viewer shows it.
2. **Alpha in masks** (RGBA, LA, PA). A mask with a transparency (alpha) band is read as:

   - alpha constant (e.g. fully opaque) → the colour/grey values are the class ids;
   - colour constant but alpha varying (an object painted on a transparent layer) → the
     alpha is the mask: alpha ≥ 128 is foreground (1), below is background (0);
   - both varying and agreeing (colour is 0 exactly where alpha < 128, e.g. white on
     clear) → the colour values are the class ids;
   - both varying and disagreeing → refused as ambiguous, in plain words.

   Palette masks (``P``) with a transparent palette entry keep their palette indices: the
   transparency belongs to an index, so the index already carries everything.
3. **Lossy (JPEG) masks.** Detected by the file's format (JPEG, or TIFF with JPEG
   compression), not its name. Compression invents values near edges that were never
   drawn. A value counts as *drawn* if it fills at least one whole aligned 8×8 block in
   some lossy mask of the dataset (JPEG codes such blocks independently and returns flat
   ones exactly; its noise lives in blocks crossed by an edge); every other value is
   snapped to the nearest drawn id, over the whole dataset, and a warning says so. 0/255 binary masks are first
   thresholded at 128 (see ``normalise_mask_values``).
4. **Float images** with NaN or infinite pixels are refused, naming the file; they would
   otherwise turn into a "training diverged" message with the wrong advice (`check_finite`,
   called by :mod:`seglab.data.images`, which holds the brightness rules of every picture).
"""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image, ImageOps

ALPHA_THRESHOLD = 128
JPEG_BLOCK = 8  # JPEG compresses aligned 8×8 blocks independently
LOSSY_FORMATS = ("JPEG", "MPO")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class DatasetWarning(UserWarning):
    """A dataset was loaded, but something in it was interpreted; the message says what."""


class MaskRuleError(ValueError):
    """A file breaks one of the rules above; the message is plain words (without the file name)."""


def upright(im: Image.Image) -> Image.Image:
    """The image as viewers show it: EXIF orientations 1-8 applied by ``ImageOps.exif_transpose``."""
    turned = ImageOps.exif_transpose(im)
    return im if turned is None else turned


def is_lossy(im: Image.Image) -> bool:
    """True for files whose pixel values are not stored exactly (JPEG, or JPEG-compressed TIFF)."""
    if im.format in LOSSY_FORMATS:
        return True
    return im.format == "TIFF" and str(im.info.get("compression", "")).lower() in ("jpeg", "tiff_jpeg")


def split_alpha(im: Image.Image) -> tuple[Image.Image, np.ndarray | None]:
    """``(colour part, alpha as uint8 array)``; alpha is None for modes without an alpha band."""
    if im.mode not in ALPHA_MODES:
        return im, None
    if im.mode in ("RGBa", "La"):
        im = im.convert("RGBA" if im.mode == "RGBa" else "LA")
    alpha = np.asarray(im.getchannel("A"))
    if im.mode == "RGBA":
        return im.convert("RGB"), alpha
    return im.getchannel(0), alpha  # LA: the grey values; PA: the palette indices


def apply_alpha_rule(colour: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, str | None]:
    """Rule 2 above. ``colour``: int64 (H, W) ids from the colour/grey band(s).

    Returns ``(ids, note)``; ``note`` is a plain sentence when alpha was used as the mask.
    Raises :class:`MaskRuleError` when colour and alpha disagree.
    """
    if alpha is None or alpha.size == 0 or alpha.min() == alpha.max():
        return colour, None
    opaque = alpha >= ALPHA_THRESHOLD
    if colour.min() == colour.max():
        note = (
            "the object is drawn only in the transparency (alpha) channel; alpha ≥ 128 was read as foreground"
        )
        return opaque.astype(np.int64), note
    if np.array_equal(colour != 0, opaque):
        return colour, None
    raise MaskRuleError(
        "the mask's colours and its transparency (alpha) mark different pixels, so it is unclear "
        "which one is the mask; save the class ids in one channel (grayscale or palette PNG) without transparency."
    )


def drawn_values(mask: np.ndarray, block: int = JPEG_BLOCK) -> np.ndarray:
    """Values that fill at least one whole aligned ``block``×``block`` tile of ``mask``: the ids
    really drawn.

    JPEG codes each aligned 8×8 block on its own, and a flat block comes back exactly, so
    compression noise only appears in blocks that an edge crosses; a block holding one
    single value is drawn data. (Noise bands can be several pixels thick, so a smaller
    patch is not enough.) Objects narrower than a block in *every* lossy mask cannot be
    told apart from noise and are snapped too; the warning then says so.
    Shape: int ``(H, W)`` → sorted distinct values.
    """
    h, w = (mask.shape[0] // block) * block, (mask.shape[1] // block) * block
    if h == 0 or w == 0:
        return np.unique(mask)
    tiles = mask[:h, :w].reshape(h // block, block, w // block, block).transpose(0, 2, 1, 3)
    tiles = tiles.reshape(-1, block * block)
    flat = (tiles == tiles[:, :1]).all(axis=1)
    return np.unique(tiles[flat, 0])


def snap_to(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Replace each entry of ``values`` by the nearest entry of the sorted ``ids`` (ties: the lower).

    >>> snap_to(np.array([0, 1, 2, 7]), np.array([0, 1])).tolist()
    [0, 1, 1, 1]
    """
    ids = np.asarray(ids)
    pos = np.clip(np.searchsorted(ids, values), 1, max(len(ids) - 1, 1))
    if len(ids) == 1:
        return np.full_like(values, ids[0])
    lower, upper = ids[pos - 1], ids[pos]
    return np.where(values - lower <= upper - values, lower, upper)


def check_finite(arr: np.ndarray) -> str | None:
    """Rule 4: a plain reason if a float image holds NaN or infinite values, else None."""
    if not np.issubdtype(arr.dtype, np.floating):
        return None
    bad = ~np.isfinite(arr)
    if not bad.any():
        return None
    return (
        f"{int(bad.sum())} pixel(s) are NaN or infinite (not a number); fix or drop this image — "
        "training on it would only fail later"
    )


def warn(message: str) -> None:
    """Emit a :class:`DatasetWarning` (shown once on the command line; pages can show it too)."""
    warnings.warn(message, DatasetWarning, stacklevel=3)
