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

    def hidden_states(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden state *before* each step, [B, T, H]; frozen once a name has ended."""
        B, T, _ = x.shape
        W_x, W_h = self.i2h.weight.split([self.input_size, self.hidden_size], dim=1)
        x_proj = F.linear(x, W_x, self.i2h.bias)  # (B, T, H): all input steps at once
        h = x.new_zeros(B, self.hidden_size)
        before = []
        active = torch.arange(T, device=x.device).view(1, T) < lengths.to(x.device).view(B, 1)  # (B, T)
        for t in range(T):
            before.append(h)
            h_new = x_proj[:, t] + h @ W_h.T  # (B, H)
            h = torch.where(active[:, t : t + 1], h_new, h)
        return torch.stack(before, dim=1)  # (B, T, H)

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        before = self.hidden_states(x, lengths)  # (B, T, H)
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
    c = f * c + i * g, h = o * tanh(c). The four gates' products are fused per step.
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

    def _run(self, x: torch.Tensor, lengths: torch.Tensor, keep: bool):
        B, T, _ = x.shape
        H = self.hidden_size
        W = torch.cat([self.W_i, self.W_f, self.W_g, self.W_o], dim=1)  # (V, 4H)
        U = torch.cat([self.U_i, self.U_f, self.U_g, self.U_o], dim=1)  # (H, 4H)
        b = torch.cat([self.b_i, self.b_f, self.b_g, self.b_o])  # (4H,)
        x_proj = torch.addmm(b, x.reshape(B * T, -1), W).view(B, T, 4 * H)  # (B, T, 4H)
        active = torch.arange(T, device=x.device).view(1, T) < lengths.to(x.device).view(B, 1)  # (B, T)
        h = x.new_zeros(B, H)
        c = x.new_zeros(B, H)
        steps = []
        for t in range(T):
            z = x_proj[:, t] + h @ U  # (B, 4H)
            z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
            c_new = f * c + i * g  # (B, H)
            h_new = o * torch.tanh(c_new)  # (B, H)
            still = active[:, t : t + 1]  # (B, 1): names that have not ended keep moving
            c = torch.where(still, c_new, c)
            h = torch.where(still, h_new, h)
            if keep:
                steps.append((i, f, g, o, c_new, h_new))
        return h, steps, active

    def forward_onehot(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h, _, _ = self._run(x, lengths, keep=False)
        return self.softmax(self.out(h))  # (B, C)

    def step_log_probs(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _, steps, _ = self._run(x, lengths, keep=True)
        hs = torch.stack([s[5] for s in steps], dim=1)  # (B, T, H)
        return self.softmax(self.out(hs))  # (B, T, C)

    @torch.no_grad()
    def trace(self, chars: torch.Tensor, lengths: torch.Tensor) -> GateTrace:
        """Gate activations, cell and hidden states, and prefix predictions at every step."""
        x = one_hot(chars, self.input_size)
        _, steps, active = self._run(x, lengths, keep=True)
        stacked = [torch.stack([s[k] for s in steps], dim=1) for k in range(6)]  # 6 x (B, T, H)
        log_probs = self.softmax(self.out(stacked[5]))  # (B, T, C)
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
