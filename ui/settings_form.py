"""The form generator: one widget per declared setting (rnnviz's `setting(...)` fields), its label, help, limits,
step, format and choices read from the Setting, so a form never restates a limit.

A form's widgets are keyed `<prefix>.<field>`; their values outlive a page switch through the session's saved
settings (`seed` puts them back when Streamlit dropped the widgets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import streamlit as st

from rnnviz.config import Setting


def key(prefix: str, name: str) -> str:
    """The widget key of field `name` in the form whose keys start with `prefix`."""
    return f"{prefix}.{name}"


def widget_value(spec: Setting, default: Any, value: Any) -> Any:
    """A config value as its widget holds it: a `zero_means` 0 is the empty box, floats stay floats."""
    if spec.zero_means:
        return int(value) or None
    if isinstance(default, tuple):
        return list(value)
    return float(value) if isinstance(default, float) else value


def config_value(spec: Setting, value: Any) -> Any:
    """A widget's value as the config holds it: the empty `zero_means` box is 0, a multiple choice a tuple."""
    if spec.zero_means:
        return int(value or 0)
    return tuple(value or ()) if isinstance(value, list) else value


def widget(spec: Setting, default: Any, widget_key: str, where=None, format_func: Callable[[Any], str] = str) -> Any:
    """The widget of one setting, as its Setting describes it: a selectbox for choices, a checkbox for a bool,
    a number input within the setting's limits; a tuple setting picks several: pills of its choices, or a
    multiselect of the numbers within its limits, `step` apart."""
    where = where if where is not None else st
    if isinstance(default, tuple):
        if spec.choices is not None:
            return where.pills(spec.label, spec.choices, selection_mode="multi", format_func=format_func,
                               help=spec.help, key=widget_key)
        low, high = spec.limits
        options = list(range(int(low), int(high) + 1, int(spec.step or 1)))
        return where.multiselect(spec.label, options, format_func=format_func, help=spec.help, key=widget_key)
    if spec.choices is not None:
        return where.selectbox(spec.label, spec.choices, format_func=format_func, help=spec.help, key=widget_key)
    if isinstance(default, bool):
        return where.checkbox(spec.label, help=spec.help, key=widget_key)
    low, high = spec.limits
    number = float if isinstance(default, float) else int
    options: dict[str, Any] = {"step": number(spec.step)} if spec.step else {}
    if spec.format:
        options["format"] = spec.format
    if spec.zero_means:
        low, options["placeholder"] = max(low, 1), spec.zero_means
    return where.number_input(spec.label, min_value=number(low), max_value=number(high), help=spec.help,
                              key=widget_key, **options)


def values(settings: Mapping[str, Setting], defaults: Any, saved: Mapping[str, Any], prefix: str,
           names: Iterable[str]) -> dict[str, Any]:
    """The form's values as config values; fields without a widget this run keep their saved value."""
    out = {}
    for name in names:
        widget_key = key(prefix, name)
        if widget_key in st.session_state:
            out[name] = st.session_state[widget_key]
        else:
            out[name] = widget_value(settings[name], getattr(defaults, name), saved[name])
        out[name] = config_value(settings[name], out[name])
    return out


def seed(settings: Mapping[str, Setting], defaults: Any, saved: Mapping[str, Any], prefix: str,
         names: Iterable[str]) -> None:
    """Widgets that Streamlit dropped (page switch, presenter mode) start again from the saved settings."""
    for name in names:
        widget_key = key(prefix, name)
        if widget_key not in st.session_state:
            st.session_state[widget_key] = widget_value(settings[name], getattr(defaults, name), saved[name])
