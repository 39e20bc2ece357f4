"""The "Why LSTM wins" and "The report, reproduced" pages in Streamlit's AppTest, with and without runs.

The pages run through streamlit_app.py, as in the app, with both registered in its navigation.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rnnviz.reproduce import REPORT_RUNS, REPORT_SEEDS, report_config
from rnnviz.runs import list_runs, train_run
from rnnviz.train import TrainConfig
from ui import nav, resources

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
WHY = nav.WHY
REPORT = nav.REPORT


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tiny_folder: Path):
    """Open one of the two pages in the app, with the tiny data and this test's runs folder."""
    monkeypatch.setenv("RNNVIZ_DATA", str(tiny_folder))
    st.cache_resource.clear()  # the probe runner, job managers and the chosen data folder are process-wide
    st.cache_data.clear()

    def make(page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120).run()
        at.switch_page(page)
        return at

    yield make
    resources.job_manager().shutdown(timeout=30)


@pytest.fixture
def trained(tiny_dataset, isolated_runs: Path) -> Path:
    """One finished RNN, tanh RNN and LSTM run with their snapshots, as the Train page leaves them."""
    for model in ("rnn", "elman", "lstm"):
        train_run(TrainConfig(model=model, epochs=2, hidden_size=8), tiny_dataset, isolated_runs)
    return isolated_runs


def no_problem(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts_of(at: AppTest):
    return at.get("vega_lite_chart")


def test_why_page_guides_to_training_when_there_are_no_runs(app):
    at = app(WHY).run()
    no_problem(at)
    assert any("No finished runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("saturation").run()
    no_problem(at)
    assert any("No nn.LSTM or MyLSTM runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("probe").run()
    no_problem(at)
    assert any("Run the probe" in info.value for info in at.info)


def test_why_page_shows_the_gradient_flow_of_an_rnn_and_an_lstm(app, trained):
    at = app(WHY).run()
    no_problem(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["model"]) == {"RNN", "tanh RNN", "nn.LSTM"}
    assert set(summary["stage"]) == {"initialisation", "trained"}
    reading = " ".join(markdown.value for markdown in at.markdown)
    assert "share of the last letter's gradient left 10 letters back" in reading or "Too few names" in reading
    at.segmented_control(key="why.flow_source").set_value("one").run()
    no_problem(at)
    assert len(charts_of(at)) == 1
    assert any("Loss of:" in caption.value for caption in at.caption)
    at.text_input(key="why.flow_name").set_value("1234").run()
    no_problem(at)
    assert any("no letters" in warning.value for warning in at.warning)


def test_why_page_shows_gate_saturation_of_an_lstm_run(app, trained):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("saturation").run()
    no_problem(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["gate"]) == {"input gate", "forget gate", "output gate"}


def test_why_page_runs_the_memory_probe_in_the_background(app):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("probe").run()
    at.multiselect[0].set_value([5])
    at.number_input[1].set_value(50)  # training steps
    at.button[0].click().run()
    no_problem(at)
    deadline = time.time() + 60
    while time.time() < deadline:
        at.run()
        if any("finished" in str(p.value) or "finished" in getattr(p, "text", "") for p in at.get("progress")):
            break
        time.sleep(0.2)
    no_problem(at)
    results = at.dataframe[0].value
    assert results["length"].tolist() == [5, 5] and set(results["model"]) == {"RNN", "nn.LSTM"}
    assert (results["seeds"] == 3).all() and len(at.dataframe[1].value) == 6  # every training, three seeds
    assert any("mean over the seeds" in caption.value for caption in at.caption)
    assert len(charts_of(at)) == 1


def test_report_page_explains_how_to_get_data_when_there_is_none(app, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "nowhere"))
    at = app(REPORT).run()
    no_problem(at)
    assert any("Data page" in info.value for info in at.info)


def wait_for_finished_runs(root: Path, count: int, timeout: float = 180) -> list:
    deadline = time.time() + timeout
    while time.time() < deadline:
        infos = list_runs(root)
        if len(infos) >= count and all(info.status == "finished" for info in infos):
            return infos
        time.sleep(0.3)
    raise AssertionError(f"{count} runs did not finish in {timeout} s")


@pytest.mark.slow
def test_report_page_trains_the_missing_runs_two_at_a_time(app, isolated_runs):
    at = app(REPORT).run()
    no_problem(at)
    total = len(REPORT_RUNS) * len(REPORT_SEEDS)
    assert any("first of the runs" in info.value for info in at.info)
    assert [button.label for button in at.button] == [
        f"Train the {total} missing runs (RNN, nn.LSTM, MyLSTM, n-gram baseline), two at a time"]
    at.button[0].click().run()
    no_problem(at)
    assert any("waiting for a free training slot" in caption.value for caption in at.caption)
    assert sorted(info.model for info in wait_for_finished_runs(isolated_runs, 2)) == ["rnn", "rnn"]  # seeds 0, 1
    deadline = time.time() + 300
    while len(list_runs(isolated_runs)) < total or any(i.status != "finished" for i in list_runs(isolated_runs)):
        assert time.time() < deadline, "the report's runs did not all finish"
        at.run()  # a training ended: the waiting ones start, two at a time
        no_problem(at)
        assert len(resources.job_manager().active_ids()) <= 2
        time.sleep(0.3)
    at.run()
    no_problem(at)
    table = at.dataframe[0].value
    assert table["test_accuracy"].notna().all() and (table["seeds"] == len(REPORT_SEEDS)).all()
    assert table["test_accuracy_sd"].notna().all()
    assert not at.button  # nothing left to train


def test_report_runs_just_started_show_as_starting_until_their_folders_exist(app, isolated_runs, monkeypatch):
    import threading

    from rnnviz import jobs

    gate = threading.Event()  # holds every training before it writes its folder, as a slow data split would
    real_train_run = jobs.train_run

    def slow_train_run(*args, **kwargs):
        gate.wait(60)
        return real_train_run(*args, **kwargs)

    monkeypatch.setattr(jobs, "train_run", slow_train_run)
    at = app(REPORT).run()
    at.button[0].click().run()
    no_problem(at)
    captions = [caption.value for caption in at.caption]
    assert sum(c.endswith("starting…") for c in captions) == 2 and not any("not trained yet" in c for c in captions)
    assert not any(button.label.startswith("Train") for button in at.button)  # nothing offered twice
    gate.set()
    assert sorted(info.model for info in wait_for_finished_runs(isolated_runs, 2)) == ["rnn", "rnn"]


def test_report_page_compares_finished_report_runs(app, tiny_dataset, isolated_runs):
    for model in REPORT_RUNS:
        for seed in REPORT_SEEDS:
            train_run(report_config(model, seed), tiny_dataset, isolated_runs)
    at = app(REPORT).run()
    no_problem(at)
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["RNN", "nn.LSTM", "MyLSTM", "n-gram baseline"]
    assert table["test_accuracy"].notna().all() and (table["seeds"] == len(REPORT_SEEDS)).all()
    assert not any(button.label.startswith("Train") for button in at.button)
    assert len(charts_of(at)) == 1 + 4 * 3  # the summary, then loss, accuracy and confusion per model
    text = " ".join(markdown.value for markdown in at.markdown)
    assert "42%" in text and "n-gram baseline, with no recurrence at all" in text and "mean of 3 seeds" in text


def test_why_page_can_measure_long_names_only_and_says_when_there_are_none(app, trained):
    at = app(WHY).run()
    at.slider(key="why.flow_min_length").set_value(6).run()
    no_problem(at)
    assert len(charts_of(at)) == 1
    at.slider(key="why.flow_min_length").set_value(15).run()
    assert not at.exception
    assert any("no names have 15 letters or more" in error.value for error in at.error)
