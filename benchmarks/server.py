"""The app served by `streamlit run` on a free port of 127.0.0.1, and the Chromium that shows it: the one launcher
that the benchmarks (cold start, a class on one server) and the browser tests share."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the source checkout
APP = ROOT / "streamlit_app.py"
CHROMIUM = "/usr/bin/chromium"  # Debian's; the browser tests and the cold start drive it through Playwright
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

Server = tuple[str, int, subprocess.Popen]  # url, port, process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    """Whether the server on `port` answers its health check."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as answer:
            return answer.read().strip() == b"ok"
    except OSError:
        return False


def launch(port: int, log: Path, env: dict[str, str] | None = None, app: Path = APP,
           extra_args: tuple[str, ...] = ()) -> subprocess.Popen:
    """`streamlit run app` headless on 127.0.0.1:port, from the app's folder (so its .streamlit/config.toml
    applies), with the environment `env` (default: this process's) and its output in `log`; returns at once."""
    with open(log, "wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             *extra_args],
            cwd=app.parent, env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}, stdout=output,
            stderr=subprocess.STDOUT)


def wait_until_healthy(process: subprocess.Popen, port: int, log: Path, timeout_s: float = 90.0,
                       interval_s: float = 0.2) -> None:
    """Poll the health check until it answers; RuntimeError with the log's end if the server exits or is late."""
    deadline = time.monotonic() + timeout_s
    while not healthy(port):
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}: {log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not answer in {timeout_s:g} s: {log_tail(log)}")
        time.sleep(interval_s)


def stop(process: subprocess.Popen, timeout_s: float = 15.0) -> None:
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout_s)


def log_tail(log: Path, chars: int = 2000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:].strip()
    except OSError:
        return ""


@contextmanager
def streamlit_server(log: Path, env: dict[str, str] | None = None, app: Path = APP,
                     extra_args: tuple[str, ...] = (), timeout_s: float = 90.0) -> Iterator[Server]:
    """The app running until the block ends: (url, port, process)."""
    port = free_port()
    process = launch(port, log, env, app, extra_args)
    try:
        wait_until_healthy(process, port, log, timeout_s)
        yield f"http://127.0.0.1:{port}", port, process
    finally:
        stop(process)
