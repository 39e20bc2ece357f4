"""Tests for rnnviz.models, in micrograd's style: build the same thing two ways, compare values and gradients."""

from __future__ import annotations

import pytest
import torch

from rnnviz.data import N_LETTERS, encode
from rnnviz.models import LSTM, RNN, MyLSTM, _gate_loop, _GateLoop, one_hot
from rnnviz.registry import RECURRENT_MODELS, REPORT_MODELS, as_gate_model, build_model

NAMES = ["Nakamura", "Li", "O'Neill", "Dvorak", "Abe"]
LABELS = torch.tensor([3, 1, 0, 2, 1])
TOLERANCE = 1e-5


def seeded(name: str, hidden: int = 12, categories: int = 4, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(name, N_LETTERS, hidden, categories)


def gradients(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return grads


# --------------------------------------------------------------------------- structure


def test_rnn_prints_as_in_the_report():
    assert str(RNN()) == (
        "RNN(\n"
        "  (i2h): Linear(in_features=185, out_features=128, bias=True)\n"
        "  (i2o): Linear(in_features=185, out_features=18, bias=True)\n"
        "  (softmax): LogSoftmax(dim=1)\n"
        ")"
    )


def test_lstm_prints_as_in_the_report():
    assert str(LSTM()) == (
        "LSTM(\n"
        "  (rnn): LSTM(57, 64)\n"
        "  (out): Linear(in_features=64, out_features=18, bias=True)\n"
        "  (softmax): LogSoftmax(dim=-1)\n"
        ")"
    )


def test_mylstm_parameters_have_the_reports_names_and_shapes():
    shapes = {name: tuple(p.shape) for name, p in MyLSTM(hidden_size=64).named_parameters()}
    expected = {}
    for gate in "ifgo":
        expected |= {f"W_{gate}": (57, 64), f"U_{gate}": (64, 64), f"b_{gate}": (64,)}
    expected |= {"out.weight": (18, 64), "out.bias": (18,)}
    assert shapes == expected


def test_mylstm_prints_only_its_read_out():
    # The fused weights are built in forward, never stored: the printout and state_dict keep the report's names.
    assert str(MyLSTM()) == (
        "MyLSTM(\n"
        "  (out): Linear(in_features=64, out_features=18, bias=True)\n"
        "  (softmax): LogSoftmax(dim=-1)\n"
        ")"
    )


def test_registry_refuses_unknown_model_listing_the_options():
    with pytest.raises(ValueError) as excinfo:
        build_model("gru")
    assert all(name in str(excinfo.value) for name in ("rnn", "lstm", "mylstm"))


def test_registry_uses_the_reports_hidden_sizes():
    assert build_model("rnn").hidden_size == 128
    assert build_model("lstm").hidden_size == 64
    assert build_model("mylstm").hidden_size == 64
    assert build_model("lstm", hidden_size=7).hidden_size == 7


def test_gate_model_exists_only_for_lstms():
    mine = MyLSTM()
    assert as_gate_model(mine) is mine
    assert isinstance(as_gate_model(LSTM()), MyLSTM)
    with pytest.raises(ValueError, match="RNN"):
        as_gate_model(RNN())


# --------------------------------------------------------------------------- batched equals one at a time


@pytest.mark.parametrize("name", list(RECURRENT_MODELS))
def test_padded_batch_equals_each_name_alone_in_values_and_gradients(name):
    model = seeded(name)
    chars, lengths = encode(NAMES)
    batched = model(chars, lengths)  # (B, C)
    assert batched.shape == (len(NAMES), 4)
    batched.gather(1, LABELS.view(-1, 1)).sum().backward()
    batched_grads = gradients(model)

    alone_rows = []
    for row, text in enumerate(NAMES):
        c, l = encode([text])
        out = model(c, l)
        out[0, LABELS[row]].backward()
        alone_rows.append(out.detach()[0])
    alone_grads = {n: p.grad for n, p in model.named_parameters()}

    torch.testing.assert_close(batched.detach(), torch.stack(alone_rows), atol=TOLERANCE, rtol=0)
    for key, grad in batched_grads.items():
        torch.testing.assert_close(grad, alone_grads[key], atol=TOLERANCE, rtol=0, msg=key)


@pytest.mark.parametrize("name", list(RECURRENT_MODELS))
def test_outputs_are_log_probabilities(name):
    model = seeded(name)
    with torch.no_grad():
        out = model(*encode(NAMES))
    torch.testing.assert_close(out.exp().sum(1), torch.ones(len(NAMES)))


# --------------------------------------------------------------------------- MyLSTM against nn.LSTM


def test_mylstm_from_lstm_matches_outputs_and_gradients():
    lstm = seeded("lstm")
    mine = MyLSTM.from_lstm(lstm)
    chars, lengths = encode(NAMES)
    x_lstm = one_hot(chars).requires_grad_()
    x_mine = one_hot(chars).requires_grad_()

    out_lstm = lstm.forward_onehot(x_lstm, lengths)
    out_mine = mine.forward_onehot(x_mine, lengths)
    torch.testing.assert_close(out_mine, out_lstm, atol=TOLERANCE, rtol=0)

    out_lstm.gather(1, LABELS.view(-1, 1)).sum().backward()
    out_mine.gather(1, LABELS.view(-1, 1)).sum().backward()
    torch.testing.assert_close(x_mine.grad, x_lstm.grad, atol=TOLERANCE, rtol=0)

    H = lstm.hidden_size
    rnn = lstm.rnn
    for k, gate in enumerate("ifgo"):
        rows = slice(k * H, (k + 1) * H)
        torch.testing.assert_close(getattr(mine, f"W_{gate}").grad, rnn.weight_ih_l0.grad[rows].T,
                                   atol=TOLERANCE, rtol=0)
        torch.testing.assert_close(getattr(mine, f"U_{gate}").grad, rnn.weight_hh_l0.grad[rows].T,
                                   atol=TOLERANCE, rtol=0)
        # nn.LSTM adds two biases where MyLSTM has one; each receives the same gradient.
        torch.testing.assert_close(getattr(mine, f"b_{gate}").grad, rnn.bias_ih_l0.grad[rows], atol=TOLERANCE, rtol=0)
        torch.testing.assert_close(getattr(mine, f"b_{gate}").grad, rnn.bias_hh_l0.grad[rows], atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(mine.out.weight.grad, lstm.out.weight.grad, atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(mine.out.bias.grad, lstm.out.bias.grad, atol=TOLERANCE, rtol=0)


def reference_lstm(model: MyLSTM, name: str) -> torch.Tensor:
    """The report's equations for one name, one character at a time, nothing fused or batched."""
    h = torch.zeros(model.hidden_size)
    c = torch.zeros(model.hidden_size)
    for ch in name:
        x = one_hot(encode([ch])[0])[0, 0]  # (V,)
        i = torch.sigmoid(x @ model.W_i + h @ model.U_i + model.b_i)
        f = torch.sigmoid(x @ model.W_f + h @ model.U_f + model.b_f)
        g = torch.tanh(x @ model.W_g + h @ model.U_g + model.b_g)
        o = torch.sigmoid(x @ model.W_o + h @ model.U_o + model.b_o)
        c = f * c + i * g
        h = o * torch.tanh(c)
    return torch.log_softmax(model.out.weight @ h + model.out.bias, dim=0)


def test_mylstm_matches_a_hand_written_reference_in_values_and_gradients():
    model = seeded("mylstm")
    for row, name in enumerate(NAMES):
        reference = reference_lstm(model, name)
        reference[LABELS[row]].backward()
        reference_grads = gradients(model)
        out = model(*encode([name]))[0]
        out[LABELS[row]].backward()
        torch.testing.assert_close(out.detach(), reference.detach(), atol=TOLERANCE, rtol=0)
        for key, grad in gradients(model).items():
            torch.testing.assert_close(grad, reference_grads[key], atol=TOLERANCE, rtol=0, msg=key)


# --------------------------------------------------------------------------- gate traces


def test_trace_has_every_gate_per_step_masked_past_each_names_end():
    model = seeded("mylstm")
    chars, lengths = encode(NAMES)
    trace = model.trace(chars, lengths)
    B, T, H = len(NAMES), int(lengths.max()), model.hidden_size
    for key in ("i", "f", "g", "o", "c", "h"):
        values = getattr(trace, key)
        assert values.shape == (B, T, H), key
        for row, length in enumerate(lengths.tolist()):
            assert torch.isfinite(values[row, :length]).all(), key
            assert torch.isnan(values[row, length:]).all(), key
    for key in ("i", "f", "o"):
        valid = getattr(trace, key)[~torch.isnan(getattr(trace, key))]
        assert ((valid > 0) & (valid < 1)).all(), key
    assert trace.log_probs.shape == (B, T, 4)
    assert torch.isnan(trace.log_probs[1, 2:]).all()


def test_trace_last_step_prediction_equals_forward():
    model = seeded("mylstm")
    chars, lengths = encode(NAMES)
    trace = model.trace(chars, lengths)
    with torch.no_grad():
        final = model(chars, lengths)
    last = trace.log_probs[torch.arange(len(NAMES)), lengths - 1]
    torch.testing.assert_close(last, final, atol=TOLERANCE, rtol=0)
    h_last = trace.h[torch.arange(len(NAMES)), lengths - 1]
    torch.testing.assert_close(model.softmax(model.out(h_last)), final, atol=TOLERANCE, rtol=0)


def test_trace_of_one_name_matches_the_reference_cell_state():
    model = seeded("mylstm")
    name = "Nakamura"
    trace = model.trace(*encode([name]))
    with torch.no_grad():
        h = torch.zeros(model.hidden_size)
        c = torch.zeros(model.hidden_size)
        for t, ch in enumerate(name):
            x = one_hot(encode([ch])[0])[0, 0]
            i = torch.sigmoid(x @ model.W_i + h @ model.U_i + model.b_i)
            f = torch.sigmoid(x @ model.W_f + h @ model.U_f + model.b_f)
            g = torch.tanh(x @ model.W_g + h @ model.U_g + model.b_g)
            o = torch.sigmoid(x @ model.W_o + h @ model.U_o + model.b_o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            for key, value in {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}.items():
                torch.testing.assert_close(getattr(trace, key)[0, t], value, atol=TOLERANCE, rtol=0)


# --------------------------------------------------------------------------- the fast paths against plain versions


def test_rnn_states_equal_the_tutorials_loop_and_a_reset_starts_the_name_afresh():
    """RNN.states against the tutorial's h = i2h(cat(x, h)) letter by letter; each name read alone."""
    model = seeded("rnn")
    with torch.no_grad():
        for name in NAMES:
            x = one_hot(encode([name])[0])  # (1, T, V)
            states = model.states(x)  # (1, T + 1, H)
            h = torch.zeros(1, model.hidden_size)
            torch.testing.assert_close(states[:, 0], h)
            for t in range(x.size(1)):
                h = model.i2h(torch.cat([x[:, t], h], dim=1))
                torch.testing.assert_close(states[:, t + 1], h, atol=TOLERANCE, rtol=0)
            torch.testing.assert_close(model.states(x, final=False), states[:, :-1])
            if x.size(1) > 2:  # a reset before letter 2 reads the rest as a name of its own
                reset = model.states(x, reset_at=2)
                torch.testing.assert_close(reset[:, :3], torch.cat([states[:, :2], torch.zeros_like(h)[:, None]], 1))
                torch.testing.assert_close(reset[:, 3:], model.states(x[:, 2:])[:, 1:], atol=TOLERANCE, rtol=0)


def autograd_gate_loop(x_proj: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    return _gate_loop(x_proj, U, keep=False)  # the same loop, differentiated by autograd


@pytest.mark.parametrize("steps", [1, 2, 7])
def test_hand_written_backward_matches_autograd(steps):
    torch.manual_seed(steps)
    x_proj = torch.randn(steps, 5, 4 * 6, requires_grad=True)
    U = (torch.randn(6, 4 * 6) * 0.5).requires_grad_()
    weights = torch.randn(steps, 5, 6)  # a loss that reads h at every step, as padding-free names would not
    (_GateLoop.apply(x_proj, U) * weights).sum().backward()
    fast = (x_proj.grad.clone(), U.grad.clone())
    x_proj.grad = U.grad = None
    (autograd_gate_loop(x_proj, U) * weights).sum().backward()
    torch.testing.assert_close(fast[0], x_proj.grad, atol=TOLERANCE, rtol=0)
    expected_U = torch.zeros_like(U) if U.grad is None else U.grad  # one step never reaches U
    torch.testing.assert_close(fast[1], expected_U, atol=TOLERANCE, rtol=0)


def test_hand_written_backward_passes_gradcheck():
    torch.manual_seed(0)
    x_proj = torch.randn(4, 3, 4 * 2, dtype=torch.double, requires_grad=True)
    U = torch.randn(2, 4 * 2, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(_GateLoop.apply, (x_proj, U))


def test_mylstm_gives_the_same_output_with_and_without_gradients():
    model = seeded("mylstm")
    chars, lengths = encode(NAMES)
    with torch.no_grad():
        evaluated = model(chars, lengths)
    torch.testing.assert_close(model(chars, lengths).detach(), evaluated, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", ["rnn", "mylstm"])
def test_input_gradients_of_a_padded_batch_equal_each_name_alone(name):
    model = seeded(name)
    chars, lengths = encode(NAMES)
    x = one_hot(chars).requires_grad_()
    model.forward_onehot(x, lengths).gather(1, LABELS.view(-1, 1)).sum().backward()
    for row, text in enumerate(NAMES):
        alone = one_hot(encode([text])[0]).requires_grad_()
        model.forward_onehot(alone, lengths[row : row + 1])[0, LABELS[row]].backward()
        torch.testing.assert_close(x.grad[row, : len(text)], alone.grad[0], atol=TOLERANCE, rtol=0)
        assert not x.grad[row, len(text) :].any()  # padding never reaches the output


def test_the_structures_the_home_page_shows_match_freshly_built_models():
    from rnnviz.registry import structure_text
    from rnnviz.structures import STRUCTURES

    assert set(STRUCTURES) == set(REPORT_MODELS)
    for name in REPORT_MODELS:
        assert STRUCTURES[name] == structure_text(name)


# --------------------------------------------------------------------------- the readable step against the fused path


def test_readable_step_equals_the_fused_training_path_in_values_and_gradients():
    """MyLSTM.step, letter by letter (what a reader sees and what trace uses), against forward_onehot's fused loop."""
    model = seeded("mylstm")
    chars, lengths = encode(NAMES)
    x = one_hot(chars).requires_grad_()
    fused = model.forward_onehot(x, lengths)
    fused.gather(1, LABELS.view(-1, 1)).sum().backward()
    fused_grads, fused_x = gradients(model), x.grad.clone()
    x.grad = None
    readable = model.forward_readable(x, lengths)
    readable.gather(1, LABELS.view(-1, 1)).sum().backward()
    torch.testing.assert_close(readable.detach(), fused.detach(), atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(x.grad, fused_x, atol=TOLERANCE, rtol=0)
    for key, grad in gradients(model).items():
        torch.testing.assert_close(grad, fused_grads[key], atol=TOLERANCE, rtol=0, msg=key)


def test_step_edit_replaces_a_gate_before_it_is_used():
    model = seeded("mylstm")
    x = one_hot(encode(["Ab"])[0])[:, 0]  # (1, V)
    h = c = torch.full((1, model.hidden_size), 0.5)
    with torch.no_grad():
        h_kept, c_kept, gates = model.step(x, h, c, lambda what, value: torch.ones_like(value) if what == "f" else
                                           torch.zeros_like(value) if what == "i" else value)
    assert torch.equal(c_kept, c) and torch.equal(gates["f"], torch.ones_like(c))
    torch.testing.assert_close(h_kept, gates["o"] * torch.tanh(c))
