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
queue and starts by itself when a worker frees. The queue is recorded in the runs folder (rnnviz.runs.write_queue),
so a restarted server starts the trainings that were waiting (`restore_queue`).

Every job has an owner (an opaque id from the caller, or TEACHER). Only the owner or the teacher may stop, pause,
resume, cancel or delete it (`may_control`; others get a PermissionError); `per_owner` caps one owner's active
or queued jobs, tasks included, except the teacher's.
"""

from __future__ import annotations

import heapq
import multiprocessing
import multiprocessing.popen_forkserver
import multiprocessing.spawn
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .data import NameDataset, Split
from .runs import (
    TEACHER,
    RunError,
    clean_name,
    delete_run,
    ensure_runs_dir,
    failure,
    mark_failed,
    new_run_id,
    read_queue,
    read_run,
    run_path,
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
# What a worker needs, imported once by the fork server: this module (so torch) and the scikit-learn parts the
# training's scores and the n-gram fit use (else each worker imports them at its first score).
WARM_MODULES = ("rnnviz.jobs", "sklearn.metrics", "sklearn.linear_model", "sklearn.feature_extraction.text")
POLL_S = 0.25  # how often a Dask job's follower and its worker's control look for news


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
    emit("begin", worker_identity())
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
            owner_name=payload["owner_name"])
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
        events.put(("begin", worker_identity()))
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

    @property
    def what(self) -> str:
        """The job in words: "training", or the task's name."""
        return "training" if self.kind == "train" else self.kind

    def queue_entry(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "config": self.config.to_dict(), "data": self.data_source,
                "owner": self.owner, "owner_name": self.owner_name, "queued": self.started}

    def payload(self, root: Path) -> dict[str, Any]:
        """What its worker needs, all of it picklable; the dataset and split leave the server's memory."""
        payload = {"kind": self.kind, "config": self.config, "run_id": self.run_id, "root": str(root),
                   "dataset": self.dataset, "split": self.split, "work": self.work, "owner": self.owner,
                   "owner_name": self.owner_name}
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
                               position, wait_s, self.kind, self.current, seconds, dict(self.worker))

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
    """Starts, queues, controls and forgets background jobs; at most `max_concurrent` run at once.

    `scheduler`: a Dask scheduler's address to send the jobs to; `in_process`: run them in this process's threads
    instead of worker processes (see the module's docstring).
    """

    def __init__(self, root: Path, max_concurrent: int | None = None, per_owner: int | None = None,
                 max_queue: int = DEFAULT_MAX_QUEUE, scheduler: str | None = None, in_process: bool = False):
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
        self._queue: list[Job] = []
        self._durations: list[float] = []
        self._closed = False
        self._lock = threading.Lock()

    @property
    def runner(self) -> str:
        """Where jobs run: "processes", "dask" or "threads"."""
        return self._runner.name

    def _check_cap(self, owner: str) -> None:
        """JobLimitError when `owner` (not the teacher) has `per_owner` jobs active or queued (under self._lock)."""
        if self.per_owner is None or owner == TEACHER:
            return
        mine = [j for j in self._jobs.values() if j.status in ACTIVE and j.owner == owner]
        if len(mine) >= self.per_owner:
            what = "trainings" if all(j.kind == "train" for j in mine) else "trainings or sweeps"
            raise JobLimitError(
                f"you already have {len(mine)} {what} running or queued (at most {self.per_owner} each): "
                "wait for one to finish, or stop or cancel one")

    def _working(self) -> int:
        return sum(j.status == "running" for j in self._jobs.values())

    def start(self, config: TrainConfig, dataset: NameDataset, split: Split | None = None, run_id: str | None = None,
              *, owner: str, owner_name: str = "", capped: bool = True) -> str:
        """Launch a training, or queue it when every worker is busy, and return its run id at once.

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
            if capped:
                self._check_cap(owner)
            if self._working() >= self.max_concurrent and len(self._queue) >= self.max_queue:
                raise JobLimitError(f"the queue is full ({len(self._queue)} trainings are waiting): "
                                    "try again when some have started")
            if run_id is None:
                run_id = self._fresh_id(config)
            elif run_id in self._jobs or (self.root / run_id).exists():
                raise ValueError(f"a job named {run_id!r} already exists")
            self._forget_old_ended()
            job = Job(run_id, config, owner, owner_name, dataset=dataset, split=split)
            self._jobs[run_id] = job
            if self._working() < self.max_concurrent and not self._queue:
                self._launch(job)
            else:
                self._queue.append(job)
                self._promote()  # a worker may have freed since the count above
                self._save_queue()
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
            self._check_cap(owner)
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
            control = self._runner.control(job.run_id)
            with job.lock:
                if job.control.stopped:  # stopped in the moment between its launch and here
                    control.stop()
                job.control = control
            lost = self._runner.run(job.run_id, job.payload(self.root), control, job.on_event)
        except Exception as exc:  # the runner could not start it (no process, no scheduler)
            lost = f"could not start the {job.what}: {failure(exc)}"
        finally:
            if lost is not None or job.status == "running":
                message = lost or "its worker ended without a result"
                with job.lock:
                    job.status, job.message = "failed", message
                if job.kind == "train":
                    mark_failed(self.root, job.run_id, message, job.worker)
            with job.lock:
                job.current = ""
                job.ended = time.time()
            with self._lock:
                if job.status == "finished" and job.kind == "train":
                    self._durations = [*self._durations, time.time() - job.started][-RECENT_DURATIONS:]
                self._promote()
                self._save_queue()
            job.done.set()

    def _promote(self) -> None:
        """Start waiting jobs while workers are free (under self._lock), first queued first."""
        while self._queue and not self._closed and self._working() < self.max_concurrent:
            job = self._queue.pop(0)
            try:
                self._launch(job)
            except RunError:
                continue

    def _save_queue(self) -> None:
        """Record the queue on disk (under self._lock); a disk that refuses only costs the restart its queue."""
        try:
            write_queue(self.root, [job.queue_entry() for job in self._queue])
        except RunError:
            pass

    def restore_queue(self, load_dataset) -> list[str]:
        """Queue again, in their order, the trainings a previous server left waiting; `load_dataset(folder)` gives
        the names of a recorded data folder. One whose data cannot be loaded is kept as "not started" with the
        reason. Returns the run ids queued again."""
        restored = []
        for entry in read_queue(self.root):
            run_id = entry["run_id"]
            with self._lock:
                known = run_id in self._jobs
            if known or (self.root / run_id).exists():
                continue
            owner = str(entry.get("owner") or TEACHER)
            owner_name = str(entry.get("owner_name") or "")
            try:
                config = TrainConfig.from_dict(entry["config"])
                dataset = load_dataset(str(entry.get("data") or ""))
                self.start(config, dataset, run_id=run_id, owner=owner, owner_name=owner_name, capped=False)
                restored.append(run_id)
            except Exception as exc:  # the reason is shown in the run list
                try:
                    config = TrainConfig.from_dict(entry["config"])
                except (ValueError, TypeError):
                    continue
                job = Job(run_id, config, owner, owner_name)
                job.status = NOT_STARTED
                job.message = f"queued before the server restarted, not started: {failure(exc)}"
                job.done.set()
                with self._lock:
                    self._jobs.setdefault(run_id, job)
        with self._lock:
            self._save_queue()
        return restored

    def _fresh_id(self, config: TrainConfig) -> str:
        """A new id that neither a job nor a folder has; ids stamped in the same second can collide."""
        for _ in range(100):
            run_id = new_run_id(config)
            if run_id not in self._jobs and not (self.root / run_id).exists():
                return run_id
        raise RunError(f"could not find a free run id in {self.root}")

    def _forget_old_ended(self) -> None:
        ended = sorted((j for j in self._jobs.values() if j.status not in ACTIVE), key=lambda j: j.started)
        for job in ended[: max(0, len(ended) - KEEP_ENDED + 1)]:
            del self._jobs[job.run_id]

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

    def _places(self) -> dict[str, tuple[int, float | None]]:
        """Each queued job's place in line (1 = next) and estimated seconds until it starts."""
        with self._lock:
            queue_ = list(self._queue)
            working = [j for j in self._jobs.values() if j.status == "running"]
            typical = self._typical_duration(working)
        if not queue_:
            return {}
        remaining = [None if job.control.paused else job.remaining_s() for job in working]
        waits = estimate_waits(remaining, self.max_concurrent, typical, len(queue_))
        return {job.run_id: (place, wait) for place, (job, wait) in enumerate(zip(queue_, waits), start=1)}

    def jobs(self, kind: str = "train") -> list[JobSnapshot]:
        """Snapshots of the jobs of one kind: trainings unless asked for a task's."""
        places = self._places()
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.kind == kind]
        return [job.snapshot(*places.get(job.run_id, (None, None))) for job in jobs]

    def get(self, run_id: str) -> JobSnapshot | None:
        job = self._job(run_id)
        if job is None:
            return None
        return job.snapshot(*self._places().get(run_id, (None, None)))

    def active_ids(self) -> set[str]:
        """Run ids of the trainings under way (tasks are not runs)."""
        with self._lock:
            return {rid for rid, job in self._jobs.items() if job.status in ACTIVE and job.kind == "train"}

    def any_active(self) -> bool:
        return bool(self.active_ids())

    def _job(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def _owned_job(self, run_id: str, by: str, what: str) -> Job | None:
        """The job, once `by` may control it (PermissionError if not); None when there is no such job here."""
        job = self._job(run_id)
        if job is not None and not may_control(job.owner, by):
            raise _refuse(what, run_id)
        return job

    def cancel(self, run_id: str, *, by: str) -> bool:
        """Take a queued training out of the line (it never ran, so nothing is kept); False if it is not queued."""
        self._owned_job(run_id, by, "cancel")
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None or job.status != "queued" or job not in self._queue:
                return False
            self._queue.remove(job)
            del self._jobs[run_id]
            self._save_queue()
        job.dataset = job.split = None
        with job.lock:
            job.status = CANCELLED  # for anyone still holding it (wait); the manager has forgotten it
        job.done.set()
        return True

    def stop(self, run_id: str, *, by: str) -> bool:
        """Ask a job to stop (a queued one is cancelled); harmless when it has ended or was never here."""
        job = self._owned_job(run_id, by, "stop")
        if job is None:
            return False
        if self.cancel(run_id, by=by):
            return True
        with job.lock:
            job.control.stop()
        return True

    def pause(self, run_id: str, *, by: str) -> bool:
        job = self._owned_job(run_id, by, "pause")
        if job is None or job.status != "running":
            return False
        with job.lock:
            job.control.pause()
        return True

    def resume(self, run_id: str, *, by: str) -> bool:
        job = self._owned_job(run_id, by, "resume")
        if job is None:
            return False
        with job.lock:
            job.control.resume()
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
            path = run_path(self.root, run_id)
            if path.is_dir() and not may_control(read_run(path).owner, by):
                raise _refuse("delete", run_id)
        elif self.cancel(run_id, by=by):
            return
        else:
            with job.lock:
                job.control.stop()
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
        """Stop every job and start no more; the queue stays recorded for the next server."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
        for job in jobs:
            with job.lock:
                job.control.stop()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout)
        self._runner.close()
