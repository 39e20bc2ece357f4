"""One LSTM step of one unit with its real numbers: the gates' inputs, the gates, c and h, and the equations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data import encode
from ..gates import GATES
from ..models import Classifier
from .reading import _check_letter, _check_unit, _gate_model, read_name


@dataclass
class CellStep:
    """One LSTM step of one unit with its real numbers, and the same step for every unit."""

    name: str
    used: str
    t: int
    unit: int
    letter: str
    values: dict[str, float]  # c_prev, h_prev, i, f, g, o, f_c (f * c_prev), i_g (i * g), c, tanh_c, h
    terms: dict[str, dict[str, float]]  # gate -> input (W[letter, unit]), recurrent (h_prev · U[:, unit]), bias, z
    equations: list[str]
    units: pd.DataFrame  # every unit: unit, c_prev, f, i, g, o, c, delta_c, h; sorted by |delta_c|
    top: list[tuple[str, float]]  # the prediction after this letter

    def to_json(self) -> dict:
        return {"name": self.name, "used": self.used, "letter_index": self.t, "letter": self.letter,
                "unit": self.unit, "values": self.values, "terms": self.terms, "equations": self.equations,
                "top": [{"category": c, "probability": p} for c, p in self.top]}


def _eq_number(value: float) -> str:
    return f"{value:.2f}" if value >= 0 else f"({value:.2f})"


def _sum_text(parts: list[float]) -> str:
    """0.41 − 1.20 + 0.88: a sum written with its signs."""
    text = f"{parts[0]:.2f}" if parts[0] >= 0 else f"−{-parts[0]:.2f}"
    for part in parts[1:]:
        text += f" − {-part:.2f}" if part < 0 else f" + {part:.2f}"
    return text


@torch.no_grad()
def cell_step(model: Classifier, categories: list[str], name: str, t: int, unit: int) -> CellStep:
    """The step at letter t for one unit: the gates' inputs, the gates, c and h, and the equations with values in."""
    gate_model = _gate_model(model, "the cell view")
    reading = read_name(gate_model, categories, name)
    T, H = reading.values["h"].shape
    _check_letter(t, T, "letter")
    _check_unit(unit, H)
    v = reading.values
    c_prev = v["c"][t - 1] if t > 0 else np.zeros(H, dtype=np.float32)  # (H,)
    h_prev = v["h"][t - 1] if t > 0 else np.zeros(H, dtype=np.float32)  # (H,)
    letter_index = int(encode([reading.used[t]])[0][0, 0])
    terms = {}
    for gate in GATES:
        W = getattr(gate_model, f"W_{gate}").detach().cpu().numpy()  # (V, H)
        U = getattr(gate_model, f"U_{gate}").detach().cpu().numpy()  # (H, H)
        b = getattr(gate_model, f"b_{gate}").detach().cpu().numpy()  # (H,)
        # x_t is one-hot, so x_t W picks the letter's row of W
        parts = {"input": float(W[letter_index, unit]), "recurrent": float(h_prev @ U[:, unit]),
                 "bias": float(b[unit])}
        parts["z"] = parts["input"] + parts["recurrent"] + parts["bias"]
        terms[gate] = parts
    u = unit
    values = {"c_prev": float(c_prev[u]), "h_prev": float(h_prev[u]),
              **{g: float(v[g][t, u]) for g in GATES}}
    values |= {"f_c": values["f"] * values["c_prev"], "i_g": values["i"] * values["g"], "c": float(v["c"][t, u]),
               "tanh_c": float(np.tanh(v["c"][t, u])), "h": float(v["h"][t, u])}
    letter = reading.used[t]
    equations = []
    for gate, fn in (("i", "σ"), ("f", "σ"), ("g", "tanh"), ("o", "σ")):
        p = terms[gate]
        equations.append(f"{gate} = {fn}(x W_{gate} + h U_{gate} + b_{gate}) = "
                         f"{fn}({_sum_text([p['input'], p['recurrent'], p['bias']])}) = {fn}({p['z']:.2f}) = "
                         f"{values[gate]:.2f}")
    equations.append(f"c = f·c_prev + i·g = {values['f']:.2f}·{_eq_number(values['c_prev'])} + "
                     f"{values['i']:.2f}·{_eq_number(values['g'])} = {_eq_number(values['f_c'])} + "
                     f"{_eq_number(values['i_g'])} = {values['c']:.2f}")
    equations.append(f"h = o·tanh(c) = {values['o']:.2f}·tanh({values['c']:.2f}) = "
                     f"{values['o']:.2f}·{_eq_number(values['tanh_c'])} = {values['h']:.2f}")
    units = pd.DataFrame({"unit": np.arange(H), "c_prev": c_prev, "f": v["f"][t], "i": v["i"][t], "g": v["g"][t],
                          "o": v["o"][t], "c": v["c"][t], "delta_c": v["c"][t] - c_prev, "h": v["h"][t]})
    units = units.iloc[np.argsort(-np.abs(units["delta_c"].to_numpy()), kind="stable")].reset_index(drop=True)
    with torch.no_grad():
        after = gate_model.softmax(gate_model.out(torch.as_tensor(v["h"][t]).unsqueeze(0)))[0].exp().numpy()
    order = np.argsort(-after)[:3]
    top = [(categories[j], float(after[j])) for j in order]
    return CellStep(reading.name, reading.used, t, unit, letter, values, terms, equations, units, top)
