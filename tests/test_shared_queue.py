"""Several app servers on one runs folder share one queue: a class behind two servers waits in one line, first come
first served; a server with a free worker takes the next training whoever queued it; the server that queued it
follows it to its end and passes its owner's stop, pause and resume on; cancels and the per-student cap hold across
servers. Each JobManager here stands for one server (its own id, its own workers)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.jobs import JobLimitError, JobManager
from rnnviz.runs import CONTROL_FILE, QUEUE_FILE, TEACHER, list_runs, read_queue, read_run, request_control
from tests.helpers import wait_for
from tests.test_jobs import LONG, QUICK


@pytest.fixture
def servers(tmp_path, tiny_dataset):
    """Two servers on one runs folder, one worker each, in threads (quick to start), each able to load the data of
    a training the other queued (as the app's servers are)."""
    root = tmp_path / "runs"
    made = [JobManager(root, max_concurrent=1, per_owner=2, in_process=True, load_dataset=lambda f: tiny_dataset)
            for _ in range(2)]
    yield made
    for manager in made:
        manager.shutdown()


def test_a_free_server_takes_the_next_training_another_server_queued_and_its_queuer_follows_it(servers, tiny_dataset):
    a, b = servers
    b_busy = b.start(TrainConfig(**LONG), tiny_dataset, owner="zoe")
    a_busy = a.start(TrainConfig(**LONG, seed=1), tiny_dataset, owner="yan")
    waiting = a.start(TrainConfig(**QUICK, seed=2), tiny_dataset, owner="ana", owner_name="Ana")
    assert a.get(waiting).status == "queued" and a.get(waiting).position == 1
    seen_by_b = b.get(waiting)
    assert seen_by_b is not None and (seen_by_b.status, seen_by_b.position, seen_by_b.owner) == ("queued", 1, "ana")
    assert waiting in {job.run_id for job in b.jobs()}, "B lists the training A queued, with its place"

    b.stop(b_busy, by="zoe")  # B's worker frees first: B takes A's training
    final = a.wait(waiting, 60)
    assert final.status == "finished" and final.rows, "A followed it to its end, curve included"
    assert final.summary["val_accuracy"] == read_run(a.root / waiting).summary["val_accuracy"]
    assert final.worker["pid"] == read_run(a.root / waiting).summary["worker"]["pid"]
    assert read_run(a.root / waiting).summary["worker"]["server"] == b.server, "the run records the server"
    assert b.get(waiting).status == "finished" and final.elsewhere == b.server, "it trained on B"
    assert a.get(a_busy).status == "running", "A's own worker was never free"
    assert read_queue(a.root) == []
    a.stop(a_busy, by="yan")


def test_the_line_is_first_come_first_served_across_servers(servers, tiny_dataset):
    a, b = servers
    busy = [a.start(TrainConfig(**LONG), tiny_dataset, owner="x"),
            b.start(TrainConfig(**LONG), tiny_dataset, owner="y")]
    order = []
    for k, manager in enumerate([b, a, b, a]):
        order.append(manager.start(TrainConfig(**QUICK, seed=k), tiny_dataset, owner=f"s{k}"))
    assert [entry["run_id"] for entry in read_queue(a.root)] == order
    assert [a.get(run_id).position for run_id in order] == [1, 2, 3, 4] == [b.get(r).position for r in order]
    a.stop(busy[0], by="x")  # only A has a free worker: it must take B's training, the first in line
    for run_id in order:
        assert (a.get(run_id) or b.get(run_id)).status in ("queued", "running", "finished")
    wait_for(lambda: all(read_run(a.root / run_id).status == "finished" for run_id in order), timeout=90)
    started = sorted(order, key=lambda run_id: read_run(a.root / run_id).created)
    assert started == order
    b.stop(busy[1], by="y")


def test_a_server_without_a_data_loader_takes_only_its_own_trainings(tmp_path, tiny_dataset):
    root = tmp_path / "runs"
    a = JobManager(root, max_concurrent=1, in_process=True)
    b = JobManager(root, max_concurrent=1, in_process=True)
    try:
        busy = a.start(TrainConfig(**LONG), tiny_dataset, owner="x")
        waiting = a.start(TrainConfig(**QUICK), tiny_dataset, owner="y")
        assert b.get(waiting).position == 1
        mine = b.start(TrainConfig(**QUICK, seed=1), tiny_dataset, owner="z")  # behind A's in the one line
        assert b.wait(mine, 60).status == "finished", "B skipped the entry it cannot load and took its own"
        assert a.get(waiting).status == "queued" and a.get(waiting).position == 1
        a.stop(busy, by="x")
        assert a.wait(waiting, 60).status == "finished"
    finally:
        a.shutdown()
        b.shutdown()


def test_a_queued_training_is_cancelled_from_another_server_by_its_owner_or_the_teacher_only(servers, tiny_dataset):
    a, b = servers
    busy = [a.start(TrainConfig(**LONG), tiny_dataset, owner="x"),
            b.start(TrainConfig(**LONG), tiny_dataset, owner="y")]
    first = a.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
    second = a.start(TrainConfig(**QUICK, seed=1), tiny_dataset, owner="ben")
    with pytest.raises(PermissionError, match="only its owner or the teacher"):
        b.cancel(first, by="mallory")
    assert b.cancel(first, by="ana") and b.stop(second, by=TEACHER)
    assert read_queue(a.root) == []
    wait_for(lambda: a.get(first) is None and a.get(second) is None, timeout=10)  # A forgets them, as its own cancels
    assert not (a.root / first).exists() and not (a.root / second).exists()
    for manager, run_id, who in ((a, busy[0], "x"), (b, busy[1], "y")):
        manager.stop(run_id, by=who)


def test_the_cap_per_student_counts_trainings_queued_on_every_server(servers, tiny_dataset):
    a, b = servers
    for manager, who in ((a, "x"), (b, "y")):
        manager.start(TrainConfig(**LONG), tiny_dataset, owner=who)
    a.start(TrainConfig(**QUICK), tiny_dataset, owner="ana")
    a.start(TrainConfig(**QUICK, seed=1), tiny_dataset, owner="ana")
    with pytest.raises(JobLimitError, match="you already have 2 trainings"):
        b.start(TrainConfig(**QUICK, seed=2), tiny_dataset, owner="ana")
    b.start(TrainConfig(**QUICK, seed=3), tiny_dataset, owner="ben")  # others are not held back


def test_the_owner_stops_and_pauses_a_training_that_another_server_took_from_the_server_it_queued_on(
        servers, tiny_dataset):
    a, b = servers
    busy = a.start(TrainConfig(**LONG), tiny_dataset, owner="x")
    moved = a.start(TrainConfig(**LONG, seed=1), tiny_dataset, owner="ana")
    wait_for(lambda: b.get(moved) is not None and b.get(moved).status == "running" and b.get(moved).rows, timeout=60)
    wait_for(lambda: a.get(moved).rows, timeout=30)
    with pytest.raises(PermissionError):
        a.pause(moved, by="mallory")
    assert a.pause(moved, by="ana")
    wait_for(lambda: b.get(moved).status == "paused", timeout=10)
    assert a.resume(moved, by="ana")
    wait_for(lambda: b.get(moved).status == "running", timeout=10)
    assert a.stop(moved, by="ana")
    assert a.wait(moved, 60).status == "stopped" and b.wait(moved, 60).status == "stopped"
    assert read_run(a.root / moved).status == "stopped"
    a.stop(busy, by="x")


def test_a_control_request_from_someone_who_may_not_control_the_run_is_ignored(servers, tiny_dataset):
    a, b = servers
    run_id = b.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    wait_for(lambda: b.get(run_id).rows, timeout=30)
    request_control(b.root, run_id, "stop", "mallory")  # written straight into the folder, past the library's check
    wait_for(lambda: not (b.root / run_id / CONTROL_FILE).exists(), timeout=10)
    assert b.get(run_id).status == "running"
    with pytest.raises(PermissionError):
        a.stop(run_id, by="mallory")  # a server that never knew the run checks its owner on disk
    assert a.stop(run_id, by="ana")
    assert b.wait(run_id, 60).status == "stopped"


def test_starts_from_many_threads_on_two_servers_train_every_run_exactly_once(tmp_path, tiny_dataset):
    root = tmp_path / "runs"
    made = [JobManager(root, max_concurrent=1, in_process=True, load_dataset=lambda f: tiny_dataset)
            for _ in range(2)]
    ids: list[str] = []
    lock = threading.Lock()

    def student(k: int) -> None:
        run_id = made[k % 2].start(TrainConfig(**QUICK, seed=k), tiny_dataset, owner=f"s{k}")
        with lock:
            ids.append(run_id)

    threads = [threading.Thread(target=student, args=(k,)) for k in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_for(lambda: sorted(i.run_id for i in list_runs(root) if i.status == "finished") == sorted(ids),
                 timeout=120)
        trained_by = [read_run(root / run_id).summary["worker"]["pid"] for run_id in ids]
        assert len(set(ids)) == 8 and len(trained_by) == 8
        assert not (root / QUEUE_FILE).exists() or read_queue(root) == []
    finally:
        for manager in made:
            manager.shutdown()


SERVER_B = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from rnnviz.data import load_folder
    from rnnviz.jobs import JobManager
    manager = JobManager(Path(sys.argv[1]), max_concurrent=1, load_dataset=load_folder)
    print("ready", flush=True)
    sys.stdin.readline()  # until the test says it is done
    manager.shutdown()
""")


@pytest.mark.slow
def test_a_second_server_process_trains_what_the_first_queued_in_its_own_worker(tmp_path, tiny_folder):
    root = tmp_path / "runs"
    a = JobManager(root, max_concurrent=1)
    other = subprocess.Popen([sys.executable, "-c", SERVER_B, str(root)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "ready"
        dataset = load_folder(tiny_folder)
        busy = a.start(TrainConfig(**LONG), dataset, owner="x")
        moved = a.start(TrainConfig(**QUICK), dataset, owner="ana")
        final = a.wait(moved, 120)
        assert final.status == "finished" and final.elsewhere and final.elsewhere != a.server
        assert final.elsewhere.split(":")[1] == str(other.pid), "the other server process took it"
        summary = json.loads((root / moved / "summary.json").read_text())
        assert summary["worker"]["pid"] not in (a.get(busy).worker.get("pid"), other.pid, None)
        a.stop(busy, by="x")
        assert a.wait(busy, 60).status == "stopped"
    finally:
        other.communicate("done\n", timeout=60)
        a.shutdown()
