"""Errors a user can cause, and ``InternalError`` for broken internal contracts.

User errors derive from ``SegLabError`` and are shown as one plain sentence. Internal bugs raise
ordinary Python exceptions or ``InternalError`` (NOT a ``SegLabError``), so they keep their
traceback and are reported as bugs rather than as something the user did wrong.
"""


class InternalError(RuntimeError):
    """A contract inside SegLab was broken (e.g. a model's output shape or dtype does not match
    what a loss expects). This is a bug in SegLab or in a plugged-in model, not a user mistake."""


class SegLabError(Exception):
    """Base class for every problem the user can fix (bad file, bad parameter, bad config)."""


class DatasetError(SegLabError):
    """A dataset folder, archive or file cannot be used; the message names each bad file."""


class ConfigError(SegLabError):
    """A training configuration has unknown keys, wrong types or impossible values."""


class LossParameterError(SegLabError):
    """A loss received parameters or inputs it cannot work with."""


class UnknownNameError(SegLabError):
    """A registry was asked for a name it does not hold; the message lists the valid names."""


class DiskFullError(SegLabError):
    """The disk holding SegLab's files is full: nothing the user typed is wrong, space must be freed."""


_DISK_FULL_TEXTS = ("disk is full", "no space left", "file write failed", "unexpected pos")


def is_disk_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it was raised from) says the disk is full: ``OSError``
    ENOSPC/EDQUOT, SQLite's "database or disk is full", or torch's failed checkpoint write."""
    import errno

    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, (OSError, RuntimeError, DiskFullError)) or type(exc).__module__ == "sqlite3":
            text = str(exc).lower()
            if isinstance(exc, DiskFullError) or any(t in text for t in _DISK_FULL_TEXTS):
                return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def disk_full_message(where: object) -> str:
    """The one plain sentence for a full disk."""
    return f"the disk holding {where} is full; free some space (delete old runs or uploads), then try again."
