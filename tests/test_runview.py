"""What the pages build from the library, without running a page: the run table, progress text, snapshot
choices and the job limit."""

from __future__ import annotations

from rnnviz.config import TrainConfig
from rnnviz.jobs import JobSnapshot, default_max_jobs
from rnnviz.runs import RunInfo
from ui import resources, runview


def test_run_table_prefers_live_job_state_and_lists_setup_failures(tmp_path):
    config = TrainConfig(model="lstm", epochs=4)
    info = RunInfo("20990101-000000-lstm-s0-aaaa", tmp_path, "running", config=config.to_dict(), created=1.0)
    paused = JobSnapshot(info.run_id, config, "paused", "", [{"epoch": 1.5, "step": 3}], 3, 8, 1.0)
    failed = JobSnapshot("20990101-000001-rnn-s0-bbbb", TrainConfig(model="rnn"), "failed",
                         "DataError: the validation part of the split is empty", [], 0, 0, 2.0)
    table = runview.run_table([info], [paused, failed]).set_index("id")
    assert table.loc[info.run_id, "status"] == "paused"
    assert table.loc[info.run_id, "epochs"] == "1.5/4"  # as far as the progress bar says, not rounded down
    assert table.loc[failed.run_id, "status"] == "failed"
    assert table.loc[failed.run_id, "run"] == runview.job_label(failed) != failed.run_id  # its label, not its id
    assert "split is empty" in table.loc[failed.run_id, "note"]


def test_run_table_shows_training_not_none_for_scores_a_running_training_has_not_reached(tmp_path):
    config = TrainConfig(model="lstm", epochs=4)
    running = RunInfo("20990101-000000-lstm-s0-aaaa", tmp_path, "running", config=config.to_dict(), created=1.0)
    done = RunInfo("20990101-000001-rnn-s0-bbbb", tmp_path, "finished", config=config.to_dict(), created=2.0,
                   summary={"val_accuracy": 0.5, "test_accuracy": 0.25, "train_seconds": 3.0})
    live = JobSnapshot(running.run_id, config, "running", "", [{"epoch": 1.5, "step": 3}], 3, 8, 1.0)
    shown = runview.run_table_view(runview.run_table([running, done], [live])).set_index("id")
    scores = shown[["val acc", "test acc", "time s"]]
    assert list(scores.loc[running.run_id]) == [runview.TRAINING] * 3
    assert list(scores.loc[done.run_id]) == ["50.0%", "25.0%", "3.0"]
    assert not shown.isna().any().any()  # a browser table would show a missing value as "None"


def test_progress_text_reports_epoch_step_speed_and_eta():
    config = TrainConfig(epochs=8)
    row = {"epoch": 2.25, "step": 1234, "names_per_s": 5210.4, "eta_s": 75.0, "total_steps": 4096}
    job = JobSnapshot("r", config, "running", "", [row], 1234, 4096, 0.0)
    assert runview.progress_text(job, 8) == "epoch 2.2 / 8 · step 1,234 / 4,096 · 5,210 names/s · ETA 1 min 15 s"
    waiting = JobSnapshot("r", config, "running", "", [], 0, 0, 0.0)
    assert runview.progress_text(waiting, 8).startswith("starting")


def test_snapshot_choices_map_to_load_run_arguments():
    options = runview.snapshot_options([2, 0, 1])
    assert options == [0, 1, 2, "final"]
    assert [runview.snapshot_arg(o) for o in options] == [0, 1, 2, None]
    assert runview.snapshot_label(0) == "initialisation" and runview.snapshot_label(2) == "after epoch 2"


def test_max_jobs_reads_the_environment(monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_JOBS", "3")
    assert resources.max_jobs() == 3
    for bad in ("0", "-1", "many"):
        monkeypatch.setenv("RNNVIZ_MAX_JOBS", bad)
        assert resources.max_jobs() == default_max_jobs()
