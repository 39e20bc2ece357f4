"""Inspection and display speed: a gate trace and a prediction of one surname, the Gates page's views of a typed
name and its unit explorer, and the server side of one refresh of the Train page's live curves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.figures import BenchSettings, Figure, time_ms
from rnnviz import charts
from rnnviz.models import Classifier

SAMPLE_NAME = "Nakamura"
EXPLAIN_KEYS = ("explain_slowest_view_ms", "unit_explorer_first_ms", "unit_explorer_cached_ms")

def measure_latency(model: Classifier, categories: list[str], repeats: int, trained: bool) -> list[Figure]:
    from rnnviz.evaluate import predict
    from rnnviz.inside import read_name

    state = "trained" if trained else "fresh"
    trace = time_ms(lambda: read_name(model, categories, SAMPLE_NAME), repeats)
    guess = time_ms(lambda: predict(model, categories, [SAMPLE_NAME]), repeats)
    return [Figure("gate_trace_ms", f"gate trace of one surname (read_name, {state} nn.LSTM)", "ms", trace,
                   note=f"{SAMPLE_NAME!r}, {repeats} calls"),
            Figure("predict_ms", f"predict one surname ({state} nn.LSTM)", "ms", guess,
                   note=f"{SAMPLE_NAME!r}, {repeats} calls")]


EXPLAINED_NAMES = ("Nakamura", "Schmidt", "Kowalski", "O'Neill", "Wolfeschlegelsteinhausenbergerdorff" * 2)


def measure_explanations(model: Classifier, categories: list[str], val: Sequence[tuple[str, int]],
                         trained: bool) -> list[Figure]:
    """The Gates page's library calls for a typed name (benchmarks.views.measure_views), and its unit explorer over
    the validation names, the first time and once cached."""
    from benchmarks.views import measure_views

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


REFRESH_HOW = ("snapshot copy, charts.rows_frame and charts.curves_long per run, charts.curve_chart for loss and "
               "accuracy, Vega-Lite JSON")


def refresh_curves(runs: dict[str, list[dict[str, Any]]]) -> int:
    """One refresh of the Train page's live curves (rows picked from the snapshot, long form, no hover layers);
    the size of the Vega-Lite JSON it sends."""
    frames = [charts.curves_long(charts.rows_frame(list(rows)), label) for label, rows in runs.items()]
    long = pd.concat(frames, ignore_index=True)
    return sum(len(json.dumps(charts.curve_chart(long, metric, hover=False).to_dict()))
               for metric in charts.CURVE_METRICS)


def measure_live_refresh(settings: BenchSettings) -> Figure:
    runs = {f"run {k + 1}": logged_rows(settings.chart_points, seed=k) for k in range(settings.chart_runs)}
    samples = time_ms(lambda: refresh_curves(runs), settings.chart_repeats, warmup=1)
    return Figure("live_refresh_ms",
                  f"live curves refresh, {settings.chart_runs} runs x {settings.chart_points:,} points", "ms",
                  samples, note=REFRESH_HOW)

