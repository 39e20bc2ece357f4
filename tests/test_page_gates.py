"""The Gates page's explanations through AppTest: every view draws what rnnviz.inside computes, the cell view
steps and plays through a name, interventions sit next to the unchanged prediction, and an RNN run gets the parts
that apply with a reason for the rest."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import inside
from rnnviz import inside as memory
from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.runs import load_run, train_run
from tests.helpers import APP, assert_clean, chart_frames, charts_of, open_page
from ui import keys, nav

pytestmark = pytest.mark.usefixtures("fresh_app")



@pytest.fixture
def runs(tiny_data, fresh_app, isolated_runs) -> dict[str, str]:
    ids = {}
    for model in ("rnn", "lstm"):  # the LSTM is the newest, so the page opens on it
        writer, result = train_run(TrainConfig(model=model, hidden_size=8, epochs=1, batch_size=8),
                                   load_folder(tiny_data), isolated_runs)
        assert result is not None and result.status == "finished"
        ids[model] = writer.run_id
    return ids


def open_gates(name: str = "Borov", second: str = "") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(nav.GATES).run()
    at.text_input(key=keys.GATES_NAME).input(name)
    at.text_input(key=keys.GATES_SECOND).input(second).run()
    assert_clean(at)
    return at


def view(at: AppTest, which: str) -> AppTest:
    at.button_group(key=keys.GATES_VIEW).set_value(which).run()
    assert_clean(at)
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """Chart specs by title (the top-3 bars have none)."""
    found = {}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title")
        found[title if isinstance(title, str) else json.dumps(title)] = {"spec": spec, "chart": chart}
    return found


def frames(chart) -> list:
    out = [pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pandas() for d in chart.proto.datasets]
    if chart.proto.data.data:
        out.append(pa.ipc.open_stream(io.BytesIO(chart.proto.data.data)).read_all().to_pandas())
    return out


def the_run(run_id: str, isolated_runs: Path):
    return load_run(isolated_runs / run_id)


def test_cell_view_shows_the_step_with_its_numbers_and_steps_through_the_letters(runs, isolated_runs):
    at = open_gates("Borov")
    run = the_run(runs["lstm"], isolated_runs)
    assert at.session_state[keys.GATES_LETTER] == 4  # the last letter first: the step that decides
    unit = at.selectbox(key=keys.keyed(keys.GATES_UNIT, runs["lstm"], "Borov")).value
    top_unit = inside.unit_contributions(run.model, run.categories, "Borov").frame["unit"][0]
    assert unit == top_unit
    step = inside.cell_step(run.model, run.categories, "Borov", 4, unit)
    diagram = next(c for c in at.get("vega_lite_chart") if c.proto.alt.startswith(f"Unit {unit} at letter 5"))
    assert f"c = {step.values['c']:.2f}, h = {step.values['h']:.2f}" in diagram.proto.alt
    equations = " ".join(m.value for m in at.markdown)
    for line in step.equations:
        assert line in equations
    at.button(key="gates.back").click().run()
    assert_clean(at)
    assert at.session_state[keys.GATES_LETTER] == 3
    earlier = inside.cell_step(run.model, run.categories, "Borov", 3, unit)
    assert any(earlier.equations[4] in m.value for m in at.markdown)  # c = f·c_prev + i·g at the 4th letter
    bars = next(v for k, v in charts(at).items() if "every unit" in k)
    cells = frames(bars["chart"])[0]
    assert len(cells) == 8 and sorted(cells["unit"]) == list(range(8))
    at.button(key="gates.next").click().run()
    assert at.session_state[keys.GATES_LETTER] == 4 and at.button(key="gates.next").disabled


def test_play_steps_through_the_name_one_letter_a_tick_and_stops_at_the_end(runs):
    at = open_gates("Abe")
    at.button(key="gates.play").click().run()
    assert_clean(at)
    assert at.session_state[keys.GATES_LETTER] == 0 and keys.GATES_PLAYING in at.session_state
    seen = [0]
    for _ in range(6):  # each timer tick reruns the cell view; AppTest reruns the page by hand
        time.sleep(1.0)
        at.run()
        assert_clean(at)
        seen.append(at.session_state[keys.GATES_LETTER])
        if keys.GATES_PLAYING not in at.session_state:
            break
    assert seen[:3] == [0, 1, 2] and seen[-1] == 2
    assert keys.GATES_PLAYING not in at.session_state  # stopped at the last letter
    assert [b for b in at.button if b.key == "gates.play"]  # and offers to play again


def test_units_view_shows_contributions_the_explorer_and_the_span_search(runs, isolated_runs):
    at = view(open_gates("Borov"), "units")
    run = the_run(runs["lstm"], isolated_runs)
    contributions = inside.unit_contributions(run.model, run.categories, "Borov")
    found = charts(at)
    bars = frames(found[f"units that decide {contributions.category}"]["chart"])[0]
    assert bars["unit"].tolist() == contributions.frame["unit"].head(12).tolist()
    assert any(f"logit {contributions.logit:.2f}" in c.value for c in at.caption)
    unit = at.selectbox(key=keys.keyed(keys.GATES_EXPLORE_UNIT, runs["lstm"], "Borov")).value
    strips = frames(found[f"where unit {unit} is most positive (+) and negative (−)"]["chart"])[0]
    assert strips["row"].str.startswith("+ ").any() and strips["row"].str.startswith("− ").any()
    assert at.selectbox(key=keys.GATES_EXPLORE_KEY).options == ["cell state c", "hidden state h"]
    at.selectbox(key=keys.GATES_UNIT_ORDER).set_value("variance").run()
    assert_clean(at)
    text = " ".join(m.value for m in at.markdown) + " ".join(i.value for i in at.info)
    assert "'rov'" in text  # the default span: the name's last three letters


def test_why_view_draws_attribution_and_both_names_paths(runs, isolated_runs):
    at = view(open_gates("Borov", "Tunson"), "why")
    run = the_run(runs["lstm"], isolated_runs)
    result = inside.attribution(run.model, run.categories, "Borov")
    found = charts(at)
    for measure in ("occlusion", "gradient_x_input"):  # each on its own chart, on its own axis
        words = measure.replace("_x_", " × ")
        title = next(t for t in found if t.startswith("[") and " ".join(json.loads(t)).startswith(words)
                     and result.category in t)
        drawn = frames(found[title]["chart"])[0]
        expected = result.frame[measure].dropna().round(6).tolist()
        assert drawn["value"].round(6).tolist() == expected
    assert found[title]["spec"]["encoding"]["y"]["axis"]["format"] == "+.2f"  # log-probability units, not %
    path = next(f for f in frames(found["the hidden state's path as the letters are read"]["chart"])
                if "series" in f)
    assert sorted(path["series"].unique()) == ["1. Borov", "2. Tunson"] and len(path) == 5 + 6


def test_what_if_view_puts_the_intervention_next_to_the_unchanged_prediction(runs, isolated_runs):
    at = view(open_gates("Borov"), "whatif")
    run = the_run(runs["lstm"], isolated_runs)
    expected = inside.what_if(run.model, run.categories, "Borov", {"f": 0.0}, at=3)  # the default: f = 0, 4th letter
    assert any(f"What if:** {expected.description}" in m.value for m in at.markdown)
    drawn = frames(charts(at)["prediction: unchanged and what if"]["chart"])[0]
    assert sorted(drawn["version"].unique()) == ["unchanged", "what if"]
    ours = drawn.set_index(["category", "version"])["probability"]
    for category, p in expected.intervened.top():
        assert ours[(category, "what if")] == pytest.approx(p, abs=1e-6)
    at.selectbox(key=keys.GATES_CLAMP_GATE).set_value("none")
    at.selectbox(key=keys.keyed(keys.GATES_RESET, "Borov")).set_value(2).run()
    assert_clean(at)
    reset = inside.what_if(run.model, run.categories, "Borov", reset_at=2)
    assert any(f"What if:** {reset.description}" in m.value for m in at.markdown)
    assert "3rd letter ('r')" in reset.description
    at.selectbox(key=keys.GATES_CLAMP_GATE).set_value("i")
    at.slider(key=keys.GATES_CLAMP_VALUE).set_value(1.0)
    at.selectbox(key=keys.keyed(keys.GATES_CLAMP_UNIT, runs["lstm"])).set_value(2)
    at.selectbox(key=keys.GATES_CLAMP_WHERE).set_value("from").run()
    assert_clean(at)
    both = inside.what_if(run.model, run.categories, "Borov", {"i": 1.0}, start=3, unit=2, reset_at=2)
    assert any(f"What if:** {both.description}" in m.value for m in at.markdown)


def test_an_rnn_run_gets_what_applies_and_a_reason_for_the_gate_views(runs, isolated_runs):
    at = open_gates("Borov")
    at.selectbox(key=keys.GATES_RUN).set_value(runs["rnn"]).run()
    assert_clean(at)
    # the cell view is the RNN's step, its numbers plugged in, at the last letter for the deciding unit
    run = the_run(runs["rnn"], isolated_runs)
    step = memory.rnn_step(run.model, run.categories, "Borov", 4)
    assert at.selectbox(key=keys.keyed(keys.GATES_UNIT, runs["rnn"], "Borov")).value == step.unit
    assert any(step.equations[0] in m.value for m in at.markdown)
    view(at, "memory")  # the RNN's h over the letters, the LSTM's deciding unit beside it
    drawn = [f for v in charts(at).values() for f in frames(v["chart"])[:1] if "state" in f and "key" in f]
    assert len(drawn) == 2
    assert sorted(drawn[0]["key"].unique()) == ["h"]
    assert sorted(drawn[1]["key"].unique()) == ["c", "f", "h", "i", "o"]
    assert drawn[0]["value"].round(5).tolist() == memory.memory_over_time(
        run.model, run.categories, "Borov", step.unit).values("h").round(5).tolist()
    view(at, "heatmaps")
    assert any("RNN has no gates" in i.value for i in at.info)
    view(at, "units")
    assert at.selectbox(key=keys.GATES_EXPLORE_KEY).options == ["hidden state h"]
    assert "gate saturation" not in at.selectbox(key=keys.GATES_UNIT_ORDER).options
    view(at, "why")
    assert "the hidden state's path as the letters are read" in charts(at)
    view(at, "whatif")
    assert any("no gates to clamp" in i.value for i in at.info)
    at.selectbox(key=keys.keyed(keys.GATES_RESET, "Borov")).set_value(1).run()
    assert_clean(at)
    assert any("reset to 0 before the 2nd letter" in m.value for m in at.markdown)


@pytest.mark.parametrize("which", ["cell", "units", "why", "whatif", "heatmaps"])
def test_every_view_takes_a_64_letter_name_and_shows_every_letter(runs, which):
    name = ("Borovtunsonashi" * 5)[:64]
    at = view(open_gates(name), which)
    if which in ("cell", "whatif"):
        base = keys.GATES_LETTER_SLIDER if which == "cell" else keys.GATES_CLAMP_LETTER
        slider = at.select_slider(key=keys.keyed(base, name))
        assert len(slider.options) == 64
    if which == "why":
        found = charts(at)
        drawn = [v for k, v in found.items() if "occlusion" in k or "gradient" in k]
        assert len(drawn) == 2
        for chart in drawn:
            assert len(chart["spec"]["encoding"]["x"]["sort"]) == 64
            assert chart["spec"]["encoding"]["x"]["axis"]["labelOverlap"] is False
    if which == "heatmaps":
        heat = charts(at)["input gate"]["spec"]
        assert len(heat["encoding"]["x"]["sort"]) == 64


def test_every_explanation_chart_is_valid_vega_lite():
    """The explanation charts skip altair's validation when drawn (for speed), so it is done here once."""
    import numpy as np
    import pandas as pd

    from rnnviz import charts

    values = {k: 0.5 for k in ("c_prev", "h_prev", "i", "f", "g", "o", "f_c", "i_g", "c", "tanh_c", "h")}
    units = pd.DataFrame({"unit": [0, 1], **{k: [0.1, -0.2] for k in ("c_prev", "f", "i", "g", "o", "c",
                                                                       "delta_c", "h")}})
    strips = charts.letter_strips_frame([("+ Abe (A)", "Abe", [0.1, 0.9, -0.8])])
    built = [charts.cell_diagram(values, "a", 0, scale=1.6), charts.unit_step_bars(units, 1),
             charts.letter_strips(strips, "t", "v", scale=1.6)]
    for chart in built:
        spec = chart.to_dict(validate=True)
        assert spec["title"] and spec["layer"]
    from rnnviz import export

    contributions = pd.DataFrame({"unit": [3, 1], "h": [0.5, -0.2], "weight": [1.0, 2.0], "contribution": [0.5, -0.4]})
    attribution = pd.DataFrame({"position": [0, 1], "label": ["0:A", "1:b"], "letter": ["A", "b"],
                                "occlusion": [np.nan, 0.3], "gradient_x_input": [0.1, 0.2]})
    path = pd.DataFrame({"series": ["1. Ab"] * 2, "position": [0, 1], "label": ["0:A", "1:b"], "letter": ["A", "b"],
                         "x": [0.0, 1.0], "y": [1.0, 0.0]})
    background = pd.DataFrame({"x": [0.0, 1.0], "y": [0.5, 0.2], "category": ["A", "B"], "name": ["Ab", "Ba"]})
    whatif = pd.DataFrame({"category": ["A", "A"], "version": ["unchanged", "what if"], "probability": [0.6, 0.2]})
    matches = pd.DataFrame({"category": ["A", "A"], "shares": ["yes", "no"], "names": [3, 1]})
    built += [charts.contributions_chart(contributions, "A"), charts.attribution_chart(attribution, "A"),
              charts.hidden_path_chart(background, path, (0.3, 0.1)), charts.what_if_chart(whatif),
              charts.span_matches_chart(matches, "ov")]
    for chart in built:  # Vega-Lite compiles and draws each (a valid spec can still fail to draw)
        assert export.chart_bytes(chart, "svg").lstrip().startswith(b"<svg")
    nodes, edges, heads = charts.cell_frames(values, "a")
    assert len(nodes) == len(charts.CELL_NODES) and np.isnan(nodes.set_index("line1")["value"]["letter 'a'"])
    assert set(heads["angle"]) <= {0, 90, 180, 270} and len(edges) == len(charts.CELL_EDGES)


def test_a_name_that_cleans_to_a_trailing_space_keeps_every_view_in_range(runs):
    at = open_gates("Borovtunsonashi")
    for which in ("cell", "units", "why", "whatif"):
        view(at, which)
        at.text_input(key=keys.GATES_NAME).input("Łukasz-Żółć 2").run()  # "ukaszZoc " before the 2 is dropped
        assert_clean(at)
        at.text_input(key=keys.GATES_NAME).input("Borovtunsonashi").run()
        assert_clean(at)


def test_a_pasted_overlong_surname_keeps_its_first_64_letters_and_says_so(runs):
    at = open_gates("Ab" * 100)
    captions = [c.value for c in at.caption]
    assert any("cut to the first 64 letters" in text for text in captions), captions
    assert at.text_input(key=keys.GATES_NAME).value == "Ab" * 100  # what was typed stays as typed


# ---------------------------------------------------------------- gates page (the app's own checks)


def heatmap(at: AppTest, title: str):
    return next(c for c in charts_of(at) if json.loads(c.proto.spec).get("title") == title)


def heatmap_units(at: AppTest, title: str) -> list[int]:
    """The unit order of a gate heatmap's rows, as the chart's y axis sorts them."""
    return [int(u) for u in json.loads(heatmap(at, title).proto.spec)["encoding"]["y"]["sort"]]


@pytest.mark.parametrize("typed", ["", "1234", "😀😀", "   "])
def test_gates_bad_input_gives_a_message_not_an_exception(typed, tiny_runs):
    at = open_page(nav.GATES)
    at.text_input(key="gates.name").input(typed)
    at.text_input(key="gates.second").input("").run()
    assert not at.exception
    assert not at.error
    assert at.warning and ("empty" in at.warning[0].value or "no letters" in at.warning[0].value)
    assert not charts_of(at)


def test_gates_names_dropped_characters(tiny_runs):
    at = open_page(nav.GATES)
    at.text_input(key="gates.name").input("Ashi-Müller!")
    at.text_input(key="gates.second").input("").run()
    assert_clean(at)
    assert any("AshiMuller" in c.value and "ignored characters" in c.value for c in at.caption)


def test_gates_orders_units_and_shows_extra_states(tiny_runs):
    at = open_page(nav.GATES)
    at.button_group(key="gates.view").set_value("heatmaps")
    at.text_input(key="gates.second").input("").run()
    by_index = heatmap_units(at, "input gate")
    at.button_group(key="gates.order").set_value("mean")
    at.button_group(key="gates.extra").set_value(["c"]).run()
    assert_clean(at)
    by_mean = heatmap_units(at, "input gate")
    assert by_index == sorted(by_index) and sorted(by_mean) == by_index
    means = chart_frames(heatmap(at, "input gate"))[0].groupby("unit")["value"].mean()
    assert list(means.loc[by_mean]) == sorted(means, reverse=True)
    titles = [json.loads(c.proto.spec).get("title") for c in charts_of(at)]
    assert "cell state c" in titles and "input gate" in titles


def test_gates_replays_learning_from_snapshots(tiny_runs):
    at = open_page(nav.GATES)
    at.selectbox(key="gates.run").set_value(tiny_runs["mylstm"])
    at.text_input(key="gates.name").input("Borov")
    at.text_input(key="gates.second").input("").run()
    final = next(c.proto.alt for c in charts_of(at) if c.proto.alt.startswith("Top predictions"))
    slider = at.select_slider(key=f"gates.snapshot.{tiny_runs['mylstm']}")
    assert list(slider.options) == ["initialisation", "after epoch 1", "after epoch 2", "final"]
    slider.set_value(0).run()
    assert_clean(at)
    initial = next(c.proto.alt for c in charts_of(at) if c.proto.alt.startswith("Top predictions"))
    assert initial != final  # the untrained weights predict something else


def test_gates_traces_a_real_surname_on_a_real_data_lstm_run(real_dataset, isolated_runs, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(real_dataset.source))
    config = TrainConfig(model="lstm", epochs=1, batch_size=128)
    train_run(config, real_dataset, isolated_runs)
    at = open_page(nav.GATES)
    at.button_group(key="gates.view").set_value("heatmaps")
    at.text_input(key="gates.name").input("Nakamura")
    at.text_input(key="gates.second").input("Schmidt").run()
    assert_clean(at)
    tops = [c.proto.alt for c in charts_of(at) if c.proto.alt.startswith("Top predictions")]
    assert len(tops) == 2
    for top in tops:
        categories = [part.rsplit(" ", 1)[0] for part in top.removeprefix("Top predictions: ").split(", ")]
        assert len(categories) == 3 and set(categories) <= set(real_dataset.categories)
    cells = chart_frames(heatmap(at, "forget gate"))[0]
    assert len(cells) == len("Nakamura") * 64 and cells["value"].between(0, 1).all()




def experiment_letter(at: AppTest) -> str:
    """The letter the What if sentence says the experiment ran at, e.g. "4th letter ('a')"."""
    text = next(m.value for m in at.markdown if m.value.startswith("**What if:**"))
    return text.split(" at the ", 1)[1].split(")", 1)[0] + ")"


def test_what_if_controls_follow_the_surname_and_the_experiment_uses_what_they_show(runs):
    """Kowalski at its 6th letter, then O'Neill, then Kowalski again: a name's controls start on their defaults
    (the 4th letter, no reset), and the experiment runs at exactly the letter the control shows."""
    at = view(open_gates("Kowalski"), "whatif")
    at.select_slider(key=keys.keyed(keys.GATES_CLAMP_LETTER, "Kowalski")).set_value(5).run()
    assert experiment_letter(at) == "6th letter ('s')"
    at.text_input(key=keys.GATES_NAME).input("O'Neill").run()
    assert_clean(at)
    control = at.select_slider(key=keys.keyed(keys.GATES_CLAMP_LETTER, "O'Neill"))
    assert control.value == 3 and control.format_func(control.value) == "4: e"
    assert experiment_letter(at) == "4th letter ('e')"
    at.selectbox(key=keys.keyed(keys.GATES_RESET, "O'Neill")).set_value(1).run()
    assert "reset to 0 before the 2nd letter" in " ".join(m.value for m in at.markdown)
    at.text_input(key=keys.GATES_NAME).input("Kowalski").run()
    assert_clean(at)
    assert at.select_slider(key=keys.keyed(keys.GATES_CLAMP_LETTER, "Kowalski")).value == 3
    assert at.selectbox(key=keys.keyed(keys.GATES_RESET, "Kowalski")).value == "none"
    assert experiment_letter(at) == "4th letter ('a')"
    assert "reset" not in " ".join(m.value for m in at.markdown if m.value.startswith("**What if:**"))


def test_the_cell_and_units_controls_start_on_each_names_deciding_unit(runs, isolated_runs):
    run = the_run(runs["lstm"], isolated_runs)
    at = view(open_gates("Borov"), "units")
    for name in ("Tunson", "Borov"):
        at.text_input(key=keys.GATES_NAME).input(name).run()
        assert_clean(at)
        top = int(inside.unit_contributions(run.model, run.categories, name).frame["unit"][0])
        assert at.selectbox(key=keys.keyed(keys.GATES_EXPLORE_UNIT, runs["lstm"], name)).value == top
    view(at, "cell")
    top = int(inside.unit_contributions(run.model, run.categories, "Borov").frame["unit"][0])
    assert at.selectbox(key=keys.keyed(keys.GATES_UNIT, runs["lstm"], "Borov")).value == top


def test_a_click_on_a_heatmap_cell_or_an_attribution_bar_names_the_letter_and_unit_to_open():
    from ui.gates_common import picked_cell

    assert picked_cell({"selection": {"pick": [{"step": 2, "unit": 7}]}}, "Borov") == (2, 7)
    assert picked_cell({"selection": {"pick": [{"position": 4}]}}, "Borov") == (4, None)
    assert picked_cell({"selection": {"pick": []}}, "Borov") is None  # a double click cleared it
    assert picked_cell({"selection": {"pick": [{"step": 9, "unit": 1}]}}, "Borov") is None  # not a letter of it
    assert picked_cell(None, "Borov") is None


def test_heatmaps_and_attribution_bars_are_clickable_and_say_so(runs):
    at = view(open_gates("Borov"), "heatmaps")
    heat = charts(at)["input gate"]
    assert any(p.get("name") == "pick" and p["select"]["fields"] == ["step", "unit"]
               for p in heat["spec"].get("params", []))
    assert list(heat["chart"].proto.selection_mode) == ["pick"]  # drawn with on_select: a click reruns the page
    assert any("open the Cell step at that letter and unit" in c.value for c in at.caption)
    view(at, "why")
    bars = [v for k, v in charts(at).items() if "occlusion" in k or "gradient" in k]
    assert len(bars) == 2 and all(list(b["chart"].proto.selection_mode) == ["pick"] for b in bars)
