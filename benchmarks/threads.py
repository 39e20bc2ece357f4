"""Torch threads on a server that shares its cores with training: nn.LSTM training with one and two torch threads,
in the main thread and in a worker thread, and a small pandas task's latency beside a training thread."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import torch

from benchmarks.figures import BenchResult, BenchSettings, Figure, Progress, quiet
from benchmarks.inspection import logged_rows
from benchmarks.training import one_per_category, shuffled, training_rate
from rnnviz.config import TrainConfig
from rnnviz.data import NameDataset, Split
from rnnviz.train import Control, Trainer

TASK_GAP_S = 0.02  # pause between runs of the small task, as between a server's requests
THREAD_KEYS = ("threads_train_1_names_per_s", "threads_train_2_names_per_s", "threads_worker_1_names_per_s",
               "threads_worker_2_names_per_s", "threads_task_idle_ms",
               "threads_task_train_1_ms", "threads_task_train_2_ms", "threads_bg_train_1_names_per_s",
               "threads_bg_train_2_names_per_s")

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
                    progress: Progress = quiet) -> list[Figure]:
    """Training names/s with 1 and 2 torch threads, then a small pandas task's latency beside a training thread."""
    original = torch.get_num_threads()
    train = shuffled(split.train)[: settings.thread_names]
    val = one_per_category(split.val or split.train)
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

