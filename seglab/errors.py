"""Errors a user can cause. Internal bugs raise ordinary Python exceptions and stay loud."""


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
