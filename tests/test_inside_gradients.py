"""Gradient flow back through time and gate saturation, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.config import TrainConfig
from rnnviz.data import CHAR_INDEX, N_LETTERS, DataError, encode, split_dataset
from rnnviz.inside import (
    SATURATION_COLUMNS,
    STAGES,
    gate_saturation,
    gradient_flow,
    input_gradient_norms,
    letter_number,
    name_gradient_flow,
    read_name,
)
from rnnviz.models import LSTM, RNN, MyLSTM
from rnnviz.registry import build_model
from rnnviz.runs import list_snapshots, load_run, train_run


def one_unit_rnn(w: float, a=(1.0, 2.0, 2.0)) -> RNN:
    """h_t = a . x_t + w h_(t-1); logits = (x_0 + h, -(x_0 + h)) read from the last letter and the state before it."""
    model = RNN(input_size=3, hidden_size=1, output_size=2)
    with torch.no_grad():
        model.i2h.weight.copy_(torch.tensor([[*a, w]]))
        model.i2h.bias.zero_()
        model.i2o.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 1.0], [-1.0, 0.0, 0.0, -1.0]]))
        model.i2o.bias.zero_()
    return model


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def small_model(name: str, seed: int = 0, categories: int = 3):
    torch.manual_seed(seed)
    return build_model(name, N_LETTERS, 8, categories)


def test_one_unit_linear_rnn_gradients_match_the_hand_computation():
    model = one_unit_rnn(w=0.5)
    chars = torch.tensor([[0, 0, 0]])
    norms = input_gradient_norms(model, chars, torch.tensor([3]), torch.tensor([0]))[0]
    # h_0 = 1, h_1 = 1 + 0.5 = 1.5; logits = +-(x_2[0] + h_1) = +-2.5; dL/dlogits = (-q, q) with q = sigmoid(-5).
    # Last letter: U_x^T (p - y) = (-2q, 0, 0). Earlier letters: dL/dh_1 = -2q, times w^(distance - 1) times ||a|| = 3.
    q = sigmoid(-5.0)
    np.testing.assert_allclose(norms, [3 * q, 6 * q, 2 * q], rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(w=st.floats(min_value=0.1, max_value=1.5), length=st.integers(min_value=3, max_value=9))
def test_linear_rnn_gradient_shrinks_by_w_for_each_letter_further_back(w, length):
    model = one_unit_rnn(w)
    norms = input_gradient_norms(model, torch.zeros(1, length, dtype=torch.long), torch.tensor([length]),
                                 torch.tensor([1]))[0]
    by_distance = norms[::-1]  # distance 0 first
    np.testing.assert_allclose(by_distance[2:] / by_distance[1:-1], w, rtol=1e-4)


@pytest.mark.parametrize("name", ["rnn", "lstm", "mylstm"])
def test_padding_does_not_change_a_names_gradients(name):
    model = small_model(name)
    short, long = "Abe", "Abramowitz"
    alone = input_gradient_norms(model, *encode([short]), torch.tensor([1]))[0]
    chars, lengths = encode([short, long])
    batched = input_gradient_norms(model, chars, lengths, torch.tensor([1, 2]))
    np.testing.assert_allclose(batched[0, : len(short)], alone, rtol=1e-5, atol=1e-9)
    assert np.isnan(batched[0, len(short):]).all()
    assert np.isfinite(batched[1]).all() and (batched[1] > 0).all()


def test_gradient_flow_averages_each_distance_over_the_names_that_long():
    model = small_model("lstm")
    pairs = [("Ab", 0), ("Abc", 1), ("Kowal", 2), ("Smith", 0), ("Li", 1)]
    flow = gradient_flow([("nn.LSTM", "trained", model)], pairs, min_names=1, batch_size=2)
    expected: dict[int, list[float]] = {}
    for name, label in pairs:
        norms = input_gradient_norms(model, *encode([name]), torch.tensor([label]))[0]
        for distance, value in enumerate(norms[::-1]):
            expected.setdefault(distance, []).append(value)
    assert flow["distance"].tolist() == sorted(expected)
    np.testing.assert_allclose(flow["mean_norm"], [np.mean(expected[d]) for d in sorted(expected)], rtol=1e-5)
    assert flow["names"].tolist() == [len(expected[d]) for d in sorted(expected)]
    np.testing.assert_allclose(flow["relative"], flow["mean_norm"] / flow["mean_norm"].iloc[0])


def test_gradient_flow_stops_where_too_few_names_are_that_long():
    pairs = [("Ab", 0)] * 5 + [("Abcdefg", 1)]
    flow = gradient_flow([("RNN", "trained", small_model("rnn"))], pairs, min_names=3)
    assert flow["distance"].max() == 1  # only one name has letters 2 or more before its end


def test_gradient_flow_overlays_models_and_stages_without_touching_their_weights():
    rnn, lstm = small_model("rnn"), small_model("lstm")
    lstm.train()
    pairs = [("Abel", 0), ("Baker", 1), ("Cole", 2)]
    flow = gradient_flow([("RNN", STAGES[0], rnn), ("nn.LSTM", STAGES[1], lstm)], pairs)
    assert set(zip(flow["model"], flow["stage"])) == {("RNN", "initialisation"), ("nn.LSTM", "trained")}
    assert all(p.grad is None for p in [*rnn.parameters(), *lstm.parameters()])
    assert lstm.training  # the model's mode is restored


def test_gradient_flow_refuses_an_empty_set_of_names():
    with pytest.raises(DataError, match="no names"):
        gradient_flow([("RNN", "trained", small_model("rnn"))], [])


def test_name_gradient_flow_uses_each_models_own_guess_unless_a_category_is_chosen():
    categories = ["Ashi", "Borov", "Tunson"]
    model = small_model("mylstm")
    guess = categories[int(model(*encode(["Petrov"])).argmax())]
    own = name_gradient_flow([("MyLSTM", "trained", model)], categories, "  Petrov ")
    assert set(own.frame["target"]) == {guess}
    assert own.used == "Petrov"
    assert own.frame["distance"].tolist() == [5, 4, 3, 2, 1, 0]
    # letters count from 0 in the frame, as in every reading; the label shows them from 1 (letter_number)
    assert own.frame["position"].tolist() == [0, 1, 2, 3, 4, 5]
    assert own.frame["char"].tolist() == [f"{letter_number(t)}:{ch}" for t, ch in enumerate("Petrov")]
    assert (own.frame["position"] + own.frame["distance"] == len("Petrov") - 1).all()
    chosen = name_gradient_flow([("MyLSTM", "trained", model)], categories, "Petrov", category="Tunson")
    assert set(chosen.frame["target"]) == {"Tunson"}
    expected = input_gradient_norms(model, *encode(["Petrov"]), torch.tensor([2]))[0]
    np.testing.assert_allclose(chosen.frame["norm"], expected)


def test_name_gradient_flow_explains_bad_input_in_one_line():
    model = small_model("rnn")
    with pytest.raises(DataError, match="unknown category 'Klingon'"):
        name_gradient_flow([("RNN", "trained", model)], ["A", "B", "C"], "Worf", category="Klingon")
    with pytest.raises(DataError, match="no letters"):
        name_gradient_flow([("RNN", "trained", model)], ["A", "B", "C"], "123")


def hand_set_mylstm() -> MyLSTM:
    """Unit 0: input gate always open, forget gate always shut. Unit 1: input gate open exactly on 'a'."""
    model = MyLSTM(input_size=N_LETTERS, hidden_size=2, output_size=2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.b_i.copy_(torch.tensor([10.0, 0.0]))
        model.b_f.copy_(torch.tensor([-10.0, 0.0]))
        model.W_i[:, 1] = -20.0
        model.W_i[CHAR_INDEX["a"], 1] = 20.0
    return model


def test_gate_saturation_counts_each_units_saturated_steps_and_ignores_padding():
    pairs = [("aab", 0), ("ba", 1), ("abcde", 0)]  # 10 letters, 4 of them 'a'; padded to 5 letters
    frame = gate_saturation([("MyLSTM", "trained", hand_set_mylstm())], pairs).set_index(["gate", "unit"])
    assert frame.loc[("input gate", 0), ["left", "right"]].tolist() == [0.0, 1.0]
    assert frame.loc[("input gate", 1), ["left", "right"]].tolist() == pytest.approx([0.6, 0.4])
    assert frame.loc[("forget gate", 0), ["left", "right"]].tolist() == [1.0, 0.0]
    for gate in ("forget gate", "output gate"):
        assert frame.loc[(gate, 1), ["left", "right"]].tolist() == [0.0, 0.0]  # sigmoid(0) = 0.5
    assert (frame["steps"] == 10).all()


def test_gate_saturation_reads_an_lstm_through_its_mylstm_and_refuses_the_rnn():
    torch.manual_seed(0)
    lstm = LSTM(hidden_size=4, output_size=3)
    pairs = [("Abel", 0), ("Baker", 1)]
    direct = gate_saturation([("nn.LSTM", "trained", lstm)], pairs)
    via = gate_saturation([("MyLSTM", "trained", MyLSTM.from_lstm(lstm))], pairs)
    np.testing.assert_allclose(direct[["left", "right"]], via[["left", "right"]])
    assert len(direct) == 3 * 4
    with pytest.raises(ValueError, match="RNN has none"):
        gate_saturation([("RNN", "trained", small_model("rnn"))], pairs)


def test_read_name_still_gives_every_gate_per_letter():
    trace = read_name(small_model("lstm"), ["A", "B", "C"], "Nakamura")
    assert trace.values["f"].shape == (8, 8)
    assert trace.prefix_probs.shape == (8, 3)


def test_on_real_names_the_rnn_forgets_early_letters_at_initialisation(real_dataset, isolated_runs):
    split = split_dataset(real_dataset)
    writer, _ = train_run(TrainConfig(model="rnn", epochs=1), real_dataset, isolated_runs, split=split)
    assert list_snapshots(writer.path) == [0, 1]
    entries = [("RNN", stage, load_run(writer.path, snapshot=snapshot).model)
               for stage, snapshot in zip(STAGES, (0, None))]
    flow = gradient_flow(entries, split.val).set_index(["stage", "distance"])
    assert flow.index.get_level_values("distance").max() >= 10  # enough long validation names
    # A linear recurrence with small random weights: each letter further back gets a fraction of the gradient.
    assert flow.loc[("initialisation", 5), "relative"] < 0.1
    assert flow.loc[("trained", 5), "relative"] > flow.loc[("initialisation", 5), "relative"]


def test_gradient_flow_can_keep_only_long_names_so_every_distance_averages_the_same_names():
    model = small_model("rnn")
    pairs = [("Ab", 0), ("Abcd", 1), ("Kowal", 2)]
    flow = gradient_flow([("RNN", "trained", model)], pairs, min_names=1, min_length=4)
    assert flow["names"].tolist() == [2, 2, 2, 2, 1]
    only_long = gradient_flow([("RNN", "trained", model)], pairs[1:], min_names=1)
    np.testing.assert_allclose(flow["mean_norm"], only_long["mean_norm"])
    with pytest.raises(DataError, match="no names have 9 letters or more"):
        gradient_flow([("RNN", "trained", model)], pairs, min_length=9)


def _flow_table(tanh: float, lstm: float, rnn: float, labels=("RNN", "tanh RNN", "nn.LSTM")):
    """A gradient_flow table whose share 10 letters back is the given value for each model."""
    import pandas as pd

    rows = [(label, kind, stage, distance, 1.0 if distance == 0 else value * (0.01 if stage == "initialisation" else 1))
            for label, kind, value in zip(labels, ("rnn", "elman", "lstm"), (rnn, tanh, lstm))
            for stage in ("initialisation", "trained") for distance in (0, 10)]
    return pd.DataFrame(rows, columns=["model", "kind", "stage", "distance", "relative"])


def test_flow_reading_follows_the_measured_numbers():
    from rnnviz.inside import flow_reading

    strong = " ".join(flow_reading(_flow_table(tanh=0.13, lstm=0.30, rnn=0.37)))
    assert "RNN 0.37, nn.LSTM 0.3, tanh RNN 0.13" in strong
    assert "2.3 times less than nn.LSTM" in strong and "vanishing gradient" in strong
    assert "tutorial RNN keeps more than nn.LSTM" in strong and "no nonlinearity" in strong
    assert "Before training" in strong
    weak = " ".join(flow_reading(_flow_table(tanh=0.19, lstm=0.25, rnn=0.2)))
    assert "somewhat less than nn.LSTM (1.3 times less)" in weak and "vanishing gradient the report" not in weak
    assert "tutorial RNN keeps less than nn.LSTM" in weak
    assert "as much as nn.LSTM" in " ".join(flow_reading(_flow_table(tanh=0.4, lstm=0.3, rnn=0.2)))


def test_flow_reading_tells_models_apart_by_key_not_label():
    from rnnviz.inside import flow_reading

    named = ("RNN on Pokemon", "tanh RNN on Pokemon", "nn.LSTM on Pokemon")  # runs on a named dataset
    text = " ".join(flow_reading(_flow_table(tanh=0.13, lstm=0.30, rnn=0.37, labels=named)))
    assert "2.3 times less than nn.LSTM on Pokemon" in text
    assert "tutorial RNN keeps more than nn.LSTM on Pokemon" in text


def test_saturation_reading_counts_the_forget_gates_from_the_table():
    import pandas as pd

    from rnnviz.inside import saturation_reading

    rows = [("nn.LSTM", "trained", "forget gate", unit, left, right, 100)
            for unit, (left, right) in enumerate([(0.0, 0.9), (0.0, 0.6), (0.7, 0.0), (0.2, 0.2)])]
    rows += [("nn.LSTM", "trained", "input gate", 9, 0.0, 0.99, 100)]  # other gates are not counted
    text = " ".join(saturation_reading(pd.DataFrame(rows, columns=SATURATION_COLUMNS)))
    assert "nn.LSTM, trained: 2 of 4 forget gates are open" in text
    assert "1 are shut" in text and "1 are in between" in text
