"""The Why LSTM? page in Streamlit's AppTest, with and without runs.

The pages run through streamlit_app.py, as in the app, with both registered in its navigation.
"""

from __future__ import annotations

import time

from rnnviz.probe import PROBE_SETTINGS, ProbeConfig, latest_probe
from rnnviz.runs import TEACHER
from tests.helpers import assert_clean, charts_of
from ui import nav, resources

WHY = nav.WHY
REPORT = nav.REPORT


def test_why_page_guides_to_training_when_there_are_no_runs(app):
    at = app(WHY).run()
    assert_clean(at)
    assert any("No finished runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("saturation").run()
    assert_clean(at)
    assert any("No nn.LSTM or MyLSTM runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("probe").run()
    assert_clean(at)
    assert any("Run the probe" in info.value for info in at.info)


def test_why_page_shows_the_gradient_flow_of_an_rnn_and_an_lstm(app, page_runs):
    at = app(WHY).run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["model"]) == {"RNN", "tanh RNN", "nn.LSTM"}
    assert set(summary["stage"]) == {"initialisation", "trained"}
    reading = " ".join(markdown.value for markdown in at.markdown)
    assert "share of the last letter's gradient left 10 letters back" in reading or "Too few names" in reading
    at.segmented_control(key="why.flow_source").set_value("one").run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    assert any("Loss of:" in caption.value for caption in at.caption)
    at.text_input(key="why.flow_name").set_value("1234").run()
    assert_clean(at)
    assert any("no letters" in warning.value for warning in at.warning)


def test_why_page_shows_gate_saturation_of_an_lstm_run(app, page_runs):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("saturation").run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["gate"]) == {"input gate", "forget gate", "output gate"}


def test_why_page_runs_the_memory_probe_in_the_background(app):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("probe").run()
    at.multiselect[0].set_value([5])
    at.number_input[1].set_value(50)  # training steps
    at.button[0].click().run()
    assert_clean(at)
    deadline = time.time() + 60
    while time.time() < deadline:
        at.run()
        if any("finished" in str(p.value) or "finished" in getattr(p, "text", "") for p in at.get("progress")):
            break
        time.sleep(0.2)
    assert_clean(at)
    results = at.dataframe[0].value
    assert results["length"].tolist() == [5, 5] and set(results["model"]) == {"RNN", "nn.LSTM"}
    assert (results["seeds"] == 3).all() and len(at.dataframe[1].value) == 6  # every training, three seeds
    assert any("mean over the seeds" in caption.value for caption in at.caption)
    assert len(charts_of(at)) == 1


def test_why_page_can_measure_long_names_only_and_says_when_there_are_none(app, page_runs):
    at = app(WHY).run()
    at.slider(key="why.flow_min_length").set_value(6).run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    at.slider(key="why.flow_min_length").set_value(15).run()
    assert not at.exception
    assert any("no names have 15 letters or more" in error.value for error in at.error)


def test_the_probe_form_is_generated_from_the_probes_declared_settings(app):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("probe").run()
    assert_clean(at)
    numbers = {w.key.removeprefix("why.probe."): w for w in at.number_input}
    shown = [name for name, spec in PROBE_SETTINGS.items() if not spec.advanced]
    assert set(numbers) | {"lengths", "models"} == set(shown)
    for name, widget in numbers.items():
        spec = PROBE_SETTINGS[name]
        assert (widget.min, widget.max) == spec.limits and widget.label == spec.label
        assert widget.value == getattr(ProbeConfig(), name)
    lengths = at.multiselect(key="why.probe.lengths")
    assert lengths.value == list(ProbeConfig().lengths)
    assert lengths.options[0] == str(PROBE_SETTINGS["lengths"].limits[0])
    at.number_input(key="why.probe.forget_bias").set_value(PROBE_SETTINGS["forget_bias"].limits[1])
    at.number_input(key="why.probe.steps").set_value(20)
    at.multiselect(key="why.probe.lengths").set_value([5])
    at.button[0].click().run()  # the form's largest forget bias is one the probe accepts
    assert_clean(at)
    assert not at.error

    probe = latest_probe(resources.job_manager())
    assert probe is not None and probe.config.forget_bias == PROBE_SETTINGS["forget_bias"].limits[1]
    resources.job_manager().stop(probe.run_id, by=TEACHER)
    resources.job_manager().wait(probe.run_id, timeout=60)
