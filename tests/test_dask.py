"""Jobs on a Dask cluster (a distributed.LocalCluster on 127.0.0.1): trainings run on its workers with the same live
rows and controls, and a worker lost mid-run fails that run only."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from rnnviz.config import TrainConfig
from rnnviz.jobs import JobManager
from tests.helpers import wait_for
from tests.test_jobs import LONG, QUICK

distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install -e .[cluster]")
pytestmark = pytest.mark.slow


@pytest.fixture
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local:
        yield local


@pytest.fixture
def dask_manager(cluster, tmp_path):
    manager = JobManager(tmp_path / "runs", max_concurrent=2, scheduler=cluster.scheduler_address)
    yield manager
    manager.shutdown(timeout=30)


def test_a_training_on_the_cluster_streams_its_rows_and_obeys_pause_and_stop(dask_manager, tiny_dataset):
    manager = dask_manager
    assert manager.runner == "dask"
    quick = manager.start(TrainConfig(**QUICK, eval_every=1), tiny_dataset, owner="ana")
    final = manager.wait(quick, 120)
    assert final.status == "finished" and [row["step"] for row in final.rows] == list(range(1, 19))
    worker = json.loads((manager.root / quick / "summary.json").read_text())["worker"]
    assert worker == final.worker and worker["pid"] != os.getpid()

    run_id = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    wait_for(lambda: manager.get(run_id).step >= 2, timeout=60)
    assert manager.pause(run_id, by="ana")
    time.sleep(1.5)  # the worker sees the pause within a poll and finishes its batch
    held = manager.get(run_id).step
    time.sleep(1.0)
    assert manager.get(run_id).step == held
    manager.resume(run_id, by="ana")
    wait_for(lambda: manager.get(run_id).step > held, timeout=30)
    manager.stop(run_id, by="ana")
    assert manager.wait(run_id, 60).status == "stopped"


def test_a_worker_lost_mid_run_fails_that_run_and_the_next_one_trains(dask_manager, tiny_dataset):
    manager = dask_manager
    victim = manager.start(TrainConfig(**LONG), tiny_dataset, owner="ana")
    wait_for(lambda: manager.get(victim).step >= 2, timeout=60)
    pid = manager.get(victim).worker["pid"]
    os.kill(pid, signal.SIGKILL)
    failed = manager.wait(victim, 120)
    assert failed.status == "failed" and "\n" not in failed.message and f"pid {pid}" in failed.message
    assert json.loads((manager.root / victim / "summary.json").read_text())["status"] == "failed"
    after = manager.start(TrainConfig(**QUICK, seed=3), tiny_dataset, owner="ben")
    assert manager.wait(after, 120).status == "finished"
