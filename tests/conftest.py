"""Shared fixtures: tiny surname folders built in tmp_path for unit tests, the real data for integration tests.

Every test gets its own RNNVIZ_RUNS and RNNVIZ_DATASETS in tmp_path, so nothing is ever written to the project's runs/.
Torch runs on one thread in tests (see below).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import torch

from rnnviz import data
from rnnviz.data import NameDataset, load_folder

# The models are tiny: with other processes on the cores, two torch threads ran 4-100x slower than one.
torch.set_num_threads(1)

# Three made-up "languages" that a small network separates quickly: each has its own letters and ending.
TINY_LANGUAGES = {
    "Ashi": ("aeiksh", "shi"),
    "Borov": ("bdorvz", "ov"),
    "Tunson": ("lnostu", "son"),
}


def tiny_names(letters: str, ending: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < count:
        stem = "".join(rng.choice(letters) for _ in range(rng.randint(2, 5)))
        names.add(stem.capitalize() + ending)
    return sorted(names)


def write_tiny_folder(folder: Path, per_category: int = 30) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, (category, (letters, ending)) in enumerate(TINY_LANGUAGES.items()):
        names = tiny_names(letters, ending, per_category, seed)
        (folder / f"{category}.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the shipped surnames are unpacked during the tests (RNNVIZ_CACHE), instead of the user's cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_folder: Path) -> Path:
    """A private runs directory per test, also seen by subprocesses through RNNVIZ_RUNS.

    Named datasets, the unpacked shipped data and the download folder (the project's data/) are private too, so
    no test writes into the project."""
    root = tmp_path / "runs"
    monkeypatch.setenv("RNNVIZ_RUNS", str(root))
    monkeypatch.setenv("RNNVIZ_DATASETS", str(tmp_path / "datasets"))
    monkeypatch.setenv("RNNVIZ_CACHE", str(cache_folder))
    monkeypatch.setenv("RNNVIZ_MAX_JOBS", "2")  # the app's default is the machine's cores less one
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", tmp_path / "project-data" / "names")
    return root


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    return write_tiny_folder(tmp_path / "names")


@pytest.fixture
def tiny_data(tiny_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny folder as the app's and the command line's data (RNNVIZ_DATA)."""
    monkeypatch.setenv("RNNVIZ_DATA", str(tiny_folder))
    return tiny_folder


@pytest.fixture
def fresh_app(isolated_runs: Path):
    """App tests start with no data folder picked on the Data page and leave no training thread behind."""
    from ui import resources  # only app tests pay for importing Streamlit

    resources._data_choice.clear()
    yield
    resources.job_manager().shutdown(timeout=30)
    resources._data_choice.clear()


@pytest.fixture
def manager(tmp_path: Path):
    """A JobManager of its own (two jobs at once, in worker processes) over a private runs folder, shut down after
    the test."""
    from rnnviz.jobs import JobManager

    jobs = JobManager(tmp_path / "runs", max_concurrent=2)
    yield jobs
    jobs.shutdown()


@pytest.fixture
def thread_manager(tmp_path: Path):
    """A JobManager whose jobs run in this process's threads: for tests that patch the library to make a training
    fail (a patch made here never reaches a worker process)."""
    from rnnviz.jobs import JobManager

    jobs = JobManager(tmp_path / "runs", max_concurrent=2, in_process=True)
    yield jobs
    jobs.shutdown()


@pytest.fixture
def tiny_dataset(tiny_folder: Path) -> NameDataset:
    return load_folder(tiny_folder)


@pytest.fixture(scope="session")
def real_data_dir(cache_folder: Path) -> Path:
    """The tutorial's 18-language folder: the one RNNVIZ_DATA names (CI points it at a reference copy), else the
    copy shipped in the package, unpacked into the tests' cache."""
    value = os.environ.get("RNNVIZ_DATA")
    if not value:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RNNVIZ_CACHE", str(cache_folder))
            return data.embedded_data_dir()
    folder = Path(value).expanduser()
    if not folder.is_dir():
        pytest.fail(f"RNNVIZ_DATA={value} is not a folder")
    return folder


@pytest.fixture(scope="session")
def real_dataset(real_data_dir: Path) -> NameDataset:
    return load_folder(real_data_dir)


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """RNNVIZ_DATA names a folder that does not exist: the app has no surnames."""
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("RNNVIZ_DATA", str(missing))
    return missing


@pytest.fixture
def tiny_runs(tiny_data: Path, isolated_runs: Path) -> dict[str, str]:
    """A finished run of each of the report's three models on the tiny data, by model."""
    from tests.helpers import tiny_run

    return {model: tiny_run(tiny_data, isolated_runs, model) for model in ("rnn", "lstm", "mylstm")}


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tiny_folder: Path):
    """A factory opening one page of the app, with the tiny data and this test's runs folder (process-wide caches
    cleared first); the job manager is shut down afterwards."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.helpers import APP
    from ui import resources

    monkeypatch.setenv("RNNVIZ_DATA", str(tiny_folder))
    st.cache_resource.clear()  # the job manager and the chosen data folder are process-wide
    st.cache_data.clear()

    def make(page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120).run()
        at.switch_page(page)
        return at

    yield make
    resources.job_manager().shutdown(timeout=30)


@pytest.fixture
def page_runs(tiny_dataset: NameDataset, isolated_runs: Path) -> Path:
    """One finished RNN, tanh RNN and LSTM run with their snapshots, as the Train page leaves them."""
    from rnnviz.config import TrainConfig
    from rnnviz.runs import train_run

    for model in ("rnn", "elman", "lstm"):
        train_run(TrainConfig(model=model, epochs=2, hidden_size=8), tiny_dataset, isolated_runs)
    return isolated_runs


CLI_HIDDEN = 16  # the hidden size of the cli_runs runs


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """A tiny data folder with one LSTM run and one RNN run (run ids "lstm" and "rnn") in their own runs
    directory, for the command-line tests; one per test module, so a module may change its runs."""
    from rnnviz.config import TrainConfig
    from rnnviz.runs import train_run

    base = tmp_path_factory.mktemp("cli")
    folder = write_tiny_folder(base / "names")
    dataset = load_folder(folder)
    root = base / "runs"
    for model in ("lstm", "rnn"):
        train_run(TrainConfig(model=model, hidden_size=CLI_HIDDEN, batch_size=8, epochs=3), dataset, root,
                  run_id=model)
    return {"data": folder, "runs": root, "lstm": "lstm", "rnn": "rnn"}


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module (skipped without Chromium, except under CI)."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
