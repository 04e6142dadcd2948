"""Segmentation losses: a registry of ``SegLoss`` modules with their formulas.

``get_loss(name, **params)`` builds a loss; ``list_losses()`` names them; ``loss_info(name)``
gives the entry the app shows (title, LaTeX, explanation, parameter specs, flags). The
maths itself lives in :mod:`seglab.losses.functional`.
"""

from seglab.losses import functional
from seglab.losses.modules import SegLoss, fit_loss_to_training_set
from seglab.losses.registry import LOSSES, LossInfo, get_loss, list_losses, loss_info

__all__ = [
    "LOSSES",
    "LossInfo",
    "SegLoss",
    "fit_loss_to_training_set",
    "functional",
    "get_loss",
    "list_losses",
    "loss_info",
]
