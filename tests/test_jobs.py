"""Tests for rnnviz.jobs: background trainings that start at once, obey stop/pause, and fail alone."""

from __future__ import annotations

import json
import threading
import time

import pytest

from rnnviz.config import TrainConfig
from rnnviz.data import Split, split_dataset
from rnnviz.jobs import JobManager
from rnnviz.runs import TEACHER, list_runs
from tests.helpers import wait_for

QUICK = {"hidden_size": 16, "batch_size": 8, "epochs": 2}
LONG = {"hidden_size": 16, "batch_size": 8, "epochs": 200, "eval_every": 1}  # many seconds unless stopped


def test_start_returns_at_once_while_the_training_runs(manager, tiny_dataset):
    began = time.perf_counter()
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    assert time.perf_counter() - began < 0.5
    assert manager.get(run_id).active and run_id in manager.active_ids()
    wait_for(lambda: manager.get(run_id).step >= 3)
    assert manager.get(run_id).total_steps == 200 * 9
    manager.stop(run_id, by=TEACHER)
    final = manager.wait(run_id, 30)
    assert final.status == "stopped" and not final.active and final.step < final.total_steps
    assert json.loads((manager.root / run_id / "summary.json").read_text())["status"] == "stopped"


def test_a_finished_job_has_its_summary_and_every_row(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**QUICK, eval_every=1), tiny_dataset, owner=TEACHER)
    final = manager.wait(run_id, 60)
    assert final.status == "finished" and final.progress == 1.0
    assert [row["step"] for row in final.rows] == list(range(1, 19))
    assert final.summary["val_accuracy"] is not None
    assert [info.run_id for info in list_runs(manager.root)] == [run_id]


def test_a_training_beyond_the_limit_waits_and_starts_when_a_worker_frees(tmp_path, tiny_dataset):
    manager = JobManager(tmp_path / "runs", max_concurrent=1)
    try:
        first = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
        second = manager.start(TrainConfig(**QUICK), tiny_dataset, owner=TEACHER)
        assert manager.get(second).status == "queued" and not (manager.root / second).exists()
        manager.stop(first, by=TEACHER)
        assert manager.wait(second, 60).status == "finished"
    finally:
        manager.shutdown()


def test_pause_holds_the_job_and_resume_continues_it(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(run_id).step >= 2)
    assert manager.pause(run_id, by=TEACHER)
    assert manager.get(run_id).status == "paused"
    time.sleep(0.2)  # the batch in flight finishes
    held = manager.get(run_id).step
    time.sleep(0.4)
    assert manager.get(run_id).step == held and manager.get(run_id).active
    assert manager.resume(run_id, by=TEACHER)
    wait_for(lambda: manager.get(run_id).step > held)
    assert manager.get(run_id).status == "running"
    manager.stop(run_id, by=TEACHER)
    assert manager.wait(run_id, 30).status == "stopped"


def test_a_paused_job_can_be_stopped(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(run_id).step >= 1)
    manager.pause(run_id, by=TEACHER)
    manager.stop(run_id, by=TEACHER)
    assert manager.wait(run_id, 30).status == "stopped"


def test_a_stop_shows_as_stopping_until_the_run_has_ended(thread_manager, tiny_dataset, monkeypatch):
    manager = thread_manager  # the final scoring is held by a patch in this process
    from rnnviz import train

    scoring, release = threading.Event(), threading.Event()
    real = train.evaluate_encoded

    def held_final_scores(model, part, device, *args, **kwargs):
        if manager.get(run_id).status == "stopping":  # the final scores after the stop: hold them
            scoring.set()
            release.wait(30)
        return real(model, part, device, *args, **kwargs)

    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(run_id).step >= 2)
    monkeypatch.setattr(train, "evaluate_encoded", held_final_scores)
    manager.stop(run_id, by=TEACHER)
    assert manager.get(run_id).status == "stopping" and manager.get(run_id).active
    wait_for(scoring.is_set, what="the final scoring")
    # While the final scores are computed the page keeps showing the run as stopping, not stopped or running.
    assert manager.get(run_id).status == "stopping" and manager.get(run_id).active
    release.set()
    assert manager.wait(run_id, 30).status == "stopped"


def test_deleting_a_running_job_stops_it_and_removes_its_folder(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(run_id).step >= 2)
    manager.delete(run_id, by=TEACHER)
    assert manager.get(run_id) is None and manager.jobs() == []
    assert not (manager.root / run_id).exists() and list_runs(manager.root) == []


def test_a_failing_training_is_marked_failed_while_another_job_finishes(manager, tiny_dataset):
    split = split_dataset(tiny_dataset)
    broken = Split(split.categories, split.train + [("Zzz", 99)], split.val, split.test)  # no category 99
    good = manager.start(TrainConfig(**QUICK, seed=1), tiny_dataset, owner=TEACHER)
    bad = manager.start(TrainConfig(**(QUICK | {"seed": 2, "batch_size": 128})), tiny_dataset, split=broken,
                        owner=TEACHER)
    failed = manager.wait(bad, 60)
    assert failed.status == "failed" and "99" in failed.message and "\n" not in failed.message
    summary = json.loads((manager.root / bad / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["message"] == failed.message
    assert manager.wait(good, 60).status == "finished"
    statuses = {info.run_id: info.status for info in list_runs(manager.root)}
    assert statuses == {good: "finished", bad: "failed"}
    manager.delete(bad, by=TEACHER)
    assert manager.get(bad) is None and not (manager.root / bad).exists()


def test_a_job_that_fails_before_writing_a_folder_can_still_be_deleted(manager, tiny_dataset):
    split = split_dataset(tiny_dataset)
    empty_val = Split(split.categories, split.train, [], split.test)
    run_id = manager.start(TrainConfig(**QUICK), tiny_dataset, split=empty_val, owner=TEACHER)
    failed = manager.wait(run_id, 30)
    assert failed.status == "failed" and "validation part" in failed.message
    manager.delete(run_id, by=TEACHER)
    assert manager.get(run_id) is None


def test_a_run_id_cannot_be_started_twice(manager, tiny_dataset):
    manager.start(TrainConfig(**LONG), tiny_dataset, run_id="same", owner=TEACHER)
    with pytest.raises(ValueError, match="already exists"):
        manager.start(TrainConfig(**QUICK), tiny_dataset, run_id="same", owner=TEACHER)
    assert manager.get("same").config == TrainConfig(**LONG)


def test_snapshots_are_copies(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**QUICK, eval_every=1), tiny_dataset, owner=TEACHER)
    snapshot = manager.wait(run_id, 60)
    snapshot.rows.clear()
    assert len(manager.get(run_id).rows) == 18


def test_controls_on_unknown_jobs_are_harmless(manager):
    assert not manager.stop("nope", by=TEACHER) and not manager.pause("nope", by=TEACHER)
    assert not manager.resume("nope", by=TEACHER)
    assert manager.get("nope") is None and manager.wait("nope") is None
