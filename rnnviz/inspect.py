"""Looking inside trained models: gate traces and per-prefix predictions for a typed name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .data import clean_name, encode
from .models import Classifier, as_gate_model, one_hot

TRACE_KEYS = ("i", "f", "g", "o", "c", "h")
GATE_LABELS = {"i": "input gate", "f": "forget gate", "g": "candidate g", "o": "output gate",
               "c": "cell state c", "h": "hidden state h"}


@dataclass
class NameTrace:
    """One name read by an LSTM: every gate at every step, and what it predicts after each prefix."""

    name: str
    used: str
    note: str
    categories: list[str]
    values: dict[str, np.ndarray]  # key -> (T, H)
    prefix_probs: np.ndarray  # (T, C)

    @property
    def chars(self) -> list[str]:
        return list(self.used)

    @property
    def top(self) -> list[tuple[str, float]]:
        final = self.prefix_probs[-1]
        order = np.argsort(-final)
        return [(self.categories[j], float(final[j])) for j in order]

    def step_top(self) -> list[tuple[str, str, float]]:
        """(character, leading category, its probability) after each prefix."""
        best = self.prefix_probs.argmax(axis=1)
        return [(ch, self.categories[j], float(self.prefix_probs[t, j])) for t, (ch, j) in
                enumerate(zip(self.used, best))]

    def gate_frame(self, key: str) -> pd.DataFrame:
        """Long form for a heatmap: step, char, unit, value."""
        values = self.values[key]
        T, H = values.shape
        labels = [f"{t + 1}:{ch}" for t, ch in enumerate(self.used)]
        return pd.DataFrame({
            "step": np.repeat(np.arange(1, T + 1), H),
            "char": np.repeat(labels, H),
            "unit": np.tile(np.arange(H), T),
            "value": values.reshape(-1),
        })

    def gate_means(self) -> pd.DataFrame:
        """Mean activation over units of the i, f, o gates per step."""
        labels = [f"{t + 1}:{ch}" for t, ch in enumerate(self.used)]
        frames = [pd.DataFrame({"step": np.arange(1, len(labels) + 1), "char": labels,
                                "gate": GATE_LABELS[k], "mean": self.values[k].mean(axis=1)})
                  for k in ("i", "f", "o")]
        return pd.concat(frames, ignore_index=True)

    def prefix_frame(self, leading: int = 4) -> pd.DataFrame:
        """Probability of the categories that lead at the end (and anywhere on the way) per prefix."""
        final_order = list(np.argsort(-self.prefix_probs[-1])[:leading])
        for j in self.prefix_probs.argmax(axis=1):
            if j not in final_order:
                final_order.append(int(j))
        labels = [f"{t + 1}:{ch}" for t, ch in enumerate(self.used)]
        rows = [(t + 1, labels[t], self.used[: t + 1], self.categories[j], float(self.prefix_probs[t, j]))
                for t in range(len(labels)) for j in final_order]
        return pd.DataFrame(rows, columns=["step", "char", "prefix", "category", "probability"])

    def to_json(self) -> dict:
        return {
            "name": self.name, "used": self.used, "note": self.note, "characters": self.chars,
            **{k: self.values[k].round(6).tolist() for k in TRACE_KEYS},
            "step_prediction": [{"character": ch, "category": cat, "probability": p}
                                for ch, cat, p in self.step_top()],
            "top": [{"category": c, "probability": p} for c, p in self.top[:3]],
        }


@torch.no_grad()
def trace_name(model: Classifier, categories: list[str], name: str) -> NameTrace:
    """Gate trace of one typed name through an LSTM or MyLSTM (DataError for unusable input)."""
    cleaned = clean_name(name)
    gate_model = as_gate_model(model)
    device = next(gate_model.parameters()).device
    chars, lengths = encode([cleaned.text])
    trace = gate_model.trace(chars.to(device), lengths.to(device))
    values = {k: getattr(trace, k)[0].cpu().numpy() for k in TRACE_KEYS}
    return NameTrace(cleaned.original, cleaned.text, cleaned.note, list(categories), values,
                     trace.log_probs[0].exp().cpu().numpy())


@torch.no_grad()
def prefix_probabilities(model: Classifier, name: str) -> np.ndarray:
    """(T, C) probabilities after each prefix, for any model."""
    cleaned = clean_name(name)
    device = next(model.parameters()).device
    chars, lengths = encode([cleaned.text])
    x = one_hot(chars.to(device), model.input_size)
    return model.step_log_probs(x, lengths.to(device))[0].exp().cpu().numpy()
