"""Start to first curve point: how long a student waits, after Start, for the live curves to begin.

Two paths, each a median over tries at the default settings:
- the library: `JobManager.start` until the job's first metric row is in the server's hands (the worker process,
  `Trainer.__init__`, the steps to the first curve point and its validation scoring);
- the browser: the click on "Start training" on the Train page until headless Chromium has drawn the first point
  of the live loss curve (the page's handling of the click, the library path, the live panel's refresh, drawing).

Each browser try is a fresh browser context, so a fresh student with a fresh owner cookie; each training is stopped
before the next try starts. Used by benchmarks/run.py (phase "first-point").
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks import app_timing, server
from benchmarks.figures import Figure, Progress, quiet
from rnnviz.common import first_line
from rnnviz.config import TrainConfig
from rnnviz.data import NameDataset, split_dataset

FIRST_POINT_KEYS = ("first_point_library_s", "first_point_browser_s")
OWNER = "benchmark"
# The first point of the live loss chart: a vertex of a line path in the Train page's first Vega chart (a fresh
# session overlays no runs, so the only chart with lines is the new training's live one).
FIRST_POINT_JS = ("() => [...document.querySelectorAll('[data-testid=stVegaLiteChart] g.mark-line path')]"
                  ".some(p => /[ML]/.test(p.getAttribute('d') || ''))")
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# The training has ended: the live panel shows no progress card any more (it keeps one while the run stops).
ENDED_JS = "() => document.querySelector('[data-testid=stProgress]') === null"


def library_first_points(dataset: NameDataset, tries: int, root: Path, timeout_s: float = 60.0) -> list[float]:
    """Seconds from `JobManager.start` (defaults, seeds 0, 1, ...) to the job's first metric row, per try.

    The split is made before the clock starts, as the page makes it; an untimed first training warms the worker
    pool, as a server's first page visit does long before anyone clicks Start.
    """
    from rnnviz.jobs import JobManager

    manager = JobManager(root, max_concurrent=1)
    seconds: list[float] = []
    try:
        for k in range(-1, tries):
            config = TrainConfig(seed=max(k, 0))
            split = split_dataset(dataset, config.val_fraction, config.test_fraction, config.seed)
            began = time.perf_counter()
            run_id = manager.start(config, dataset, split, owner=OWNER)
            deadline = began + timeout_s
            while True:
                job = manager.get(run_id)
                if job is None or job.rows or not job.active or time.perf_counter() > deadline:
                    break
                time.sleep(0.002)
            waited = time.perf_counter() - began
            manager.stop(run_id, by=OWNER)
            manager.wait(run_id, timeout_s)
            if job is None or not job.rows:
                raise RuntimeError(f"no curve point after {waited:.1f} s ({job.status if job else 'no job'}: "
                                   f"{job.message if job else ''})")
            if k >= 0:
                seconds.append(waited)
    finally:
        manager.shutdown()
    return seconds


def browser_first_points(data_dir: Path, tries: int, timeout_s: float = 60.0, think_s: float = 2.0,
                         progress: Progress = quiet) -> tuple[list[float], str]:
    """Seconds from the click on "Start training" (the Train page's defaults) to the first point drawn in headless
    Chromium, per try; and why there are none when the browser could not start. Each try waits `think_s` on the
    page before clicking, as a person reads the form; an untimed first try warms the server's worker pool, as
    the server's first page visit does long before anyone clicks Start."""
    browser = app_timing.Browser()
    if browser.browser is None:
        return [], browser.problem
    seconds: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="rnnviz-first-point-") as folder:
            env = {**os.environ, "RNNVIZ_DATA": str(data_dir), "RNNVIZ_RUNS": str(Path(folder) / "runs")}
            with server.streamlit_server(Path(folder) / "server.log", env) as (url, _, _):
                for k in range(-1, tries):
                    took = _browser_try(browser, url, timeout_s, think_s)
                    if k >= 0:
                        seconds.append(took)
                        progress(f"first point in the browser, try {k + 1}: {took:.2f} s")
    finally:
        browser.close()
    return seconds, ""


def _browser_try(browser: app_timing.Browser, url: str, timeout_s: float, think_s: float) -> float:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        page.goto(f"{url}/train")
        page.wait_for_selector(SETTLED)
        page.get_by_role("button", name="Start training").wait_for()
        time.sleep(think_s)
        began = time.perf_counter()
        page.get_by_role("button", name="Start training").click()
        page.wait_for_function(FIRST_POINT_JS, polling=10)
        seconds = time.perf_counter() - began
        stop = page.get_by_role("button", name="Stop").first
        try:  # a training on a small dataset may end, and its Stop button go, at any moment
            stop.click(timeout=3000)
        except PlaywrightTimeout:
            pass
        page.wait_for_function(ENDED_JS, polling=50)  # its worker is free for the next try
        return seconds
    finally:
        context.close()


def measure_first_point(dataset: NameDataset, data_dir: Path, tries: int, browser_tries: int,
                        progress: Progress = quiet) -> list[Figure]:
    """The two figures: the library path (JobManager) and the browser path (Chromium), medians over tries."""
    progress(f"start to first curve point: {tries} trainings through JobManager")
    with tempfile.TemporaryDirectory(prefix="rnnviz-first-point-runs-") as root:
        library = Figure(FIRST_POINT_KEYS[0], "Start to first curve point, library (JobManager.start to its first "
                         "row)", "s", library_first_points(dataset, tries, Path(root)),
                         note="default settings; worker pool warmed by an untimed first training")
    label = "Start to first curve point, browser (click to the point drawn in Chromium)"
    if browser_tries <= 0:
        return [library, Figure(FIRST_POINT_KEYS[1], label, "s", note="skipped: no browser tries asked for",
                                status="skipped")]
    progress(f"start to first curve point: {browser_tries} clicks in Chromium")
    try:
        samples, problem = browser_first_points(data_dir, browser_tries, progress=progress)
    except Exception as exc:  # one line in the report instead of a traceback
        return [library, Figure(FIRST_POINT_KEYS[1], label, "s", note=first_line(exc, show_type=True),
                                status="error")]
    if problem:
        return [library, Figure(FIRST_POINT_KEYS[1], label, "s", note=f"skipped: browser unavailable ({problem})",
                                status="skipped")]
    return [library, Figure(FIRST_POINT_KEYS[1], label, "s", samples,
                            note="Train page defaults, a fresh browser context per try, the training stopped after")]
