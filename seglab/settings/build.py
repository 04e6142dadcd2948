"""`build_model`: the model a training config describes, for a dataset with a given class count.

Shared by the engine (to train) and the store (to reload saved weights), so neither has to
import the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seglab.data.registry import model_out_channels
from seglab.models.base import SegModel
from seglab.models.registry import create_model

if TYPE_CHECKING:
    from seglab.settings.config import TrainConfig


def build_model(config: TrainConfig, num_classes: int) -> SegModel:
    """The run's model for a dataset with ``num_classes`` classes (2 = binary): architecture,
    width, depth and the model's own options (``config.model_params``)."""
    return create_model(
        config.arch,
        in_channels=3,
        num_classes=model_out_channels(num_classes),
        width=config.width,
        depth=config.depth,
        **config.model_params,
    )
