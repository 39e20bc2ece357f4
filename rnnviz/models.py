"""The lab report's three classifiers: the tutorial RNN, a model around nn.LSTM, and MyLSTM.

Every model takes a padded batch of alphabet indices and the true lengths and returns
log-probabilities over the categories: forward(chars [B, T], lengths [B]) -> [B, C].
Inputs are one-hot vectors, 57 wide, as in the report; `forward_onehot` accepts them directly
so gradients with respect to each input step can be taken.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import N_LETTERS
from .gates import GATES, STATE_KEYS

N_CATEGORIES = 18


def one_hot(chars: torch.Tensor, width: int = N_LETTERS) -> torch.Tensor:
    return F.one_hot(chars, width).float()  # (B, T, V)


def _last_step(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """values[b, lengths[b] - 1] for a (B, T, X) tensor."""
    index = (lengths - 1).to(values.device).view(-1, 1, 1).expand(-1, 1, values.size(2))
    return values.gather(1, index).squeeze(1)  # (B, X)


class Classifier(nn.Module):
    """Shared entry point: indices -> one-hot -> the model's own forward_onehot."""

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.forward_onehot(one_hot(chars, self.input_size), lengths)

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class RNN(Classifier):
    """The PyTorch tutorial's RNN: h = i2h(cat(x, h)), output = i2o(cat(x, h)), no nonlinearity."""

    def __init__(self, input_size: int = N_LETTERS, hidden_size: int = 128, output_size: int = N_CATEGORIES):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def states(self, x: torch.Tensor, reset_at: int | None = None, final: bool = True) -> torch.Tensor:
        """The hidden state before each letter and, with `final`, after the last one: (B, T + 1, H) or (B, T, H).

        The one place the recurrence is written. It runs straight through the padding: a name's states up to
        its last letter do not depend on the padding after it, so callers read each name up to its own length.
        With reset_at, the state before that letter is zeroed, as if the name began there.
        """
        B, T, _ = x.shape
        W_x, W_h = self.i2h.weight.split([self.input_size, self.hidden_size], dim=1)
        # All input steps at once; unbind (not x_proj[t]) so backward gathers the steps' gradients in one go.
        x_proj = F.linear(x.transpose(0, 1), W_x, self.i2h.bias).unbind(0)  # T x (B, H)
        W_hT = W_h.T  # (H, H)
        zero = x.new_zeros(B, self.hidden_size)  # (B, H)
        states = [zero]
        for t in range(T if final else T - 1):  # without `final`, the state after the last letter is left out
            if t == reset_at:
                states[-1] = zero
            # h_{t+1} = x_t W_x + b + h_t W_h; a zero state's product is left out.
            states.append(x_proj[t] if t == 0 or t == reset_at else torch.addmm(x_proj[t], states[-1], W_hT))
        if reset_at == len(states) - 1:
            states[-1] = zero
        return torch.stack(states, dim=1)  # (B, T + 1, H) or (B, T, H)

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        before = self.states(x, final=False)  # (B, T, H)
        combined = torch.cat([_last_step(x, lengths), _last_step(before, lengths)], dim=1)  # (B, V+H)
        return self.softmax(self.i2o(combined))  # (B, C)


class LSTM(Classifier):
    """nn.LSTM over one-hot characters, a linear read-out of the last hidden state."""

    def __init__(self, input_size: int = N_LETTERS, hidden_size: int = 64, output_size: int = N_CATEGORIES):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.rnn = nn.LSTM(input_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=-1)

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # A unidirectional LSTM's state at a name's last character ignores the padding after it.
        outputs, _ = self.rnn(x.transpose(0, 1))  # (T, B, H)
        h_last = _last_step(outputs.transpose(0, 1), lengths)  # (B, H)
        return self.softmax(self.out(h_last))  # (B, C)

    def gate_model(self) -> MyLSTM:
        """The same LSTM written out gate by gate, for tracing its gates."""
        return MyLSTM.from_lstm(self)



@dataclass
class GateTrace:
    """Per-step internals of MyLSTM; positions past a name's end are NaN."""

    i: torch.Tensor  # (B, T, H)
    f: torch.Tensor
    g: torch.Tensor
    o: torch.Tensor
    c: torch.Tensor
    h: torch.Tensor
    log_probs: torch.Tensor  # (B, T, C): prediction after each prefix


StepEdit = Callable[[str, torch.Tensor], torch.Tensor]  # (what: "i" | "f" | "g" | "o" | "h" | "c", value) -> value

FUSED_ORDER = ("i", "f", "o", "g")  # MyLSTM's internal gate order: the three sigmoid gates first


def _gate_loop(x_proj: torch.Tensor, U: torch.Tensor, keep: bool = True):
    """The report's equations over every step, given x_proj[t] = x_t W + b: (T, B, 4H), U: (H, 4H).

    Returns h and c after each step, the sigmoid gates i, f, o side by side (T, B, 3H) and g (T, B, H);
    with keep=False only h (the others are what backward and traces need).
    """
    T, B, H4 = x_proj.shape
    H = H4 // 4
    hs, cs, sigs, gs = [], [], [], []
    c = None
    for t in range(T):
        z = x_proj[t] if t == 0 else torch.addmm(x_proj[t], hs[-1], U)  # (B, 4H); h and c start at zero
        sig = torch.sigmoid(z[:, : 3 * H])  # i, f, o
        g = torch.tanh(z[:, 3 * H :])
        i, f, o = sig.chunk(3, dim=1)
        c = i * g if t == 0 else torch.addcmul(f * c, i, g)  # c = f * c + i * g
        hs.append(o * torch.tanh(c))  # h = o * tanh(c)
        if keep:
            cs.append(c)
            sigs.append(sig)
            gs.append(g)
    if not keep:
        return torch.stack(hs)
    return torch.stack(hs), torch.stack(cs), torch.stack(sigs), torch.stack(gs)


class _GateLoop(torch.autograd.Function):
    """_gate_loop's h for every step, with backpropagation through time written out by hand.

    Autograd would record about a dozen small operations per step and replay them one at a time; this
    backward is one loop of the same length as the forward one, which is what lets MyLSTM train nearly as
    fast as nn.LSTM's compiled loop. tests/test_models.py checks its gradients against autograd's.
    """

    @staticmethod
    def forward(ctx, x_proj: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
        hs, cs, sig, g = _gate_loop(x_proj, U)
        ctx.save_for_backward(U, hs, cs, sig, g)
        return hs  # (T, B, H)

    @staticmethod
    def backward(ctx, grad_hs: torch.Tensor):
        U, hs, cs, sig, g = ctx.saved_tensors
        T, B, H = hs.shape
        i, f, o = sig.chunk(3, dim=2)  # (T, B, H) each
        tanh_c = torch.tanh(cs)
        c_prev = torch.cat([torch.zeros_like(cs[:1]), cs[:-1]])  # c before each step
        # Everything that does not depend on later steps' gradients, for all steps at once:
        # dL/dc_t gets dL/dh_t * o_t * tanh'(c_t), and dL/dz_t = [dc_t, dc_t, dh_t, dc_t] * local, gate by gate:
        # i' = g * sigmoid'(z_i), f' = c_{t-1} * sigmoid'(z_f), o' = tanh(c_t) * sigmoid'(z_o), g' = i * tanh'(z_g).
        h_to_c = o * (1 - tanh_c * tanh_c)  # (T, B, H)
        local = torch.cat([g, c_prev, tanh_c], dim=2).mul_(sig * (1 - sig))  # (T, B, 3H)
        local = torch.cat([local, i * (1 - g * g)], dim=2)  # (T, B, 4H)
        grad_z = torch.empty_like(local)  # dL/dz for every step, gates in FUSED_ORDER
        U_T = U.T
        steps = list(zip(grad_hs.unbind(0), h_to_c.unbind(0), f.unbind(0), local.unbind(0), grad_z.unbind(0)))
        dz = dc = f_next = None
        for t in reversed(range(T)):  # the recurrence only: through h into the next z, through c into the next c
            grad_h, h_to_c_t, f_t, local_t, grad_z_t = steps[t]
            dh = grad_h if dz is None else torch.addmm(grad_h, dz, U_T)  # h_t feeds z_{t+1} = ... + h_t U
            dc = dh * h_to_c_t if dc is None else torch.addcmul(dh * h_to_c_t, dc, f_next)  # c_{t+1} = f c_t + ...
            dz = torch.mul(torch.cat([dc, dc, dh, dc], dim=1), local_t, out=grad_z_t)
            f_next = f_t
        grad_x_proj = grad_z if ctx.needs_input_grad[0] else None
        grad_U = None
        if ctx.needs_input_grad[1]:  # z_t depends on U through h_{t-1}; h before the first step is zero
            grad_U = hs[:-1].reshape(-1, H).T @ grad_z[1:].reshape(-1, 4 * H)  # (H, 4H)
        return grad_x_proj, grad_U


class MyLSTM(Classifier):
    """An LSTM written out gate by gate, with the report's W/U/b names.

    `step` is one letter of the report's model, equation by equation; `read` applies it letter after letter,
    and `trace` and the what-if experiments go through it. Training takes the fused fast path
    (`forward_onehot`): the same equations with the four gates' products side by side, every step's input
    product taken at once before the loop, and backpropagation through time written out by hand (_GateLoop).
    tests/test_models.py checks that both paths give the same values and gradients.
    """

    def __init__(self, input_size: int = N_LETTERS, hidden_size: int = 64, output_size: int = N_CATEGORIES):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        bound = 1 / math.sqrt(hidden_size)  # nn.LSTM's initialisation
        for gate in GATES:
            setattr(self, f"W_{gate}", nn.Parameter(torch.empty(input_size, hidden_size).uniform_(-bound, bound)))
            setattr(self, f"U_{gate}", nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-bound, bound)))
            setattr(self, f"b_{gate}", nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound)))
        self.out = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=-1)

    def step(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, edit: StepEdit | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One letter: x (B, V), the previous h and c (B, H) -> the new h, c and the gates i, f, g, o (B, H).

        `edit`, when given, may replace a gate's value before it is used (a what-if experiment).
        """
        i = torch.sigmoid(x @ self.W_i + h @ self.U_i + self.b_i)  # input gate: how much of g to write
        f = torch.sigmoid(x @ self.W_f + h @ self.U_f + self.b_f)  # forget gate: how much of c to keep
        g = torch.tanh(x @ self.W_g + h @ self.U_g + self.b_g)  # candidate: what could be written
        o = torch.sigmoid(x @ self.W_o + h @ self.U_o + self.b_o)  # output gate: how much of c to show
        if edit is not None:
            i, f, g, o = (edit(name, value) for name, value in (("i", i), ("f", f), ("g", g), ("o", o)))
        c = f * c + i * g  # (B, H)
        h = o * torch.tanh(c)  # (B, H)
        return h, c, {"i": i, "f": f, "g": g, "o": o}

    def read(self, x: torch.Tensor, edits: Callable[[int], StepEdit | None] | None = None) -> GateTrace:
        """Every letter of x (B, T, V) through `step`, h and c starting at zero; the trace of each step.

        `edits(t)` may give an edit for letter t; its "h" and "c" keys see (and may replace) the state
        before that letter, its gate keys the gates. Positions past a name's end are not masked here.
        """
        B, T, _ = x.shape
        h = c = x.new_zeros(B, self.hidden_size)  # (B, H)
        steps: dict[str, list[torch.Tensor]] = {key: [] for key in STATE_KEYS}
        for t in range(T):
            edit = edits(t) if edits is not None else None
            if edit is not None:
                h, c = edit("h", h), edit("c", c)
            h, c, gates = self.step(x[:, t], h, c, edit)
            for key, value in (*gates.items(), ("c", c), ("h", h)):
                steps[key].append(value)
        stacked = {key: torch.stack(values, dim=1) for key, values in steps.items()}  # (B, T, H) each
        return GateTrace(**stacked, log_probs=self.softmax(self.out(stacked["h"])))  # log_probs (B, T, C)

    def forward_readable(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """What forward_onehot computes, letter by letter through `step`: (B, T, V) -> (B, C)."""
        hs = self.read(x).h  # (B, T, H)
        return self.softmax(self.out(_last_step(hs, lengths)))  # (B, C)

    # --- the fused fast path that training uses: the same equations, arranged for speed ---

    def _fused(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The report's parameters side by side in the order i, f, o, g, so one sigmoid covers three gates.

        Gradients flow back through the concatenation to W_i, U_i, b_i and the others.
        """
        W = torch.cat([getattr(self, f"W_{k}") for k in FUSED_ORDER], dim=1)  # (V, 4H)
        U = torch.cat([getattr(self, f"U_{k}") for k in FUSED_ORDER], dim=1)  # (H, 4H)
        b = torch.cat([getattr(self, f"b_{k}") for k in FUSED_ORDER])  # (4H,)
        return W, U, b

    def _input_products(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_t W + b for every step at once, [T, B, 4H], and the fused U."""
        B, T, _ = x.shape
        W, U, b = self._fused()
        return torch.addmm(b, x.transpose(0, 1).reshape(T * B, -1), W).view(T, B, -1), U

    def _sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden state after every step, [T, B, H], run straight through the padding.

        A name's states up to its last character do not depend on the padding after it, so the loop needs
        no masking; callers read each name's values up to its own last index.
        """
        x_proj, U = self._input_products(x)
        if torch.is_grad_enabled() and (x_proj.requires_grad or U.requires_grad):
            return _GateLoop.apply(x_proj, U)
        return _gate_loop(x_proj, U, keep=False)  # evaluation: nothing kept for a backward pass

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        hs = self._sequence(x)  # (T, B, H)
        h_last = hs[(lengths - 1).to(x.device), torch.arange(x.size(0), device=x.device)]  # (B, H)
        return self.softmax(self.out(h_last))  # (B, C)

    @torch.no_grad()
    def trace(self, chars: torch.Tensor, lengths: torch.Tensor) -> GateTrace:
        """Gate activations, cell and hidden states, and prefix predictions at every step, through `step`."""
        x = one_hot(chars, self.input_size)
        T = x.size(1)
        trace = self.read(x)
        active = torch.arange(T, device=x.device).view(1, T) < lengths.to(x.device).view(-1, 1)  # (B, T)
        pad = ~active.unsqueeze(-1)  # (B, T, 1)
        return GateTrace(**{key: getattr(trace, key).masked_fill(pad, float("nan"))
                            for key in (*STATE_KEYS, "log_probs")})

    def gate_model(self) -> MyLSTM:
        return self

    @classmethod
    def from_lstm(cls, model: LSTM) -> MyLSTM:
        """A MyLSTM computing exactly what an LSTM model computes (nn.LSTM's gate order i, f, g, o)."""
        rnn = model.rnn
        mine = cls(model.input_size, model.hidden_size, model.output_size)
        H = model.hidden_size
        with torch.no_grad():
            bias = rnn.bias_ih_l0 + rnn.bias_hh_l0
            for k, gate in enumerate(GATES):
                rows = slice(k * H, (k + 1) * H)
                getattr(mine, f"W_{gate}").copy_(rnn.weight_ih_l0[rows].T)
                getattr(mine, f"U_{gate}").copy_(rnn.weight_hh_l0[rows].T)
                getattr(mine, f"b_{gate}").copy_(bias[rows])
            mine.out.load_state_dict(model.out.state_dict())
        return mine.to(rnn.weight_ih_l0.device)


# ---------------------------------------------------------------- comparison models beside the report's three


class Elman(Classifier):
    """The textbook RNN: nn.RNN with tanh over the one-hot letters, a linear read-out of the last state.

    h_t = tanh(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh). The tanh in the recurrence is what makes gradients
    shrink on their way back through time, the vanishing gradient that gates were invented against.
    """

    def __init__(self, input_size: int = N_LETTERS, hidden_size: int = 64, output_size: int = N_CATEGORIES):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity="tanh")
        self.out = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=-1)

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(x.transpose(0, 1))  # (T, B, H); a name's last state ignores the padding after it
        return self.softmax(self.out(_last_step(outputs.transpose(0, 1), lengths)))  # (B, C)
