"""A small class on the real server (benchmarks/class_load.py with 5 students on tiny data): everyone clicks Start
at once, 2 train and 3 wait in the queue, and every student's result arrives; no run lost or duplicated."""

from __future__ import annotations

import tomllib

import pytest

from benchmarks import class_load
from benchmarks.server import ROOT
from tests.conftest import write_tiny_folder


@pytest.mark.slow
def test_five_students_each_get_their_result(tmp_path):
    data = write_tiny_folder(tmp_path / "names")
    report = class_load.run(students=5, batch=5, data=data, timeout=240,
                            query="model=rnn&hidden_size=8&epochs=3&batch_size=8", settle_s=1.0)
    assert report["refused"] == []
    assert report["results_arrived"] == 5 and report["finished"] == 5 and report["runs_on_disk"] == 5
    assert report["lost"] == 0 and report["duplicated"] == 0 and report["owners_distinct"]
    assert report["results"] and all(r.startswith("finished: validation accuracy") for r in report["results"])
    assert report["rerun_while_waiting_count"] > 0 and report["rerun_while_waiting_p95_s"] is not None
    assert report["rss_peak_mb"] >= report["rss_before_mb"] > 0
    assert report["server_tracebacks"] == 0


@pytest.mark.slow
def test_a_second_server_on_the_runs_folder_trains_for_students_of_the_first(tmp_path):
    data = write_tiny_folder(tmp_path / "names")
    report = class_load.run(students=4, batch=4, data=data, timeout=240, max_jobs=1, servers=2, all_on_first=True,
                            query="model=rnn&hidden_size=8&epochs=3&batch_size=8", settle_s=1.0)
    assert report["refused"] == [] and report["servers"] == 2
    assert report["results_arrived"] == 4 and report["finished"] == 4 and report["runs_on_disk"] == 4
    assert report["lost"] == 0 and report["duplicated"] == 0
    assert report["trained_by_another_server"] >= 1, "the idle server took trainings from the shared queue"
    assert all(r.startswith("finished: validation accuracy") for r in report["results"])
    assert report["server_tracebacks"] == 0


def test_the_server_skips_streamlits_full_garbage_collection_after_every_rerun():
    # Half the server's time while 10 students watched their curves went to gc.collect(2) after each fragment rerun.
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
