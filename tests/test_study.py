"""`seglab.settings.study`: one Study (expand, params per loss / model, seeds) used by queue, CLI and page."""

from __future__ import annotations

import pytest

from seglab.errors import ConfigError
from seglab.jobs import JobQueue
from seglab.settings.config import TrainConfig
from seglab.settings.presets import preset
from seglab.settings.study import Study, parse_seeds


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("0", [0]), ("0, 1, 2", [0, 1, 2]), ("0-4", [0, 1, 2, 3, 4]), ("0-2,5", [0, 1, 2, 5]), ("1,1", [1])],
)
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "-1", "5-2", "0-500", "1.5"])
def test_parse_seeds_rejects_in_plain_words(text):
    with pytest.raises(ConfigError, match="seed"):
        parse_seeds(text)


def test_expand_crosses_axes_with_seeds_innermost_and_params_per_loss():
    base = preset("smoke", loss="dice", loss_params={"smooth": 2.0})
    study = Study(
        base,
        {"arch": ["unet", "segnet"], "loss": ["dice", "focal", "bce"]},
        loss_params={"focal": {"gamma": 3.0}},
        seeds=[0, 1],
    )
    configs = study.expand()
    assert len(configs) == study.n_runs == 2 * 3 * 2
    assert [(c.arch, c.loss, c.seed) for c in configs[:3]] == [
        ("unet", "dice", 0),
        ("unet", "dice", 1),
        ("unet", "focal", 0),
    ]
    by_loss = {c.loss: c.loss_params for c in configs}
    # the base loss keeps the base parameters, a listed loss gets its own, others their defaults
    assert by_loss == {"dice": {"smooth": 2.0}, "focal": {"gamma": 3.0}, "bce": {}}
    assert all(c.epochs == base.epochs and c.size == base.size for c in configs)
    assert study.varied_fields() == ["arch", "loss", "seed"]


def test_model_params_go_to_their_architecture_only():
    study = Study(preset("smoke"), {"arch": ["unet", "fpn"]}, model_params={"fpn": {"merge": "concat"}})
    params = {c.arch: c.model_params for c in study.expand()}
    assert params == {"unet": {}, "fpn": {"merge": "concat"}}
    assert study.varied_fields() == ["arch"]  # one seed: the seed does not vary


def test_any_config_field_can_vary_and_seed_axis_moves_to_seeds():
    study = Study(preset("smoke"), {"width": [4, 8], "seed": [3, 4]})
    assert study.seeds == [3, 4] and "seed" not in study.axes
    assert sorted((c.width, c.seed) for c in study.expand()) == [(4, 3), (4, 4), (8, 3), (8, 4)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"axes": {"no_such_field": [1]}},
        {"axes": {"arch": []}},
        {"axes": {"arch": "unet"}},
        {"seeds": [-1]},
        {"loss_params": {"focal": 3}},
    ],
)
def test_bad_studies_raise_config_errors(kwargs):
    with pytest.raises(ConfigError):
        Study(preset("smoke"), **kwargs)


def test_a_bad_value_is_caught_before_anything_is_queued(seglab_home):
    study = Study(preset("smoke"), {"width": [4, -1]})
    with JobQueue(seglab_home) as q, pytest.raises(ConfigError, match="width"):
        q.enqueue_study(study)
    with JobQueue(seglab_home) as q:
        assert q.jobs() == []


def test_dict_round_trip_and_the_queue_stores_the_study(seglab_home):
    study = Study(
        preset("smoke"),
        {"loss": ["bce", "focal"], "arch": ["unet"]},
        loss_params={"focal": {"gamma": 1.0}},
        seeds=[0, 2],
        name="mine",
        model_params={"unet": {}},
    )
    assert Study.from_dict(study.to_dict()) == study
    with JobQueue(seglab_home) as q:
        group = q.enqueue_study(study)
        stored = q.group_study(group)
        assert q.group_study("no-such-group") is None
        assert [g.name for g in q.groups()] == ["mine"]
        jobs = q.jobs(group=group)
    assert stored == study
    assert [j.config for j in jobs] == study.expand()
    assert all(isinstance(c, TrainConfig) for c in stored.expand())
