"""Background jobs: trainings and long tasks run in worker processes; one thread per job here follows each.

One JobManager serves a whole process (the app keeps a single instance), so every method is thread-safe.
A job's compute runs elsewhere, in one of three ways (a "runner"):

- worker processes (the default): each job runs in a process forked from a server process that imported torch
  once, ahead of the first click, so a job starts in a fraction of a second; one torch thread each. Threads in
  one process stop scaling at two trainings (the interpreter lock), processes scale with the cores
  (benchmarks/throughput.py).
- a Dask cluster (`scheduler="tcp://HOST:PORT"`, the optional `cluster` extra): the same jobs go to its workers;
  run folders must lie on storage that every worker and this server reach.
- threads of this process (`in_process=True`): the layout before worker processes; kept for the throughput
  benchmark's comparison and for tests that patch the library in this process.

Whatever runs it, a job tells its follower what happens through events ("begin" with the worker's host and pid,
"start", "eval" rows, a task's "report"s, "end"), and takes stop and pause requests through a Control shared with
the worker. The run folder is the contract for what lasts: the worker writes it as it trains (rnnviz.runs). A
worker that dies (killed, out of memory, a lost cluster machine) fails its run with a one-line reason and frees
its slot; nothing else is touched.

At most `max_concurrent` jobs hold a worker; a training started beyond that waits as `queued` in a first-in-first-out
queue and starts by itself when a worker frees. The queue lives in the runs folder (rnnviz.runs.write_queue, under
its file lock), so every app server on the folder shares one line (see JobManager) and a restarted server starts
the trainings that were waiting (`restore_queue`).

Every job has an owner (an opaque id from the caller, or TEACHER). Only the owner or the teacher may stop, pause,
resume, cancel or delete it (`may_control`; others get a PermissionError); `per_owner` caps one owner's active
or queued jobs, tasks included, except the teacher's.
"""

from __future__ import annotations

import copy
import heapq
import multiprocessing
import multiprocessing.popen_forkserver
import multiprocessing.spawn
import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .data import NameDataset, Split, load_folder
from .runs import (
    TEACHER,
    RunError,
    clean_name,
    delete_run,
    ensure_runs_dir,
    failure,
    is_training,
    load_metrics,
    mark_failed,
    new_run_id,
    queue_locked,
    read_queue_state,
    read_run,
    read_worker,
    request_control,
    run_path,
    take_control_request,
    train_run,
    worker_identity,
    write_queue,
)
from .train import Control

WORKING = ("running", "paused", "stopping")  # holding a worker; stopping: asked to stop, final evaluation under way
ACTIVE = ("queued", *WORKING)
CANCELLED = "cancelled"  # taken out of the queue before it started
NOT_STARTED = "not started"  # a queued training a restarted server could not start (its data is gone)
KEEP_ENDED = 64  # ended jobs remembered for the pages' end-of-run notices; older ones live on disk only
DEFAULT_MAX_QUEUE = 60
RECENT_DURATIONS = 8  # ended trainings whose lengths estimate how long a queued one will take
MAX_JOBS_ENV, SCHEDULER_ENV, WORKERS_ENV = "RNNVIZ_MAX_JOBS", "RNNVIZ_SCHEDULER", "RNNVIZ_WORKERS"
TORCH_THREADS = 1  # per worker: the models are small, and one thread each uses the cores best
# What a worker needs, imported once by the fork server: this module (so torch), the scikit-learn parts the
# training's scores and the n-gram fit use (else each worker imports them at its first score), and rnnviz.warm, whose
# import trains every model once so that torch's lazy set-up is done before the fork (1.2-1.6 s a worker otherwise).
WARM_MODULES = ("rnnviz.jobs", "sklearn.metrics", "sklearn.linear_model", "sklearn.feature_extraction.text",
                "rnnviz.warm")
POLL_S = 0.25  # how often a Dask job's follower and its worker's control look for news
SHARED_POLL_S = 0.5  # how often a manager looks at the shared queue and at control requests from other servers
HEARTBEAT_S = 5.0  # how often a manager tells the runs folder it is there (with its workers), for the wait estimates
SERVER_GONE_S = 30.0  # a server not heard of for this long no longer counts towards the workers
TAKEN_KEEP_S = 3600.0  # how long the queue file remembers which server took a training that has no folder yet
CLAIM_SEEN_S = 60.0  # ... and one whose folder exists, when the server that queued it never came to read it
START_GRACE_S = 120.0  # a training another server took must have its folder by then, or it counts as failed


class JobLimitError(ValueError):
    """A limit that protects the server: runs per owner, or the length of the queue."""


def default_max_jobs(cores: int | None = None) -> int:
    """Jobs at once on this machine: its cores less one (for the server and the pages), at least 1."""
    cores = os.cpu_count() if cores is None else cores
    return max(1, (cores or 2) - 1)


def max_jobs_from_env() -> int:
    """RNNVIZ_MAX_JOBS when it is a whole number of at least 1, else `default_max_jobs()`."""
    try:
        value = int(os.environ.get(MAX_JOBS_ENV, ""))
    except ValueError:
        return default_max_jobs()
    return value if value >= 1 else default_max_jobs()


def scheduler_from_env() -> str | None:
    """RNNVIZ_SCHEDULER (a Dask scheduler's address, tcp://HOST:PORT), or None for this machine's workers."""
    return os.environ.get(SCHEDULER_ENV, "").strip() or None


def threads_from_env() -> bool:
    """Whether jobs run in the server's threads: RNNVIZ_WORKERS=threads, or a system without a fork server."""
    return (os.environ.get(WORKERS_ENV, "").strip() == "threads"
            or "forkserver" not in multiprocessing.get_all_start_methods())


def may_control(owner: str, by: str) -> bool:
    """Whether `by` may stop, pause, resume, cancel or delete a job or run owned by `owner`."""
    return bool(by) and (by == TEACHER or by == (owner or TEACHER))


def _refuse(what: str, run_id: str) -> PermissionError:
    return PermissionError(f"only its owner or the teacher may {what} {run_id}")


def estimate_waits(remaining: list[float | None], workers: int, typical: float | None,
                   queued: int) -> list[float | None]:
    """Seconds until each of `queued` waiting trainings starts, first in line first.

    `remaining`: the seconds left of each training holding a worker (None when unknown: it counts as `typical`);
    each waiting training is taken to last `typical` seconds. None where nothing is known to estimate from.
    """
    free: list[float] = [0.0] * max(0, workers - len(remaining))
    for left in remaining:
        if left is None and typical is None:
            return [None] * queued
        free.append(max(0.0, left if left is not None else typical))
    heapq.heapify(free)
    waits: list[float | None] = []
    for _ in range(queued):
        if not free:
            return waits + [None] * (queued - len(waits))
        start = heapq.heappop(free)
        waits.append(start)
        if typical is None:  # the first ones in line are known; after them, nothing is
            continue
        heapq.heappush(free, start + typical)
    return waits


# ---------------------------------------------------------------- what a worker runs


@dataclass
class Task:
    """What a task's `work(task)` gets in its worker: its config, the control to honour, and `report`."""

    config: Any
    control: Control
    emit: Callable[[str, dict[str, Any]], None]
    root: Path  # the runs folder, for a task that keeps its results there

    def report(self, done: int | None = None, current: str | None = None, row: dict[str, Any] | None = None) -> None:
        """Tell the task's readers the steps done, what it is doing now (in words), or a result row."""
        self.emit("report", {"done": done, "current": current, "row": None if row is None else dict(row)})


def execute(payload: dict[str, Any], control: Control, emit: Callable[[str, dict[str, Any]], None]) -> None:
    """One job, in whichever process or thread runs it: train and record a run, or run a task's `work`.

    Everything it has to say goes through `emit(kind, values)`; it ends with an "end" event, also on failure.
    """
    emit("begin", worker_identity(payload.get("server", "")))
    try:
        if payload["kind"] != "train":
            status, message = payload["work"](Task(payload["config"], control, emit, Path(payload["root"])))
            emit("end", {"status": status, "message": message, "summary": {}})
            return
        _, result = train_run(
            payload["config"], payload["dataset"], Path(payload["root"]), control,
            callbacks=[("on_start", lambda event: emit("start", {"total_steps": event["total_steps"]})),
                       ("on_eval", lambda row: emit("eval", dict(row)))],
            run_id=payload["run_id"], split=payload["split"], owner=payload["owner"],
            owner_name=payload["owner_name"], server=payload.get("server", ""))
        emit("end", {"status": result.status, "message": result.message, "summary": {
            "val_accuracy": result.val.get("accuracy"),
            "val_balanced_accuracy": result.val.get("balanced_accuracy"),
            "test_accuracy": result.test.get("accuracy"), "train_seconds": result.train_seconds}})
    except Exception as exc:  # the run is marked failed on disk by train_run; the reason goes to the follower
        emit("end", {"status": "failed", "message": failure(exc), "summary": {}})


class _SharedControl(Control):
    """A Control whose flags are multiprocessing events, so the server and a worker process share them."""

    def __init__(self, context) -> None:
        super().__init__()
        self._stop, self._running = context.Event(), context.Event()
        self._running.set()


def _process_main(payload: dict[str, Any], sender, control: _SharedControl) -> None:
    """A worker process's whole life: one job, its events sent down `sender`."""
    import torch

    torch.set_num_threads(TORCH_THREADS)
    try:
        execute(payload, control, lambda kind, values: sender.send((kind, values)))
    finally:
        sender.close()


def _noop() -> None:
    """Started once so the fork server (with torch imported) is ready before the first job."""


def _death(process, worker: dict[str, Any] | None) -> str:
    """Why a worker process ended without saying so, in one line."""
    pid = (worker or {}).get("pid") or process.pid
    code = process.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        cause = " (out of memory, or stopped by hand)" if -code == signal.SIGKILL else ""
        return f"its worker process (pid {pid}) was killed by {name}{cause}"
    return f"its worker process (pid {pid}) ended unexpectedly (exit code {code})"


_LAUNCH_LOCK = threading.Lock()


def _preparation_without_main(name: str) -> dict[str, Any]:
    """What a new worker is told to prepare, less the re-run of the parent's main script: in a Streamlit server (and
    under AppTest) `__main__` is whichever page script ran last, which a worker must not run again (it would draw a
    page in the worker, or fail on a temporary script that is gone). A worker needs only rnnviz, imported by name."""
    data = _ORIGINAL_PREPARATION(name)
    data.pop("init_main_from_path", None)
    data.pop("init_main_from_name", None)
    return data


_ORIGINAL_PREPARATION = multiprocessing.spawn.get_preparation_data


class _WorkerPopen(multiprocessing.popen_forkserver.Popen):
    """The fork server's launcher, telling the worker to prepare without the parent's main script."""

    def _launch(self, process_obj) -> None:
        with _LAUNCH_LOCK:
            multiprocessing.spawn.get_preparation_data = _preparation_without_main
            try:
                super()._launch(process_obj)
            finally:
                multiprocessing.spawn.get_preparation_data = _ORIGINAL_PREPARATION


class _WorkerProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _WorkerPopen(process_obj)


class _ProcessRunner:
    """Each job in a process forked from a fork server that imported torch once (started ahead by `warm`)."""

    name = "processes"

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("forkserver")
        # The fork server imports these once; each worker is a fork of it, ready at once.
        self.context.set_forkserver_preload(list(WARM_MODULES))
        threading.Thread(target=self._warm, name="rnnviz-warm-workers", daemon=True).start()

    def _warm(self) -> None:
        try:
            process = _WorkerProcess(target=_noop, daemon=True)
            process.start()
            process.join(120)
        except Exception:  # the first job starts the fork server itself, and says so if it cannot
            pass

    def control(self, job_id: str) -> Control:
        return _SharedControl(self.context)

    def run(self, job_id: str, payload: dict[str, Any], control: Control,
            emit: Callable[[str, dict[str, Any]], None]) -> str | None:
        """Run a job to its end; a one-line reason when its worker died without an "end" event, else None."""
        receiver, sender = self.context.Pipe(duplex=False)
        process = _WorkerProcess(target=_process_main, args=(payload, sender, control), daemon=True,
                                 name=f"rnnviz-{job_id}")
        try:
            process.start()
        finally:
            sender.close()  # the worker holds the only writing end: its death ends the reading below
        ended, worker = False, None
        try:
            while True:
                try:
                    kind, values = receiver.recv()
                except (EOFError, OSError):
                    break
                if kind == "begin":
                    worker = values
                ended = ended or kind == "end"
                emit(kind, values)
        finally:
            receiver.close()
            process.join(30)
        return None if ended else _death(process, worker)

    def close(self) -> None:
        pass


class _DaskControl(Control):
    """The server's side of a Dask job's control: each request is also set on the cluster (distributed.Event)."""

    def __init__(self, client, job_id: str) -> None:
        from distributed import Event

        super().__init__()
        self.names = (f"rnnviz-stop-{job_id}", f"rnnviz-pause-{job_id}")
        self._remote_stop, self._remote_pause = (Event(name, client=client) for name in self.names)

    def stop(self) -> None:
        super().stop()
        self._remote_stop.set()
        self._remote_pause.clear()

    def pause(self) -> None:
        super().pause()
        if self.paused:
            self._remote_pause.set()

    def resume(self) -> None:
        super().resume()
        self._remote_pause.clear()


class _MirroredControl(Control):
    """A Dask worker's side: a local Control that a thread keeps equal to the cluster's events."""

    def __init__(self, names: tuple[str, str]) -> None:
        from distributed import Event

        super().__init__()
        self._remote_stop, self._remote_pause = (Event(name) for name in names)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._mirror, name="rnnviz-control", daemon=True)
        self._thread.start()

    def _mirror(self) -> None:
        while not self._done.wait(POLL_S):
            try:
                if self._remote_stop.is_set():
                    self.stop()
                elif self._remote_pause.is_set():
                    self.pause()
                else:
                    self.resume()
            except Exception:  # the scheduler is briefly unreachable: keep the last state
                continue

    def close(self) -> None:
        self._done.set()


def _dask_main(payload: dict[str, Any], events_name: str, control_names: tuple[str, str]) -> None:
    """A job on a Dask worker: its events go to a distributed.Queue the server's follower reads."""
    import torch
    from distributed import Queue

    torch.set_num_threads(TORCH_THREADS)
    events = Queue(events_name)
    if payload["kind"] == "train" and (Path(payload["root"]) / payload["run_id"]).exists():
        # The scheduler gave the job to a second worker after the first was lost: do not train it twice.
        events.put(("begin", worker_identity(payload.get("server", ""))))
        return
    control = _MirroredControl(control_names)
    try:
        execute(payload, control, lambda kind, values: events.put((kind, values)))
    finally:
        control.close()


class _DaskRunner:
    """Each job as a task on a Dask cluster; its events come back through a distributed.Queue."""

    name = "dask"

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise RunError("a scheduler needs Dask: pip install -e .[cluster]") from None
        try:
            self.client = Client(address, set_as_default=False, timeout=30)
        except OSError as exc:
            raise RunError(f"cannot reach the Dask scheduler at {address}: {failure(exc)}") from None

    def control(self, job_id: str) -> Control:
        return _DaskControl(self.client, job_id)

    def run(self, job_id: str, payload: dict[str, Any], control: _DaskControl,
            emit: Callable[[str, dict[str, Any]], None]) -> str | None:
        from distributed import Queue

        events = Queue(f"rnnviz-events-{job_id}", client=self.client)
        future = self.client.submit(_dask_main, payload, events.name, control.names, key=f"rnnviz-{job_id}",
                                    pure=False)
        worker = None
        try:
            while True:
                try:
                    kind, values = events.get(timeout=POLL_S)
                except TimeoutError:
                    if future.status in ("error", "cancelled", "lost"):
                        reason = future.exception() if future.status == "error" else future.status
                        return f"its Dask task ended without a result: {failure(reason) if reason else 'lost'}"
                    continue
                if kind == "begin" and worker is not None:
                    control.stop()
                    return (f"its worker on {worker.get('host')} (pid {worker.get('pid')}) was lost mid-run; "
                            "start it again")
                worker = values if kind == "begin" else worker
                emit(kind, values)
                if kind == "end":
                    return None
        finally:
            future.release()

    def close(self) -> None:
        self.client.close()


class _ThreadRunner:
    """Each job in a thread of this process: its follower runs it (see the module's docstring for why)."""

    name = "threads"

    def control(self, job_id: str) -> Control:
        return Control()

    def run(self, job_id: str, payload: dict[str, Any], control: Control,
            emit: Callable[[str, dict[str, Any]], None]) -> str | None:
        execute(payload, control, emit)
        return None

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- the server's side


@dataclass
class JobSnapshot:
    """A consistent copy of a job's state, safe to read without locks."""

    run_id: str
    config: TrainConfig | Any  # a TrainConfig for trainings, the task's own config otherwise
    status: str
    message: str
    rows: list[dict[str, Any]]
    step: int
    total_steps: int
    started: float
    summary: dict[str, Any] = field(default_factory=dict)
    owner: str = TEACHER
    owner_name: str = ""
    position: int | None = None  # 1 for the next to start, while queued
    wait_s: float | None = None  # estimated seconds until it starts, while queued
    kind: str = "train"  # train, or the name of a task ("probe")
    current: str = ""  # what a task is doing now, in words
    seconds: float = 0.0  # since it started, or its whole time once ended
    worker: dict[str, Any] = field(default_factory=dict)  # {"host", "pid"} of the process running it
    elsewhere: str = ""  # the app server that took it from the shared queue, when not this one

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


class Job:
    def __init__(self, run_id: str, config: TrainConfig | Any, owner: str, owner_name: str = "",
                 kind: str = "train", dataset: NameDataset | None = None, split: Split | None = None,
                 work: Callable[[Task], tuple[str, str]] | None = None, total_steps: int = 0):
        self.run_id = run_id
        self.config = config
        self.kind = kind
        self.dataset = dataset  # kept while queued; dropped once the worker has it
        self.split = split
        self.work = work
        self.data_source = str(dataset.source) if dataset is not None else ""
        self.owner = owner or TEACHER
        self.owner_name = clean_name(owner_name)
        self.steps_done = 0  # a task's steps so far (a training's come from its rows)
        self.current = ""
        self.ended: float | None = None
        self.control = Control()  # replaced by the runner's own when the job starts
        self.lock = threading.Lock()
        self.rows: list[dict[str, Any]] = []
        self.status = "queued"
        self.message = ""
        self.total_steps = int(total_steps)
        self.started = time.time()  # when it was queued, then when it started
        self.summary: dict[str, Any] = {}
        self.worker: dict[str, Any] = {}
        self.thread: threading.Thread | None = None
        self.done = threading.Event()  # set when it has ended, was cancelled or could not start
        self.elsewhere = ""  # the app server training it, when another server on the runs folder took it
        self.requested: tuple[str, str] | None = None  # a control for that server, not yet delivered

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Job:
        """A training as the shared queue file records it (another server may have queued it); its names are
        loaded from `data` when a worker takes it."""
        job = cls(entry["run_id"], TrainConfig.from_dict(entry["config"]), str(entry.get("owner") or TEACHER),
                  str(entry.get("owner_name") or ""))
        job.data_source = str(entry.get("data") or "")
        job.started = float(entry.get("queued") or time.time())
        return job

    @property
    def what(self) -> str:
        """The job in words: "training", or the task's name."""
        return "training" if self.kind == "train" else self.kind

    def queue_entry(self, server: str = "") -> dict[str, Any]:
        return {"run_id": self.run_id, "config": self.config.to_dict(), "data": self.data_source,
                "owner": self.owner, "owner_name": self.owner_name, "queued": self.started, "server": server}

    def payload(self, root: Path, server: str = "") -> dict[str, Any]:
        """What its worker needs, all of it picklable; the dataset and split leave the server's memory."""
        payload = {"kind": self.kind, "config": self.config, "run_id": self.run_id, "root": str(root),
                   "dataset": self.dataset, "split": self.split, "work": self.work, "owner": self.owner,
                   "owner_name": self.owner_name, "server": server}
        self.dataset = self.split = None
        return payload

    def snapshot(self, position: int | None = None, wait_s: float | None = None) -> JobSnapshot:
        with self.lock:
            status = self.status
            if status == "running" and self.control.stopped:
                status = "stopping"
            elif status == "running" and self.control.paused:
                status = "paused"
            step = (int(self.rows[-1]["step"]) if self.rows else 0) if self.kind == "train" else self.steps_done
            seconds = (self.ended or time.time()) - self.started
            return JobSnapshot(self.run_id, self.config, status, self.message, list(self.rows), step,
                               self.total_steps, self.started, dict(self.summary), self.owner, self.owner_name,
                               position, wait_s, self.kind, self.current, seconds, dict(self.worker),
                               self.elsewhere)

    def remaining_s(self) -> float | None:
        """Seconds of training left by the trainer's own estimate; None before its first point."""
        with self.lock:
            return float(self.rows[-1]["eta_s"]) if self.rows and "eta_s" in self.rows[-1] else None

    def on_event(self, kind: str, values: dict[str, Any]) -> None:
        """What its worker said (see `execute`)."""
        with self.lock:
            if kind == "begin":
                self.worker = dict(values)
            elif kind == "start":
                self.total_steps = int(values["total_steps"])
            elif kind == "eval":
                self.rows.append(values)
            elif kind == "report":
                if values.get("done") is not None:
                    self.steps_done = int(values["done"])
                if values.get("current") is not None:
                    self.current = values["current"]
                if values.get("row") is not None:
                    self.rows.append(values["row"])
            elif kind == "end":
                self.status, self.message = values["status"], values["message"]
                self.summary = dict(values.get("summary") or {})


class JobManager:
    """Starts, queues, controls and forgets background jobs; at most `max_concurrent` run here at once.

    `scheduler`: a Dask scheduler's address to send the jobs to; `in_process`: run them in this process's threads
    instead of worker processes (see the module's docstring). `load_dataset(folder)`: how to load the names of a
    training that another app server on the same runs folder queued (without it, this manager takes only its own
    trainings from the shared queue; `restore_queue` sets it too).

    The queue is shared by every manager (every app server) on the runs folder: it lives in the folder's queue file,
    changed under a file lock, so a class behind several servers waits in one line, first come first served, and a
    server with a free worker takes the next training whoever queued it. The server that queued a training another
    one took follows it from its run folder (its curve, its end), and passes its owner's stop, pause and resume on
    through a request in that folder, which the training's server honours within a second.
    """

    def __init__(self, root: Path, max_concurrent: int | None = None, per_owner: int | None = None,
                 max_queue: int = DEFAULT_MAX_QUEUE, scheduler: str | None = None, in_process: bool = False,
                 load_dataset: Callable[[str], NameDataset] | None = None):
        self.root = Path(root)
        self.max_concurrent = max_concurrent or default_max_jobs()
        self.per_owner = per_owner  # active-or-queued jobs of one owner but the teacher; None: no cap
        self.max_queue = max_queue
        if scheduler:
            self._runner: Any = _DaskRunner(scheduler)
        elif in_process:
            self._runner = _ThreadRunner()
        else:
            self._runner = _ProcessRunner()
        self._jobs: dict[str, Job] = {}
        self._waiting: dict[str, Job] = {}  # this server's jobs that wait in the shared queue
        self._load_dataset = load_dataset
        self.server = f"{worker_identity()['host']}:{os.getpid()}:{os.urandom(3).hex()}"
        self._heartbeat = 0.0
        self._durations: list[float] = []
        self._closed = False
        self._lock = threading.Lock()
        self._halt = threading.Event()  # set by shutdown: the shared queue's poller and the followers stop
        self._poller = threading.Thread(target=self._poll, name="rnnviz-shared-queue", daemon=True)
        self._poller.start()

    @property
    def runner(self) -> str:
        """Where jobs run: "processes", "dask" or "threads"."""
        return self._runner.name

    # ------------------------------------------------------------ the queue every server on the runs folder shares

    @contextmanager
    def _shared(self):
        """The runs folder's queue as (entries, taken, servers), under its file lock, to read or change in place;
        written back when the block changed it. A claim (which server took a training) stays until the server that
        queued the training has seen it, or a minute after its folder appeared; servers not heard of lately are
        dropped."""
        with queue_locked(self.root):
            entries, taken, servers = read_queue_state(self.root)
            before = copy.deepcopy((entries, taken, servers))
            now = time.time()
            taken = {run_id: claim for run_id, claim in taken.items() if now - float(claim.get("at") or 0) < (
                TAKEN_KEEP_S if claim.get("failed") or not (self.root / run_id).is_dir() else CLAIM_SEEN_S)}
            servers = {name: seen for name, seen in servers.items()
                       if now - float(seen.get("at") or 0) < SERVER_GONE_S}
            yield entries, taken, servers
            if (entries, taken, servers) != before:
                write_queue(self.root, entries, taken, servers if entries else {})

    def _queue_view(self) -> tuple[list[dict[str, Any]], int]:
        """The shared queue's entries, in order, and the workers of the other servers heard of lately (read without
        the lock: the file is replaced whole, never written in place)."""
        entries, _, servers = read_queue_state(self.root)
        now = time.time()
        others = sum(int(seen.get("workers") or 0) for name, seen in servers.items()
                     if name != self.server and now - float(seen.get("at") or 0) < SERVER_GONE_S)
        return entries, others

    def _can_take(self, entry: dict[str, Any]) -> bool:
        """Whether this server can train a queued entry: its own, or anyone's once it knows how to load data."""
        return entry["run_id"] in self._waiting or self._load_dataset is not None

    def _poll(self) -> None:
        """Twice a second: take trainings from the shared queue while workers are free, notice this server's
        queued trainings that another server took or cancelled, honour control requests from other servers."""
        while not self._halt.wait(SHARED_POLL_S):
            try:
                self._sync()
            except Exception:  # the runs folder was briefly unreachable: try again at the next poll
                continue

    def _sync(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._promote()
            now = time.time()
            with self._shared() as (entries, taken, servers):
                if entries and (now - self._heartbeat >= HEARTBEAT_S or self.server not in servers):
                    servers[self.server] = {"workers": self.max_concurrent, "at": now}
                    self._heartbeat = now
                queued = {entry["run_id"] for entry in entries}
                moved = {run_id: job for run_id, job in self._waiting.items() if run_id not in queued}
                claims = {run_id: taken.pop(run_id) for run_id in moved if run_id in taken}  # seen: done with
            for run_id, job in moved.items():
                del self._waiting[run_id]
                if run_id in claims or (self.root / run_id).is_dir():
                    self._follow_elsewhere(job, claims.get(run_id, {}))
                else:  # cancelled on another server
                    del self._jobs[run_id]
                    job.dataset = job.split = None
                    with job.lock:
                        job.status = CANCELLED
                    job.done.set()
            here = [job for job in self._jobs.values()
                    if job.status == "running" and not job.elsewhere and job.kind == "train"]
        for job in here:
            request = take_control_request(self.root / job.run_id)
            if request is not None and may_control(job.owner, request["by"]):
                with job.lock:
                    getattr(job.control, request["action"])()

    def _follow_elsewhere(self, job: Job, claim: dict[str, Any]) -> None:
        """Follow, from its run folder, a training of ours that another server took (under self._lock)."""
        job.elsewhere = str(claim.get("by") or "another server")
        job.status = "running"
        job.started = float(claim.get("at") or time.time())
        job.dataset = job.split = None
        job.thread = threading.Thread(target=self._watch, args=(job,), name=f"rnnviz-watch-{job.run_id}",
                                      daemon=True)
        job.thread.start()

    def _watch(self, job: Job) -> None:
        """Keep a job that another server trains up to date from its folder, until its summary is written."""
        path = self.root / job.run_id
        seen, idle_since = None, None
        try:
            while not self._halt.is_set():
                if job.requested and path.is_dir():
                    action, by = job.requested
                    try:
                        request_control(self.root, job.run_id, action, by)
                        job.requested = None
                    except RunError:
                        pass
                if (path / "summary.json").exists():
                    self._read_elsewhere(job, path, seen)
                    info = read_run(path)
                    summary = info.summary
                    with job.lock:
                        job.status = "failed" if info.status == "unreadable" else info.status  # its summary's
                        job.message = str(summary.get("message") or info.error or "")
                        job.summary = {key: summary.get(key) for key in SUMMARY_KEYS}
                        job.worker = dict(summary.get("worker") or job.worker)
                        job.total_steps = int(summary.get("steps") or job.total_steps)
                    return
                if path.is_dir():
                    seen = self._read_elsewhere(job, path, seen)
                    if is_training(path):
                        idle_since = None
                    elif idle_since is None:
                        idle_since = time.time()
                    elif time.time() - idle_since > START_GRACE_S / 20 and not (path / "summary.json").exists():
                        self._fail_elsewhere(job, "the server that trained it stopped without a result")
                        return
                else:
                    claim = read_queue_state(self.root)[1].get(job.run_id, {})
                    if claim.get("failed"):
                        self._fail_elsewhere(job, str(claim["failed"]))
                        return
                    if time.time() - job.started > START_GRACE_S:
                        self._fail_elsewhere(job, "another server took it from the queue but never started it")
                        return
                self._halt.wait(SHARED_POLL_S)
        finally:
            with job.lock:
                job.ended = time.time()
            if job.status != "running":
                job.done.set()

    @staticmethod
    def _read_elsewhere(job: Job, path: Path, seen: tuple | None) -> tuple | None:
        """Take a folder's curve rows and worker into the job when metrics.csv changed; its new (size, mtime)."""
        try:
            stat = (path / "metrics.csv").stat()
        except OSError:
            return seen
        if (stat.st_size, stat.st_mtime_ns) == seen:
            return seen
        try:
            rows = load_metrics(path).to_dict("records")
        except RunError:
            return seen
        worker = read_worker(path)
        with job.lock:
            job.rows = rows
            job.worker = worker or job.worker
            if rows and rows[-1].get("elapsed_s"):
                last = rows[-1]
                job.total_steps = int(round(last["step"] + last["eta_s"] * last["step"] / last["elapsed_s"]))
        return (stat.st_size, stat.st_mtime_ns)

    @staticmethod
    def _fail_elsewhere(job: Job, message: str) -> None:
        with job.lock:
            job.status, job.message = "failed", message

    # ------------------------------------------------------------ starting

    def _check_cap(self, owner: str, entries: list[dict[str, Any]]) -> None:
        """JobLimitError when `owner` (not the teacher) has `per_owner` jobs active here or queued on any server
        (under self._lock)."""
        if self.per_owner is None or owner == TEACHER:
            return
        mine = [j for j in self._jobs.values() if j.status in ACTIVE and j.owner == owner]
        queued_elsewhere = [e for e in entries if e.get("owner") == owner and e["run_id"] not in self._jobs]
        if len(mine) + len(queued_elsewhere) >= self.per_owner:
            what = "trainings" if all(j.kind == "train" for j in mine) else "trainings or sweeps"
            raise JobLimitError(
                f"you already have {len(mine) + len(queued_elsewhere)} {what} running or queued "
                f"(at most {self.per_owner} each): wait for one to finish, or stop or cancel one")

    def _working(self) -> int:
        """Jobs holding one of this server's workers."""
        return sum(j.status == "running" and not j.elsewhere for j in self._jobs.values())

    def start(self, config: TrainConfig, dataset: NameDataset, split: Split | None = None, run_id: str | None = None,
              *, owner: str, owner_name: str = "", capped: bool = True) -> str:
        """Launch a training, or queue it when every worker is busy or others wait, and return its run id at once.

        JobLimitError when its owner has `per_owner` jobs active or queued (unless not `capped`) or the queue is
        full; RunError for a bad run id or a runs directory that cannot be written.
        """
        if not owner:
            raise ValueError("a training needs an owner")
        config.validate()
        if run_id is not None:
            run_path(self.root, run_id)
        ensure_runs_dir(self.root)
        with self._lock:
            if self._closed:
                raise RunError("the server is shutting down: start the training again once it is back")
            with self._shared() as (entries, taken, _):
                if capped:
                    self._check_cap(owner, entries)
                if self._working() >= self.max_concurrent and len(entries) >= self.max_queue:
                    raise JobLimitError(f"the queue is full ({len(entries)} trainings are waiting): "
                                        "try again when some have started")
                waiting = {entry["run_id"] for entry in entries} | set(taken)
                if run_id is None:
                    run_id = self._fresh_id(config, waiting)
                elif run_id in self._jobs or run_id in waiting or (self.root / run_id).exists():
                    raise ValueError(f"a job named {run_id!r} already exists")
                self._forget_old_ended()
                job = Job(run_id, config, owner, owner_name, dataset=dataset, split=split)
                self._jobs[run_id] = job
                if self._working() < self.max_concurrent and not entries:
                    self._launch(job)
                else:
                    entries.append(job.queue_entry(self.server))
                    self._waiting[run_id] = job
            self._promote()  # a worker may be free while others' trainings it cannot take wait first
        return run_id

    def start_task(self, kind: str, config: Any, work: Callable[[Task], tuple[str, str]], total_steps: int,
                   *, owner: str, owner_name: str = "") -> str:
        """Run `work(task)` in a worker like a training, under the same limit; returns the job's id.

        `work` must be a module-level function (it travels to the worker by name); it honours task.control
        (stop, pause), reports through task.report, and returns (status, message). A task writes no run
        folder; its results are the job's rows. JobLimitError when every worker is busy or its owner is at the cap.
        """
        if not owner:
            raise ValueError(f"a {kind} needs an owner")
        with self._lock:
            if self._closed:
                raise RunError(f"the server is shutting down: start the {kind} again once it is back")
            self._check_cap(owner, self._queue_view()[0])
            running = self._working()
            if running >= self.max_concurrent:
                raise JobLimitError(
                    f"{running} background jobs are already running (the limit is {self.max_concurrent}): "
                    "wait for one to finish or stop one")
            self._forget_old_ended()
            job_id = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(2).hex()}"
            job = Job(job_id, config, owner, owner_name, kind=kind, work=work, total_steps=total_steps)
            self._jobs[job_id] = job
            self._launch(job)
        return job_id

    def _launch(self, job: Job) -> None:
        """Give a job a worker: the one thread that follows it (under self._lock). A thread the system refuses
        fails the job and frees its slot."""
        job.status = "running"
        job.started = time.time()
        job.thread = threading.Thread(target=self._follow, args=(job,), name=f"rnnviz-{job.run_id}", daemon=True)
        try:
            job.thread.start()
        except RuntimeError as exc:
            del self._jobs[job.run_id]
            job.status, job.message = "failed", f"could not start the {job.what}: {exc}"
            job.done.set()
            raise RunError(job.message) from None

    def _follow(self, job: Job) -> None:
        """Run the job on the runner and keep its state from the worker's events; fail it if the worker dies."""
        lost = None
        try:
            if job.kind == "train" and job.dataset is None:  # queued by another server: load its names here
                try:
                    job.dataset = (self._load_dataset or load_folder)(job.data_source)
                except Exception as exc:
                    raise RunError(f"could not load its names from {job.data_source or 'an unrecorded folder'}: "
                                   f"{failure(exc)}") from None
            control = self._runner.control(job.run_id)
            with job.lock:
                if job.control.stopped:  # stopped in the moment between its launch and here
                    control.stop()
                job.control = control
            lost = self._runner.run(job.run_id, job.payload(self.root, self.server), control, job.on_event)
        except Exception as exc:  # the runner could not start it (no process, no scheduler, no data)
            lost = f"could not start the {job.what}: {failure(exc)}"
        finally:
            if lost is not None or job.status == "running":
                message = lost or "its worker ended without a result"
                with job.lock:
                    job.status, job.message = "failed", message
                if job.kind == "train" and not mark_failed(self.root, job.run_id, message, job.worker):
                    self._tell_queuer(job.run_id, message)
            with job.lock:
                job.current = ""
                job.ended = time.time()
            with self._lock:
                if job.status == "finished" and job.kind == "train":
                    self._durations = [*self._durations, time.time() - job.started][-RECENT_DURATIONS:]
                self._promote()
            job.done.set()

    def _tell_queuer(self, run_id: str, message: str) -> None:
        """A training taken from the shared queue failed before it had a folder: say why where its queuer looks."""
        try:
            with self._shared() as (_, taken, _servers):
                if run_id in taken:
                    taken[run_id] = {**taken[run_id], "failed": message}
        except RunError:
            pass

    def _promote(self) -> None:
        """Start waiting jobs while workers are free (under self._lock): the first in the shared queue that this
        server can train, whoever queued it."""
        while not self._closed and self._working() < self.max_concurrent:
            with self._shared() as (entries, taken, _):
                index = next((i for i, entry in enumerate(entries) if self._can_take(entry)), None)
                if index is None:
                    return
                entry = entries.pop(index)
                run_id = entry["run_id"]
                if entry.get("server") != self.server:
                    taken[run_id] = {"by": self.server, "at": time.time()}
            job = self._waiting.pop(run_id, None)
            if job is None:
                if run_id in self._jobs or (self.root / run_id).exists():
                    continue  # trained already: an entry a crashed server left behind
                try:
                    job = Job.from_entry(entry)
                except (ValueError, TypeError, KeyError):
                    continue
                self._jobs[run_id] = job
            try:
                self._launch(job)
            except RunError:
                continue

    def restore_queue(self, load_dataset: Callable[[str], NameDataset]) -> list[str]:
        """Adopt the trainings waiting in the runs folder's queue (a previous server's, or other servers'), loading
        their names with `load_dataset(folder)`, which this manager also uses for any it takes later. One whose
        data cannot be loaded leaves the queue and is kept here as "not started" with the reason. Returns the run
        ids adopted, in their order; the first start at once when workers are free."""
        self._load_dataset = load_dataset
        restored = []
        for entry in self._queue_view()[0]:
            run_id = entry["run_id"]
            with self._lock:
                if run_id in self._jobs or (self.root / run_id).exists():
                    continue
            try:
                job = Job.from_entry(entry)
            except (ValueError, TypeError, KeyError):
                continue
            try:
                job.dataset = load_dataset(job.data_source)
            except Exception as exc:  # the reason is shown in the run list
                job.status = NOT_STARTED
                job.message = f"queued before the server restarted, not started: {failure(exc)}"
                job.done.set()
                with self._lock:
                    with self._shared() as (entries, _, _servers):
                        entries[:] = [e for e in entries if e["run_id"] != run_id]
                    self._jobs.setdefault(run_id, job)
                continue
            with self._lock:
                if run_id in self._jobs:
                    continue
                self._jobs[run_id] = job
                self._waiting[run_id] = job
            restored.append(run_id)
        with self._lock:
            self._promote()
        return restored

    def _fresh_id(self, config: TrainConfig, waiting: set[str]) -> str:
        """A new id that neither a job, a queued training nor a folder has; ids stamped in the same second can
        collide."""
        for _ in range(100):
            run_id = new_run_id(config)
            if run_id not in self._jobs and run_id not in waiting and not (self.root / run_id).exists():
                return run_id
        raise RunError(f"could not find a free run id in {self.root}")

    def _forget_old_ended(self) -> None:
        ended = sorted((j for j in self._jobs.values() if j.status not in ACTIVE), key=lambda j: j.started)
        for job in ended[: max(0, len(ended) - KEEP_ENDED + 1)]:
            del self._jobs[job.run_id]

    # ------------------------------------------------------------ reading

    def _typical_duration(self, working: list[Job]) -> float | None:
        """How long a training lasts here: the recent ones that finished, else the running ones' own estimates."""
        if self._durations:
            return sum(self._durations) / len(self._durations)
        totals = []
        for job in working:
            left = job.remaining_s()
            if left is not None:
                totals.append(time.time() - job.started + left)
        return sum(totals) / len(totals) if totals else None

    def _places(self) -> tuple[dict[str, tuple[int, float | None]], list[dict[str, Any]]]:
        """Each queued training's place in the shared line (1 = next) and estimated seconds until it starts, and
        the entries of the line that no job here stands for (other servers' trainings)."""
        entries, others = self._queue_view()
        if not entries:
            return {}, []
        with self._lock:
            working = [j for j in self._jobs.values() if j.status == "running" and not j.elsewhere]
            typical = self._typical_duration(working)
            foreign = [entry for entry in entries if entry["run_id"] not in self._jobs]
        # Other servers' workers count as busy for a typical training's length: were they free, nothing would wait.
        remaining = [None if job.control.paused else job.remaining_s() for job in working] + [None] * others
        waits = estimate_waits(remaining, self.max_concurrent + others, typical, len(entries))
        places = {entry["run_id"]: (place, wait) for place, (entry, wait) in enumerate(zip(entries, waits), start=1)}
        return places, foreign

    def jobs(self, kind: str = "train") -> list[JobSnapshot]:
        """Snapshots of the jobs of one kind: trainings unless asked for a task's. Trainings include those that
        other servers on the runs folder queued, with their place in the shared line."""
        places, foreign = self._places()
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.kind == kind]
        snapshots = [job.snapshot(*places.get(job.run_id, (None, None))) for job in jobs]
        if kind == "train":
            snapshots += [snapshot for entry in foreign
                          if (snapshot := _entry_snapshot(entry, places)) is not None]
        return snapshots

    def get(self, run_id: str) -> JobSnapshot | None:
        job = self._job(run_id)
        places, foreign = self._places()
        if job is None:
            entry = next((e for e in foreign if e["run_id"] == run_id), None)
            return None if entry is None else _entry_snapshot(entry, places)
        return job.snapshot(*places.get(run_id, (None, None)))

    def active_ids(self) -> set[str]:
        """Run ids of the trainings under way (tasks are not runs)."""
        with self._lock:
            return {rid for rid, job in self._jobs.items() if job.status in ACTIVE and job.kind == "train"}

    def any_active(self) -> bool:
        return bool(self.active_ids())

    def _job(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    # ------------------------------------------------------------ controls

    def _owned_job(self, run_id: str, by: str, what: str) -> Job | None:
        """The job, once `by` may control it (PermissionError if not); None when there is no such job here."""
        job = self._job(run_id)
        if job is not None and not may_control(job.owner, by):
            raise _refuse(what, run_id)
        return job

    def _control(self, job: Job, action: str, by: str) -> None:
        """Stop, pause or resume a job: its worker's control here, or a request to the server that trains it."""
        with job.lock:
            getattr(job.control, action)()
            if job.elsewhere:
                job.requested = (action, by)  # delivered by its watcher as soon as the run has a folder

    def _control_on_disk(self, run_id: str, action: str, by: str) -> bool:
        """Stop, pause or resume a training that another server on the runs folder trains and this one never knew."""
        path = run_path(self.root, run_id)
        if not (path.is_dir() and is_training(path)):
            return False
        if not may_control(read_run(path).owner, by):
            raise _refuse(action, run_id)
        request_control(self.root, run_id, action, by)
        return True

    def cancel(self, run_id: str, *, by: str) -> bool:
        """Take a queued training out of the shared line (it never ran, so nothing is kept); False if it is not
        queued."""
        self._owned_job(run_id, by, "cancel")
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None and (job.status != "queued" or run_id not in self._waiting):
                return False
            if job is None and all(entry["run_id"] != run_id for entry in self._queue_view()[0]):
                return False  # not waiting anywhere (the queue file is only locked to change it)
            with self._shared() as (entries, _, _servers):
                entry = next((e for e in entries if e["run_id"] == run_id), None)
                if entry is None:
                    return False
                if job is None and not may_control(str(entry.get("owner") or TEACHER), by):
                    raise _refuse("cancel", run_id)
                entries.remove(entry)
            self._waiting.pop(run_id, None)
            if job is None:
                return True
            del self._jobs[run_id]
        job.dataset = job.split = None
        with job.lock:
            job.status = CANCELLED  # for anyone still holding it (wait); the manager has forgotten it
        job.done.set()
        return True

    def stop(self, run_id: str, *, by: str) -> bool:
        """Ask a job to stop (a queued one is cancelled); harmless when it has ended or was never here."""
        job = self._owned_job(run_id, by, "stop")
        if self.cancel(run_id, by=by):
            return True
        if job is None:
            return self._control_on_disk(run_id, "stop", by)
        self._control(job, "stop", by)
        return True

    def pause(self, run_id: str, *, by: str) -> bool:
        job = self._owned_job(run_id, by, "pause")
        if job is None:
            return self._control_on_disk(run_id, "pause", by)
        if job.status != "running":
            return False
        self._control(job, "pause", by)
        return True

    def resume(self, run_id: str, *, by: str) -> bool:
        job = self._owned_job(run_id, by, "resume")
        if job is None:
            return self._control_on_disk(run_id, "resume", by)
        self._control(job, "resume", by)
        return True

    def wait(self, run_id: str, timeout: float | None = None) -> JobSnapshot | None:
        """Wait until the job has ended (a queued one waits its turn too); its last state, None if unknown."""
        job = self._job(run_id)
        if job is None:
            return None
        job.done.wait(timeout)
        if job.done.is_set() and job.thread is not None:
            job.thread.join(timeout)
        return self.get(run_id) or job.snapshot()

    def delete(self, run_id: str, *, by: str, timeout: float = 10.0) -> None:
        """Cancel the run if it is queued; else stop it if it is training, wait for it, remove its folder."""
        job = self._owned_job(run_id, by, "delete")
        if job is None:
            if self.cancel(run_id, by=by):
                return
            path = run_path(self.root, run_id)
            if path.is_dir() and not may_control(read_run(path).owner, by):
                raise _refuse("delete", run_id)
        elif self.cancel(run_id, by=by):
            return
        else:
            self._control(job, "stop", by)
            if job.thread is not None:
                job.thread.join(timeout)
                if job.thread.is_alive():
                    raise RunError(f"run {run_id} is still stopping: try again in a moment")
            with self._lock:
                self._jobs.pop(run_id, None)
            # A job that failed while setting up never wrote a folder; forgetting it is the whole delete.
            if not (self.root / run_id).is_dir():
                return
        delete_run(self.root, run_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every job this server trains and start no more; the queue stays recorded for the other servers
        and the next one. Trainings another server took go on there."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
        self._halt.set()
        for job in jobs:
            if not job.elsewhere:
                with job.lock:
                    job.control.stop()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout)
        self._poller.join(timeout)
        self._runner.close()


SUMMARY_KEYS = ("val_accuracy", "val_balanced_accuracy", "test_accuracy", "train_seconds")


def _entry_snapshot(entry: dict[str, Any], places: dict[str, tuple[int, float | None]]) -> JobSnapshot | None:
    """A snapshot of a training that another server queued, as the shared queue file records it."""
    try:
        job = Job.from_entry(entry)
    except (ValueError, TypeError, KeyError):
        return None
    return job.snapshot(*places.get(job.run_id, (None, None)))
