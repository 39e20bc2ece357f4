"""Explaining an LSTM's prediction: one cell step with its numbers, what each unit does, where a prediction
comes from, and what-if experiments on the gates.

Every function takes a trained model and its categories (LoadedRun.model and .categories). nn.LSTM models are
read through MyLSTM.from_lstm, so their gates are those of the report's equations. The RNN gets what applies to
it (hidden-state path, attribution, unit contributions, resetting the state); a gate-only question about an RNN
is a one-line ValueError that says why. Letters are counted from 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from .data import DataError, clean_name, encode
from .models import RNN, Classifier, MyLSTM, one_hot
from .registry import as_gate_model, has_gates, no_gates_reason

CLAMP_GATES = ("i", "f", "o")  # the sigmoid gates, whose values lie in [0, 1]
GATE_WORDS = {"i": "input gate", "f": "forget gate", "g": "candidate g", "o": "output gate"}
UNIT_ORDERS = {"index": "unit index", "category": "category it pushes up", "saturation": "gate saturation",
               "variance": "variance of h"}
SATURATED = (0.1, 0.9)  # a gate below 0.1 or above 0.9 is saturated (Karpathy, Johnson and Fei-Fei 2015)


# ---------------------------------------------------------------------------------------------- helpers


def _gate_model(model: Classifier, what: str) -> MyLSTM:
    if not has_gates(model):
        raise ValueError(f"{what} needs an LSTM's gates: {no_gates_reason(model)}")
    return as_gate_model(model)


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


def letter_labels(used: str) -> list[str]:
    """Axis labels "0:K", "1:o", ...: the charts show the letter, the position keeps repeated letters apart."""
    return [f"{t}:{ch}" for t, ch in enumerate(used)]


@dataclass
class Reading:
    """One name read by a model, maybe with an intervention: its states after each letter and its prediction."""

    name: str
    used: str
    note: str
    categories: list[str]
    values: dict[str, np.ndarray]  # "h" (and for an LSTM "i", "f", "g", "o", "c") -> (T, H), after each letter
    probs: np.ndarray  # (C,): the prediction after the last letter

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probs)[:k]
        return [(self.categories[j], float(self.probs[j])) for j in order]

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probs))


def _rnn_read(model: RNN, x: torch.Tensor, reset_at: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The tutorial RNN letter by letter: h after each letter (B, T, H) and log-probabilities (B, C).

    Its prediction reads the last letter with the state before it; with reset_at, that state is zeroed before
    letter reset_at, as if the name began there.
    """
    states = model.states(x, reset_at)  # (B, T + 1, H)
    log_probs = model.softmax(model.i2o(torch.cat([x[:, -1], states[:, -2]], dim=1)))  # (B, C)
    return states[:, 1:], log_probs  # (B, T, H), (B, C)


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
    cleaned, chars = _letters_of(name)
    T = len(cleaned.text)
    clamps = dict(clamps or {})
    for gate, value in clamps.items():
        if gate not in CLAMP_GATES:
            raise ValueError(f"cannot clamp {gate!r}: choose a gate of {', '.join(CLAMP_GATES)}")
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
        probs = log_probs[0].exp().cpu().numpy()
    else:
        gate_model = as_gate_model(model)
        letters = {at} if at is not None else set(range(start or 0, T))
        trace = gate_model.read(x, _edits({k: float(v) for k, v in clamps.items()}, letters, unit, reset_at))
        values = {key: getattr(trace, key)[0].cpu().numpy() for key in ("i", "f", "g", "o", "c", "h")}
        probs = trace.log_probs[0, -1].exp().cpu().numpy()
    return Reading(cleaned.original, cleaned.text, cleaned.note, list(categories), values, probs)


def _out_layer(model: Classifier) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The read-out's weights on the hidden units (C, H), its bias (C,), and where the units start in its input."""
    if isinstance(model, RNN):
        return model.i2o.weight[:, model.input_size :], model.i2o.bias, model.input_size
    return model.out.weight, model.out.bias, 0


# ---------------------------------------------------------------------------------- 1. the cell, letter by letter


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
    for gate in ("i", "f", "g", "o"):
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
              **{g: float(v[g][t, u]) for g in ("i", "f", "g", "o")}}
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


# --------------------------------------------------------------------------------------- 2. units that mean something


@dataclass
class Contributions:
    """Each unit's share of the predicted category's logit at the last letter: W_out[k, j] * h_j."""

    category: str
    logit: float
    bias: float
    rest: float  # what else the read-out adds: the last letter's own weight in the RNN, 0 for an LSTM
    frame: pd.DataFrame  # unit, h, weight, contribution; largest |contribution| first

    def to_json(self, top: int | None = None) -> dict:
        rows = self.frame if top is None else self.frame.head(top)
        return {"category": self.category, "logit": self.logit, "bias": self.bias, "rest": self.rest,
                "units": rows.to_dict(orient="records")}


@torch.no_grad()
def unit_contributions(model: Classifier, categories: list[str], name: str, category: str | None = None
                       ) -> Contributions:
    """How much each hidden unit adds to a category's logit (the predicted one unless named) at the last letter.

    The contributions, the bias and `rest` add up to the logit.
    """
    reading = read_name(model, categories, name)
    k = reading.predicted if category is None else categories.index(category) if category in categories else None
    if k is None:
        raise DataError(f"unknown category {category!r}: choose one of {', '.join(categories)}")
    W, b, first = _out_layer(model)
    h = reading.values["h"][-1]  # (H,) what the read-out sees
    if isinstance(model, RNN):  # the RNN's read-out sees the state before the last letter, and the letter itself
        h = reading.values["h"][-2] if len(reading.used) > 1 else np.zeros_like(h)
        letter = int(encode([reading.used[-1]])[0][0, 0])
        rest = float(model.i2o.weight[k, letter])
    else:
        rest = 0.0
    weights = W[k].detach().cpu().numpy()  # (H,)
    contribution = weights * h  # (H,)
    frame = pd.DataFrame({"unit": np.arange(len(h)), "h": h.astype(float), "weight": weights.astype(float),
                          "contribution": contribution.astype(float)})
    frame = frame.iloc[np.argsort(-np.abs(contribution), kind="stable")].reset_index(drop=True)
    bias = float(b[k])
    return Contributions(categories[k], float(contribution.sum()) + bias + rest, bias, rest, frame)


@dataclass
class Context:
    """One validation name at one letter, with the unit's value at every letter of the name (Karpathy's view)."""

    name: str
    category: str
    position: int
    value: float
    letters: list[float]

    def to_json(self) -> dict:
        return {"name": self.name, "category": self.category, "position": self.position,
                "letter": self.name[self.position], "value": self.value}


@dataclass
class UnitAtlas:
    """Every validation name read once: each unit's h (and an LSTM's c) after every letter, for the unit
    explorer, the pattern search and the hidden-state map. Build it with `build_atlas`; cache it per run."""

    categories: list[str]
    names: list[str]
    labels: np.ndarray  # (N,)
    lengths: np.ndarray  # (N,)
    values: dict[str, np.ndarray]  # "h" (and "c") -> (N, T, H), NaN past each name's end
    saturation: np.ndarray  # (H,): share of letters where i, f and o are saturated, averaged; NaN for an RNN
    out_weight: np.ndarray  # (C, H): the read-out's weights on the units
    pca: PCA
    final_xy: np.ndarray  # (N, 2): each name's final state projected
    seconds: float = 0.0
    roles: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        push = self.out_weight.argmax(axis=0)  # (H,)
        h = self.values["h"]
        variance = np.nanvar(h.reshape(-1, h.shape[2]), axis=0)  # (H,)
        self.roles = pd.DataFrame({
            "unit": np.arange(h.shape[2]), "pushes_up": [self.categories[j] for j in push],
            "weight": self.out_weight.max(axis=0), "saturation": self.saturation, "variance": variance,
        })

    @property
    def hidden(self) -> int:
        return self.values["h"].shape[2]

    @property
    def keys(self) -> list[str]:
        return [k for k in ("c", "h") if k in self.values]

    def _key(self, key: str) -> np.ndarray:
        if key not in self.values:
            raise ValueError("the cell state c needs an LSTM, and an RNN has none: look at h instead"
                             if key == "c" else f"unknown value {key!r}: choose c or h")
        return self.values[key]

    def order(self, by: str = "index") -> list[int]:
        """Units in display order: by index, by the category they push up most (then by that weight), by
        saturation or by variance (highest first)."""
        if by not in UNIT_ORDERS:
            raise ValueError(f"unknown unit order {by!r}: choose one of {', '.join(UNIT_ORDERS)}")
        roles = self.roles
        if by == "index":
            return roles["unit"].tolist()
        if by == "category":
            rank = {c: i for i, c in enumerate(self.categories)}
            frame = roles.assign(rank=roles["pushes_up"].map(rank))
            return frame.sort_values(["rank", "weight"], ascending=[True, False], kind="stable")["unit"].tolist()
        if by == "saturation" and np.isnan(self.saturation).all():
            raise ValueError("saturation is a property of gates, and an RNN has none: order by variance instead")
        return roles.sort_values(by, ascending=False, kind="stable")["unit"].tolist()

    def top_contexts(self, unit: int, key: str = "c", k: int = 5) -> dict[str, list[Context]]:
        """The validation names (one letter each, no name twice) where the unit's value is most positive and
        most negative."""
        _check_unit(unit, self.hidden)
        values = self._key(key)[:, :, unit]  # (N, T)
        found = {}
        for sign, label in ((1.0, "positive"), (-1.0, "negative")):
            signed = np.where(np.isnan(values), -np.inf, sign * values)  # (N, T)
            best_t = signed.argmax(axis=1)  # (N,)
            best = signed[np.arange(len(best_t)), best_t]  # (N,)
            rows = np.argsort(-best, kind="stable")[:k]
            found[label] = [Context(self.names[r], self.categories[self.labels[r]], int(best_t[r]),
                                    float(values[r, best_t[r]]), values[r, : self.lengths[r]].astype(float).tolist())
                            for r in rows if np.isfinite(best[r])]
        return found

    def active_categories(self, unit: int, key: str = "h", k: int = 3) -> list[tuple[str, float]]:
        """The categories whose names hold the unit's value highest, as the mean over their letters."""
        _check_unit(unit, self.hidden)
        values = self._key(key)[:, :, unit]  # (N, T)
        means = []
        for j, category in enumerate(self.categories):
            rows = values[self.labels == j]
            means.append((category, float(np.nanmean(rows)) if np.isfinite(rows).any() else float("nan")))
        means = [m for m in means if np.isfinite(m[1])]
        return sorted(means, key=lambda m: -m[1])[:k]

    def unit_json(self, unit: int, k: int = 5) -> dict:
        favours = np.argsort(-self.out_weight[:, unit])[:3]
        return {
            "unit": unit,
            "favours": [{"category": self.categories[j], "weight": float(self.out_weight[j, unit])} for j in favours],
            "most_active_in": [{"category": c, "mean_h": v} for c, v in self.active_categories(unit)],
            "saturation": None if np.isnan(self.saturation[unit]) else float(self.saturation[unit]),
            "variance": float(self.roles["variance"][unit]),
            "top_contexts": {key: {side: [c.to_json() for c in contexts]
                                   for side, contexts in self.top_contexts(unit, key, k).items()}
                             for key in self.keys},
        }

    def to_json(self, k: int = 5) -> dict:
        return {"units": [self.unit_json(u, k) for u in range(self.hidden)]}


def _final_states(h: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return h[np.arange(len(lengths)), lengths - 1]  # (N, H)


@torch.no_grad()
def build_atlas(model: Classifier, categories: list[str], pairs: list[tuple[str, int]], batch_size: int = 512
                ) -> UnitAtlas:
    """Read every (name, label) of a validation split once; the unit explorer, pattern search and hidden-state
    map answer from it."""
    if not pairs:
        raise DataError("no validation names to explore the units on")
    began = time.perf_counter()
    pairs = sorted(pairs, key=lambda p: (len(p[0]), p[0]))  # similar lengths batch with little padding
    names = [name for name, _ in pairs]
    labels = np.array([label for _, label in pairs])
    lengths = np.array([len(name) for name in names])
    N, T, H = len(names), int(lengths.max()), model.hidden_size
    gates = has_gates(model)
    keys = ("c", "h") if gates else ("h",)
    values = {key: np.full((N, T, H), np.nan, dtype=np.float32) for key in keys}
    saturated = np.zeros(H)
    device = _device(model)
    gate_model = as_gate_model(model) if gates else None
    for start in range(0, N, batch_size):
        chars, batch_lengths = encode(names[start : start + batch_size])
        width = chars.size(1)
        rows = slice(start, start + chars.size(0))
        if gate_model is not None:
            trace = gate_model.trace(chars.to(device), batch_lengths.to(device))
            for key in keys:
                values[key][rows, :width] = getattr(trace, key).cpu().numpy()
            for gate in CLAMP_GATES:
                g = getattr(trace, gate).cpu().numpy()  # (B, t, H), NaN past each end
                saturated += np.nansum((g < SATURATED[0]) | (g > SATURATED[1]), axis=(0, 1))
        else:
            x = one_hot(chars.to(device), model.input_size)
            states, _ = _rnn_read(model, x)  # (B, t, H)
            pad = np.arange(width)[None, :] >= batch_lengths.numpy()[:, None]  # (B, t)
            values["h"][rows, :width] = np.where(pad[..., None], np.nan, states.cpu().numpy())
    saturation = saturated / (3 * lengths.sum()) if gates else np.full(H, np.nan)
    W, _, _ = _out_layer(model)
    pca = PCA(n_components=2, random_state=0).fit(_final_states(values["h"], lengths))
    atlas = UnitAtlas(list(categories), names, labels, lengths, values, saturation,
                      W.detach().cpu().numpy().astype(float), pca,
                      pca.transform(_final_states(values["h"], lengths)))
    atlas.seconds = time.perf_counter() - began
    return atlas


@dataclass
class SpanSearch:
    """The units on across a span of a typed name, and the validation names where they fire the same way."""

    span: str
    start: int
    stop: int
    key: str
    threshold: float
    units: pd.DataFrame  # unit, sign (+1 / -1), strength (the weakest value across the span, signed)
    matches: pd.DataFrame  # name, category, start, text, shares_span: the first matching window of each name
    by_category: pd.DataFrame  # category, shares ("yes" / "no"), names
    containing: int  # validation names that hold the span's letters at all, found or not

    @property
    def sharing(self) -> int:
        return int(self.matches["shares_span"].sum()) if len(self.matches) else 0

    def to_json(self) -> dict:
        return {"span": self.span, "start": self.start, "stop": self.stop, "key": self.key,
                "threshold": self.threshold, "units": self.units.to_dict(orient="records"),
                "names_matching": len(self.matches), "names_sharing_the_span": self.sharing,
                "names_holding_the_span": self.containing,
                "matches": self.matches.head(50).to_dict(orient="records")}


@torch.no_grad()
def span_search(model: Classifier, categories: list[str], atlas: UnitAtlas, name: str, start: int, stop: int,
                key: str = "h", threshold: float = 0.3, max_units: int = 3) -> SpanSearch:
    """LSTMVis's pattern search: letters start..stop-1 of the typed name -> the units whose value stays beyond
    `threshold` (one sign) across them, strongest first -> the validation names with a window of as many
    letters where every one of those units does the same."""
    reading = read_name(model, categories, name)
    T = len(reading.used)
    if not (isinstance(start, (int, np.integer)) and isinstance(stop, (int, np.integer)) and 0 <= start < stop <= T):
        raise ValueError(f"choose a span of letters within the name: 0 <= start < stop <= {T} "
                         f"(got {start!r}..{stop!r})")
    if not 0 < threshold < 1:
        raise ValueError("the threshold must lie between 0 and 1")
    if key not in reading.values:
        atlas._key(key)  # the one-line reason
    typed = reading.values[key][start:stop]  # (L, H)
    sign = np.where(typed.mean(axis=0) >= 0, 1.0, -1.0)  # (H,)
    strength = (sign * typed).min(axis=0)  # (H,) the weakest letter of the span
    on = np.flatnonzero(strength >= threshold)
    on = on[np.argsort(-strength[on], kind="stable")][:max_units]
    units = pd.DataFrame({"unit": on.astype(int), "sign": sign[on].astype(int), "strength": strength[on] * sign[on]})
    span = reading.used[start:stop]
    L = stop - start
    columns = ["name", "category", "start", "text", "shares_span"]
    containing = sum(span.lower() in n.lower() for n in atlas.names)
    if len(on) == 0:
        return SpanSearch(span, start, stop, key, threshold, units, pd.DataFrame(columns=columns),
                          pd.DataFrame(columns=["category", "shares", "names"]), containing)
    values = atlas._key(key)[:, :, on] * sign[on]  # (N, T, k)
    fires = np.nan_to_num(values, nan=-np.inf).min(axis=2) >= threshold  # (N, T): every chosen unit on
    counts = np.cumsum(np.pad(fires, ((0, 0), (1, 0))).astype(int), axis=1)  # (N, T + 1)
    windows = (counts[:, L:] - counts[:, :-L]) == L  # (N, T - L + 1): the window starting there fires throughout
    rows = np.flatnonzero(windows.any(axis=1))
    firsts = []
    for r in rows:  # a window holding the span's own letters if there is one, else the first that fires
        starts = np.flatnonzero(windows[r])
        same = [s for s in starts if atlas.names[r][s : s + L].lower() == span.lower()]
        firsts.append(same[0] if same else starts[0])
    firsts = np.array(firsts, dtype=int)
    texts = [atlas.names[r][s : s + L] for r, s in zip(rows, firsts)]
    matches = pd.DataFrame({"name": [atlas.names[r] for r in rows],
                            "category": [atlas.categories[atlas.labels[r]] for r in rows],
                            "start": firsts.astype(int), "text": texts,
                            "shares_span": [t.lower() == span.lower() for t in texts]}, columns=columns)
    by_category = (matches.assign(shares=np.where(matches["shares_span"], "yes", "no"))
                   .groupby(["category", "shares"]).size().rename("names").reset_index())
    return SpanSearch(span, start, stop, key, threshold, units, matches, by_category, containing)


def span_examples(atlas: UnitAtlas, search: SpanSearch, k: int = 8) -> list[tuple[str, str, list[float]]]:
    """Up to k matched names, those holding the span first: (label, name, the first found unit's value at each
    letter), for a letter strip."""
    if search.units.empty or search.matches.empty:
        return []
    unit = int(search.units["unit"].iloc[0])
    index = {name: row for row, name in enumerate(atlas.names)}
    picked = search.matches.sort_values("shares_span", ascending=False, kind="stable").head(k)
    values = atlas._key(search.key)
    return [(f"{r.name} ({r.category})", r.name, values[index[r.name], : len(r.name), unit].astype(float).tolist())
            for r in picked.itertuples()]


# ------------------------------------------------------------------------------ 3. where the prediction comes from


@dataclass
class Attribution:
    """How much each letter carries the predicted category: occlusion and gradient × input."""

    name: str
    used: str
    note: str
    category: str
    probability: float
    frame: pd.DataFrame  # position, label, letter, occlusion, gradient_x_input

    def to_json(self) -> dict:
        def number(v: float):
            return None if not np.isfinite(v) else float(v)

        return {"name": self.name, "used": self.used, "category": self.category, "probability": self.probability,
                "letters": [{"letter": row.letter, "occlusion": number(row.occlusion),
                             "gradient_x_input": number(row.gradient_x_input)}
                            for row in self.frame.itertuples(index=False)]}


def attribution(model: Classifier, categories: list[str], name: str) -> Attribution:
    """Occlusion: p(category | name) - p(category | name without that letter), for the predicted category
    (NaN where nothing would be left); gradient × input: d log p(category) / d x_t at the letter read."""
    cleaned, chars = _letters_of(name)
    used = cleaned.text
    device = _device(model)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = one_hot(chars.to(device), model.input_size).requires_grad_()  # (1, T, V)
            log_probs = model.forward_onehot(x, torch.tensor([len(used)]))[0]  # (C,)
            k = int(log_probs.argmax())
            (grad,) = torch.autograd.grad(log_probs[k], x)
        with torch.no_grad():
            probability = float(log_probs[k].exp())
            without = [used[:t] + used[t + 1 :] for t in range(len(used))]
            kept = [w for w in without if w]
            occluded = {}
            if kept:
                c, lengths = encode(kept)
                p = model(c.to(device), lengths.to(device))[:, k].exp().cpu().numpy()  # (B,)
                occluded = dict(zip(kept, p.tolist()))
    finally:
        model.train(was_training)
    grad_x = (grad * x.detach())[0].sum(dim=1).cpu().numpy()  # (T,)
    occlusion = np.array([probability - occluded[w] if w else np.nan for w in without])
    frame = pd.DataFrame({"position": np.arange(len(used)), "label": letter_labels(used), "letter": list(used),
                          "occlusion": occlusion, "gradient_x_input": grad_x.astype(float)})
    return Attribution(cleaned.original, used, cleaned.note, categories[k], probability, frame)


@dataclass
class HiddenPath:
    """Names' hidden states after each letter on the 2-D map of the validation names' final states."""

    background: pd.DataFrame  # x, y, category, name
    path: pd.DataFrame  # series, position, label, letter, x, y
    explained: tuple[float, float]  # share of variance along each axis


def hidden_path(model: Classifier, categories: list[str], atlas: UnitAtlas, names: list[str],
                background: int = 1500) -> HiddenPath:
    """h after each letter of each name, projected with the PCA fitted on the validation names' final states."""
    if isinstance(names, str):
        names = [names]
    rows = []
    for index, name in enumerate(names):
        reading = read_name(model, categories, name)
        xy = atlas.pca.transform(reading.values["h"])  # (T, 2)
        series = f"{index + 1}. {reading.used}"
        for t, ch in enumerate(reading.used):
            rows.append((series, t, f"{t}:{ch}", ch, float(xy[t, 0]), float(xy[t, 1])))
    path = pd.DataFrame(rows, columns=["series", "position", "label", "letter", "x", "y"])
    picked = np.linspace(0, len(atlas.names) - 1, min(background, len(atlas.names))).round().astype(int)
    back = pd.DataFrame({"x": atlas.final_xy[picked, 0], "y": atlas.final_xy[picked, 1],
                         "category": [atlas.categories[atlas.labels[r]] for r in picked],
                         "name": [atlas.names[r] for r in picked]})
    ratio = atlas.pca.explained_variance_ratio_
    return HiddenPath(back, path, (float(ratio[0]), float(ratio[1])))


# ------------------------------------------------------------------------------------------------------ 4. what if


@dataclass
class WhatIf:
    """A prediction with and without an intervention."""

    description: str
    unchanged: Reading
    intervened: Reading

    def frame(self, k: int = 3) -> pd.DataFrame:
        """category, version (unchanged / what if), probability: the top-k of either version."""
        picked = list(dict.fromkeys([c for c, _ in self.unchanged.top(k)] + [c for c, _ in self.intervened.top(k)]))
        index = [self.unchanged.categories.index(c) for c in picked]
        rows = [(c, "unchanged", float(self.unchanged.probs[j])) for c, j in zip(picked, index)]
        rows += [(c, "what if", float(self.intervened.probs[j])) for c, j in zip(picked, index)]
        return pd.DataFrame(rows, columns=["category", "version", "probability"])

    def to_json(self, k: int = 3) -> dict:
        return {"description": self.description,
                "top": [{"category": c, "probability": p} for c, p in self.intervened.top(k)]}


def ordinal(t: int) -> str:
    """The letter at index t in words: 0 -> "1st", 1 -> "2nd", 10 -> "11th"."""
    n = t + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_intervention(used: str, clamps: dict[str, float] | None, at: int | None, start: int | None,
                          unit: int | None, reset_at: int | None) -> str:
    """The intervention in words, letters as ordinals ("the 4th letter" is index 3)."""
    parts = []
    if clamps:
        where = (f"at the {ordinal(at)} letter ({used[at]!r})" if at is not None else
                 f"from the {ordinal(start)} letter ({used[start]!r}) on" if start else "at every letter")
        units = f"unit {unit}" if unit is not None else "all units"
        gates = " and ".join(f"{GATE_WORDS[g]} {g} = {v:g}" for g, v in clamps.items())
        parts.append(f"{gates} for {units} {where}")
    if reset_at is not None:
        parts.append(f"h and c reset to 0 before the {ordinal(reset_at)} letter ({used[reset_at]!r})")
    return "; ".join(parts) or "no intervention"


def what_if(model: Classifier, categories: list[str], name: str, clamps: dict[str, float] | None = None,
            at: int | None = None, start: int | None = None, unit: int | None = None,
            reset_at: int | None = None) -> WhatIf:
    """The name's prediction unchanged and with the intervention (see read_name for the arguments)."""
    intervened = read_name(model, categories, name, clamps, at, start, unit, reset_at)
    unchanged = read_name(model, categories, name)
    return WhatIf(describe_intervention(unchanged.used, clamps, at, start, unit, reset_at), unchanged, intervened)


# ------------------------------------------------------------------------------------------------------- timing


def measure_views(model: Classifier, categories: list[str], pairs: list[tuple[str, int]], names: list[str],
                  repeats: int = 3) -> dict:
    """Milliseconds each view of a typed name takes (the best of `repeats`, the slowest name), and the unit
    explorer over the validation names the first time (building the atlas) and once built."""

    def best_ms(fn) -> float:
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            fn()
            times.append((time.perf_counter() - began) * 1000)
        return min(times)

    began = time.perf_counter()
    atlas = build_atlas(model, categories, pairs)
    first_unit = atlas.order("variance")[0]
    atlas.top_contexts(first_unit, atlas.keys[0])
    first_ms = (time.perf_counter() - began) * 1000
    cached_ms = best_ms(lambda: (atlas.top_contexts(first_unit, atlas.keys[0]), atlas.active_categories(first_unit)))
    views: dict[str, float] = {}
    gates = has_gates(model)
    for name in names:
        last = len(clean_name(name).text) - 1
        timed = {
            "attribution": (attribution, (model, categories, name), {}),
            "unit contributions": (unit_contributions, (model, categories, name), {}),
            "hidden-state path": (hidden_path, (model, categories, atlas, [name]), {}),
            "reset before a letter": (what_if, (model, categories, name), {"reset_at": last}),
            "span search": (span_search, (model, categories, atlas, name, max(0, last - 1), last + 1), {}),
        }
        if gates:
            timed["cell step"] = (cell_step, (model, categories, name, last, first_unit), {})
            timed["gate clamp"] = (what_if, (model, categories, name, {"f": 0.0}), {"at": last})
        for view, (fn, args, kwargs) in timed.items():
            ms = best_ms(lambda fn=fn, args=args, kwargs=kwargs: fn(*args, **kwargs))
            views[view] = max(views.get(view, 0.0), ms)
    return {"views_ms": views, "unit_explorer_first_ms": first_ms, "unit_explorer_cached_ms": cached_ms,
            "validation_names": len(pairs), "names": list(names)}
