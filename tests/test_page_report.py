"""The report page through AppTest: the report's models trained with its settings (queued in the job manager, over
seeds) and set beside its figures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rnnviz.jobs import WORKING
from rnnviz.reproduce import REPORT_RUNS, REPORT_SEEDS, report_config
from rnnviz.runs import TEACHER, list_runs, train_run
from tests.helpers import assert_clean, charts_of
from ui import nav, resources


def test_report_page_explains_how_to_get_data_when_there_is_none(app, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "nowhere"))
    at = app(nav.REPORT).run()
    assert_clean(at)
    assert any("Data page" in info.value for info in at.info)


def wait_for_finished_runs(root: Path, count: int, timeout: float = 180) -> list:
    deadline = time.time() + timeout
    while time.time() < deadline:
        infos = list_runs(root)
        if len(infos) >= count and all(info.status == "finished" for info in infos):
            return infos
        time.sleep(0.3)
    raise AssertionError(f"{count} runs did not finish in {timeout} s")


@pytest.mark.slow
def test_report_page_trains_the_missing_runs_two_at_a_time(app, isolated_runs, monkeypatch):
    monkeypatch.setattr(resources, "PER_STUDENT", 12)  # the report's runs are this browser's, beyond its two
    at = app(nav.REPORT).run()
    assert_clean(at)
    total = len(REPORT_RUNS) * len(REPORT_SEEDS)
    assert any("first of the runs" in info.value for info in at.info)
    assert [button.label for button in at.button] == [
        f"Train the {total} missing runs (RNN, nn.LSTM, MyLSTM, n-gram baseline), two at a time"]
    at.button[0].click().run()
    assert_clean(at)
    assert any("waiting for a free training slot (two train at a time)" in caption.value for caption in at.caption)
    deadline = time.time() + 300
    while len(list_runs(isolated_runs)) < total or any(i.status != "finished" for i in list_runs(isolated_runs)):
        assert time.time() < deadline, "the report's runs did not all finish"
        at.run()  # the job manager starts the waiting ones as trainings end, two at a time
        assert_clean(at)
        assert sum(job.status in WORKING for job in resources.job_manager().jobs()) <= 2
        time.sleep(0.3)
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert table["test_accuracy"].notna().all() and (table["seeds"] == len(REPORT_SEEDS)).all()
    assert table["test_accuracy_sd"].notna().all()
    assert not at.button  # nothing left to train



def hold_trainings(monkeypatch):
    """Every training of the page waits on the returned event before it starts; the trainings run in threads (a
    patch never reaches a worker process) and the report's runs are allowed past a browser's two."""
    import threading

    from rnnviz import jobs

    gate = threading.Event()
    real_train_run = jobs.train_run

    def held_train_run(*args, **kwargs):
        gate.wait(60)
        return real_train_run(*args, **kwargs)

    monkeypatch.setattr(jobs, "train_run", held_train_run)
    monkeypatch.setenv("RNNVIZ_WORKERS", "threads")
    monkeypatch.setattr(resources, "PER_STUDENT", 12)
    return gate


def test_report_runs_just_started_show_as_starting_until_their_folders_exist(app, isolated_runs, monkeypatch):
    gate = hold_trainings(monkeypatch)  # before they write their folders, as a slow data split would
    at = app(nav.REPORT).run()
    at.button[0].click().run()
    assert_clean(at)
    captions = [caption.value for caption in at.caption]
    assert sum(c.endswith("starting…") for c in captions) == 2 and not any("not trained yet" in c for c in captions)
    assert not any(button.label.startswith("Train") for button in at.button)  # nothing offered twice
    manager = resources.job_manager()
    for job in manager.jobs():  # the rest wait in the job manager's queue; only the first two are needed here
        if job.status == "queued":
            manager.cancel(job.run_id, by=TEACHER)
    gate.set()
    assert sorted(info.model for info in wait_for_finished_runs(isolated_runs, 2)) == ["rnn", "rnn"]


def test_report_page_compares_finished_report_runs(app, tiny_dataset, isolated_runs):
    for model in REPORT_RUNS:
        for seed in REPORT_SEEDS:
            train_run(report_config(model, seed), tiny_dataset, isolated_runs)
    at = app(nav.REPORT).run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["RNN", "nn.LSTM", "MyLSTM", "n-gram baseline"]
    assert table["test_accuracy"].notna().all() and (table["seeds"] == len(REPORT_SEEDS)).all()
    assert not any(button.label.startswith("Train") for button in at.button)
    assert len(charts_of(at)) == 1 + 4 * 3  # the summary, then loss, accuracy and confusion per model
    text = " ".join(markdown.value for markdown in at.markdown)
    assert "42%" in text and "n-gram baseline, with no recurrence at all" in text and "mean of 3 seeds" in text




def test_report_runs_queue_in_the_job_manager_at_its_limit(app, isolated_runs, monkeypatch):
    gate = hold_trainings(monkeypatch)  # so the queue can be read before any ends
    monkeypatch.setenv("RNNVIZ_MAX_JOBS", "3")
    total = len(REPORT_RUNS) * len(REPORT_SEEDS)
    at = app(nav.REPORT).run()
    assert [button.label for button in at.button] == [
        f"Train the {total} missing runs (RNN, nn.LSTM, MyLSTM, n-gram baseline), three at a time"]
    try:
        at.button[0].click().run()
        assert_clean(at)
        held = resources.job_manager().jobs()
        assert resources.job_manager().max_concurrent == 3
        assert sorted(job.status for job in held) == ["queued"] * (total - 3) + ["running"] * 3
        assert [job.config.model for job in held if job.status == "running"] == ["rnn"] * 3  # seeds 0, 1, 2 first
        captions = [caption.value for caption in at.caption]
        assert sum("waiting for a free training slot (three train at a time)" in c for c in captions) == total - 3
        assert not any(button.label.startswith("Train") for button in at.button)  # nothing offered twice
    finally:
        manager = resources.job_manager()
        for job in manager.jobs():
            if job.status == "queued":
                manager.cancel(job.run_id, by=TEACHER)
        gate.set()
        for job in manager.jobs():
            manager.stop(job.run_id, by=TEACHER)
            manager.wait(job.run_id, timeout=60)
