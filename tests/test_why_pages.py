"""The "Why LSTM wins" and "The report, reproduced" pages in Streamlit's AppTest, with and without runs.

The pages are run inside a small st.navigation entry script next to a link to the project's pages/ folder,
as streamlit_app.py runs them, so their links to other pages resolve.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rnnviz.reproduce import REPORT_RUNS
from rnnviz.runs import list_runs, train_run
from rnnviz.train import TrainConfig

PROJECT = Path(__file__).resolve().parent.parent
ENTRY = '''
import contextlib

import streamlit as st

from ui import nav

known = [path for path, _, _ in nav.PAGES]
pages = [st.Page(path, title=title, default=path == {target!r}) for path, title, _ in nav.PAGES]
pages += [st.Page(path, title=path, default=path == {target!r}) for path in ("pages/why.py", "pages/report.py")
          if path not in known]
with getattr(nav, "entered", contextlib.nullcontext)():
    st.navigation(pages).run()
'''


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_folder: Path):
    """Build an AppTest of one of the two pages, with the tiny data and this test's runs folder."""
    monkeypatch.setenv("RNNVIZ_DATA", str(tiny_folder))
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "pages").symlink_to(PROJECT / "pages")
    st.cache_resource.clear()  # the probe runner and job managers are process-wide
    st.cache_data.clear()

    def make(page: str) -> AppTest:
        (folder / "entry.py").write_text(ENTRY.format(target=page), encoding="utf-8")
        return AppTest.from_file(str(folder / "entry.py"), default_timeout=60)

    return make


@pytest.fixture
def trained(tiny_dataset, isolated_runs: Path) -> Path:
    """One finished RNN and one finished LSTM run with their snapshots, as the Train page leaves them."""
    for model in ("rnn", "lstm"):
        train_run(TrainConfig(model=model, epochs=2, hidden_size=8), tiny_dataset, isolated_runs)
    return isolated_runs


def no_problem(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts_of(at: AppTest):
    return at.get("vega_lite_chart")


def test_why_page_guides_to_training_when_there_are_no_runs(app):
    at = app("pages/why.py").run()
    no_problem(at)
    assert any("No finished runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("saturation").run()
    no_problem(at)
    assert any("No nn.LSTM or MyLSTM runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("probe").run()
    no_problem(at)
    assert any("Run the probe" in info.value for info in at.info)


def test_why_page_shows_the_gradient_flow_of_an_rnn_and_an_lstm(app, trained):
    at = app("pages/why.py").run()
    no_problem(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["model"]) == {"RNN", "nn.LSTM"}
    assert set(summary["stage"]) == {"initialisation", "trained"}
    at.segmented_control(key="why.flow_source").set_value("one").run()
    no_problem(at)
    assert len(charts_of(at)) == 1
    assert any("Loss of:" in caption.value for caption in at.caption)
    at.text_input(key="why.flow_name").set_value("1234").run()
    no_problem(at)
    assert any("no letters" in warning.value for warning in at.warning)


def test_why_page_shows_gate_saturation_of_an_lstm_run(app, trained):
    at = app("pages/why.py").run()
    at.segmented_control(key="why.view").set_value("saturation").run()
    no_problem(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["gate"]) == {"input gate", "forget gate", "output gate"}


def test_why_page_runs_the_memory_probe_in_the_background(app):
    at = app("pages/why.py").run()
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
    assert len(charts_of(at)) == 1


def test_report_page_explains_how_to_get_data_when_there_is_none(app, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "nowhere"))
    at = app("pages/report.py").run()
    no_problem(at)
    assert any("Data page" in info.value for info in at.info)


def test_report_page_trains_the_missing_runs_when_asked(app, isolated_runs):
    at = app("pages/report.py").run()
    no_problem(at)
    assert any("first of the three runs" in info.value for info in at.info)
    assert len(at.button) == 1
    at.button[0].click().run()
    no_problem(at)
    deadline = time.time() + 120
    while time.time() < deadline:  # the job manager allows two at once: the third waits for a second press
        infos = list_runs(isolated_runs)
        if len(infos) == 2 and all(info.status == "finished" for info in infos):
            break
        time.sleep(0.3)
    assert sorted(info.model for info in list_runs(isolated_runs)) == ["lstm", "rnn"]
    at.run()
    no_problem(at)
    table = at.dataframe[0].value
    assert table["test_accuracy"].notna().tolist() == [True, True, False]


def test_report_page_compares_finished_report_runs(app, tiny_dataset, isolated_runs):
    for config in REPORT_RUNS.values():
        train_run(TrainConfig.from_dict({**config.to_dict(), "epochs": 8}), tiny_dataset, isolated_runs)
    at = app("pages/report.py").run()
    no_problem(at)
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["RNN", "nn.LSTM", "MyLSTM"] and table["test_accuracy"].notna().all()
    assert not any(button.label.startswith("Train") for button in at.button)
    assert len(charts_of(at)) == 1 + 3 * 3  # the summary, then loss, accuracy and confusion per model
    assert any("42%" in markdown.value for markdown in at.markdown)
