"""Faults during training: a diverging loss, a crash inside the model, a disk that refuses to write.

Each ends its run with a status and a one-line reason (in the job and on disk, where the disk allows), keeps the
curves so far, and leaves other runs alone.
"""

from __future__ import annotations

import csv
import errno
import json
import threading
import time

import pytest

from rnnviz import cli, runs
from rnnviz.config import TrainConfig
from rnnviz.jobs import JobManager
from rnnviz.models import RNN
from rnnviz.runs import TEACHER, RunError, list_runs, load_metrics, train_run

QUICK = {"hidden_size": 8, "batch_size": 8, "epochs": 2, "eval_every": 1}
DIVERGING = {"model": "rnn", "optimizer": "sgd", "learning_rate": 10.0, "clip_grad": 0, "lr_schedule": "constant",
             "hidden_size": 16, "batch_size": 8, "epochs": 5, "eval_every": 1}
FULL = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def manager(thread_manager):
    """Faults are made by patching the library here, so these jobs run in this process's threads."""
    return thread_manager


def finished(manager: JobManager, run_id: str, timeout: float = 60):
    snapshot = manager.wait(run_id, timeout)
    assert snapshot is not None and not snapshot.active, "the job did not end in time"
    return snapshot


def summary_of(manager: JobManager, run_id: str) -> dict:
    return json.loads((manager.root / run_id / "summary.json").read_text())


def test_a_diverging_learning_rate_ends_the_job_as_diverged_with_the_step_and_its_curves(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**DIVERGING), tiny_dataset, owner=TEACHER)
    job = finished(manager, run_id)
    assert job.status == "diverged"
    assert f"at step {job.step + 1}" in job.message and "lower the learning rate" in job.message
    summary = summary_of(manager, run_id)
    assert summary["status"] == "diverged" and summary["message"] == job.message
    assert len(load_metrics(manager.root / run_id)) == job.step == len(job.rows) > 0
    assert not (manager.root / run_id / "model.pt").exists()
    (info,) = list_runs(manager.root)
    assert info.status == "diverged" and info.error == ""


def test_a_crash_inside_the_model_fails_that_run_only(manager, tiny_dataset, monkeypatch):
    calls = {"n": 0}
    real_forward = RNN.forward_onehot

    def crashing_forward(self, x, lengths):
        calls["n"] += 1
        if calls["n"] > 6:
            raise RuntimeError("simulated fault in the RNN\nwith a second line")
        return real_forward(self, x, lengths)

    monkeypatch.setattr(RNN, "forward_onehot", crashing_forward)
    healthy = manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
    broken = manager.start(TrainConfig(model="rnn", **QUICK), tiny_dataset, owner=TEACHER)
    failed = finished(manager, broken)
    assert failed.status == "failed" and failed.message == "RuntimeError: simulated fault in the RNN"
    assert summary_of(manager, broken) | {"status": "failed", "message": failed.message} == summary_of(manager, broken)
    assert len(load_metrics(manager.root / broken)) == len(failed.rows) > 0  # the curve up to the crash
    assert finished(manager, healthy).status == "finished"
    assert {i.run_id: i.status for i in list_runs(manager.root)} == {healthy: "finished", broken: "failed"}


class DiskFillsUp:
    """Stands in for the csv module in rnnviz.runs: the disk is full after `rows` metric rows."""

    def __init__(self, rows: int):
        self.allowed = rows + 1  # the header, then the rows

    def writer(self, handle):
        self.allowed -= 1
        if self.allowed < 0:
            raise FULL
        return csv.writer(handle)


def test_a_full_disk_while_appending_metrics_fails_the_job_with_the_reason(manager, tiny_dataset, monkeypatch):
    monkeypatch.setattr(runs, "csv", DiskFillsUp(rows=3))
    run_id = manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
    job = finished(manager, run_id)
    assert job.status == "failed"
    assert job.message == f"cannot write metrics.csv of run {run_id}: No space left on device"
    assert summary_of(manager, run_id)["message"] == job.message
    assert len(load_metrics(manager.root / run_id)) == 3  # the rows written before the disk filled up


def test_a_full_disk_while_saving_weights_fails_the_job_with_the_reason(manager, tiny_dataset, monkeypatch):
    def refuse(obj, path):
        raise FULL

    monkeypatch.setattr(runs, "save_torch_atomic", refuse)
    run_id = manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
    job = finished(manager, run_id)
    assert job.status == "failed" and job.message.endswith("snapshot of run " + run_id + ": No space left on device")
    assert summary_of(manager, run_id)["status"] == "failed"


def test_a_summary_the_disk_refuses_is_reported_and_the_run_lists_as_interrupted(manager, tiny_dataset, monkeypatch):
    real_write = runs.write_atomic

    def refuse_summary(path, data):
        if path.name == "summary.json":
            raise FULL
        real_write(path, data)

    monkeypatch.setattr(runs, "write_atomic", refuse_summary)
    run_id = manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
    job = finished(manager, run_id)
    assert job.status == "failed"
    assert job.message == f"cannot write summary.json of run {run_id}: No space left on device"
    (info,) = list_runs(manager.root)
    assert info.status == "interrupted" and len(load_metrics(info.path)) == len(job.rows)


def test_a_run_folder_removed_during_training_fails_the_job_with_the_reason(manager, tiny_dataset, tmp_path):
    run_id = manager.start(TrainConfig(model="lstm", hidden_size=8, batch_size=8, epochs=200, eval_every=1),
                           tiny_dataset, owner=TEACHER)
    deadline = time.monotonic() + 30
    while manager.get(run_id).step < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    (manager.root / run_id).rename(tmp_path / "moved-away")  # someone tidies the disk by hand
    job = finished(manager, run_id)
    assert job.status == "failed" and "No such file or directory" in job.message and run_id in job.message


def test_a_runs_path_that_is_a_file_is_refused_at_start(tmp_path, tiny_dataset, tiny_folder, capsys):
    blocker = tmp_path / "runs-is-a-file"
    blocker.write_text("not a folder")
    manager = JobManager(blocker)
    with pytest.raises(RunError, match="it is a file, not a folder"):
        manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
    assert manager.jobs() == [] and manager.active_ids() == set()
    with pytest.raises(RunError, match="it is a file"):
        train_run(TrainConfig(model="lstm", **QUICK), tiny_dataset, blocker)
    code = cli.main(["train", "--data", str(tiny_folder), "--runs", str(blocker), "--quiet", "--epochs", "1"])
    out, err = capsys.readouterr()
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and "it is a file" in err
    assert blocker.read_text() == "not a folder"


def test_a_failed_job_frees_its_slot(tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.setattr(runs, "csv", DiskFillsUp(rows=1))
    manager = JobManager(tmp_path / "runs", max_concurrent=1, in_process=True)
    try:
        first = manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
        assert finished(manager, first).status == "failed"
        monkeypatch.undo()
        second = manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
        assert finished(manager, second).status == "finished"
    finally:
        manager.shutdown()


def test_a_run_folder_that_cannot_be_written_leaves_nothing_behind(tmp_path, tiny_dataset, monkeypatch):
    def refuse(path, data):
        raise FULL

    monkeypatch.setattr(runs, "write_atomic", refuse)
    with pytest.raises(RunError, match="cannot write the run folder .*No space left on device"):
        train_run(TrainConfig(model="lstm", **QUICK), tiny_dataset, tmp_path / "runs", run_id="doomed")
    assert list((tmp_path / "runs").iterdir()) == [], "no half-made or hidden folder is left"


def test_a_thread_the_system_refuses_does_not_hold_a_training_slot(manager, tiny_dataset, monkeypatch):
    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(RunError, match="could not start the training: can't start new thread"):
        manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
    monkeypatch.undo()
    assert manager.jobs() == [] and manager.active_ids() == set()
    again = manager.start(TrainConfig(model="lstm", **QUICK), tiny_dataset, owner=TEACHER)
    assert finished(manager, again).status == "finished"
