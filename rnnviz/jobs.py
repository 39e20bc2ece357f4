"""Background training jobs: one thread per run, metrics kept behind a lock, snapshots for readers.

One JobManager serves a whole process (the app keeps a single instance), so every method is
thread-safe. The worker threads only call the library; readers take copies with `snapshot()`.
Besides trainings (`start`), it runs other long tasks of the library (`start_task`: the memory probe), which
share the same limit, controls and snapshots but write no run folder.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import NameDataset, Split
from .runs import RunError, delete_run, describe_error, ensure_runs_dir, new_run_id, run_path, train_run
from .train import Control, TrainConfig

ACTIVE = ("queued", "running", "paused", "stopping")  # stopping: asked to stop, final evaluation under way
KEEP_ENDED = 64  # ended jobs remembered for the pages' end-of-run notices; older ones live on disk only


class JobLimitError(ValueError):
    """Too many trainings at once."""


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
    def __init__(self, run_id: str, config: TrainConfig | Any, kind: str = "train"):
        self.run_id = run_id
        self.config = config
        self.kind = kind
        self.done = 0  # a task's steps so far (a training's come from its rows)
        self.current = ""
        self.ended: float | None = None
        self.control = Control()
        self.lock = threading.Lock()
        self.rows: list[dict[str, Any]] = []
        self.status = "running"
        self.message = ""
        self.total_steps = 0
        self.started = time.time()
        self.summary: dict[str, Any] = {}
        self.thread: threading.Thread | None = None

    def snapshot(self) -> JobSnapshot:
        with self.lock:
            status = self.status
            if status == "running" and self.control.stopped:
                status = "stopping"
            elif status == "running" and self.control.paused:
                status = "paused"
            if self.kind == "train":
                step = int(self.rows[-1]["step"]) if self.rows else 0
            else:
                step = self.done
            seconds = (self.ended or time.time()) - self.started
            return JobSnapshot(self.run_id, self.config, status, self.message, list(self.rows), step,
                               self.total_steps, self.started, dict(self.summary), self.kind, self.current,
                               seconds)

    def report(self, done: int | None = None, current: str | None = None, row: dict[str, Any] | None = None) -> None:
        """What a task tells its readers: steps done, what it is doing, a result row."""
        with self.lock:
            if done is not None:
                self.done = int(done)
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
    """Starts, controls and forgets background trainings; at most `max_concurrent` at once."""

    def __init__(self, root: Path, max_concurrent: int = 2):
        self.root = Path(root)
        self.max_concurrent = max_concurrent
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, config: TrainConfig, dataset: NameDataset, split: Split | None = None,
              run_id: str | None = None) -> str:
        """Launch a training thread and return its run id at once.

        JobLimitError when full; RunError for a bad run id or a runs directory that cannot be written.
        """
        config.validate()
        if run_id is not None:
            run_path(self.root, run_id)
        ensure_runs_dir(self.root)
        with self._lock:
            running = [j for j in self._jobs.values() if j.status in ACTIVE]
            if len(running) >= self.max_concurrent:
                raise JobLimitError(
                    f"{len(running)} trainings are already running (the limit is {self.max_concurrent}): "
                    "wait for one to finish or stop one"
                )
            if run_id is None:
                run_id = self._fresh_id(config)
            elif run_id in self._jobs or (self.root / run_id).exists():
                raise ValueError(f"a job named {run_id!r} already exists")
            self._forget_old_ended()
            job = Job(run_id, config)
            self._jobs[run_id] = job
            job.thread = threading.Thread(target=self._work, args=(job, dataset, split),
                                          name=f"rnnviz-train-{run_id}", daemon=True)
            try:
                job.thread.start()
            except RuntimeError as exc:  # the system refused a new thread: the job must not hold a slot
                del self._jobs[run_id]
                raise RunError(f"could not start the training: {exc}") from None
        return run_id

    def start_task(self, kind: str, config: Any, work: Callable[[Job], tuple[str, str]], total_steps: int) -> str:
        """Run `work(job)` in a background thread like a training, under the same limit; returns the job's id.

        `work` honours job.control (stop, pause), reports through job.report, and returns (status, message).
        A task writes no run folder; its results are the job's rows.
        """
        with self._lock:
            running = [j for j in self._jobs.values() if j.status in ACTIVE]
            if len(running) >= self.max_concurrent:
                raise JobLimitError(
                    f"{len(running)} background jobs are already running (the limit is {self.max_concurrent}): "
                    "wait for one to finish or stop one"
                )
            self._forget_old_ended()
            job_id = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(2).hex()}"
            job = Job(job_id, config, kind)
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
                job.message = describe_error(exc)
        finally:
            with job.lock:
                job.current = ""
                job.ended = time.time()

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

    def _work(self, job: Job, dataset: NameDataset, split: Split | None) -> None:
        try:
            writer, result = train_run(
                job.config, dataset, self.root, job.control,
                callbacks=[("on_start", job._on_start), ("on_eval", job._on_eval)],
                run_id=job.run_id, split=split,
            )
            with job.lock:
                job.status = result.status
                job.message = result.message
                job.summary = {"val_accuracy": result.val.get("accuracy"),
                               "test_accuracy": result.test.get("accuracy"),
                               "train_seconds": result.train_seconds}
        except Exception as exc:  # the run is marked failed on disk; keep the reason for the page
            with job.lock:
                job.status = "failed"
                job.message = describe_error(exc)
        finally:
            with job.lock:
                job.ended = time.time()

    def jobs(self, kind: str = "train") -> list[JobSnapshot]:
        """Snapshots of the jobs of one kind: trainings unless asked for a task's."""
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.kind == kind]
        return [job.snapshot() for job in jobs]

    def get(self, run_id: str) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(run_id)
        return job.snapshot() if job else None

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
        """Ask a run to stop; harmless when it has finished or was never here."""
        job = self._job(run_id)
        if job is None:
            return False
        job.control.stop()
        return True

    def pause(self, run_id: str) -> bool:
        job = self._job(run_id)
        if job is None or job.status not in ACTIVE:
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
        job = self._job(run_id)
        if job is None:
            return None
        if job.thread is not None:
            job.thread.join(timeout)
        return job.snapshot()

    def delete(self, run_id: str, timeout: float = 10.0) -> None:
        """Stop the run if it is training, wait for its thread, then remove its folder."""
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
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.control.stop()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout)
