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
    """A JobManager of its own (two trainings at once) over a private runs folder, shut down after the test."""
    from rnnviz.jobs import JobManager

    jobs = JobManager(tmp_path / "runs", max_concurrent=2)
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
