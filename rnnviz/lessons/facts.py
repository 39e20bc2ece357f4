"""The live numbers of a lesson step: its placeholders, its outcomes and the model's own answer to its question.

Everything here is read from the runs on disk (and the memory probe's saved result) through the library's
existing functions: summaries and metrics (rnnviz.runs), evaluation (rnnviz.evaluate), readings, the cell step,
what-if and gradient flow (rnnviz.inside). No new maths: a lesson only arranges that flow.

A run role is a model key (rnnviz.lessons.views.ROLES): "lstm" resolves to the newest finished nn.LSTM run trained
on the surname data (`resolve_roles`). `compute(step, runs, source)` returns a Live: the facts as shown text, the
raw numbers, the outcomes a reveal is chosen by, and the frames the lesson's charts draw.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import datasets
from ..charts import most_confused
from ..config import TrainConfig
from ..data import DataError, load_folder, split_dataset
from ..evaluate import report
from ..inside import (
    cell_step,
    flow_summary,
    gradient_flow,
    letter_labels,
    letter_number,
    read_name,
    unit_contributions,
    what_if,
)
from ..probe import ProbeConfig, saved_probe
from ..registry import MODEL_LABELS
from ..reproduce import REPORT_ACCURACY
from ..runs import PROBE_FILE, RunInfo, load_metrics, load_run
from .lesson import Step
from .views import DECIDING, VIEWS, roles_of

USABLE = ("finished", "stopped")
TIE = 0.01  # accuracies closer than one point are a tie
SAME = 0.02  # a probability that moves less than two points has not changed
GRADIENT_NAMES = 400  # validation names the gradient reach is measured on (a seeded sample): fast, and stable
PROBE_LENGTH = 30
PROBE_SEEDS = 1
KEEP, FORGET = 0.67, 0.33  # a forget gate above KEEP keeps its cell, below FORGET wipes it


class MissingRuns(LookupError):
    """The step needs runs that do not exist yet (their roles), or the probe has not been run."""

    def __init__(self, roles: list[str], probe: bool = False):
        self.roles = roles
        self.probe = probe
        what = "the memory probe at this length" if probe else ", ".join(MODEL_LABELS.get(r, r) for r in roles)
        super().__init__(f"this step needs {what}")


class NotSurnames(ValueError):
    """A step that reads surnames was given a run trained on another dataset."""


@dataclass
class Live:
    facts: dict[str, str]  # placeholder -> text shown
    numbers: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what a view draws that is not a frame (cell values)

    def answer(self, fact: str) -> str | float | None:
        """The model's answer to a question whose answer is `fact`: an outcome, or a number."""
        if fact in self.outcomes:
            return self.outcomes[fact]
        return self.numbers.get(fact)

    def fill(self, template: str) -> str:
        return template.format_map(self.facts)


def percent(value: float) -> str:
    return f"{value:.1%}" if np.isfinite(value) else "n/a"


def points(value: float) -> str:
    return f"{value * 100:.1f}"


def two(value: float) -> str:
    return f"{value:.2f}"


def factor(value: float) -> str:
    """A number as it is multiplied in an equation: a negative one in brackets, (−0.79)."""
    return f"{value:.2f}" if value >= 0 else f"(−{-value:.2f})"


# ---------------------------------------------------------------- which runs a step reads


def on_surnames(info: RunInfo) -> bool:
    """Whether a run was trained on the surname data rather than a named dataset of the Data page."""
    if not info.data:
        return True
    try:
        folder = Path(info.data).expanduser().resolve()
        return folder.parent != datasets.datasets_root().expanduser().resolve()
    except (OSError, RuntimeError):
        return True


def usable(info: RunInfo) -> bool:
    return info.status in USABLE and not info.error and info.has_model


def resolve_role(infos: Iterable[RunInfo], role: str) -> RunInfo | None:
    """The newest usable run of the model `role` trained on the surname data (infos come newest first)."""
    for info in infos:
        if info.model == role and usable(info) and on_surnames(info):
            return info
    return None


def resolve_roles(infos: Iterable[RunInfo], roles: Iterable[str],
                  chosen: dict[str, RunInfo] | None = None) -> dict[str, RunInfo | None]:
    """Each role's run: the one `chosen` for it (a run picked by hand), else the newest on the surname data."""
    infos = list(infos)
    chosen = chosen or {}
    return {role: chosen.get(role) or resolve_role(infos, role) for role in roles}


def step_roles(step: Step) -> tuple[str, ...]:
    return roles_of(step.spec, step.settings.get("run"))


# ---------------------------------------------------------------- where models and names come from


class Source:
    """Loads runs, their validation names and the saved probe; caches loaded models by file and stamp.

    The app keeps one per runs folder (st.cache_resource); the benchmark and the tests make their own.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    @staticmethod
    def _stamp(path: Path) -> tuple:
        try:
            stat = (path / "model.pt").stat()
            return stat.st_mtime_ns, stat.st_size
        except OSError:
            return (0, 0)

    def model(self, info: RunInfo):
        return _loaded(str(info.path), self._stamp(info.path))

    def validation(self, info: RunInfo) -> list[tuple[str, int]]:
        config = TrainConfig.from_dict(info.config)
        return _validation(info.data, tuple(info.categories), config.val_fraction, config.test_fraction, config.seed)

    def metrics(self, info: RunInfo) -> pd.DataFrame:
        return load_metrics(info.path)

    def probe(self):
        return saved_probe(self.root)

    def stamp(self, runs: dict[str, RunInfo | None]) -> tuple:
        """What a step's facts depend on: its runs' folders and model files, and the saved probe."""
        try:
            probe = (self.root / PROBE_FILE).stat().st_mtime_ns
        except OSError:
            probe = 0
        return tuple(sorted((role, str(info.path), self._stamp(info.path)) for role, info in runs.items()
                            if info is not None)) + (probe,)


@lru_cache(maxsize=16)
def _loaded(path: str, stamp: tuple):
    return load_run(Path(path))


@lru_cache(maxsize=8)
def _validation(folder: str, categories: tuple, val_fraction: float, test_fraction: float, seed: int):
    if not folder:
        raise DataError("this run does not record the names it was trained on")
    dataset = load_folder(folder)
    if tuple(dataset.categories) != categories:
        raise DataError("the names this run was trained on have changed since")
    return split_dataset(dataset, val_fraction, test_fraction, seed).val


# ---------------------------------------------------------------- each view's facts


def _accuracy(info: RunInfo) -> float:
    value = info.summary.get("test_accuracy")
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _winner(a: float, b: float, names: tuple[str, str, str]) -> str:
    """names[0] when a wins, names[1] when b wins, names[2] within TIE."""
    if not (np.isfinite(a) and np.isfinite(b)) or abs(a - b) < TIE:
        return names[2]
    return names[0] if a > b else names[1]


def report_view(step: Step, runs, source: Source) -> Live:
    rnn, lstm = REPORT_ACCURACY["rnn"], REPORT_ACCURACY["lstm"]
    frame = pd.DataFrame({"model": [MODEL_LABELS["rnn"], MODEL_LABELS["lstm"]], "accuracy": [rnn, lstm],
                          "source": "the report"})
    return Live({"report_rnn": f"{rnn:.0%}", "report_lstm": f"{lstm:.0%}"}, {"report_rnn": rnn, "report_lstm": lstm},
                frames={"accuracy": frame})


def accuracy_view(step: Step, runs, source: Source) -> Live:
    rnn, lstm = _accuracy(runs["rnn"]), _accuracy(runs["lstm"])
    winner = _winner(lstm, rnn, ("lstm_wins", "rnn_wins", "tie"))
    label = {"lstm_wins": MODEL_LABELS["lstm"], "rnn_wins": MODEL_LABELS["rnn"], "tie": "neither"}[winner]
    frame = pd.DataFrame({"model": [MODEL_LABELS["rnn"], MODEL_LABELS["lstm"], MODEL_LABELS["rnn"],
                                    MODEL_LABELS["lstm"]],
                          "accuracy": [rnn, lstm, REPORT_ACCURACY["rnn"], REPORT_ACCURACY["lstm"]],
                          "source": ["our runs", "our runs", "the report", "the report"]})
    return Live({"acc_rnn": percent(rnn), "acc_lstm": percent(lstm), "margin": points(abs(lstm - rnn)),
                 "winner_label": label},
                {"acc_rnn_pct": rnn * 100, "acc_lstm_pct": lstm * 100}, {"winner": winner},
                frames={"accuracy": frame})


def curves_view(step: Step, runs, source: Source) -> Live:
    facts, numbers, frames = {}, {}, []
    for role in ("rnn", "lstm"):
        metrics = source.metrics(runs[role])
        metrics = metrics[np.isfinite(metrics["val_acc"])]
        first = metrics[metrics["epoch"] <= 1.0 + 1e-9]
        numbers[f"first_{role}"] = float(first["val_acc"].iloc[-1]) if len(first) else float("nan")
        numbers[f"best_{role}"] = float(metrics["val_acc"].max()) if len(metrics) else float("nan")
        facts[f"first_{role}"] = percent(numbers[f"first_{role}"])
        facts[f"best_{role}"] = percent(numbers[f"best_{role}"])
        frames.append(pd.DataFrame({"model": MODEL_LABELS[role], "epoch": metrics["epoch"].to_numpy(float),
                                    "accuracy": metrics["val_acc"].to_numpy(float)}))
    facts["epochs"] = str(int(max(TrainConfig.from_dict(runs[r].config).epochs for r in ("rnn", "lstm"))))
    faster = _winner(numbers["first_lstm"], numbers["first_rnn"], ("lstm", "rnn", "tie"))
    return Live(facts, numbers, {"faster": faster}, {"curves": pd.concat(frames, ignore_index=True)})


def confusion_view(step: Step, runs, source: Source) -> Live:
    facts, numbers, frames = {}, {}, {}
    for role in ("rnn", "lstm"):
        info = runs[role]
        loaded = source.model(info)
        result = report(loaded.model, loaded.categories, source.validation(info))
        numbers[f"bal_{role}"] = result.balanced_accuracy
        facts[f"bal_{role}"] = percent(result.balanced_accuracy)
        frames[role] = result.confusion_frame()
        facts["validation_names"] = f"{len(result.true):,}"
    pair = most_confused(frames["lstm"])
    true, predicted = pair or ("none", "none")
    count = int(frames["lstm"].query("true == @true and predicted == @predicted")["count"].sum()) if pair else 0
    facts |= {"confused_true": true, "confused_pred": predicted, "confused_count": str(count)}
    return Live(facts, numbers, frames=frames, extra={"categories": source.model(runs["lstm"]).categories})


def gradient_view(step: Step, runs, source: Source) -> Live:
    distance = int(step.settings.get("distance", 10))
    frames = []
    for role in ("rnn", "elman", "lstm"):
        info = runs[role]
        pairs = source.validation(info)
        sample = random.Random(0).sample(pairs, min(GRADIENT_NAMES, len(pairs)))
        frames.append(gradient_flow([(MODEL_LABELS[role], "trained", source.model(info).model)], sample,
                                    min_names=10))
    flow = pd.concat(frames, ignore_index=True)
    summary = flow_summary(flow, (1, 5, distance))
    column = summary.columns[-1]
    keep = {role: float(summary.loc[summary["model"] == MODEL_LABELS[role], column].iloc[0])
            for role in ("rnn", "elman", "lstm")}
    finite = {role: value for role, value in keep.items() if np.isfinite(value)}
    fades = min(finite, key=finite.get) if finite else "elman"
    facts = {f"keep_{role}": (f"{value:.2g}" if np.isfinite(value) else "n/a") for role, value in keep.items()}
    facts |= {"fades_most": MODEL_LABELS[fades], "distance": str(distance)}
    return Live(facts, {f"keep_{r}": v for r, v in keep.items()}, {"fades": fades}, {"flow": flow})


def probe_config(step: Step) -> ProbeConfig:
    """The short probe a lesson step runs when none is saved: two seeds of the RNN and nn.LSTM at its length."""
    return ProbeConfig(lengths=(int(step.settings.get("length", PROBE_LENGTH)),), models=("rnn", "lstm"),
                       seeds=PROBE_SEEDS)


def probe_view(step: Step, runs, source: Source) -> Live:
    length = int(step.settings.get("length", PROBE_LENGTH))
    saved = source.probe()
    results = saved.results if saved is not None else None
    if results is None or not len(results):
        raise MissingRuns([], probe=True)
    at = results[results["length"] == length]
    means = at.groupby("model")["accuracy"].mean()
    rnn, lstm = (float(means.get(MODEL_LABELS[m], np.nan)) for m in ("rnn", "lstm"))
    if not (np.isfinite(rnn) and np.isfinite(lstm)):
        raise MissingRuns([], probe=True)
    chance = float(at["chance"].iloc[0])
    margin = 0.15  # fifteen points above chance counts as remembering
    remembers = {(True, True): "both", (True, False): "lstm", (False, True): "rnn", (False, False): "neither"}[
        (lstm > chance + margin, rnn > chance + margin)]
    if remembers == "both" and lstm - rnn > margin:
        remembers = "lstm"
    seeds = int(at.groupby("model")["seed"].nunique().min())
    facts = {"probe_rnn": f"{rnn * 100:.0f}", "probe_lstm": f"{lstm * 100:.0f}", "chance": f"{chance * 100:.0f}",
             "length": str(length), "seeds": str(seeds)}
    return Live(facts, {"probe_rnn_count": rnn * 100, "probe_lstm_count": lstm * 100}, {"remembers": remembers},
                {"probe": at.reset_index(drop=True), "all": results})


def _gate_run(step: Step, runs) -> RunInfo:
    return runs[step.settings.get("run", "lstm")]


def _unit(step: Step, loaded, name: str) -> int:
    unit = step.settings.get("unit", DECIDING)
    if unit == DECIDING:
        return int(unit_contributions(loaded.model, loaded.categories, name).frame["unit"].iloc[0])
    return min(int(unit), loaded.model.hidden_size - 1)


def _needs_surnames(infos: Iterable[RunInfo]) -> None:
    others = [info for info in infos if not on_surnames(info)]
    if others:
        raise NotSurnames(f"this step reads surnames, and the run {others[0].run_id} was trained on another "
                          "dataset: pick a run trained on the surname data")


def cell_view(step: Step, runs, source: Source) -> Live:
    info = _gate_run(step, runs)
    _needs_surnames([info])
    loaded = source.model(info)
    name = step.settings.get("name", "Kowalski")
    unit = _unit(step, loaded, name)
    reading = read_name(loaded.model, loaded.categories, name)
    t = min(int(step.settings.get("letter", 1)), len(reading.used)) - 1
    cell = cell_step(loaded.model, loaded.categories, name, t, unit)
    v = cell.values
    band = "keep" if v["f"] >= KEEP else "forget" if v["f"] <= FORGET else "half"
    top, top_p = reading.top(1)[0]  # the guess for the whole name, which the unit was chosen for
    facts = {"name": reading.used, "letter": cell.letter, "position": str(letter_number(t)), "unit": str(unit),
             **{key: two(v[key]) for key in ("f", "i", "o", "c", "h")},
             **{key: factor(v[key]) for key in ("g", "c_prev")}, "top": top, "top_p": percent(top_p)}
    return Live(facts, {"f_value": v["f"], "c_value": v["c"]}, {"band": band},
                {"units": cell.units}, {"cell": cell})


def memory_view(step: Step, runs, source: Source) -> Live:
    info, rnn_info = _gate_run(step, runs), runs["rnn"]
    _needs_surnames([info, rnn_info])
    loaded, rnn = source.model(info), source.model(rnn_info)
    name = step.settings.get("name", "Kowalski")
    unit = _unit(step, loaded, name)
    reading = read_name(loaded.model, loaded.categories, name)
    rnn_unit = int(unit_contributions(rnn.model, rnn.categories, name).frame["unit"].iloc[0])
    rnn_reading = read_name(rnn.model, rnn.categories, name)
    labels = letter_labels(reading.used)
    rows = [pd.DataFrame({"letter": labels, "position": np.arange(len(labels)), "value": reading.values[key][:, unit],
                          "series": f"{key}", "model": f"{MODEL_LABELS[info.model]} unit {unit}"})
            for key in ("c", "f", "i", "o")]
    rows.append(pd.DataFrame({"letter": labels, "position": np.arange(len(labels)),
                              "value": rnn_reading.values["h"][:, rnn_unit], "series": "h",
                              "model": f"{MODEL_LABELS['rnn']} unit {rnn_unit}"}))
    f = reading.values["f"][:, unit]
    c = reading.values["c"][:, unit]
    lowest = int(np.argmin(f))
    facts = {"name": reading.used, "unit": str(unit), "rnn_unit": str(rnn_unit), "f_mean": two(float(f.mean())),
             "f_min": two(float(f[lowest])), "f_min_letter": f"{reading.used[lowest]} ({letter_number(lowest)})",
             "c_first": two(float(c[0])), "c_last": two(float(c[-1])), "top": reading.top(1)[0][0]}
    outcome = "keeps" if float(f.mean()) >= 0.5 else "forgets"
    return Live(facts, {"f_mean": float(f.mean())}, {"memory": outcome}, {"memory": pd.concat(rows, ignore_index=True)})


def what_if_view(step: Step, runs, source: Source) -> Live:
    info = _gate_run(step, runs)
    _needs_surnames([info])
    loaded = source.model(info)
    name = step.settings.get("name", "Kowalski")
    gate, value = step.settings.get("gate", "f"), float(step.settings.get("value", 0.0))
    unit = None if "unit" not in step.settings else _unit(step, loaded, name)
    reading = read_name(loaded.model, loaded.categories, name)
    at = min(int(step.settings["letter"]), len(reading.used)) - 1 if "letter" in step.settings else None
    result = what_if(loaded.model, loaded.categories, name, {gate: value}, at=at, unit=unit)
    k = result.unchanged.predicted
    before, after = float(result.unchanged.probs[k]), float(result.intervened.probs[k])
    effect = "drops" if after < before - SAME else "rises" if after > before + SAME else "same"
    top, top_p = result.intervened.top(1)[0]
    facts = {"name": result.unchanged.used, "category": loaded.categories[k], "p_before": percent(before),
             "p_after": percent(after), "change": points(after - before), "top_after": f"{top} ({percent(top_p)})",
             "intervention": result.description}
    return Live(facts, {"p_before_pct": before * 100, "p_after_pct": after * 100}, {"effect": effect},
                {"what_if": result.frame()})


def ngram_view(step: Step, runs, source: Source) -> Live:
    acc = {role: _accuracy(runs[role]) for role in ("ngram", "rnn", "lstm")}
    baseline = _winner(acc["ngram"], acc["lstm"], ("ngram_wins", "lstm_wins", "tie"))
    frame = pd.DataFrame({"model": [MODEL_LABELS[r] for r in acc], "accuracy": list(acc.values()),
                          "source": "our runs"})
    facts = {f"acc_{role}": percent(value) for role, value in acc.items()}
    facts["margin"] = points(abs(acc["ngram"] - acc["lstm"]))
    return Live(facts, {"acc_ngram_pct": acc["ngram"] * 100}, {"baseline": baseline}, {"accuracy": frame})


COMPUTE: dict[str, Callable[[Step, dict[str, RunInfo], Source], Live]] = {
    "report": report_view, "accuracy": accuracy_view, "curves": curves_view, "confusion": confusion_view,
    "gradient": gradient_view, "probe": probe_view, "cell_step": cell_view, "memory": memory_view,
    "what_if": what_if_view, "ngram": ngram_view,
}
assert set(COMPUTE) == set(VIEWS), "every view has its facts"


def compute(step: Step, runs: dict[str, RunInfo | None], source: Source) -> Live:
    """The step's live numbers from its runs (by role); MissingRuns when some do not exist yet.

    Results are kept per step, runs and probe (the last 64), so the whole class shares one computation."""
    runs = {role: runs.get(role) for role in step_roles(step)}
    missing = [role for role, info in runs.items() if info is None]
    if missing:
        raise MissingRuns(missing)
    if step.spec.surnames:
        _needs_surnames(runs.values())
    key = (step.view, tuple(sorted(step.settings.items())), source.stamp(runs))
    with _LOCK:
        if key in _RESULTS:
            return _RESULTS[key]
    live = COMPUTE[step.view](step, runs, source)
    with _LOCK:
        _RESULTS[key] = live
        while len(_RESULTS) > 64:
            _RESULTS.pop(next(iter(_RESULTS)))
    return live


_RESULTS: dict[tuple, Live] = {}
_LOCK = threading.Lock()
