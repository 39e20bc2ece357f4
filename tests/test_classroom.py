"""Classroom features: settings shared through the URL, presenter mode, and (AppTest) the pages using them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnviz.config import TrainConfig
from ui import presenter, shareable

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- URL settings (pure)


def test_shared_link_values_become_the_form_values():
    parsed = shareable.parse_train({"model": "rnn", "hidden_size": "32", "lr": "0.005", "epochs": "3",
                                    "class_balanced": "1", "lr_schedule": "constant"})
    assert parsed.notices == []
    values = parsed.values
    assert (values["model"], values["hidden_size"], values["learning_rate"], values["epochs"]) == ("rnn", 32, 0.005, 3)
    assert values["class_balanced"] is True and values["lr_schedule"] == "constant"
    assert values["batch_size"] == TrainConfig().batch_size


@pytest.mark.parametrize("key, value, named", [
    ("model", "transformer", "model='transformer' (must be one of rnn, lstm, mylstm, elman, ngram)"),
    ("hidden_size", "abc", "hidden_size='abc'"),
    ("hidden_size", "2.5", "hidden_size='2.5'"),
    ("epochs", "999", "epochs='999' (must be a number in [1, 200])"),
    ("learning_rate", "nan", "learning_rate='nan'"),
    ("learning_rate", "-1", "learning_rate='-1'"),
    ("class_balanced", "maybe", "class_balanced='maybe' (must be true or false)"),
    ("colour", "red", "'colour' (not a setting of this page)"),
])
def test_malformed_value_falls_back_to_its_default_with_a_notice_naming_it(key, value, named):
    parsed = shareable.parse_train({key: value, "seed": "7"})
    defaults = TrainConfig().to_dict()
    assert parsed.values.get(key, defaults.get(key)) == defaults.get(key)
    assert parsed.values["seed"] == 7  # the good values of the same link are kept
    assert named in parsed.notice and parsed.notice.startswith("Ignored from the link")


def test_fractions_that_are_fine_alone_but_too_big_together_both_fall_back():
    parsed = shareable.parse_train({"val_fraction": "0.5", "test_fraction": "0.45"})
    assert (parsed.values["val_fraction"], parsed.values["test_fraction"]) == (0.1, 0.1)
    assert "val_fraction and test_fraction" in parsed.notice


def test_unknown_dataset_falls_back_to_the_surname_data():
    assert shareable.parse_train({"data": "cities"}, datasets=["cities"]).values["data"] == "cities"
    parsed = shareable.parse_train({"data": "gone"}, datasets=["cities"])
    assert parsed.values["data"] == "" and "no such dataset" in parsed.notice


def test_a_very_long_value_is_ignored_without_echoing_it():
    parsed = shareable.parse_train({"model": "x" * 10_000})
    assert parsed.values["model"] == "lstm" and len(parsed.notice) < 200


def test_list_values_use_the_last_one_like_streamlit():
    assert shareable.parse_train({"epochs": ["2", "4"]}).values["epochs"] == 4


configs = st.builds(
    TrainConfig, model=st.sampled_from(["rnn", "lstm", "mylstm"]), hidden_size=st.integers(0, 1024),
    learning_rate=st.floats(1e-6, 10.0), batch_size=st.integers(1, 1024), epochs=st.integers(1, 200),
    clip_grad=st.floats(0, 1000), weight_decay=st.floats(0, 1), class_balanced=st.booleans(),
    seed=st.integers(0, 2**31 - 1), lr_schedule=st.sampled_from(["constant", "cosine"]),
    optimizer=st.sampled_from(["adam", "sgd"]), val_fraction=st.floats(0.01, 0.4), test_fraction=st.floats(0, 0.4),
)


@given(configs)
def test_serialised_settings_parse_back_to_the_same_config(config):
    query = shareable.train_query(config)
    parsed = shareable.parse_train(query)
    assert parsed.notices == []
    assert {k: parsed.values[k] for k in shareable.TRAIN_FIELDS} == {k: config.to_dict()[k]
                                                                     for k in shareable.TRAIN_FIELDS}


def test_link_of_the_default_settings_is_short():
    assert shareable.train_query(TrainConfig()) == {"model": "lstm"}


def test_gates_link_keeps_a_known_run_and_a_usable_name():
    parsed = shareable.parse_gates({"run": "r1", "name": "Nakamura"}, ["r1", "r2"])
    assert parsed.values == {"run": "r1", "name": "Nakamura", "vs": ""} and parsed.notices == []
    both = shareable.parse_gates({"run": "r2", "name": "Nakamura", "vs": "Schmidt"}, ["r1", "r2"])
    assert both.values == {"run": "r2", "name": "Nakamura", "vs": "Schmidt"}
    assert shareable.gates_query("r2", "Nakamura", "Schmidt") == {"run": "r2", "name": "Nakamura", "vs": "Schmidt"}
    assert shareable.gates_query("r2", "Nakamura", "") == {"run": "r2", "name": "Nakamura"}


def test_gates_link_with_an_unknown_run_or_unusable_name_falls_back_with_notices():
    parsed = shareable.parse_gates({"run": "nope", "name": "1234", "vs": "😀"}, ["r1"])
    assert parsed.values == {"run": "", "name": "", "vs": ""}
    assert "run='nope'" in parsed.notice and "name='1234'" in parsed.notice and "vs='😀'" in parsed.notice


def test_curve_settings_parse_and_fall_back():
    good = shareable.parse_curves({"smooth": "0.6", "x": "step", "log": "1"})
    assert good.values == {"smooth": 0.6, "x": "step", "log": True} and not good.notices
    bad = shareable.parse_curves({"smooth": "1.5", "x": "hours", "log": "perhaps"})
    assert bad.values == {"smooth": 0.0, "x": "epoch", "log": False} and len(bad.notices) == 3
    assert shareable.parse_curves(shareable.curves_query(0.6, "time", True)).values == {
        "smooth": 0.6, "x": "time", "log": True}


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("banana", False)])
def test_present_flag(value, expected):
    assert shareable.presenting({"present": value}) is expected
    assert shareable.presenting({}) is False


# ---------------------------------------------------------------- presenter mode (pure)


def test_presenter_mode_enlarges_chart_fonts_and_leaves_normal_charts_alone():
    import altair as alt
    import pandas as pd

    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x", y="y")
    assert presenter.style_chart(chart, False) is chart
    config = presenter.style_chart(chart, True).to_dict()["config"]
    assert config["axis"]["labelFontSize"] > 14 and config["legend"]["labelFontSize"] > 14
    assert presenter.chart_height(300, True) > 300 == presenter.chart_height(300, False)


def test_presenter_mode_sets_its_larger_type_only_while_it_is_on(tiny_data, fresh_app):
    from streamlit.testing.v1 import AppTest

    from ui import keys

    def styles(at: AppTest) -> list[str]:
        return [element.proto.body.strip() for element in at.get("html")]

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert presenter.CSS.strip() not in styles(at)
    at.toggle(key=keys.PRESENTER_TOGGLE).set_value(True).run()
    assert presenter.CSS.strip() in styles(at) and at.query_params.get(presenter.PRESENT) == "1"
    at.toggle(key=keys.PRESENTER_TOGGLE).set_value(False).run()
    assert presenter.CSS.strip() not in styles(at) and presenter.PRESENT not in at.query_params


# ---------------------------------------------------------------- keeping the address bar a link (pure)


def test_smoothing_in_a_link_stops_at_the_sliders_end():
    assert shareable.parse_curves({"smooth": "0.99"}).values["smooth"] == 0.99
    assert shareable.parse_curves({"smooth": "0.995"}).values["smooth"] == 0.0
    assert "[0, 0.99]" in shareable.parse_curves({"smooth": "0.995"}).notice


def test_query_changes_set_what_differs_and_drop_the_rest_but_presenter_mode():
    current = {"model": "rnn", "epochs": "3", "colour": "red", "present": "1", "lr": "0.1"}
    to_set, to_delete = shareable.query_changes(current, {"model": "rnn", "hidden_size": "32"})
    assert to_set == {"hidden_size": "32"}
    assert to_delete == ["colour", "epochs", "lr"]


def test_share_link_uses_the_browser_url_or_the_page_path():
    query = {"model": "rnn", "learning_rate": "0.005"}
    assert shareable.share_link(None, query) == "/train?model=rnn&learning_rate=0.005"
    assert shareable.share_link("http://class:8501/train", query) == (
        "http://class:8501/train?model=rnn&learning_rate=0.005")
    assert shareable.share_link("http://class:8501/train?old=1", {}) == "http://class:8501/train"
    assert shareable.share_link(None, {"data": "a b&c"}) == "/train?data=a+b%26c"
