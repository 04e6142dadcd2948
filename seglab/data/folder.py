"""Loading your own data: a folder (or a .zip of one) holding ``images/`` and ``masks/``.

Layout::

    my_data/
        images/  cat_01.png  cat_02.jpg ...
        masks/   cat_01.png  cat_02.png ...   (same file stems as the images)
        classes.txt                            (optional: one class name per line)

Images are read by `seglab.data.images` (the road every page takes: grey, RGB, palette,
alpha dropped, 16-bit, decimal in [0, 1], size limits); masks hold class ids (0, 1, 2 …)
or, for binary data, 0/255; ``classes.txt`` is read by `seglab.data.text_files`.
Everything is resized to a square ``size``×``size`` (bilinear for images, nearest for masks).

Nothing is trusted: every problem found — missing partner files, unreadable or oversized
images, size mismatches, mask values beyond the classes, unsafe zip entries — is collected
and reported in one `DatasetError` that names each offending file. Archives are checked
entry by entry before anything is written, and nothing is ever written outside the
extraction folder.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from seglab.data import mask_rules
from seglab.data.dataset import SegDataset, default_class_names
from seglab.data.images import SUPPORTED_SUFFIXES, ImageFileError, open_image, resize_image
from seglab.data.images import read_image as read_picture
from seglab.data.text_files import TextFileError, read_class_names
from seglab.errors import ConfigError, DatasetError

LOSSY_SUFFIXES = (".jpg", ".jpeg")
MAX_ARCHIVE_BYTES = 2 * 1024**3  # total uncompressed size of a zip
MAX_ARCHIVE_ENTRIES = 50_000
MAX_INFERRED_CLASSES = 64  # without num_classes=, larger mask values are treated as a mistake
MAX_LISTED_PROBLEMS = 20
COPY_CHUNK = 1 << 20
IGNORED_NAMES = ("__MACOSX", "Thumbs.db", "desktop.ini")


# ---- reporting ------------------------------------------------------------------------------
def format_problems(header: str, problems: list[str], limit: int | None = None) -> str:
    """One message: a header line, then one ``- problem`` line each, at most ``limit``, then "… and N more"."""
    limit = MAX_LISTED_PROBLEMS if limit is None else limit
    lines = [header] + [f"- {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more.")
    return "\n".join(lines)


class DatasetProblemsError(DatasetError):
    """A `DatasetError` that also keeps the individual problems as a list (``.problems``)."""

    def __init__(self, header: str, problems: list[str]) -> None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(format_problems(f"{header} ({count}):", problems))
        self.problems = list(problems)


def _fail(header: str, problems: list[str]) -> DatasetProblemsError:
    return DatasetProblemsError(header, problems)


#: a single file cannot be used; the message is already in plain words (it names the file)
_FileProblem = ImageFileError


# ---- finding files --------------------------------------------------------------------------
def _is_ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name in IGNORED_NAMES


def find_root(path: Path) -> Path | None:
    """The folder holding ``images/`` and ``masks/``: ``path`` itself or its single sub-folder."""
    if (path / "images").is_dir() or (path / "masks").is_dir():
        return path
    children = [c for c in path.iterdir() if c.is_dir() and not _is_ignored(c)]
    if len(children) == 1 and ((children[0] / "images").is_dir() or (children[0] / "masks").is_dir()):
        return children[0]
    return None


def _list_files(folder: Path) -> tuple[dict[str, Path], dict[str, Path], list[str]]:
    """Supported files by stem, unsupported files by stem, and duplicate-stem problems."""
    supported: dict[str, Path] = {}
    unsupported: dict[str, Path] = {}
    problems: list[str] = []
    for entry in sorted(folder.iterdir()):
        if _is_ignored(entry) or not entry.is_file():
            continue
        if entry.suffix.lower() in SUPPORTED_SUFFIXES:
            if entry.stem in supported:
                other = supported[entry.stem].name
                problems.append(
                    f"{folder.name}/{entry.name}: same name as {folder.name}/{other}; keep only one file per name."
                )
                continue
            supported[entry.stem] = entry
        else:
            unsupported[entry.stem] = entry
    return supported, unsupported, problems


@dataclass
class _Pairs:
    root: Path
    stems: list[str] = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)
    masks: dict[str, Path] = field(default_factory=dict)


def pair_files(path: Path, display_name: str | None = None) -> tuple[_Pairs, list[str]]:
    """Match ``images/x.*`` with ``masks/x.*``; return the pairs and every pairing problem.

    ``display_name`` names the dataset in messages (e.g. the uploaded zip instead of the
    temporary folder it was unpacked to)."""
    root = find_root(path)
    if root is None:
        return _Pairs(path), [
            f"'{display_name or path.name}' has no images/ and masks/ folders. Put your pictures in images/ and "
            "the matching masks (same file names) in masks/."
        ]
    problems: list[str] = []
    for sub in ("images", "masks"):
        if not (root / sub).is_dir():
            where = display_name if display_name and root == path else root.name
            problems.append(f"'{where}' has no {sub}/ folder.")
    if problems:
        return _Pairs(root), problems
    images, images_other, dup_i = _list_files(root / "images")
    masks, masks_other, dup_m = _list_files(root / "masks")
    problems += dup_i + dup_m
    kinds = ", ".join(s.lstrip(".").upper() for s in SUPPORTED_SUFFIXES)
    if not images:
        problems.append(f"images/ holds no image files ({kinds}).")
    if not masks:
        problems.append(f"masks/ holds no mask files ({kinds}).")
    if not images or not masks:
        return _Pairs(root), problems
    for stem, file in images.items():
        if stem not in masks:
            hint = (
                f" (masks/{masks_other[stem].name} is not a supported format)" if stem in masks_other else ""
            )
            problems.append(f"images/{file.name}: no mask with the same name in masks/{hint}.")
    for stem, file in masks.items():
        if stem not in images:
            hint = (
                f" (images/{images_other[stem].name} is not a supported format)"
                if stem in images_other
                else ""
            )
            problems.append(f"masks/{file.name}: no image with the same name in images/{hint}.")
    stems = sorted(set(images) & set(masks))
    return _Pairs(root, stems, images, masks), problems


def content_stamp(path: str | Path) -> str:
    """A fingerprint of everything a check of ``path`` reads: for a folder, the name, size and
    modification time (ns) of every entry of the folder, of the dataset root `find_root`
    picks, of its ``images/`` and ``masks/`` and of ``classes.txt``; for a .zip, its own size
    and time. Any edit, addition, removal or rename there gives another stamp, so a cache
    keyed on it (the Data page's) sees a fix at the next look. Cost: one ``stat`` per file.
    """
    path = Path(path).expanduser()
    digest = hashlib.sha256(str(path).encode())

    def add(entry: Path) -> None:
        try:
            st = entry.stat()
        except OSError:
            digest.update(f"{entry}:gone;".encode())
            return
        digest.update(f"{entry}:{entry.is_dir()}:{st.st_size}:{st.st_mtime_ns};".encode())

    def add_folder(folder: Path) -> None:
        add(folder)
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            add(entry)

    if not path.is_dir():
        add(path)
        return digest.hexdigest()[:32]
    add_folder(path)
    try:
        root = find_root(path)
    except OSError:
        root = None
    if root is not None:
        if root != path:
            add_folder(root)
        for sub in ("images", "masks"):
            if (root / sub).is_dir():
                add_folder(root / sub)
    return digest.hexdigest()[:32]


# ---- reading one file -----------------------------------------------------------------------
def _open_checked(path: Path, rel: str) -> Image.Image:
    """Open and decode a file upright, refusing anything over the pixel limit or unreadable
    (`seglab.data.images.open_image`: the one road every picture takes)."""
    return open_image(path, rel)


def read_image(path: Path, rel: str) -> np.ndarray:
    """Image file → float32 (H, W, 3) in [0, 1] by the rules of `seglab.data.images` (grayscale
    repeated, alpha dropped, 16-bit ÷ 65535, decimal pictures kept as they are in [0, 1])."""
    return read_picture(path, rel)


def read_mask(path: Path, rel: str) -> np.ndarray:
    """Mask file → int64 (H, W) of raw values (class ids, or 0/255 for binary masks)."""
    return read_mask_file(path, rel)[0]


def read_mask_file(path: Path, rel: str) -> tuple[np.ndarray, bool, str | None]:
    """Mask file → ``(values, lossy, note)``: int64 (H, W) raw values, whether the file format
    is lossy (JPEG), and a plain note when the alpha band was read as the mask (see
    :mod:`seglab.data.mask_rules` for the alpha and lossy rules)."""
    im = _open_checked(path, rel)
    lossy = mask_rules.is_lossy(im)
    if im.mode == "1":
        return np.asarray(im, dtype=np.int64), lossy, None
    im, alpha = mask_rules.split_alpha(im)
    if im.mode in ("RGB", "CMYK", "YCbCr", "HSV", "LAB"):
        arr = np.asarray(im.convert("RGB"), dtype=np.int64)
        if not (np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2])):
            raise _FileProblem(
                f"{rel}: the mask is a colour picture; save class ids as a single-channel "
                "(grayscale or palette) image instead."
            )
        arr = arr[..., 0]
    else:
        arr = _single_channel_ids(im, rel)
    try:
        arr, note = mask_rules.apply_alpha_rule(arr, alpha)
    except mask_rules.MaskRuleError as exc:
        raise _FileProblem(f"{rel}: {exc}") from None
    return arr, lossy, note


def _single_channel_ids(im: Image.Image, rel: str) -> np.ndarray:
    """A one-band mask image → int64 ids; refuses fractional and negative values."""
    arr = np.asarray(im)
    if arr.ndim != 2:
        raise _FileProblem(f"{rel}: the mask should have one channel, found shape {arr.shape}.")
    if np.issubdtype(arr.dtype, np.floating) and not (
        np.all(np.isfinite(arr)) and np.array_equal(arr, np.round(arr))
    ):
        raise _FileProblem(f"{rel}: the mask holds fractional values; masks must hold whole class ids.")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise _FileProblem(f"{rel}: the mask holds negative values; class ids start at 0.")
    return arr


def normalise_mask_values(
    mask: np.ndarray, suffix: str, num_classes: int | None, *, lossy: bool | None = None
) -> np.ndarray:
    """Binary conventions → ids: 0/255 → 0/1, and lossy (JPEG) binary masks thresholded at 128.

    ``lossy`` (the file's format is lossy) defaults to guessing from ``suffix``."""
    if num_classes not in (None, 2):
        return mask
    top = int(mask.max()) if mask.size else 0
    if top <= 1:
        return mask
    if lossy is None:
        lossy = suffix.lower() in LOSSY_SUFFIXES
    if lossy and top > 127:
        return (mask >= 128).astype(np.int64)
    if top == 255 and np.isin(mask, (0, 255)).all():
        return mask // 255
    return mask


def _read_class_names(root: Path) -> list[str] | None:
    """The names in ``root/classes.txt`` (any common encoding, names checked: see
    `seglab.data.text_files`), None without one; a broken file raises `TextFileError`."""
    file = root / "classes.txt"
    if not file.is_file():
        return None
    return read_class_names(file) or None


# ---- whole folders --------------------------------------------------------------------------
@dataclass
class _Loaded:
    root: Path
    stems: list[str]
    images: list[torch.Tensor]
    masks: list[torch.Tensor]
    num_classes: int
    class_names: list[str]


def _scan(
    path: Path, size: int | None, num_classes: int | None, limit: int | None, display_name: str | None = None
) -> tuple[_Loaded, list[str]]:
    """Pair, read, check and (if ``size``) resize the first ``limit`` pairs; collect all problems."""
    pairs, problems = pair_files(path, display_name)
    try:
        names = _read_class_names(pairs.root)
    except TextFileError as exc:
        names = None
        problems.append(str(exc))
    if num_classes is None and names is not None and len(names) >= 2:
        num_classes = len(names)
    stems = pairs.stems if limit is None else pairs.stems[:limit]
    pictures: list[torch.Tensor] = []
    masks: list[torch.Tensor] = []
    mask_values: list[tuple[str, np.ndarray]] = []  # (file, its distinct values): cheap to keep
    lossy_files: list[int] = []  # indices into mask_values (and masks) of lossy (JPEG) masks
    drawn: set[int] = set()  # ids that fill an 8×8 JPEG block in some lossy mask
    alpha_notes: list[str] = []
    for stem in stems:
        img_file, mask_file = pairs.images[stem], pairs.masks[stem]
        img_rel, mask_rel = f"images/{img_file.name}", f"masks/{mask_file.name}"
        image = mask = None
        try:
            image = read_image(img_file, img_rel)
        except _FileProblem as exc:
            problems.append(str(exc))
        lossy, note = False, None
        try:
            raw, lossy, note = read_mask_file(mask_file, mask_rel)
            mask = normalise_mask_values(raw, mask_file.suffix, num_classes, lossy=lossy)
        except _FileProblem as exc:
            problems.append(str(exc))
        if image is None or mask is None:
            continue
        if image.shape[:2] != mask.shape:
            (ih, iw), (mh, mw) = image.shape[:2], mask.shape
            problems.append(
                f"{img_rel} is {iw}×{ih} pixels but {mask_rel} is {mw}×{mh}; an image and its mask must match."
            )
            continue
        if note:
            alpha_notes.append(mask_rel)
        if lossy:
            lossy_files.append(len(mask_values))
            drawn.update(int(v) for v in mask_rules.drawn_values(mask))
        mask_values.append((mask_rel, np.unique(mask)))
        if size is not None:
            mask_t = torch.from_numpy(mask).to(torch.float32)[None, None]
            mask_t = F.interpolate(mask_t, size=(size, size), mode="nearest-exact")
            pictures.append(resize_image(image, size))
            masks.append(mask_t[0, 0].round().to(torch.int64))

    if lossy_files and drawn:
        _snap_lossy(lossy_files, np.array(sorted(drawn)), mask_values, masks)
    if alpha_notes:
        mask_rules.warn(
            f"{len(alpha_notes)} mask(s) ({', '.join(alpha_notes[:3])}{' …' if len(alpha_notes) > 3 else ''}) "
            "hold the object only in the transparency (alpha) channel; alpha ≥ 128 was read as foreground."
        )

    # Classes: declared (num_classes= or classes.txt) or inferred from the largest id.
    top = max((int(v[-1]) for _, v in mask_values if v.size), default=1)
    if num_classes is not None:
        k = int(num_classes)
        for rel, values in mask_values:
            bad = values[values >= k]
            if bad.size:
                shown = ", ".join(str(v) for v in bad[:5]) + (" …" if bad.size > 5 else "")
                problems.append(
                    f"{rel}: holds value(s) {shown}, beyond the {k} declared classes (ids 0 to {k - 1})."
                )
    else:
        k = max(2, top + 1)
        if k > MAX_INFERRED_CLASSES:
            for rel, values in mask_values:
                if values.size and int(values[-1]) >= MAX_INFERRED_CLASSES:
                    problems.append(
                        f"{rel}: holds value {int(values[-1])}. Masks should hold class ids 0, 1, 2 … "
                        "(or 0/255 for binary masks); declare num_classes if you really have that many classes."
                    )
    if names is not None and len(names) != k:
        mask_rules.warn(
            f"classes.txt names {len(names)} class(es) but the dataset has {k} classes; "
            "its names were not used (write one name per class id, 0 to the largest id)."
        )
        names = None
    if names is None:
        names = default_class_names(k)
    return _Loaded(pairs.root, list(stems), pictures, masks, k, names), problems


def _snap_lossy(
    lossy_files: list[int],
    ids: np.ndarray,
    mask_values: list[tuple[str, np.ndarray]],
    masks: list[torch.Tensor],
) -> None:
    """Snap the values of lossy masks to the drawn ``ids`` (in place) and warn when that changed any."""
    changed: list[str] = []
    noise: set[int] = set()
    for i in lossy_files:
        rel, values = mask_values[i]
        snapped = mask_rules.snap_to(values, ids)
        if np.array_equal(snapped, values):
            continue
        changed.append(rel)
        noise.update(int(v) for v in values[snapped != values])
        mask_values[i] = (rel, np.unique(snapped))
        if i < len(masks):
            lookup = torch.from_numpy(mask_rules.snap_to(np.arange(int(values.max()) + 1), ids))
            masks[i] = lookup[masks[i]]
    if changed:
        shown = ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
        mask_rules.warn(
            f"{len(changed)} JPEG (lossy) mask(s) ({shown}) hold value(s) {sorted(noise)} that are compression "
            f"noise, not drawn classes; they were snapped to the nearest drawn id among {ids.tolist()}. "
            "Save masks as PNG to keep them exact."
        )


def validate_folder(path: str | Path, *, num_classes: int | None = None) -> list[str]:
    """Every problem with a dataset folder or .zip, in plain words (empty list: it can be loaded)."""
    path = Path(path)
    if not path.exists():
        return [f"Nothing found at '{path}'."]
    if path.is_file():
        with tempfile.TemporaryDirectory(prefix="seglab-check-") as tmp:
            try:
                extract_zip(path, Path(tmp))
            except DatasetProblemsError as exc:
                return exc.problems
            except DatasetError as exc:
                return [str(exc)]
            _, problems = _scan(Path(tmp), None, num_classes, None, path.name)
            return problems
    _, problems = _scan(path, None, num_classes, None)
    return problems


def load_folder(
    path: str | Path,
    *,
    size: int = 64,
    n: int | None = None,
    num_classes: int | None = None,
    display_name: str | None = None,
) -> SegDataset:
    """Read a folder of images and masks into a `SegDataset` (first ``n`` pairs by file name).

    ``display_name`` names the dataset in error messages (default: the folder's name)."""
    path = Path(path)
    if num_classes is not None and (int(num_classes) != num_classes or num_classes < 2):
        raise ConfigError(f"num_classes must be a whole number of at least 2, got {num_classes!r}.")
    loaded, problems = _scan(path, size, num_classes, n, display_name)
    if problems:
        raise _fail(f"The dataset in '{display_name or path.name}' cannot be used", problems)
    return SegDataset(
        torch.stack(loaded.images),
        torch.stack(loaded.masks),
        num_classes=loaded.num_classes,
        class_names=loaded.class_names,
        name=loaded.root.name,
        meta={"source": str(path), "size": size, "n": len(loaded.stems), "files": loaded.stems},
    )


# ---- zip archives ---------------------------------------------------------------------------
def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000


def _unsafe_name(name: str) -> bool:
    """True for absolute paths, drive letters and any ``..`` component."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        return True
    return ".." in PurePosixPath(posix).parts


def extract_zip(archive: str | Path, target: str | Path) -> Path:
    """Check every entry of ``archive`` and, if all are safe, extract it into ``target``.

    Refused: files that are not zip archives, more than ``MAX_ARCHIVE_ENTRIES`` entries or
    more than ``MAX_ARCHIVE_BYTES`` uncompressed (declared or actually read), absolute or
    ``..`` paths, symbolic links, encrypted or damaged entries. Returns ``target``.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file() or not zipfile.is_zipfile(archive):
        raise DatasetError(
            f"'{archive.name}' is not a zip archive. Upload a .zip holding images/ and masks/."
        )
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DatasetError(f"'{archive.name}' cannot be opened as a zip archive ({exc}).") from None
    with zf:
        infos = zf.infolist()
        problems: list[str] = []
        if len(infos) > MAX_ARCHIVE_ENTRIES:
            problems.append(
                f"{archive.name}: {len(infos)} entries, more than the limit of {MAX_ARCHIVE_ENTRIES}."
            )
        declared = sum(info.file_size for info in infos)
        if declared > MAX_ARCHIVE_BYTES:
            problems.append(
                f"{archive.name}: unpacks to {declared / 1e6:.1f} MB, more than the limit of "
                f"{MAX_ARCHIVE_BYTES / 1e6:.1f} MB."
            )
        root = target.resolve()
        for info in infos:
            if _unsafe_name(info.filename):
                problems.append(
                    f"{info.filename}: entry points outside the archive folder (absolute path or '..')."
                )
            elif _is_symlink(info):
                problems.append(f"{info.filename}: entry is a symbolic link; links are not allowed.")
            elif not (root / info.filename).resolve().is_relative_to(root):
                problems.append(f"{info.filename}: entry would be written outside the extraction folder.")
            elif info.flag_bits & 0x1:
                problems.append(f"{info.filename}: entry is encrypted; upload an archive without a password.")
        if problems:
            raise _fail(f"The archive '{archive.name}' is unsafe or too large and was not unpacked", problems)

        target.mkdir(parents=True, exist_ok=True)
        written = 0
        for info in infos:
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if not parts or parts[0] == "__MACOSX":
                continue
            dest = (root / info.filename).resolve()
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(dest, "wb") as out:
                    while chunk := src.read(COPY_CHUNK):
                        written += len(chunk)
                        if written > MAX_ARCHIVE_BYTES:
                            raise DatasetError(
                                f"{info.filename}: the archive unpacks to more than the limit of "
                                f"{MAX_ARCHIVE_BYTES / 1e6:.1f} MB."
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
                raise DatasetError(
                    f"{info.filename}: cannot be unpacked — the archive is damaged ({exc})."
                ) from None
    return target


def load_zip(
    archive: str | Path,
    *,
    size: int = 64,
    n: int | None = None,
    num_classes: int | None = None,
    extract_to: str | Path | None = None,
) -> SegDataset:
    """Extract a .zip and load it as a folder.

    ``extract_to`` (empty or not yet existing) keeps the unpacked files; by default they go to
    a fresh temporary folder that is deleted again once the data is in memory.
    """
    archive = Path(archive)
    if extract_to is None:
        target = Path(tempfile.mkdtemp(prefix="seglab-upload-"))
        owned = True
    else:
        target = Path(extract_to)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise DatasetError(f"The extraction folder '{target}' must be empty (or not exist yet).")
        owned = False
    try:
        extract_zip(archive, target)
        dataset = load_folder(target, size=size, n=n, num_classes=num_classes, display_name=archive.name)
    finally:
        if owned:
            shutil.rmtree(target, ignore_errors=True)
    if dataset.name == target.name:
        dataset.name = archive.stem
    dataset.meta.update({"source": str(archive), "extracted_to": None if owned else str(target)})
    return dataset


def load_path(path: Path, *, size: int = 64, n: int | None = None, **params: Any) -> SegDataset:
    """A folder or .zip path → `SegDataset`; accepts ``num_classes=`` and (zips) ``extract_to=``."""
    allowed = {"num_classes", "extract_to"} if path.is_file() else {"num_classes"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(
            f"Loading '{path.name}' accepts only {', '.join(sorted(allowed))}, not {', '.join(unknown)}."
        )
    num_classes = params.get("num_classes")
    if path.is_dir():
        return load_folder(path, size=size, n=n, num_classes=num_classes)
    return load_zip(path, size=size, n=n, num_classes=num_classes, extract_to=params.get("extract_to"))
