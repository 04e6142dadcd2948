"""The teacher passphrase: where it comes from, how a changed one is kept, how a typed one is checked.

The *initial* passphrase is the one the server was started with: ``$SEGLAB_TEACHER_PASSPHRASE``,
else ``teacher_passphrase`` in ``.streamlit/secrets.toml`` (re-read whenever that file changes,
see :class:`SecretFileValue`). Its presence is what switches classroom mode on.

Once unlocked, the teacher may set a new passphrase (:func:`save_passphrase`). Only a salted
scrypt hash of it is stored, in ``$SEGLAB_HOME/classroom_passphrase.json`` (written atomically),
and it takes effect at once for every new unlock. The file also keeps a hash of the initial
passphrase it replaced: if the server is later started with a *different* initial passphrase,
that one wins and the file is ignored (so a teacher who forgot the changed passphrase restarts
with a new one, or deletes the file). A damaged file is ignored too (the initial one works).

Typed passphrases are compared in constant time (`hmac.compare_digest`, on hashes of equal
length when the stored one is used).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tomllib

from seglab.paths import atomic_write_text
from seglab.settings.classroom import Actor, Permission, passphrase_matches, require

PASSPHRASE_FILE = "classroom_passphrase.json"
MIN_LENGTH = 8
MAX_LENGTH = 200
# scrypt's cost: 16 MB and ~60 ms per hash on the 2-core development machine; unlock tries are
# few (and throttled: `seglab.settings.unlock_throttle`), so this costs the server little.
SCRYPT_N, SCRYPT_R, SCRYPT_P, DKLEN = 2**14, 8, 1, 32
SCRYPT_MAX_MEMORY = 16 * 1024**2  # scrypt needs 128·n·r bytes; more is a hand edit (OpenSSL allows 32 MB)


class PassphraseError(ValueError):
    """A new passphrase that cannot be used (too short, the two copies differ, …)."""


def _hash(text: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    return hashlib.scrypt(text.strip().encode(), salt=salt, n=n, r=r, p=p, dklen=DKLEN)


@dataclass(frozen=True)
class StoredPassphrase:
    """The changed passphrase as kept on disk: scrypt parameters, salt and hashes (no plain text)."""

    salt: bytes
    digest: bytes  # scrypt(new passphrase)
    replaces: bytes  # scrypt(the initial passphrase in force when it was set)
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def matches(self, typed: str) -> bool:
        return hmac.compare_digest(_hash(typed, self.salt, self.n, self.r, self.p), self.digest)

    def replaced(self, initial: str) -> bool:
        """True while ``initial`` is still the passphrase this one replaced."""
        return hmac.compare_digest(_hash(initial, self.salt, self.n, self.r, self.p), self.replaces)


def load_stored(home: str | os.PathLike[str]) -> StoredPassphrase | None:
    """The changed passphrase of ``home`` (None when there is none or the file is damaged)."""
    try:
        data = json.loads((Path(home) / PASSPHRASE_FILE).read_text(encoding="utf-8"))
        n, r, p = int(data["n"]), int(data["r"]), int(data["p"])
        if not (n >= 2 and n & (n - 1) == 0 and r >= 1 and 1 <= p <= 4 and 128 * n * r <= SCRYPT_MAX_MEMORY):
            return None  # absurd costs (a hand edit): ignore rather than hang the server
        return StoredPassphrase(
            bytes.fromhex(data["salt"]), bytes.fromhex(data["hash"]), bytes.fromhex(data["replaces"]), n, r, p
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_passphrase(home: str | os.PathLike[str], typed: str, initial: str) -> bool:
    """True when ``typed`` is the passphrase in force: the changed one kept in ``home`` while it
    still replaces ``initial``, else ``initial`` itself."""
    stored = load_stored(home)
    if stored is not None:
        try:
            if _still_replaces(stored, initial):
                return stored.matches(typed)
        except ValueError:  # scrypt refused the file's parameters: as if damaged
            pass
    return passphrase_matches(typed, initial)


_replaced_cache: dict[tuple[bytes, bytes, str], bool] = {}


def _still_replaces(stored: StoredPassphrase, initial: str) -> bool:
    """`StoredPassphrase.replaced`, remembered per (file, initial) so a try costs one hash."""
    key = (stored.salt, stored.replaces, initial)
    if key not in _replaced_cache:
        if len(_replaced_cache) > 16:
            _replaced_cache.clear()
        _replaced_cache[key] = stored.replaced(initial)
    return _replaced_cache[key]


def save_passphrase(
    home: str | os.PathLike[str], new: str, repeated: str, initial: str, actor: Actor | None
) -> None:
    """Keep ``new`` (hashed) as the teacher passphrase from now on (teacher only); raises
    `PassphraseError` in plain words when it cannot be used."""
    require(actor, Permission.CHANGE_PASSPHRASE)
    new, repeated = str(new).strip(), str(repeated).strip()
    if new != repeated:
        raise PassphraseError("the two copies of the new passphrase differ.")
    if len(new) < MIN_LENGTH:
        raise PassphraseError(f"use at least {MIN_LENGTH} characters (a few words are easy to remember).")
    if len(new) > MAX_LENGTH:
        raise PassphraseError(f"use at most {MAX_LENGTH} characters.")
    salt = secrets.token_bytes(16)
    record = {
        "scheme": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": salt.hex(),
        "hash": _hash(new, salt).hex(),
        "replaces": _hash(initial, salt).hex(),
        "changed": time.time(),
    }
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    atomic_write_text(home / PASSPHRASE_FILE, json.dumps(record, indent=1), mode=0o600)


class SecretFileValue:
    """One top-level value of the secrets files (later files override earlier ones, as
    Streamlit reads them), re-read whenever one of the files changes: each look is a ``stat``
    of each file (microseconds), the TOML is parsed again only when a file's size, time or
    inode changed. A damaged file counts as not setting the value; folders of secrets (which
    Streamlit also accepts) are not read."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._value: str | None = None

    def get(self, paths: Sequence[str | os.PathLike[str]]) -> str | None:
        signature = tuple(_file_signature(Path(p)) for p in paths)
        with self._lock:
            if signature != self._signature:
                self._value = self._read(paths)
                self._signature = signature
            return self._value

    def _read(self, paths: Sequence[str | os.PathLike[str]]) -> str | None:
        value: str | None = None
        for path in paths:
            try:
                data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError):  # absent, a folder, unreadable or not TOML
                continue
            if self.key in data:
                value = str(data[self.key]).strip() or None
        return value


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)
