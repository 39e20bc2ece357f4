"""Bad input wherever a user types: surnames in any script or length, out-of-range settings, bad command-line flags.

Every typed value gives a result or one clear line (DataError, ValueError, exit code 2), never another exception.
Property-based cases use hypothesis with few examples and no deadline, so the suite stays quick.
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rnnviz import cli
from rnnviz.config import TrainConfig
from rnnviz.data import ALPHABET, MAX_INPUT_CHARS, MAX_NAME_LENGTH, DataError, clean_name, to_ascii
from rnnviz.evaluate import predict
from rnnviz.inside import read_name
from rnnviz.models import LSTM
from rnnviz.runs import train_run
from tests.conftest import write_tiny_folder
from ui import nav, resources

CATEGORIES = ["Ashi", "Borov", "Tunson"]
APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")

# Any code point, lone surrogates included (command-line bytes that are not UTF-8 arrive as those).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
# Text a person could type: letters of many scripts mixed with accents, digits, punctuation and spaces.
TYPED_TEXT = st.text(st.one_of(st.characters(), st.sampled_from("aéüßñçøÅİıŁ' .-,;日本語Привет😀\t\n\u200b\u0301")),
                     max_size=80)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def model() -> LSTM:
    torch.manual_seed(0)
    return LSTM(hidden_size=4, output_size=len(CATEGORIES)).eval()


def one_line(message: str) -> bool:
    return bool(message) and "\n" not in message and len(message) < 400


# --------------------------------------------------------------------------- the name path


@SETTINGS
@given(ANY_TEXT)
def test_any_text_is_a_usable_name_or_a_one_line_data_error(text):
    try:
        cleaned = clean_name(text)
    except DataError as exc:
        assert one_line(str(exc))
        return
    assert 1 <= len(cleaned.text) <= MAX_NAME_LENGTH
    assert set(cleaned.text) <= set(ALPHABET) and any(ch.isalpha() for ch in cleaned.text)
    assert "\n" not in cleaned.note and len(cleaned.note) < 300
    cleaned.original.encode("utf-8")  # printable on a UTF-8 terminal and sendable to the browser
    if cleaned.dropped or cleaned.truncated:
        assert cleaned.note


@SETTINGS
@given(ANY_TEXT)
def test_transliteration_keeps_only_alphabet_characters(text):
    assert set(to_ascii(text)) <= set(ALPHABET)


@settings(max_examples=60, deadline=None)
@given(TYPED_TEXT)
def test_predict_answers_any_typed_name_or_says_why_not(model, text):
    try:
        (prediction,) = predict(model, CATEGORIES, [text], top_k=3)
    except DataError as exc:
        assert one_line(str(exc))
        return
    probabilities = [p for _, p in prediction.top]
    assert [c for c, _ in prediction.top] and set(c for c, _ in prediction.top) <= set(CATEGORIES)
    assert all(0 <= p <= 1 for p in probabilities) and probabilities == sorted(probabilities, reverse=True)


@settings(max_examples=60, deadline=None)
@given(TYPED_TEXT)
def test_gate_trace_of_any_typed_name_has_one_row_per_letter_or_says_why_not(model, text):
    try:
        trace = read_name(model, CATEGORIES, text)
    except DataError as exc:
        assert one_line(str(exc))
        return
    assert trace.values["f"].shape == (len(trace.used), 4)
    assert all(math.isfinite(v) for v in trace.values["c"].reshape(-1))
    assert trace.prefix_probs.shape == (len(trace.used), len(CATEGORIES))


def test_predict_takes_a_single_name_as_one_name_not_its_letters(model):
    (prediction,) = predict(model, CATEGORIES, "Ashi")
    assert prediction.used == "Ashi"


def test_very_long_input_is_capped_and_the_note_says_so():
    cleaned = clean_name("Nakamura" * 10_000)
    assert cleaned.text == ("Nakamura" * 8)[:MAX_NAME_LENGTH] and cleaned.truncated and cleaned.input_cut
    assert f"first {MAX_INPUT_CHARS:,} characters" in cleaned.note
    assert f"first {MAX_NAME_LENGTH} letters" in cleaned.note


def test_a_long_run_of_unknown_characters_is_summarised_in_the_note():
    cleaned = clean_name("".join(chr(0x4E00 + i) for i in range(300)) + "Sato")
    assert cleaned.text == "Sato" and "and 288 more" in cleaned.note and len(cleaned.note) < 120


def test_undecodable_command_line_bytes_become_a_dropped_question_mark():
    cleaned = clean_name("\udcffSmith")  # what Python makes of the byte 0xff in argv
    assert cleaned.text == "Smith" and cleaned.original == "?Smith" and "'?'" in cleaned.note


# --------------------------------------------------------------------------- hyperparameters

NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.sampled_from([10**5000, 0.5, 1.0, 2.0, 1e-7, 1e-6, 1024.0, 2**31 - 1, 2**31]),
)


@pytest.mark.parametrize("field_name", sorted(TrainConfig.LIMITS))
def test_every_numeric_setting_accepts_only_values_in_its_range_and_names_it(field_name):
    low, high = TrainConfig.LIMITS[field_name]

    @settings(max_examples=60, deadline=None)
    @given(NUMBERS)
    def check(value):
        try:
            config = TrainConfig(**{field_name: value})
        except ValueError as exc:
            message = str(exc)
            assert field_name in message and f"[{low}, {high}]" in message and one_line(message)
            return
        stored = getattr(config, field_name)
        assert not isinstance(value, (bool, str)) and value is not None
        assert low <= stored <= high and math.isfinite(stored)
        assert type(stored) is (int if isinstance(low, int) else float)

    check()


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(TrainConfig.CHOICES)), st.one_of(st.text(max_size=30), st.integers(), st.none()))
def test_every_choice_setting_accepts_only_its_options_and_lists_them(field_name, value):
    options = TrainConfig.CHOICES[field_name]
    try:
        TrainConfig(**{field_name: value})
    except ValueError as exc:
        assert ", ".join(options) in str(exc) and one_line(str(exc))
        return
    assert value in options


def test_whole_float_counts_become_integers_that_train(tiny_dataset, tmp_path):
    config = TrainConfig(epochs=1.0, batch_size=16.0, hidden_size=8.0, eval_every=2.0)
    assert (config.epochs, config.batch_size, config.hidden_size) == (1, 16, 8)
    _, result = train_run(config, tiny_dataset, tmp_path / "runs")
    assert result.status == "finished" and result.epochs_done == 1


def test_every_setting_is_covered_by_the_property_tests():
    covered = set(TrainConfig.LIMITS) | set(TrainConfig.CHOICES) | {"class_balanced"}
    assert covered == {f.name for f in fields(TrainConfig)}
    with pytest.raises(ValueError, match="true or false"):
        TrainConfig(class_balanced="no")


# --------------------------------------------------------------------------- the command line

BAD_FLAGS = [
    [],
    ["fly"],
    ["train", "--no-such-flag"],
    ["train", "--epochs"],
    ["train", "--epochs", "many"],
    ["train", "--epochs", "2.5"],
    ["train", "--lr", "fast"],
    ["train", "--model", "gru"],
    ["train", "--optimizer", "rmsprop"],
    ["train", "--threads", "0"],
    ["train", "--threads", "x"],
    ["train", "--val-fraction", "half"],
    ["predict", "Smith"],
    ["predict", "--run"],
    ["evaluate", "--run", "x", "--split", "everything"],
    ["gates", "--run", "x"],
    ["runs", "--json", "extra"],
]


@pytest.mark.parametrize("argv", BAD_FLAGS, ids=[" ".join(a) or "(nothing)" for a in BAD_FLAGS])
def test_bad_flags_exit_with_code_2_and_one_line(capsys, argv):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "error" in err and "Traceback" not in err


BAD_VALUES = [
    (["--lr", "nan"], "--lr must be a number"),
    (["--lr", "inf"], "--lr must be a number"),
    (["--lr", "-1"], "--lr must be in [1e-06, 10.0]"),
    (["--batch-size", "0"], "--batch-size must be in [1, 1024]"),
    (["--epochs", "100000"], "--epochs must be in [1, 200]"),
    (["--hidden-size", "-4"], "--hidden-size must be in [0, 1024]"),
    (["--val-fraction", "0.9"], "--val-fraction must be in [0.01, 0.5]"),
]


@pytest.mark.parametrize(("flags", "shown"), BAD_VALUES, ids=[" ".join(f) for f, _ in BAD_VALUES])
def test_out_of_range_training_flags_exit_with_code_2_naming_the_range(capsys, tiny_folder, tmp_path, flags, shown):
    code = cli.main(["train", "--data", str(tiny_folder), "--runs", str(tmp_path / "r"), "--quiet", *flags])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and shown in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


# --------------------------------------------------------------------------- the Gates page


@pytest.fixture
def gates_page(tmp_path, monkeypatch, isolated_runs) -> AppTest:
    folder = write_tiny_folder(tmp_path / "names")
    monkeypatch.setenv("RNNVIZ_DATA", str(folder))
    from rnnviz.data import load_folder

    train_run(TrainConfig(model="lstm", hidden_size=8, epochs=1, batch_size=16), load_folder(folder), isolated_runs)
    resources._data_choice.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(nav.GATES).run()
    at.text_input(key="gates.second").input("").run()
    yield at
    resources._data_choice.clear()


def test_gates_page_answers_arbitrary_typed_names_with_charts_or_a_message(gates_page):
    at = gates_page

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=64))
    def check(text):
        at.text_input(key="gates.name").input(text).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        charts = list(at.get("vega_lite_chart"))
        warnings = [w.value for w in at.warning]
        assert bool(charts) != bool(warnings), (text, warnings)
        assert all("\n" not in w for w in warnings)

    check()
    at.text_input(key="gates.name").input("Łukasz-Żółć 2").run()
    assert not at.exception and list(at.get("vega_lite_chart"))
    assert any("ignored characters" in c.value for c in at.caption)
