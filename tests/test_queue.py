"""The job manager's queue: trainings beyond the worker limit wait in line and start by themselves, first in
first out, with their place and an estimated wait; a queued training can be cancelled; owners are capped; and a
restarted server starts the trainings that were waiting (or lists them as not started)."""

from __future__ import annotations

import json

import pytest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.jobs import NOT_STARTED, JobLimitError, JobManager, estimate_waits
from rnnviz.runs import QUEUE_FILE, TEACHER, list_runs, read_queue, train_run
from tests.test_jobs import LONG, QUICK, wait_for


@pytest.fixture
def one_worker(tmp_path):
    jobs = JobManager(tmp_path / "runs", max_concurrent=1, per_owner=2, max_queue=3)
    yield jobs
    jobs.shutdown()


def queued(manager: JobManager) -> int:
    return sum(job.status == "queued" for job in manager.jobs())


def statuses(manager: JobManager, ids: list[str]) -> list[str]:
    return [manager.get(run_id).status for run_id in ids]


def test_trainings_beyond_the_limit_wait_in_line_and_start_by_themselves_in_order(one_worker, tiny_dataset):
    manager = one_worker
    first = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    second = manager.start(TrainConfig(**QUICK, seed=1), tiny_dataset, owner="ben")
    third = manager.start(TrainConfig(**QUICK, seed=2), tiny_dataset, owner="chloe")
    assert statuses(manager, [first, second, third]) == ["running", "queued", "queued"]
    assert (manager.get(second).position, manager.get(third).position) == (1, 2)
    assert manager.get(first).position is None
    assert {first, second, third} <= manager.active_ids()
    assert [e["run_id"] for e in read_queue(manager.root)] == [second, third]
    manager.stop(first, by=TEACHER)
    final = [manager.wait(run_id, 60) for run_id in (second, third)]
    assert [job.status for job in final] == ["finished", "finished"]
    assert final[0].started < final[1].started, "first queued, first started"
    assert not (manager.root / QUEUE_FILE).exists(), "an empty queue leaves no file"
    assert {i.run_id: i.owner for i in list_runs(manager.root)} == {first: "ana", second: "ben", third: "chloe"}


def test_the_estimated_wait_comes_from_the_running_trainings_own_eta(one_worker, tiny_dataset):
    manager = one_worker
    first = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    queued = manager.start(TrainConfig(**QUICK), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(first).rows)
    job = manager.get(queued)
    eta = manager.get(first).rows[-1]["eta_s"]
    assert job.position == 1 and job.wait_s is not None
    assert job.wait_s == pytest.approx(eta, rel=0.5, abs=2.0)
    manager.stop(first, by=TEACHER)


def test_waits_are_estimated_worker_by_worker():
    assert estimate_waits([10.0, 20.0], 2, 30.0, 3) == [10.0, 20.0, 40.0]
    assert estimate_waits([10.0], 2, 30.0, 2) == [0.0, 10.0], "an idle worker starts the first at once"
    assert estimate_waits([None, 5.0], 2, 12.0, 2) == [5.0, 12.0], "a training without an ETA yet counts as typical"
    assert estimate_waits([None], 1, None, 2) == [None, None], "nothing known, nothing promised"
    assert estimate_waits([8.0], 1, None, 2) == [8.0, None]


def test_a_queued_training_can_be_cancelled_and_never_runs(one_worker, tiny_dataset):
    manager = one_worker
    first = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    queued = manager.start(TrainConfig(**QUICK), tiny_dataset, owner=TEACHER)
    after = manager.start(TrainConfig(**QUICK, seed=3), tiny_dataset, owner="ben")
    assert manager.cancel(queued, by=TEACHER)
    assert manager.get(queued) is None and not manager.cancel(queued, by=TEACHER)
    assert not manager.stop(queued, by=TEACHER)
    assert manager.get(after).position == 1
    assert [e["run_id"] for e in read_queue(manager.root)] == [after]
    assert manager.get(first).status == "running"
    manager.stop(first, by=TEACHER)
    assert manager.wait(after, 60).status == "finished"
    assert not (manager.root / queued).exists()


def test_stop_and_delete_of_a_queued_training_cancel_it(one_worker, tiny_dataset):
    manager = one_worker
    first = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    a = manager.start(TrainConfig(**QUICK), tiny_dataset, owner=TEACHER)
    b = manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ben")
    assert not manager.pause(a, by=TEACHER), "a queued training has nothing to pause"
    assert manager.stop(a, by=TEACHER)
    manager.delete(b, by=TEACHER)
    assert manager.get(a) is None and manager.get(b) is None and queued(manager) == 0
    manager.stop(first, by=TEACHER)


def test_one_owner_is_capped_and_others_are_not(one_worker, tiny_dataset):
    manager = one_worker
    manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
    with pytest.raises(JobLimitError, match=r"you already have 2 trainings running or queued \(at most 2 each\)"):
        manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
    manager.start(TrainConfig(**QUICK), tiny_dataset, owner="ben")
    manager.start(TrainConfig(**QUICK), tiny_dataset, owner=TEACHER)  # the teacher is not capped


def test_a_full_queue_refuses_in_one_line(one_worker, tiny_dataset):
    manager = one_worker
    manager.start(TrainConfig(**LONG), tiny_dataset, owner="a")
    for owner in "bcd":
        manager.start(TrainConfig(**QUICK), tiny_dataset, owner=owner)
    with pytest.raises(JobLimitError, match=r"the queue is full \(3 trainings are waiting\)") as refused:
        manager.start(TrainConfig(**QUICK), tiny_dataset, owner="e")
    assert "\n" not in str(refused.value)
    assert queued(manager) == 3


def test_a_restarted_server_starts_the_trainings_that_were_waiting(tmp_path, tiny_folder, tiny_dataset):
    root = tmp_path / "runs"
    before = JobManager(root, max_concurrent=1)
    running = before.start(TrainConfig(**LONG), tiny_dataset, owner="ana", owner_name="Ana")
    waiting = [before.start(TrainConfig(**QUICK, seed=s), tiny_dataset, owner=o, owner_name=o.title())
               for s, o in ((1, "ben"), (2, "chloe"))]
    wait_for(lambda: before.get(running).rows)
    before.shutdown()  # the server stops: the running one is stopped, the queue stays on disk
    assert [e["run_id"] for e in read_queue(root)] == waiting

    after = JobManager(root, max_concurrent=1)
    try:
        assert after.restore_queue(load_folder) == waiting
        assert after.get(waiting[1]).status == "queued" or after.get(waiting[1]).status == "running"
        finals = [after.wait(run_id, 60) for run_id in waiting]
        assert [j.status for j in finals] == ["finished", "finished"] and finals[0].started < finals[1].started
        infos = {i.run_id: i for i in list_runs(root)}
        assert (infos[waiting[0]].owner, infos[waiting[0]].owner_name) == ("ben", "Ben")
        assert infos[running].status == "stopped"
        assert after.restore_queue(load_folder) == [], "nothing is started twice"
    finally:
        after.shutdown()
    assert len(list_runs(root)) == 3


def test_queued_trainings_whose_data_is_gone_are_listed_as_not_started(tmp_path, tiny_dataset):
    root = tmp_path / "runs"
    before = JobManager(root, max_concurrent=1)
    first = before.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    waiting = before.start(TrainConfig(**QUICK), tiny_dataset, owner="ben")
    before.shutdown()

    def gone(folder: str):
        raise FileNotFoundError(f"{folder} was removed")

    after = JobManager(root, max_concurrent=1)
    assert after.restore_queue(gone) == []
    job = after.get(waiting)
    assert job.status == NOT_STARTED and not job.active and job.owner == "ben"
    assert job.message.startswith("queued before the server restarted, not started: ")
    assert first not in after.active_ids() and not (root / QUEUE_FILE).exists()


def test_runs_record_their_owner_and_command_line_runs_belong_to_the_teacher(tmp_path, tiny_dataset):
    writer, _ = train_run(TrainConfig(**QUICK), tiny_dataset, tmp_path / "runs")
    meta = json.loads((writer.path / "config.json").read_text())
    assert meta["owner"] == TEACHER and meta["owner_name"] == ""
    writer, _ = train_run(TrainConfig(**QUICK), tiny_dataset, tmp_path / "runs", owner="x1",
                          owner_name="  Ana\n\x00 <b>Maria</b> " + "z" * 40)
    (info,) = [i for i in list_runs(tmp_path / "runs") if i.run_id == writer.run_id]
    assert info.owner == "x1" and info.owner_name == "Ana <b>Maria</b> zzzzzzz" and len(info.owner_name) <= 24


@pytest.mark.usefixtures("fresh_app")
def test_the_app_restarts_the_queue_a_previous_server_left(tiny_data, isolated_runs):
    from ui import resources

    before = JobManager(isolated_runs, max_concurrent=1)
    running = before.start(TrainConfig(**LONG), load_folder(tiny_data), owner=TEACHER)
    waiting = before.start(TrainConfig(**QUICK), load_folder(tiny_data), owner="ben", owner_name="Ben")
    before.shutdown()
    resources._job_manager.clear()  # a new server process
    manager = resources.job_manager()
    job = manager.get(waiting)
    assert job is not None and job.owner == "ben" and job.status in ("queued", "running", "finished")
    assert manager.wait(waiting, 60).status == "finished"
    assert {i.run_id: i.status for i in list_runs(isolated_runs)} == {running: "stopped", waiting: "finished"}
