"""A run's life from start to end, whatever the class does: Stop clicked twice or after the end, many start/stop
cycles, a run deleted while shown or trained, a server killed mid-training (the run is interrupted, its curves kept).
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import jobs
from rnnviz.config import TrainConfig
from rnnviz.jobs import JobManager
from rnnviz.runs import (
    TEACHER,
    RunError,
    delete_run,
    list_runs,
    list_snapshots,
    load_metrics,
    load_run,
    read_run,
    train_run,
)
from rnnviz.train import Control
from tests.conftest import write_tiny_folder
from tests.helpers import wait_for
from ui import nav, resources

PROJECT = Path(__file__).resolve().parent.parent
APP = str(PROJECT / "streamlit_app.py")
QUICK = {"model": "lstm", "hidden_size": 8, "batch_size": 8, "epochs": 2}
LONG = {"model": "lstm", "hidden_size": 8, "batch_size": 4, "epochs": 200, "eval_every": 1}  # minutes unless stopped


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


# --------------------------------------------------------------------------- stop


def test_stop_takes_effect_within_one_batch(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(run_id).step >= 3, what="three steps")
    asked = time.monotonic()
    manager.stop(run_id, by=TEACHER)
    seen = manager.get(run_id).step  # the trainer may be inside the next batch, no further
    final = manager.wait(run_id, 30)
    assert final.status == "stopped" and seen <= final.step <= seen + 1
    assert time.monotonic() - asked < 10
    assert final.message == f"stopped at step {final.step}"
    info = read_run(manager.root / run_id)
    assert info.status == "stopped" and info.summary["steps"] == final.step and info.has_model


def test_stop_twice_and_stop_after_the_end_are_harmless(manager, tiny_dataset):
    stopped = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    done = manager.start(TrainConfig(**QUICK), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(stopped).step >= 1, what="a first step")
    assert manager.stop(stopped, by=TEACHER) and manager.stop(stopped, by=TEACHER)
    assert manager.wait(stopped, 30).status == "stopped"
    assert manager.wait(done, 60).status == "finished"
    files = {run: {name: (manager.root / run / name).read_bytes() for name in ("summary.json", "model.pt")}
             for run in (stopped, done)}
    for run in (stopped, done, stopped):
        assert manager.stop(run, by=TEACHER)  # the teacher clicks Stop on a run that has ended
        assert not manager.pause(run, by=TEACHER)
        manager.resume(run, by=TEACHER)
    time.sleep(0.1)
    assert manager.get(stopped).status == "stopped" and manager.get(done).status == "finished"
    for run, saved in files.items():
        assert {name: (manager.root / run / name).read_bytes() for name in saved} == saved
    assert manager.active_ids() == set()


def test_a_paused_run_stops_and_a_stopped_run_cannot_be_paused(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(run_id).step >= 1, what="a first step")
    assert manager.pause(run_id, by=TEACHER) and manager.get(run_id).status == "paused"
    manager.stop(run_id, by=TEACHER)
    manager.pause(run_id, by=TEACHER)
    assert manager.wait(run_id, 30).status == "stopped"


def test_twenty_start_stop_cycles_leave_no_threads_and_bounded_memory(manager, tiny_dataset):
    def cycle() -> None:
        run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
        wait_for(lambda: manager.get(run_id).step >= 1, what="a first step")
        manager.stop(run_id, by=TEACHER)
        assert manager.wait(run_id, 30).status == "stopped"

    for _ in range(3):  # torch and scikit-learn allocate their caches on first use
        cycle()
    gc.collect()
    threads, memory = threading.active_count(), rss_kib()
    for _ in range(20):
        cycle()
    gc.collect()
    assert threading.active_count() == threads
    assert not [t.name for t in threading.enumerate() if t.name.startswith("rnnviz-train-")]
    grown = rss_kib() - memory
    assert grown < 16 * 1024, f"RSS grew by {grown / 1024:.1f} MiB over 20 cycles"
    assert len(list_runs(manager.root)) == 23 and all(i.status == "stopped" for i in list_runs(manager.root))


# --------------------------------------------------------------------------- deleting


def test_a_run_deleted_while_shown_gives_one_line_errors_not_crashes(manager, tiny_dataset):
    run_id = manager.start(TrainConfig(**QUICK), tiny_dataset, owner=TEACHER)
    manager.wait(run_id, 60)
    (info,) = list_runs(manager.root)
    loaded = load_run(info.path)
    manager.delete(run_id, by=TEACHER)
    assert loaded.model is not None  # a page that already holds the model keeps drawing it
    for use in (load_run, load_metrics):
        with pytest.raises(RunError):
            use(info.path)
    assert list_snapshots(info.path) == []
    assert read_run(info.path).status == "unreadable" and "missing" in read_run(info.path).error
    with pytest.raises(RunError, match="no run"):
        manager.delete(run_id, by=TEACHER)  # a second click on Delete
    assert list_runs(manager.root) == []


def test_a_run_trained_outside_the_job_manager_cannot_be_deleted_until_it_ends(tiny_dataset, isolated_runs):
    control = Control()
    worker = threading.Thread(target=train_run, args=(TrainConfig(**LONG), tiny_dataset, isolated_runs, control),
                              kwargs={"run_id": "busy"}, daemon=True)
    worker.start()
    try:
        wait_for(lambda: (isolated_runs / "busy" / "metrics.csv").is_file()
                 and len(load_metrics(isolated_runs / "busy")) >= 1, what="a first metrics row")
        assert list_runs(isolated_runs)[0].status == "running"  # no active set: the lock says so
        with pytest.raises(RunError, match="still training"):
            delete_run(isolated_runs, "busy")
        with pytest.raises(RunError, match="still training"):
            JobManager(isolated_runs).delete("busy", by=TEACHER)  # another server on the same runs folder
        assert (isolated_runs / "busy" / "config.json").is_file()
    finally:
        control.stop()
        worker.join(30)
    assert list_runs(isolated_runs)[0].status == "stopped"
    delete_run(isolated_runs, "busy")
    assert list_runs(isolated_runs) == []


@pytest.fixture
def app_data(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(write_tiny_folder(tmp_path / "names")))
    resources._data_choice.clear()
    yield
    resources.job_manager().shutdown(timeout=30)
    resources._data_choice.clear()


def test_deleting_a_running_training_from_the_train_page_stops_it_first(app_data, tiny_dataset, isolated_runs,
                                                                        monkeypatch):
    monkeypatch.setenv("RNNVIZ_TEACHER_KEY", "the-key")  # the run below is the teacher's: only they may delete it
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(nav.TRAIN).run()
    at.sidebar.text_input(key="app.owner.key_input").input("the-key").run()
    manager = resources.job_manager()
    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner=TEACHER)
    wait_for(lambda: manager.get(run_id).step >= 1, what="a first step")
    at.run()
    at.selectbox(key="train.manage").set_value(run_id).run()
    next(b for b in at.button if b.label == "Delete…").click().run()
    next(b for b in at.button if b.label == "Yes, delete").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(s.value.startswith("Deleted") for s in at.success)
    assert manager.get(run_id) is None and not (isolated_runs / run_id).exists()
    assert not [t for t in threading.enumerate() if t.name == f"rnnviz-train-{run_id}"]


def test_the_evaluate_page_moves_on_when_the_run_it_shows_is_deleted(app_data, tiny_dataset, isolated_runs):
    for seed in (1, 2):
        train_run(TrainConfig(**QUICK, seed=seed), tiny_dataset, isolated_runs, run_id=f"run-{seed}")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(nav.EVALUATE).run()
    at.selectbox(key="evaluate.run").set_value("run-1").run()
    delete_run(isolated_runs, "run-1")  # from another browser
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="evaluate.run").value == "run-2"
    delete_run(isolated_runs, "run-2")
    at.run()
    assert not at.exception and any("No finished runs" in i.value for i in at.info)


# --------------------------------------------------------------------------- a server killed mid-training

TRAINER = textwrap.dedent("""
    import sys
    import torch
    torch.set_num_threads(1)
    from pathlib import Path
    from rnnviz.data import load_folder
    from rnnviz.runs import train_run
    from rnnviz.config import TrainConfig
    config = TrainConfig(model="lstm", hidden_size=8, batch_size=4, epochs=200, eval_every=1)
    train_run(config, load_folder(sys.argv[1]), Path(sys.argv[2]), run_id="victim")
""")


@pytest.mark.slow
def test_a_training_process_killed_mid_run_leaves_an_interrupted_run_with_its_curves(tiny_folder, isolated_runs):
    process = subprocess.Popen([sys.executable, "-c", TRAINER, str(tiny_folder), str(isolated_runs)], cwd=PROJECT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run = isolated_runs / "victim"
    try:
        def rows() -> int:
            try:
                return len(load_metrics(run))
            except RunError:
                return 0

        wait_for(lambda: rows() >= 5 or process.poll() is not None, timeout=90, what="five metrics rows")
        assert process.poll() is None, process.stderr.read().decode()
        (info,) = list_runs(isolated_runs)
        assert info.status == "running", "another process is training it: not interrupted"
        with pytest.raises(RunError, match="still training"):
            delete_run(isolated_runs, "victim")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        process.stderr.close()
    (info,) = list_runs(isolated_runs)  # as a restarted server sees it: no job is active
    assert info.status == "interrupted" and info.error == "" and info.config["model"] == "lstm"
    metrics = load_metrics(run)
    assert len(metrics) >= 5 and list(metrics["step"]) == list(range(1, len(metrics) + 1))
    assert list_snapshots(run) == [0]
    with pytest.raises(RunError, match="did not finish"):
        load_run(run)
    delete_run(isolated_runs, "victim")  # nobody holds it any more
    assert list_runs(isolated_runs) == []


def test_the_manager_forgets_the_oldest_ended_jobs_but_never_their_runs(manager, tiny_dataset, monkeypatch):
    monkeypatch.setattr(jobs, "KEEP_ENDED", 3)
    started = []
    for seed in range(5):
        started.append(manager.start(TrainConfig(**QUICK, seed=seed), tiny_dataset, owner=TEACHER))
        assert manager.wait(started[-1], 60).status == "finished"
    remembered = [job.run_id for job in manager.jobs()]
    assert len(remembered) == 3 and remembered[-1] == started[-1] and started[0] not in remembered
    assert {info.run_id for info in list_runs(manager.root)} == set(started)
