"""Helpers the tests share: waiting for a condition, the app served by `streamlit run` (benchmarks.server), Chromium,
screenshots, zip archives built in memory, and the app's pages through Streamlit's AppTest. Fixtures live in
conftest.py."""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks import server

ROOT = server.ROOT
CHROMIUM, CHROMIUM_ARGS = server.CHROMIUM, server.CHROMIUM_ARGS
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


@contextmanager
def streamlit_server(runs: Path, data: Path | None, log: Path, extra_args: tuple[str, ...] = (),
                     env: dict[str, str] | None = None) -> Iterator[server.Server]:
    """The app (benchmarks.server) with the project's .streamlit/config.toml, its own runs folder and data (None:
    the shipped surnames); output in `log`. A server that does not start raises RuntimeError with its log."""
    variables = {**os.environ, "RNNVIZ_RUNS": str(runs), "RNNVIZ_MAX_JOBS": "2", **(env or {})}
    if data is None:
        variables.pop("RNNVIZ_DATA", None)
    else:
        variables["RNNVIZ_DATA"] = str(data)
    with server.streamlit_server(log, variables, extra_args=extra_args) as started:
        yield started


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


# ---------------------------------------------------------------- the app's pages through AppTest

APP = str(ROOT / "streamlit_app.py")
APPTEST_TIMEOUT = 120  # seconds per script run; the machine may be shared


def open_page(page: str, query: dict[str, str] | None = None):
    """The app opened at Home (with `query` in its address), then switched to `page` (one of ui.nav.PAGES)."""
    from streamlit.testing.v1 import AppTest

    from ui import nav

    at = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page != nav.HOME:
        at.switch_page(page).run()
    return at


def assert_clean(at) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at) -> str:
    parts = [e.value for kind in (at.markdown, at.caption, at.info, at.warning, at.error, at.success, at.title)
             for e in kind]
    return "\n".join(str(p) for p in parts)


def charts_of(at) -> list:
    return list(at.get("vega_lite_chart"))


def chart_frames(chart) -> list:
    """The data sets an altair chart element carries, as DataFrames."""
    import pyarrow as pa

    frames = []
    for named in chart.proto.datasets:
        frames.append(pa.ipc.open_stream(io.BytesIO(named.data.data)).read_all().to_pandas())
    if chart.proto.data.data:
        frames.append(pa.ipc.open_stream(io.BytesIO(chart.proto.data.data)).read_all().to_pandas())
    return frames


def page_links(at) -> list[str]:
    return [link.proto.page for link in at.get("page_link")]


def wait_for_jobs(timeout: float = 120) -> list:
    """Every training of the app's job manager ended (AssertionError after `timeout` s); their snapshots."""
    from ui import resources

    manager = resources.job_manager()
    wait_for(lambda: not manager.any_active(), timeout, "the trainings ending", interval=0.05)
    return manager.jobs()


def tiny_run(folder: Path, root: Path, model: str, epochs: int = 2, seed: int = 0) -> str:
    """A small finished run of `model` on the names in `folder`; its id."""
    from rnnviz.config import TrainConfig
    from rnnviz.data import load_folder
    from rnnviz.runs import train_run

    config = TrainConfig(model=model, hidden_size=8, epochs=epochs, batch_size=8, seed=seed)
    writer, result = train_run(config, load_folder(folder), root)
    assert result is not None and result.status == "finished"
    return writer.run_id
