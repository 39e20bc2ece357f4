"""Chart builders and the data shaping behind them: types, encodings and data, checked on tiny frames."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnviz import charts


def metrics_frame(n: int, start_epoch: float = 0.0) -> pd.DataFrame:
    steps = np.arange(1, n + 1)
    return pd.DataFrame({
        "step": steps, "epoch": start_epoch + steps / 10,
        "train_loss": 3.0 / steps, "val_loss": 3.2 / steps,
        "train_acc": 1 - 1 / (steps + 1), "val_acc": 0.9 - 1 / (steps + 2),
    })


def spec(chart: alt.TopLevelMixin) -> dict:
    return chart.to_dict()  # also validates against the Vega-Lite schema


# ---------------------------------------------------------------- downsampling


@given(n=st.integers(0, 5000), max_points=st.integers(2, 400))
def test_downsample_bounds_the_count_and_keeps_first_and_last(n, max_points):
    frame = pd.DataFrame({"x": np.arange(n)})
    shown = charts.downsample(frame, max_points)
    assert len(shown) == min(n, max_points)
    if n:
        assert shown["x"].iloc[0] == 0 and shown["x"].iloc[-1] == n - 1
        assert shown["x"].is_monotonic_increasing


def test_downsample_keeps_short_frames_whole_and_spreads_points_evenly():
    frame = pd.DataFrame({"x": np.arange(1001)})
    assert charts.downsample(frame.head(50), 100).equals(frame.head(50))
    gaps = np.diff(charts.downsample(frame, 11)["x"].to_numpy())
    assert set(gaps) == {100}


def test_downsample_works_per_group():
    frame = pd.DataFrame({"run": ["a"] * 1000 + ["b"] * 10, "x": np.r_[np.arange(1000), np.arange(10)]})
    shown = charts.downsample(frame, 50, by="run")
    assert (shown["run"] == "a").sum() == 50 and (shown["run"] == "b").sum() == 10
    assert shown[shown["run"] == "a"]["x"].iloc[-1] == 999


def test_downsample_refuses_fewer_than_two_points():
    with pytest.raises(ValueError, match="at least 2"):
        charts.downsample(pd.DataFrame({"x": [1, 2, 3]}), 1)


# ---------------------------------------------------------------- training curves


def test_curves_long_has_one_row_per_metric_split_and_evaluation():
    long = charts.curves_long(metrics_frame(5), "run-a")
    assert len(long) == 5 * 4
    assert set(long["metric"]) == {"loss", "accuracy"} and set(long["split"]) == {"train", "val"}
    val_loss = long[(long["metric"] == "loss") & (long["split"] == "val")]["value"].to_numpy()
    assert np.allclose(val_loss, 3.2 / np.arange(1, 6))


def test_curves_long_drops_missing_values_and_accepts_nothing():
    frame = metrics_frame(3)
    frame.loc[1, "val_loss"] = np.nan  # a diverged evaluation is written as an empty cell
    long = charts.curves_long(frame)
    assert len(long) == 3 * 4 - 1
    assert charts.curves_long(None).empty and list(charts.curves_long(None).columns) == list(long.columns)


def test_curve_chart_of_one_run_colours_by_split_and_downsamples():
    long = charts.curves_long(metrics_frame(5000), "only")
    chart = charts.curve_chart(long, "loss", max_points=100)
    assert isinstance(chart, alt.Chart)
    encoding = spec(chart)["encoding"]
    assert encoding["color"]["field"] == "split" and "strokeDash" not in encoding
    assert encoding["x"]["field"] == "epoch" and encoding["y"]["field"] == "value"
    data = chart.data
    assert set(data["metric"]) == {"loss"} and len(data) == 2 * 100
    assert data["step"].min() == 1 and data["step"].max() == 5000


def test_curve_chart_of_several_runs_colours_by_run_and_dashes_validation():
    long = pd.concat([charts.curves_long(metrics_frame(20), "RNN"), charts.curves_long(metrics_frame(30), "LSTM")])
    encoding = spec(charts.curve_chart(long, "accuracy"))["encoding"]
    assert encoding["color"]["field"] == "run" and encoding["color"]["scale"]["domain"] == ["LSTM", "RNN"]
    assert encoding["strokeDash"]["field"] == "split"
    assert encoding["y"]["scale"]["domain"] == [0, 1]


def test_curve_chart_draws_points_only_on_short_curves():
    short = spec(charts.curve_chart(charts.curves_long(metrics_frame(10), "r"), "loss"))["mark"]
    long = spec(charts.curve_chart(charts.curves_long(metrics_frame(500), "r"), "loss"))["mark"]
    assert short.get("point") and not long.get("point")


def test_curve_chart_accepts_an_empty_frame_and_refuses_unknown_metrics():
    spec(charts.curve_chart(charts.curves_long(None), "loss"))
    with pytest.raises(ValueError, match="loss, accuracy"):
        charts.curve_chart(charts.curves_long(None), "perplexity")


# ---------------------------------------------------------------- confusion matrix


def confusion(categories, counts) -> pd.DataFrame:
    counts = np.asarray(counts)
    rates = counts / counts.sum(axis=1, keepdims=True)
    rows = [(t, p, int(counts[i, j]), float(rates[i, j])) for i, t in enumerate(categories)
            for j, p in enumerate(categories)]
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "rate"])


def test_confusion_heatmap_has_rows_true_columns_predicted_and_a_cell_selection():
    cats = ["Czech", "German", "Russian"]
    frame = confusion(cats, [[5, 3, 0], [1, 8, 1], [0, 0, 9]])
    chart = charts.confusion_heatmap(frame, cats, title="val")
    assert isinstance(chart, alt.LayerChart)
    out = spec(chart)
    rect, text = out["layer"]
    assert rect["mark"]["type"] == "rect" and text["mark"]["type"] == "text"
    assert rect["encoding"]["x"]["field"] == "predicted" and rect["encoding"]["y"]["field"] == "true"
    assert rect["encoding"]["x"]["sort"] == cats and rect["encoding"]["y"]["sort"] == cats
    assert rect["encoding"]["color"]["field"] == "rate" and rect["encoding"]["color"]["scale"]["domain"] == [0, 1]
    assert {t["field"] for t in rect["encoding"]["tooltip"]} == {"true", "predicted", "count", "rate"}
    (cell,) = out["params"]  # altair lifts the rect layer's selection to the top
    assert cell["name"] == "cell" and cell["select"]["fields"] == ["true", "predicted"]
    outline = rect["encoding"]["strokeWidth"]["condition"]
    assert outline["param"] == "cell" and outline["empty"] is False  # nothing outlined until a cell is clicked
    assert rect["encoding"]["x"]["axis"]["labelOverlap"] is False  # every category name is shown
    assert out["title"] == "val"


def test_confusion_heatmap_without_selection_and_sized_per_category():
    cats = list("ABCD")
    frame = confusion(cats, np.eye(4) * 3 + 1)
    out = spec(charts.confusion_heatmap(frame, cats, selectable=False, cell=20))
    assert "params" not in out and "strokeWidth" not in out["layer"][0]["encoding"]
    assert out["width"] == 80 and out["height"] == 80


def test_most_confused_picks_the_largest_mistake_or_none():
    cats = ["A", "B", "C"]
    assert charts.most_confused(confusion(cats, [[5, 1, 0], [4, 8, 0], [0, 2, 9]])) == ("B", "A")
    assert charts.most_confused(confusion(cats, np.eye(3) * 4)) is None


# ---------------------------------------------------------------- data page


def test_counts_frame_and_bar_chart_show_lines_and_distinct_names_per_category():
    frame = charts.counts_frame({"Arabic": 2000, "Korean": 94}, {"Arabic": 108, "Korean": 94})
    assert frame.set_index(["category", "kind"])["count"].to_dict() == {
        ("Arabic", "lines in file"): 2000, ("Korean", "lines in file"): 94,
        ("Arabic", "distinct names"): 108, ("Korean", "distinct names"): 94,
    }
    out = spec(charts.category_counts_chart(frame))
    assert out["mark"]["type"] == "bar"
    assert out["encoding"]["y"]["field"] == "category" and out["encoding"]["y"]["sort"] == ["Arabic", "Korean"]
    assert out["encoding"]["yOffset"]["field"] == "kind"


def test_category_table_samples_names_of_their_own_category_reproducibly():
    names = [f"A{i}" for i in range(20)] + ["B0", "B1"]
    labels = [0] * 20 + [1] * 2
    table = charts.category_table(["A", "B"], names, labels, {"A": 25, "B": 2}, {"A": 20, "B": 2}, samples=5)
    assert list(table.columns) == ["category", "lines", "distinct", "sample names"]
    sample_a = table.loc[0, "sample names"].split(", ")
    assert len(sample_a) == 5 and all(name.startswith("A") for name in sample_a)
    assert table.loc[1, "sample names"] == "B0, B1"
    again = charts.category_table(["A", "B"], names, labels, {"A": 25, "B": 2}, {"A": 20, "B": 2}, samples=5)
    assert again.equals(table)


# ---------------------------------------------------------------- gates page


def gate_frame(values: np.ndarray, word: str) -> pd.DataFrame:
    T, H = values.shape
    return pd.DataFrame({
        "step": np.repeat(np.arange(1, T + 1), H),
        "char": np.repeat([f"{t + 1}:{ch}" for t, ch in enumerate(word)], H),
        "unit": np.tile(np.arange(H), T),
        "value": values.reshape(-1),
    })


def test_unit_order_by_index_mean_and_variance():
    values = np.array([[0.1, 0.9, 0.5], [0.1, 0.7, 0.0], [0.1, 0.8, 1.0]])  # unit 0 flat, 1 high, 2 varied
    frame = gate_frame(values, "abc")
    assert charts.unit_order(frame, "index") == [0, 1, 2]
    assert charts.unit_order(frame, "mean") == [1, 2, 0]
    assert charts.unit_order(frame, "variance") == [2, 1, 0]
    with pytest.raises(ValueError, match="index, mean, variance"):
        charts.unit_order(frame, "random")


def test_gate_heatmap_has_a_column_per_character_and_a_row_per_unit():
    values = np.random.default_rng(0).random((4, 6))
    frame = gate_frame(values, "Ab c")
    out = spec(charts.gate_heatmap(frame, "f", "forget gate", order=[5, 4, 3, 2, 1, 0], cell_height=12))
    assert out["mark"]["type"] == "rect" and out["title"] == "forget gate"
    assert out["encoding"]["x"]["sort"] == ["1:A", "2:b", "3: ", "4:c"]
    assert "substring" in out["encoding"]["x"]["axis"]["labelExpr"]  # axis shows the letter, not "2:b"
    assert out["encoding"]["y"]["sort"] == [5, 4, 3, 2, 1, 0]
    assert out["encoding"]["color"]["scale"]["domain"] == [0, 1]
    assert {t["field"] for t in out["encoding"]["tooltip"]} == {"char", "unit", "value"}
    assert out["height"] == 6 * 12 and out["width"] == 4 * 34


def test_gate_heatmap_uses_a_diverging_scale_for_candidate_and_states():
    frame = gate_frame(np.linspace(-1, 1, 6).reshape(2, 3), "ab")
    for key in ("g", "h"):
        scale = spec(charts.gate_heatmap(frame, key, key))["encoding"]["color"]["scale"]
        assert scale["domain"] == [-1, 1] and scale["scheme"] == "redblue"
    cell = spec(charts.gate_heatmap(frame, "c", "c"))["encoding"]["color"]["scale"]
    assert cell["domainMid"] == 0 and "domain" not in cell


def test_gate_means_and_prefix_charts_are_lines_over_characters():
    means = pd.DataFrame({"step": [1, 2, 1, 2], "char": ["1:a", "2:b"] * 2, "gate": ["input gate"] * 2 +
                          ["forget gate"] * 2, "mean": [0.2, 0.4, 0.6, 0.8]})
    out = spec(charts.gate_means_chart(means))
    assert out["mark"]["type"] == "line" and out["encoding"]["color"]["field"] == "gate"
    assert out["encoding"]["x"]["sort"] == ["1:a", "2:b"]
    prefix = pd.DataFrame({"step": [1, 1, 2, 2], "char": ["1:a", "1:a", "2:b", "2:b"], "prefix": ["a", "a", "ab", "ab"],
                           "category": ["X", "Y"] * 2, "probability": [0.5, 0.5, 0.9, 0.1]})
    out = spec(charts.prefix_chart(prefix))
    assert out["encoding"]["color"]["field"] == "category" and out["encoding"]["y"]["scale"]["domain"] == [0, 1]


def test_top_chart_lists_the_predictions_most_likely_first():
    chart = charts.top_chart([("Japanese", 0.9), ("Chinese", 0.06), ("Korean", 0.04)])
    out = spec(chart)
    bars, labels = out["layer"]
    assert bars["mark"]["type"] == "bar" and labels["mark"]["type"] == "text"
    assert bars["encoding"]["y"]["sort"] == ["Japanese", "Chinese", "Korean"]
    assert list(chart.data["probability"]) == [0.9, 0.06, 0.04]
