"""``TrainConfig.model_params``: validated against the model registry, passed to the model,
settable from the CLI (``--model-param``); old configs without the field still load."""

from __future__ import annotations

import argparse
import inspect

import pytest

from seglab.cli.main import build_parser, config_from_args, study_from_args
from seglab.errors import ConfigError
from seglab.models import list_models, model_info
from seglab.settings.config import TrainConfig
from seglab.settings.presets import preset
from seglab.training.engine import build_model


def test_registry_defaults_come_from_the_class_signature():
    for name in list_models():
        entry = model_info(name)
        signature = inspect.signature(entry.cls.__init__).parameters
        for spec in entry.params:
            assert spec.default == signature[spec.name].default, (name, spec.name)


@pytest.mark.parametrize(
    ("arch", "params", "words"),
    [
        ("fpn", {"merg": "sum"}, "no option 'merg'"),
        ("fpn", {"merge": "max"}, "one of 'sum', 'concat'"),
        ("fpn", {"inverted_residual": 1}, "one of True, False"),
        ("unetpp", {"prune_level": 0}, "at least 1"),
        ("unetpp", {"prune_level": 1.5}, "whole number"),
        ("unetpp", {"prune_level": "two"}, "a number"),
        ("unet", {"merge": "sum"}, "Its options: none"),
    ],
)
def test_bad_model_params_are_plain_config_errors(arch, params, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(arch=arch, model_params=params)


def test_model_params_reach_the_model():
    config = preset("smoke", arch="fpn", model_params={"merge": "concat"})
    assert build_model(config, 2).merge == "concat"
    assert build_model(config.replace(model_params={}), 2).merge == "sum"
    pruned = build_model(preset("smoke", arch="unetpp", depth=2, model_params={"prune_level": 1}), 3)
    assert pruned.prune_level == 1 and pruned.num_classes == 3


def test_old_configs_without_model_params_still_load():
    data = TrainConfig().to_dict()
    del data["model_params"]
    assert TrainConfig.from_dict(data).model_params == {}


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def test_cli_model_param_goes_to_each_study_architecture_that_has_it():
    config = config_from_args(
        _args("train", "--arch", "unetpp", "--model-param", "prune_level=2", "--depth", "3")
    )
    assert config.model_params == {"prune_level": 2}
    args = _args("study", "--archs", "unet,fpn,unetpp", "--model-param", "merge=concat", "--seeds", "0-1")
    study = study_from_args(args, config_from_args(args))
    assert [(c.arch, c.model_params, c.seed) for c in study.expand()] == [
        ("unet", {}, 0),
        ("unet", {}, 1),
        ("fpn", {"merge": "concat"}, 0),
        ("fpn", {"merge": "concat"}, 1),
        ("unetpp", {}, 0),
        ("unetpp", {}, 1),
    ]
    args = _args("study", "--archs", "unet,segnet", "--model-param", "merge=concat")
    with pytest.raises(ConfigError, match="no architecture of --archs has the option 'merge'"):
        study_from_args(args, config_from_args(args))
    with pytest.raises(ConfigError, match="no option"):
        config_from_args(_args("train", "--arch", "fpn", "--model-param", "prune_level=1"))


def test_cli_help_lists_the_registered_names_and_options():
    from seglab.data import list_datasets
    from seglab.losses import list_losses

    sub = build_parser()._subparsers._group_actions[0].choices["train"]  # noqa: SLF001
    text = sub.format_help()
    for name in [*list_models(), *list_losses(), *list_datasets()]:
        assert name in text, name
    assert "prune_level" in text and "merge" in text
