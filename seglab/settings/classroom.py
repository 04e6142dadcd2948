"""Classroom roles: who may do what when one server is shared by a class.

A teacher switches classroom mode on by giving the server a passphrase
(``$SEGLAB_TEACHER_PASSPHRASE``, or ``teacher_passphrase`` in ``.streamlit/secrets.toml``; the UI
reads the latter). Without it SegLab is a one-person lab and everybody is ``local``, with every
power, exactly as before. In classroom mode a browser is a ``student`` until it unlocks with the
passphrase and becomes the ``teacher``.

The policy is one table, :data:`ROLE_PERMISSIONS`; the library enforces it where each action
happens (the queue's ``enqueue``/``cancel``, the store's ``delete_run``/``import_runs``, the
reference study's delete), each taking an :class:`Actor`. Pages only hide what would be refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from seglab.errors import SegLabError
from seglab.paths import UPLOADS_FOLDER

PASSPHRASE_ENV = "SEGLAB_TEACHER_PASSPHRASE"
MAX_NAME_LENGTH = 40


class Permission(StrEnum):
    """Actions a student may not take in classroom mode."""

    DELETE = "delete runs, uploads or the reference study"
    CANCEL_OTHERS = "cancel or resume other people's jobs"
    IMPORT = "import runs"
    CHANGE_LIMITS = "change the class limits"
    CHANGE_PASSPHRASE = "change the teacher passphrase"
    SERVER_PATHS = "read folders or files on the server by typing their path"


class Role(StrEnum):
    LOCAL = "local"  # no classroom mode: one person on a laptop
    TEACHER = "teacher"
    STUDENT = "student"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.LOCAL: frozenset(Permission),
    Role.TEACHER: frozenset(Permission),
    Role.STUDENT: frozenset(),
}


class NotAllowedError(SegLabError):
    """A student asked for something only the teacher may do."""


@dataclass(frozen=True)
class Actor:
    """Who is asking: a role and the name their jobs and runs are kept under ('' = nobody)."""

    name: str = ""
    role: Role = Role.LOCAL

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def limited(self) -> bool:
        """True when the class limits apply to this actor (students only)."""
        return self.role == Role.STUDENT


LOCAL = Actor()


def require(actor: Actor | None, permission: Permission) -> None:
    """Raise :class:`NotAllowedError` (plain words) unless ``actor`` may take ``permission``.
    ``None`` means a caller outside any classroom session (the CLI, a script): allowed."""
    if actor is None or actor.can(permission):
        return
    raise NotAllowedError(f"in classroom mode only the teacher may {permission.value}.")


def clean_owner_name(text: str) -> str:
    """A student's typed name as it is stored on jobs: printable, single spaces, at most
    :data:`MAX_NAME_LENGTH` characters ('' when nothing usable is left)."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LNPSZ")
    return re.sub(r"\s+", " ", text).strip()[:MAX_NAME_LENGTH].strip()


def env_passphrase() -> str | None:
    """The teacher passphrase from the environment (None: not set, classroom mode off)."""
    value = os.environ.get(PASSPHRASE_ENV, "").strip()
    return value or None


def passphrase_matches(typed: str, passphrase: str) -> bool:
    """Constant-time comparison of a typed passphrase with the configured one (of their SHA-256
    digests, so not even the length of the passphrase shows in the time it takes)."""
    digest = hashlib.sha256
    return hmac.compare_digest(
        digest(str(typed).strip().encode()).digest(), digest(passphrase.encode()).digest()
    )


def is_server_path(dataset: str, registered: set[str] | frozenset[str], home: Path) -> bool:
    """True when ``dataset`` names a file or folder on the server that is neither a registered
    dataset nor an upload kept in ``home/datasets`` (the only paths a student may use)."""
    if dataset in registered:
        return False
    try:
        resolved = Path(dataset).expanduser().resolve()
        uploads = (home / UPLOADS_FOLDER).resolve()
    except (OSError, RuntimeError, ValueError):
        return True
    return not resolved.is_relative_to(uploads)


def require_dataset(
    actor: Actor | None, dataset: str, registered: set[str] | frozenset[str], home: Path
) -> None:
    """Refuse a typed server path for an actor without :attr:`Permission.SERVER_PATHS`."""
    if (
        actor is not None
        and not actor.can(Permission.SERVER_PATHS)
        and is_server_path(dataset, registered, home)
    ):
        raise NotAllowedError(
            "in classroom mode you can train on the built-in datasets and on uploaded ones; "
            "only the teacher may use a path on the server."
        )
