"""Cold start of the app: seconds from `streamlit run` to the first page rendered in headless Chromium (or, without
a browser, to the health check answering). Used by benchmarks/app.py."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import server
from rnnviz.common import first_line

# True once the first script run has finished with something on the page, or has shown an exception.
RENDERED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (document.querySelector('[data-testid="stException"]')) return true;
  return app.getAttribute('data-test-script-state') === 'notRunning'
      && document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]') !== null;
}"""


class Browser:
    """Headless Chromium through Playwright; `browser` is None (and `problem` says why) when it cannot start."""

    def __init__(self) -> None:
        self.playwright = self.browser = None
        self.problem = ""
        try:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            options: dict[str, Any] = {"args": list(server.CHROMIUM_ARGS)}
            if Path(server.CHROMIUM).exists():
                options["executable_path"] = server.CHROMIUM
            self.browser = self.playwright.chromium.launch(**options)
        except Exception as exc:  # no Playwright or no browser: fall back to the health check
            self.problem = first_line(exc, show_type=True)
            self.close()

    def render_seconds(self, url: str, start: float, timeout_s: float) -> tuple[float, bool]:
        """Seconds since `start` until the page is rendered, and whether it showed an exception."""
        context = self.browser.new_context()  # a fresh cache, as a student's first visit
        try:
            page = context.new_page()
            page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
            page.wait_for_function(RENDERED_JS, timeout=timeout_s * 1000, polling=25)
            seconds = time.perf_counter() - start
            return seconds, page.query_selector('[data-testid="stException"]') is not None
        finally:
            context.close()

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
        if self.playwright is not None:
            self.playwright.stop()
        self.browser = self.playwright = None


def cold_starts(app: Path, repeats: int, timeout_s: float, data_dir: Path | None = None,
                runs_dir: Path | None = None) -> dict[str, Any]:
    """Start the app `repeats` times: {"rendered_s": [...], "ready_s": [...], "problems": [...],
    "browser_problem": ""}; a start that fails adds a line to "problems" instead of raising."""
    env = dict(os.environ)
    if data_dir is not None:
        env["RNNVIZ_DATA"] = str(data_dir)
    if runs_dir is not None:
        env["RNNVIZ_RUNS"] = str(runs_dir)
    browser = Browser()
    rendered: list[float] = []
    ready: list[float] = []
    problems: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="rnnviz-cold-start-") as logs:
            for k in range(repeats):
                port, log = server.free_port(), Path(logs) / f"server-{k}.log"
                start = time.perf_counter()
                process = server.launch(port, log, env, app)
                try:
                    server.wait_until_healthy(process, port, log, timeout_s, interval_s=0.02)
                    ready.append(time.perf_counter() - start)
                    if browser.browser is not None:
                        remaining = max(1.0, start + timeout_s - time.perf_counter())
                        seconds, failed = browser.render_seconds(f"http://127.0.0.1:{port}/", start, remaining)
                        if failed:
                            problems.append("the first page showed an exception")
                        rendered.append(seconds)
                except Exception as exc:  # one line in the report instead of a traceback
                    problems.append(first_line(exc, show_type=True))
                finally:
                    server.stop(process, timeout_s=10)
    finally:
        browser.close()
    return {"rendered_s": rendered, "ready_s": ready, "problems": problems, "browser_problem": browser.problem}
