"""One name read by a model: its states after each letter and what it predicts after each prefix.

The one way the library reads a model's insides; the cell view, units, attribution, what-if and gradients build
on it. nn.LSTM models are read through MyLSTM.from_lstm, so their gates are those of the report's equations; the
RNN is read through RNN.states. Letters are counted from 0 in code and JSON and shown from 1 on screen: that
choice is made in `letter_number` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data import clean_name, encode
from ..gates import SIGMOID_GATES, STATE_KEYS, STATE_LABELS
from ..models import RNN, Classifier, MyLSTM, one_hot
from ..registry import READABLE_MODELS, SPECS, as_gate_model, has_gates, key_of, no_gates_reason


def letter_number(t: int) -> int:
    """The number letter t (counted from 0, as everywhere in code and JSON) is shown with on screen."""
    return t + 1


def letter_labels(used: str) -> list[str]:
    """Axis labels "1:K", "2:o", ...: the charts show the letter, the number keeps repeated letters apart."""
    return [f"{letter_number(t)}:{ch}" for t, ch in enumerate(used)]


def _device(model: Classifier) -> torch.device:
    return next(model.parameters()).device


def _letters_of(name: str):
    cleaned = clean_name(name)
    chars, _ = encode([cleaned.text])
    return cleaned, chars


def _check_letter(t: int | None, length: int, what: str) -> None:
    if t is None:
        return
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < length:
        raise ValueError(f"{what} {t!r} is out of range: the name has {length} letters, counted from 0 "
                         f"(0..{length - 1})")


def _check_unit(unit: int | None, hidden: int) -> None:
    if unit is None:
        return
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not 0 <= unit < hidden:
        raise ValueError(f"unit {unit!r} is out of range: the model has {hidden} units (0..{hidden - 1})")


def _gate_model(model: Classifier, what: str) -> MyLSTM:
    if not has_gates(model):
        raise ValueError(f"{what} needs an LSTM's gates: {no_gates_reason(model)}")
    return as_gate_model(model)


@dataclass
class Reading:
    """One name read by a model, maybe with an intervention: its states after each letter (values[key][t] is
    after letter t) and its prediction after each prefix (the last row is the name's)."""

    name: str
    used: str
    note: str
    categories: list[str]
    values: dict[str, np.ndarray]  # "h" (and for an LSTM "i", "f", "g", "o", "c") -> (T, H), after each letter
    prefix_probs: np.ndarray  # (T, C)

    @property
    def probs(self) -> np.ndarray:
        return self.prefix_probs[-1]  # (C,)

    @property
    def chars(self) -> list[str]:
        return list(self.used)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probs)[:k]
        return [(self.categories[j], float(self.probs[j])) for j in order]

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probs))

    def step_top(self) -> list[tuple[str, str, float]]:
        """(letter, leading category, its probability) after each prefix."""
        best = self.prefix_probs.argmax(axis=1)
        return [(ch, self.categories[j], float(self.prefix_probs[t, j])) for t, (ch, j) in
                enumerate(zip(self.used, best))]

    def gate_frame(self, key: str) -> pd.DataFrame:
        """Long form for a heatmap: step (the letter, from 0), char (its label), unit, value."""
        values = self.values[key]
        T, H = values.shape
        return pd.DataFrame({
            "step": np.repeat(np.arange(T), H),
            "char": np.repeat(letter_labels(self.used), H),
            "unit": np.tile(np.arange(H), T),
            "value": values.reshape(-1),
        })

    def gate_means(self) -> pd.DataFrame:
        """Mean activation over units of the sigmoid gates (i, f, o) after each letter."""
        labels = letter_labels(self.used)
        frames = [pd.DataFrame({"step": np.arange(len(labels)), "char": labels,
                                "gate": STATE_LABELS[k], "mean": self.values[k].mean(axis=1)})
                  for k in SIGMOID_GATES]
        return pd.concat(frames, ignore_index=True)

    def prefix_frame(self, leading: int = 4) -> pd.DataFrame:
        """Probability of the categories that lead at the end (and anywhere on the way) after each prefix."""
        final_order = list(np.argsort(-self.prefix_probs[-1])[:leading])
        for j in self.prefix_probs.argmax(axis=1):
            if j not in final_order:
                final_order.append(int(j))
        labels = letter_labels(self.used)
        rows = [(t, labels[t], self.used[: t + 1], self.categories[j], float(self.prefix_probs[t, j]))
                for t in range(len(labels)) for j in final_order]
        return pd.DataFrame(rows, columns=["step", "char", "prefix", "category", "probability"])

    def to_json(self) -> dict:
        return {
            "name": self.name, "used": self.used, "note": self.note, "characters": self.chars,
            **{k: self.values[k].round(6).tolist() for k in STATE_KEYS if k in self.values},
            "step_prediction": [{"character": ch, "category": cat, "probability": p}
                                for ch, cat, p in self.step_top()],
            "top": [{"category": c, "probability": p} for c, p in self.top(3)],
        }


def _rnn_read(model: RNN, x: torch.Tensor, reset_at: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The tutorial RNN letter by letter: h after each letter (B, T, H) and the log-probabilities after each
    prefix (B, T, C).

    Its prediction after letter t reads that letter with the state before it; with reset_at, the state before
    letter reset_at is zeroed, as if the name began there.
    """
    states = model.states(x, reset_at)  # (B, T + 1, H)
    log_probs = torch.log_softmax(model.i2o(torch.cat([x, states[:, :-1]], dim=2)), dim=-1)  # (B, T, C)
    return states[:, 1:], log_probs  # (B, T, H), (B, T, C)


def _edits(clamps: dict[str, float], letters: set[int], unit: int | None, reset_at: int | None):
    """MyLSTM.read's edits(t): clamp gates at the chosen letters (one unit or all), zero h and c before reset_at."""

    def edits(t: int):
        clamp_here = bool(clamps) and t in letters
        reset_here = t == reset_at
        if not (clamp_here or reset_here):
            return None

        def edit(what: str, value: torch.Tensor) -> torch.Tensor:
            if reset_here and what in ("h", "c"):
                return torch.zeros_like(value)
            if clamp_here and what in clamps:
                if unit is None:
                    return torch.full_like(value, clamps[what])
                value = value.clone()
                value[:, unit] = clamps[what]
                return value
            return value

        return edit

    return edits


@torch.no_grad()
def read_name(model: Classifier, categories: list[str], name: str, clamps: dict[str, float] | None = None,
              at: int | None = None, start: int | None = None, unit: int | None = None,
              reset_at: int | None = None) -> Reading:
    """Read one typed name, optionally with an intervention.

    clamps {"f": 0.0, ...} sets gates (i, f or o) to a value in [0, 1], for one unit or all, at letter `at` only
    or from letter `start` on (every letter when neither is given). reset_at zeroes h and c before that letter.
    """
    if key_of(model) not in READABLE_MODELS:
        raise ValueError(f"a {SPECS[key_of(model)].label} run cannot be read letter by letter here: choose one of "
                         + ", ".join(SPECS[k].label for k in READABLE_MODELS))
    cleaned, chars = _letters_of(name)
    T = len(cleaned.text)
    clamps = dict(clamps or {})
    for gate, value in clamps.items():
        if gate not in SIGMOID_GATES:
            raise ValueError(f"cannot clamp {gate!r}: choose a gate of {', '.join(SIGMOID_GATES)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"a gate lies in [0, 1]: cannot clamp {gate} to {value!r}")
    if at is not None and start is not None:
        raise ValueError("clamp at one letter or from a letter on, not both")
    _check_letter(at, T, "letter")
    _check_letter(start, T, "letter")
    _check_letter(reset_at, T, "letter")
    hidden = model.hidden_size
    _check_unit(unit, hidden)
    if unit is not None and not clamps:
        raise ValueError("a unit is chosen for a clamp: say which gate to clamp")
    x = one_hot(chars.to(_device(model)), model.input_size)  # (1, T, V)
    if not has_gates(model):
        if clamps:
            raise ValueError(f"clamping a gate needs an LSTM's gates: {no_gates_reason(model)}")
        states, log_probs = _rnn_read(model, x, reset_at)
        values = {"h": states[0].cpu().numpy()}
        prefix_probs = log_probs[0].exp().cpu().numpy()
    else:
        gate_model = as_gate_model(model)
        letters = {at} if at is not None else set(range(start or 0, T))
        trace = gate_model.read(x, _edits({k: float(v) for k, v in clamps.items()}, letters, unit, reset_at))
        values = {key: getattr(trace, key)[0].cpu().numpy() for key in STATE_KEYS}
        prefix_probs = trace.log_probs[0].exp().cpu().numpy()
    return Reading(cleaned.original, cleaned.text, cleaned.note, list(categories), values, prefix_probs)


def _out_layer(model: Classifier) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The read-out's weights on the hidden units (C, H), its bias (C,), and where the units start in its input."""
    if key_of(model) == "rnn":  # its read-out takes the letter and the state: the units come after the letter
        return model.i2o.weight[:, model.input_size :], model.i2o.bias, model.input_size
    return model.out.weight, model.out.bias, 0
