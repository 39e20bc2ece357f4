"""Chart builders and the data shaping behind them: types, encodings and data, checked on tiny frames."""

from __future__ import annotations

import re

import altair as alt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnviz import charts, export


def metrics_frame(n: int, start_epoch: float = 0.0) -> pd.DataFrame:
    steps = np.arange(1, n + 1)
    return pd.DataFrame({
        "step": steps, "epoch": start_epoch + steps / 10,
        "train_loss": 3.0 / steps, "val_loss": 3.2 / steps,
        "train_acc": 1 - 1 / (steps + 1), "val_acc": 0.9 - 1 / (steps + 2),
    })


def spec(chart: alt.TopLevelMixin) -> dict:
    return chart.to_dict(validate=True)  # against the Vega-Lite schema (curve charts skip it unless asked)


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


def lines_of(chart) -> list[dict]:
    """The line layers of a curve chart's spec (raw faint line first when smoothing)."""
    return [layer for layer in spec(chart)["layer"] if layer["mark"]["type"] == "line"]


def lines_data(chart) -> pd.DataFrame:
    """The curve points (altair lifts them to the top when every layer shares them)."""
    return chart.data if isinstance(chart.data, pd.DataFrame) else chart.layer[0].data


def test_curves_long_carries_the_training_time():
    frame = metrics_frame(4).assign(elapsed_s=[0.5, 1.0, 1.5, 2.0])
    long = charts.curves_long(frame, "r")
    assert "elapsed_s" in long.columns and set(long["elapsed_s"]) == {0.5, 1.0, 1.5, 2.0}
    assert charts.curves_long(metrics_frame(2))["elapsed_s"].isna().all()  # older rows without it


def test_curve_chart_of_one_run_colours_it_as_its_model_and_downsamples():
    long = charts.curves_long(metrics_frame(5000), "only", model="lstm")
    chart = charts.curve_chart(long, "loss", max_points=100)
    assert isinstance(chart, alt.LayerChart)
    (line,) = lines_of(chart)
    encoding = line["encoding"]
    assert encoding["color"]["field"] == "run" and encoding["strokeDash"]["field"] == "split"
    assert encoding["color"]["scale"]["range"] == [charts.model_colors()["lstm"]]
    assert encoding["x"]["field"] == "epoch" and encoding["y"]["field"] == "value"
    data = lines_data(chart)
    assert set(data["split"]) == {"train", "val"} and len(data) == 2 * 100
    assert data["step"].min() == 1 and data["step"].max() == 5000


def test_curve_chart_of_several_runs_colours_by_run_and_dashes_validation():
    long = pd.concat([charts.curves_long(metrics_frame(20), "RNN"), charts.curves_long(metrics_frame(30), "LSTM")])
    (line,) = lines_of(charts.curve_chart(long, "accuracy"))
    encoding = line["encoding"]
    assert encoding["color"]["field"] == "run" and encoding["color"]["scale"]["domain"] == ["LSTM", "RNN"]
    assert encoding["strokeDash"]["field"] == "split"
    assert "dashed: validation" in " ".join(encoding["color"]["title"])  # the one legend says what dashes mean
    assert max(len(line) for line in encoding["color"]["title"]) <= charts.TITLE_WRAP  # uncut in a narrow column
    assert encoding["y"]["scale"]["domain"] == [0, 1]


def test_a_model_keeps_its_colour_whatever_else_is_overlaid():
    rnn, lstm = charts.model_colors()["rnn"], charts.model_colors()["lstm"]
    assert rnn != lstm

    def colours(*runs):
        long = pd.concat([charts.curves_long(metrics_frame(10), label, model=model) for label, model in runs])
        scale = lines_of(charts.curve_chart(long, "loss"))[0]["encoding"]["color"]["scale"]
        return dict(zip(scale["domain"], scale["range"]))

    alone = colours(("RNN 11:25", "rnn"))
    beside = colours(("nn.LSTM 64 · 11:20", "lstm"), ("RNN 11:25", "rnn"))  # the LSTM sorts first
    assert alone["RNN 11:25"] == beside["RNN 11:25"] == rnn and beside["nn.LSTM 64 · 11:20"] == lstm
    # a second run of one model: its hue, a different shade; a run of no known model: a colour no model has
    two = colours(("RNN a", "rnn"), ("RNN b", "rnn"), ("other", ""))
    assert two["RNN a"] == rnn and two["RNN b"] != rnn and two["other"] not in charts.model_colors().values()


def test_legend_lists_one_run_a_row_and_never_cuts_a_label():
    long = pd.concat([charts.curves_long(metrics_frame(10), label, model="lstm")
                      for label in ("nn.LSTM 64 · 11:25 · a long dataset name", "nn.LSTM 64 · 11:26")])
    legend = lines_of(charts.curve_chart(long, "loss"))[0]["encoding"]["color"]["legend"]
    assert legend["columns"] == 1 and legend["labelLimit"] == 0


def test_log_scale_spans_the_data_not_the_next_power_of_ten():
    frame = metrics_frame(20)
    frame["train_loss"] = np.linspace(2.4, 1.2, 20)
    frame["val_loss"] = np.linspace(2.3, 1.4, 20)
    for smooth in (0.0, 0.6):
        layer = lines_of(charts.curve_chart(charts.curves_long(frame, "r"), "loss", log=True, smooth=smooth))[-1]
        scale = layer["encoding"]["y"]["scale"]
        assert scale["type"] == "log" and scale["nice"] is False
        low, high = scale["domain"]
        assert 1.1 <= low <= 1.2 and 2.4 <= high <= 2.5


def test_x_axis_spans_the_planned_training_while_a_run_trains():
    frame = metrics_frame(10)  # 10 evaluations, epochs 0.1 ... 1.0 of a planned 4
    frame["epoch"] = np.arange(1, 11) / 10
    frame["elapsed_s"] = np.arange(1, 11) * 2.0
    live = charts.curves_long(frame, "r", planned_epochs=4)
    for x, end in (("epoch", 4.0), ("step", 40.0), ("time", 80.0)):
        layer = lines_of(charts.curve_chart(live, "loss", x=x))[0]
        assert layer["encoding"]["x"]["scale"]["domain"][1] == pytest.approx(end), x
    done = charts.curves_long(frame, "r")  # no plan given (a finished run): the axis spans the data
    assert "domain" not in lines_of(charts.curve_chart(done, "loss"))[0]["encoding"]["x"]["scale"]


def test_presenter_theme_draws_no_chart_text_under_18_pixels():
    big = charts.theme(1.6).to_dict()
    sizes = [big["axis"]["labelFontSize"], big["axis"]["titleFontSize"], big["legend"]["labelFontSize"],
             big["legend"]["titleFontSize"], big["title"]["fontSize"], big["title"]["subtitleFontSize"]]
    sizes += [style["fontSize"] for style in big["style"].values()]  # every text mark's role
    assert min(sizes) >= charts.PRESENTER_TEXT_MIN == 18
    assert min(s["fontSize"] for s in charts.theme(1.2).to_dict()["style"].values()) >= 18  # a milder scale too
    assert charts.theme().to_dict()["style"]["text"]["fontSize"] < 18  # the laptop view keeps its small marks
    matrix = charts.confusion_heatmap(confusion(["A", "B"], np.eye(2)), ["A", "B"])
    smallest = {p["name"]: p.get("value") for p in charts.themed(matrix, 1.6).to_dict()["params"]}
    assert smallest[charts.COUNT_PARAM] >= 18  # a count too small to read on a projector is left to the tooltip
    assert {p["name"]: p.get("value") for p in matrix.to_dict()["params"]}[charts.COUNT_PARAM] == 8


def _drawn_text_sizes(chart: alt.TopLevelMixin) -> list[tuple[float, str]]:
    """(font size in pixels, text) of every text the chart draws visibly, read from its SVG rendering."""
    svg = export.chart_bytes(chart, "svg").decode()
    drawn = []
    for attributes, text in re.findall(r"<text([^>]*)>([^<]*)", svg):
        size = re.search(r'font-size="([0-9.]+)px"', attributes)
        if text.strip() and size and 'opacity="0"' not in attributes:
            drawn.append((float(size.group(1)), text))
    return drawn


def test_every_chart_text_is_projector_sized_in_presenter_mode():
    """Every text each builder draws (axes, legends, titles and the text written on marks: a diagram's boxes, a
    strip's letters, a note beside a line, a map's letters, an attribution's letters), rendered at presenter
    mode's scale, is at least 18 px; in the laptop view some are smaller, so the floor is presenter mode's."""
    from ui.presenter import FONT_SCALE

    values = {key: 0.5 for key in ("c_prev", "f", "i", "g", "o", "c", "h", "h_prev", "tanh_c", "f_c", "i_g")}
    summary = pd.DataFrame({"model": ["RNN", "RNN"], "length": [5, 10], "mean": [0.9, 0.5], "spread": [0.1, 0.1],
                            "low": [0.8, 0.4], "high": [1.0, 0.6], "seeds": [3, 3], "chance": [0.25, 0.25]})
    strips = charts.letter_strips_frame([("Kowalski", "Kowalski", np.linspace(-1, 1, 8))])
    attribution = pd.DataFrame({"position": [0, 1, 2], "label": ["0:a", "1:b", "2:c"], "letter": list("abc"),
                                "occlusion": [0.3, -0.1, 0.2], "gradient_x_input": [0.1, 0.2, -0.1]})
    background = pd.DataFrame({"x": [0.0, 1.0, 5.0, 6.0], "y": [0.0, 1.0, 5.0, 6.0],
                               "category": ["Polish", "Polish", "Irish", "Irish"], "name": list("abcd")})
    path = pd.DataFrame({"series": ["1. ab"] * 2, "position": [0, 1], "label": ["0:a", "1:b"],
                         "letter": ["a", "b"], "x": [0.0, 1.0], "y": [0.0, 1.0]})
    built = {
        "cell diagram": charts.cell_diagram(values, "k", 3, scale=FONT_SCALE),
        "letter strips": charts.letter_strips(strips, "unit 3", "h", scale=FONT_SCALE),
        "memory probe": charts.probe_chart(summary),
        "attribution": charts.attribution_chart(attribution, "Polish"),
        "hidden path": charts.hidden_path_chart(background, path, (0.5, 0.2)),
        "confusion matrix": charts.confusion_heatmap(confusion(["A", "B"], [[40, 2], [3, 50]]), ["A", "B"]),
        "top three": charts.top_chart([("Polish", 0.9), ("Czech", 0.06)]),
        "gate heatmap": charts.gate_heatmap(gate_frame(np.zeros((3, 2)), "abc"), "i", "input gate"),
    }
    for name, chart in built.items():
        small = [(size, text) for size, text in _drawn_text_sizes(charts.themed(chart, FONT_SCALE))
                 if size < charts.PRESENTER_TEXT_MIN]
        assert not small, f"{name}: text under 18 px in presenter mode: {small[:5]}"
    laptop = [size for chart in built.values() for size, _ in _drawn_text_sizes(chart)]
    assert min(laptop) < charts.PRESENTER_TEXT_MIN  # the check reads real sizes: the laptop view has small text


def test_curve_chart_draws_points_only_on_short_curves():
    short = lines_of(charts.curve_chart(charts.curves_long(metrics_frame(10), "r"), "loss"))[0]["mark"]
    long = lines_of(charts.curve_chart(charts.curves_long(metrics_frame(500), "r"), "loss"))[0]["mark"]
    assert short.get("point") and not long.get("point")


def test_curve_chart_accepts_an_empty_frame_and_refuses_unknown_metrics_and_axes():
    spec(charts.curve_chart(charts.curves_long(None), "loss"))
    with pytest.raises(ValueError, match="loss, accuracy"):
        charts.curve_chart(charts.curves_long(None), "perplexity")
    with pytest.raises(ValueError, match="step, epoch, time"):
        charts.curve_chart(charts.curves_long(None), "loss", x="hours")
    with pytest.raises(ValueError, match="smoothing"):
        charts.curve_chart(charts.curves_long(None), "loss", smooth=1.5)


def test_smoothing_draws_the_smoothed_curve_over_a_faint_raw_one():
    frame = metrics_frame(50)
    frame["train_loss"] = np.where(np.arange(50) % 2, 2.0, 1.0)  # zig-zag: smoothing must calm it
    chart = charts.curve_chart(charts.curves_long(frame, "r"), "loss", smooth=0.9)
    raw, smoothed = lines_of(chart)
    assert raw["encoding"]["y"]["field"] == "value" and raw["mark"]["opacity"] < 0.5
    assert smoothed["encoding"]["y"]["field"] == "smoothed" and "opacity" not in smoothed["mark"]
    data = lines_data(chart)
    train = data[data["split"] == "train"].sort_values("step")
    assert train["smoothed"].iloc[0] == train["value"].iloc[0]  # debiased: starts at the first value
    assert train["smoothed"].iloc[10:].std() < 0.2 * train["value"].iloc[10:].std()


def test_smoothing_works_per_run_and_split():
    a = charts.curves_long(metrics_frame(30), "A")
    b = charts.curves_long(metrics_frame(30).assign(val_loss=100.0), "B")
    smoothed = charts.smoothed_curves(pd.concat([a, b], ignore_index=True), 0.9)
    a_val = smoothed[(smoothed["run"] == "A") & (smoothed["metric"] == "loss") & (smoothed["split"] == "val")]
    assert a_val["smoothed"].max() < 5  # B's 100s never leak into A


def test_x_axis_by_step_epoch_or_training_time():
    long = charts.curves_long(metrics_frame(10).assign(elapsed_s=np.arange(10) * 0.5), "r")
    for x, field, title in (("step", "step", "step"), ("epoch", "epoch", "epoch"),
                            ("time", "elapsed_s", "training time (s)")):
        line = lines_of(charts.curve_chart(long, "loss", x=x))[0]
        assert line["encoding"]["x"]["field"] == field and line["encoding"]["x"]["title"] == title
    no_times = charts.curves_long(metrics_frame(10), "r")
    assert len(lines_data(charts.curve_chart(no_times, "loss", x="time"))) == 0  # nothing to place, no error


def test_log_scale_applies_to_loss_only_and_drops_non_positive_values():
    frame = metrics_frame(10)
    frame.loc[3, "train_loss"] = 0.0
    long = charts.curves_long(frame, "r")
    chart = charts.curve_chart(long, "loss", log=True)
    line = lines_of(chart)[0]
    assert line["encoding"]["y"]["scale"]["type"] == "log" and "log" in line["encoding"]["y"]["title"]
    assert (lines_data(chart)["value"] > 0).all()
    accuracy = lines_of(charts.curve_chart(long, "accuracy", log=True))[0]
    assert accuracy["encoding"]["y"]["scale"] == {"domain": [0, 1]}


def test_hover_rule_lists_every_line_at_the_nearest_x():
    long = pd.concat([charts.curves_long(metrics_frame(20), "RNN"), charts.curves_long(metrics_frame(30), "LSTM")])
    out = spec(charts.curve_chart(long, "loss", smooth=0.5))
    (param,) = out["params"]
    assert param["name"] == charts.HOVER and param["views"] == [charts.HOVER_VIEW]
    assert param["select"]["nearest"] is True and param["select"]["fields"] == ["epoch"]
    rule = next(layer for layer in out["layer"] if layer.get("name") == charts.HOVER_VIEW)
    titles = [t["title"] for t in rule["encoding"]["tooltip"]]
    assert titles == ["epoch", "LSTM · train", "LSTM · val", "RNN · train", "RNN · val"]
    filtered = [layer for layer in out["layer"] if layer.get("transform")]
    assert len(filtered) == 2 and all(layer["transform"][0]["filter"]["param"] == charts.HOVER for layer in filtered)
    assert "params" not in spec(charts.curve_chart(long, "loss", hover=False))


def test_hover_frames_pick_each_series_nearest_value_inside_its_own_range():
    shown = pd.DataFrame({"run": ["a", "a", "a", "b", "b"], "split": ["val"] * 5,
                          "elapsed_s": [1.0, 2.0, 3.0, 1.1, 1.9], "value": [10.0, 20.0, 30.0, 5.0, 6.0]})
    shown["smoothed"] = shown["value"]
    aligned, wide, series = charts.hover_frames(shown, "elapsed_s", smoothed=False)
    assert [(c, r) for c, r, _ in series] == [("s0", "a"), ("s1", "b")]
    assert list(wide["elapsed_s"]) == [1.0, 1.1, 1.9, 2.0, 3.0]
    assert list(wide["s0"]) == ["10.0000", "10.0000", "20.0000", "20.0000", "30.0000"]
    assert list(wide["s1"]) == ["", "5.0000", "6.0000", "", ""]  # b ran from 1.1 to 1.9 only
    assert len(aligned) == 5 + 2
    _, wide, _ = charts.hover_frames(shown.assign(smoothed=shown["value"] / 2), "elapsed_s", smoothed=True)
    assert wide["s0"].iloc[0] == "5.0000 (raw 10.0000)"


def test_curve_chart_stays_small_for_long_runs_and_is_valid_vega_lite():
    long = pd.concat([charts.curves_long(metrics_frame(20_000), name) for name in ("a", "b", "c")])
    chart = charts.curve_chart(long, "loss", max_points=120, smooth=0.6, x="step", log=True)
    spec(chart)
    assert all(len(layer.data) <= 3 * 2 * 120 for layer in chart.layer if isinstance(layer.data, pd.DataFrame))
    assert chart.to_dict(validate=True) == chart.to_dict()  # validation is only skipped, nothing else differs


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
    (cell,) = [p for p in out["params"] if "select" in p]  # altair lifts the rect layer's selection to the top
    assert cell["name"] == "cell" and cell["select"]["fields"] == ["true", "predicted"]
    outline = rect["encoding"]["strokeWidth"]["condition"]
    assert outline["param"] == "cell" and outline["empty"] is False  # nothing outlined until a cell is clicked
    assert rect["encoding"]["x"]["axis"]["labelOverlap"] is False  # every category name is shown
    assert out["title"] == "val"


def test_confusion_heatmap_without_selection_and_sized_per_category():
    cats = list("ABCD")
    frame = confusion(cats, np.eye(4) * 3 + 1)
    out = spec(charts.confusion_heatmap(frame, cats, selectable=False, cell=20))
    assert not any("select" in p for p in out.get("params", []))
    assert "strokeWidth" not in out["layer"][0]["encoding"]
    # As wide as its column, `cell` pixels a row; the counts are sized to the cells from the drawn width.
    assert out["width"] == "container" and out["height"] == 80
    assert out["autosize"] == {"type": "fit-x", "contains": "padding"}
    text = out["layer"][1]["mark"]
    assert "width / 4" in text["fontSize"]["expr"] and "height / 4" in text["fontSize"]["expr"]
    assert f">= {charts.COUNT_PARAM}" in text["opacity"]["expr"]  # too small a cell: the tooltip has the count
    assert {"name": charts.COUNT_PARAM, "value": charts.COUNT_FONT_MIN} in out["params"]


def test_confusion_heatmap_has_a_titled_colour_scale():
    cats = list("AB")
    rect = spec(charts.confusion_heatmap(confusion(cats, np.eye(2)), cats))["layer"][0]
    assert "share of the true row" in " ".join(rect["encoding"]["color"]["title"])
    assert rect["encoding"]["color"]["legend"]["format"] == ".0%"


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
    assert out["height"] == 6 * 12 and out["width"] == "container"  # the column's width, whatever the letters
    assert out["encoding"]["x"]["axis"]["labelOverlap"] is False  # every letter is labelled
    assert "width / 4" in out["encoding"]["x"]["axis"]["labelFontSize"]["expr"]  # ... smaller when crowded
    assert "forget gate f: 0 forgets" in " ".join(out["encoding"]["color"]["title"])  # the colour says what it means
    assert out["params"] == [{"name": charts.LETTER_PARAM, "value": charts.LETTER_FONT_MAX}]


def test_letter_axis_type_grows_in_presenter_mode():
    frame = gate_frame(np.zeros((3, 2)), "abc")
    chart = charts.gate_heatmap(frame, "i", "input gate")
    big = charts.themed(chart, 1.6).to_dict()
    assert big["params"] == [{"name": charts.LETTER_PARAM, "value": round(charts.LETTER_FONT_MAX * 1.6)}]
    assert big["config"]["axis"]["labelFontSize"] == round(charts.FONT_SIZE * 1.6) >= 18
    assert chart.to_dict()["params"][0]["value"] == charts.LETTER_FONT_MAX  # the original is left as it was


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


def test_rows_picked_before_the_frame_give_the_same_curves_as_the_whole_frame():
    rows = [{"step": s, "epoch": s / 100, "elapsed_s": s * 0.01, "train_loss": 2.0 / s, "val_loss": 2.2 / s,
             "train_acc": min(1.0, s / 900), "val_acc": min(1.0, s / 1000)} for s in range(1, 1234)]
    picked = charts.rows_frame(rows)
    assert len(picked) == charts.MAX_CURVE_POINTS
    assert picked["step"].iloc[0] == 1 and picked["step"].iloc[-1] == 1233  # first and last kept
    pd.testing.assert_frame_equal(charts.curves_long(picked, "r"), charts.curves_long(pd.DataFrame(rows), "r"))
    assert len(charts.rows_frame(rows[:10])) == 10


def test_prefix_chart_draws_the_top_five_and_its_legend_lists_exactly_those():
    # Seven categories; the final leader (German) is drawn and named first, the two that never rise are left out.
    probabilities = {"German": [0.1, 0.5, 0.9], "Dutch": [0.3, 0.3, 0.05], "English": [0.4, 0.1, 0.02],
                     "Czech": [0.05, 0.05, 0.01], "Irish": [0.06, 0.02, 0.008], "Greek": [0.01, 0.01, 0.005],
                     "Korean": [0.005, 0.005, 0.005]}
    rows = [(t + 1, f"{t + 1}:{'abc'[t]}", "abc"[: t + 1], category, p[t])
            for category, p in probabilities.items() for t in range(3)]
    prefix = pd.DataFrame(rows, columns=["step", "char", "prefix", "category", "probability"])
    assert charts.prefix_top(prefix) == ["German", "Dutch", "English", "Czech", "Irish"]
    chart = charts.prefix_chart(prefix)
    out = spec(chart)
    shown = out["encoding"]["color"]["scale"]["domain"]
    assert shown == ["German", "Dutch", "English", "Czech", "Irish"]
    assert set(chart.data["category"]) == set(shown)  # drawn == listed
    assert out["encoding"]["color"]["legend"]["columns"] == charts.LEGEND_COLUMNS  # rows of entries, none cut off


def test_wrapped_titles_keep_every_word_and_never_exceed_the_line_length():
    assert charts.wrap_title("input gate") == "input gate"
    lines = charts.wrap_title("prediction as each character of the surname is read, letter by letter", 20)
    assert isinstance(lines, list) and all(len(line) <= 20 for line in lines)
    assert " ".join(lines) == "prediction as each character of the surname is read, letter by letter"


def test_every_builder_carries_the_one_theme_and_fills_its_column():

    means = pd.DataFrame({"step": [1, 2], "char": ["1:a", "2:b"], "gate": ["input gate"] * 2, "mean": [0.2, 0.4]})
    flow = pd.DataFrame({"model": "RNN", "stage": "trained", "distance": [0, 1], "mean_norm": [1.0, 0.5],
                         "relative": [1.0, 0.5], "names": [30, 30]})
    built = [charts.gate_means_chart(means), charts.top_chart([("A", 0.9)]), charts.gradient_flow_chart(flow),
             charts.confusion_heatmap(confusion(["A", "B"], np.eye(2)), ["A", "B"]),
             charts.curve_chart(charts.curves_long(None), "loss")]
    for chart in built:
        out = chart.to_dict()
        theme = charts.theme().to_dict()
        assert {key: out["config"].get(key) for key in theme} == theme, type(chart)
        assert out["width"] == "container" and out["autosize"]["type"] == "fit-x"
    assert charts.theme(1.6).to_dict()["axis"]["labelFontSize"] >= 18  # presenter mode on a projector


# ---------------------------------------------------------------- category colours, attribution axes


def _relative_luminance(colour: str) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _lab(colour: str) -> np.ndarray:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    rgb = np.array([linear(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5)])
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    xyz /= np.array([0.95047, 1.0, 1.08883])  # D65 white
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_category_colours_keep_eighteen_languages_apart_and_visible_on_white():
    colours = charts.CATEGORY_COLOURS
    assert len(set(colours)) >= 18
    for colour in colours:  # no pastel: every dot stands out from the white page
        assert 1.05 / (_relative_luminance(colour) + 0.05) >= 2.2, colour
    labs = [_lab(c) for c in colours]
    closest = min(np.linalg.norm(a - b) for i, a in enumerate(labs) for b in labs[i + 1 :])
    assert closest >= 25  # no two categories share a hue (Russian and Scottish were both grey)


def test_hidden_path_map_writes_each_category_on_the_map_with_the_datasets_noun():
    background = pd.DataFrame({"x": [0.0, 1.0, 5.0, 6.0], "y": [0.0, 1.0, 5.0, 6.0],
                               "category": ["Paris", "Paris", "Lyon", "Lyon"], "name": list("abcd")})
    path = pd.DataFrame({"series": ["1. ab"] * 2, "position": [0, 1], "label": ["0:a", "1:b"],
                         "letter": ["a", "b"], "x": [0.0, 1.0], "y": [0.0, 1.0]})
    built = spec(charts.hidden_path_chart(background, path, (0.5, 0.2), noun="city"))
    titles = [layer["encoding"]["color"].get("title") for layer in built["layer"] if "color" in layer["encoding"]]
    assert "validation names' final state, by city" in titles
    assert not any("language" in str(t) for t in titles)
    labels = [layer for layer in built["layer"] if layer["mark"]["type"] == "text"
              and layer["encoding"].get("text", {}).get("field") == "category"]
    assert labels, "the categories are written on the map"
    assert all(any(step.get("groupby") == ["category"] for step in layer.get("transform", []))
               for layer in labels)  # one label per category, at the middle of its dots
    dots = next(layer for layer in built["layer"] if layer["mark"]["type"] == "circle")
    assert dots["encoding"]["color"]["scale"]["range"] == charts.CATEGORY_COLOURS
    assert dots["mark"]["opacity"] >= 0.6


def test_each_attribution_has_its_own_axis_titled_with_what_it_measures():
    frame = pd.DataFrame({"position": [0, 1, 2], "label": ["0:a", "1:b", "2:c"], "letter": list("abc"),
                          "occlusion": [0.36, -0.05, np.nan], "gradient_x_input": [0.02, 0.4, -0.1]})
    occlusion = spec(charts.attribution_chart(frame, "Polish", "occlusion"))
    gradient = spec(charts.attribution_chart(frame, "Polish", "gradient_x_input"))
    y_occ, y_grad = occlusion["encoding"]["y"], gradient["encoding"]["y"]
    assert y_occ["title"] != y_grad["title"]
    assert "share of the prediction" not in str(y_occ["title"]) + str(y_grad["title"])
    assert "probability" in " ".join(np.atleast_1d(y_occ["title"])) and y_occ["axis"]["format"].endswith("%")
    assert "log" in " ".join(np.atleast_1d(y_grad["title"])) and not y_grad["axis"]["format"].endswith("%")
    assert "left out" in " ".join(np.atleast_1d(occlusion["title"])) and "Polish" in str(occlusion["title"])
    assert "gradient × input" in " ".join(np.atleast_1d(gradient["title"]))
    shown = {name: built["datasets"][built["data"]["name"]] for name, built in
             (("occlusion", occlusion), ("gradient", gradient))}
    assert [row["value"] for row in shown["occlusion"]] == [0.36, -0.05]  # the letter with nothing left is not drawn
    assert [row["value"] for row in shown["gradient"]] == [0.02, 0.4, -0.1]
    with pytest.raises(ValueError, match="occlusion"):
        charts.attribution_chart(frame, "Polish", "share")
