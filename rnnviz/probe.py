"""Long-range memory probe: can a model recall the first letter of a long random string?

A synthetic, seeded task. Each string has L letters; its first letter is one of a few class letters
and fixes the class, the other L - 1 letters are drawn uniformly from a-z (class letters included,
so only the position tells). The last letter is L - 1 steps after the one that matters, so the
task measures how far back a model can carry information. Each (model, L) pair is trained briefly
from scratch and scored on held-out strings.

`run_probe` is a blocking loop that reports through a callback and honours rnnviz.train.Control;
`ProbeRunner` runs it in a background thread and keeps a lock-protected copy of the results.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .common import first_line
from .data import CHAR_INDEX, N_LETTERS
from .models import LSTM, MODEL_LABELS, MODELS, Classifier, MyLSTM, build_model
from .train import _INIT_LOCK, Control

CLASS_LETTERS = "abcdefgh"
FILLER_LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH, MAX_LENGTH = 5, 50
RESULT_COLUMNS = ["model", "length", "accuracy", "chance", "final_loss", "steps", "seconds"]


@dataclass
class ProbeConfig:
    """A sweep: every model in `models` is trained at every string length in `lengths`."""

    lengths: tuple[int, ...] = (5, 10, 20, 30, 40)  # letters per string, 5 to 50
    models: tuple[str, ...] = ("rnn", "lstm")
    n_classes: int = 4  # class letters a, b, c, d
    hidden_size: int = 32  # small: the task needs one remembered letter, not capacity
    steps: int = 300  # Adam steps per (model, length)
    batch_size: int = 64
    learning_rate: float = 0.01
    clip_grad: float = 1.0
    test_size: int = 512  # fresh held-out strings per length
    # Added to the LSTMs' forget-gate bias at the start. At PyTorch's initialisation f is about 0.5, so a
    # letter's trace halves every step (0.5^29 ~ 2e-9 at L = 30) and the LSTM forgets as fast as anything;
    # with 3, f ~ sigmoid(3) = 0.95 keeps 0.95^29 ~ 23% (the idea behind chrono initialisation, Tallec &
    # Ollivier 2018). 0 gives PyTorch's own initialisation. The RNN has no gate and is not changed.
    forget_bias: float = 3.0
    seed: int = 0

    LIMITS = {
        "n_classes": (2, len(CLASS_LETTERS)),
        "hidden_size": (1, 512),
        "steps": (1, 20_000),
        "batch_size": (1, 1024),
        "learning_rate": (1e-6, 10.0),
        "clip_grad": (0.0, 1000.0),
        "test_size": (10, 100_000),
        "seed": (0, 2**31 - 1),
        "forget_bias": (-10.0, 10.0),
    }

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
            raise ValueError(f"choose at least one model: {', '.join(MODELS)}")
        for model in self.models:
            if model not in MODELS:
                raise ValueError(f"unknown model {model!r}: choose from {', '.join(MODELS)}")
        for name, (low, high) in self.LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValueError(f"{name} must be in [{low}, {high}] (got {value!r})")
            if isinstance(low, int) and int(value) != value:
                raise ValueError(f"{name} must be a whole number in [{low}, {high}] (got {value})")

    @property
    def total_steps(self) -> int:
        return self.steps * len(self.lengths) * len(self.models)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    results: pd.DataFrame  # RESULT_COLUMNS, one row per (model, length) trained to the end
    seconds: float


def _train_one(config: ProbeConfig, model_name: str, length: int, seed: int, control: Control,
               on_step: Callable[[int, float], None]) -> dict[str, Any] | None:
    """Train one model at one length; None when stopped part-way."""
    start = time.perf_counter()
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(model_name, N_LETTERS, config.hidden_size, config.n_classes)
    if config.forget_bias:
        add_forget_bias(model, config.forget_bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    # Fresh strings every step: the model cannot memorise a fixed training set, only learn the rule.
    chars, lengths, labels = make_probe_data(length, config.steps * config.batch_size, config.n_classes, seed)
    model.train()
    loss_value = float("nan")
    for step in range(config.steps):
        control.wait_while_paused()
        if control.stopped:
            return None
        rows = slice(step * config.batch_size, (step + 1) * config.batch_size)
        loss = F.nll_loss(model(chars[rows], lengths[rows]), labels[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
        optimizer.step()
        loss_value = loss.item()
        on_step(step + 1, loss_value)
    test_chars, test_lengths, test_labels = make_probe_data(length, config.test_size, config.n_classes,
                                                            seed + 1_000_003)
    model.eval()
    with torch.no_grad():
        predicted = model(test_chars, test_lengths).argmax(1)
    return {"model": MODEL_LABELS.get(model_name, model_name), "length": length,
            "accuracy": (predicted == test_labels).float().mean().item(), "chance": 1 / config.n_classes,
            "final_loss": loss_value, "steps": config.steps, "seconds": time.perf_counter() - start}


def run_probe(config: ProbeConfig, control: Control | None = None,
              callback: Callable[[dict[str, Any]], None] | None = None) -> ProbeResult:
    """Train every (model, length) of the sweep in turn; blocking.

    `callback` receives {"event": "progress", "done", "total", "model", "length", "loss"} every few
    steps and {"event": "result", **row} when a (model, length) pair is scored.
    """
    config.validate()
    control = control or Control()
    emit = callback or (lambda event: None)
    rows: list[dict[str, Any]] = []
    total = config.total_steps
    done_before = 0
    start = time.perf_counter()
    report_every = max(1, config.steps // 20)
    for length in config.lengths:
        for model_name in config.models:
            label = MODEL_LABELS.get(model_name, model_name)

            def on_step(step: int, loss: float, label=label, length=length, base=done_before) -> None:
                if step % report_every == 0 or step == config.steps:
                    emit({"event": "progress", "done": base + step, "total": total, "model": label,
                          "length": length, "loss": loss})

            # The same seed per length for every model: they see the same strings and differ only in the model.
            row = _train_one(config, model_name, length, config.seed + length, control, on_step)
            if row is None:
                return ProbeResult("stopped", f"stopped after {len(rows)} of "
                                   f"{len(config.lengths) * len(config.models)} trainings",
                                   pd.DataFrame(rows, columns=RESULT_COLUMNS), time.perf_counter() - start)
            rows.append(row)
            done_before += config.steps
            emit({"event": "result", **row})
    return ProbeResult("finished", "", pd.DataFrame(rows, columns=RESULT_COLUMNS), time.perf_counter() - start)


@dataclass
class ProbeSnapshot:
    """A copy of a background sweep's state, safe to read without locks."""

    status: str  # idle | running | paused | finished | stopped | failed
    message: str
    config: ProbeConfig | None
    results: pd.DataFrame
    done: int
    total: int
    current: str
    started: float
    seconds: float

    @property
    def active(self) -> bool:
        return self.status in ("running", "paused")

    @property
    def progress(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


@dataclass
class _State:
    status: str = "idle"
    message: str = ""
    config: ProbeConfig | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    total: int = 0
    current: str = ""
    started: float = 0.0
    seconds: float = 0.0


class ProbeRunner:
    """Runs one probe sweep at a time in a background thread; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State()
        self._control = Control()
        self._thread: threading.Thread | None = None

    def start(self, config: ProbeConfig) -> None:
        """Start a sweep; ValueError when one is already running."""
        config.validate()
        with self._lock:
            if self._state.status in ("running", "paused"):
                raise ValueError("a probe sweep is already running: wait for it or stop it")
            self._control = Control()
            self._state = _State("running", "", config, [], 0, config.total_steps, "", time.time())
            self._thread = threading.Thread(target=self._work, args=(config, self._control),
                                            name="rnnviz-probe", daemon=True)
            self._thread.start()

    def _on_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            if event["event"] == "progress":
                self._state.done = int(event["done"])
                self._state.current = f"{event['model']} at L = {event['length']}"
            else:
                self._state.rows.append({k: event[k] for k in RESULT_COLUMNS})

    def _work(self, config: ProbeConfig, control: Control) -> None:
        try:
            result = run_probe(config, control, self._on_event)
            with self._lock:
                self._state.status, self._state.message = result.status, result.message
                self._state.seconds = result.seconds
        except Exception as exc:  # shown to the user as one line; the thread must not die silently
            with self._lock:
                self._state.status = "failed"
                self._state.message = first_line(exc, show_type=True)
        finally:
            with self._lock:
                self._state.current = ""

    def snapshot(self) -> ProbeSnapshot:
        with self._lock:
            state = self._state
            status = "paused" if state.status == "running" and self._control.paused else state.status
            seconds = state.seconds if status not in ("running", "paused") else time.time() - state.started
            return ProbeSnapshot(status, state.message, state.config,
                                 pd.DataFrame(list(state.rows), columns=RESULT_COLUMNS), state.done, state.total,
                                 state.current, state.started, seconds)

    def stop(self) -> None:
        self._control.stop()

    def pause(self) -> None:
        self._control.pause()

    def resume(self) -> None:
        self._control.resume()

    def wait(self, timeout: float | None = None) -> ProbeSnapshot:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.snapshot()
