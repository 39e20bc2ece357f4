"""Long-range memory probe: can a model recall the first letter of a long random string?

A synthetic, seeded task. Each string has L letters; its first letter is one of a few class letters
and fixes the class, the other L - 1 letters are drawn uniformly from a-z (class letters included,
so only the position tells). The last letter is L - 1 steps after the one that matters, so the
task measures how far back a model can carry information. Each (model, L) pair is trained briefly
from scratch and scored on held-out strings.

Each training is an rnnviz.train.Trainer (the project's one training step) on the probe's strings, repeated
over a few seeds so a figure comes with its spread. `run_probe` is a blocking loop that reports through a
callback and honours rnnviz.train.Control; `start_probe` runs it as a background job of rnnviz.jobs.JobManager,
the one mechanism that also runs trainings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from .config import Setting, TrainConfig, setting
from .data import CHAR_INDEX, NameDataset, Split
from .models import LSTM, Classifier, MyLSTM
from .registry import MODEL_LABELS, RECURRENT_MODELS
from .runs import read_probe, write_probe
from .train import Control, Trainer

if TYPE_CHECKING:
    from .jobs import JobManager

CLASS_LETTERS = "abcdefgh"
FILLER_LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH, MAX_LENGTH = 5, 50
RESULT_COLUMNS = ["model", "length", "seed", "accuracy", "chance", "final_loss", "steps", "seconds"]


@dataclass
class ProbeConfig:
    """A sweep: every model in `models` is trained at every string length in `lengths`.

    Each field's Setting (label, help, limits or choices) is the one place that describes it, as for TrainConfig;
    the Why page's form is generated from PROBE_SETTINGS and shows the settings that are not `advanced`.
    """

    lengths: tuple[int, ...] = setting((5, 10, 20, 30, 40), "String lengths L",
                                       "Each string is L letters; its first letter (a, b, c or d) is the class.",
                                       limits=(MIN_LENGTH, MAX_LENGTH), step=5)
    models: tuple[str, ...] = setting(("rnn", "lstm"), "Models", "The recurrent models to train at every length.",
                                      choices=tuple(RECURRENT_MODELS))
    n_classes: int = setting(4, "Class letters", "How many letters (a, b, c, ...) can start a string and name its "
                             "class.", limits=(2, len(CLASS_LETTERS)), advanced=True)
    hidden_size: int = setting(32, "Hidden size", "Small: the task needs one remembered letter, not capacity.",
                               limits=(1, 512), advanced=True)
    steps: int = setting(300, "Training steps per run", "Adam steps per model, length and seed, each on a fresh "
                         "batch of strings.", limits=(1, 20_000), step=50)
    batch_size: int = setting(64, "Batch size", "Strings per training step.", limits=(1, 1024), advanced=True)
    learning_rate: float = setting(0.01, "Learning rate", "Adam's step size.", limits=(1e-6, 10.0), advanced=True)
    clip_grad: float = setting(1.0, "Gradient clipping", "Largest gradient norm per step.", limits=(0.0, 1000.0),
                               advanced=True)
    test_size: int = setting(512, "Test strings", "Fresh held-out strings per length.", limits=(10, 100_000),
                             advanced=True)
    # Added to the LSTMs' forget-gate bias at the start. At PyTorch's initialisation f is about 0.5, so a
    # letter's trace halves every step (0.5^29 ~ 2e-9 at L = 30) and the LSTM forgets as fast as anything;
    # with 3, f ~ sigmoid(3) = 0.95 keeps 0.95^29 ~ 23% (the idea behind chrono initialisation, Tallec &
    # Ollivier 2018). 0 gives PyTorch's own initialisation. The RNN has no gate and is not changed.
    forget_bias: float = setting(3.0, "LSTM forget-gate bias at start",
                                 "Added to the forget gate's bias before training. 0 is PyTorch's initialisation: "
                                 "f ≈ 0.5, so a letter's trace halves at every step. 3 gives f ≈ 0.95: the cell "
                                 "starts by keeping what it holds.", limits=(-10.0, 10.0), step=0.5)
    seed: int = setting(0, "First seed", "The seeds are this one, the next, and so on.", limits=(0, 2**31 - 1))
    seeds: int = setting(3, "Seeds", "Each model is trained this many times at each length, from different random "
                         "weights and strings: the chart shows the mean and the range.", limits=(1, 10))

    def __post_init__(self) -> None:
        self.lengths = tuple(self.lengths)
        self.models = tuple(self.models)
        self.validate()

    def validate(self) -> None:
        if not self.lengths:
            raise ValueError("choose at least one string length")
        for length in self.lengths:
            if isinstance(length, bool) or not isinstance(length, (int, np.integer)) \
                    or not MIN_LENGTH <= length <= MAX_LENGTH:
                raise ValueError(f"string lengths must be whole numbers from {MIN_LENGTH} to {MAX_LENGTH} "
                                 f"(got {length!r})")
        if not self.models:
            raise ValueError(f"choose at least one model: {', '.join(RECURRENT_MODELS)}")
        for model in self.models:
            if model not in RECURRENT_MODELS:
                raise ValueError(f"unknown model {model!r}: choose from {', '.join(RECURRENT_MODELS)}")
        for name, (low, high) in self.LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValueError(f"{name} must be in [{low}, {high}] (got {value!r})")
            if isinstance(low, int) and int(value) != value:
                raise ValueError(f"{name} must be a whole number in [{low}, {high}] (got {value})")

    @property
    def seed_values(self) -> list[int]:
        return list(range(self.seed, self.seed + self.seeds))

    @property
    def trainings(self) -> int:
        return len(self.lengths) * len(self.models) * self.seeds

    @property
    def total_steps(self) -> int:
        return self.steps * self.trainings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)



PROBE_SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in fields(ProbeConfig)}
# The numbers' ranges (the lengths, a tuple, are checked against their own limits in validate).
ProbeConfig.LIMITS = {name: s.limits for name, s in PROBE_SETTINGS.items()
                      if s.limits is not None and name != "lengths"}

def make_probe_data(length: int, count: int, n_classes: int = 4, seed: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`count` seeded strings of `length` letters as (chars [N, L], lengths [N], labels [N])."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"string length must be from {MIN_LENGTH} to {MAX_LENGTH} (got {length})")
    if not 2 <= n_classes <= len(CLASS_LETTERS):
        raise ValueError(f"n_classes must be from 2 to {len(CLASS_LETTERS)} (got {n_classes})")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=count)
    class_index = np.array([CHAR_INDEX[ch] for ch in CLASS_LETTERS[:n_classes]])
    filler_index = np.array([CHAR_INDEX[ch] for ch in FILLER_LETTERS])
    chars = filler_index[rng.integers(0, len(filler_index), size=(count, length))]
    chars[:, 0] = class_index[labels]
    return (torch.as_tensor(chars, dtype=torch.long), torch.full((count,), length, dtype=torch.long),
            torch.as_tensor(labels, dtype=torch.long))


@torch.no_grad()
def add_forget_bias(model: Classifier, value: float) -> None:
    """Shift an LSTM's or MyLSTM's forget-gate bias by `value`; the RNN has no gates and is left as it is."""
    if isinstance(model, MyLSTM):
        model.b_f += value
    elif isinstance(model, LSTM):
        H = model.hidden_size
        model.rnn.bias_ih_l0[H : 2 * H] += value  # nn.LSTM's gate order is i, f, g, o


def probe_strings(chars: torch.Tensor) -> list[str]:
    """The letters of encoded probe strings, for showing examples."""
    from .data import ALPHABET

    return ["".join(ALPHABET[i] for i in row) for row in chars.tolist()]


@dataclass
class ProbeResult:
    status: str  # finished | stopped
    message: str
    results: pd.DataFrame  # RESULT_COLUMNS, one row per (model, length, seed) trained to the end
    seconds: float


def probe_trainer(config: ProbeConfig, model_name: str, length: int, seed: int, control: Control) -> Trainer:
    """A Trainer for one model at one length: the project's training step on the probe's strings.

    The training part is steps x batch_size fresh strings, so one epoch is `steps` steps and no string is seen
    twice: the model cannot memorise a fixed set, only learn the rule. The validation part is `test_size` other
    strings, scored once at the end (the accuracy).
    """
    categories = list(CLASS_LETTERS[: config.n_classes])
    train = _pairs(*make_probe_data(length, config.steps * config.batch_size, config.n_classes, seed))
    held_out = _pairs(*make_probe_data(length, config.test_size, config.n_classes, seed + 1_000_003))
    dataset = NameDataset(Path("memory probe"), categories, [n for n, _ in train], [c for _, c in train], {}, {})
    settings = TrainConfig(model=model_name, hidden_size=config.hidden_size, batch_size=config.batch_size, epochs=1,
                           learning_rate=config.learning_rate, clip_grad=config.clip_grad, lr_schedule="constant",
                           seed=seed, eval_every=config.steps, device="cpu", class_balanced=False,
                           label_smoothing=0.0)
    trainer = Trainer(settings, dataset, control, Split(categories, train, held_out, []))
    if config.forget_bias:
        add_forget_bias(trainer.model, config.forget_bias)
    return trainer


def _pairs(chars: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor) -> list[tuple[str, int]]:
    return list(zip(probe_strings(chars), labels.tolist()))


def training_seed(seed: int, length: int) -> int:
    """The seed of one (length, seed) training: every model sees the same strings and starts from the same draw."""
    return (seed * 100 + length) % 2**31  # lengths are below 100, so no two (seed, length) pairs share one


def run_probe(config: ProbeConfig, control: Control | None = None,
              callback: Callable[[dict[str, Any]], None] | None = None) -> ProbeResult:
    """Train every (model, length, seed) of the sweep in turn; blocking.

    `callback` receives {"event": "progress", "done", "total", "model", "length", "seed", "loss"} every few
    steps and {"event": "result", **row} when a training is scored.
    """
    config.validate()
    control = control or Control()
    emit = callback or (lambda event: None)
    rows: list[dict[str, Any]] = []
    total = config.total_steps
    done_before = 0
    start = time.perf_counter()
    report_every = max(1, config.steps // 20)
    for seed in config.seed_values:
        for length in config.lengths:
            for model_name in config.models:
                label = MODEL_LABELS.get(model_name, model_name)
                trainer = probe_trainer(config, model_name, length, training_seed(seed, length), control)
                last = {"loss": float("nan")}

                def on_step(event: dict[str, Any], label=label, length=length, base=done_before, seed=seed,
                            last=last) -> None:
                    step = event["step"]
                    if step % report_every == 0 or step == config.steps:
                        last["loss"] = float(event["loss"])
                        emit({"event": "progress", "done": base + step, "total": total, "model": label,
                              "length": length, "seed": seed, "loss": last["loss"]})

                trainer.add_callback("on_step", on_step)
                began = time.perf_counter()
                result = trainer.run()
                if result.status != "finished":
                    return ProbeResult("stopped", f"stopped after {len(rows)} of {config.trainings} trainings",
                                       pd.DataFrame(rows, columns=RESULT_COLUMNS), time.perf_counter() - start)
                row = {"model": label, "length": length, "seed": seed, "accuracy": result.val["accuracy"],
                       "chance": 1 / config.n_classes, "final_loss": last["loss"], "steps": result.steps,
                       "seconds": time.perf_counter() - began}
                rows.append(row)
                done_before += config.steps
                emit({"event": "result", **row})
    return ProbeResult("finished", "", pd.DataFrame(rows, columns=RESULT_COLUMNS), time.perf_counter() - start)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, spread (sample standard deviation), lowest and highest accuracy over seeds per (model, length)."""
    if not len(results):
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    grouped = results.groupby(["model", "length"], sort=False)["accuracy"]
    table = pd.DataFrame({"mean": grouped.mean(), "spread": grouped.std(ddof=1).fillna(0.0),
                          "low": grouped.min(), "high": grouped.max(), "seeds": grouped.count()}).reset_index()
    table["chance"] = float(results["chance"].iloc[0])
    return table[SUMMARY_COLUMNS]


SUMMARY_COLUMNS = ["model", "length", "mean", "spread", "low", "high", "seeds", "chance"]
ABOVE_CHANCE = 0.10  # a model "remembers" at a length while its mean accuracy is this far above chance


def probe_reading(summary: pd.DataFrame) -> list[str]:
    """Sentences read off a sweep's summary, every number from it: each model's accuracy at the longest length,
    and up to which length each stays clearly above chance."""
    if not len(summary):
        return []
    chance = float(summary["chance"].iloc[0])
    longest = int(summary["length"].max())
    at_longest = summary[summary["length"] == longest].sort_values("mean", ascending=False)
    lines = [f"At the longest strings, L = {longest}: " + ", ".join(
        f"{row.model} {row.mean:.1%}" for row in at_longest.itertuples()) + f" (chance {chance:.0%})."]
    reach = []
    for model, rows in summary.groupby("model", sort=False):
        above = rows[rows["mean"] >= chance + ABOVE_CHANCE]["length"]
        reach.append(f"{model} up to L = {int(above.max())}" if len(above) else f"{model} at no length measured")
    lines.append(f"More than {ABOVE_CHANCE:.0%} above chance: " + "; ".join(reach) + ". Only the first letter "
                 "names the class, so what a model scores above chance is what it carried across the whole string.")
    return lines


def sweep_task(task) -> tuple[str, str]:
    """A sweep as a job's work (rnnviz.jobs.Task): run in a worker, reporting progress and each result row."""

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "progress":
            task.report(done=event["done"], current=f"{event['model']} at L = {event['length']}, "
                                                    f"seed {event['seed']}")
        else:
            task.report(row={k: event[k] for k in RESULT_COLUMNS})

    result = run_probe(task.config, task.control, on_event)
    if len(result.results):  # kept, so the next visit shows the last sweep at once
        write_probe(task.root, task.config.to_dict(), result.results.to_dict("records"), result.status,
                    result.message, time.time())
    return result.status, result.message


def start_probe(manager: JobManager, config: ProbeConfig, owner: str, owner_name: str = "") -> str:
    """Run a sweep as a background job of `manager`, owned by `owner`; ValueError while another sweep is under
    way, rnnviz.jobs.JobLimitError when no worker is free or the owner is at their cap."""
    config.validate()
    if any(job.active for job in manager.jobs(kind="probe")):
        raise ValueError("a probe sweep is already running: wait for it or stop it")
    return manager.start_task("probe", config, sweep_task, config.total_steps, owner=owner, owner_name=owner_name)


def latest_probe(manager: JobManager):
    """The newest probe job's snapshot (a JobSnapshot whose rows are RESULT_COLUMNS dicts), or None."""
    jobs = manager.jobs(kind="probe")
    return max(jobs, key=lambda job: job.started) if jobs else None


@dataclass
class SavedProbe:
    """The last sweep kept in the runs folder."""

    config: ProbeConfig
    results: pd.DataFrame  # RESULT_COLUMNS
    status: str
    message: str
    finished: float  # time.time() when it ended


def saved_probe(root: Path) -> SavedProbe | None:
    """The last sweep kept in the runs folder `root`, or None (none yet, or not readable as a sweep)."""
    values = read_probe(root)
    if values is None:
        return None
    try:
        settings = {k: v for k, v in values["config"].items() if k in PROBE_SETTINGS}
        config = ProbeConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
        results = pd.DataFrame(values["rows"], columns=RESULT_COLUMNS)
    except (TypeError, ValueError):
        return None
    return SavedProbe(config, results, str(values.get("status", "")), str(values.get("message", "")),
                      float(values.get("finished") or 0.0))


def results_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=RESULT_COLUMNS)
