"""The Streamlit app, page by page, through streamlit.testing's AppTest (no browser).

Unit-level runs use tiny made-up languages (conftest.write_tiny_folder) as RNNVIZ_DATA; the gates
check on a real surname trains a short nn.LSTM on the tutorial data (RNNVIZ_DATA from the environment).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pyarrow as pa
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnnviz import archive
from rnnviz.data import load_folder
from rnnviz.jobs import JobSnapshot
from rnnviz.runs import RunInfo, train_run
from rnnviz.train import TrainConfig
from tests.conftest import TINY_LANGUAGES, write_tiny_folder
from ui import nav, resources, runview

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PAGES = [path for path, _, _ in nav.PAGES]
TIMEOUT = 120  # seconds per script run; the machine may be shared


pytestmark = pytest.mark.usefixtures("fresh_app")


@pytest.fixture
def no_data(tmp_path, monkeypatch) -> Path:
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("RNNVIZ_DATA", str(missing))
    return missing


def tiny_run(folder: Path, root: Path, model: str, epochs: int = 2, seed: int = 0) -> str:
    config = TrainConfig(model=model, hidden_size=8, epochs=epochs, batch_size=8, seed=seed)
    writer, result = train_run(config, load_folder(folder), root)
    assert result is not None and result.status == "finished"
    return writer.run_id


@pytest.fixture
def tiny_runs(tiny_data, isolated_runs) -> dict[str, str]:
    return {model: tiny_run(tiny_data, isolated_runs, model) for model in ("rnn", "lstm", "mylstm")}


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page != nav.HOME:
        at.switch_page(page).run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at: AppTest) -> str:
    parts = [e.value for kind in (at.markdown, at.caption, at.info, at.warning, at.error, at.success, at.title)
             for e in kind]
    return "\n".join(str(p) for p in parts)


def charts_of(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def chart_frames(chart) -> list:
    """The data sets an altair chart element carries, as DataFrames."""
    frames = []
    for named in chart.proto.datasets:
        frames.append(pa.ipc.open_stream(io.BytesIO(named.data.data)).read_all().to_pandas())
    if chart.proto.data.data:
        frames.append(pa.ipc.open_stream(io.BytesIO(chart.proto.data.data)).read_all().to_pandas())
    return frames


def page_links(at: AppTest) -> list[str]:
    return [link.proto.page for link in at.get("page_link")]


def wait_for_jobs(timeout: float = 120) -> list[JobSnapshot]:
    manager = resources.job_manager()
    deadline = time.time() + timeout
    while manager.any_active() and time.time() < deadline:
        time.sleep(0.05)
    assert not manager.any_active(), "training did not end in time"
    return manager.jobs()


# ---------------------------------------------------------------- every page, three situations


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_data_and_no_runs(page, tiny_data):
    at = open_page(page)
    assert_clean(at)
    if page in (nav.EVALUATE, nav.GATES):
        assert at.info and "No " in at.info[0].value
        assert "train" in page_links(at)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_finished_runs(page, tiny_runs):
    at = open_page(page)
    assert_clean(at)
    if page == nav.TRAIN:
        table = at.dataframe[0].value
        assert sorted(table["model"]) == ["MyLSTM", "RNN", "nn.LSTM"]
        assert set(table["status"]) == {"finished"}
    if page == nav.EVALUATE:
        assert [m.label for m in at.metric][:2] == ["Accuracy", "Balanced accuracy"]
        assert charts_of(at), "no confusion matrix"
    if page == nav.GATES:
        # the default view on the newest run (a MyLSTM): two surnames' top-3 bars, the cell diagram, every unit's bars
        assert len(charts_of(at)) == 2 + 2
        at.button_group(key="gates.view").set_value("heatmaps").run()
        assert_clean(at)
        # two default surnames: top-3 bars, i/f/o heatmaps, gate means and prefix charts for each
        assert len(charts_of(at)) == 2 * 6


@pytest.mark.parametrize("page", PAGES)
def test_page_without_data_guides_instead_of_failing(page, no_data):
    at = open_page(page)
    assert not at.exception
    assert not at.error
    if page == nav.DATA:
        assert any(b.label == "Get the official archive" for b in at.button)
        assert at.text_input[0].label == "Folder of <Category>.txt files"
    elif page == nav.HOME:
        assert "Data page" in at.warning[0].value
        assert "data" in page_links(at)
    elif page == nav.TRAIN:
        assert "Data page" in at.info[0].value
        assert "data" in page_links(at)


def test_home_shows_the_three_model_structures(tiny_data):
    at = open_page(nav.HOME)
    assert_clean(at)
    code = [c.value for c in at.code]
    assert len(code) == 3
    assert code[0].startswith("RNN(") and "Linear(in_features=185, out_features=128" in code[0]  # 57 letters + 128
    assert code[1].startswith("LSTM(") and "LSTM(57, 64)" in code[1]
    assert code[2].startswith("MyLSTM(") and "W_i: 57 x 64" in code[2] and "U_f: 64 x 64" in code[2]


# ---------------------------------------------------------------- data page


def test_data_page_switches_to_a_folder_typed_in(no_data, tmp_path, monkeypatch):
    folder = write_tiny_folder(tmp_path / "usb-stick")
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path))  # the server reads typed folders only inside these
    at = open_page(nav.DATA)
    at.text_input[0].input(str(folder))
    next(b for b in at.button if b.label == "Use this folder").click().run()
    assert not at.exception
    assert resources.data_folder() == folder.resolve()
    at.switch_page(nav.HOME).run()
    assert "90 distinct surnames in 3 categories" in at.success[0].value


def test_data_page_rejects_a_folder_without_names(no_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    at = open_page(nav.DATA)
    at.text_input[0].input(str(empty))
    next(b for b in at.button if b.label == "Use this folder").click().run()
    assert not at.exception
    assert "no <Category>.txt files" in at.error[0].value


def test_failed_download_is_one_line_message(no_data, monkeypatch):
    monkeypatch.setattr(archive, "OFFICIAL_URL", "http://127.0.0.1:9/data.zip")  # nothing listens on port 9
    at = open_page(nav.DATA)
    next(b for b in at.button if b.label == "Get the official archive").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Download failed: ")
    assert "\n" not in at.error[0].value


def test_data_page_shows_counts_split_and_samples(tiny_data):
    at = open_page(nav.DATA)
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Categories"] == "3" and metrics["Distinct (name, category)"] == "90"
    assert int(metrics["train split"]) + int(metrics["val split"]) + int(metrics["test split"]) == 90
    samples = at.dataframe[0].value
    assert list(samples["category"]) == ["Ashi", "Borov", "Tunson"]
    assert all(name.endswith("shi") for name in samples.loc[0, "sample names"].split(", "))


# ---------------------------------------------------------------- train page


def fill_form(at: AppTest, **values) -> None:
    for name, value in values.items():
        widget = next(w for kind in (at.number_input, at.selectbox, at.checkbox) for w in kind
                      if w.key == f"train.form.{name}")
        widget.set_value(value)


def submit(at: AppTest) -> AppTest:
    button = next(b for b in at.button if b.label == "Start training")
    return button.click().run()


def test_training_started_from_the_form_runs_in_background_and_finishes(tiny_data):
    at = open_page(nav.TRAIN)
    fill_form(at, model="mylstm", hidden_size=8, epochs=2, batch_size=8, eval_every=2)
    began = time.perf_counter()
    submit(at)
    assert time.perf_counter() - began < 10, "Start must return at once, not train in the page"
    assert_clean(at)
    assert "Started MyLSTM" in at.success[0].value
    jobs = resources.job_manager().jobs()
    assert len(jobs) == 1 and jobs[0].config.model == "mylstm" and jobs[0].config.hidden_size == 8
    (job,) = wait_for_jobs()
    assert job.status == "finished" and job.rows
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["status"]) == ["finished"] and list(table["epochs"]) == ["2/2"]
    assert "finished: validation accuracy" in at.success[0].value
    assert at.multiselect(key="train.compare").value == [job.run_id]  # the new run is overlaid by default


def test_live_panel_shows_progress_and_curves_of_a_running_training(tiny_data):
    at = open_page(nav.TRAIN)
    fill_form(at, model="lstm", hidden_size=8, epochs=200, batch_size=4, eval_every=1)
    submit(at)
    manager = resources.job_manager()
    (job,) = manager.jobs()
    deadline = time.time() + 60
    while not manager.get(job.run_id).rows and time.time() < deadline:
        time.sleep(0.05)
    manager.pause(job.run_id)
    at.run()
    assert_clean(at)
    assert "names/s" in at.get("progress")[0].proto.text
    curves = [f for c in charts_of(at) for f in chart_frames(c)]
    assert curves and {"train", "val"} <= set(curves[0]["split"])
    manager.stop(job.run_id)


def test_pause_resume_and_stop_buttons_control_the_training(tiny_data):
    at = open_page(nav.TRAIN)
    fill_form(at, model="rnn", hidden_size=8, epochs=200, batch_size=4)
    submit(at)
    manager = resources.job_manager()
    (job,) = manager.jobs()
    at.button(key=f"pause-{job.run_id}").click().run()
    assert manager.get(job.run_id).status == "paused"
    assert at.button(key=f"resume-{job.run_id}").label == "Resume"
    at.button(key=f"resume-{job.run_id}").click().run()
    assert manager.get(job.run_id).status == "running"
    began = time.perf_counter()
    at.button(key=f"stop-{job.run_id}").click().run()
    (ended,) = wait_for_jobs(timeout=30)
    assert ended.status == "stopped"
    assert time.perf_counter() - began < 15


def test_starting_beyond_the_job_limit_queues_and_a_third_is_refused_in_one_line(tiny_data, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_JOBS", "1")
    at = open_page(nav.TRAIN)
    fill_form(at, hidden_size=8, epochs=200, batch_size=4)
    submit(at)
    submit(at)
    assert not at.exception and not at.error
    assert sorted(job.status for job in resources.job_manager().jobs()) == ["queued", "running"]
    assert at.success[0].value.startswith("Queued")
    submit(at)
    assert at.error[0].value.startswith("Not started: you already have 2 trainings running or queued (at most 2")
    assert len(resources.job_manager().jobs()) == 2


def test_bad_setting_is_refused_with_one_line(tiny_data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    at = open_page(nav.TRAIN)
    fill_form(at, device="cuda", hidden_size=8, epochs=1)
    submit(at)
    assert not at.exception
    assert at.error[0].value == ("Not started: device 'cuda' was asked for but no CUDA GPU is available: "
                                 "use cpu or auto")
    assert not resources.job_manager().jobs()


def test_compare_overlays_the_selected_runs(tiny_runs):
    at = open_page(nav.TRAIN)
    compare = at.multiselect(key="train.compare")
    compare.set_value([tiny_runs["rnn"], tiny_runs["lstm"]]).run()
    assert_clean(at)
    overlay = [frame for chart in charts_of(at) for frame in chart_frames(chart) if "value" in frame]
    assert len(overlay) == 2  # the lines of loss and accuracy (the other data sets feed the hover tooltip)
    for frame in overlay:
        assert {label.split(" ")[0] for label in frame["run"]} == {"RNN", "nn.LSTM"}
    lines = json.loads(charts_of(at)[0].proto.spec)["layer"][0]
    assert lines["encoding"]["color"]["field"] == "run" and lines["encoding"]["strokeDash"]["field"] == "split"


def test_overlay_choice_survives_a_page_switch(tiny_runs):
    at = open_page(nav.TRAIN)
    assert len(at.multiselect(key="train.compare").value) == 3  # the newest finished runs until one picks
    at.multiselect(key="train.compare").set_value([tiny_runs["mylstm"]]).run()
    at.switch_page(nav.DATA).run()
    at.switch_page(nav.TRAIN).run()
    assert_clean(at)
    assert at.multiselect(key="train.compare").value == [tiny_runs["mylstm"]]


def test_delete_asks_for_confirmation_then_removes_the_run(tiny_runs, isolated_runs, monkeypatch):
    monkeypatch.setenv("RNNVIZ_TEACHER_KEY", "the-key")
    at = open_page(nav.TRAIN)
    at.selectbox(key="train.manage").set_value(tiny_runs["rnn"]).run()
    assert "Delete…" not in [b.label for b in at.button], "runs of the command line are the teacher's"
    at.sidebar.text_input(key="app.owner.key_input").input("the-key").run()
    next(b for b in at.button if b.label == "Delete…").click().run()
    assert "cannot be undone" in at.warning[0].value
    assert (isolated_runs / tiny_runs["rnn"]).is_dir()
    next(b for b in at.button if b.label == "Yes, delete").click().run()
    assert_clean(at)
    assert not (isolated_runs / tiny_runs["rnn"]).exists()
    assert "Deleted RNN" in at.success[0].value
    assert len(at.dataframe[0].value) == 2


def test_run_files_are_offered_for_download(tiny_runs):
    at = open_page(nav.TRAIN)
    buttons = [b for b in at.get("download_button") if b.proto.label in ("Metrics CSV", "Model file")]
    assert [b.proto.label for b in buttons] == ["Metrics CSV", "Model file"]
    assert not any(b.proto.disabled for b in buttons)


def test_unreadable_and_interrupted_runs_are_listed_with_their_reason(tiny_runs, isolated_runs):
    broken = isolated_runs / "20990101-000000-lstm-s0-dead"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    cut = isolated_runs / tiny_runs["lstm"]
    (cut / "summary.json").unlink()  # as if the server stopped mid-training
    at = open_page(nav.TRAIN)
    assert_clean(at)
    table = at.dataframe[0].value.set_index("id")
    assert table.loc[broken.name, "status"] == "unreadable"
    assert "config.json is unreadable" in table.loc[broken.name, "note"]
    assert table.loc[tiny_runs["lstm"], "status"] == "interrupted"
    at.multiselect(key="train.compare").set_value([tiny_runs["lstm"]]).run()
    partial = chart_frames(charts_of(at)[0])[0]
    assert len(partial) > 0, "an interrupted run still shows its partial curves"


# ---------------------------------------------------------------- evaluate page


def test_evaluate_lists_the_names_of_a_chosen_cell(tiny_runs):
    at = open_page(nav.EVALUATE)
    cells = chart_frames(charts_of(at)[0])[0]
    fullest = cells.sort_values("count").iloc[-1]
    at.selectbox(key="evaluate.true").set_value(fullest["true"])
    at.selectbox(key="evaluate.predicted").set_value(fullest["predicted"]).run()
    assert_clean(at)
    listed = next(d.value for d in at.dataframe if list(d.value.columns) == ["name"])
    assert len(listed) == fullest["count"] > 0
    ending = TINY_LANGUAGES[fullest["true"]][1]
    assert all(name.endswith(ending) for name in listed["name"])


def test_evaluate_replays_learning_from_snapshots(tiny_runs):
    at = open_page(nav.EVALUATE)
    at.selectbox(key="evaluate.run").set_value(tiny_runs["lstm"]).run()
    slider = at.select_slider(key=f"evaluate.snapshot.{tiny_runs['lstm']}")
    assert list(slider.options) == ["initialisation", "after epoch 1", "after epoch 2", "final"]
    slider.set_value(0).run()
    assert_clean(at)
    title = json.loads(charts_of(at)[0].proto.spec)["title"]
    assert " ".join([title] if isinstance(title, str) else title).endswith("initialisation")  # long titles wrap


def test_evaluate_shows_two_runs_side_by_side_on_the_test_split(tiny_runs):
    at = open_page(nav.EVALUATE)
    at.selectbox(key="evaluate.compare").set_value(tiny_runs["rnn"])
    at.button_group(key="evaluate.split").set_value("test").run()
    assert_clean(at)
    assert at.button_group(key="evaluate.split").value == "test"
    assert len(charts_of(at)) == 2
    assert [m.label for m in at.metric].count("Accuracy") == 2


# ---------------------------------------------------------------- gates page


def heatmap(at: AppTest, title: str):
    return next(c for c in charts_of(at) if json.loads(c.proto.spec).get("title") == title)


def heatmap_units(at: AppTest, title: str) -> list[int]:
    """The unit order of a gate heatmap's rows, as the chart's y axis sorts them."""
    return [int(u) for u in json.loads(heatmap(at, title).proto.spec)["encoding"]["y"]["sort"]]


@pytest.mark.parametrize("typed", ["", "1234", "😀😀", "   "])
def test_gates_bad_input_gives_a_message_not_an_exception(typed, tiny_runs):
    at = open_page(nav.GATES)
    at.text_input(key="gates.name").input(typed)
    at.text_input(key="gates.second").input("").run()
    assert not at.exception
    assert not at.error
    assert at.warning and ("empty" in at.warning[0].value or "no letters" in at.warning[0].value)
    assert not charts_of(at)


def test_gates_names_dropped_characters(tiny_runs):
    at = open_page(nav.GATES)
    at.text_input(key="gates.name").input("Ashi-Müller!")
    at.text_input(key="gates.second").input("").run()
    assert_clean(at)
    assert any("AshiMuller" in c.value and "ignored characters" in c.value for c in at.caption)


def test_gates_orders_units_and_shows_extra_states(tiny_runs):
    at = open_page(nav.GATES)
    at.button_group(key="gates.view").set_value("heatmaps")
    at.text_input(key="gates.second").input("").run()
    by_index = heatmap_units(at, "input gate")
    at.button_group(key="gates.order").set_value("mean")
    at.button_group(key="gates.extra").set_value(["c"]).run()
    assert_clean(at)
    by_mean = heatmap_units(at, "input gate")
    assert by_index == sorted(by_index) and sorted(by_mean) == by_index
    means = chart_frames(heatmap(at, "input gate"))[0].groupby("unit")["value"].mean()
    assert list(means.loc[by_mean]) == sorted(means, reverse=True)
    titles = [json.loads(c.proto.spec).get("title") for c in charts_of(at)]
    assert "cell state c" in titles and "input gate" in titles


def test_gates_replays_learning_from_snapshots(tiny_runs):
    at = open_page(nav.GATES)
    at.selectbox(key="gates.run").set_value(tiny_runs["mylstm"])
    at.text_input(key="gates.name").input("Borov")
    at.text_input(key="gates.second").input("").run()
    final = next(c.proto.alt for c in charts_of(at) if c.proto.alt.startswith("Top predictions"))
    slider = at.select_slider(key=f"gates.snapshot.{tiny_runs['mylstm']}")
    assert list(slider.options) == ["initialisation", "after epoch 1", "after epoch 2", "final"]
    slider.set_value(0).run()
    assert_clean(at)
    initial = next(c.proto.alt for c in charts_of(at) if c.proto.alt.startswith("Top predictions"))
    assert initial != final  # the untrained weights predict something else


def test_gates_traces_a_real_surname_on_a_real_data_lstm_run(real_dataset, isolated_runs, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(real_dataset.source))
    config = TrainConfig(model="lstm", epochs=1, batch_size=128)
    train_run(config, real_dataset, isolated_runs)
    at = open_page(nav.GATES)
    at.button_group(key="gates.view").set_value("heatmaps")
    at.text_input(key="gates.name").input("Nakamura")
    at.text_input(key="gates.second").input("Schmidt").run()
    assert_clean(at)
    tops = [c.proto.alt for c in charts_of(at) if c.proto.alt.startswith("Top predictions")]
    assert len(tops) == 2
    for top in tops:
        categories = [part.rsplit(" ", 1)[0] for part in top.removeprefix("Top predictions: ").split(", ")]
        assert len(categories) == 3 and set(categories) <= set(real_dataset.categories)
    cells = chart_frames(heatmap(at, "forget gate"))[0]
    assert len(cells) == len("Nakamura") * 64 and cells["value"].between(0, 1).all()


# ---------------------------------------------------------------- pure helpers behind the pages


def test_run_table_prefers_live_job_state_and_lists_setup_failures(tmp_path):
    config = TrainConfig(model="lstm", epochs=4)
    info = RunInfo("20990101-000000-lstm-s0-aaaa", tmp_path, "running", config=config.to_dict(), created=1.0)
    paused = JobSnapshot(info.run_id, config, "paused", "", [{"epoch": 1.5, "step": 3}], 3, 8, 1.0)
    failed = JobSnapshot("20990101-000001-rnn-s0-bbbb", TrainConfig(model="rnn"), "failed",
                         "DataError: the validation part of the split is empty", [], 0, 0, 2.0)
    table = runview.run_table([info], [paused, failed]).set_index("id")
    assert table.loc[info.run_id, "status"] == "paused"
    assert table.loc[info.run_id, "epochs"] == "1/4"
    assert table.loc[failed.run_id, "status"] == "failed"
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
        assert resources.max_jobs() == resources.DEFAULT_MAX_JOBS
