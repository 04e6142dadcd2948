"""Range checks of a config's dataset and loss parameters, before anything is allocated.

`TrainConfig.validate` calls `check_config_params` whenever a config carries
``dataset_params`` or ``loss_params``, so the CLI, the job queue, stored runs and the pages
all refuse ``num_classes=1e9``, ``"abc"``, ``[2]``, negative numbers, NaN or ``true`` with
the same one-line message. The rule itself is `seglab.registry.check_param`, applied to the
`ParamSpec`s of the dataset registry (`FOLDER_PARAMS` for folders and zips) and of the
loss registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seglab.errors import ConfigError, SegLabError

if TYPE_CHECKING:
    from seglab.settings.config import TrainConfig

MAX_SEED = 2**63 - 1


def check_config_params(config: TrainConfig) -> None:
    """Raise ConfigError (one plain sentence) for any dataset or loss parameter of ``config``
    with an unknown name, a wrong type or a value outside its range."""
    try:
        if config.dataset_params:
            _check_dataset_params(config.dataset, dict(config.dataset_params))
        if config.loss_params:
            from seglab.losses.registry import LOSSES, check_loss_params

            if config.loss in LOSSES:  # an unknown loss name is reported by its own check
                check_loss_params(config.loss, config.loss_params)
    except ConfigError:
        raise
    except SegLabError as exc:
        raise ConfigError(str(exc)) from None


def _check_dataset_params(dataset: str, params: dict) -> None:
    from seglab.data.registry import DATASETS, check_folder_params, check_params, dataset_info

    seed = params.pop("seed", None)
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise ConfigError(
            f"Dataset parameter 'seed' must be a whole number from 0 to 2**63 - 1, got {seed!r}."
        )
    if dataset in DATASETS:
        check_params(dataset_info(dataset), params)
    else:
        check_folder_params(params, is_zip=str(dataset).lower().endswith(".zip"))
