"""classes.txt as editors really save it (`seglab.data.text_files`): encodings and name checks."""

from __future__ import annotations

import codecs
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seglab.data import make_dataset, validate_folder
from seglab.data.mask_rules import DatasetWarning
from seglab.data.text_files import TextFileError, class_names_from_text, decode_text, detect_encoding

NAMES = ["background", "road", "building"]
TEXT = "background\nroad\nbuilding\n"

# The bytes each editor setting writes, spelled out (not produced by the code under test).
ENCODED = {
    "utf-8": b"background\nroad\nbuilding\n",
    "utf-8 with BOM (Notepad)": b"\xef\xbb\xbfbackground\nroad\nbuilding\n",
    "utf-8 with BOM, CRLF": b"\xef\xbb\xbfbackground\r\nroad\r\nbuilding\r\n",
    "utf-16 LE with BOM (Notepad 'Unicode')": b"\xff\xfe" + TEXT.encode("utf-16-le"),
    "utf-16 BE with BOM": b"\xfe\xff" + TEXT.encode("utf-16-be"),
    "utf-16 LE without BOM": TEXT.encode("utf-16-le"),
    "utf-16 BE without BOM": TEXT.encode("utf-16-be"),
    "old Mac CR line ends": b"background\rroad\rbuilding",
}


def write_dataset(root: Path, classes: bytes | None) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(2):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / "images" / f"a{i}.png")
        mask = np.zeros((8, 8), np.uint8)
        mask[:3] = 1
        mask[5:] = 2
        Image.fromarray(mask).save(root / "masks" / f"a{i}.png")
    if classes is not None:
        (root / "classes.txt").write_bytes(classes)
    return root


@pytest.mark.parametrize("kind", sorted(ENCODED))
def test_every_editor_encoding_gives_the_three_names(tmp_path: Path, kind: str) -> None:
    root = write_dataset(tmp_path / "d", ENCODED[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatasetWarning)
        ds = make_dataset(str(root), size=8)
    assert ds.num_classes == 3 and list(ds.class_names) == NAMES


def test_detect_encoding_by_hand() -> None:
    assert detect_encoding(b"road") == "utf-8"
    assert detect_encoding("café".encode()) == "utf-8"
    assert detect_encoding(codecs.BOM_UTF16_LE + "a".encode("utf-16-le")) == "utf-16-le"
    assert detect_encoding(b"\x00a\x00b") == "utf-16-be"
    assert detect_encoding(b"a\x00b\x00") == "utf-16-le"
    assert detect_encoding(b"caf\xe9") is None  # Windows-1252 "café": refused, not guessed
    assert decode_text(codecs.BOM_UTF8 + "straße".encode(), "x") == "straße"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"caf\xe9\nroad\n", "cannot be read as text; save it as UTF-8"),
        (b"background\n\nroad\n", "line 2 is empty"),
        (b"\nbackground\nroad\n", "line 1 is empty"),
        ("back\u200bground\nroad\n".encode(), "line 1 holds invisible character(s) U+200B"),
        (b"background\nro\x00ad\n", "line 2 holds invisible character(s) U+0000"),
        ("background\n\ufeffroad\n".encode(), "line 2 holds invisible character(s) U+FEFF"),
        (b"road\nbackground\nroad\n", "line 3 repeats the name 'road' of line 1"),
    ],
)
def test_bad_classes_txt_is_refused_in_plain_words(tmp_path: Path, content: bytes, words: str) -> None:
    root = write_dataset(tmp_path / "d", content)
    problems = validate_folder(root)
    assert any(p.startswith("classes.txt: ") and words in p for p in problems), problems


def test_names_are_trimmed_and_trailing_blank_lines_ignored() -> None:
    assert class_names_from_text("  sky \t\n road\n\n \n") == ["sky", "road"]
    with pytest.raises(TextFileError, match="line 2 is empty"):
        class_names_from_text("sky\n \nroad")


def test_a_name_count_that_does_not_fit_is_said_not_silently_dropped(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d", b"background\nroad\nbuilding\n")
    with pytest.warns(
        DatasetWarning, match=r"classes\.txt names 3 class\(es\) but the dataset has 5 classes"
    ):
        ds = make_dataset(str(root), size=8, num_classes=5)
    assert ds.class_names == ["background", "class 1", "class 2", "class 3", "class 4"]
