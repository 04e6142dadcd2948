"""Small text files users bring (``classes.txt``, a ``--config`` JSON file, the class limits a
teacher edits by hand), read whatever editor saved them: the one reading road for them all.

Encodings, decided from the bytes, never from the system's locale:

* a byte-order mark (BOM) says it: UTF-8 (``EF BB BF``, Windows Notepad's "UTF-8 with BOM"),
  UTF-16 LE (``FF FE``, Notepad's "Unicode") or UTF-16 BE (``FE FF``); the mark is dropped;
* without a mark, text with NUL bytes in every second place is UTF-16 without a mark (NULs
  in the odd places: little-endian, in the even places: big-endian);
* anything else must be UTF-8 (plain ASCII is UTF-8 too); other bytes are refused in plain
  words rather than guessed (a wrong guess would silently rename classes).

Class names (`class_names_from_text`): one per line in class-id order; spaces around a name
are dropped, blank lines at the end are ignored. Refused, with the line number: an empty
line before the last name (it would shift every later class id), a name holding invisible
control or format characters (NUL, a stray BOM, zero-width spaces …), the same name twice.
"""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

from seglab.errors import DatasetError

#: (mark, codec) in the order they are tried; UTF-32 marks start like UTF-16 ones but are not
#: written by the editors people use, so they are not accepted
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
#: a classes.txt (or a settings file) larger than this is not what it claims to be
MAX_TEXT_BYTES = 1 << 20
#: Unicode categories that never belong in a name: control (Cc), format (Cf: BOM, zero-width
#: characters), unassigned (Cn), private use (Co), surrogates (Cs), line/paragraph separators
BAD_CATEGORIES = ("Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp")


class TextFileError(DatasetError):
    """A text file cannot be read or its content breaks the rules; the message names the file."""


def detect_encoding(data: bytes) -> str | None:
    """The codec to decode ``data`` with (module doc), or None when it is not text we read.

    >>> detect_encoding(codecs.BOM_UTF8 + b"road"), detect_encoding("ab".encode("utf-16-be"))
    ('utf-8', 'utf-16-be')
    """
    for mark, codec in BOMS:
        if data.startswith(mark):
            return codec
    if b"\x00" in data and len(data) % 2 == 0:
        if not any(data[1::2]):
            return "utf-16-le"
        if not any(data[0::2]):
            return "utf-16-be"
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def decode_text(data: bytes, name: str) -> str:
    """``data`` as text, by `detect_encoding` (the byte-order mark dropped); `TextFileError` if unreadable."""
    codec = detect_encoding(data)
    if codec is None:
        raise TextFileError(
            f"{name}: cannot be read as text; save it as UTF-8 (in Notepad: Save as → Encoding → UTF-8)."
        )
    for mark, bom_codec in BOMS:
        if bom_codec == codec and data.startswith(mark):
            data = data[len(mark) :]
            break
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        raise TextFileError(
            f"{name}: is not valid {codec.upper()} text; save it as UTF-8 (in Notepad: Save as → "
            "Encoding → UTF-8)."
        ) from None


def read_text_file(path: str | Path, name: str | None = None, *, what: str = "a list of names") -> str:
    """A small user text file as text (see `decode_text`); ``name`` names it in messages,
    ``what`` says what the file should hold (for the message about a file far too large)."""
    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise TextFileError(f"{name}: {size / 1e6:.1f} MB is far too large for {what}.")
        data = path.read_bytes()
    except OSError as exc:
        raise TextFileError(f"{name}: cannot be read ({exc.strerror or exc}).") from None
    return decode_text(data, name)


def _invisible(name: str) -> list[str]:
    """The characters of ``name`` that are control/format/unassigned characters, as U+XXXX."""
    return [f"U+{ord(ch):04X}" for ch in name if unicodedata.category(ch) in BAD_CATEGORIES]


def class_names_from_text(text: str, name: str = "classes.txt") -> list[str]:
    """One class name per line, in class-id order (module doc); `TextFileError` lists every problem."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line:
            problems.append(f"line {number} is empty (every line names the class with the next id)")
            continue
        bad = _invisible(line)
        if bad:
            problems.append(
                f"line {number} holds invisible character(s) {', '.join(dict.fromkeys(bad))}; retype the name"
            )
        elif line in seen:
            problems.append(f"line {number} repeats the name {line!r} of line {seen[line]}")
        else:
            seen[line] = number
    if problems:
        raise TextFileError(f"{name}: " + "; ".join(problems) + ".")
    return lines


def read_class_names(path: str | Path, name: str = "classes.txt") -> list[str]:
    """`read_text_file` then `class_names_from_text`: the class names a ``classes.txt`` gives."""
    return class_names_from_text(read_text_file(path, name), name)
