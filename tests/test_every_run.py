"""Every page and every view with every kind of run: surname runs of the three models next to runs of the same
three models trained on a dataset of one's own (3 categories against the surnames' 18), in Streamlit's AppTest.

No page may show an exception or an error, whichever runs are picked together; pages that measure a run use the
run's own names and categories, and run labels say which dataset a run was trained on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rnnviz import datasets
from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.registry import REPORT_MODELS
from rnnviz.runs import list_runs, train_run
from ui import keys, nav, resources, runview

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
MODELS = REPORT_MODELS
OWN = "cities"


@pytest.fixture
def mixed_runs(real_data_dir: Path, tiny_folder: Path, isolated_runs: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """{(dataset, model): RunInfo} for dataset "surnames" and OWN, every model, each with its epoch-0 snapshot."""
    monkeypatch.setenv("RNNVIZ_DATA", str(real_data_dir))
    surnames = load_folder(real_data_dir)
    datasets.add_from_folder(OWN, tiny_folder)
    own = load_folder(datasets.dataset_path(OWN))
    for model in MODELS:
        train_run(TrainConfig(model=model, epochs=1, hidden_size=8, batch_size=256), surnames, isolated_runs)
        train_run(TrainConfig(model=model, epochs=2, hidden_size=8, batch_size=16), own, isolated_runs)
    runs = {}
    for info in list_runs(isolated_runs):
        runs[(OWN if runview.dataset_name(info) == OWN else "surnames", info.model)] = info
    assert len(runs) == 6
    return runs


@pytest.fixture
def app(fresh_app):
    st.cache_resource.clear()
    st.cache_data.clear()

    def make(page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180).run()
        at.switch_page(page)
        return at.run()

    return make


def clean(at: AppTest, what: str) -> None:
    assert not at.exception, (what, [e.value for e in at.exception])
    assert not at.error, (what, [e.value for e in at.error])


def test_run_labels_name_a_dataset_of_ones_own_and_not_the_surname_data(mixed_runs):
    own, surname = mixed_runs[(OWN, "lstm")], mixed_runs[("surnames", "lstm")]
    assert f" · {OWN} · " in runview.run_label(own)
    assert OWN not in runview.run_label(surname) and runview.run_label(surname).startswith("nn.LSTM 8 · ")
    assert runview.dataset_label(own) == f"the dataset {OWN}"
    assert runview.dataset_label(surname) == "the surname data"


def test_why_lstm_measures_each_run_on_its_own_data_in_every_combination(mixed_runs, app):
    at = app(nav.WHY)
    clean(at, "first view")
    at.segmented_control(key="why.view").set_value("flow").run()
    compared = []  # the combinations whose reading compares the two runs
    for rnn_data in ("surnames", OWN):
        for lstm in [(d, m) for d in ("surnames", OWN) for m in ("lstm", "mylstm")]:
            what = f"RNN on {rnn_data}, {lstm[1]} on {lstm[0]}"
            at.selectbox(key="why.flow_rnn").set_value(mixed_runs[(rnn_data, "rnn")].run_id)
            at.selectbox(key="why.flow_lstm").set_value(mixed_runs[lstm].run_id)
            at.segmented_control(key="why.flow_source").set_value("validation").run()
            clean(at, what)
            models = set(at.dataframe[0].value["model"])
            assert len(models) == 2, (what, models)  # both runs measured, each named with its dataset if own
            assert any(OWN in m for m in models) == (OWN in (rnn_data, lstm[0])), (what, models)
            # The comparison reads models by kind, not label: wherever both trained runs have a value 10 letters
            # back, the sentence comparing them is there, whatever dataset's name their labels carry.
            summary = at.dataframe[0].value
            trained = summary[summary["stage"] == "trained"]
            measured = trained["10 letters back"].notna().sum() == 2 if "10 letters back" in trained else False
            reading = " ".join(m.value for m in at.markdown)
            assert ("The tutorial RNN keeps" in reading) == measured, (what, reading)
            compared += [what] if measured else []
            at.segmented_control(key="why.flow_source").set_value("one").run()
            clean(at, what + ", one surname")
            loss_of = next(c.value for c in at.caption if c.value.startswith("Loss of:"))
            own_categories = set(load_folder(datasets.dataset_path(OWN)).categories)
            for part in loss_of.removeprefix("Loss of: ").split("; "):
                category = part.rsplit(": ", 1)[1]
                # a model names one of its own categories: an own-dataset model never says "Czech"
                assert (category in own_categories) == (f"({OWN})" in part), (what, part)
            for scale in ("absolute", "relative"):  # the Scale control changes the one-surname chart
                at.segmented_control(key="why.flow_scale").set_value(scale).run()
                clean(at, what + f", {scale}")
            specs = [c.proto.spec for c in at.get("vega_lite_chart")]
            assert "relative" in specs[0]
    assert compared  # the surname runs are compared (the named dataset's names are too short to reach 10 back)
    at.segmented_control(key="why.view").set_value("saturation").run()
    for key in [(d, m) for d in ("surnames", OWN) for m in ("lstm", "mylstm")]:
        at.selectbox(key="why.sat_run").set_value(mixed_runs[key].run_id).run()
        clean(at, f"saturation of {key}")
        assert at.get("vega_lite_chart")
    at.segmented_control(key="why.view").set_value("probe").run()
    clean(at, "probe")


def test_evaluate_every_run_alone_and_side_by_side_with_a_run_of_other_data(mixed_runs, app):
    at = app(nav.EVALUATE)
    for key, info in mixed_runs.items():
        at.selectbox(key=keys.EVAL_RUN).set_value(info.run_id)
        other = mixed_runs[(OWN if key[0] == "surnames" else "surnames", "lstm")]
        at.selectbox(key=keys.EVAL_COMPARE).set_value(None).run()
        clean(at, f"evaluate {key}")
        categories = at.selectbox(key=keys.EVAL_TRUE).options
        expected = load_folder(Path(info.data)).categories
        assert categories == expected, key  # its own categories
        at.selectbox(key=keys.EVAL_COMPARE).set_value(other.run_id).run()
        clean(at, f"evaluate {key} beside {other.run_id}")
        assert len(at.get("vega_lite_chart")) == 2


def test_gates_report_data_train_and_home_with_every_kind_of_run(mixed_runs, app):
    at = app(nav.GATES)
    for key in [(d, m) for d in ("surnames", OWN) for m in ("lstm", "mylstm")]:
        at.selectbox(key=keys.GATES_RUN).set_value(mixed_runs[key].run_id).run()
        clean(at, f"gates {key}")
        assert at.get("vega_lite_chart")
    for page in (nav.REPORT, nav.DATA, nav.TRAIN, nav.HOME):
        clean(app(page), page)
    resources.job_manager()  # the fixture's fresh_app shuts it down
