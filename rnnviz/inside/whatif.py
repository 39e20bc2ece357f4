"""What if: a prediction with and without an intervention on the gates or the state."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..gates import STATE_LABELS
from ..models import Classifier
from .reading import Reading, letter_number, read_name


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
    n = letter_number(t)
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
        gates = " and ".join(f"{STATE_LABELS[g]} {g} = {v:g}" for g, v in clamps.items())
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
