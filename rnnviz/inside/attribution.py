"""Where a prediction comes from: how much each letter carries the predicted category."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data import encode
from ..models import Classifier, one_hot
from .reading import _device, _letters_of, letter_labels


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
