"""rnnviz.inside in micrograd's style: every number the Gates page shows is computed a second, independent way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.views import measure_views
from rnnviz import inside
from rnnviz.data import CHAR_INDEX, N_LETTERS, encode
from rnnviz.evaluate import predict
from rnnviz.models import LSTM, MyLSTM, one_hot
from rnnviz.registry import build_model

CATEGORIES = ["Ashi", "Borov", "Tunson"]
NAMES = ["Kowalski", "O'Neill", "Li", "Nakamura"]
TOLERANCE = 1e-5


def seeded(name: str, hidden: int = 10, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(name, N_LETTERS, hidden, len(CATEGORIES))
    return model.eval()


def probability(model, name: str, category: str) -> float:
    top = predict(model, CATEGORIES, [name], top_k=len(CATEGORIES))[0].top
    return dict(top)[category]


@pytest.fixture
def pairs(tiny_dataset) -> list[tuple[str, int]]:
    return list(zip(tiny_dataset.names, tiny_dataset.labels))


# --------------------------------------------------------------------------- where the prediction comes from


@pytest.mark.parametrize("kind", ["lstm", "mylstm", "rnn"])
@pytest.mark.parametrize("name", NAMES)
def test_occlusion_equals_predict_on_the_name_without_that_letter(kind, name):
    model = seeded(kind)
    result = inside.attribution(model, CATEGORIES, name)
    assert result.category == predict(model, CATEGORIES, [name])[0].top[0][0]
    assert result.probability == pytest.approx(probability(model, name, result.category), abs=TOLERANCE)
    for t, row in enumerate(result.frame.itertuples(index=False)):
        without = name[:t] + name[t + 1 :]
        expected = result.probability - probability(model, without, result.category)
        assert row.letter == name[t] and row.occlusion == pytest.approx(expected, abs=TOLERANCE)


def test_occlusion_of_a_one_letter_name_is_undefined_and_json_says_null():
    result = inside.attribution(seeded("lstm"), CATEGORIES, "Z")
    assert np.isnan(result.frame["occlusion"][0])
    assert result.to_json()["letters"] == [{"letter": "Z", "occlusion": None,
                                            "gradient_x_input": pytest.approx(result.frame["gradient_x_input"][0])}]


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_gradient_x_input_is_the_log_probabilitys_change_for_swapping_the_letter_for_nothing_to_first_order(kind):
    """For a one-hot x_t, grad · x_t is the directional derivative along x_t: check it by finite differences."""
    model = seeded(kind)
    name = "Kowalski"
    result = inside.attribution(model, CATEGORIES, name)
    k = CATEGORIES.index(result.category)
    chars, lengths = encode([name])
    x = one_hot(chars).double()
    model = model.double()
    eps = 1e-6
    for t in (0, 3, 7):
        bumped = x.clone()
        bumped[0, t] *= 1 + eps
        with torch.no_grad():
            change = (model.forward_onehot(bumped, lengths)[0, k] - model.forward_onehot(x, lengths)[0, k]) / eps
        assert result.frame["gradient_x_input"][t] == pytest.approx(float(change), abs=1e-4)


@pytest.mark.parametrize("kind", ["lstm", "mylstm", "rnn"])
def test_unit_contributions_and_the_bias_sum_to_the_logit(kind):
    model = seeded(kind)
    name = "Kowalski"
    result = inside.unit_contributions(model, CATEGORIES, name)
    chars, lengths = encode([name])
    k = CATEGORIES.index(result.category)
    with torch.no_grad():
        if kind == "lstm":  # the logit straight from nn.LSTM, no MyLSTM involved
            outputs, _ = model.rnn(one_hot(chars).transpose(0, 1))
            logits = model.out(outputs[-1])[0]
        elif kind == "mylstm":
            logits = model.out(model.trace(chars, lengths).h[0, -1])
        else:  # the RNN's read-out sees the last letter and the state before it
            x = one_hot(chars)
            before = model.states(x)[0, -2]  # (H,) the state before the last letter
            logits = model.i2o(torch.cat([x[0, -1], before]))
        log_probs = model(chars, lengths)[0]
    assert result.category == CATEGORIES[int(log_probs.argmax())]
    total = result.frame["contribution"].sum() + result.bias + result.rest
    assert total == pytest.approx(float(logits[k]), abs=TOLERANCE) and result.logit == pytest.approx(total)
    assert torch.allclose(torch.log_softmax(logits, 0), log_probs, atol=TOLERANCE)
    sizes = result.frame["contribution"].abs().to_numpy()
    assert list(sizes) == sorted(sizes, reverse=True)  # the units that decide come first


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_the_hidden_paths_last_point_is_the_projection_of_the_final_state(kind, pairs):
    model = seeded(kind)
    atlas = inside.build_atlas(model, CATEGORIES, pairs)
    result = inside.hidden_path(model, CATEGORIES, atlas, ["Kowalski", "Li"])
    assert list(result.path["series"].unique()) == ["1. Kowalski", "2. Li"]
    chars, lengths = encode(["Kowalski"])
    with torch.no_grad():
        if kind == "lstm":
            outputs, _ = model.rnn(one_hot(chars).transpose(0, 1))
            final = outputs[-1].numpy()  # (1, H)
        else:
            x = one_hot(chars)
            final = model.i2h(torch.cat([x[:, -1], model.states(x)[:, -2]], dim=1)).numpy()
    last = result.path[result.path["series"] == "1. Kowalski"].iloc[-1]
    np.testing.assert_allclose([last["x"], last["y"]], atlas.pca.transform(final)[0], atol=1e-4)
    assert len(result.background) == len(pairs) and set(result.background["category"]) == set(CATEGORIES)


# --------------------------------------------------------------------------- what if


@pytest.mark.parametrize("kind", ["lstm", "mylstm", "rnn"])
@pytest.mark.parametrize("t", [1, 3, 7])
def test_resetting_the_state_before_letter_t_equals_predicting_the_rest_of_the_name(kind, t):
    model = seeded(kind)
    name = "Kowalski"
    result = inside.what_if(model, CATEGORIES, name, reset_at=t)
    expected = predict(model, CATEGORIES, [name[t:]], top_k=3)[0].top
    assert [c for c, _ in result.intervened.top()] == [c for c, _ in expected]
    np.testing.assert_allclose([p for _, p in result.intervened.top()], [p for _, p in expected], atol=TOLERANCE)


@pytest.mark.parametrize("kind", ["lstm", "mylstm"])
@pytest.mark.parametrize("t", [0, 2, 5])
def test_forget_one_and_input_zero_from_letter_t_keep_the_cell_state_constant(kind, t):
    model = seeded(kind)
    reading = inside.read_name(model, CATEGORIES, "Kowalski", {"f": 1.0, "i": 0.0}, start=t)
    c = reading.values["c"]  # (T, H)
    before = c[t - 1] if t > 0 else np.zeros(c.shape[1])
    np.testing.assert_array_equal(c[t:], np.broadcast_to(before, c[t:].shape))
    unchanged = inside.read_name(model, CATEGORIES, "Kowalski")
    np.testing.assert_array_equal(c[:t], unchanged.values["c"][:t])  # letters before t are read as ever


def test_clamping_one_unit_at_one_letter_changes_only_that_unit_there():
    model = seeded("lstm")
    reading = inside.read_name(model, CATEGORIES, "Kowalski", {"f": 0.0}, at=4, unit=2)
    unchanged = inside.read_name(model, CATEGORIES, "Kowalski")
    f, f0 = reading.values["f"], unchanged.values["f"]
    assert f[4, 2] == 0.0 and np.array_equal(f[:4], f0[:4]) and np.array_equal(np.delete(f[4], 2), np.delete(f0[4], 2))
    c_prev = unchanged.values["c"][3]
    # with f = 0 the unit forgets what came before: its c is just i * g
    assert reading.values["c"][4, 2] == pytest.approx(unchanged.values["i"][4, 2] * unchanged.values["g"][4, 2])
    assert c_prev[2] != 0


@pytest.mark.parametrize("kind", ["lstm", "mylstm", "rnn"])
def test_clamping_nothing_changes_nothing(kind):
    model = seeded(kind)
    for name in NAMES:
        result = inside.what_if(model, CATEGORIES, name)
        assert result.description == "no intervention"
        assert result.intervened.top() == result.unchanged.top()
        np.testing.assert_allclose([p for _, p in result.unchanged.top()],
                                   [p for _, p in predict(model, CATEGORIES, [name])[0].top], atol=TOLERANCE)


@pytest.mark.parametrize("bad, message", [
    ({"clamps": {"f": 1.5}}, "[0, 1]"), ({"clamps": {"g": 0.5}}, "cannot clamp"),
    ({"clamps": {"f": 0.0}, "at": 8}, "out of range"), ({"reset_at": -1}, "out of range"),
    ({"clamps": {"f": 0.0}, "unit": 10}, "10 units"), ({"unit": 1}, "which gate"),
    ({"clamps": {"f": 0.0}, "at": 1, "start": 2}, "not both"),
])
def test_bad_interventions_are_one_line_value_errors(bad, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")) as excinfo:
        inside.read_name(seeded("lstm"), CATEGORIES, "Kowalski", **bad)
    assert "\n" not in str(excinfo.value)


def test_the_rnn_gets_what_applies_and_a_reason_for_the_gate_only_views(pairs):
    rnn = seeded("rnn")
    with pytest.raises(ValueError, match="RNN has none"):
        inside.what_if(rnn, CATEGORIES, "Kowalski", {"f": 0.0})
    with pytest.raises(ValueError, match="RNN has none"):
        inside.cell_step(rnn, CATEGORIES, "Kowalski", 0, 0)
    atlas = inside.build_atlas(rnn, CATEGORIES, pairs)
    assert atlas.keys == ["h"]
    with pytest.raises(ValueError, match="RNN has none"):
        atlas.top_contexts(0, "c")
    with pytest.raises(ValueError, match="RNN has none"):
        atlas.order("saturation")
    assert sorted(atlas.order("variance")) == list(range(rnn.hidden_size))


# --------------------------------------------------------------------------- the cell, letter by letter


def test_the_cell_steps_numbers_are_the_equations_of_the_report():
    model = seeded("lstm")
    mine = MyLSTM.from_lstm(model)
    name, t, unit = "Kowalski", 4, 3
    step = inside.cell_step(model, CATEGORIES, name, t, unit)
    v = step.values
    assert step.letter == "l" and step.t == t and len(step.equations) == 6
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for gate, fn in (("i", sigmoid), ("f", sigmoid), ("g", np.tanh), ("o", sigmoid)):
        p = step.terms[gate]
        assert p["input"] == pytest.approx(float(getattr(mine, f"W_{gate}").detach()[CHAR_INDEX["l"], unit]))
        assert p["z"] == pytest.approx(p["input"] + p["recurrent"] + p["bias"])
        assert v[gate] == pytest.approx(fn(p["z"]), abs=1e-5)
        assert step.equations[["i", "f", "g", "o"].index(gate)].endswith(f"= {v[gate]:.2f}")
    assert v["c"] == pytest.approx(v["f"] * v["c_prev"] + v["i"] * v["g"], abs=1e-5)
    assert v["h"] == pytest.approx(v["o"] * np.tanh(v["c"]), abs=1e-5)
    previous = inside.cell_step(model, CATEGORIES, name, t - 1, unit)
    assert v["c_prev"] == pytest.approx(previous.values["c"]) and v["h_prev"] == pytest.approx(previous.values["h"])
    deltas = step.units["delta_c"].abs().to_numpy()
    assert list(deltas) == sorted(deltas, reverse=True) and len(step.units) == model.hidden_size
    row = step.units.set_index("unit").loc[unit]
    assert row["c"] == pytest.approx(v["c"]) and row["delta_c"] == pytest.approx(v["c"] - v["c_prev"])
    with pytest.raises(ValueError, match="out of range"):
        inside.cell_step(model, CATEGORIES, name, 8, unit)


# --------------------------------------------------------------------------- units that mean something


def z_model(hidden: int = 6) -> MyLSTM:
    """Unit 0 writes 1 into its cell at every "z" and forgets it at the next letter; the other units barely move."""
    torch.manual_seed(1)
    model = MyLSTM(N_LETTERS, hidden, len(CATEGORIES))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.1)
        z = CHAR_INDEX["z"]
        for gate in "ifgo":
            getattr(model, f"W_{gate}")[:, 0] = 0
            getattr(model, f"U_{gate}")[:, 0] = 0
            getattr(model, f"U_{gate}")[0, :] = 0
        model.b_i[0], model.b_f[0], model.b_o[0], model.b_g[0] = 10.0, -10.0, 10.0, 0.0  # i = 1, f = 0, o = 1
        model.W_g[z, 0] = 5.0  # g = tanh(5) at "z", 0 elsewhere
    return model.eval()


Z_PAIRS = [("Azo", 0), ("Bizzo", 1), ("Tuna", 2), ("Lopez", 0), ("Mori", 1), ("Sanchez", 2), ("Oda", 0),
           ("Rossi", 1), ("Kuzmin", 2), ("Abe", 0)]


def test_the_unit_explorer_ranks_z_contexts_first_for_the_z_unit():
    atlas = inside.build_atlas(z_model(), CATEGORIES, Z_PAIRS)
    with_z = [n for n, _ in Z_PAIRS if "z" in n]
    for key in ("c", "h"):
        top = atlas.top_contexts(0, key, k=len(with_z))["positive"]
        assert sorted(c.name for c in top) == sorted(with_z)
        assert all(c.name[c.position] == "z" and c.value > 0.7 for c in top)
        assert all(len(c.letters) == len(c.name) for c in top)
    assert atlas.order("variance")[0] == 0  # the unit that moves most
    assert atlas.unit_json(0, k=2)["top_contexts"]["c"]["positive"][0]["letter"] == "z"


def test_the_span_search_on_a_z_finds_the_z_unit_and_the_names_with_a_z():
    model = z_model()
    atlas = inside.build_atlas(model, CATEGORIES, Z_PAIRS)
    result = inside.span_search(model, CATEGORIES, atlas, "Ozawa", 1, 2)
    assert result.span == "z" and result.units["unit"].tolist()[0] == 0
    assert sorted(result.matches["name"]) == sorted(n for n, _ in Z_PAIRS if "z" in n)
    assert result.matches["shares_span"].all() and result.sharing == result.containing == 5
    assert result.by_category["names"].sum() == 5
    assert inside.span_search(model, CATEGORIES, atlas, "Ozawa", 2, 3).units.empty  # "a": unit 0 is off
    with pytest.raises(ValueError, match="span"):
        inside.span_search(model, CATEGORIES, atlas, "Ozawa", 3, 9)


def test_units_are_ordered_by_the_category_they_push_up(pairs):
    model = seeded("lstm")
    atlas = inside.build_atlas(model, CATEGORIES, pairs)
    order = atlas.order("category")
    pushed = [atlas.roles["pushes_up"][u] for u in order]
    assert pushed == sorted(pushed, key=CATEGORIES.index) and sorted(order) == list(range(model.hidden_size))
    assert (atlas.roles["saturation"].between(0, 1)).all()
    W = model.out.weight.detach().numpy()
    assert [CATEGORIES[j] for j in W.argmax(axis=0)] == atlas.roles["pushes_up"].tolist()


def test_an_nn_lstm_and_its_mylstm_give_the_same_atlas(pairs):
    model = seeded("lstm")
    assert isinstance(model, LSTM)
    a = inside.build_atlas(model, CATEGORIES, pairs)
    b = inside.build_atlas(MyLSTM.from_lstm(model), CATEGORIES, pairs)
    np.testing.assert_allclose(a.values["c"], b.values["c"], atol=1e-6)


# --------------------------------------------------------------------------- timing


def test_measure_views_returns_milliseconds_for_every_view(pairs):
    result = measure_views(seeded("lstm"), CATEGORIES, pairs, ["Kowalski", "X" * 64], repeats=1)
    assert set(result["views_ms"]) == {"attribution", "unit contributions", "hidden-state path",
                                       "reset before a letter", "span search", "cell step", "gate clamp"}
    assert all(0 < ms < 5000 for ms in result["views_ms"].values())
    # Both are measured; which is faster is the benchmark's to report (a timed comparison flakes on a busy machine).
    assert 0 < result["unit_explorer_cached_ms"] < 10_000 and 0 < result["unit_explorer_first_ms"] < 10_000
    rnn = measure_views(seeded("rnn"), CATEGORIES, pairs, ["Li"], repeats=1)
    assert "cell step" not in rnn["views_ms"] and "attribution" in rnn["views_ms"]


def test_unit_order_of_a_reading_by_index_mean_and_variance():
    values = np.array([[0.1, 0.9, 0.5], [0.1, 0.7, 0.0], [0.1, 0.8, 1.0]])  # unit 0 flat, 1 high, 2 varied
    reading = inside.Reading("abc", "abc", "", CATEGORIES, {"h": values}, np.full((3, len(CATEGORIES)), 0.25))
    frame = reading.gate_frame("h")
    assert inside.unit_order(frame, "index") == [0, 1, 2]
    assert inside.unit_order(frame, "mean") == [1, 2, 0]
    assert inside.unit_order(frame, "variance") == [2, 1, 0]
    with pytest.raises(ValueError, match="index, mean, variance"):
        inside.unit_order(frame, "random")


def test_letters_are_counted_from_0_in_code_and_shown_from_1():
    reading = inside.read_name(seeded("lstm"), CATEGORIES, "Kowalski")
    assert inside.letter_labels("Kow") == ["1:K", "2:o", "3:w"]
    assert reading.gate_frame("f")["step"].min() == 0 and reading.gate_frame("f")["char"].iloc[0] == "1:K"
    assert inside.ordinal(0) == "1st" and inside.describe_intervention("Kow", None, None, None, None, 1).endswith(
        "before the 2nd letter ('o')")
    result = inside.attribution(seeded("lstm"), CATEGORIES, "Kow")
    assert result.frame["position"].tolist() == [0, 1, 2] and result.frame["label"].tolist() == ["1:K", "2:o", "3:w"]
    assert [entry["letter"] for entry in result.to_json()["letters"]] == ["K", "o", "w"]


def test_the_rnns_prediction_after_each_prefix_is_the_prefix_read_alone():
    model = seeded("rnn")
    reading = inside.read_name(model, CATEGORIES, "Kowalski")
    for t in (0, 3, 7):
        alone = predict(model, CATEGORIES, ["Kowalski"[: t + 1]], top_k=len(CATEGORIES))[0].top
        np.testing.assert_allclose(reading.prefix_probs[t][[CATEGORIES.index(c) for c, _ in alone]],
                                   [p for _, p in alone], atol=TOLERANCE)
