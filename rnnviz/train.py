"""Mini-batch training that reports through callbacks and knows nothing of any UI.

`Trainer.run()` is an ordinary blocking loop. Listeners subscribe with
`trainer.add_callback(event, fn)`; each event receives a plain dict. A `Control` object
carries stop and pause requests, checked once per batch.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .config import TrainConfig, resolve_device
from .data import N_LETTERS, DataError, EncodedSplit, NameDataset, Split, by_length, split_dataset
from .evaluate import evaluate_encoded
from .models import Classifier
from .ngram import fit_ngram
from .registry import build_model, spec_of

EVENTS = ("on_start", "on_step", "on_eval", "on_epoch_end", "on_end")  # on_step: {"step", "loss" (a tensor)}
# Weight initialisation draws from torch's global generator, which every thread shares.
_INIT_LOCK = threading.Lock()
STATUSES = ("running", "paused", "finished", "stopped", "diverged", "failed", "interrupted")


class Control:
    """Stop and pause requests shared between whoever drives a run and the training loop."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to see the stop

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - start


@dataclass
class TrainResult:
    status: str  # finished | stopped | diverged | failed
    message: str
    model: Classifier
    epochs_done: int
    steps: int
    train_seconds: float
    val: dict[str, float]
    test: dict[str, float]


def class_weights(labels: list[int], n_classes: int, power: float = 1.0) -> torch.Tensor:
    """Per-category loss weights proportional to count ** -power, scaled so the average name weighs 1.

    power 1 is the usual inverse frequency (n / (C * count)); 0 weighs every name the same.
    """
    counts = torch.bincount(torch.tensor(labels), minlength=n_classes).float().clamp(min=1)
    weights = counts.pow(-power)
    return weights * counts.sum() / (weights * counts).sum()


DEFAULT_CURVE_POINTS = 8  # points on the live curves per epoch when eval_every is 0


def curve_points(steps_per_epoch: int, eval_every: int = 0) -> set[int]:
    """The steps of an epoch (1-based, the last one included) after which a curve point is taken: evenly spaced,
    so each point averages as many training steps as the others, give or take one. A fixed interval would leave a
    short window at every epoch's end (2 steps of 450), whose noisy loss shows as a spike on the curve."""
    wanted = round(steps_per_epoch / eval_every) if eval_every else DEFAULT_CURVE_POINTS
    points = min(max(1, wanted), steps_per_epoch)
    return {round(j * steps_per_epoch / points) for j in range(1, points + 1)}


# The first epoch's early curve point averages as many training names as a point inside an epoch scores validation
# names (VAL_SAMPLE), so its training figure is about as steady as its validation one.
EARLY_POINT_NAMES = 512


def early_point(eval_steps: set[int], batch_size: int) -> int | None:
    """The step of the first epoch's early curve point, or None when there is none.

    The regular points come every eighth of an epoch (56 steps of batch 32 on the surnames, many more for batch 1
    or a large model); the early one comes after EARLY_POINT_NAMES names (16 steps of batch 32), so a student sees
    the curves begin right after Start. It sits at its own step, on the steep start of the loss, and the regular
    points keep their even spacing after it. None when the first regular point is less than twice as far: the
    window between the two would then be shorter than the early one's, and noisier.
    """
    step = math.ceil(EARLY_POINT_NAMES / batch_size)
    return step if 2 * step <= min(eval_steps) else None


class Trainer:
    """Trains one model on one split, emitting events; see EVENTS."""

    def __init__(self, config: TrainConfig, dataset: NameDataset, control: Control | None = None,
                 split: Split | None = None):
        config.validate()
        self.config = config
        self.dataset = dataset
        self.control = control or Control()
        self.split = split or split_dataset(dataset, config.val_fraction, config.test_fraction, config.seed)
        self.device = resolve_device(config.device, config.model, config.resolved_hidden_size, config.batch_size)
        for part, label in (("train", "training"), ("val", "validation")):
            if not self.split.part(part):
                raise DataError(f"the {label} part of the split is empty: use more names per category "
                                "or a larger fraction for it")
        self.callbacks: dict[str, list[Callable[[dict[str, Any]], None]]] = {e: [] for e in EVENTS}
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            model = build_model(config.model, N_LETTERS, config.resolved_hidden_size, dataset.n_categories)
        self.model = model.to(self.device)

    def add_callback(self, event: str, fn: Callable[[dict[str, Any]], None]) -> None:
        if event not in self.callbacks:
            raise ValueError(f"unknown event {event!r}: choose one of {', '.join(EVENTS)}")
        self.callbacks[event].append(fn)

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        for fn in self.callbacks[event]:
            fn(payload)

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        params = self.model.parameters()
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        # fused: one kernel updates every parameter, instead of about ten small operations per parameter tensor
        # (MyLSTM has 14 of them); on CPU at batch 32 that halves the optimizer's share of a step.
        return torch.optim.Adam(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay, fused=True)

    def loss_fn(self, weight: torch.Tensor | None = None,
                log_prior: torch.Tensor | None = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The training loss on log-probabilities: NLL, optionally class-weighted, logit-adjusted (log_prior
        times the setting added to the scores) and label-smoothed."""
        cfg = self.config
        shift = cfg.logit_adjustment * log_prior if log_prior is not None and cfg.logit_adjustment > 0 else None
        if shift is None and cfg.label_smoothing == 0:
            return lambda log_probs, labels: F.nll_loss(log_probs, labels, weight=weight)

        def loss(log_probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            # cross_entropy normalises its input again: for log-probabilities alone that changes nothing.
            scores = log_probs if shift is None else log_probs + shift
            return F.cross_entropy(scores, labels, weight=weight, label_smoothing=cfg.label_smoothing)

        return loss

    def training_parts(self) -> TrainingParts:
        """What one training step needs, built as run() builds it: batches, loss, optimizer, schedule."""
        cfg, device = self.config, self.device
        train = EncodedSplit(self.split.train)
        n = self.dataset.n_categories
        if int(train.labels.max()) >= n or int(train.labels.min()) < 0:
            bad = int(train.labels.max()) if int(train.labels.max()) >= n else int(train.labels.min())
            raise DataError(f"a training name has category number {bad}, but there are only {n} categories")
        weight = class_weights(train.labels.tolist(), self.dataset.n_categories, cfg.class_weight_power).to(device) \
            if cfg.class_balanced else None
        counts = torch.bincount(train.labels, minlength=self.dataset.n_categories).float().clamp(min=1)
        log_prior = (counts / counts.sum()).log().to(device)
        optimizer = self._optimizer()
        steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total_steps) \
            if cfg.lr_schedule == "cosine" else None
        return TrainingParts(train, self.loss_fn(weight, log_prior), optimizer, scheduler, steps_per_epoch, total_steps)

    def step(self, parts: TrainingParts, chars: torch.Tensor, lengths: torch.Tensor,
             labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One gradient step on one batch: forward, loss, backward, clipping, optimizer and schedule.

        Returns the loss and the log-probabilities (both still on the device; a non-finite loss is returned
        before any weight changes, for the caller to stop on).
        """
        model = self.model
        log_probs = model(chars, lengths)
        loss = parts.loss(log_probs, labels)
        if not torch.isfinite(loss):
            return loss, log_probs
        parts.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.config.clip_grad)
        parts.optimizer.step()
        if parts.scheduler is not None:
            parts.scheduler.step()
        return loss, log_probs

    def run(self) -> TrainResult:
        if not spec_of(self.model).recurrent:
            return self._fit()
        cfg, model, device = self.config, self.model, self.device
        parts = self.training_parts()
        train, steps_per_epoch, total_steps = parts.train, parts.steps_per_epoch, parts.total_steps
        # Curve points inside an epoch score a fixed sample of the validation names, so they cost little; the
        # point at each epoch's end scores them all. Both are held sorted by length, so an evaluation batch pads
        # little (the order of the names changes no score).
        val = EncodedSplit(by_length(self.split.val))
        val_sample = val if len(val) <= VAL_SAMPLE else \
            EncodedSplit(by_length(_sample(self.split.val, VAL_SAMPLE, cfg.seed)))
        test = EncodedSplit(self.split.test) if self.split.test else None
        generator = torch.Generator().manual_seed(cfg.seed)
        eval_steps = curve_points(steps_per_epoch, cfg.eval_every)
        early = early_point(eval_steps, cfg.batch_size)
        self._emit("on_start", {"model": model, "split": self.split, "total_steps": total_steps,
                                "steps_per_epoch": steps_per_epoch})
        step, epochs_done, seen, busy, validating = 0, 0, 0, 0.0, 0.0
        window_loss = torch.zeros((), device=device)
        window_correct = torch.zeros((), dtype=torch.long, device=device)
        window_count = 0
        status, message = "finished", ""
        last_val: dict[str, Any] = {}
        model.train()
        tick = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            for chars, lengths, labels in train.batches(cfg.batch_size, generator):
                busy += time.perf_counter() - tick
                self.control.wait_while_paused()
                tick = time.perf_counter()
                if self.control.stopped:
                    status, message = "stopped", f"stopped at step {step}"
                    break
                chars, lengths, labels = chars.to(device), lengths.to(device), labels.to(device)
                loss, log_probs = self.step(parts, chars, lengths, labels)
                if not torch.isfinite(loss):
                    status = "diverged"
                    advice = "lower the learning rate" + (" or turn on gradient clipping" if cfg.clip_grad == 0 else "")
                    message = f"the loss became {loss.item()} at step {step + 1}: {advice}"
                    break
                step += 1
                seen += len(labels)
                if self.callbacks["on_step"]:
                    self._emit("on_step", {"step": step, "loss": loss.detach()})
                with torch.no_grad():  # kept as tensors: no per-step sync with the device
                    # The curve's training loss is plain NLL, as the validation loss is: the objective's class
                    # weights and label smoothing would put the training curve above the validation one.
                    window_loss += F.nll_loss(log_probs.detach(), labels, reduction="sum")
                    window_correct += (log_probs.argmax(1) == labels).sum()
                window_count += len(labels)
                end_of_epoch = seen >= len(train) * epoch
                if end_of_epoch or step - (epoch - 1) * steps_per_epoch in eval_steps or step == early:
                    scoring = time.perf_counter()
                    last_val = evaluate_encoded(model, val if end_of_epoch else val_sample, device, EVAL_BATCH,
                                                balanced=False)
                    validating += time.perf_counter() - scoring
                    elapsed = busy + time.perf_counter() - tick
                    rate = seen / max(elapsed, 1e-9)
                    self._emit("on_eval", {
                        "step": step, "epoch": step / steps_per_epoch, "elapsed_s": elapsed,
                        "train_loss": window_loss.item() / window_count,
                        "train_acc": window_correct.item() / window_count,
                        "val_loss": last_val["loss"], "val_acc": last_val["accuracy"],
                        "val_names": len(val) if end_of_epoch else len(val_sample),
                        "val_s": validating,  # of elapsed_s, the seconds spent scoring validation names so far
                        "names_per_s": rate,
                        "eta_s": (total_steps - step) * elapsed / step,
                        "total_steps": total_steps,
                    })
                    window_loss.zero_()
                    window_correct.zero_()
                    window_count = 0
            if status != "finished":
                break
            epochs_done = epoch
            self._emit("on_epoch_end", {"epoch": epoch, "step": step, "model": model})
        train_seconds = busy + time.perf_counter() - tick
        final_val = evaluate_encoded(model, val, device) if status != "diverged" else {}
        final_test = evaluate_encoded(model, test, device) if test is not None and status != "diverged" else {}
        result = TrainResult(status, message, model, epochs_done, step, train_seconds,
                             _public(final_val), _public(final_test))
        self._emit("on_end", {"result": result})
        return result


    def _fit(self) -> TrainResult:
        """The n-gram baseline: one scikit-learn fit instead of gradient steps, reported as one epoch."""
        cfg, model, device = self.config, self.model, self.device
        val = EncodedSplit(self.split.val)
        test = EncodedSplit(self.split.test) if self.split.test else None
        self._emit("on_start", {"model": model, "split": self.split, "total_steps": 1, "steps_per_epoch": 1})
        if self.control.stopped:
            result = TrainResult("stopped", "stopped at step 0", model, 0, 0, 0.0, {}, {})
            self._emit("on_end", {"result": result})
            return result
        start = time.perf_counter()
        names = [name for name, _ in self.split.train]
        labels = [label for _, label in self.split.train]
        weight = class_weights(labels, self.dataset.n_categories, cfg.class_weight_power) \
            if cfg.class_balanced else None
        fit_ngram(model, names, labels, self.dataset.n_categories, weight, cfg.seed)
        model.to(device)
        elapsed = time.perf_counter() - start
        train_scores = evaluate_encoded(model, EncodedSplit(self.split.train), device, balanced=False)
        final_val = evaluate_encoded(model, val, device)
        self._emit("on_eval", {
            "step": 1, "epoch": 1.0, "elapsed_s": elapsed, "train_loss": train_scores["loss"],
            "train_acc": train_scores["accuracy"], "val_loss": final_val["loss"], "val_acc": final_val["accuracy"],
            "val_names": len(val), "names_per_s": len(names) / max(elapsed, 1e-9), "eta_s": 0.0, "total_steps": 1,
        })
        self._emit("on_epoch_end", {"epoch": 1, "step": 1, "model": model})
        final_test = evaluate_encoded(model, test, device) if test is not None else {}
        result = TrainResult("finished", "", model, 1, 1, elapsed, _public(final_val), _public(final_test))
        self._emit("on_end", {"result": result})
        return result


VAL_SAMPLE = 512  # validation names scored for the curve points inside an epoch
EVAL_BATCH = 512  # names per batch of those scorings (sorted by length, so each batch is trimmed to its longest)


@dataclass
class TrainingParts:
    """What Trainer.step needs besides the model: built once per run by Trainer.training_parts."""

    train: EncodedSplit
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    steps_per_epoch: int
    total_steps: int


def _sample(pairs: list[tuple[str, int]], count: int, seed: int) -> list[tuple[str, int]]:
    """A fixed, seeded sample of `count` pairs in their original order."""
    keep = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed))[:count].sort().values
    return [pairs[k] for k in keep.tolist()]


def _public(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k != "predicted"}
