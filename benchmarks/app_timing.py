"""Cold start of the app: seconds from `streamlit run` to the first page rendered in headless Chromium (or, without
a browser, to the health check answering).

Run by `python -m rnnviz bench` in a subprocess (`python -m benchmarks.app_timing --app streamlit_app.py ...`); it
prints one JSON object: {"rendered_s": [...], "ready_s": [...], "problems": [...], "browser_problem": ""}.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from rnnviz.common import first_line

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")

# True once the first script run has finished with something on the page, or has shown an exception.
RENDERED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (document.querySelector('[data-testid="stException"]')) return true;
  return app.getAttribute('data-test-script-state') === 'notRunning'
      && document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]') !== null;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as answer:
            return answer.read().strip() == b"ok"
    except OSError:
        return False


def last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


class Browser:
    """Headless Chromium through Playwright; `browser` is None (and `problem` says why) when it cannot start."""

    def __init__(self) -> None:
        self.playwright = self.browser = None
        self.problem = ""
        try:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            options: dict[str, Any] = {"args": list(CHROMIUM_FLAGS)}
            if CHROMIUM.exists():
                options["executable_path"] = str(CHROMIUM)
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


def cold_starts(app: Path, repeats: int, timeout_s: float, data_dir: str | None = None,
                runs_dir: str | None = None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if data_dir:
        env["RNNVIZ_DATA"] = data_dir
    if runs_dir:
        env["RNNVIZ_RUNS"] = runs_dir
    browser = Browser()
    rendered: list[float] = []
    ready: list[float] = []
    problems: list[str] = []
    try:
        for _ in range(repeats):
            port = free_port()
            with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as log_file:
                log = Path(log_file.name)
                start = time.perf_counter()
                process = subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
                     "--server.address", "127.0.0.1", "--server.headless", "true",
                     "--browser.gatherUsageStats", "false"],
                    cwd=app.parent, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            try:
                deadline = start + timeout_s
                while not healthy(port):
                    if process.poll() is not None:
                        raise RuntimeError(f"streamlit exited with code {process.returncode}: {last_line(log)}")
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"the server did not answer in {timeout_s:g} s")
                    time.sleep(0.02)
                ready.append(time.perf_counter() - start)
                if browser.browser is not None:
                    seconds, failed = browser.render_seconds(f"http://127.0.0.1:{port}/", start,
                                                             max(1.0, deadline - time.perf_counter()))
                    if failed:
                        problems.append("the first page showed an exception")
                    rendered.append(seconds)
            except Exception as exc:  # one line in the report instead of a traceback
                problems.append(first_line(exc, show_type=True))
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                log.unlink(missing_ok=True)
    finally:
        browser.close()
    return {"rendered_s": rendered, "ready_s": ready, "problems": problems, "browser_problem": browser.problem}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True, help="the Streamlit script to start")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per start")
    parser.add_argument("--data", help="RNNVIZ_DATA for the app")
    parser.add_argument("--runs", help="RNNVIZ_RUNS for the app")
    args = parser.parse_args(argv)
    result = cold_starts(Path(args.app).resolve(), args.repeats, args.timeout, args.data, args.runs)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
