"""Charts for the "why LSTMs win" views and the reproduced report: what they encode, and saving them as images."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rnnviz import charts as ic


def flow_frame() -> pd.DataFrame:
    rows = []
    for model, stage, rate in (("RNN", "initialisation", 0.4), ("RNN", "trained", 0.9), ("nn.LSTM", "trained", 0.95)):
        for distance in range(4):
            rows.append((model, stage, distance, 2 * rate**distance, rate**distance, 10 - distance))
    rows.append(("RNN", "trained", 4, 0.0, 0.0, 3))  # a zero cannot sit on a log axis
    return pd.DataFrame(rows, columns=["model", "stage", "distance", "mean_norm", "relative", "names"])


def test_gradient_flow_chart_overlays_models_and_stages_on_a_log_axis():
    spec = ic.gradient_flow_chart(flow_frame()).to_dict()
    enc = spec["encoding"]
    assert enc["y"]["field"] == "relative" and enc["y"]["scale"]["type"] == "log"
    assert enc["color"]["field"] == "model" and enc["strokeDash"]["field"] == "stage"
    assert enc["strokeDash"]["scale"]["domain"] == ["initialisation", "trained"]
    assert "dashed" in spec["title"]["subtitle"]
    values = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    assert len(values) == 12 and (values["relative"] > 0).all()


def test_gradient_flow_chart_can_show_absolute_norms():
    spec = ic.gradient_flow_chart(flow_frame(), relative=False).to_dict()
    assert spec["encoding"]["y"]["field"] == "mean_norm"


def test_name_gradient_chart_keeps_the_letters_in_reading_order():
    frame = pd.DataFrame({"model": "RNN", "stage": "trained", "target": "Czech", "position": [2, 1, 3],
                          "char": ["2:b", "1:a", "3:c"], "distance": [1, 2, 0], "norm": [0.2, 0.1, 0.3],
                          "relative": [0.6, 0.3, 1.0]})
    spec = ic.name_gradient_chart(frame).to_dict()
    assert spec["encoding"]["x"]["sort"] == ["1:a", "2:b", "3:c"]
    assert spec["encoding"]["y"]["scale"]["type"] == "log"


def test_probe_chart_draws_the_mean_over_seeds_its_range_and_a_labelled_chance_level():
    from rnnviz.probe import summarize

    results = pd.DataFrame({"model": ["RNN", "RNN", "nn.LSTM", "nn.LSTM"], "length": [30] * 4, "seed": [0, 1, 0, 1],
                            "accuracy": [0.25, 0.75, 1.0, 1.0], "chance": [0.25] * 4, "final_loss": [1.0] * 4,
                            "steps": [300] * 4, "seconds": [2.0] * 4})
    spec = ic.probe_chart(summarize(results)).to_dict()
    bars, lines, rule, text = spec["layer"]
    assert lines["encoding"]["x"]["field"] == "length" and lines["encoding"]["color"]["field"] == "model"
    assert lines["encoding"]["y"]["field"] == "mean" and lines["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert bars["encoding"]["y"]["field"] == "low" and bars["encoding"]["y2"]["field"] == "high"
    summary = next(data for data in spec["datasets"].values() if data and "mean" in data[0])
    rows = {row["model"]: row for row in summary}
    assert rows["RNN"]["mean"] == 0.5 and rows["RNN"]["low"] == 0.25 and rows["RNN"]["high"] == 0.75
    assert rule["mark"]["type"] == "rule" and text["mark"]["type"] == "text"
    assert spec["datasets"][rule["data"]["name"]] == [{"chance": 0.25, "label": "chance 25% (guessing)"}]


def test_probe_chart_of_no_results_yet_has_no_chance_line():
    from rnnviz.probe import summarize

    empty = pd.DataFrame(columns=["model", "length", "seed", "accuracy", "chance", "final_loss", "steps", "seconds"])
    assert len(ic.probe_chart(summarize(empty)).to_dict()["layer"]) == 2


def test_saturation_chart_has_one_panel_per_gate_with_the_diagonal():
    frame = pd.DataFrame([(g, u, 0.1 * u, 0.2) for g in ("input gate", "forget gate", "output gate") for u in range(3)],
                         columns=["gate", "unit", "left", "right"]).assign(model="nn.LSTM", stage="trained", steps=9)
    spec = ic.saturation_chart(frame).to_dict()
    panels = spec["hconcat"]
    assert [p["title"] for p in panels] == ["input gate", "forget gate", "output gate"]
    for panel in panels:
        diagonal, points = panel["layer"]
        assert spec["datasets"][diagonal["data"]["name"]] == [{"left": 0.0, "right": 1.0}, {"left": 1.0, "right": 0.0}]
        assert points["encoding"]["x"]["field"] == "left" and points["encoding"]["y"]["field"] == "right"
        assert len(spec["datasets"][points["data"]["name"]]) == 3


def test_report_chart_puts_each_models_figures_next_to_the_reports():
    table = pd.DataFrame({"model": ["RNN", "nn.LSTM", "MyLSTM"], "test_accuracy": [0.76, 0.81, np.nan],
                          "test_balanced_accuracy": [0.35, 0.44, np.nan], "report_test_accuracy": [0.42, 0.81, np.nan]})
    spec = ic.report_chart(table).to_dict()
    values = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    assert len(values) == 6  # MyLSTM has no run and no stated figure
    assert values.set_index(["model", "source"]).loc[("RNN", "the report"), "accuracy"] == 0.42


def simple_chart() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]}), width="container").mark_line().encode(x="x", y="y")


def test_name_gradient_chart_can_show_each_line_relative_to_its_last_letter():
    frame = pd.DataFrame({"model": "RNN", "stage": "trained", "target": "Czech", "position": [1, 2],
                          "char": ["1:a", "2:b"], "distance": [1, 0], "norm": [0.1, 0.4], "relative": [0.25, 1.0]})
    assert ic.name_gradient_chart(frame).to_dict()["encoding"]["y"]["field"] == "norm"
    relative = ic.name_gradient_chart(frame, relative=True).to_dict()
    assert relative["encoding"]["y"]["field"] == "relative" and "share" in relative["encoding"]["y"]["title"]


def test_probe_chart_ticks_the_lengths_measured_as_whole_numbers():
    from rnnviz.probe import summarize

    results = pd.DataFrame({"model": ["RNN", "RNN"], "length": [5, 10], "seed": [0, 0], "accuracy": [0.5, 0.3],
                            "chance": [0.25] * 2, "final_loss": [1.0] * 2, "steps": [20] * 2, "seconds": [1.0] * 2})
    axis = ic.probe_chart(summarize(results)).to_dict()["layer"][1]["encoding"]["x"]["axis"]
    assert axis["values"] == [5, 10] and axis["format"] == "d"
