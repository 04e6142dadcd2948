"""Segmentation architectures and the model registry.

``create_model(name, ...)`` builds one of ``list_models()``: SegNet, U-Net, strided U-Net,
U-Net++, FCN-8s and FPN. Every model is a `SegModel`: ``model(x)`` gives logits at the input
size, ``model(x, return_aux=True)`` adds auxiliary (deep-supervision) outputs.
Importing the architecture modules below registers them.
"""

import importlib

from seglab.models.base import ModelConfigError, ModelInputError, SegModel, WeightsError
from seglab.models.describe import ModelDescription, describe_model, load_weights, model_graph, save_weights
from seglab.models.encoders import ENCODERS, MobileNetV2Encoder, VGG16Encoder
from seglab.models.registry import (
    MODELS,
    ModelEntry,
    check_model_params,
    create_model,
    list_models,
    model_info,
)
from seglab.models.transfer import (
    TransferReport,
    freeze_encoder,
    init_from_file,
    init_from_state,
    load_encoder_weights,
)

#: architecture modules, imported in this order so ``list_models()`` lists them in it
ARCHITECTURE_MODULES = ("segnet", "unet", "unet_strided", "unetpp", "fcn", "fpn")
for _module in ARCHITECTURE_MODULES:
    importlib.import_module(f"seglab.models.{_module}")

__all__ = [
    "ENCODERS",
    "MODELS",
    "ModelConfigError",
    "ModelDescription",
    "ModelEntry",
    "MobileNetV2Encoder",
    "ModelInputError",
    "SegModel",
    "TransferReport",
    "VGG16Encoder",
    "WeightsError",
    "check_model_params",
    "create_model",
    "describe_model",
    "freeze_encoder",
    "init_from_file",
    "init_from_state",
    "list_models",
    "load_encoder_weights",
    "load_weights",
    "model_graph",
    "model_info",
    "save_weights",
]
