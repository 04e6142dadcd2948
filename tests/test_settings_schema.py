"""The settings schema is the one source of defaults and bounds (issue 19)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from seglab.errors import ConfigError
from seglab.settings.config import TrainConfig
from seglab.settings.presets import PRESETS, preset_settings
from seglab.settings.schema import SETTINGS, TABLE_BEGIN, TABLE_END, settings_table_markdown

API = Path(__file__).resolve().parent.parent / "docs" / "API.md"


def test_every_config_field_has_exactly_one_declaration_and_takes_its_default():
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert set(fields) == set(SETTINGS)
    plain = TrainConfig()
    for name, s in SETTINGS.items():
        expected = {} if s.type is dict else s.default
        assert getattr(plain, name) == expected, name


def test_the_freeze_default_is_never():
    assert SETTINGS["freeze_encoder_epochs"].default == 0 and TrainConfig().freeze_encoder_epochs == 0


@pytest.mark.parametrize("name", [n for n, s in SETTINGS.items() if s.min is not None or s.max is not None])
def test_config_refuses_values_beyond_the_declared_bounds(name):
    s = SETTINGS[name]
    base = {"size": 256, "depth": 1} if name in ("size", "depth") else {}
    for bad in [
        v
        for v in ((s.min - 1) if s.min is not None else None, (s.max + 1) if s.max is not None else None)
        if v is not None
    ]:
        with pytest.raises(ConfigError, match=name):
            TrainConfig(**(base | {name: s.type(bad)}))


def test_presets_are_partial_settings_over_the_schema():
    for name, values in PRESETS.items():
        assert set(values) <= set(SETTINGS)
        full = preset_settings(name)
        assert full["epochs"] == values["epochs"]
        assert full["freeze_encoder_epochs"] == 0  # not named by the preset: the declared default


def test_docs_settings_table_is_up_to_date():
    text = API.read_text(encoding="utf-8")
    start, end = text.index(TABLE_BEGIN), text.index(TABLE_END) + len(TABLE_END)
    assert text[start:end] == settings_table_markdown(), (
        "docs/API.md's settings table is stale: paste seglab.settings.schema.settings_table_markdown()"
    )
