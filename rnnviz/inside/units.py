"""What each hidden unit does: its share of a prediction, the validation names it fires on (the atlas), LSTMVis's
pattern search over a span of letters, and the path of the hidden state on a 2-D map of the final states."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from ..data import DataError, encode
from ..gates import SATURATED, SIGMOID_GATES
from ..models import Classifier, one_hot
from ..registry import as_gate_model, has_gates, key_of
from .reading import _check_unit, _device, _out_layer, _rnn_read, letter_labels, read_name

UNIT_ORDERS = {"index": "unit index", "mean": "mean activation", "category": "category it pushes up",
               "saturation": "gate saturation", "variance": "variance"}  # every way units are ordered, labelled
READING_ORDERS = ("index", "mean", "variance")  # one reading's heatmap: by the values shown
ATLAS_ORDERS = ("index", "category", "saturation", "variance")  # the unit explorer: by what a unit does


def unit_order(gate: pd.DataFrame, by: str = "index") -> list[int]:
    """Hidden units of one reading's heatmap (Reading.gate_frame) in display order: by index, or by the mean
    or variance of their values (highest first)."""
    if by not in READING_ORDERS:
        raise ValueError(f"unknown unit order {by!r}: choose one of {', '.join(READING_ORDERS)}")
    units = sorted(int(u) for u in gate["unit"].unique())
    if by == "index":
        return units
    stat = gate.groupby("unit")["value"].agg("mean" if by == "mean" else "var").fillna(0.0)
    return [int(u) for u in stat.sort_values(ascending=False, kind="stable").index]


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
    if key_of(model) == "rnn":  # the RNN's read-out sees the state before the last letter, and the letter itself
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
        if by not in ATLAS_ORDERS:
            raise ValueError(f"unknown unit order {by!r}: choose one of {', '.join(ATLAS_ORDERS)}")
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
            for gate in SIGMOID_GATES:
                g = getattr(trace, gate).cpu().numpy()  # (B, t, H), NaN past each end
                saturated += np.nansum((g < SATURATED[0]) | (g > SATURATED[1]), axis=(0, 1))
        else:
            x = one_hot(chars.to(device), model.input_size)
            states, _ = _rnn_read(model, x)  # (B, t, H)
            pad = np.arange(width)[None, :] >= batch_lengths.numpy()[:, None]  # (B, t)
            values["h"][rows, :width] = np.where(pad[..., None], np.nan, states.cpu().numpy())
    saturation = saturated / (len(SIGMOID_GATES) * lengths.sum()) if gates else np.full(H, np.nan)
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
        for t, (ch, label) in enumerate(zip(reading.used, letter_labels(reading.used))):
            rows.append((series, t, label, ch, float(xy[t, 0]), float(xy[t, 1])))
    path = pd.DataFrame(rows, columns=["series", "position", "label", "letter", "x", "y"])
    picked = np.linspace(0, len(atlas.names) - 1, min(background, len(atlas.names))).round().astype(int)
    back = pd.DataFrame({"x": atlas.final_xy[picked, 0], "y": atlas.final_xy[picked, 1],
                         "category": [atlas.categories[atlas.labels[r]] for r in picked],
                         "name": [atlas.names[r] for r in picked]})
    ratio = atlas.pca.explained_variance_ratio_
    return HiddenPath(back, path, (float(ratio[0]), float(ratio[1])))
