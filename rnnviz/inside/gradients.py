"""Why LSTMs win: how far back through time the gradient reaches, and how often the gates saturate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data import DataError, clean_name, encode
from ..gates import SATURATED, SIGMOID_GATES, STATE_LABELS
from ..models import Classifier, one_hot
from ..registry import GATE_MODELS, as_gate_model, key_of
from .reading import _device, letter_labels

STAGES = ("initialisation", "trained")  # the weights a run starts from and ends with
FLOW_COLUMNS = ["model", "kind", "stage", "distance", "mean_norm", "relative", "names"]  # kind: the registry key
NAME_FLOW_COLUMNS = ["model", "stage", "target", "position", "char", "distance", "norm", "relative"]
SATURATION_COLUMNS = ["model", "stage", "gate", "unit", "left", "right", "steps"]


def input_gradient_norms(model: Classifier, chars: torch.Tensor, lengths: torch.Tensor,
                         labels: torch.Tensor) -> np.ndarray:
    """||dL/dx_t|| for every name and position, (B, T); NaN past each name's end.

    L is the NLL of each name's own label. Summing the per-name losses keeps them apart: a name's
    inputs only reach its own row of the batch, so its gradient is that of its own loss.
    Only the inputs are differentiated, so the model's .grad fields are never touched.
    """
    device = _device(model)
    lengths = lengths.to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = one_hot(chars.to(device), model.input_size).requires_grad_()  # (B, T, V)
            log_probs = model.forward_onehot(x, lengths)  # (B, C)
            loss = -log_probs.gather(1, labels.to(device).view(-1, 1)).sum()
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    norms = grad.norm(dim=2)  # (B, T)
    pad = torch.arange(norms.size(1), device=device).view(1, -1) >= lengths.view(-1, 1)
    return norms.masked_fill(pad, float("nan")).detach().cpu().numpy()


def _length_sorted_batches(pairs: list[tuple[str, int]], batch_size: int):
    """Padded batches of names of similar length, so little work is spent on padding."""
    order = sorted(range(len(pairs)), key=lambda k: len(pairs[k][0]))
    for start in range(0, len(order), batch_size):
        chunk = [pairs[k] for k in order[start : start + batch_size]]
        chars, lengths = encode([name for name, _ in chunk])
        yield chars, lengths, torch.tensor([label for _, label in chunk], dtype=torch.long)


def _by_distance(norms: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of the norms at each distance from the last character."""
    B, T = norms.shape
    distance = lengths.reshape(-1, 1) - 1 - np.arange(T).reshape(1, -1)  # (B, T)
    valid = distance >= 0
    sums = np.bincount(distance[valid], weights=norms[valid], minlength=T)
    counts = np.bincount(distance[valid], minlength=T)
    return sums, counts


def gradient_flow(entries: list[tuple[str, str, Classifier]], pairs: list[tuple[str, int]],
                  min_names: int = 20, batch_size: int = 256, min_length: int = 1) -> pd.DataFrame:
    """Mean ||dL/dx_t|| over names, by distance from the last character, for each (model, stage, model object).

    `pairs` are (name, label) with names already in the alphabet (a validation split). A distance is
    kept while at least `min_names` names are that long, so the tail is not one odd name. `relative`
    divides by the value at distance 0, which puts models of different scale on one axis.
    Each distance averages over the names long enough to have it, so far distances speak for long
    names only; `min_length` keeps only names of at least that many letters, so that every distance
    below it averages over the same names.
    """
    if not pairs:
        raise DataError("no names to measure the gradients on")
    pairs = [(name, label) for name, label in pairs if len(name) >= min_length]
    if not pairs:
        raise DataError(f"no names have {min_length} letters or more: choose a smaller length")
    if not entries:
        raise ValueError("choose at least one model")
    frames = []
    for label, stage, model in entries:
        sums = np.zeros(0)
        counts = np.zeros(0, dtype=int)
        for chars, lengths, labels in _length_sorted_batches(pairs, batch_size):
            batch_sums, batch_counts = _by_distance(input_gradient_norms(model, chars, lengths, labels),
                                                    lengths.numpy())
            size = max(len(sums), len(batch_sums))
            sums = np.pad(sums, (0, size - len(sums))) + np.pad(batch_sums, (0, size - len(batch_sums)))
            counts = np.pad(counts, (0, size - len(counts))) + np.pad(batch_counts, (0, size - len(batch_counts)))
        keep = counts >= min(min_names, int(counts[0]))
        distance = np.flatnonzero(keep)
        mean = sums[keep] / counts[keep]
        frames.append(pd.DataFrame({
            "model": label, "kind": key_of(model), "stage": stage, "distance": distance, "mean_norm": mean,
            "relative": mean / mean[0] if mean[0] > 0 else np.nan, "names": counts[keep],
        }))
    return pd.concat(frames, ignore_index=True)[FLOW_COLUMNS]


@dataclass
class NameFlow:
    """One typed name's gradient norms per position under each model; `frame` has NAME_FLOW_COLUMNS, where
    `position` counts the letters from 0 (shown from 1 through letter_number, as in `char`) and `distance` counts
    back from the last letter."""

    name: str
    used: str
    note: str
    frame: pd.DataFrame


def name_gradient_flow(entries: list[tuple[str, str, Classifier]], categories: list[str], name: str,
                       category: str | None = None) -> NameFlow:
    """||dL/dx_t|| at each letter of one typed name; L is the NLL of `category`, or of each model's own guess."""
    cleaned = clean_name(name)
    if category is not None and category not in categories:
        raise DataError(f"unknown category {category!r}: choose one of {', '.join(categories)}")
    if not entries:
        raise ValueError("choose at least one model")
    chars, lengths = encode([cleaned.text])
    n = len(cleaned.text)
    distance = np.arange(n)[::-1]
    frames = []
    for label, stage, model in entries:
        if category is None:
            with torch.no_grad():
                target = int(model(chars.to(_device(model)), lengths.to(_device(model))).argmax(1).item())
        else:
            target = categories.index(category)
        norms = input_gradient_norms(model, chars, lengths, torch.tensor([target]))[0]
        frames.append(pd.DataFrame({
            "model": label, "stage": stage, "target": categories[target], "position": np.arange(n),
            "char": letter_labels(cleaned.text), "distance": distance, "norm": norms,
            "relative": norms / norms[-1] if norms[-1] > 0 else np.nan,
        }))
    frame = pd.concat(frames, ignore_index=True)[NAME_FLOW_COLUMNS]
    return NameFlow(cleaned.original, cleaned.text, cleaned.note, frame)


@torch.no_grad()
def gate_saturation(entries: list[tuple[str, str, Classifier]], pairs: list[tuple[str, int]],
                    batch_size: int = 512, low: float = SATURATED[0], high: float = SATURATED[1]
                    ) -> pd.DataFrame:
    """Per unit of the input, forget and output gates: the share of steps below `low` and above `high`.

    Steps are every letter of every name in `pairs`; positions past a name's end are not steps.
    Works for LSTM and MyLSTM models (the RNN has no gates: ValueError).
    """
    if not pairs:
        raise DataError("no names to measure the gates on")
    if not 0 <= low < high <= 1:
        raise ValueError("the saturation thresholds must satisfy 0 <= low < high <= 1")
    frames = []
    for label, stage, model in entries:
        gate_model = as_gate_model(model)
        device = _device(gate_model)
        totals = {key: [0, 0, 0] for key in SIGMOID_GATES}  # left, right, steps per unit
        for chars, lengths, _ in _length_sorted_batches(pairs, batch_size):
            trace = gate_model.trace(chars.to(device), lengths.to(device))
            for key, counts in totals.items():
                values = getattr(trace, key).flatten(0, 1)  # (B * T, H)
                values = values[~values[:, 0].isnan()]  # only real steps: a padded step is NaN in every unit
                counts[0] += (values < low).sum(0).cpu().numpy()
                counts[1] += (values > high).sum(0).cpu().numpy()
                counts[2] += values.size(0)
        for key, (left, right, steps) in totals.items():
            units = np.arange(gate_model.hidden_size)
            frames.append(pd.DataFrame({"model": label, "stage": stage, "gate": STATE_LABELS[key],
                                        "unit": units, "left": left / steps, "right": right / steps,
                                        "steps": steps}))
    if not frames:
        raise ValueError("choose at least one model")
    return pd.concat(frames, ignore_index=True)[SATURATION_COLUMNS]


def flow_summary(flow: pd.DataFrame, distances: tuple[int, ...] = (1, 5, 10)) -> pd.DataFrame:
    """Share of the last letter's gradient left at a few distances, one row per (model, stage); NaN when too few
    names are that long."""
    table = flow.pivot_table(index=["model", "stage"], columns="distance", values="relative", sort=False)
    table = table.reindex(columns=list(distances))
    table.columns = [f"{d} letter{'' if d == 1 else 's'} back" for d in distances]
    return table.reset_index()


def saturation_summary(saturation: pd.DataFrame, mostly: float = 0.5) -> pd.DataFrame:
    """Per (model, stage, gate): mean share of time left- and right-saturated, and how many units are
    saturated (either way) more than `mostly` of the time."""
    frame = saturation.assign(saturated=saturation["left"] + saturation["right"])
    grouped = frame.groupby(["model", "stage", "gate"], sort=False)
    return pd.DataFrame({
        "mean left-saturated": grouped["left"].mean(),
        "mean right-saturated": grouped["right"].mean(),
        f"units saturated over {mostly:.0%} of the time": grouped["saturated"].agg(lambda s: int((s > mostly).sum())),
        "units": grouped["unit"].count(),
    }).reset_index()


def saturation_reading(saturation: pd.DataFrame, mostly: float = 0.5) -> list[str]:
    """Sentences that read a gate_saturation table, every number from it: for each model and weights, how many
    forget gates are mostly open (keeping the cell), mostly shut (wiping it) or in between."""
    lines = []
    forget = saturation[saturation["gate"] == STATE_LABELS["f"]]
    low, high = SATURATED
    for (model, stage), rows in forget.groupby(["model", "stage"], sort=False):
        units = len(rows)
        kept = int((rows["right"] > mostly).sum())
        wiped = int((rows["left"] > mostly).sum())
        soft = units - kept - wiped
        lines.append(f"{model}, {'trained' if stage == 'trained' else 'at initialisation'}: {kept} of {units} "
                     f"forget gates are open (f > {high:g}) more than {mostly:.0%} of the time, keeping their cell "
                     f"from letter to letter; {wiped} are shut (f < {low:g}) that often, wiping it; {soft} are "
                     "in between, keeping part of the cell at each letter.")
    return lines


def flow_reading(flow: pd.DataFrame, distance: int = 10) -> list[str]:
    """Sentences that read a gradient_flow table, generated from its numbers: how much of the last letter's
    gradient each trained model keeps `distance` letters back, and what that says about the kind of RNN.
    Models are told apart by their registry key (`kind`), whatever their label says."""
    column = f"{distance} letter{'' if distance == 1 else 's'} back"
    summary = flow_summary(flow, (distance,))
    kinds = dict(zip(flow["model"], flow["kind"]))
    rows = summary[summary["stage"] == "trained"] if (summary["stage"] == "trained").any() else summary
    kept = {row["model"]: float(row[column]) for _, row in rows.iterrows() if np.isfinite(row[column])}
    if not kept:
        return [f"Too few names are {distance + 1} letters or longer to measure {distance} letters back."]
    stage = "trained" if (summary["stage"] == "trained").any() else "initial"
    lines = ["With the " + stage + " weights, the share of the last letter's gradient left " + f"{distance} letters "
             "back: " + ", ".join(f"{model} {value:.2g}" for model, value in sorted(kept.items(),
                                                                                   key=lambda kv: -kv[1])) + "."]
    tanh = next((v for m, v in kept.items() if kinds[m] == "elman"), None)
    tutorial = next((v for m, v in kept.items() if kinds[m] == "rnn"), None)
    lstms = {m: v for m, v in kept.items() if kinds[m] in GATE_MODELS}
    if tanh is not None and lstms:
        best = max(lstms, key=lstms.get)
        ratio = lstms[best] / max(tanh, 1e-12)
        if ratio >= 2:
            lines.append(f"The tanh RNN keeps {ratio:.1f} times less than {best}: every step back multiplies the "
                         "gradient by the tanh's slope (at most 1) and the recurrent weights, so it fades. That is "
                         "the vanishing gradient the report's argument is about.")
        elif ratio > 1:
            lines.append(f"The tanh RNN keeps somewhat less than {best} ({ratio:.1f} times less): each step back "
                         "multiplies its gradient by the tanh's slope (at most 1), so it fades, but on names this "
                         "short the gap is small; the memory probe measures what each carries over longer strings.")
        else:
            lines.append(f"Here the tanh RNN keeps as much as {best} or more: on names this short its gradient has "
                         "not vanished; the memory probe measures what each carries over longer strings.")
    initial = summary[summary["stage"] == "initialisation"]
    start = {row["model"]: float(row[column]) for _, row in initial.iterrows() if np.isfinite(row[column])}
    if stage == "trained" and start:
        lines.append("Before training, " + ", ".join(f"{model} {value:.1g}" for model, value in
                                                     sorted(start.items(), key=lambda kv: -kv[1]))
                     + f": at their initial weights every one of them barely feels a letter {distance} steps "
                     "back; training is what opens the path (dashed lines).")
    if tutorial is not None and lstms:
        best = max(lstms, key=lstms.get)
        if tutorial >= lstms[best]:
            lines.append(f"The tutorial RNN keeps more than {best}. Its recurrence has no nonlinearity "
                         "(h = i2h(cat(x, h))), so its gradient is only multiplied by a weight matrix at each step "
                         "and need not vanish the textbook way; that does not make it remember better (see the "
                         "memory probe).")
        else:
            lines.append(f"The tutorial RNN keeps less than {best}, although its recurrence is linear: its recurrent "
                         "weights shrink the gradient at every step.")
    return lines
