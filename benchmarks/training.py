"""Training speed: the real Trainer against the PyTorch tutorial's own loop and against a bare loop over the same
batches, the time to 80% validation accuracy, and every model compared over seeds."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmarks.figures import BenchSettings, Figure, Progress, quiet
from rnnviz.config import TrainConfig
from rnnviz.data import ALPHABET, N_LETTERS, NameDataset, Split
from rnnviz.models import RNN, Classifier
from rnnviz.registry import MODEL_LABELS
from rnnviz.train import Control, Trainer

MODELS = ("rnn", "lstm", "mylstm")
TUTORIAL_LR = 0.005  # the tutorial's learning rate for its hand-written SGD update
TUTORIAL_HIDDEN = 128  # the tutorial's n_hidden
ACCURACY_GOAL = 0.8
ACCURACY_FIRST = {"class_balanced": False, "label_smoothing": 0.0}  # the recipe the time to 80% is measured with

class TutorialRNN(nn.Module):
    """The tutorial's RNN module, called one character at a time: rnn(input[i], hidden) -> (output, hidden).

    The baseline every speed-up divides by, so it is the tutorial's code as written, not rnnviz's RNN: that one
    runs a whole batch of names in one call, and timing it per letter would measure neither. It holds the layers
    of an rnnviz RNN, so both compute the same function from the same weights (tests/test_benchmarks.py checks it).
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


def shuffled(pairs: Sequence[tuple[str, int]], seed: int = 0) -> list[tuple[str, int]]:
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def one_per_category(pairs: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
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
                       progress: Progress = quiet) -> list[Figure]:
    """Names/s of every model at the defaults and at batch size 1, and of the tutorial's loop, interleaved."""
    train = shuffled(split.train)
    val = one_per_category(split.val or split.train)
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
                     budget_s: float = 0.0, progress: Progress = quiet) -> tuple[Figure, Classifier | None]:
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
                             progress: Progress = quiet) -> list[Figure]:
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


def measure_comparisons(dataset: NameDataset, settings: BenchSettings, progress: Progress = quiet
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
    from rnnviz.inside import gradient_flow

    wanted = [m for m in ("rnn", "elman", "lstm") if m in models]
    flow = gradient_flow([(MODEL_LABELS[m], "trained", models[m]) for m in wanted], split.val)
    reach = min(distance, int(flow.groupby("model")["distance"].max().min()))
    at = flow[flow["distance"] == reach].set_index("model")["relative"]
    return [Figure(f"gradient_{distance}_back_{m}", f"{MODEL_LABELS[m]} gradient {reach} letters back / last "
                   "letter's", "ratio", [float(at[MODEL_LABELS[m]])],
                   note="trained seed-0 model, mean over validation names") for m in wanted]



THROUGHPUT_KEYS = ("tutorial_names_per_s",
                   *(f"train_{m}_{r}_names_per_s" for r in ("default", "batch1") for m in MODELS),
                   *(f"speedup_{m}_{r}" for r in ("default", "batch1") for m in MODELS),
                   "epoch_lstm_s", "epoch_mylstm_s", "mylstm_epoch_ratio")
ACCURACY_KEYS = ("time_to_80_lstm_s", "time_to_80_mylstm_s")
OVERHEAD_KEYS = tuple(key for m in ("lstm", "mylstm")
                      for key in (f"bare_{m}_names_per_s", f"trainer_{m}_names_per_s", f"trainer_vs_bare_{m}",
                                  f"trainer_validation_share_{m}"))
COMPARISON_KEYS = (*(f"compare_{m}_{kind}" for m in COMPARED_MODELS for kind in ("test", "balanced", "seconds")),
                   *(f"gradient_10_back_{m}" for m in ("rnn", "elman", "lstm")))
