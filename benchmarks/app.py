"""The app's speed: its cold start (benchmarks/app_timing.py: `streamlit run` until headless Chromium shows the first
page) and the server time of a page rerun after a widget change (benchmarks/page_timing.py, through AppTest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks import app_timing
from benchmarks.figures import BenchSettings, Figure, Progress, quiet
from benchmarks.server import APP, ROOT

COLD_START_KEYS = ("cold_start_s", "server_ready_s")
PAGE_RERUN_KEYS = ("page_rerun_idle_ms", "page_rerun_training_ms", "page_rerun_gates_ms")


def measure_page_rerun(settings: BenchSettings, data_dir: Path) -> list[Figure]:
    """Server time of a Train page rerun after a widget change, idle and beside a training, and of the Gates page
    after a surname is typed. page_timing runs in a fresh process: it points RNNVIZ_RUNS at a folder of its own
    and starts the app's job manager, which must not outlive the measurement in this one."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.page_timing", "--data", str(data_dir),
                          "--repeats", str(settings.page_repeats)], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        lines = [line.strip() for line in out.stderr.splitlines() if line.strip()]
        raise RuntimeError(lines[-1][:200] if lines else f"exit code {out.returncode}")
    times = json.loads(out.stdout.strip().splitlines()[-1])
    how = "AppTest, server side: the curve-scale toggle, 3 finished runs listed"
    return [Figure(PAGE_RERUN_KEYS[0], "Train page rerun after a widget change, no training", "ms", times["idle_ms"],
                   note=how),
            Figure(PAGE_RERUN_KEYS[1], "Train page rerun after a widget change, while nn.LSTM trains", "ms",
                   times["training_ms"], note=how + "; the live panel refreshing too"),
            Figure(PAGE_RERUN_KEYS[2], "Gates page rerun after a surname is typed (the cell view)", "ms",
                   times["gates_ms"],
                   note="AppTest, server side: a default nn.LSTM, surnames typed in turn, charts built and sent")]


def measure_cold_start(settings: BenchSettings, app: Path = APP, data_dir: Path | None = None,
                       runs_dir: Path | None = None, progress: Progress = quiet) -> list[Figure]:
    """Seconds from `streamlit run` to the first page rendered in Chromium (or to the health check answering)."""
    key, label = COLD_START_KEYS[0], "app cold start to first page rendered"
    if not app.is_file():
        return [Figure(key, label, "s", note=f"skipped: no app ({app.name} not found)", status="skipped")]
    progress(f"app cold start, {settings.cold_starts} times")
    result = app_timing.cold_starts(app, settings.cold_starts, settings.cold_start_timeout_s, data_dir, runs_dir)
    figures = []
    if result["browser_problem"]:
        method = f"browser unavailable ({result['browser_problem']}): timed until /_stcore/health answered"
        figures.append(Figure(key, label + " (server ready only)", "s", result["ready_s"], note=method))
    else:
        figures.append(Figure(key, label, "s", result["rendered_s"],
                              note="Chromium via Playwright: script finished with content on the page"))
    figures.append(Figure(COLD_START_KEYS[1], "app cold start to /_stcore/health answering", "s", result["ready_s"]))
    if result["problems"]:
        for figure in figures:
            figure.status, figure.note = "error", "; ".join(dict.fromkeys(result["problems"]))
    return figures
