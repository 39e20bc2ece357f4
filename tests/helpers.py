"""Helpers the tests share: waiting for a condition, a free port, the app served by `streamlit run`, Chromium,
screenshots and zip archives built in memory. Fixtures live in conftest.py."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'  # the page's script has finished
SCREENSHOTS_ENV = "RNNVIZ_SCREENSHOTS"  # a folder that receives the browser tests' screenshots (e.g. docs/screenshots)


def wait_for(condition, timeout: float = 30.0, what: str = "condition", interval: float = 0.02):
    """Poll `condition` until it returns something true, and return that; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


Server = tuple[str, int, subprocess.Popen]  # url, port, process


@contextmanager
def streamlit_server(runs: Path, data: Path | None, log: Path, extra_args: tuple[str, ...] = (),
                     env: dict[str, str] | None = None) -> Iterator[Server]:
    """`streamlit run streamlit_app.py` on a free port of 127.0.0.1 with the project's .streamlit/config.toml,
    its own runs folder and data (None: the shipped surnames); output in `log`."""
    port = free_port()
    variables = {**os.environ, "RNNVIZ_RUNS": str(runs), "RNNVIZ_MAX_JOBS": "2", **(env or {})}
    if data is None:
        variables.pop("RNNVIZ_DATA", None)
    else:
        variables["RNNVIZ_DATA"] = str(data)
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
                                   str(port), "--server.headless", "true", *extra_args],
                                  cwd=ROOT, env=variables, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.2)
        yield url, port, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def require_chromium() -> str:
    """The Chromium to drive. Without one the browser tests are skipped, except under CI (CI=true), where a
    missing browser is a failure."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)


def save_screenshot(page, folder: Path, name: str, full_page: bool = True) -> Path:
    """A screenshot in `folder` (the test's tmp_path); also copied to RNNVIZ_SCREENSHOTS when that names a
    folder, which is how docs/screenshots is refreshed on purpose."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    target = os.environ.get(SCREENSHOTS_ENV)
    if target and (ROOT / target).resolve() != folder.resolve():
        (ROOT / target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, ROOT / target / path.name)
    return path


def zip_bytes(files: dict[str | zipfile.ZipInfo, bytes | str] | list[tuple[str | zipfile.ZipInfo, bytes | str]]
              ) -> bytes:
    """A zip archive in memory: {member name or ZipInfo: content}, or a list of pairs (to repeat a name)."""
    buffer = io.BytesIO()
    entries = files.items() if isinstance(files, dict) else files
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def make_zip(path: Path, entries) -> Path:
    """The same archive written to `path`."""
    path.write_bytes(zip_bytes(entries))
    return path
