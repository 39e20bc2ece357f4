"""The form generator (ui/settings_form.py) through AppTest: each declared setting becomes a widget with the
Setting's label, limits and choices, and the form's values come back as config values."""

from __future__ import annotations

from dataclasses import fields

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.config import SETTINGS, TrainConfig
from tests.helpers import APPTEST_TIMEOUT as TIMEOUT


def every_train_setting() -> None:
    """A form with one widget per TrainConfig field, keyed form.<field>; the values shown as JSON."""
    import streamlit as st

    from rnnviz.config import SETTINGS, TrainConfig
    from ui import settings_form

    defaults = TrainConfig()
    settings_form.seed(SETTINGS, defaults, defaults.to_dict(), "form", SETTINGS)
    for name, spec in SETTINGS.items():
        settings_form.widget(spec, getattr(defaults, name), settings_form.key("form", name))
    st.json(settings_form.values(SETTINGS, defaults, defaults.to_dict(), "form", SETTINGS))


@pytest.fixture
def form() -> AppTest:
    at = AppTest.from_function(every_train_setting, default_timeout=TIMEOUT).run()
    assert not at.exception
    return at


def widget_of(at: AppTest, name: str):
    key = f"form.{name}"
    return next(w for kind in (at.number_input, at.selectbox, at.checkbox) for w in kind if w.key == key)


def test_every_setting_gets_a_widget_with_its_label_and_help(form):
    assert {f.name for f in fields(TrainConfig)} == {w.key.removeprefix("form.") for kind in
                                                      (form.number_input, form.selectbox, form.checkbox) for w in kind}
    for name, spec in SETTINGS.items():
        widget = widget_of(form, name)
        assert widget.label == spec.label and widget.help == spec.help


def test_number_widgets_carry_the_settings_limits_and_choices_their_options(form):
    for name, spec in SETTINGS.items():
        widget = widget_of(form, name)
        if spec.choices is not None:
            assert widget.options == [str(choice) for choice in spec.choices]
        elif spec.limits is not None:
            low, high = spec.limits
            assert widget.max == high
            assert widget.min == (max(low, 1) if spec.zero_means else low)


def test_values_come_back_as_the_configs_own_and_an_empty_zero_means_box_is_zero(form):
    assert form.json[0].value and TrainConfig.from_dict(eval_json(form)) == TrainConfig()
    zero = next(name for name, spec in SETTINGS.items() if spec.zero_means)
    assert widget_of(form, zero).value is None  # the empty "model default" box
    widget_of(form, "epochs").set_value(7)
    form.run()
    values = eval_json(form)
    assert values["epochs"] == 7 and values[zero] == 0
    assert TrainConfig.from_dict(values) == TrainConfig(epochs=7)


def eval_json(at: AppTest) -> dict:
    import json

    return json.loads(at.json[0].value)
