"""Resources shared by every session of the app, cached with st.cache_resource.

The JobManager, the chosen data folder, loaded datasets, trained models and evaluation reports are
process-wide: a training survives page switches and browser reloads, and the class shares one set
of runs. Everything cached here is read-only once built, or guards itself with a lock.
Torch-heavy modules are imported inside the functions that need them, so light pages start fast.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from rnnviz import datasets
from rnnviz.data import (
    DataError,
    NameDataset,
    Split,
    check_allowed_folder,
    find_data_dir,
    load_folder,
    split_dataset,
)

if TYPE_CHECKING:
    import pandas as pd

    from rnnviz.evaluate import Report
    from rnnviz.jobs import JobManager
    from rnnviz.runs import LoadedRun, RunInfo

PER_STUDENT = 2  # trainings one browser may have running or queued at once (the teacher is not capped)
MAX_QUEUE = 60  # trainings waiting for a worker, the whole class together
# The models are small and the server shares its cores with every training: there one torch thread trains many
# times faster than two (docs/benchmarks.md, "Torch threads on a shared server"), as the command line does.
TORCH_THREADS = 1


def max_jobs() -> int:
    """RNNVIZ_MAX_JOBS when it is a whole number of at least 1, else the machine's cores less one."""
    from rnnviz.jobs import max_jobs_from_env

    return max_jobs_from_env()


@st.cache_resource(show_spinner=False)
def torch_threads() -> int:
    """Set torch's process-wide thread count once, before the first training or inference."""
    import torch

    torch.set_num_threads(TORCH_THREADS)
    return TORCH_THREADS


@st.cache_resource(show_spinner=False)
def _job_manager(root: str, limit: int, scheduler: str | None, in_process: bool) -> JobManager:
    from rnnviz.jobs import JobManager

    torch_threads()
    manager = JobManager(Path(root), limit, per_owner=PER_STUDENT, max_queue=MAX_QUEUE, scheduler=scheduler,
                         in_process=in_process)
    manager.restore_queue(_queued_dataset)  # trainings a previous server left waiting start again, in order
    return manager


def _queued_dataset(folder: str) -> NameDataset:
    if not folder:
        raise DataError("the training recorded no data folder")
    return dataset_at(Path(folder))


def runs_root() -> Path:
    from rnnviz.runs import runs_dir

    return runs_dir().expanduser().resolve()


def job_manager() -> JobManager:
    """The one JobManager of this runs folder, shared by every session."""
    from rnnviz.jobs import scheduler_from_env, threads_from_env

    return _job_manager(str(runs_root()), max_jobs(), scheduler_from_env(), threads_from_env())


def all_runs() -> list[RunInfo]:
    """Every run on disk, newest first; runs this process is training count as running."""
    from rnnviz.runs import list_runs

    return list_runs(runs_root(), job_manager().active_ids())


class _DataChoice:
    """The folder picked on the Data page; process-wide so the whole class sees the same data."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.folder: Path | None = None


@st.cache_resource(show_spinner=False)
def _board_state(root: str):
    from ui.board import BoardState

    return BoardState(Path(root))


def board_state():
    """The class board's switches (hidden, frozen), set by the teacher; kept in the runs folder, so every server
    on it shows the same board."""
    return _board_state(str(runs_root()))


@st.cache_resource(show_spinner=False)
def _data_choice() -> _DataChoice:
    return _DataChoice()


def data_folder() -> Path:
    """The folder picked on the Data page, else RNNVIZ_DATA, else data/names, else the shipped surnames."""
    choice = _data_choice()
    with choice.lock:
        picked = choice.folder
    return find_data_dir(picked)


def _use_folder(folder: Path) -> None:
    choice = _data_choice()
    with choice.lock:
        choice.folder = folder


def choose_data_folder(path: str) -> NameDataset:
    """Use this folder from now on, after checking that the server may read it and that it holds usable data
    (DataError if not)."""
    folder = check_allowed_folder(path)
    dataset = dataset_at(folder)
    _use_folder(folder)
    return dataset


def _folder_stamp(folder: Path) -> tuple:
    """Changes when any .txt file in the folder is added, removed or rewritten."""
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.txt")))
    except OSError:
        return ()


@st.cache_resource(show_spinner="Reading the surname files…", max_entries=4)
def _dataset(folder: str, stamp: tuple) -> NameDataset:
    return load_folder(folder)


def dataset_at(folder: Path) -> NameDataset:
    return _dataset(str(Path(folder).expanduser()), _folder_stamp(Path(folder).expanduser()))


def current_dataset() -> NameDataset:
    """The data every page uses; DataError with the reason when there is none."""
    return dataset_at(data_folder())


@st.cache_resource(show_spinner=False, max_entries=16)
def _split(folder: str, stamp: tuple, val_fraction: float, test_fraction: float, seed: int) -> Split:
    return split_dataset(_dataset(folder, stamp), val_fraction, test_fraction, seed)


def split_of(dataset: NameDataset, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0) -> Split:
    folder = Path(dataset.source)
    return _split(str(folder), _folder_stamp(folder), float(val_fraction), float(test_fraction), int(seed))


def dataset_for_run(info: RunInfo) -> NameDataset:
    """The names a run was trained on: its recorded folder, else the current one, if the categories match."""
    from rnnviz import runs

    return runs.run_dataset(info, fallback=data_folder(), load=dataset_at)


def _file_stamp(file: Path) -> tuple[int, int]:
    try:
        stat = file.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


@st.cache_resource(show_spinner="Loading the model…", max_entries=24)
def _loaded_run(path: str, snapshot: int | None, stamp: tuple) -> LoadedRun:
    from rnnviz.config import resolve_device
    from rnnviz.runs import load_run

    # Inspection runs where training would: on the GPU when there is one (pages move inputs to the model).
    return load_run(Path(path), snapshot=snapshot, device=str(resolve_device("auto")))


def loaded_run(path: Path, snapshot: int | None = None) -> LoadedRun:
    """A run's model, final (snapshot None) or after epoch `snapshot`; shared read-only, never trained further."""
    return _loaded_run(str(path), snapshot, _file_stamp(path / "model.pt"))


@st.cache_resource(show_spinner="Evaluating…", max_entries=24)
def _report(path: str, snapshot: int | None, which: str, stamp: tuple, data: str, data_stamp: tuple,
            val_fraction: float, test_fraction: float, seed: int) -> Report:
    from rnnviz.evaluate import report

    run = _loaded_run(path, snapshot, stamp)
    split = _split(data, data_stamp, val_fraction, test_fraction, seed)
    return report(run.model, run.categories, split.part(which))


def run_report(info: RunInfo, which: str, snapshot: int | None = None) -> Report:
    """A run's confusion matrix and per-category scores on its own val or test names."""
    from rnnviz.config import TrainConfig

    config = TrainConfig.from_dict(info.config)
    dataset = dataset_for_run(info)
    folder = Path(dataset.source)
    return _report(str(info.path), snapshot, which, _file_stamp(info.path / "model.pt"), str(folder),
                   _folder_stamp(folder), config.val_fraction, config.test_fraction, config.seed)


@st.cache_resource(show_spinner="Reading the validation names through the model…", max_entries=8)
def _atlas(path: str, snapshot: int | None, stamp: tuple, data: str, data_stamp: tuple, val_fraction: float,
           test_fraction: float, seed: int):
    from rnnviz.inside import build_atlas

    run = _loaded_run(path, snapshot, stamp)
    split = _split(data, data_stamp, val_fraction, test_fraction, seed)
    return build_atlas(run.model, run.categories, split.val)


def unit_atlas(info: RunInfo, snapshot: int | None = None):
    """A run's validation names read once (rnnviz.inside.UnitAtlas): the unit explorer, the pattern search and
    the hidden-state map answer from it; built on first use, shared after."""
    from rnnviz.config import TrainConfig

    config = TrainConfig.from_dict(info.config)
    dataset = dataset_for_run(info)
    folder = Path(dataset.source)
    return _atlas(str(info.path), snapshot, _file_stamp(info.path / "model.pt"), str(folder), _folder_stamp(folder),
                  config.val_fraction, config.test_fraction, config.seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _metrics(path: str, stamp: tuple) -> pd.DataFrame:
    from rnnviz.runs import load_metrics

    return load_metrics(Path(path))


def run_metrics(path: Path) -> pd.DataFrame:
    """A run's metrics.csv, re-read only when the file changes."""
    return _metrics(str(path), _file_stamp(path / "metrics.csv"))


def model_structures() -> dict[str, str]:
    """print(model) of every model at the report's default sizes, then its weights' shapes (no torch import),
    by label."""
    from rnnviz.registry import label
    from rnnviz.structures import STRUCTURES

    return {label(key): text for key, text in STRUCTURES.items()}


def download_official(progress, url: str | None = None) -> NameDataset:
    """Fetch the tutorial's official archive into data/names and use it from now on."""
    from rnnviz import archive
    from rnnviz.data import DEFAULT_DATA_DIR

    folder = archive.fetch_names(DEFAULT_DATA_DIR.parent, url or archive.OFFICIAL_URL, progress)
    dataset = dataset_at(Path(folder).resolve())  # the app's own download folder: no need to check the roots
    _use_folder(Path(folder).resolve())
    return dataset


# ---------------------------------------------------------------- named datasets of the user's own


def stored_datasets() -> list[datasets.DatasetInfo]:
    """Every named dataset with its categories and size (read through the cache), or why it is unusable."""
    return datasets.list_datasets(load=dataset_at)


def dataset_names() -> list[str]:
    """Names of the usable named datasets, sorted."""
    return [info.name for info in stored_datasets() if not info.error]


def named_dataset(name: str) -> NameDataset:
    """The names of dataset `name` (DataError when it is missing or unusable)."""
    path = datasets.dataset_path(name)
    if not path.is_dir():
        raise datasets.DatasetError(f"no dataset named {path.name!r}")
    return dataset_at(path)


def add_uploaded_dataset(name: str, data: bytes, filename: str = "upload.zip",
                         replace: bool = False) -> datasets.AddedDataset:
    """Store an uploaded zip as dataset `name` (DatasetError, one line, when it is unusable)."""
    return datasets.add_from_bytes(name, data, replace=replace, filename=filename)


def add_folder_dataset(name: str, path: str, replace: bool = False) -> datasets.AddedDataset:
    """Copy a server folder in as dataset `name`; only folders the server may read (data.check_allowed_folder)."""
    datasets.check_name(name)
    return datasets.add_from_folder(name, check_allowed_folder(path), replace=replace)


def delete_named_dataset(name: str) -> None:
    """Delete dataset `name`; if the whole app was using it, it goes back to the default data."""
    path = datasets.dataset_path(name)
    datasets.delete_dataset(name)
    choice = _data_choice()
    with choice.lock:
        if choice.folder is not None and Path(choice.folder) == path:
            choice.folder = None


def _train_tiny() -> None:
    from rnnviz.config import TrainConfig
    from rnnviz.data import NameDataset
    from rnnviz.train import Trainer

    names = ["Abe", "Ito", "Ono", "Sato", "Ueda", "Oka", "Bek", "Drov", "Zorb", "Vosk", "Brod", "Dvor"]
    labels = [0] * 6 + [1] * 6
    dataset = NameDataset(Path("warm-up"), ["A", "B"], names, labels, {"A": 6, "B": 6}, {"A": 6, "B": 6})
    try:
        Trainer(TrainConfig(model="lstm", epochs=1, batch_size=4, eval_every=1, device="cpu"), dataset).run()
    except Exception:  # a failed warm-up only costs the first training its head start
        pass


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Once per process, in the background: a tiny training pays torch's and scikit-learn's first-use costs
    (imports, kernel set-up) so the class's first real training shows its first point sooner."""
    torch_threads()
    thread = threading.Thread(target=_train_tiny, name="rnnviz-warm-up", daemon=True)
    thread.start()
    return thread
