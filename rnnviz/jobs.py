"""Background training jobs: one thread per run, metrics kept behind a lock, snapshots for readers.

One JobManager serves a whole process (the app keeps a single instance), so every method is
thread-safe. The worker threads only call the library; readers take copies with `snapshot()`.

At most `max_concurrent` trainings hold a worker; a training started beyond that waits as `queued` in a
first-in-first-out queue and starts by itself when a worker frees. The queue is recorded in the runs folder
(rnnviz.runs.write_queue), so a restarted server starts the trainings that were waiting (`restore_queue`).
Each training has an owner (an opaque id from the caller); `per_owner` caps one owner's active-or-queued runs.
Besides trainings (`start`), it runs other long tasks of the library (`start_task`: the memory probe), which
share the same limit, controls and snapshots but write no run folder.
"""

from __future__ import annotations

import heapq
import os
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
    new_run_id,
    read_queue,
    run_path,
    train_run,
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


class JobLimitError(ValueError):
    """A limit that protects the server: runs per owner, or the length of the queue."""


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

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


class Job:
    def __init__(self, run_id: str, config: TrainConfig | Any, dataset: NameDataset | None = None,
                 split: Split | None = None, owner: str = TEACHER, owner_name: str = "", kind: str = "train"):
        self.run_id = run_id
        self.config = config
        self.kind = kind
        self.dataset = dataset  # kept while queued; dropped once the training has it
        self.split = split
        self.data_source = str(dataset.source) if dataset is not None else ""
        self.owner = owner or TEACHER
        self.owner_name = clean_name(owner_name)
        self.steps_done = 0  # a task's steps so far (a training's come from its rows)
        self.current = ""
        self.ended: float | None = None
        self.control = Control()
        self.lock = threading.Lock()
        self.rows: list[dict[str, Any]] = []
        self.status = "queued"
        self.message = ""
        self.total_steps = 0
        self.started = time.time()  # when it was queued, then when it started
        self.summary: dict[str, Any] = {}
        self.thread: threading.Thread | None = None
        self.done = threading.Event()  # set when it has ended, was cancelled or could not start

    def queue_entry(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "config": self.config.to_dict(), "data": self.data_source,
                "owner": self.owner, "owner_name": self.owner_name, "queued": self.started}

    def snapshot(self, position: int | None = None, wait_s: float | None = None) -> JobSnapshot:
        with self.lock:
            status = self.status
            if status == "running" and self.control.stopped:
                status = "stopping"
            elif status == "running" and self.control.paused:
                status = "paused"
            if self.kind == "train":
                step = int(self.rows[-1]["step"]) if self.rows else 0
            else:
                step = self.steps_done
            seconds = (self.ended or time.time()) - self.started
            return JobSnapshot(self.run_id, self.config, status, self.message, list(self.rows), step,
                               self.total_steps, self.started, dict(self.summary), self.owner, self.owner_name,
                               position, wait_s, self.kind, self.current, seconds)

    def remaining_s(self) -> float | None:
        """Seconds of training left by the trainer's own estimate; None before its first point."""
        with self.lock:
            return float(self.rows[-1]["eta_s"]) if self.rows else None

    def report(self, done: int | None = None, current: str | None = None, row: dict[str, Any] | None = None) -> None:
        """What a task tells its readers: steps done, what it is doing, a result row."""
        with self.lock:
            if done is not None:
                self.steps_done = int(done)
            if current is not None:
                self.current = current
            if row is not None:
                self.rows.append(dict(row))

    def _on_start(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.total_steps = int(event["total_steps"])

    def _on_eval(self, row: dict[str, Any]) -> None:
        with self.lock:
            self.rows.append(dict(row))


class JobManager:
    """Starts, queues, controls and forgets background trainings; at most `max_concurrent` train at once."""

    def __init__(self, root: Path, max_concurrent: int = 2, per_owner: int | None = None,
                 max_queue: int = DEFAULT_MAX_QUEUE):
        self.root = Path(root)
        self.max_concurrent = max_concurrent
        self.per_owner = per_owner  # active-or-queued runs of one owner; None: no cap (the teacher's tools)
        self.max_queue = max_queue
        self._jobs: dict[str, Job] = {}
        self._queue: list[Job] = []
        self._durations: list[float] = []
        self._closed = False
        self._lock = threading.Lock()

    def start(self, config: TrainConfig, dataset: NameDataset, split: Split | None = None,
              run_id: str | None = None, owner: str = TEACHER, owner_name: str = "", capped: bool = True) -> str:
        """Launch a training, or queue it when every worker is busy, and return its run id at once.

        JobLimitError when its owner has `per_owner` runs active or queued (unless not `capped`) or the queue is
        full; RunError for a bad run id or a runs directory that cannot be written.
        """
        config.validate()
        if run_id is not None:
            run_path(self.root, run_id)
        ensure_runs_dir(self.root)
        with self._lock:
            if self._closed:
                raise RunError("the server is shutting down: start the training again once it is back")
            active = [j for j in self._jobs.values() if j.status in ACTIVE]
            mine = [j for j in active if j.owner == (owner or TEACHER)]
            if capped and self.per_owner is not None and len(mine) >= self.per_owner:
                raise JobLimitError(
                    f"you already have {len(mine)} trainings running or queued (at most {self.per_owner} each): "
                    "wait for one to finish, or stop or cancel one")
            busy = sum(j.status == "running" for j in active)
            if busy >= self.max_concurrent and len(self._queue) >= self.max_queue:
                raise JobLimitError(f"the queue is full ({len(self._queue)} trainings are waiting): "
                                    "try again when some have started")
            if run_id is None:
                run_id = self._fresh_id(config)
            elif run_id in self._jobs or (self.root / run_id).exists():
                raise ValueError(f"a job named {run_id!r} already exists")
            self._forget_old_ended()
            job = Job(run_id, config, dataset, split, owner, owner_name)
            self._jobs[run_id] = job
            if busy < self.max_concurrent and not self._queue:
                self._launch(job)
            else:
                self._queue.append(job)
                self._save_queue()
                self._promote()  # a worker may have freed since the count above
        return run_id

    def _launch(self, job: Job) -> None:
        """Start a job's thread (under self._lock); a refused thread forgets the job, so it holds no slot."""
        job.status = "running"
        job.started = time.time()
        job.thread = threading.Thread(target=self._work, args=(job,), name=f"rnnviz-train-{job.run_id}", daemon=True)
        try:
            job.thread.start()
        except RuntimeError as exc:
            del self._jobs[job.run_id]
            job.status, job.message = "failed", f"could not start the training: {exc}"
            job.done.set()
            raise RunError(job.message) from None

    def _promote(self) -> None:
        """Start waiting jobs while workers are free (under self._lock), first queued first."""
        changed = False
        while self._queue and not self._closed:
            if sum(j.status == "running" for j in self._jobs.values()) >= self.max_concurrent:
                break
            job = self._queue.pop(0)
            changed = True
            try:
                self._launch(job)
            except RunError:
                continue
        if changed:
            self._save_queue()

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
            try:
                config = TrainConfig.from_dict(entry["config"])
                dataset = load_dataset(str(entry.get("data") or ""))
                self.start(config, dataset, run_id=run_id, owner=str(entry.get("owner") or TEACHER),
                           owner_name=str(entry.get("owner_name") or ""), capped=False)
                restored.append(run_id)
            except Exception as exc:  # the reason is shown in the run list
                try:
                    config = TrainConfig.from_dict(entry["config"])
                except (ValueError, TypeError):
                    continue
                job = Job(run_id, config, owner=str(entry.get("owner") or TEACHER),
                          owner_name=str(entry.get("owner_name") or ""))
                job.status = NOT_STARTED
                job.message = f"queued before the server restarted, not started: {failure(exc)}"
                job.done.set()
                with self._lock:
                    self._jobs.setdefault(run_id, job)
        with self._lock:
            self._save_queue()
        return restored

    def start_task(self, kind: str, config: Any, work: Callable[[Job], tuple[str, str]], total_steps: int) -> str:
        """Run `work(job)` in a background thread like a training, under the same limit; returns the job's id.

        `work` honours job.control (stop, pause), reports through job.report, and returns (status, message).
        A task writes no run folder; its results are the job's rows.
        """
        with self._lock:
            running = [j for j in self._jobs.values() if j.status in WORKING]
            if len(running) >= self.max_concurrent:
                raise JobLimitError(
                    f"{len(running)} background jobs are already running (the limit is {self.max_concurrent}): "
                    "wait for one to finish or stop one"
                )
            self._forget_old_ended()
            job_id = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(2).hex()}"
            job = Job(job_id, config, kind=kind)
            job.status = "running"
            job.started = time.time()
            job.total_steps = int(total_steps)
            self._jobs[job_id] = job
            job.thread = threading.Thread(target=self._work_task, args=(job, work), name=f"rnnviz-{job_id}",
                                          daemon=True)
            try:
                job.thread.start()
            except RuntimeError as exc:
                del self._jobs[job_id]
                raise RunError(f"could not start the {kind}: {exc}") from None
        return job_id

    def _work_task(self, job: Job, work: Callable[[Job], tuple[str, str]]) -> None:
        try:
            status, message = work(job)
            with job.lock:
                job.status, job.message = status, message
        except Exception as exc:  # shown to the user as one line; the thread must not die silently
            with job.lock:
                job.status = "failed"
                job.message = failure(exc)
        finally:
            with job.lock:
                job.current = ""
                job.ended = time.time()
            with self._lock:
                self._promote()  # a task held a worker too: a queued training may start now
            job.done.set()

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

    def _work(self, job: Job) -> None:
        dataset, split = job.dataset, job.split
        job.dataset = job.split = None
        try:
            writer, result = train_run(
                job.config, dataset, self.root, job.control,
                callbacks=[("on_start", job._on_start), ("on_eval", job._on_eval)],
                run_id=job.run_id, split=split, owner=job.owner, owner_name=job.owner_name,
            )
            with job.lock:
                job.status = result.status
                job.message = result.message
                job.summary = {"val_accuracy": result.val.get("accuracy"),
                               "val_balanced_accuracy": result.val.get("balanced_accuracy"),
                               "test_accuracy": result.test.get("accuracy"),
                               "train_seconds": result.train_seconds}
        except Exception as exc:  # the run is marked failed on disk; keep the reason for the page
            with job.lock:
                job.status = "failed"
                job.message = failure(exc)
        finally:
            with job.lock:
                job.ended = time.time()
            with self._lock:
                if job.status == "finished":
                    self._durations = [*self._durations, time.time() - job.started][-RECENT_DURATIONS:]
                self._promote()
            job.done.set()

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
            queue = list(self._queue)
            working = [j for j in self._jobs.values() if j.status == "running"]
            typical = self._typical_duration(working)
        if not queue:
            return {}
        remaining = [None if job.control.paused else job.remaining_s() for job in working]
        waits = estimate_waits(remaining, self.max_concurrent, typical, len(queue))
        return {job.run_id: (place, wait) for place, (job, wait) in enumerate(zip(queue, waits), start=1)}

    def jobs(self, kind: str = "train") -> list[JobSnapshot]:
        """Snapshots of the jobs of one kind: trainings unless asked for a task's."""
        places = self._places()
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.kind == kind]
        return [job.snapshot(*places.get(job.run_id, (None, None))) for job in jobs]

    def get(self, run_id: str) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(run_id)
            queued = job is not None and job.status == "queued"
        if job is None:
            return None
        return job.snapshot(*self._places().get(run_id, (None, None))) if queued else job.snapshot()

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queue)

    def cancel(self, run_id: str) -> bool:
        """Take a queued training out of the line (it never ran, so nothing is kept); False if it is not queued."""
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

    def active_ids(self) -> set[str]:
        """Run ids of the trainings under way (tasks are not runs)."""
        with self._lock:
            return {rid for rid, job in self._jobs.items() if job.status in ACTIVE and job.kind == "train"}

    def any_active(self) -> bool:
        return bool(self.active_ids())

    def _job(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def stop(self, run_id: str) -> bool:
        """Ask a run to stop (a queued one is cancelled); harmless when it has finished or was never here."""
        if self.cancel(run_id):
            return True
        job = self._job(run_id)
        if job is None:
            return False
        job.control.stop()
        return True

    def pause(self, run_id: str) -> bool:
        job = self._job(run_id)
        if job is None or job.status != "running":
            return False
        job.control.pause()
        return True

    def resume(self, run_id: str) -> bool:
        job = self._job(run_id)
        if job is None:
            return False
        job.control.resume()
        return True

    def wait(self, run_id: str, timeout: float | None = None) -> JobSnapshot | None:
        """Wait until the run has ended (a queued one waits its turn too); its last state, None if unknown."""
        job = self._job(run_id)
        if job is None:
            return None
        job.done.wait(timeout)
        if job.done.is_set() and job.thread is not None:
            job.thread.join(timeout)
        return self.get(run_id) or job.snapshot()

    def delete(self, run_id: str, timeout: float = 10.0) -> None:
        """Cancel the run if it is queued; else stop it if it is training, wait for its thread, remove its folder."""
        if self.cancel(run_id):
            return
        job = self._job(run_id)
        if job is not None:
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
        """Stop every training and start no more; the queue stays recorded for the next server."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
        for job in jobs:
            job.control.stop()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout)
