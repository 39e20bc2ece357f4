"""Speed on this machine, measured in one run: training throughput against the PyTorch tutorial's own loop,
time to a useful accuracy, inspection latency, the live chart refresh, the app's cold start, and torch
thread settings for a server that shares its cores with training.

`python -m rnnviz bench` prints a table with a pass/miss column against the targets and writes
docs/benchmarks.md; `--quick` is the small version CI runs, which writes nothing unless `--write` is given.
Every figure is a median over repeats with its min-max spread. Slowness never fails the command, errors do.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .common import PROJECT_ROOT, first_line
from .config import TrainConfig, resolve_device
from .data import ALPHABET, N_LETTERS, NameDataset, Split, find_data_dir, load_folder, split_dataset
from .models import MODEL_LABELS, RNN, Classifier, build_model
from .train import Control, Trainer

MODELS = ("rnn", "lstm", "mylstm")
TUTORIAL_LR = 0.005  # the tutorial's learning rate for its hand-written SGD update
TUTORIAL_HIDDEN = 128  # the tutorial's n_hidden
ACCURACY_GOAL = 0.8
ACCURACY_FIRST = {"class_balanced": False, "label_smoothing": 0.0}  # the recipe the time to 80% is measured with
SAMPLE_NAME = "Nakamura"
APP_FILE = PROJECT_ROOT / "streamlit_app.py"
DOCS_FILE = PROJECT_ROOT / "docs" / "benchmarks.md"
# One torch thread for the figures: these models are small, and with other processes on the cores two threads
# can train many times slower than one (the thread comparison measures it on every run).
DEFAULT_THREADS = 1
TASK_GAP_S = 0.02  # pause between runs of the small task, as between a server's requests

# (comparison, bound) per figure key; a figure without an entry is reported without pass/miss.
TARGETS: dict[str, tuple[str, float]] = {
    "speedup_lstm_default": (">=", 20.0),
    "time_to_80_lstm_s": ("<=", 3.0),
    "trainer_vs_bare_lstm": (">=", 0.85),
    "trainer_vs_bare_mylstm": (">=", 0.85),
    "mylstm_epoch_ratio": ("<=", 1.3),
    "gate_trace_ms": ("<=", 20.0),
    "explain_slowest_view_ms": ("<=", 150.0),
    "unit_explorer_first_ms": ("<=", 2000.0),
    "live_refresh_ms": ("<=", 100.0),
    "cold_start_s": ("<=", 5.0),
    "page_rerun_training_ms": ("<=", 300.0),
    "page_rerun_gates_ms": ("<=", 150.0),
}


@dataclass(frozen=True)
class BenchSettings:
    """How much to measure; FULL for the documented figures, QUICK for CI."""

    repeats: int = 5  # rounds of every throughput figure, all models measured in each round
    train_names: int = 0  # names trained per default-settings measurement; 0: the whole training split
    batch1_names: int = 1000  # names for batch size 1 and for the tutorial's loop
    accuracy_runs: int = 3  # trainings per model for the time to 80% (seeds 0, 1, ...)
    accuracy_budget_s: float = 0.0  # stop a training that has not reached the goal after this long; 0: never
    latency_repeats: int = 100
    chart_runs: int = 3
    chart_points: int = 5000
    chart_repeats: int = 20
    cold_starts: int = 3
    page_repeats: int = 10  # Train page reruns timed with and without a training
    cold_start_timeout_s: float = 60.0
    thread_repeats: int = 3
    thread_names: int = 4000  # names per training measurement in the thread comparison
    task_repeats: int = 30  # runs of the small pandas task per thread setting
    max_names: int = 0  # 0: all the data; else a random subset of this many names (smoke runs)
    comparison_seeds: int = 5  # trainings per model in the comparison (seeds 0, 1, ...)


FULL = BenchSettings()
QUICK = BenchSettings(repeats=3, train_names=2000, batch1_names=100, accuracy_runs=1, accuracy_budget_s=20.0,
                      latency_repeats=30, chart_repeats=5, cold_starts=1, page_repeats=4, cold_start_timeout_s=45.0,
                      thread_repeats=2, thread_names=1500, task_repeats=10, comparison_seeds=1)


@dataclass
class Figure:
    """One measured quantity: its samples, the target it is held to, and what happened."""

    key: str
    label: str
    unit: str  # names/s | x | s | ms | ratio
    samples: list[float] = field(default_factory=list)
    note: str = ""
    status: str = "measured"  # measured | not reached | skipped | error

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.samples)) if self.samples else None

    @property
    def low(self) -> float | None:
        return float(min(self.samples)) if self.samples else None

    @property
    def high(self) -> float | None:
        return float(max(self.samples)) if self.samples else None

    @property
    def target(self) -> tuple[str, float] | None:
        return TARGETS.get(self.key)

    @property
    def passed(self) -> bool | None:
        """True or False against the target; None without a target. A missed goal or an error is a miss."""
        if self.target is None or self.status == "skipped":
            return None
        if self.median is None or self.status == "error":
            return False
        op, bound = self.target
        return self.median >= bound if op == ">=" else self.median <= bound

    def to_json(self) -> dict[str, Any]:
        target = self.target
        return {"label": self.label, "unit": self.unit, "median": self.median, "min": self.low, "max": self.high,
                "n": len(self.samples), "target": f"{target[0]} {target[1]:g}" if target else None,
                "pass": self.passed, "status": self.status, "note": self.note}


@dataclass
class BenchResult:
    machine: dict[str, Any]
    settings: BenchSettings
    quick: bool
    figures: list[Figure]
    seconds: float = 0.0

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    @property
    def errors(self) -> list[Figure]:
        return [f for f in self.figures if f.status == "error"]

    def to_json(self) -> dict[str, Any]:
        return {"machine": self.machine, "quick": self.quick, "seconds": round(self.seconds, 1),
                "settings": asdict(self.settings), "figures": {f.key: f.to_json() for f in self.figures},
                "thread_advice": thread_advice(self)}


Progress = Callable[[str], None]
TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before any command changes it


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- the machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cores": os.cpu_count() or 1, "usable_cores": usable, "cpu": cpu_model(),
        "torch": torch.__version__, "torch_default_threads": TORCH_DEFAULT_THREADS,
        "python": platform.python_version(),
        "device": str(resolve_device("auto")), "platform": platform.platform(terse=True),
        "load_average_1m": round(load[0], 2), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# ---------------------------------------------------------------- the tutorial's regime


class TutorialRNN(nn.Module):
    """The tutorial's RNN module, called one character at a time: rnn(input[i], hidden) -> (output, hidden).

    It holds the layers of an rnnviz RNN, so both compute the same function from the same weights.
    """

    def __init__(self, model: RNN):
        super().__init__()
        self.hidden_size = model.hidden_size
        self.i2h, self.i2o, self.softmax = model.i2h, model.i2o, model.softmax

    def forward(self, input: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        combined = torch.cat((input, hidden), 1)  # (1, V+H)
        hidden = self.i2h(combined)  # (1, H)
        output = self.softmax(self.i2o(combined))  # (1, C)
        return output, hidden

    def init_hidden(self) -> torch.Tensor:
        return torch.zeros(1, self.hidden_size)


def line_to_tensor(line: str) -> torch.Tensor:
    """The tutorial's lineToTensor: a (len, 1, 57) zeros tensor with one 1 per letter."""
    tensor = torch.zeros(len(line), 1, N_LETTERS)
    for li, letter in enumerate(line):
        tensor[li][0][ALPHABET.find(letter)] = 1
    return tensor


@dataclass
class TutorialRun:
    losses: list[float]
    seconds: float
    model: TutorialRNN

    @property
    def names_per_s(self) -> float:
        return len(self.losses) / max(self.seconds, 1e-9)


def tutorial_train(pairs: Sequence[tuple[str, int]], n_categories: int, steps: int, seed: int = 0,
                   hidden_size: int = TUTORIAL_HIDDEN, learning_rate: float = TUTORIAL_LR) -> TutorialRun:
    """The tutorial's training loop: a random category, a random name of it, one character per call, plain SGD."""
    if not pairs:
        raise ValueError("the tutorial loop needs at least one name")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    rnn = TutorialRNN(RNN(N_LETTERS, hidden_size, n_categories))
    criterion = nn.NLLLoss()
    category_lines: dict[int, list[str]] = {}
    for name, label in pairs:
        category_lines.setdefault(label, []).append(name)
    categories = sorted(category_lines)
    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        category = rng.choice(categories)
        line = rng.choice(category_lines[category])
        category_tensor = torch.tensor([category], dtype=torch.long)
        line_tensor = line_to_tensor(line)
        hidden = rnn.init_hidden()
        rnn.zero_grad()
        for i in range(line_tensor.size(0)):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad, alpha=-learning_rate)
        losses.append(loss.item())
    return TutorialRun(losses, time.perf_counter() - start, rnn)


# ---------------------------------------------------------------- training throughput


def subset_dataset(dataset: NameDataset, max_names: int, seed: int = 0) -> NameDataset:
    """A random subset of at most max_names names, in the original order (for smoke runs)."""
    if max_names <= 0 or max_names >= len(dataset):
        return dataset
    keep = np.sort(np.random.default_rng(seed).permutation(len(dataset))[:max_names])
    return replace(dataset, names=[dataset.names[i] for i in keep], labels=[dataset.labels[i] for i in keep])


def _shuffled(pairs: Sequence[tuple[str, int]], seed: int = 0) -> list[tuple[str, int]]:
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def _one_per_category(pairs: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """A tiny validation set, so evaluation passes inside the measured loop cost next to nothing."""
    seen: dict[int, tuple[str, int]] = {}
    for name, label in pairs:
        seen.setdefault(label, (name, label))
    return list(seen.values())


def training_rate(dataset: NameDataset, train: Sequence[tuple[str, int]], val: Sequence[tuple[str, int]],
                  model: str, batch_size: int, seed: int = 0) -> float:
    """Names per second of one epoch of the Trainer over `train`, every other setting at its default."""
    config = TrainConfig(model=model, batch_size=batch_size, epochs=1, seed=seed)
    trainer = Trainer(config, dataset, split=Split(list(dataset.categories), list(train), list(val), []))
    rates: list[float] = []
    trainer.add_callback("on_eval", lambda row: rates.append(row["names_per_s"]))
    result = trainer.run()
    if result.status != "finished" or not rates:
        raise RuntimeError(f"{model} training did not finish: {result.status} {result.message}".strip())
    return rates[-1]


def measure_throughput(dataset: NameDataset, split: Split, settings: BenchSettings,
                       progress: Progress = _quiet) -> list[Figure]:
    """Names/s of every model at the defaults and at batch size 1, and of the tutorial's loop, interleaved."""
    train = _shuffled(split.train)
    val = _one_per_category(split.val or split.train)
    default_names = train[: settings.train_names] if settings.train_names else train
    batch1_names = train[: settings.batch1_names]
    for model in MODELS:  # warm-up: first-call costs (imports, allocator) stay out of the figures
        training_rate(dataset, train[:64], val, model, 32)
    tutorial_train(train, dataset.n_categories, 20)
    rates: dict[str, list[float]] = {}
    for round_ in range(settings.repeats):
        progress(f"training throughput, round {round_ + 1} of {settings.repeats}")
        run = tutorial_train(batch1_names, dataset.n_categories, len(batch1_names), seed=round_)
        rates.setdefault("tutorial", []).append(run.names_per_s)
        for model in MODELS:
            rates.setdefault(f"{model}_default", []).append(
                training_rate(dataset, default_names, val, model, TrainConfig.batch_size, seed=round_))
        for model in MODELS:
            rates.setdefault(f"{model}_batch1", []).append(
                training_rate(dataset, batch1_names, val, model, 1, seed=round_))
    figures = [Figure("tutorial_names_per_s", "tutorial loop (batch 1, SGD 0.005, per-letter calls)", "names/s",
                      rates["tutorial"], note=f"{len(batch1_names):,} names per round")]
    for regime, count in (("default", len(default_names)), ("batch1", len(batch1_names))):
        what = f"defaults (batch {TrainConfig.batch_size})" if regime == "default" else "batch size 1"
        for model in MODELS:
            figures.append(Figure(f"train_{model}_{regime}_names_per_s", f"{MODEL_LABELS[model]} training, {what}",
                                  "names/s", rates[f"{model}_{regime}"], note=f"{count:,} names per round"))
    for regime in ("default", "batch1"):
        what = "defaults" if regime == "default" else "batch 1"
        for model in MODELS:
            paired = [m / t for m, t in zip(rates[f"{model}_{regime}"], rates["tutorial"])]
            figures.append(Figure(f"speedup_{model}_{regime}", f"{MODEL_LABELS[model]} {what} vs tutorial loop", "x",
                                  paired, note="per round, names/s over the tutorial's in the same round"))
    epoch_names = len(split.train)
    extrapolated = "" if len(default_names) == epoch_names else f", from {len(default_names):,} names"
    for model in ("lstm", "mylstm"):
        figures.append(Figure(f"epoch_{model}_s", f"{MODEL_LABELS[model]} seconds per epoch at defaults", "s",
                              [epoch_names / r for r in rates[f"{model}_default"]],
                              note=f"{epoch_names:,} training names{extrapolated}"))
    figures.append(Figure("mylstm_epoch_ratio", "MyLSTM epoch time / nn.LSTM's (hidden 64)", "ratio",
                          [lstm / mine for lstm, mine in zip(rates["lstm_default"], rates["mylstm_default"])],
                          note="per round"))
    return figures


# ---------------------------------------------------------------- time to accuracy


def time_to_accuracy(dataset: NameDataset, model: str, runs: int, goal: float = ACCURACY_GOAL,
                     budget_s: float = 0.0, progress: Progress = _quiet) -> tuple[Figure, Classifier | None]:
    """Training seconds until validation accuracy first reaches the goal, at the default settings with the class
    weights and label smoothing off (ACCURACY_FIRST): the default recipe trades plain accuracy for balanced
    accuracy and stays just under 80%, so the goal measures the loop's speed on the accuracy-first recipe.

    The clock is the Trainer's own (elapsed_s of its on_eval events: training plus its validation passes).
    A run stops as soon as it reaches the goal, or when the budget is spent.
    """
    key, label = (f"time_to_80_{model}_s",
                  f"{MODEL_LABELS[model]} time to {goal:.0%} val accuracy (class weights, smoothing off)")
    times, bests, trained = [], [], None
    for seed in range(runs):
        progress(f"time to {goal:.0%}: {MODEL_LABELS[model]}, run {seed + 1} of {runs}")
        control = Control()
        trainer = Trainer(TrainConfig(model=model, seed=seed, **ACCURACY_FIRST), dataset, control)
        state = {"best": 0.0, "hit": None}

        def on_eval(row: dict[str, Any], state=state, control=control) -> None:
            state["best"] = max(state["best"], row["val_acc"])
            if state["hit"] is None and row["val_acc"] >= goal:
                state["hit"] = row["elapsed_s"]
                control.stop()
            elif budget_s and row["elapsed_s"] > budget_s:
                control.stop()

        trainer.add_callback("on_eval", on_eval)
        result = trainer.run()
        if result.status not in ("finished", "stopped"):
            raise RuntimeError(f"{model} training {result.status}: {result.message}")
        trained = result.model
        bests.append(state["best"])
        if state["hit"] is not None:
            times.append(state["hit"])
    limit = f"{budget_s:g} s" if budget_s else f"{TrainConfig.epochs} epochs"
    if not times:
        note = f"not reached in {limit} (best val acc {max(bests):.1%})"
        return Figure(key, label, "s", [], note=note, status="not reached"), trained
    note = f"reached in {len(times)} of {runs} runs (seeds 0-{runs - 1})" if runs > 1 else "seed 0"
    if len(times) < runs:
        note += f"; the others not in {limit}"
    return Figure(key, label, "s", times, note=note), trained


# ---------------------------------------------------------------- the Trainer against a bare loop


def bare_loop_rate(dataset: NameDataset, split: Split, model: str, batch_size: int = 32, seed: int = 0) -> float:
    """Names/s of one epoch of the plainest loop over the Trainer's own batches: forward, the Trainer's loss,
    backward, clipping and fused Adam, nothing else (no validation, no schedule, no callbacks)."""
    config = TrainConfig(model=model, batch_size=batch_size, epochs=1, seed=seed)
    trainer = Trainer(config, dataset, split=split)  # the same initial weights as the Trainer's run
    net, parts = trainer.model, trainer.training_parts()  # the same batches and the same (weighted) loss
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate, fused=True)
    generator = torch.Generator().manual_seed(seed)
    net.train()
    start = time.perf_counter()
    for chars, lengths, labels in parts.train.batches(batch_size, generator):
        loss = parts.loss(net(chars, lengths), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.clip_grad)
        optimizer.step()
    return len(parts.train) / (time.perf_counter() - start)


def trainer_rate(dataset: NameDataset, split: Split, model: str, batch_size: int = 32, seed: int = 0,
                 validation: list[float] | None = None) -> float:
    """Names/s of one epoch of the real Trainer at the defaults, its live validation points included; appends the
    share of that time spent scoring validation names to `validation` if given."""
    trainer = Trainer(TrainConfig(model=model, batch_size=batch_size, epochs=1, seed=seed), dataset, split=split)
    rows: list[dict[str, Any]] = []
    trainer.add_callback("on_eval", rows.append)
    result = trainer.run()
    if result.status != "finished":
        raise RuntimeError(f"{model} training did not finish: {result.status} {result.message}".strip())
    if validation is not None and rows:
        validation.append(rows[-1]["val_s"] / rows[-1]["elapsed_s"])
    return len(split.train) / result.train_seconds


def measure_trainer_overhead(dataset: NameDataset, split: Split, settings: BenchSettings,
                             progress: Progress = _quiet) -> list[Figure]:
    """The Trainer's throughput over a bare loop's on the same batches, per round, for nn.LSTM and MyLSTM."""
    models = ("lstm", "mylstm")
    small = Split(split.categories, split.train[:256], split.val, split.test)
    for model in models:  # warm-up
        bare_loop_rate(dataset, small, model)
        trainer_rate(dataset, small, model)
    rates: dict[str, list[float]] = {}
    for round_ in range(settings.repeats):
        progress(f"Trainer against a bare loop, round {round_ + 1} of {settings.repeats}")
        for model in models:
            # Alternate which goes first, so a slower half of the round does not always fall on the same one.
            order = ("bare", "trainer") if round_ % 2 == 0 else ("trainer", "bare")
            for kind in order:
                if kind == "bare":
                    rate = bare_loop_rate(dataset, split, model, seed=round_)
                else:
                    rate = trainer_rate(dataset, split, model, seed=round_,
                                        validation=rates.setdefault(f"validation_{model}", []))
                rates.setdefault(f"{kind}_{model}", []).append(rate)
    figures = []
    for model in models:
        label = MODEL_LABELS[model]
        figures.append(Figure(f"bare_{model}_names_per_s", f"{label} bare loop (batch 32)", "names/s",
                              rates[f"bare_{model}"], note="forward, NLL, backward, clipping, fused Adam"))
        figures.append(Figure(f"trainer_{model}_names_per_s", f"{label} Trainer (batch 32)", "names/s",
                              rates[f"trainer_{model}"], note="with its live validation points"))
        figures.append(Figure(f"trainer_vs_bare_{model}", f"{label} Trainer / bare loop throughput", "ratio",
                              [t / b for t, b in zip(rates[f"trainer_{model}"], rates[f"bare_{model}"])],
                              note=f"per round, one epoch of {len(split.train):,} names each, the same batches"))
        figures.append(Figure(f"trainer_validation_share_{model}", f"{label} Trainer: share of its time validating",
                              "ratio", rates[f"validation_{model}"],
                              note="live curve points (512-name sample) and each epoch's end (all names); "
                                   "1 minus it bounds the ratio above"))
    return figures


# ---------------------------------------------------------------- the models compared over seeds

COMPARED_MODELS = ("ngram", "rnn", "elman", "lstm", "mylstm")


def measure_comparisons(dataset: NameDataset, settings: BenchSettings, progress: Progress = _quiet
                        ) -> tuple[list[Figure], dict[str, Classifier]]:
    """Test accuracy, balanced accuracy and training seconds of every model at the defaults, one training per seed
    (seeds 0, 1, ...: each its own split, initial weights and batch order); returns the seed-0 models too."""
    samples: dict[str, list[float]] = {}
    trained: dict[str, Classifier] = {}
    for seed in range(settings.comparison_seeds):
        for model in COMPARED_MODELS:
            progress(f"comparison: {MODEL_LABELS[model]}, seed {seed}")
            result = Trainer(TrainConfig(model=model, seed=seed), dataset).run()
            if result.status != "finished":
                raise RuntimeError(f"{model} seed {seed} {result.status}: {result.message}")
            samples.setdefault(f"{model}_test", []).append(result.test["accuracy"])
            samples.setdefault(f"{model}_balanced", []).append(result.test["balanced_accuracy"])
            samples.setdefault(f"{model}_seconds", []).append(result.train_seconds)
            if seed == 0:
                trained[model] = result.model
    figures = []
    seeds = f"seeds 0-{settings.comparison_seeds - 1}" if settings.comparison_seeds > 1 else "seed 0"
    for model in COMPARED_MODELS:
        label = MODEL_LABELS[model]
        for kind, unit, what in (("test", "ratio", "test accuracy"), ("balanced", "ratio", "test balanced accuracy"),
                                 ("seconds", "s", "training seconds")):
            values = samples[f"{model}_{kind}"]
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            figures.append(Figure(f"compare_{model}_{kind}", f"{label} {what} (defaults)", unit, values,
                                  note=f"{seeds}; mean {statistics.mean(values):.3f}{spread} (sd)"))
    return figures, trained


def measure_gradient_reach(models: dict[str, Classifier], split: Split, distance: int = 10) -> list[Figure]:
    """Share of the last letter's gradient left `distance` letters back (trained, validation names), per model,
    as the Why LSTM? page measures it; nearer when too few validation names are that long (small data)."""
    from .inspect import gradient_flow

    wanted = [m for m in ("rnn", "elman", "lstm") if m in models]
    flow = gradient_flow([(MODEL_LABELS[m], "trained", models[m]) for m in wanted], split.val)
    reach = min(distance, int(flow.groupby("model")["distance"].max().min()))
    at = flow[flow["distance"] == reach].set_index("model")["relative"]
    return [Figure(f"gradient_{distance}_back_{m}", f"{MODEL_LABELS[m]} gradient {reach} letters back / last "
                   "letter's", "ratio", [float(at[MODEL_LABELS[m]])],
                   note="trained seed-0 model, mean over validation names") for m in wanted]


# ---------------------------------------------------------------- latency of inspection


def _time_ms(fn: Callable[[], Any], repeats: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def measure_latency(model: Classifier, categories: list[str], repeats: int, trained: bool) -> list[Figure]:
    from .evaluate import predict
    from .inspect import trace_name

    state = "trained" if trained else "fresh"
    trace = _time_ms(lambda: trace_name(model, categories, SAMPLE_NAME), repeats)
    guess = _time_ms(lambda: predict(model, categories, [SAMPLE_NAME]), repeats)
    return [Figure("gate_trace_ms", f"gate trace of one surname (trace_name, {state} nn.LSTM)", "ms", trace,
                   note=f"{SAMPLE_NAME!r}, {repeats} calls"),
            Figure("predict_ms", f"predict one surname ({state} nn.LSTM)", "ms", guess,
                   note=f"{SAMPLE_NAME!r}, {repeats} calls")]


EXPLAINED_NAMES = ("Nakamura", "Schmidt", "Kowalski", "O'Neill", "Wolfeschlegelsteinhausenbergerdorff" * 2)


def measure_explanations(model: Classifier, categories: list[str], val: Sequence[tuple[str, int]],
                         trained: bool) -> list[Figure]:
    """The Gates page's library calls for a typed name (rnnviz.explain.measure_views), and its unit explorer over
    the validation names, the first time and once cached."""
    from .explain import measure_views

    state = "trained" if trained else "fresh"
    times = measure_views(model, categories, list(val), list(EXPLAINED_NAMES))
    views = times["views_ms"]
    slowest = max(views, key=views.get)
    note = ", ".join(f"{view} {ms:.1f}" for view, ms in views.items())
    names = f"{len(EXPLAINED_NAMES)} surnames up to 64 letters; {times['validation_names']:,} validation names"
    return [Figure("explain_slowest_view_ms", f"slowest Gates view of a typed name ({slowest}, {state} nn.LSTM)",
                   "ms", [views[slowest]], note=f"{names}; ms per view: {note}"),
            Figure("unit_explorer_first_ms", "unit explorer over the validation names, first time", "ms",
                   [times["unit_explorer_first_ms"]], note=names),
            Figure("unit_explorer_cached_ms", "unit explorer, once cached for the run", "ms",
                   [times["unit_explorer_cached_ms"]], note=names)]


# ---------------------------------------------------------------- live chart refresh


def logged_rows(points: int, seed: int = 0, steps_per_epoch: int = 450) -> list[dict[str, Any]]:
    """Metric rows shaped like the Trainer's on_eval events, with plausible falling loss and rising accuracy."""
    rng = np.random.default_rng(seed)
    step = np.arange(1, points + 1) * 8
    epoch = step / steps_per_epoch
    decay = np.exp(-epoch / 2)
    noise = rng.normal(0, 0.03, size=(4, points))
    train_loss, val_loss = 0.6 + 2.3 * decay + noise[0], 0.7 + 2.2 * decay + noise[1]
    train_acc, val_acc = 0.85 - 0.8 * decay + noise[2], 0.8 - 0.75 * decay + noise[3]
    return [{"step": int(step[k]), "epoch": float(epoch[k]), "elapsed_s": float(step[k] / 400),
             "train_loss": float(train_loss[k]), "train_acc": float(train_acc[k]), "val_loss": float(val_loss[k]),
             "val_acc": float(val_acc[k]), "names_per_s": 12800.0, "eta_s": 0.0, "total_steps": int(step[-1])}
            for k in range(points)]


def _refresh_with_app_charts(runs: dict[str, list[dict[str, Any]]]) -> int:
    from . import charts

    # As the Train page's live charts: rows picked from the snapshot, long form, no hover layers.
    frames = [charts.curves_long(charts.rows_frame(list(rows)), label) for label, rows in runs.items()]
    long = pd.concat(frames, ignore_index=True)
    size = 0
    for metric in charts.CURVE_METRICS:
        size += len(json.dumps(charts.curve_chart(long, metric, hover=False).to_dict()))
    return size


def _refresh_with_plain_altair(runs: dict[str, list[dict[str, Any]]], max_points: int = 300) -> int:
    import altair as alt

    size = 0
    frames = []
    for label, rows in runs.items():
        frame = pd.DataFrame(list(rows))
        keep = np.unique(np.linspace(0, len(frame) - 1, min(max_points, len(frame))).round().astype(int))
        frames.append(frame.iloc[keep].assign(run=label))
    wide = pd.concat(frames, ignore_index=True)
    for metric, columns in {"loss": ["train_loss", "val_loss"], "accuracy": ["train_acc", "val_acc"]}.items():
        long = wide.melt(id_vars=["run", "epoch"], value_vars=columns, var_name="split", value_name="value")
        chart = alt.Chart(long, title=metric).mark_line().encode(x="epoch:Q", y="value:Q", color="run:N",
                                                                 strokeDash="split:N")
        size += len(json.dumps(chart.to_dict()))
    return size


def live_refresh_function() -> tuple[Callable[[dict[str, list[dict[str, Any]]]], int], str]:
    """What one refresh of the Train page's curves runs on the server, and a note saying which code that is."""
    try:
        from . import charts

        if all(hasattr(charts, name) for name in ("rows_frame", "curves_long", "curve_chart", "CURVE_METRICS")):
            return _refresh_with_app_charts, ("snapshot copy, charts.rows_frame and charts.curves_long per run, "
                                              "charts.curve_chart for loss and accuracy, Vega-Lite JSON")
    except ImportError:
        pass
    return _refresh_with_plain_altair, "rnnviz.charts has no curve_chart: plain pandas + altair stand-in"


def measure_live_refresh(settings: BenchSettings) -> Figure:
    runs = {f"run {k + 1}": logged_rows(settings.chart_points, seed=k) for k in range(settings.chart_runs)}
    refresh, how = live_refresh_function()
    samples = _time_ms(lambda: refresh(runs), settings.chart_repeats, warmup=1)
    return Figure("live_refresh_ms",
                  f"live curves refresh, {settings.chart_runs} runs x {settings.chart_points:,} points", "ms",
                  samples, note=how)


# ---------------------------------------------------------------- the app: cold start and page reruns
# Both start Streamlit (and Chromium), which the library never does itself: benchmarks/ runs in a subprocess.


def _benchmark_json(module: str, args: list[str], root: Path, timeout_s: float) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args], cwd=root, capture_output=True,
                         text=True, timeout=timeout_s)
    if out.returncode != 0:
        raise RuntimeError(_last_line_of(out.stderr) or f"exit code {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_page_rerun(settings: BenchSettings, data_dir: Path, root: Path = PROJECT_ROOT) -> list[Figure]:
    """Server time of a Train page rerun after a widget change, idle and beside a training
    (benchmarks/page_timing.py, through Streamlit's AppTest)."""
    keys = ("page_rerun_idle_ms", "page_rerun_training_ms", "page_rerun_gates_ms")
    labels = ("Train page rerun after a widget change, no training",
              "Train page rerun after a widget change, while nn.LSTM trains",
              "Gates page rerun after a surname is typed (the cell view)")
    if not (root / "benchmarks" / "page_timing.py").is_file():
        return [Figure(k, label, "ms", note="skipped: no app", status="skipped") for k, label in zip(keys, labels)]
    times = _benchmark_json("page_timing", ["--data", str(data_dir), "--repeats", str(settings.page_repeats)],
                            root, 600)
    how = "AppTest, server side: the curve-scale toggle, 3 finished runs listed"
    return [Figure(keys[0], labels[0], "ms", times["idle_ms"], note=how),
            Figure(keys[1], labels[1], "ms", times["training_ms"], note=how + "; the live panel refreshing too"),
            Figure(keys[2], labels[2], "ms", times["gates_ms"],
                   note="AppTest, server side: a default nn.LSTM, surnames typed in turn, charts built and sent")]


def _last_line_of(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def measure_cold_start(app: Path, settings: BenchSettings, data_dir: Path | None = None,
                       runs_dir: Path | None = None, progress: Progress = _quiet) -> list[Figure]:
    """Seconds from `streamlit run` to the first page rendered in Chromium (or to the health check answering),
    measured by benchmarks/app_timing.py."""
    key, label = "cold_start_s", "app cold start to first page rendered"
    if not app.is_file():
        return [Figure(key, label, "s", note=f"skipped: no app ({app.name} not found)", status="skipped")]
    progress(f"app cold start, {settings.cold_starts} times")
    args = ["--app", str(app), "--repeats", str(settings.cold_starts), "--timeout", str(settings.cold_start_timeout_s)]
    args += ["--data", str(data_dir)] if data_dir is not None else []
    args += ["--runs", str(runs_dir)] if runs_dir is not None else []
    result = _benchmark_json("app_timing", args, PROJECT_ROOT,
                             settings.cold_starts * (settings.cold_start_timeout_s + 30) + 60)
    figures = []
    if result["browser_problem"]:
        method = f"browser unavailable ({result['browser_problem']}): timed until /_stcore/health answered"
        figures.append(Figure(key, label + " (server ready only)", "s", result["ready_s"], note=method))
    else:
        figures.append(Figure(key, label, "s", result["rendered_s"],
                              note="Chromium via Playwright: script finished with content on the page"))
    figures.append(Figure("server_ready_s", "app cold start to /_stcore/health answering", "s", result["ready_s"]))
    if result["problems"]:
        for figure in figures:
            figure.status, figure.note = "error", "; ".join(dict.fromkeys(result["problems"]))
    return figures


# ---------------------------------------------------------------- torch threads on a shared server


def small_task(rows: list[dict[str, Any]]) -> int:
    """An ordinary server-side chore unrelated to training: a frame from dict rows, a group-by, a summary."""
    frame = pd.DataFrame(rows)
    summary = frame.groupby(frame["epoch"].round(1))[["train_loss", "val_loss", "val_acc"]].mean()
    return len(summary.to_dict("records")) + len(frame.describe())


class _BackgroundTraining:
    """LSTM training at the defaults in a thread, run after run until stopped, counting names trained."""

    def __init__(self, dataset: NameDataset, train: list[tuple[str, int]], val: list[tuple[str, int]]):
        self.dataset, self.train, self.val = dataset, train, val
        self.control = Control()
        self.events: list[tuple[float, float]] = []  # (time, names trained so far)
        self.done = 0.0
        self.error: Exception | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="bench-training", daemon=True)

    def _loop(self) -> None:
        try:
            while not self.control.stopped:
                trainer = Trainer(TrainConfig(model="lstm", epochs=20), self.dataset, self.control,
                                  split=Split(list(self.dataset.categories), self.train, self.val, []))
                base = self.done
                trainer.add_callback("on_eval", lambda row, base=base: self._count(base, row))
                trainer.run()
                self.done = self.events[-1][1] if self.events else self.done
        except Exception as exc:  # reported by the measuring thread
            self.error = exc
        finally:
            self.started.set()

    def _count(self, base: float, row: dict[str, Any]) -> None:
        self.events.append((time.perf_counter(), base + row["names_per_s"] * row["elapsed_s"]))
        self.started.set()

    def __enter__(self) -> _BackgroundTraining:
        self.thread.start()
        self.started.wait(120)
        return self

    def __exit__(self, *exc: object) -> None:
        self.control.stop()
        self.thread.join(120)
        if self.error is not None:
            raise self.error

    def wait_for_steps(self, since: float, count: int = 2, timeout_s: float = 60.0) -> None:
        """Let training report `count` times after `since`, so even a slow setting yields a rate."""
        deadline = time.perf_counter() + timeout_s
        while (sum(t >= since for t, _ in self.events) < count and self.thread.is_alive()
               and time.perf_counter() < deadline):
            time.sleep(0.01)

    def rate_since(self, since: float) -> float:
        window = [(t, n) for t, n in self.events if t >= since]
        before = [(t, n) for t, n in self.events if t < since]
        if before:
            window.insert(0, before[-1])
        if len(window) < 2 or window[-1][0] <= window[0][0]:
            return float("nan")
        return (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])


def measure_threads(dataset: NameDataset, split: Split, settings: BenchSettings,
                    progress: Progress = _quiet) -> list[Figure]:
    """Training names/s with 1 and 2 torch threads, then a small pandas task's latency beside a training thread."""
    original = torch.get_num_threads()
    train = _shuffled(split.train)[: settings.thread_names]
    val = _one_per_category(split.val or split.train)
    rates: dict[tuple[str, int], list[float]] = {}
    task: dict[str, list[float]] = {}
    background: dict[int, list[float]] = {1: [], 2: []}
    rows = logged_rows(2000)
    try:
        for round_ in range(settings.thread_repeats):
            progress(f"torch threads, training round {round_ + 1} of {settings.thread_repeats}")
            for threads in (1, 2):
                torch.set_num_threads(threads)
                measure = partial(training_rate, dataset, train, val, "lstm", TrainConfig.batch_size, round_)
                rates.setdefault(("main", threads), []).append(measure())
                rates.setdefault(("worker", threads), []).append(_in_worker_thread(measure))
        # Rounds interleave the three conditions, so a change in the machine's other load hits them alike.
        per_round = max(1, settings.task_repeats // settings.thread_repeats)
        for round_ in range(settings.thread_repeats):
            progress(f"torch threads, a small task beside training, round {round_ + 1} of {settings.thread_repeats}")
            task.setdefault("idle", []).extend(_spaced_ms(lambda: small_task(rows), per_round))
            for threads in (1, 2):
                torch.set_num_threads(threads)
                with _BackgroundTraining(dataset, train, val) as job:
                    since = time.perf_counter()
                    task.setdefault(str(threads), []).extend(_spaced_ms(lambda: small_task(rows), per_round))
                    job.wait_for_steps(since)
                    background[threads].append(job.rate_since(since))
    finally:
        torch.set_num_threads(original)
    n = len(train)
    figures = []
    for where, key, how in (("main", "train", "in the main thread (as the CLI trains)"),
                            ("worker", "worker", "in a worker thread (as the app trains)")):
        figures += [Figure(f"threads_{key}_{t}_names_per_s",
                           f"nn.LSTM training alone {how}, {t} torch thread{'s' * (t > 1)}", "names/s",
                           rates[(where, t)], note=f"{n:,} names per round") for t in (1, 2)]
    runs = f"{len(task['idle'])} runs in {settings.thread_repeats} rounds"
    figures.append(Figure("threads_task_idle_ms", "small pandas task, no training running", "ms", task["idle"],
                          note=runs))
    for t in (1, 2):
        figures.append(Figure(f"threads_task_train_{t}_ms",
                              f"small pandas task beside training with {t} torch thread{'s' * (t > 1)}", "ms",
                              task[str(t)], note=runs))
    for t in (1, 2):
        figures.append(Figure(f"threads_bg_train_{t}_names_per_s",
                              f"nn.LSTM training beside the task, {t} torch thread{'s' * (t > 1)}", "names/s",
                              [r for r in background[t] if math.isfinite(r)],
                              note="per round, while the task ran"))
    return figures


def _in_worker_thread(fn: Callable[[], float]) -> float:
    """fn's result, computed in a fresh thread as the app's JobManager trains."""
    out: list[float] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except Exception as exc:  # re-raised in the calling thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="bench-worker")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return out[0]


def _spaced_ms(fn: Callable[[], Any], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        time.sleep(TASK_GAP_S)
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def thread_advice(result: BenchResult) -> str:
    """A one-paragraph recommendation read off the thread figures (empty when they were not measured)."""
    def median(key: str) -> float | None:
        figure = result.figure(key)
        return figure.median if figure is not None else None

    main = [median(f"threads_train_{t}_names_per_s") for t in (1, 2)]
    worker = [median(f"threads_worker_{t}_names_per_s") for t in (1, 2)]
    task = [median(k) for k in ("threads_task_idle_ms", "threads_task_train_1_ms", "threads_task_train_2_ms")]
    if None in main or None in worker or None in task:
        return ""
    gain_main, gain_worker = main[1] / main[0], worker[1] / worker[0]
    slow_1, slow_2 = task[1] / task[0], task[2] / task[0]
    # A second thread must pay off wherever training runs, and not starve the server's other work more.
    two = gain_main >= 1.3 and gain_worker >= 1.3 and slow_2 <= 1.1 * slow_1
    choice = "torch's default of one thread per core" if two else "torch.set_num_threads(1)"
    return (f"Two torch threads trained nn.LSTM at {gain_main:.2f}x the speed of one in the main thread and "
            f"{gain_worker:.2f}x in a worker thread. Beside a training thread the small task took {slow_1:.1f}x its "
            f"idle time with one torch thread and {slow_2:.1f}x with two. Recommendation for the app's server and "
            f"for command-line training on this machine: {choice}.")


# ---------------------------------------------------------------- the whole run


def run_bench(data_dir: Path, settings: BenchSettings = FULL, quick: bool = False, app: Path = APP_FILE,
              threads: int = DEFAULT_THREADS, progress: Progress = _quiet, only: Sequence[str] = ()) -> BenchResult:
    """Measure everything once on this machine; a phase that fails becomes an error row, the rest still run.

    `threads` torch threads are used for every figure but the thread comparison (0: leave torch's setting).
    """
    started = time.perf_counter()
    dataset = subset_dataset(load_folder(data_dir), settings.max_names)
    split = split_dataset(dataset)
    original_threads = torch.get_num_threads()
    result = BenchResult(machine_info(), settings, quick, [])
    result.machine["names"] = len(dataset)
    result.machine["bench_threads"] = threads or original_threads
    try:
        if threads:
            torch.set_num_threads(threads)
        _measure_all(result, dataset, split, data_dir, app, progress, only)
    finally:
        torch.set_num_threads(original_threads)
    result.seconds = time.perf_counter() - started
    return result


# --only names -> the phase each selects
PHASES = {"throughput": "training throughput", "overhead": "Trainer against a bare loop",
          "accuracy": "time to 80% validation accuracy", "comparisons": "models compared over seeds",
          "latency": "gate trace and predict latency", "refresh": "live chart refresh", "cold-start": "app cold start",
          "page-rerun": "Train page rerun", "threads": "torch thread settings",
          "explain": "Gates page explanations of a typed name"}


def _measure_all(result: BenchResult, dataset: NameDataset, split: Split, data_dir: Path, app: Path,
                 progress: Progress, only: Sequence[str] = ()) -> None:
    settings = result.settings
    trained: list[Classifier] = []
    compared: dict[str, Classifier] = {}
    chosen = {PHASES[name] for name in only}

    def phase(name: str, keys: Sequence[str], measure: Callable[[], list[Figure]]) -> None:
        if chosen and name not in chosen:
            return
        progress(name)
        try:
            result.figures.extend(measure())
        except Exception as exc:  # one failing phase must not hide the others' figures
            message = f"{name} failed: {first_line(exc, show_type=True)}"
            result.figures.extend(Figure(key, key, "", note=message, status="error") for key in keys)

    def accuracy() -> list[Figure]:
        figures = []
        for model in ("lstm", "mylstm"):
            figure, model_ = time_to_accuracy(dataset, model, settings.accuracy_runs,
                                              budget_s=settings.accuracy_budget_s, progress=progress)
            figures.append(figure)
            if model == "lstm" and model_ is not None:
                trained.append(model_)
        return figures

    def latency() -> list[Figure]:
        if trained:
            return measure_latency(trained[0], dataset.categories, settings.latency_repeats, trained=True)
        model = build_model("lstm", output_size=dataset.n_categories)
        return measure_latency(model, dataset.categories, settings.latency_repeats, trained=False)

    def explanations() -> list[Figure]:
        model = trained[0] if trained else build_model("lstm", output_size=dataset.n_categories)
        return measure_explanations(model, dataset.categories, split.val, trained=bool(trained))

    def comparisons() -> list[Figure]:
        figures, models = measure_comparisons(dataset, settings, progress)
        compared.update(models)
        return figures + measure_gradient_reach(models, split_dataset(dataset, seed=0))

    with tempfile.TemporaryDirectory(prefix="rnnviz-bench-runs-") as runs_dir:
        phase("training throughput", THROUGHPUT_KEYS, lambda: measure_throughput(dataset, split, settings, progress))
        phase("Trainer against a bare loop", OVERHEAD_KEYS,
              lambda: measure_trainer_overhead(dataset, split, settings, progress))
        phase("time to 80% validation accuracy", ("time_to_80_lstm_s", "time_to_80_mylstm_s"), accuracy)
        phase("models compared over seeds", COMPARISON_KEYS, comparisons)
        phase("gate trace and predict latency", ("gate_trace_ms", "predict_ms"), latency)
        phase("Gates page explanations of a typed name", EXPLAIN_KEYS, explanations)
        phase("live chart refresh", ("live_refresh_ms",), lambda: [measure_live_refresh(settings)])
        phase("app cold start", ("cold_start_s", "server_ready_s"),
              lambda: measure_cold_start(app, settings, data_dir, Path(runs_dir), progress))
        phase("Train page rerun", ("page_rerun_idle_ms", "page_rerun_training_ms", "page_rerun_gates_ms"),
              lambda: measure_page_rerun(settings, data_dir))
        phase("torch thread settings", THREAD_KEYS, lambda: measure_threads(dataset, split, settings, progress))


THROUGHPUT_KEYS = ("tutorial_names_per_s",
                   *(f"train_{m}_{r}_names_per_s" for r in ("default", "batch1") for m in MODELS),
                   *(f"speedup_{m}_{r}" for r in ("default", "batch1") for m in MODELS),
                   "epoch_lstm_s", "epoch_mylstm_s", "mylstm_epoch_ratio")
THREAD_KEYS = ("threads_train_1_names_per_s", "threads_train_2_names_per_s", "threads_worker_1_names_per_s",
               "threads_worker_2_names_per_s", "threads_task_idle_ms",
               "threads_task_train_1_ms", "threads_task_train_2_ms", "threads_bg_train_1_names_per_s",
               "threads_bg_train_2_names_per_s")
OVERHEAD_KEYS = tuple(key for m in ("lstm", "mylstm")
                      for key in (f"bare_{m}_names_per_s", f"trainer_{m}_names_per_s", f"trainer_vs_bare_{m}",
                                  f"trainer_validation_share_{m}"))
COMPARISON_KEYS = (*(f"compare_{m}_{kind}" for m in COMPARED_MODELS for kind in ("test", "balanced", "seconds")),
                   *(f"gradient_10_back_{m}" for m in ("rnn", "elman", "lstm")))
EXPLAIN_KEYS = ("explain_slowest_view_ms", "unit_explorer_first_ms", "unit_explorer_cached_ms")
FIGURE_KEYS = (*THROUGHPUT_KEYS, *OVERHEAD_KEYS, *COMPARISON_KEYS,
               "time_to_80_lstm_s", "time_to_80_mylstm_s", "gate_trace_ms", "predict_ms", *EXPLAIN_KEYS,
               "live_refresh_ms", "cold_start_s", "server_ready_s", "page_rerun_idle_ms", "page_rerun_training_ms",
               "page_rerun_gates_ms", *THREAD_KEYS)


# ---------------------------------------------------------------- output


def format_value(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if unit == "names/s":
        return f"{value:,.0f}"
    if unit == "x":
        return f"{value:,.1f}x"
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "s":
        return f"{value:,.2f} s"
    return f"{value:.2f}"


def _rows(result: BenchResult) -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for f in result.figures:
        if f.median is None:
            value, spread = f.status, ""
        else:
            value = format_value(f.median, f.unit)
            spread = f"{format_value(f.low, f.unit)} - {format_value(f.high, f.unit)}" if len(f.samples) > 1 else ""
        target = f"{f.target[0]} {format_value(f.target[1], f.unit)}" if f.target else ""
        verdict = {True: "pass", False: "miss", None: ""}[f.passed]
        rows.append((f.label, value, spread, str(len(f.samples)) if f.samples else "", target, verdict, f.note))
    return rows


HEADER = ("figure", "median", "min - max", "n", "target", "result", "note")


def format_table(result: BenchResult) -> str:
    rows = [HEADER, *_rows(result)]
    widths = [max(len(row[k]) for row in rows) for k in range(len(HEADER) - 1)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [row[k].rjust(widths[k]) for k in range(1, len(widths))]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def summary_line(result: BenchResult) -> str:
    m = result.machine
    verdicts = [f.passed for f in result.figures if f.passed is not None]
    return (f"{m['cores']} cores ({m['cpu']}), torch {m['torch']} on {m['bench_threads']} thread(s), "
            f"{m['names']:,} names; {sum(verdicts)} of {len(verdicts)} targets met in {result.seconds:.0f} s")


def render_markdown(result: BenchResult) -> str:
    m = result.machine
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m rnnviz bench` (see *How to rerun*). Every figure is a median over repeats, with "
        "the min - max spread; all of them were measured in one run on the machine below.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable by this process)",
        f"- torch {m['torch']}: {m['bench_threads']} thread(s) for the figures ({m['torch_default_threads']} by "
        f"default), Python {m['python']}, device {m['device']}",
        f"- {m['platform']}; load average {m['load_average_1m']} when the run started; {m['date']}",
        f"- {m['names']:,} surnames; {'quick' if result.quick else 'full'} settings; the run took "
        f"{result.seconds:.0f} s",
        "",
        "## Figures",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] + ["---:"] * 5 + ["---"]) + "|",
    ]
    for row in _rows(result):
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    advice = thread_advice(result)
    lines += [
        "",
        "## Torch threads on a shared server",
        "",
        advice or "Not measured in this run.",
        "",
        "`torch.set_num_threads` is process-wide: in the app it also governs the server's own torch work.",
        "",
        "## How it is measured",
        "",
        "- **Training throughput**: one epoch of the real `Trainer` (Adam 0.01, cosine schedule, gradient clipping "
        "1.0) over a shuffled slice of the training split, names/s from its last `on_eval` event. Validation uses "
        "one name per category here, so the figure is training speed. Rounds interleave all models. Training "
        "batches are length-bucketed as in every run (`EncodedSplit.batches`: names of similar length share a "
        "batch, so little time goes to padding), and Adam is torch's fused one.",
        "- **Tutorial loop**: the PyTorch tutorial's regime written out in `rnnviz/bench.py`: a random category, a "
        "random name of it, `lineToTensor` one-hot built per name, `rnn(input[i], hidden)` per letter with the "
        f"tutorial's RNN ({TUTORIAL_HIDDEN} hidden), and `p.data.add_(p.grad, alpha=-{TUTORIAL_LR})`. Speed-ups "
        "divide a model's names/s by the tutorial loop's in the same round.",
        f"- **Time to {ACCURACY_GOAL:.0%}**: `TrainConfig()` defaults with the class weights and label smoothing "
        "off (the default recipe favours balanced accuracy and ends just under 80%) on the whole data; the "
        "`elapsed_s` of the first `on_eval` event whose validation accuracy reaches the goal (training time "
        "including its own validation passes, not data loading; points inside an epoch score a fixed 512-name "
        "sample of the validation part).",
        "- **Trainer / bare loop**: one epoch at batch 32 of the real `Trainer` (its live validation points "
        "included: a fixed 512-name sample of the validation part about 8 times an epoch, the whole part at the "
        "epoch's end) against a bare loop over the same batches with the same initial weights (forward, NLL, "
        "backward, clipping at 1.0, fused Adam, nothing else); the two take turns in each round.",
        "- **Models compared over seeds**: `TrainConfig(model=m, seed=s)` on the whole data for every model and "
        "seed, scored on each seed's own test part; the note gives the mean and sample standard deviation. The "
        "n-gram baseline's seconds are its scikit-learn fit.",
        "- **Gradient 10 letters back**: `rnnviz.inspect.gradient_flow` of the seed-0 trained models on the "
        "validation names, as the Why LSTM? page shows it.",
        "- **MyLSTM / nn.LSTM**: per-round ratio of the two models' epoch times at the defaults, hidden size 64.",
        f"- **Latency**: `rnnviz.inspect.trace_name` and `rnnviz.evaluate.predict` for {SAMPLE_NAME!r} on the "
        "nn.LSTM trained above (the trace converts it to MyLSTM on every call, as the Gates page does).",
        "- **Live refresh**: the server side of one refresh of the Train page's curves: copy the job rows, build "
        "the frames, `rnnviz.charts.curves_long` and `curve_chart` for loss and accuracy (downsampled to "
        "`MAX_CURVE_POINTS` per line), serialised to Vega-Lite JSON. Streamlit's own Arrow marshalling and the "
        "browser's drawing are not included.",
        "- **Cold start**: `streamlit run streamlit_app.py` in a fresh process until headless Chromium shows the "
        "first page with its script run finished (falls back to `/_stcore/health` without a browser).",
        "- **Threads**: nn.LSTM training alone with `torch.set_num_threads(1)` and `(2)`, in the main thread and in a "
        "fresh worker thread (the app's JobManager trains in worker threads); then a small pandas task "
        f"(frame from 2,000 dict rows, group-by, describe; {TASK_GAP_S * 1000:.0f} ms apart) while a training "
        "thread runs with each setting; the idle, one-thread and two-thread conditions take turns in rounds.",
        "",
        "Other processes on the machine make the figures noisy; the spread columns show how much.",
        "",
        "## How to rerun",
        "",
        "```bash",
        "python -m rnnviz bench            # full run, rewrites this file (--no-write to only print)",
        "python -m rnnviz bench --quick    # CI's smaller run; prints only, add --write to rewrite this file",
        "python -m rnnviz bench --json     # the same figures as JSON on stdout",
        "```",
        "",
    ]
    return "\n".join(lines)


KEPT_MARKER = "<!-- Written by hand below this line: python -m rnnviz bench keeps it when it rewrites the file. -->"


def kept_section(text: str) -> str:
    """The hand-written end of the report (from KEPT_MARKER on), which a rewrite keeps; '' when there is none."""
    at = text.find(KEPT_MARKER)
    return "\n" + text[at:] if at >= 0 else ""


# ---------------------------------------------------------------- command line


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Measure training, inspection and app speed on this machine and compare them with the "
                          "targets; a full run also writes docs/benchmarks.md.")
    parser.add_argument("--quick", action="store_true",
                        help="small repeats and subsets (well under 2 minutes, what CI runs); writes no report "
                             "unless --write is given")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--write", action="store_true", help="write the report even with --quick")
    writing.add_argument("--no-write", action="store_true", help="only print, even for a full run")
    parser.add_argument("--output", metavar="FILE", default=str(DOCS_FILE),
                        help="where the report goes (default: docs/benchmarks.md)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--data", metavar="DIR", help="folder of <Category>.txt files (default: $RNNVIZ_DATA or "
                                                      "./data/names)")
    parser.add_argument("--max-names", type=_count, default=0, metavar="N",
                        help="use a random subset of N names (smoke runs; 0 = all)")
    parser.add_argument("--threads", type=_count, default=DEFAULT_THREADS, metavar="N",
                        help=f"torch threads for every figure but the thread comparison (default {DEFAULT_THREADS}; "
                             "0 = torch's default)")
    parser.add_argument("--only", nargs="+", choices=list(PHASES), default=[], metavar="PHASE",
                        help="measure only these phases: " + ", ".join(PHASES) + " (the report is then not written "
                             "unless --write is given)")
    parser.add_argument("--app", metavar="FILE", default=str(APP_FILE),
                        help="Streamlit script whose cold start is timed (default: streamlit_app.py)")


def writes_report(quick: bool, write: bool, no_write: bool) -> bool:
    """A full run writes the report unless told not to; a quick run only when asked."""
    return not no_write and (write or not quick)


def run_cli(args: argparse.Namespace) -> int:
    """Run the benchmark for `python -m rnnviz bench`; 1 when a measurement failed, never for slowness."""
    data_dir = find_data_dir(args.data)
    settings = replace(QUICK if args.quick else FULL, max_names=args.max_names)

    def progress(message: str) -> None:
        sys.stderr.write(f"bench: {message}\n")
        sys.stderr.flush()

    result = run_bench(data_dir, settings, quick=args.quick, app=Path(args.app).expanduser(), threads=args.threads,
                       progress=progress, only=args.only)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(format_table(result))
        advice = thread_advice(result)
        if advice:
            print("\n" + advice)
        print("\n" + summary_line(result))
    if writes_report(args.quick or bool(args.only), args.write, args.no_write):
        output = Path(args.output).expanduser()
        output.parent.mkdir(parents=True, exist_ok=True)
        kept = kept_section(output.read_text(encoding="utf-8")) if output.exists() else ""
        output.write_text(render_markdown(result) + kept, encoding="utf-8")
        progress(f"wrote {output}")
    for figure in result.errors:
        sys.stderr.write(f"bench: error in {figure.key}: {figure.note}\n")
    return 1 if result.errors else 0
