"""Reading one picture a user brings: the one road from a file to the numbers a model sees.

Every page and the loader read pictures through here — folders and ``.zip`` datasets
(`seglab.data.folder`), the Data page's uploads, the Inside page's "Your photo"
(`seglab.inspect.image_from_bytes`) — so the same file gives the same array
everywhere, by construction. The rules, in order:

1. **Size limit first.** A file declares its width and height in its header; anything above
   ``MAX_IMAGE_PIXELS`` is refused *before* any pixel is decoded, and Pillow's own
   decompression-bomb guard (a tiny file declaring an enormous picture) is turned into the
   same plain refusal. Memory while reading is therefore bounded by the limit.
2. **Upright.** EXIF orientations 1-8 are applied with Pillow's ``ImageOps.exif_transpose``
   (`seglab.data.mask_rules.upright`), so the picture is the one every viewer shows and the
   one masks were drawn on.
3. **Brightness in [0, 1]** by what the file stores:

   - 8-bit pictures (grey, RGB, palette, CMYK, 1-bit …) ÷ 255; palette colours are looked up;
   - 16-bit pictures ÷ 65535 (grey PNG/TIFF, mode ``I;16``); Pillow reads 16-bit *colour*
     PNGs as 8-bit RGB (their top byte), which is the same brightness;
   - 32-bit whole-number pictures (mode ``I``) holding 0 … 65535 are 16-bit data in a wider
     box and read ÷ 65535; other values are refused (no agreed scale);
   - decimal (floating-point) pictures are read **as they are** when they hold values in
     [0, 1] (what scikit-image, tifffile and most microscopy exports write); values outside
     [0, 1] are refused in plain words, because their scale (0-255? 0-65535? metres?) cannot
     be known, and NaN or infinite pixels are refused too.

   Grey pictures are repeated into three channels; an alpha (transparency) band is dropped
   and the colours kept.
4. **Resized** to ``size × size`` with one function (`resize_image`: bilinear with
   antialiasing), so a picture shown on the Inside page is resized exactly as the loader
   resized the training images.

Every refusal is an `ImageFileError` (a `DatasetError`, so a `SegLabError`) whose message
names the file and says what to do. No Streamlit here.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from seglab.data import mask_rules
from seglab.errors import DatasetError

#: file types read as pictures (folders, zips and uploads alike)
SUPPORTED_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
#: refuse pictures with more pixels than this (decompression-bomb guard, bounded memory)
MAX_IMAGE_PIXELS = 40_000_000
#: the largest value of a 16-bit picture
SIXTEEN_BIT_MAX = 65535.0
#: decimal pictures may stray this far outside [0, 1] (rounding) and are then clipped
FLOAT_TOLERANCE = 1e-3
#: Pillow modes holding whole numbers wider than 8 bits
WIDE_INT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I;16S", "I")


class ImageFileError(DatasetError):
    """One picture cannot be used; the message names the file and says why, in plain words."""


def open_image(source: str | Path | bytes, name: str) -> Image.Image:
    """Open and decode a picture (a path or the bytes of an upload), upright (rules 1-2).

    ``name`` names the file in messages. Returns a loaded Pillow image that keeps the file's
    ``format`` and ``info``. Raises `ImageFileError` for pictures over the size limit and
    files that are damaged or not pictures.
    """
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    limit = f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(fp) as im:
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageFileError(
                        f"{name}: {width}×{height} pixels is more than the limit of {limit}; shrink it first."
                    )
                im.load()  # the pixels stay in memory when the file is closed: no copy needed
                turned = mask_rules.upright(im)
                if turned is not im:
                    turned.format = im.format
                    turned.info = dict(im.info)
                return turned
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageFileError(
                f"{name}: the file declares far more pixels than the limit of {limit}, so it was not "
                "opened (decompression-bomb guard); shrink the picture first."
            ) from None
        except ImageFileError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
            raise ImageFileError(f"{name}: cannot be read — the file is damaged or not an image.") from None


def image_pixels(im: Image.Image, name: str) -> np.ndarray:
    """A decoded picture → float32 (H, W, 3) brightness in [0, 1] (rule 3 of the module doc)."""
    if im.mode in WIDE_INT_MODES:
        arr = np.asarray(im).astype(np.float32)
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if lo < 0 or hi > SIXTEEN_BIT_MAX:
            raise ImageFileError(
                f"{name}: holds whole-number values from {lo:g} to {hi:g}; pictures are read as 8-bit "
                "(0 to 255) or 16-bit (0 to 65535) brightness, so save it as an 8- or 16-bit image."
            )
        return _grey_to_rgb(arr / SIXTEEN_BIT_MAX)
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        reason = mask_rules.check_finite(arr)
        if reason:
            raise ImageFileError(f"{name}: {reason}.")
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if lo < -FLOAT_TOLERANCE or hi > 1 + FLOAT_TOLERANCE:
            raise ImageFileError(
                f"{name}: holds decimal values from {lo:.4g} to {hi:.4g}, but decimal pictures are read "
                "as brightness from 0 to 1 and their scale cannot be guessed; divide by the right "
                "maximum (255 for 8-bit data, 65535 for 16-bit) and save it again."
            )
        return _grey_to_rgb(np.clip(arr, 0.0, 1.0))
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # palette transparency: look colours up, then drop alpha
    try:
        rgb = im if im.mode == "RGB" else im.convert("RGB")
    except ValueError:
        raise ImageFileError(
            f"{name}: its colour mode {im.mode} cannot be read; save it as an RGB or grey image."
        ) from None
    out = np.asarray(rgb, dtype=np.float32)
    out /= 255.0  # in place: a 40-megapixel picture is 480 MB as float32, once is enough
    return out


def _grey_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray.astype(np.float32)[..., None], 3, axis=2)


def read_image(source: str | Path | bytes, name: str) -> np.ndarray:
    """A picture file (path or bytes) → float32 (H, W, 3) in [0, 1]: `open_image` then `image_pixels`."""
    return image_pixels(open_image(source, name), name)


def resize_image(image: np.ndarray, size: int) -> torch.Tensor:
    """(H, W, 3) float in [0, 1] → float32 tensor (3, size, size): bilinear with antialiasing
    (``F.interpolate(..., antialias=True, align_corners=False)``), clamped to [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0)
    t = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return t[0].clamp(0, 1)


def centre_square(image: np.ndarray) -> np.ndarray:
    """The largest centred square of an (H, W, …) array (rows/columns cut equally from both sides,
    the odd one from the end)."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return image[top : top + side, left : left + side]


def picture_for_model(source: str | Path | bytes, size: int, name: str = "the picture") -> torch.Tensor:
    """One picture as a model input: `read_image`, centre-cropped to a square (`centre_square`),
    resized with `resize_image` to (3, size, size). A square picture gives exactly what the
    folder loader gives for the same file at the same size."""
    return resize_image(centre_square(read_image(source, name)), size)
