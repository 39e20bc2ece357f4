"""The lab report's three classifiers: the tutorial RNN, a model around nn.LSTM, and MyLSTM.

Every model takes a padded batch of alphabet indices and the true lengths and returns
log-probabilities over the categories: forward(chars [B, T], lengths [B]) -> [B, C].
Inputs are one-hot vectors, 57 wide, as in the report; `forward_onehot` accepts them directly
so gradients with respect to each input step can be taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import N_LETTERS

N_CATEGORIES = 18
GATES = ("i", "f", "g", "o")


def one_hot(chars: torch.Tensor, width: int = N_LETTERS) -> torch.Tensor:
    return F.one_hot(chars, width).float()  # (B, T, V)


def _last_step(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """values[b, lengths[b] - 1] for a (B, T, X) tensor."""
    index = (lengths - 1).to(values.device).view(-1, 1, 1).expand(-1, 1, values.size(2))
    return values.gather(1, index).squeeze(1)  # (B, X)


class Classifier(nn.Module):
    """Shared entry point: indices -> one-hot -> the model's own forward_onehot."""

    default_hidden = 64

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.forward_onehot(one_hot(chars, self.input_size), lengths)

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class RNN(Classifier):
    """The PyTorch tutorial's RNN: h = i2h(cat(x, h)), output = i2o(cat(x, h)), no nonlinearity."""

    default_hidden = 128

    def __init__(self, input_size: int = N_LETTERS, hidden_size: int = 128, output_size: int = N_CATEGORIES):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def _states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden state before each step, run straight through the padding: [B, T, H].

        A name's states up to its last character do not depend on the padding after it, so the loop needs
        no masking; callers read each name's states up to its own last index.
        """
        B, T, _ = x.shape
        W_x, W_h = self.i2h.weight.split([self.input_size, self.hidden_size], dim=1)
        x_proj = F.linear(x.transpose(0, 1), W_x, self.i2h.bias)  # (T, B, H): all input steps at once
        W_hT = W_h.T  # (H, H)
        states = [x.new_zeros(B, self.hidden_size)]
        for t in range(T - 1):  # the state after the last step feeds nothing
            # h_{t+1} = x_t W_x + b + h_t W_h; the first state is zero, so its product is left out.
            states.append(x_proj[0] if t == 0 else torch.addmm(x_proj[t], states[-1], W_hT))  # (B, H)
        return torch.stack(states, dim=1)  # (B, T, H)

    def hidden_states(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden state *before* each step, [B, T, H]; frozen once a name has ended."""
        states = self._states(x)  # (B, T, H)
        T = x.size(1)
        # Before step t a name holds the state after min(t, length) steps.
        index = torch.minimum(torch.arange(T, device=x.device).view(1, T), lengths.to(x.device).view(-1, 1))
        return states.gather(1, index.unsqueeze(-1).expand(-1, -1, states.size(2)))

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        before = self._states(x)  # (B, T, H)
        combined = torch.cat([_last_step(x, lengths), _last_step(before, lengths)], dim=1)  # (B, V+H)
        return self.softmax(self.i2o(combined))  # (B, C)

    def step_log_probs(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """What the model predicts after each prefix, [B, T, C]."""
        before = self.hidden_states(x, lengths)
        return self.softmax(self.i2o(torch.cat([x, before], dim=2)).flatten(0, 1)).view(
            x.size(0), x.size(1), -1
        )


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

    def step_log_probs(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(x.transpose(0, 1))  # (T, B, H)
        return self.softmax(self.out(outputs.transpose(0, 1)))  # (B, T, C)


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


class MyLSTM(Classifier):
    """An LSTM written out gate by gate, with the report's W/U/b names.

    i = sigmoid(x W_i + h U_i + b_i), f and o likewise, g = tanh(x W_g + h U_g + b_g),
    c = f * c + i * g, h = o * tanh(c). The four gates' products are fused per step, and every step's
    input product is taken at once before the loop.
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

    def _fused(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The report's parameters side by side in the order i, f, o, g, so one sigmoid covers three gates."""
        order = ("i", "f", "o", "g")
        W = torch.cat([getattr(self, f"W_{k}") for k in order], dim=1)  # (V, 4H)
        U = torch.cat([getattr(self, f"U_{k}") for k in order], dim=1)  # (H, 4H)
        b = torch.cat([getattr(self, f"b_{k}") for k in order])  # (4H,)
        return W, U, b

    def _run(self, x: torch.Tensor, keep: bool):
        """Every step's h (and, when keep, c and the gates i, f, g, o), run straight through the padding.

        A name's states up to its last character do not depend on the padding after it, so the loop needs
        no masking; callers read each name's values up to its own last index.
        """
        B, T, _ = x.shape
        H = self.hidden_size
        W, U, b = self._fused()  # gradients flow back through the concatenation to W_i, U_i, b_i, ...
        x_proj = torch.addmm(b, x.transpose(0, 1).reshape(T * B, -1), W).view(T, B, 4 * H)  # all steps at once
        hs, cs, gates = [], [], []
        h = c = None
        for t in range(T):
            z = x_proj[0] if t == 0 else torch.addmm(x_proj[t], h, U)  # (B, 4H); h and c start at zero
            ifo = torch.sigmoid(z[:, : 3 * H])  # (B, 3H)
            g = torch.tanh(z[:, 3 * H :])  # (B, H)
            i, f, o = ifo.chunk(3, dim=1)
            c = i * g if t == 0 else torch.addcmul(f * c, i, g)  # c = f * c + i * g
            h = o * torch.tanh(c)  # (B, H)
            hs.append(h)
            if keep:
                cs.append(c)
                gates.append((i, f, g, o))
        return hs, cs, gates

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        hs, _, _ = self._run(x, keep=False)
        h_last = _last_step(torch.stack(hs, dim=1), lengths)  # (B, H)
        return self.softmax(self.out(h_last))  # (B, C)

    def step_log_probs(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        hs, _, _ = self._run(x, keep=False)
        return self.softmax(self.out(torch.stack(hs, dim=1)))  # (B, T, C)

    @torch.no_grad()
    def trace(self, chars: torch.Tensor, lengths: torch.Tensor) -> GateTrace:
        """Gate activations, cell and hidden states, and prefix predictions at every step."""
        x = one_hot(chars, self.input_size)
        hs, cs, gates = self._run(x, keep=True)
        stacked = [torch.stack([step[k] for step in gates], dim=1) for k in range(4)]  # i, f, g, o: (B, T, H)
        stacked += [torch.stack(cs, dim=1), torch.stack(hs, dim=1)]
        log_probs = self.softmax(self.out(stacked[5]))  # (B, T, C)
        T = x.size(1)
        active = torch.arange(T, device=x.device).view(1, T) < lengths.to(x.device).view(-1, 1)  # (B, T)
        pad = ~active.unsqueeze(-1)  # (B, T, 1)
        masked = [t.masked_fill(pad, float("nan")) for t in stacked + [log_probs]]
        return GateTrace(*masked)

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


MODELS: dict[str, type[Classifier]] = {"rnn": RNN, "lstm": LSTM, "mylstm": MyLSTM}
MODEL_LABELS = {"rnn": "RNN", "lstm": "nn.LSTM", "mylstm": "MyLSTM"}


def build_model(name: str, input_size: int = N_LETTERS, hidden_size: int | None = None,
                output_size: int = N_CATEGORIES) -> Classifier:
    """Build a registered model by name; hidden_size None takes the report's default for it."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    cls = MODELS[name]
    return cls(input_size=input_size, hidden_size=hidden_size or cls.default_hidden, output_size=output_size)


def as_gate_model(model: Classifier) -> MyLSTM:
    """The model whose gates can be traced: a MyLSTM as is, an LSTM through from_lstm."""
    if isinstance(model, MyLSTM):
        return model
    if isinstance(model, LSTM):
        return MyLSTM.from_lstm(model)
    raise ValueError("gates exist only for LSTM and MyLSTM runs; the RNN has none")
