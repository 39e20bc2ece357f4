"""What a benchmark run is made of: the targets, how much to measure (FULL, QUICK), one measured figure, the
result of a run, and the machine it ran on. Every figure is a median over repeats with its min-max spread."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from rnnviz.config import resolve_device

# One torch thread for the figures: these models are small, and with other processes on the cores two threads
# can train many times slower than one (the thread comparison measures it on every run).
DEFAULT_THREADS = 1

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
    "first_point_library_s": ("<=", 2.0),
    "first_point_browser_s": ("<=", 2.0),
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
    first_point_tries: int = 5  # trainings started through JobManager, timed to their first curve point
    first_point_clicks: int = 5  # clicks on Start in Chromium, timed to the first point drawn


FULL = BenchSettings()
QUICK = BenchSettings(repeats=3, train_names=2000, batch1_names=100, accuracy_runs=1, accuracy_budget_s=20.0,
                      latency_repeats=30, chart_repeats=5, cold_starts=1, page_repeats=4, cold_start_timeout_s=45.0,
                      thread_repeats=2, thread_names=1500, task_repeats=10, comparison_seeds=1, first_point_tries=2,
                      first_point_clicks=1)


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
                "settings": asdict(self.settings), "figures": {f.key: f.to_json() for f in self.figures}}


Progress = Callable[[str], None]
TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before any command changes it


def quiet(_: str) -> None:
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

def time_ms(fn: Callable[[], Any], repeats: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples

