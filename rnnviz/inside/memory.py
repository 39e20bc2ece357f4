"""Memory over time and the RNN's step: the views that compare the LSTM with the tutorial RNN letter by letter.

memory_over_time: one unit's states across the whole name (an LSTM's c, f, i, o and h; the RNN's h), so a
reader sees when the cell keeps, writes and shows what it holds. rnn_step: the tutorial RNN's step at one letter
for one unit with its numbers plugged in, as the LSTM cell step shows its equations: h = i2h([x, h_prev]), a
sum of three parts and nothing squashed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data import encode
from ..models import RNN, Classifier
from .cell import _sum_text
from .reading import _check_letter, _check_unit, letter_labels, read_name
from .units import unit_contributions

# The states a memory-over-time view draws, in the order a reader meets them, with their names on screen.
MEMORY_STATES = {"c": "cell state c", "f": "forget gate f", "i": "input gate i", "o": "output gate o",
                 "h": "hidden state h"}
MEMORY_COLUMNS = ["position", "label", "letter", "key", "state", "value"]  # state: the key's name on screen


@dataclass
class MemoryOverTime:
    """One unit's states after each letter of a name."""

    name: str
    used: str
    note: str
    unit: int
    deciding: bool  # whether `unit` is the unit that adds most to the predicted category's logit
    frame: pd.DataFrame  # MEMORY_COLUMNS

    @property
    def states(self) -> list[str]:
        """The keys drawn: c, f, i, o, h for an LSTM; h for the RNN."""
        return list(dict.fromkeys(self.frame["key"]))

    def values(self, key: str) -> np.ndarray:
        return self.frame.loc[self.frame["key"] == key, "value"].to_numpy()

    def to_json(self) -> dict:
        return {"name": self.name, "used": self.used, "unit": self.unit,
                **{state: self.values(state).round(6).tolist() for state in self.states}}


def deciding_unit(model: Classifier, categories: list[str], name: str) -> int:
    """The unit that adds most (in size) to the predicted category's logit at the end of the name."""
    return int(unit_contributions(model, categories, name).frame["unit"].iloc[0])


@torch.no_grad()
def memory_over_time(model: Classifier, categories: list[str], name: str, unit: int | None = None
                     ) -> MemoryOverTime:
    """One unit's c, f, i, o and h after each letter (an LSTM), or its h (the RNN); by default the name's
    deciding unit."""
    reading = read_name(model, categories, name)
    hidden = reading.values["h"].shape[1]
    top = deciding_unit(model, categories, name)
    unit = top if unit is None else unit
    _check_unit(unit, hidden)
    labels = letter_labels(reading.used)
    frames = [pd.DataFrame({"position": np.arange(len(labels)), "label": labels, "letter": list(reading.used),
                            "key": key, "state": MEMORY_STATES[key],
                            "value": reading.values[key][:, unit].astype(float)})
              for key in MEMORY_STATES if key in reading.values]
    frame = pd.concat(frames, ignore_index=True)[MEMORY_COLUMNS]
    return MemoryOverTime(reading.name, reading.used, reading.note, int(unit), unit == top, frame)


@dataclass
class RNNStep:
    """The tutorial RNN's step at one letter for one unit, with its numbers, and the same step for every unit."""

    name: str
    used: str
    t: int
    unit: int
    letter: str
    values: dict[str, float]  # input (W_x[unit, letter]), recurrent (h_prev · W_h[unit]), bias, h_prev, h
    equations: list[str]
    units: pd.DataFrame  # every unit: unit, h_prev, input, recurrent, bias, h, delta_h; sorted by |delta_h|
    top: list[tuple[str, float]]  # the prediction after this letter

    def to_json(self) -> dict:
        return {"name": self.name, "used": self.used, "letter_index": self.t, "letter": self.letter,
                "unit": self.unit, "values": self.values, "equations": self.equations,
                "top": [{"category": c, "probability": p} for c, p in self.top]}


@torch.no_grad()
def rnn_step(model: Classifier, categories: list[str], name: str, t: int, unit: int | None = None) -> RNNStep:
    """The tutorial RNN's step at letter t: h = i2h([x, h_prev]) = x W_x + h_prev W_h + b, each part for `unit`
    (by default the name's deciding unit), and what it predicts after the letter, i2o([x, h_prev])."""
    if not isinstance(model, RNN):
        raise ValueError("the RNN step reads the tutorial RNN's i2h; choose an RNN run (an LSTM has the cell step)")
    reading = read_name(model, categories, name)
    h_all = reading.values["h"]  # (T, H) after each letter
    T, H = h_all.shape
    _check_letter(t, T, "letter")
    unit = deciding_unit(model, categories, name) if unit is None else unit
    _check_unit(unit, H)
    h_prev = h_all[t - 1] if t > 0 else np.zeros(H, dtype=np.float32)  # (H,)
    letter_index = int(encode([reading.used[t]])[0][0, 0])
    W_x, W_h = model.i2h.weight.detach().cpu().split([model.input_size, model.hidden_size], dim=1)
    W_x, W_h = W_x.numpy(), W_h.numpy()  # (H, V), (H, H)
    bias = model.i2h.bias.detach().cpu().numpy()  # (H,)
    # x is one-hot, so x W_x picks the letter's column of W_x for every unit
    inputs = W_x[:, letter_index]  # (H,)
    recurrent = W_h @ h_prev  # (H,)
    values = {"input": float(inputs[unit]), "recurrent": float(recurrent[unit]), "bias": float(bias[unit]),
              "h_prev": float(h_prev[unit]), "h": float(h_all[t, unit])}
    equations = [
        f"h = x W_x + h_prev W_h + b = {_sum_text([values['input'], values['recurrent'], values['bias']])} "
        f"= {values['h']:.2f}",
        "no squashing: the tutorial RNN's i2h is one linear layer on [x, h_prev], so h can grow without bound",
    ]
    units = pd.DataFrame({"unit": np.arange(H), "h_prev": h_prev, "input": inputs, "recurrent": recurrent,
                          "bias": bias, "h": h_all[t], "delta_h": h_all[t] - h_prev})
    units = units.iloc[np.argsort(-np.abs(units["delta_h"].to_numpy()), kind="stable")].reset_index(drop=True)
    x = torch.zeros(1, model.input_size)
    x[0, letter_index] = 1.0
    combined = torch.cat([x, torch.as_tensor(h_prev).unsqueeze(0)], dim=1)  # (1, V + H)
    after = model.softmax(model.i2o(combined.to(model.i2o.weight.device)))[0].exp().cpu().numpy()  # (C,)
    order = np.argsort(-after)[:3]
    top = [(categories[j], float(after[j])) for j in order]
    return RNNStep(reading.name, reading.used, t, int(unit), reading.used[t], values, equations, units, top)
