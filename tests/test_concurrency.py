"""Many hands on one JobManager and one runs folder: a class clicking Start, Stop, Pause and Delete at the same
time, and pages listing runs while trainings write them. No call fails except with its documented one-line error,
no more trainings than the limit ever hold a worker (the rest wait in line), and no run is lost, duplicated or seen
half-written.

The same with real browsers is in test_multi_browser.py.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from rnnviz import jobs, runs
from rnnviz.config import TrainConfig
from rnnviz.jobs import WORKING, JobLimitError, JobManager
from rnnviz.runs import TEACHER, RunError, list_runs, load_metrics, read_queue
from rnnviz.train import Trainer

LIMIT = 2
LONG = {"model": "lstm", "hidden_size": 8, "batch_size": 4, "epochs": 200, "eval_every": 1}
SHORT = {"model": "rnn", "hidden_size": 8, "batch_size": 16, "epochs": 1, "eval_every": 1}
QUEUE = 3  # a short queue, so that some starts are refused for a full queue
EXPECTED = (JobLimitError, RunError)  # "the queue is full", "no run ...", "still training" and the like


class Hands:
    """Threads that each click at random for a while, recording what happened."""

    def __init__(self, manager: JobManager, dataset, seconds: float):
        self.manager, self.dataset = manager, dataset
        self.until = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.deleted: list[str] = []
        self.cancelled: list[str] = []  # taken out of the line before they started
        self.refused: dict[str, list[str]] = {}
        self.unexpected: list[str] = []
        self.over_limit: list[int] = []

    def known(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.started) if self.started else None

    def act(self, rng: random.Random) -> None:
        action = rng.choice(["start", "start", "stop", "stop", "pause", "resume", "delete", "list", "read"])
        run_id = self.known(rng)
        manager = self.manager
        if action == "start":
            config = TrainConfig(**(LONG if rng.random() < 0.5 else SHORT), seed=rng.randrange(1000))
            new = manager.start(config, self.dataset, owner=TEACHER)
            with self.lock:
                self.started.append(new)
        elif action == "delete" and run_id:
            manager.delete(run_id, by=TEACHER)
            with self.lock:
                self.deleted.append(run_id)
        elif action == "stop" and run_id and manager.cancel(run_id, by=TEACHER):
            with self.lock:
                self.cancelled.append(run_id)
        elif action in ("stop", "pause", "resume") and run_id:
            getattr(manager, action)(run_id, by=TEACHER)
        elif action == "list":
            for info in list_runs(manager.root, manager.active_ids()):
                if info.error and info.path.exists():
                    self.unexpected.append(f"half-written run {info.run_id}: {info.error}")
        elif action == "read" and run_id and (manager.root / run_id).is_dir():
            load_metrics(manager.root / run_id)
        working = sum(job.status in WORKING for job in manager.jobs())
        if working > LIMIT:
            self.over_limit.append(working)

    def work(self, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < self.until:
            try:
                self.act(rng)
            except EXPECTED as exc:
                with self.lock:
                    self.refused.setdefault(type(exc).__name__, []).append(str(exc))
            except Exception as exc:  # anything else is a bug the class would see
                self.unexpected.append(f"{type(exc).__name__}: {exc}")
            time.sleep(rng.uniform(0, 0.03))


@pytest.fixture
def warm(tiny_dataset):
    """Pay torch's and scikit-learn's first-use costs before the clock starts."""
    Trainer(TrainConfig(**SHORT), tiny_dataset).run()
    return tiny_dataset


def test_start_stop_pause_delete_from_many_threads_keep_every_run_consistent(tmp_path, warm):
    tiny_dataset = warm
    manager = JobManager(tmp_path / "runs", max_concurrent=LIMIT, max_queue=QUEUE)
    hands = Hands(manager, tiny_dataset, seconds=4.0)
    threads = [threading.Thread(target=hands.work, args=(seed,), name=f"hand-{seed}") for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a click hung"
    manager.shutdown(timeout=30)

    assert hands.unexpected == []
    assert hands.over_limit == []
    assert len(hands.started) >= 4 and hands.refused.get("JobLimitError"), (hands.started, hands.refused)
    assert len(set(hands.started)) == len(hands.started), "a run id was handed out twice"
    deleted = set(hands.deleted) | set(hands.cancelled)
    waiting = {entry["run_id"] for entry in read_queue(manager.root)}  # still in line when the server stopped
    assert waiting <= set(hands.started) - deleted
    kept = set(hands.started) - deleted - waiting
    on_disk = {path.name for path in manager.root.iterdir()} - {runs.QUEUE_FILE, runs.QUEUE_LOCK}
    assert on_disk == kept, "no run lost, none left behind half-deleted, no stray temporary folders"
    infos = list_runs(manager.root)
    assert {info.run_id for info in infos} == kept
    for info in infos:
        job = manager.get(info.run_id)
        assert info.error == "" and info.status in ("finished", "stopped"), (info.run_id, info.status, info.error)
        assert job is not None and job.status == info.status
        assert len(load_metrics(info.path)) == len(job.rows)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("rnnviz-train-")]


def test_pages_listing_runs_while_two_trainings_write_never_see_a_broken_run(tmp_path, warm):
    tiny_dataset = warm
    manager = JobManager(tmp_path / "runs", max_concurrent=LIMIT)
    problems: list[str] = []
    seen_statuses: set[str] = set()
    stop_reading = threading.Event()

    def read() -> None:
        while not stop_reading.is_set():
            try:
                for info in list_runs(manager.root, manager.active_ids()):
                    seen_statuses.add(info.status)
                    if info.error or info.status in ("unreadable", "interrupted"):
                        problems.append(f"{info.run_id}: {info.status} {info.error}")
                    load_metrics(info.path)
            except Exception as exc:
                problems.append(f"{type(exc).__name__}: {exc}")

    readers = [threading.Thread(target=read, name=f"reader-{i}") for i in range(3)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(2):
            ids = [manager.start(TrainConfig(**SHORT, seed=seed), tiny_dataset, owner=TEACHER) for seed in (1, 2, 3)]
            assert manager.get(ids[2]).status in ("queued", "running")
            for run_id in ids:
                assert manager.wait(run_id, 60).status == "finished"
    finally:
        stop_reading.set()
        for reader in readers:
            reader.join(30)
        manager.shutdown()
    assert problems == []
    assert {"running", "finished"} <= seen_statuses
    assert len(list_runs(manager.root)) == 6


def test_a_run_being_created_is_not_listed_until_its_files_are_written(tmp_path, tiny_dataset, monkeypatch):
    root = tmp_path / "runs"
    entered, release = threading.Event(), threading.Event()
    real_write = runs.write_json

    def slow_write(path, values):
        if path.name == "config.json":
            entered.set()
            release.wait(10)
        real_write(path, values)

    monkeypatch.setattr(runs, "write_json", slow_write)
    maker = threading.Thread(target=runs.RunWriter, args=(root, TrainConfig(**SHORT), tiny_dataset.source,
                                                          tiny_dataset.categories), kwargs={"run_id": "new"})
    maker.start()
    try:
        assert entered.wait(10)
        assert list_runs(root) == [], "a half-made run must not be listed (it would show as unreadable)"
    finally:
        release.set()
        maker.join(10)
    (info,) = list_runs(root)
    assert info.run_id == "new" and info.error == "" and sorted(p.name for p in root.iterdir()) == ["new"]


def test_starts_in_the_same_second_never_share_a_run_id(tmp_path, tiny_dataset, monkeypatch):
    stamps = iter(["20300101-000000-rnn-s0-aaaa"] * 3 + ["20300101-000000-rnn-s0-bbbb"])
    monkeypatch.setattr(jobs, "new_run_id", lambda config: next(stamps))
    manager = JobManager(tmp_path / "runs", max_concurrent=LIMIT)
    try:
        first = manager.start(TrainConfig(**SHORT), tiny_dataset, owner=TEACHER)
        second = manager.start(TrainConfig(**SHORT), tiny_dataset, owner=TEACHER)
        assert (first, second) == ("20300101-000000-rnn-s0-aaaa", "20300101-000000-rnn-s0-bbbb")
        assert manager.wait(first, 60).status == manager.wait(second, 60).status == "finished"
    finally:
        manager.shutdown()
