"""Predictions, confusion matrices and per-category reports, computed with scikit-learn."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

from .data import DataError, EncodedSplit, clean_name, encode, to_ascii
from .models import Classifier


@dataclass
class Prediction:
    """Top-k categories of one typed name, with what transliteration did to it."""

    name: str
    used: str
    note: str
    top: list[tuple[str, float]]  # (category, probability), most likely first


@torch.no_grad()
def predict(model: Classifier, categories: list[str], names: list[str], top_k: int = 3) -> list[Prediction]:
    """Top-k prediction per name; DataError for a name with nothing usable."""
    if isinstance(names, str):  # one name, not its letters
        names = [names]
    cleaned = [clean_name(name) for name in names]
    device = next(model.parameters()).device
    chars, lengths = encode([c.text for c in cleaned])
    model.eval()
    probs = model(chars.to(device), lengths.to(device)).exp().cpu()  # (B, C)
    k = max(1, min(int(top_k), len(categories)))
    values, indices = probs.topk(k, dim=1)
    return [
        Prediction(c.original, c.text, c.note,
                   [(categories[j], float(v)) for v, j in zip(values[row].tolist(), indices[row].tolist())])
        for row, c in enumerate(cleaned)
    ]


@torch.no_grad()
def predict_labels(model: Classifier, names: list[str], batch_size: int = 1024) -> np.ndarray:
    device = next(model.parameters()).device
    model.eval()
    out = []
    for start in range(0, len(names), batch_size):
        chars, lengths = encode(names[start : start + batch_size])
        out.append(model(chars.to(device), lengths.to(device)).argmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


@dataclass
class Report:
    """Everything the Evaluate page and `evaluate --json` show for one model on one set of names."""

    categories: list[str]
    names: list[str]
    true: np.ndarray
    predicted: np.ndarray
    accuracy: float
    balanced_accuracy: float
    confusion: np.ndarray  # counts, rows true, columns predicted
    per_category: pd.DataFrame  # category, precision, recall, f1, support

    @property
    def confusion_normalized(self) -> np.ndarray:
        sums = self.confusion.sum(axis=1, keepdims=True)
        return np.divide(self.confusion, sums, out=np.zeros_like(self.confusion, dtype=float), where=sums > 0)

    def confusion_frame(self) -> pd.DataFrame:
        """Long form: true, predicted, count, rate (row-normalised)."""
        rows = []
        normalized = self.confusion_normalized
        for i, true in enumerate(self.categories):
            for j, pred in enumerate(self.categories):
                rows.append((true, pred, int(self.confusion[i, j]), float(normalized[i, j])))
        return pd.DataFrame(rows, columns=["true", "predicted", "count", "rate"])

    def misclassified(self, true: str, predicted: str) -> list[str]:
        i, j = self.categories.index(true), self.categories.index(predicted)
        mask = (self.true == i) & (self.predicted == j)
        return [name for name, hit in zip(self.names, mask) if hit]

    def to_json(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "categories": self.categories,
            "confusion_matrix": self.confusion.tolist(),
            "per_category": self.per_category.to_dict(orient="records"),
            "n": int(len(self.true)),
        }


def report(model: Classifier, categories: list[str], pairs: list[tuple[str, int]]) -> Report:
    """Evaluate a model on (name, label) pairs whose names are already in the alphabet."""
    if not pairs:
        raise DataError("no names to evaluate")
    names = [name for name, _ in pairs]
    true = np.array([label for _, label in pairs])
    predicted = predict_labels(model, names)
    labels = list(range(len(categories)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=labels, zero_division=0
    )
    per_category = pd.DataFrame({"category": categories, "precision": precision, "recall": recall,
                                 "f1": f1, "support": support.astype(int)})
    with warnings.catch_warnings():
        # Mean recall over the categories present is what a subset of names should get; no need to warn.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = float(balanced_accuracy_score(true, predicted))
    return Report(
        categories=list(categories), names=names, true=true, predicted=predicted,
        accuracy=float(accuracy_score(true, predicted)),
        balanced_accuracy=balanced,
        confusion=confusion_matrix(true, predicted, labels=labels),
        per_category=per_category,
    )


PER_CATEGORY_COMPARED = ("recall", "f1")  # the measures per_category_compared puts side by side


def per_category_compared(reports: dict[str, Report]) -> pd.DataFrame:
    """Several runs' per-category scores in one table: category, then each measure of PER_CATEGORY_COMPARED for
    each run ("recall · <name>", ...), and each run's support. Categories are those of any run (a run without one
    has no value there), in the order the runs list them."""
    order = list(dict.fromkeys(c for report in reports.values() for c in report.categories))
    table = pd.DataFrame({"category": order})
    for measure in (*PER_CATEGORY_COMPARED, "support"):
        for name, report in reports.items():
            values = report.per_category.set_index("category")[measure]
            table[f"{measure} · {name}"] = table["category"].map(values)
    return table


def read_names_file(path: str | Path, categories: list[str]) -> list[tuple[str, int]]:
    """A TSV of name<TAB>category with a header line; unknown categories and empty names are errors."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"names file not found: {file}") from None
    except UnicodeDecodeError:
        raise DataError(f"{file.name} is not UTF-8 text") from None
    index = {c: i for i, c in enumerate(categories)}
    pairs = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{file.name} line {number}: expected name<TAB>category")
        name, category = to_ascii(parts[0].strip()), parts[1].strip()
        if category not in index:
            raise DataError(f"{file.name} line {number}: unknown category {category!r}")
        if not name:
            raise DataError(f"{file.name} line {number}: the name has no letters of the alphabet")
        pairs.append((name, index[category]))
    if not pairs:
        raise DataError(f"{file.name} has no names after its header line")
    return pairs


@torch.no_grad()
def evaluate_encoded(model: Classifier, part: EncodedSplit, device: torch.device,
                     batch_size: int = 1024, balanced: bool = True) -> dict[str, Any]:
    """Loss, accuracy and predictions of a model on an encoded split; balanced=False skips balanced accuracy."""
    was_training = model.training
    model.eval()
    total_loss, predictions = 0.0, []
    for chars, lengths, labels in part.batches(batch_size, shuffle=False):
        log_probs = model(chars.to(device), lengths.to(device))
        total_loss += F.nll_loss(log_probs, labels.to(device), reduction="sum").item()
        predictions.append(log_probs.argmax(dim=1).cpu())
    model.train(was_training)
    predicted = torch.cat(predictions)
    accuracy = (predicted == part.labels).float().mean().item()
    if not balanced:
        return {"loss": total_loss / len(part), "accuracy": accuracy, "predicted": predicted}
    with warnings.catch_warnings():
        # A small validation part may miss a category the model predicts; the score is still meaningful.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced_score = float(balanced_accuracy_score(part.labels.numpy(), predicted.numpy()))
    return {
        "loss": total_loss / len(part),
        "accuracy": accuracy,
        "balanced_accuracy": balanced_score,
        "predicted": predicted,
    }
