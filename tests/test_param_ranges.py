"""Absurd dataset and loss parameters are refused before anything is allocated, with one plain
line, through one rule (`seglab.registry.check_param`) used by registries, configs and the CLI."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from seglab.cli.main import main as cli_main
from seglab.data import make_dataset
from seglab.data.registry import FOLDER_PARAMS, MAX_CLASSES, dataset_info, list_datasets
from seglab.errors import ConfigError, LossParameterError, SegLabError
from seglab.losses import get_loss, list_losses, loss_info
from seglab.registry import ParamSpec, check_param
from seglab.settings.config import TrainConfig

BAD_VALUES: list[Any] = [1e9, 10**12, "abc", [2], -1, float("nan"), float("inf"), True, False, {"a": 1}]


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(root / "images" / f"{i}.png")
        Image.fromarray((rng.random((16, 16)) > 0.5).astype(np.uint8)).save(root / "masks" / f"{i}.png")
    return root


# ---- the rule itself, against hand-written expectations ----------------------------------------
@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        (ParamSpec("k", 4, 1, 8, 1), 3, 3),
        (ParamSpec("k", 4, 1, 8, 1), 3.0, 3),  # a whole float is taken as the int it is
        (ParamSpec("x", 0.5, 0.0, 1.0), 1, 1),
        (ParamSpec("a", "auto", 0.0, 1.0), "auto", "auto"),
        (ParamSpec("a", "auto", 0.0, 1.0), [0.2, 0.8], [0.2, 0.8]),
        (ParamSpec("p", None), "some/path", "some/path"),
        (ParamSpec("n", None, 2, 256, 1), None, None),
        (ParamSpec("n", None, 2, 256, 1), 256, 256),
    ],
)
def test_check_param_accepts(spec: ParamSpec, value: Any, expected: Any) -> None:
    assert check_param(spec, value, "p") == expected


@pytest.mark.parametrize(
    ("spec", "value", "words"),
    [
        (ParamSpec("k", 4, 1, 8, 1), 3.5, "whole number"),
        (ParamSpec("k", 4, 1, 8, 1), 9, "between 1 and 8"),
        (ParamSpec("k", 4, 1, 8, 1), True, "must be a number"),
        (ParamSpec("x", 0.5, 0.0, 1.0), float("nan"), "finite"),
        (ParamSpec("x", 0.5, 0.0, 1.0), 10**400, "far too large"),
        (ParamSpec("x", 0.5, 0.0, 1.0), "0.5", "must be a number"),
        (ParamSpec("a", "auto", 0.0, 1.0), "manual", 'or "auto"'),
        (ParamSpec("a", "auto", 0.0, 1.0), [0.2, 2.0], "between 0 and 1"),
        (ParamSpec("a", "auto", 0.0, 1.0), [0.5] * 1000, "between 1 and 256 numbers"),
        (ParamSpec("p", None), 5, "must be text"),
        (ParamSpec("n", None, 2, None, 1), 1, "at least 2"),
    ],
)
def test_check_param_refuses_in_one_plain_line(spec: ParamSpec, value: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        check_param(spec, value, "parameter p")
    message = str(caught.value)
    assert "\n" not in message and len(message) < 200 and message.startswith("parameter p")


# ---- folder datasets: the issue's num_classes cases ----------------------------------------------
@pytest.mark.parametrize("value", [*BAD_VALUES, MAX_CLASSES + 1, 1, 2.5])
def test_folder_num_classes_is_checked_before_anything_is_built(tmp_path: Path, value: Any) -> None:
    root = _folder(tmp_path)
    with pytest.raises(ConfigError, match="num_classes") as caught:  # at once: no 1e9 class names
        make_dataset(root, size=16, num_classes=value)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="num_classes"):
        TrainConfig(dataset=str(root), dataset_params={"num_classes": value})
    assert make_dataset(root, size=16, num_classes=2).num_classes == 2


def test_folder_params_are_the_registered_specs() -> None:
    assert [s.name for s in FOLDER_PARAMS] == ["num_classes", "extract_to"]
    assert FOLDER_PARAMS[0].max == MAX_CLASSES == 256


@pytest.mark.parametrize("text", ["1e9", "abc", "[2]", "-3", "NaN", "true"])
def test_cli_refuses_absurd_num_classes_in_one_line(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], seglab_home: Path
) -> None:
    root = _folder(tmp_path)
    argv = ["train", "--dataset", str(root), "--dataset-param", f"num_classes={text}", "--epochs", "1"]
    assert cli_main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "num_classes" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert list(seglab_home.iterdir()) == []  # no run was created


# ---- procedural datasets and losses: every registered ParamSpec -----------------------------------
@pytest.mark.parametrize("name", list_datasets())
@pytest.mark.parametrize("value", BAD_VALUES)
def test_every_dataset_param_refuses_bad_values(name: str, value: Any) -> None:
    for spec in dataset_info(name).params:
        with pytest.raises(ConfigError, match=repr(spec.name)):
            TrainConfig(dataset=name, dataset_params={spec.name: value})
        with pytest.raises(ConfigError):
            make_dataset(name, size=16, n=2, **{spec.name: value})


@pytest.mark.parametrize("name", list_losses())
@pytest.mark.parametrize("value", BAD_VALUES)
def test_every_loss_param_refuses_bad_values(name: str, value: Any) -> None:
    for spec in loss_info(name).params:
        if isinstance(spec.default, str) and isinstance(value, list) and all(0 <= v <= 1 for v in value):
            continue  # a list of weights in range is valid for focal's alpha
        with pytest.raises(LossParameterError, match=repr(spec.name)):
            get_loss(name, **{spec.name: value})
        with pytest.raises(ConfigError, match=repr(spec.name)):
            TrainConfig(loss=name, loss_params={spec.name: value})


@pytest.mark.parametrize("name", list_losses())
def test_every_loss_accepts_its_defaults_and_range_ends(name: str) -> None:
    for spec in loss_info(name).params:
        for value in (spec.default, spec.min, spec.max):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            get_loss(name, **{spec.name: value})
            TrainConfig(loss=name, loss_params={spec.name: value})


def test_dataset_seed_param_is_checked() -> None:
    TrainConfig(dataset_params={"seed": 3})
    for bad in (-1, 1.5, "x", True, 2**64):
        with pytest.raises(SegLabError, match="seed"):
            TrainConfig(dataset_params={"seed": bad})
