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
