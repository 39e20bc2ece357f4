"""Run directories on disk: one folder per training, written as it goes, read back safely.

<runs>/<run-id>/          assembled as <runs>/.new-<run-id>-*/ and renamed, so no listing sees it half-made
  config.json     written first
  metrics.csv     a row per evaluation, appended while training
  snapshots/      state dicts at initialisation (epoch 0) and after each epoch
  model.pt        final weights with config, categories and alphabet
  summary.json    written last: status, epochs done, seconds, final accuracies, the worker that trained it
  .training.lock  held (flock) by the process training the run, removed at the end; a crash releases it
  .control.json   a stop, pause or resume request from another app server, taken by the server training the run
<runs>/.queue.json        the trainings waiting for a worker, the servers that took some lately, and the servers on
                          the folder (rnnviz.jobs): one line for every app server on the folder, and a restarted
                          server starts them; changed only under the lock on <runs>/.queue.lock
<runs>/.board.json        the teacher's switches for the class board (hidden, frozen), shared by every app server

A run without summary.json is "running" while some process holds its lock, else "interrupted"
(the training process died): its config and curves so far stay readable.
"""

from __future__ import annotations

import csv
import errno
import json
import math
import os
import pickle
import re
import shutil
import socket
import tempfile
import time
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .common import PROJECT_ROOT, first_line, move_into_place, remove_dir, staging_dir, write_atomic
from .config import TrainConfig
from .data import ALPHABET, DataError, NameDataset, Split, load_folder, split_dataset
from .models import Classifier
from .registry import build_model, spec_of
from .train import STATUSES, Trainer, TrainResult

try:
    import fcntl
except ImportError:  # Windows: only this process's own trainings are known to be running
    fcntl = None

METRIC_COLUMNS = ["step", "epoch", "elapsed_s", "train_loss", "train_acc", "val_loss", "val_acc",
                  "names_per_s", "eta_s"]
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch: "$" would let "id\n" in
FORMAT_VERSION = 1
TRAINING_LOCK = ".training.lock"
QUEUE_FILE = ".queue.json"  # the trainings waiting for a worker, shared by every app server on the folder
QUEUE_LOCK = ".queue.lock"
CONTROL_FILE = ".control.json"  # in a run folder: a stop, pause or resume request from another app server
CONTROL_ACTIONS = ("stop", "pause", "resume")
BOARD_FILE = ".board.json"
PROBE_FILE = ".probe.json"  # the last memory-probe sweep: its settings and results, shown at once on the next visit
TEACHER = "teacher"  # the owner of runs trained with the command line, and of runs from before owners
OWNER_NAME_LIMIT = 24  # characters of a display name kept with a run


class RunError(ValueError):
    """A one-line, user-facing reason a run could not be found, read or written."""


def failure(exc: BaseException) -> str:
    """Why a run failed, in one line: a user-facing error's message, the type and message of anything else."""
    return first_line(exc, show_type=not isinstance(exc, (RunError, DataError)))


def _take_training_lock(folder: Path) -> int | None:
    """Hold the run's lock for as long as this process trains it; None where locks are unavailable."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder / TRAINING_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def is_training(folder: Path) -> bool:
    """True while some process, this one included, holds the run's training lock."""
    if fcntl is None:
        return False
    try:
        fd = os.open(folder / TRAINING_LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        # A shared lock is refused only while a trainer holds the exclusive one; closing drops ours.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def runs_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--runs DIR, else RNNVIZ_RUNS, else runs/ in the project."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("RNNVIZ_RUNS")
    return Path(env).expanduser() if env else PROJECT_ROOT / "runs"


def ensure_runs_dir(root: Path) -> Path:
    """Create the runs directory if needed; RunError when it cannot be a folder we write in."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RunError(f"cannot write the run folder in {root}: it is a file, not a folder") from None
    except OSError as exc:
        raise RunError(f"cannot write the run folder in {root}: {exc.strerror or exc}") from None
    return root


def run_path(root: Path, run_id: str) -> Path:
    """The folder of a run id, refusing anything that could leave the runs directory."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id) or run_id in (".", ".."):
        raise RunError(f"not a valid run id: {str(run_id)[:60]!r}")
    path = (root / run_id).resolve()
    if path.parent != root.resolve():
        raise RunError(f"not a valid run id: {run_id!r}")
    return path


def resolve_run(spec: str, root: Path | None = None) -> Path:
    """A run given as an id in the runs directory or as a path to a run folder."""
    root = runs_dir() if root is None else root
    candidate = Path(spec).expanduser()
    if candidate.is_dir() and (candidate / "config.json").exists():
        return candidate
    try:
        path = run_path(root, spec)
    except RunError:
        raise RunError(f"no run {spec!r}: give a run id from 'python -m rnnviz runs' or a run folder") from None
    if not path.is_dir():
        raise RunError(f"no run {spec!r} in {root}")
    return path


def save_torch_atomic(obj: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, values: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(values, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot save {type(value).__name__} as JSON")


def new_run_id(config: TrainConfig) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{config.model}-s{config.seed}-{os.urandom(2).hex()}"


def clean_name(value: Any) -> str:
    """A display name as it is kept: text only, control characters and runs of spaces folded, at most
    OWNER_NAME_LIMIT characters. Pages show it as plain text."""
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    return text[:OWNER_NAME_LIMIT].strip()


def worker_identity(server: str = "") -> dict[str, Any]:
    """The process training a run, as its config.json and summary.json record it, with the app server that
    launched it when one did (rnnviz.jobs.JobManager.server)."""
    identity: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    if server:
        identity["server"] = server
    return identity


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


class RunWriter:
    """Subscribes to a Trainer's events and keeps the run folder up to date."""

    def __init__(self, root: Path, config: TrainConfig, dataset_source: Path | str,
                 categories: list[str], run_id: str | None = None, snapshots: bool = True,
                 owner: str = TEACHER, owner_name: str = "", server: str = ""):
        self.root = Path(root)
        self.server = server
        self.config = config
        self.categories = list(categories)
        self.run_id = run_id or new_run_id(config)
        self.snapshots = snapshots
        self._lock: int | None = None
        self.path = run_path(self.root, self.run_id)
        ensure_runs_dir(self.root)
        exists = RunError(f"cannot write the run folder {self.run_id}: it already exists")
        if os.path.lexists(self.path):
            raise exists
        # The folder is filled under a hidden name and moved into place, so a listing never sees it half-made.
        staging: Path | None = None
        try:
            staging = staging_dir(self.root, f"new-{self.run_id}")
            write_json(staging / "config.json", {
                "format": FORMAT_VERSION, "run_id": self.run_id, "config": config.to_dict(),
                "categories": self.categories, "alphabet": ALPHABET, "data": str(dataset_source),
                "created": time.time(), "owner": owner or TEACHER, "owner_name": clean_name(owner_name),
                "worker": worker_identity(server),
            })
            with open(staging / "metrics.csv", "w", newline="") as handle:
                csv.writer(handle).writerow(METRIC_COLUMNS)
            move_into_place(staging, self.path)
        except OSError as exc:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, FileExistsError) or exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise exists from None
            raise RunError(f"cannot write the run folder in {self.root}: {exc.strerror or exc}") from None

    @contextmanager
    def _writing(self, what: str):
        """Turn a disk error (full, gone, read-only) into a RunError that names the file and the reason."""
        try:
            yield
        except OSError as exc:
            raise RunError(f"cannot write {what} of run {self.run_id}: {exc.strerror or exc}") from None

    def attach(self, trainer: Trainer) -> RunWriter:
        """Record this trainer's run; the run counts as training (for every process) until finish or close."""
        if self._lock is None:
            self._lock = _take_training_lock(self.path)
        trainer.add_callback("on_start", self.on_start)
        trainer.add_callback("on_eval", self.on_eval)
        trainer.add_callback("on_epoch_end", self.on_epoch_end)
        return self

    def on_start(self, event: dict[str, Any]) -> None:
        if self.snapshots:
            self._snapshot(event["model"], 0)

    def on_eval(self, row: dict[str, Any]) -> None:
        with self._writing("metrics.csv"), open(self.path / "metrics.csv", "a", newline="") as handle:
            csv.writer(handle).writerow([_finite(row[c]) for c in METRIC_COLUMNS])

    def on_epoch_end(self, event: dict[str, Any]) -> None:
        if self.snapshots:
            self._snapshot(event["model"], event["epoch"])

    def _snapshot(self, model: Classifier, epoch: int) -> None:
        if not spec_of(model).recurrent:  # the n-gram baseline is fitted in one go: nothing to watch epoch by epoch
            return
        folder = self.path / "snapshots"
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        with self._writing(f"the epoch {epoch} snapshot"):
            folder.mkdir(exist_ok=True)
            save_torch_atomic({"epoch": epoch, "state_dict": state}, folder / f"epoch-{epoch:03d}.pt")

    def finish(self, result: TrainResult | None, status: str | None = None, message: str = "") -> None:
        """Write model.pt (when there is a model) and summary.json, last."""
        summary: dict[str, Any] = {"run_id": self.run_id, "model": self.config.model,
                                   "status": status or (result.status if result else "failed"),
                                   "message": message or (result.message if result else ""),
                                   "finished": time.time(), "worker": worker_identity(self.server)}
        if result is not None:
            if result.status != "diverged":
                with self._writing("model.pt"):
                    save_torch_atomic(checkpoint(result.model, self.config, self.categories),
                                      self.path / "model.pt")
            summary.update({
                "epochs_done": result.epochs_done, "steps": result.steps,
                "train_seconds": round(result.train_seconds, 3),
                "val_accuracy": result.val.get("accuracy"),
                "val_balanced_accuracy": result.val.get("balanced_accuracy"),
                "test_accuracy": result.test.get("accuracy"),
                "test_balanced_accuracy": result.test.get("balanced_accuracy"),
            })
        try:
            with self._writing("summary.json"):
                write_json(self.path / "summary.json", summary)
        finally:
            self.close()

    def close(self) -> None:
        """Release the training lock (finish does this); harmless to call twice."""
        if self._lock is not None:
            (self.path / TRAINING_LOCK).unlink(missing_ok=True)  # a finished run folder holds only its files
            os.close(self._lock)
            self._lock = None


def checkpoint(model: Classifier, config: TrainConfig, categories: list[str]) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config.to_dict(),
        "categories": list(categories),
        "alphabet": ALPHABET,
    }


@dataclass
class RunInfo:
    """What a listing shows of a run folder; `error` says why it cannot be used."""

    run_id: str
    path: Path
    status: str
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    created: float = 0.0
    error: str = ""
    data: str = ""
    owner: str = TEACHER
    owner_name: str = ""

    @property
    def model(self) -> str:
        return self.config.get("model", "?")

    @property
    def has_model(self) -> bool:
        return (self.path / "model.pt").exists()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.name} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path.name} is unreadable ({type(exc).__name__})") from None
    if not isinstance(values, dict):
        raise RunError(f"{path.name} is not a JSON object")
    return values


def read_worker(path: Path) -> dict[str, Any]:
    """The worker (host, pid) that config.json says trains or trained a run; empty when it cannot be read."""
    try:
        worker = _read_json(Path(path) / "config.json").get("worker")
    except RunError:
        return {}
    return dict(worker) if isinstance(worker, dict) else {}


def read_run(path: Path, active: set[str] | None = None) -> RunInfo:
    """Describe a run folder; a run with no summary that nobody is training was interrupted."""
    info = RunInfo(path.name, path, "unreadable")
    try:
        meta = _read_json(path / "config.json")
        if meta.get("format") != FORMAT_VERSION:
            raise RunError(f"config.json is from an older or unknown format ({meta.get('format')!r})")
        config = meta.get("config")
        if not isinstance(config, dict):
            raise RunError("config.json has no config")
        try:
            TrainConfig.from_dict(config)
        except (ValueError, TypeError) as exc:
            raise RunError(f"config.json: {exc}") from None
        categories = meta.get("categories")
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise RunError("config.json has no list of categories")
        info.config = config
        info.categories = categories
        info.created = float(meta.get("created") or path.stat().st_mtime)
        info.data = str(meta.get("data", ""))
        info.owner = str(meta.get("owner") or TEACHER)
        info.owner_name = clean_name(meta.get("owner_name"))
    except (RunError, ValueError, TypeError, OSError) as exc:
        info.error = str(exc)
        return info
    if (path / "summary.json").exists():
        try:
            info.summary = _read_json(path / "summary.json")
            info.status = str(info.summary.get("status", "unreadable"))
        except RunError as exc:
            info.error = str(exc)
            return info
        if info.status not in STATUSES:
            info.error = f"summary.json has an unknown status {info.status[:40]!r}"
            info.status = "unreadable"
        elif info.status in ("finished", "stopped"):
            info.error = _model_file_problem(path / "model.pt")
    else:
        info.status = "running" if (active and path.name in active) or is_training(path) else "interrupted"
    return info


def run_dataset(info: RunInfo, fallback: str | os.PathLike | None = None, explicit: str | os.PathLike | None = None,
                load: Callable[[Path], NameDataset] = load_folder) -> NameDataset:
    """The names a run was trained on: the `explicit` folder when one is named, else the run's recorded folder,
    else `fallback` (the folder in use), whichever holds the run's categories. DataError when none does."""
    candidates = [Path(explicit)] if explicit else [Path(f) for f in (info.data, fallback) if f]
    for folder in candidates:
        try:
            dataset = load(Path(folder).expanduser())
        except DataError:
            if explicit:
                raise
            continue
        if dataset.categories == info.categories:
            return dataset
    if explicit:
        raise DataError("this run was trained on other categories than the data in "
                        f"{Path(explicit).name}: name the folder it was trained on")
    raise DataError("the names this run was trained on are not available: pick their folder on the Data page "
                    "or pass --data DIR")


def open_run_split(info: RunInfo, fallback: str | os.PathLike | None = None,
                   explicit: str | os.PathLike | None = None, load: Callable[[Path], NameDataset] = load_folder,
                   split: Callable[..., Split] = split_dataset) -> tuple[NameDataset, Split]:
    """A run's dataset (run_dataset) and the split it was trained on: that dataset split with the run's seed and
    fractions. `load` and `split` let a caller pass cached versions of load_folder and split_dataset."""
    dataset = run_dataset(info, fallback, explicit, load)
    config = TrainConfig.from_dict(info.config)
    return dataset, split(dataset, config.val_fraction, config.test_fraction, config.seed)


def _model_file_problem(file: Path) -> str:
    """Why a finished run's model.pt cannot be loaded, found cheaply: torch.save writes a zip."""
    if not file.is_file():
        return "model.pt is missing"
    if not zipfile.is_zipfile(file):
        return "model.pt is damaged (truncated or not a checkpoint)"
    return ""


def list_runs(root: Path, active: set[str] | None = None) -> list[RunInfo]:
    """Every run folder, newest first; broken ones are listed with their error, never raised."""
    try:
        entries = list(root.iterdir()) if root.is_dir() else []
    except OSError:
        return []
    infos = []
    for path in entries:
        if path.is_dir() and not path.name.startswith(".") and RUN_ID_PATTERN.fullmatch(path.name):
            infos.append(read_run(path, active))
    return sorted(infos, key=lambda info: (info.created, info.run_id), reverse=True)


def load_metrics(path: Path) -> Any:
    """metrics.csv as a DataFrame; a torn last line (crash mid-write) lacks the last column and is dropped."""
    import pandas as pd

    file = path / "metrics.csv"
    try:
        frame = pd.read_csv(file, on_bad_lines="skip")
    except FileNotFoundError:
        raise RunError("metrics.csv is missing") from None
    except (ValueError, OSError) as exc:  # pandas' parser and decoding errors are ValueErrors
        raise RunError(f"metrics.csv is unreadable ({type(exc).__name__})") from None
    missing = [c for c in METRIC_COLUMNS if c not in frame.columns]
    if missing:
        raise RunError(f"metrics.csv lacks columns {', '.join(missing)}")
    frame = frame[METRIC_COLUMNS].apply(pd.to_numeric, errors="coerce")
    return frame.dropna(subset=["step", METRIC_COLUMNS[-1]]).reset_index(drop=True)


@dataclass
class LoadedRun:
    """A trained model ready to use, with what it was trained on."""

    run_id: str
    path: Path
    model: Classifier
    config: TrainConfig
    categories: list[str]


def _load_state(file: Path) -> dict[str, Any]:
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RunError(f"{file.parent.name} has no {file.name}: it did not finish training") from None
    except pickle.UnpicklingError:
        # weights_only refuses anything but tensors and plain containers: such a file could run code.
        raise RunError(f"{file.name} is damaged or not a checkpoint: it holds more than weights, "
                       "so it was refused") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise RunError(f"{file.name} is damaged or not a checkpoint ({type(exc).__name__})") from None


def load_run(path: Path, categories: list[str] | None = None, device: str = "cpu",
             snapshot: int | None = None) -> LoadedRun:
    """Rebuild a run's model from its folder alone; snapshot=N loads the weights after epoch N."""
    ckpt = _load_state(path / "model.pt")
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "config" not in ckpt:
        raise RunError("model.pt is not an rnnviz checkpoint")
    if ckpt.get("alphabet") != ALPHABET:
        raise RunError("model.pt was trained with another alphabet")
    saved_categories = ckpt.get("categories")
    if (not isinstance(saved_categories, list) or len(saved_categories) < 2
            or not all(isinstance(c, str) for c in saved_categories)):
        raise RunError("model.pt has no list of categories")
    if categories is not None and saved_categories != list(categories):
        raise RunError("this run was trained on other categories than the current data")
    if not isinstance(ckpt["config"], dict):
        raise RunError("model.pt has no config")
    try:
        config = TrainConfig.from_dict(ckpt["config"])
    except (ValueError, TypeError) as exc:
        raise RunError(f"model.pt has a bad config ({str(exc).strip()[:120]})") from None
    model = build_model(config.model, len(ALPHABET), config.resolved_hidden_size, len(saved_categories))
    state = load_snapshot(path, snapshot) if snapshot is not None else ckpt["state_dict"]
    try:
        model.load_state_dict(state)
    except Exception as exc:  # wrong shapes, missing keys, or values that are not tensors
        raise RunError(f"model.pt does not match its config ({first_line(exc, 120)})") from None
    model.eval()
    return LoadedRun(path.name, path, model.to(device), config, saved_categories)


def list_snapshots(path: Path) -> list[int]:
    folder = path / "snapshots"
    if not folder.is_dir():
        return []
    epochs = []
    for file in folder.glob("epoch-*.pt"):
        try:
            epochs.append(int(file.stem.split("-")[1]))
        except (IndexError, ValueError):
            continue
    return sorted(epochs)


def load_snapshot(path: Path, epoch: int) -> dict[str, torch.Tensor]:
    saved = _load_state(path / "snapshots" / f"epoch-{int(epoch):03d}.pt")
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise RunError(f"snapshot {epoch} is not a snapshot")
    return saved["state_dict"]


def delete_run(root: Path, run_id: str) -> None:
    """Remove a run's folder; refused while any process is training it."""
    path = run_path(root, run_id)
    if not path.is_dir():
        raise RunError(f"no run {run_id!r}")
    if is_training(path):
        raise RunError(f"run {run_id} is still training: stop it first")
    try:
        remove_dir(path)
    except FileNotFoundError:  # deleted by someone else a moment ago
        raise RunError(f"no run {run_id!r}") from None
    except OSError as exc:
        raise RunError(f"cannot delete run {run_id}: {exc.strerror or exc}") from None


def train_run(config: TrainConfig, dataset, root: Path, control=None, callbacks=None,
              run_id: str | None = None, split=None, owner: str = TEACHER,
              owner_name: str = "", server: str = "") -> tuple[RunWriter, TrainResult | None]:
    """Train and record a run; an exception marks it failed (with the message) and is re-raised. `server`: the app
    server that launched it, recorded with the worker."""
    trainer = Trainer(config, dataset, control, split)
    writer = RunWriter(root, config, dataset.source, dataset.categories, run_id, owner=owner,
                       owner_name=owner_name, server=server).attach(trainer)
    try:
        for event, fn in (callbacks or []):
            trainer.add_callback(event, fn)
        try:
            result = trainer.run()
        except Exception as exc:
            try:
                writer.finish(None, "failed", failure(exc))
            except RunError:
                pass  # the disk refused the summary too; the exception below still says what happened
            raise
        writer.finish(result)
    finally:
        writer.close()
    return writer, result


def mark_failed(root: Path, run_id: str, message: str, worker: dict[str, Any] | None = None) -> bool:
    """Record that a run's worker died: summary.json with status failed and the reason, unless the run already has
    a summary or no folder. The run keeps its config and curves so far. Returns whether it wrote one."""
    path = run_path(Path(root), run_id)
    if not (path / "config.json").exists() or (path / "summary.json").exists():
        return False
    try:
        write_json(path / "summary.json", {"run_id": run_id, "status": "failed", "message": message,
                                           "finished": time.time(), "worker": dict(worker or {})})
        (path / TRAINING_LOCK).unlink(missing_ok=True)
    except OSError:
        return False
    return True


def read_board(root: Path) -> tuple[bool, float | None]:
    """The class board's switches: (hidden, frozen at); (False, None) when none were set or the file is unreadable."""
    try:
        values = _read_json(Path(root) / BOARD_FILE)
    except RunError:
        return False, None
    frozen = values.get("frozen_at")
    return bool(values.get("hidden")), float(frozen) if isinstance(frozen, (int, float)) else None


def write_board(root: Path, hidden: bool, frozen_at: float | None) -> None:
    """Record the class board's switches in the runs folder, where every app server on it reads them."""
    try:
        ensure_runs_dir(Path(root))
        write_json(Path(root) / BOARD_FILE, {"format": FORMAT_VERSION, "hidden": bool(hidden), "frozen_at": frozen_at})
    except OSError as exc:
        raise RunError(f"cannot record the board's settings in {root}: {exc.strerror or exc}") from None


def write_queue(root: Path, entries: list[dict[str, Any]], taken: dict[str, dict[str, Any]] | None = None,
                servers: dict[str, dict[str, Any]] | None = None) -> None:
    """Record the trainings waiting for a worker (in order), the ones app servers took from the line lately
    (`taken`: run id -> {"by": server, "at": time, "failed": reason if it could not start}) and the servers that
    share the folder (`servers`: server -> {"workers": N, "at": last seen}); no file when none wait or were taken."""
    path = Path(root) / QUEUE_FILE
    try:
        if entries or taken:
            write_json(path, {"format": FORMAT_VERSION, "queued": entries, "taken": taken or {},
                              "servers": servers or {}})
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise RunError(f"cannot record the queue in {root}: {exc.strerror or exc}") from None


@contextmanager
def queue_locked(root: Path):
    """Hold the runs folder's queue lock: every app server on the folder takes it to read and change the queue, so
    two servers never take the same training (an flock, which NFS v4 and local disks honour; none where the system
    has no fcntl, and then only one server may use a runs folder)."""
    root = ensure_runs_dir(Path(root))
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(root / QUEUE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RunError(f"cannot lock the queue in {root}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # drops the lock


def request_control(root: Path, run_id: str, action: str, by: str) -> None:
    """Ask whichever app server trains `run_id` to stop, pause or resume it: a request in the run's folder that the
    server looks for twice a second and honours when `by` may control the run (the owner or the teacher)."""
    if action not in CONTROL_ACTIONS:
        raise ValueError(f"unknown control {action!r}: choose one of {', '.join(CONTROL_ACTIONS)}")
    path = run_path(Path(root), run_id)
    try:
        write_json(path / CONTROL_FILE, {"action": action, "by": by, "at": time.time()})
    except OSError as exc:
        raise RunError(f"cannot ask the server that trains {run_id} to {action} it: {exc.strerror or exc}") from None


def take_control_request(path: Path) -> dict[str, Any] | None:
    """The stop, pause or resume request left in a run's folder by another server, removed as it is read; None
    when there is none or it cannot be read."""
    file = Path(path) / CONTROL_FILE
    if not file.exists():
        return None
    try:
        values = _read_json(file)
        file.unlink(missing_ok=True)
    except (RunError, OSError):
        return None
    action, by = values.get("action"), values.get("by")
    return {"action": action, "by": by} if action in CONTROL_ACTIONS and isinstance(by, str) else None


def write_probe(root: Path, config: dict[str, Any], rows: list[dict[str, Any]], status: str, message: str,
                finished: float) -> None:
    """Keep the last memory-probe sweep's settings and results (replacing the one before)."""
    try:
        ensure_runs_dir(Path(root))
        write_json(Path(root) / PROBE_FILE, {"format": FORMAT_VERSION, "config": config, "rows": rows,
                                             "status": status, "message": message, "finished": finished})
    except OSError as exc:
        raise RunError(f"cannot keep the probe's results in {root}: {exc.strerror or exc}") from None


def read_probe(root: Path) -> dict[str, Any] | None:
    """The last memory-probe sweep kept by write_probe, or None when there is none or it cannot be read."""
    path = Path(root) / PROBE_FILE
    if not path.exists():
        return None
    try:
        values = _read_json(path)
    except RunError:
        return None
    if values.get("format") != FORMAT_VERSION or not isinstance(values.get("config"), dict) \
            or not isinstance(values.get("rows"), list):
        return None
    return values


def read_queue(root: Path) -> list[dict[str, Any]]:
    """The trainings waiting for a worker, first in line first; entries that cannot be read are dropped."""
    return read_queue_state(root)[0]


def read_queue_state(root: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The queue file as (waiting entries, taken lately, servers); see write_queue. Empty when there is none."""
    path = Path(root) / QUEUE_FILE
    if not path.exists():
        return [], {}, {}
    try:
        values = _read_json(path)
    except RunError:
        return [], {}, {}
    if values.get("format") != FORMAT_VERSION:
        return [], {}, {}
    entries, taken, servers = values.get("queued"), values.get("taken"), values.get("servers")
    entries = [e for e in entries if isinstance(e, dict) and isinstance(e.get("config"), dict)
               and isinstance(e.get("run_id"), str)] if isinstance(entries, list) else []
    taken = {k: v for k, v in taken.items() if isinstance(v, dict)} if isinstance(taken, dict) else {}
    servers = {k: v for k, v in servers.items() if isinstance(v, dict)} if isinstance(servers, dict) else {}
    return entries, taken, servers
