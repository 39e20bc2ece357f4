"""rnnviz.memory in micrograd's style: memory over time and the RNN step, each number computed a second way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz import charts, inside
from rnnviz import inside as memory
from rnnviz.data import CHAR_INDEX, N_LETTERS
from rnnviz.evaluate import predict
from rnnviz.models import MyLSTM, one_hot
from rnnviz.registry import build_model

CATEGORIES = ["Ashi", "Borov", "Tunson"]
TOLERANCE = 1e-5


def seeded(name: str, hidden: int = 10, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(name, N_LETTERS, hidden, len(CATEGORIES)).eval()


def rnn_by_hand(model, name: str) -> list[torch.Tensor]:
    """h after each letter, straight from the tutorial's loop: hidden = i2h(cat(input, hidden))."""
    hidden = torch.zeros(1, model.hidden_size)
    states = []
    for ch in name:
        x = torch.zeros(1, N_LETTERS)
        x[0, CHAR_INDEX[ch]] = 1.0
        hidden = model.i2h(torch.cat([x, hidden], dim=1))
        states.append(hidden[0])
    return states


@torch.no_grad()
@pytest.mark.parametrize("t", [0, 3, 7])
def test_rnn_step_parts_add_up_to_the_tutorials_hidden_state(t):
    model = seeded("rnn")
    step = memory.rnn_step(model, CATEGORIES, "Kowalski", t, unit=4)
    by_hand = rnn_by_hand(model, "Kowalski")
    parts = step.values["input"] + step.values["recurrent"] + step.values["bias"]
    assert parts == pytest.approx(step.values["h"], abs=TOLERANCE)
    assert step.values["h"] == pytest.approx(float(by_hand[t][4]), abs=TOLERANCE)
    assert step.values["h_prev"] == pytest.approx(float(by_hand[t - 1][4]) if t else 0.0, abs=TOLERANCE)
    assert step.letter == "Kowalski"[t]
    every = step.units.set_index("unit")
    assert np.allclose(every["h"].sort_index().to_numpy(), by_hand[t].numpy(), atol=TOLERANCE)
    assert np.allclose((every["input"] + every["recurrent"] + every["bias"]).to_numpy(), every["h"].to_numpy(),
                       atol=TOLERANCE)
    assert f"= {step.values['h']:.2f}" in step.equations[0]


@torch.no_grad()
def test_rnn_step_at_the_last_letter_predicts_what_the_model_predicts():
    model = seeded("rnn")
    step = memory.rnn_step(model, CATEGORIES, "Kowalski", 7)
    expected = predict(model, CATEGORIES, ["Kowalski"], top_k=3)[0].top
    assert [c for c, _ in step.top] == [c for c, _ in expected]
    assert [p for _, p in step.top] == pytest.approx([p for _, p in expected], abs=TOLERANCE)


def test_rnn_step_refuses_an_lstm_and_a_letter_past_the_end():
    with pytest.raises(ValueError, match="RNN"):
        memory.rnn_step(seeded("lstm"), CATEGORIES, "Kowalski", 0)
    with pytest.raises(ValueError, match="out of range"):
        memory.rnn_step(seeded("rnn"), CATEGORIES, "Li", 2)


@torch.no_grad()
@pytest.mark.parametrize("kind", ["lstm", "mylstm"])
def test_memory_over_time_draws_the_units_gates_and_cell_as_the_cell_computes_them(kind):
    model = seeded(kind)
    result = memory.memory_over_time(model, CATEGORIES, "Nakamura", unit=2)
    assert result.states == ["c", "f", "i", "o", "h"]
    gates = model if isinstance(model, MyLSTM) else MyLSTM.from_lstm(model)
    x = one_hot(torch.tensor([[CHAR_INDEX[ch] for ch in "Nakamura"]]), N_LETTERS)
    trace = gates.read(x)
    for key in result.states:
        assert np.allclose(result.values(key), getattr(trace, key)[0, :, 2].numpy(), atol=TOLERANCE), key
    # c after each letter is f·c_before + i·g: the lines the reader sees obey the cell's own equation
    c, f, i = result.values("c"), result.values("f"), result.values("i")
    g = trace.g[0, :, 2].numpy()
    assert np.allclose(c, f * np.concatenate([[0.0], c[:-1]]) + i * g, atol=TOLERANCE)


@torch.no_grad()
def test_memory_over_time_of_the_rnn_is_its_h_and_starts_on_the_deciding_unit():
    model = seeded("rnn")
    result = memory.memory_over_time(model, CATEGORIES, "Kowalski")
    assert result.states == ["h"]
    assert result.unit == memory.deciding_unit(model, CATEGORIES, "Kowalski") and result.deciding
    by_hand = rnn_by_hand(model, "Kowalski")
    assert np.allclose(result.values("h"), [float(h[result.unit]) for h in by_hand], atol=TOLERANCE)


def test_memory_chart_draws_each_state_in_its_own_colour_over_every_letter():
    model = seeded("lstm")
    result = memory.memory_over_time(model, CATEGORIES, "Kowalski", unit=0)
    built = charts.memory_chart(result.frame, "unit 0").to_dict(validate=True)
    assert built["encoding"]["x"]["sort"] == inside.letter_labels("Kowalski")
    domain = built["encoding"]["color"]["scale"]["domain"]
    assert domain == list(memory.MEMORY_STATES.values())
    assert len(set(built["encoding"]["color"]["scale"]["range"])) == len(domain)
