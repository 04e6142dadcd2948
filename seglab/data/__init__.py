"""Datasets: procedural generators, folder/zip loading, splitting and paired augmentation.

Public API (see docs/API.md): `make_dataset`, `list_datasets`, `dataset_info`, `SegDataset`,
`split_indices`, `kfold_indices`, `tune_pool`, `augment_batch`, plus `validate_folder` to check an upload before loading.
Importing this package registers the procedural datasets ``shapes``, ``aerial`` and ``cells``.
"""

from seglab.data.augment import augment_batch
from seglab.data.dataset import SegDataset, split_indices
from seglab.data.folder import extract_zip, load_folder, validate_folder
from seglab.data.folds import fold_splits, kfold_indices, tune_pool
from seglab.data.registry import DatasetInfo, dataset_info, list_datasets, make_dataset, model_out_channels

# Importing the generator modules registers them, in this order (shown in this order in the UI).
from seglab.data import shapes  # isort: skip  # noqa: F401, E402
from seglab.data import aerial  # isort: skip  # noqa: F401, E402
from seglab.data import cells  # isort: skip  # noqa: F401, E402

__all__ = [
    "DatasetInfo",
    "SegDataset",
    "augment_batch",
    "dataset_info",
    "extract_zip",
    "kfold_indices",
    "list_datasets",
    "load_folder",
    "make_dataset",
    "model_out_channels",
    "split_indices",
    "tune_pool",
    "fold_splits",
    "validate_folder",
]
