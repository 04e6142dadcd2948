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


# ---- generated words read plainly: no brackets inside brackets, no doubled spaces ---------------
def _bracket_faults(text: str) -> list[str]:
    """What is wrong with the brackets of ``text``: one pair inside another, or unbalanced."""
    depth, faults = 0, []
    for position, char in enumerate(text):
        if char in "([{":
            depth += 1
            if depth > 1:
                faults.append(f"nested bracket at {position}")
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                faults.append(f"unopened bracket at {position}")
    return faults + (["unclosed bracket"] if depth > 0 else [])


def _cli_option_helps() -> list[tuple[str, str]]:
    """(``command option``, help) of every option of every CLI command."""
    import argparse

    from seglab.cli.main import build_parser

    found: list[tuple[str, str]] = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for command, sub in action.choices.items():
                    walk(sub, command)
                found.extend((f"{name} {c.dest}", c.help or "") for c in action._choices_actions)
            elif action.help and action.help != argparse.SUPPRESS:
                found.append((f"{name} {'/'.join(action.option_strings) or action.dest}", action.help))

    walk(build_parser(), "seglab")
    return found


def test_bracket_checker_sees_the_old_label():  # the checker itself can fail
    assert _bracket_faults("Number of images (0 = all of the dataset (its default))")
    assert not _bracket_faults("Number of images (0 = all of the dataset)")


def test_generated_labels_and_help_have_no_nested_brackets_or_doubled_spaces():
    from seglab.ui.settings_form import _help, widget_label

    texts = [(f"{n} label", widget_label(s)) for n, s in SETTINGS.items()]
    texts += [(f"{n} help", _help(s)) for n, s in SETTINGS.items()]
    texts += [(f"{n} default", s.default_text()) for n, s in SETTINGS.items()]
    texts += _cli_option_helps()
    assert len(texts) > 3 * len(SETTINGS)
    faults = [
        f"{where}: {text!r} ({', '.join(_bracket_faults(text) + (['doubled space'] if '  ' in text else []))})"
        for where, text in texts
        if _bracket_faults(text) or "  " in text
    ]
    assert not faults, "\n".join(faults)


def test_an_optional_number_says_what_zero_means_in_its_label():
    from seglab.ui.settings_form import widget_label

    assert widget_label(SETTINGS["n"]) == "Number of images (0 = all of the dataset)"
