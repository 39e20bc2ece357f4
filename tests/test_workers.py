"""Jobs run in worker processes: another pid trains each run, controls reach across the process boundary, a worker
killed mid-training fails that run only, and only a run's owner or the teacher may control it (rnnviz.jobs)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from rnnviz.config import TrainConfig
from rnnviz.jobs import JobManager, Task, default_max_jobs, may_control
from rnnviz.probe import ProbeConfig, start_probe
from rnnviz.runs import TEACHER, list_runs
from tests.helpers import wait_for
from tests.test_jobs import LONG, QUICK

TINY_PROBE = {"lengths": (5,), "models": ("lstm",), "steps": 400, "batch_size": 8, "test_size": 16, "seeds": 1,
              "hidden_size": 8}


def summary(manager: JobManager, run_id: str) -> dict:
    return json.loads((manager.root / run_id / "summary.json").read_text())


def test_a_training_runs_in_another_process_that_its_summary_names(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
    final = manager.wait(run_id, 60)
    assert final.status == "finished" and manager.runner == "processes"
    worker = summary(manager, run_id)["worker"]
    assert worker["pid"] != os.getpid() and worker["host"] and final.worker == worker


def test_a_task_runs_in_another_process_and_reports_its_rows(manager):
    job_id = start_probe(manager, ProbeConfig(**{**TINY_PROBE, "steps": 20}), owner="ana")
    final = manager.wait(job_id, 60)
    assert final.status == "finished" and final.owner == "ana"
    assert final.worker["pid"] != os.getpid() and len(final.rows) == 1 and final.step == 20


def test_a_worker_does_not_run_the_page_script_that_happens_to_be_main(manager, tiny_dataset, monkeypatch, tmp_path):
    """In the app, `__main__` is whichever page script ran last (under AppTest, a temporary script that is soon
    gone): a worker started meanwhile trains without running it."""
    import sys
    import types

    page = types.ModuleType("__main__")
    page.__file__ = str(tmp_path / "gone" / "page.py")  # no such file: running it would fail the worker
    monkeypatch.setitem(sys.modules, "__main__", page)
    run_id = manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
    assert manager.wait(run_id, 60).status == "finished"


def test_pause_resume_and_stop_reach_the_worker_process(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    wait_for(lambda: manager.get(run_id).step >= 2)
    assert manager.pause(run_id, by="ana") and manager.get(run_id).status == "paused"
    time.sleep(0.5)  # the batch in flight finishes and its point arrives
    held = manager.get(run_id).step
    time.sleep(0.5)
    assert manager.get(run_id).step == held and manager.get(run_id).active, "the worker waits while paused"
    assert manager.resume(run_id, by="ana")
    wait_for(lambda: manager.get(run_id).step > held)
    assert manager.stop(run_id, by="ana")
    final = manager.wait(run_id, 60)
    assert final.status == "stopped" and summary(manager, run_id)["status"] == "stopped"


def test_a_worker_killed_mid_training_fails_that_run_only_and_the_next_queued_starts(tmp_path, tiny_dataset):
    manager = JobManager(tmp_path / "runs", max_concurrent=2)
    try:
        victim = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
        healthy = manager.start(TrainConfig(**LONG, seed=1), tiny_dataset, owner="ben")
        waiting = manager.start(TrainConfig(**QUICK, seed=2), tiny_dataset, owner="chloe")
        assert manager.get(waiting).status == "queued"
        wait_for(lambda: manager.get(victim).step >= 2 and manager.get(healthy).step >= 2)
        pid = manager.get(victim).worker["pid"]
        os.kill(pid, signal.SIGKILL)
        failed = manager.wait(victim, 30)
        assert failed.status == "failed" and "\n" not in failed.message
        assert f"pid {pid}" in failed.message and "SIGKILL" in failed.message
        record = summary(manager, victim)
        assert record["status"] == "failed" and record["message"] == failed.message
        (info,) = [i for i in list_runs(manager.root) if i.run_id == victim]
        assert info.status == "failed" and info.config["model"] == "lstm", "the run keeps its config and curves"
        assert manager.wait(waiting, 60).status == "finished", "the freed slot went to the next in line"
        assert manager.get(healthy).status == "running", "the other worker went on"
        assert manager.stop(healthy, by="ben") and manager.wait(healthy, 30).status == "stopped"
    finally:
        manager.shutdown()


def test_a_restart_with_trainings_queued_runs_them_in_worker_processes(tmp_path, tiny_folder, tiny_dataset):
    root = tmp_path / "runs"
    before = JobManager(root, max_concurrent=1)
    running = before.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    waiting = [before.start(TrainConfig(**QUICK, seed=s), tiny_dataset, owner=o) for s, o in ((1, "ben"), (2, "cy"))]
    before.shutdown()  # the server stops: its training is stopped, the queue stays on disk
    assert before.wait(running, 30).status == "stopped"
    after = JobManager(root, max_concurrent=1)
    try:
        assert after.restore_queue(lambda folder: tiny_dataset) == waiting
        finals = [after.wait(run_id, 60) for run_id in waiting]
        assert [f.status for f in finals] == ["finished", "finished"] and [f.owner for f in finals] == ["ben", "cy"]
        assert all(summary(after, run_id)["worker"]["pid"] != os.getpid() for run_id in waiting)
    finally:
        after.shutdown()


def test_the_default_number_of_jobs_is_the_cores_less_one():
    assert [default_max_jobs(cores) for cores in (1, 2, 16)] == [1, 1, 15]


# ---------------------------------------------------------------- who may control a job


def test_may_control_allows_the_owner_and_the_teacher_only():
    assert may_control("ana", "ana") and may_control("ana", TEACHER) and may_control(TEACHER, TEACHER)
    assert not may_control("ana", "ben") and not may_control(TEACHER, "ana") and not may_control("ana", "")


def test_an_owner_is_required_to_start_anything(thread_manager, tiny_dataset):
    with pytest.raises(TypeError):
        thread_manager.start(TrainConfig(**QUICK), tiny_dataset)  # no owner= at all
    with pytest.raises(ValueError, match="needs an owner"):
        thread_manager.start(TrainConfig(**QUICK), tiny_dataset, owner="")
    with pytest.raises(TypeError):
        start_probe(thread_manager, ProbeConfig(**TINY_PROBE))


@pytest.mark.parametrize("action", ["pause", "resume", "stop", "delete"])
def test_every_control_of_a_running_training_is_refused_to_a_stranger(thread_manager, tiny_dataset, action):
    manager = thread_manager
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    wait_for(lambda: manager.get(run_id).step >= 1)
    with pytest.raises(PermissionError, match=f"only its owner or the teacher may {action} {run_id}"):
        getattr(manager, action)(run_id, by="ben")
    snapshot = manager.get(run_id)
    assert snapshot.status == "running" and not snapshot.message, "a refused control changes nothing"
    manager.stop(run_id, by="ana")
    manager.wait(run_id, 30)


@pytest.mark.parametrize("by", ["ana", TEACHER])
def test_the_owner_and_the_teacher_may_pause_resume_stop_and_delete(thread_manager, tiny_dataset, by):
    manager = thread_manager
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    wait_for(lambda: manager.get(run_id).step >= 1)
    assert manager.pause(run_id, by=by) and manager.get(run_id).status == "paused"
    assert manager.resume(run_id, by=by) and manager.get(run_id).status == "running"
    assert manager.stop(run_id, by=by) and manager.wait(run_id, 30).status == "stopped"
    manager.delete(run_id, by=by)
    assert not (manager.root / run_id).exists()


def test_a_queued_training_can_be_cancelled_by_its_owner_or_the_teacher_only(tmp_path, tiny_dataset):
    manager = JobManager(tmp_path / "runs", max_concurrent=1, in_process=True)
    try:
        first = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
        mine, theirs = (manager.start(TrainConfig(**QUICK), tiny_dataset, owner=o) for o in ("ben", "cy"))
        for action in ("cancel", "stop", "delete"):
            with pytest.raises(PermissionError):
                getattr(manager, action)(mine, by="cy")
        assert manager.get(mine).status == "queued"
        assert manager.cancel(mine, by="ben") and manager.cancel(theirs, by=TEACHER)
        assert manager.get(mine) is None and manager.get(theirs) is None
        manager.stop(first, by="ana")
    finally:
        manager.shutdown()


def test_a_finished_run_on_disk_is_deleted_by_its_owner_only(thread_manager, tiny_dataset):
    manager = thread_manager
    run_id = manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
    manager.wait(run_id, 60)
    fresh = JobManager(manager.root, max_concurrent=1, in_process=True)  # another server: the run is only on disk
    try:
        with pytest.raises(PermissionError):
            fresh.delete(run_id, by="ben")
        assert (manager.root / run_id).is_dir()
        fresh.delete(run_id, by="ana")
        assert not (manager.root / run_id).exists()
    finally:
        fresh.shutdown()


def test_a_sweep_belongs_to_who_started_it_and_counts_against_their_cap(tmp_path, tiny_dataset):
    manager = JobManager(tmp_path / "runs", max_concurrent=3, per_owner=1, in_process=True)
    try:
        sweep = start_probe(manager, ProbeConfig(**{**TINY_PROBE, "steps": 5000}), owner="ana")
        with pytest.raises(PermissionError):
            manager.stop(sweep, by="ben")
        with pytest.raises(ValueError, match="at most 1 each"):
            manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
        other = manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ben")
        assert manager.stop(sweep, by="ana") and manager.wait(sweep, 30).status == "stopped"
        manager.wait(other, 60)
    finally:
        manager.shutdown()


def test_a_task_reports_through_its_task_object(thread_manager):
    job_id = thread_manager.start_task("count", 3, _count, 3, owner="ana")
    final = thread_manager.wait(job_id, 10)
    assert final.status == "finished" and final.step == 3 and final.rows == [{"n": 1}, {"n": 2}, {"n": 3}]


def _count(task: Task) -> tuple[str, str]:
    for n in range(1, task.config + 1):
        task.report(done=n, row={"n": n})
    return "finished", ""


def test_the_board_settings_live_in_the_runs_folder_so_two_servers_agree(tmp_path):
    from ui.board import BoardState

    first, second = BoardState(tmp_path / "runs"), BoardState(tmp_path / "runs")  # two app servers
    assert first.read() == (False, None)
    first.set(hidden=True, frozen=True)
    hidden, frozen_at = second.read()
    assert hidden and frozen_at is not None
    second.set(frozen=False)
    assert first.read() == (True, None)


def test_the_fork_server_trains_every_model_once_so_a_worker_starts_its_training_set_up(monkeypatch):
    from rnnviz import jobs, warm
    from rnnviz.registry import SPECS

    assert "rnnviz.warm" in jobs.WARM_MODULES
    trained, real = [], warm.train_run

    def recording(config, dataset, root, **kwargs):
        trained.append(config.model)
        writer, result = real(config, dataset, root, **kwargs)
        assert result.status == "finished" and (writer.path / "model.pt").is_file()
        return writer, result

    monkeypatch.setattr(warm, "train_run", recording)
    warm.warm_up()
    assert trained == list(SPECS)
