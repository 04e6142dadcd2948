"""Train-form widgets generated from the settings schema (`seglab.settings.schema`).

One widget per declaration: its label, help, bounds and step come from the declaration, its
starting value from the form's preset over the schema's defaults (never Streamlit's
``min_value``), and every widget is bound to the URL under the declaration's key, so a reload
or a shared link restores it and the URL holds only what differs from the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamlit as st

from seglab.settings.schema import Setting
from seglab.ui.common import URL

#: the largest whole number a browser number box holds exactly (2**53 - 1)
_JS_MAX_INT = 2**53 - 1


def widget_label(s: Setting) -> str:
    """'Image size (pixels)', 'Number of images (0 = all of the dataset)', 'Epochs': the unit
    and what 0 means share one pair of brackets, never one pair inside another."""
    notes = []
    if s.unit and s.unit not in s.label.lower():
        notes.append(s.unit)
    if s.optional and s.type is int:
        notes.append(f"0 = {s.none_label}")
    return f"{s.label} ({'; '.join(notes)})" if notes else s.label


def widget_value(s: Setting, value: Any) -> Any:
    """A setting's value as its widget holds it (None → 0 for an optional number, "" for text)."""
    if value is None and s.type is int:
        return 0
    if value is None and s.type is str:
        return ""
    return value


def config_value(s: Setting, value: Any) -> Any:
    """A widget's value as the config holds it (the inverse of `widget_value`)."""
    if s.optional and s.type is int and not value:
        return None
    if s.optional and s.type is str:
        return (str(value).strip() or None) if value is not None else None
    if s.type is int:
        return int(value)
    if s.type is float:
        return float(value)
    return value


def setting_widget(
    s: Setting,
    default: Any,
    *,
    options: Sequence[Any] | None = None,
    format_func: Callable[[Any], str] | None = None,
) -> Any:
    """Draw the widget of ``s`` starting at ``default`` (a config value); return the config value."""
    key, label, help_text = s.widget_key, widget_label(s), _help(s)
    start = widget_value(s, default)
    if options is not None or s.choices:
        choices = list(options if options is not None else s.choices or ())
        index = choices.index(start) if start in choices else 0
        kwargs = {"format_func": format_func} if format_func else {}
        value = st.selectbox(label, choices, index=index, key=key, help=help_text, bind=URL, **kwargs)
    elif s.type is bool:
        value = st.checkbox(label, value=bool(start), key=key, help=help_text, bind=URL)
    elif s.type is str:
        value = st.text_input(label, value=start, key=key, help=help_text, bind=URL)
    elif s.type is int:
        low = 0 if s.optional and (s.min or 0) > 0 else s.min
        value = st.number_input(
            label,
            min_value=None if low is None else max(int(low), -_JS_MAX_INT),
            max_value=None if s.max is None else min(int(s.max), _JS_MAX_INT),
            step=int(s.step or 1),
            value=int(start),
            key=key,
            help=help_text,
            bind=URL,
        )
    else:
        value = st.number_input(
            label,
            min_value=None if s.min is None else float(s.min),
            max_value=None if s.max is None else float(s.max),
            step=float(s.step or 0.01),
            value=float(start),
            format=s.number_format or "%g",
            key=key,
            help=help_text,
            bind=URL,
        )
    return config_value(s, value)


def settings_widgets(settings: Iterable[Setting], defaults: dict[str, Any]) -> dict[str, Any]:
    """One widget per setting, in order; returns {setting name: config value}."""
    return {s.name: setting_widget(s, defaults.get(s.name, s.default)) for s in settings}


def _help(s: Setting) -> str:
    text = s.help[0].upper() + s.help[1:] + "."
    if s.applies:
        text += f" Applies to {s.applies}."
    return text
