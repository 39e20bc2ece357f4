"""The Train page's classroom features through AppTest: links that carry the settings, the one-click demo,
the dataset selector, presenter mode, TensorBoard-like curve settings and the downloads.

Tiny made-up languages (conftest.write_tiny_folder) are the surname data; named datasets live in the
per-test RNNVIZ_DATASETS folder that conftest sets up.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnnviz import charts
from rnnviz.config import TrainConfig
from rnnviz.runs import TEACHER
from tests.conftest import tiny_names
from tests.helpers import APP, assert_clean, chart_frames, charts_of, open_page, tiny_run, wait_for_jobs
from tests.helpers import APPTEST_TIMEOUT as TIMEOUT
from ui import keys, nav, resources

TRAIN = "pages/train.py"
PETS = {"Cats": ("aeimouw", "ow"), "Dogs": ("bdgkorx", "rex")}  # a named dataset with other categories


pytestmark = pytest.mark.usefixtures("fresh_app")


@pytest.fixture
def datasets_dir(tmp_path) -> Path:
    return tmp_path / "datasets"  # conftest points RNNVIZ_DATASETS here


def write_pets(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, (category, (letters, ending)) in enumerate(PETS.items()):
        (folder / f"{category}.txt").write_text("\n".join(tiny_names(letters, ending, 30, seed)) + "\n",
                                                encoding="utf-8")
    return folder


def open_train(query: dict[str, str] | None = None, presenter: bool = False) -> AppTest:
    """The Train page opened from a link (as a browser does: the first run already has the query)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(TRAIN)
    at.query_params.update(query or {})
    if presenter:
        at.session_state[keys.PRESENTER] = True
    return at.run()


def form(at: AppTest, name: str):
    return next(w for kind in (at.number_input, at.selectbox, at.checkbox) for w in kind
                if w.key == f"train.form.{name}")


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def query(at: AppTest) -> dict:
    return dict(at.query_params)


def link_text(at: AppTest) -> str:
    return next(c.value for c in at.code if "/train" in c.value)


def layers(chart) -> list[dict]:
    return json.loads(chart.proto.spec)["layer"]


# ---------------------------------------------------------------- settings in the link


def test_a_shared_link_prefills_the_form_and_stays_in_the_address(tiny_data):
    at = open_train({"model": "rnn", "hidden_size": "32", "lr": "0.005", "epochs": "3", "data": ""})
    assert_clean(at)
    assert not [i for i in at.info if "Ignored" in i.value], "a good link needs no notice"
    assert form(at, "model").value == "rnn" and form(at, "hidden_size").value == 32
    assert form(at, "learning_rate").value == pytest.approx(0.005) and form(at, "epochs").value == 3
    assert form(at, "batch_size").value == TrainConfig().batch_size
    # the address now says the same thing in its own words (lr -> learning_rate)
    assert query(at) == {"model": "rnn", "hidden_size": "32", "learning_rate": "0.005", "epochs": "3"}
    assert link_text(at) == "/train?model=rnn&hidden_size=32&learning_rate=0.005&epochs=3"


def test_a_malformed_value_falls_back_with_one_notice_naming_it(tiny_data):
    at = open_train({"model": "rnn", "epochs": "lots", "colour": "red", "smooth": "7"})
    assert_clean(at)
    notices = [i.value for i in at.info if "link" in i.value]
    assert len(notices) == 1
    notice = notices[0]
    assert notice.startswith("Ignored from the link") and "epochs='lots'" in notice
    assert "'colour'" in notice and "smooth='7'" in notice and "\n" not in notice
    assert form(at, "model").value == "rnn" and form(at, "epochs").value == TrainConfig().epochs
    assert query(at) == {"model": "rnn"}  # what was ignored leaves the address


def test_changed_settings_go_into_the_link_and_the_session_wins_over_the_address(tiny_data):
    at = open_train({"model": "rnn"})
    form(at, "model").set_value("mylstm")
    form(at, "hidden_size").set_value(16)
    button(at, "Update link").click().run()
    assert_clean(at)
    assert query(at) == {"model": "mylstm", "hidden_size": "16"}
    assert "model=mylstm&hidden_size=16" in link_text(at)
    assert not resources.job_manager().jobs(), "Update link starts nothing"
    at.query_params["model"] = "rnn"  # an old address must not undo the user's edits
    at.run()
    assert form(at, "model").value == "mylstm" and query(at)["model"] == "mylstm"


def test_starting_a_training_puts_its_settings_in_the_link(tiny_data):
    at = open_train()
    form(at, "model").set_value("rnn")
    form(at, "hidden_size").set_value(8)
    form(at, "epochs").set_value(1)
    form(at, "batch_size").set_value(8)
    button(at, "Start training").click().run()
    assert_clean(at)
    (job,) = resources.job_manager().jobs()
    assert (job.config.model, job.config.hidden_size, job.config.epochs) == ("rnn", 8, 1)
    assert query(at) == {"model": "rnn", "hidden_size": "8", "batch_size": "8", "epochs": "1"}
    wait_for_jobs()


def test_settings_survive_a_page_switch(tiny_data):
    at = open_train({"model": "rnn", "seed": "7"})
    at.switch_page(nav.DATA).run()
    at.switch_page(TRAIN).run()
    assert_clean(at)
    assert form(at, "model").value == "rnn" and form(at, "seed").value == 7


# ---------------------------------------------------------------- the demo


def test_demo_starts_rnn_and_lstm_on_one_split_and_overlays_them(tiny_data):
    at = open_train()
    assert "RNN and nn.LSTM at once" in button(at, "Demo: RNN vs nn.LSTM").help
    began = time.perf_counter()
    button(at, "Demo: RNN vs nn.LSTM").click().run()
    assert time.perf_counter() - began < 15, "the demo must start in the background"
    assert_clean(at)
    # the pointer still rests on the button after the click: no tooltip left over the curves and controls
    assert not button(at, "Demo: RNN vs nn.LSTM").help
    jobs = resources.job_manager().jobs()
    configs = {job.config.model: job.config for job in jobs}
    assert sorted(configs) == ["lstm", "rnn"]
    seed = form(at, "seed").value  # the student's own seed, the same for both models
    defaults = {k: v for k, v in TrainConfig(seed=seed).to_dict().items() if k != "model"}
    for config in configs.values():  # the report's settings: defaults, hidden size per model, one seed
        assert {k: v for k, v in config.to_dict().items() if k != "model"} == defaults
    run_ids = {job.config.model: job.run_id for job in jobs}
    assert sorted(at.multiselect(key=keys.TRAIN_COMPARE).value) == sorted(run_ids.values())
    assert "Demo started" in at.success[0].value
    wait_for_jobs()
    at.run()
    assert_clean(at)
    overlay = [f for c in charts_of(at) for f in chart_frames(c) if "value" in f]
    assert overlay and {label.split(" ")[0] for label in overlay[0]["run"]} == {"RNN", "nn.LSTM"}
    # same seed and fractions: both runs were scored on the very same validation names
    from rnnviz.runs import list_runs

    infos = {info.model: info for info in list_runs(resources.runs_root())}
    assert infos["rnn"].config["seed"] == infos["lstm"].config["seed"]
    assert infos["rnn"].data == infos["lstm"].data == str(tiny_data)


def test_demo_while_live_shows_progress_and_leaves_curves_to_the_overlay(real_data_dir, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(real_data_dir))  # long enough to still be running when paused
    at = open_train()
    button(at, "Demo: RNN vs nn.LSTM").click().run()
    manager = resources.job_manager()
    deadline = time.time() + 120
    while not all(job.rows for job in manager.jobs()) and time.time() < deadline:  # some curve points to draw
        time.sleep(0.05)
    for job in manager.jobs():
        manager.pause(job.run_id, by=TEACHER)
    at.run()
    assert_clean(at)
    assert len(at.get("progress")) == 2
    # the demo's curves come first on the page, so the cards under them point up
    assert sum("Its curves are in Compare runs, above" in c.value for c in at.caption) == 2
    assert len(charts_of(at)) == 2, "one overlay (loss, accuracy), not one pair per training as well"
    epochs = {job.config.epochs for job in manager.jobs()}.pop()
    for chart in charts_of(at):  # while they train, the x axis spans the planned epochs, each model in its colour
        line = next(layer for layer in layers(chart) if layer["mark"]["type"] == "line")
        assert line["encoding"]["x"]["scale"]["domain"][1] == epochs
        colour = dict(zip(line["encoding"]["color"]["scale"]["domain"], line["encoding"]["color"]["scale"]["range"]))
        by_model = {label.split(" ")[0]: c for label, c in colour.items()}
        assert by_model == {"RNN": charts.model_colors()["rnn"], "nn.LSTM": charts.model_colors()["lstm"]}
    for job in manager.jobs():
        manager.stop(job.run_id, by=TEACHER)


def test_demo_beyond_the_worker_limit_waits_in_the_queue(tiny_data, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_JOBS", "1")
    at = open_train()
    button(at, "Demo: RNN vs nn.LSTM").click().run()
    assert_clean(at)
    statuses = sorted(job.status for job in resources.job_manager().jobs())
    assert statuses in (["queued", "running"], ["finished", "running"], ["finished", "finished"]), statuses
    assert any("Demo queued" in s.value or "Demo started" in s.value for s in at.success)
    assert [job.status for job in wait_for_jobs()] == ["finished", "finished"]


def test_demo_is_refused_in_one_line_when_the_student_already_has_two_runs(tiny_data):
    at = open_train()
    form(at, "hidden_size").set_value(8)
    form(at, "epochs").set_value(200)
    form(at, "batch_size").set_value(4)
    button(at, "Start training").click().run()
    button(at, "Demo: RNN vs nn.LSTM").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Demo not started: you already have 2 trainings"), errors
    assert len(resources.job_manager().jobs()) == 1, "half a demo is taken back"
    for job in resources.job_manager().jobs():
        resources.job_manager().stop(job.run_id, by=TEACHER)


# ---------------------------------------------------------------- dataset selector


def test_named_datasets_are_offered_and_unusable_ones_listed_with_their_error(tiny_data, datasets_dir):
    write_pets(datasets_dir / "pets")
    (datasets_dir / "broken").mkdir(parents=True)
    (datasets_dir / "broken" / "Only.txt").write_text("Abc\n", encoding="utf-8")
    at = open_train({"data": "pets"})
    assert_clean(at)
    picker = at.selectbox(key="train.data")
    assert picker.options[1:] == ["pets (60 names, 2 categories)"] and picker.options[0].startswith("Surnames")
    assert picker.value == "pets" and query(at)["data"] == "pets"
    assert any(c.value.startswith("Not usable: broken (") for c in at.caption)
    assert "**pets**: 60 names in 2 categories" in "\n".join(m.value for m in at.markdown)
    picker.set_value("").run()
    assert "data" not in query(at)


def test_a_link_to_a_missing_dataset_falls_back_to_the_surnames(tiny_data):
    at = open_train({"data": "gone"})
    assert not at.exception
    assert any("data='gone' (no such dataset" in i.value for i in at.info)
    assert at.selectbox(key="train.data").value == ""


def test_a_run_on_a_named_dataset_is_evaluated_on_its_own_names(tiny_data, datasets_dir):
    pets = write_pets(datasets_dir / "pets")
    at = open_train({"data": "pets", "model": "lstm", "hidden_size": "8", "epochs": "2", "batch_size": "8"})
    button(at, "Start training").click().run()
    (job,) = wait_for_jobs()
    assert job.status == "finished"
    from rnnviz.runs import list_runs

    (info,) = list_runs(resources.runs_root())
    assert Path(info.data) == pets.resolve() or Path(info.data) == pets
    assert info.categories == ["Cats", "Dogs"]
    at.switch_page(nav.EVALUATE).run()
    assert_clean(at)
    cells = chart_frames(charts_of(at)[0])[0]
    assert set(cells["true"]) == {"Cats", "Dogs"}
    at.switch_page(nav.GATES).run()
    assert_clean(at)
    assert charts_of(at), "the gates of a named-dataset LSTM are traced"


# ---------------------------------------------------------------- presenter mode


def test_presenter_mode_hides_advanced_controls_and_keeps_the_demo(tiny_runs_on_disk):
    at = open_train(presenter=True)
    assert_clean(at)
    assert button(at, "Demo: RNN vs nn.LSTM").proto.type == "primary"
    assert not button(at, "Demo: RNN vs nn.LSTM").help, "no tooltip over the projected curves"
    labels = [e.label for e in at.expander]
    assert "Split and evaluation" not in labels and "New training" in labels
    assert not any(s.value == "Download or delete" for s in at.subheader)
    assert not any(b.label == "Delete…" for b in at.button)
    shown = {w.key for kind in (at.number_input, at.selectbox) for w in kind}
    assert "train.form.device" not in shown and "train.form.optimizer" not in shown
    assert "train.form.model" in shown
    assert not at.get("download_button"), "no downloads on the projector"
    at.multiselect(key="train.compare").set_value(list(tiny_runs_on_disk.values())).run()
    heights = [json.loads(c.proto.spec)["height"] for c in charts_of(at)]
    assert heights and min(heights) > 260  # display.height enlarges charts


def test_normal_mode_has_the_advanced_controls(tiny_runs_on_disk):
    at = open_train()
    assert "Split and evaluation" in [e.label for e in at.expander]
    assert any(s.value == "Download or delete" for s in at.subheader)


@pytest.fixture
def tiny_runs_on_disk(tiny_data, isolated_runs) -> dict[str, str]:
    return {model: tiny_run(tiny_data, isolated_runs, model) for model in ("rnn", "lstm")}


# ---------------------------------------------------------------- curves and exports


def test_curve_settings_come_from_the_link_and_shape_the_charts(tiny_runs_on_disk):
    at = open_train({"smooth": "0.6", "x": "step", "log": "1"})
    at.multiselect(key="train.compare").set_value(list(tiny_runs_on_disk.values())).run()
    assert_clean(at)
    assert at.slider(key="train.curves.smooth").value == pytest.approx(0.6)
    assert at.toggle(key="train.curves.log").value is True
    loss = next(c for c in charts_of(at) if json.loads(c.proto.spec)["title"] == "loss")
    raw, smoothed = layers(loss)[:2]
    assert raw["mark"]["opacity"] < 0.5 and raw["encoding"]["y"]["field"] == "value"
    assert smoothed["encoding"]["y"]["field"] == "smoothed"
    assert smoothed["encoding"]["x"]["field"] == "step" and smoothed["encoding"]["y"]["scale"]["type"] == "log"
    at.slider(key="train.curves.smooth").set_value(0.0).run()
    assert "smooth" not in query(at) and query(at)["x"] == "step"
    loss = next(c for c in charts_of(at) if json.loads(c.proto.spec)["title"] == "loss")
    assert layers(loss)[0]["encoding"]["y"]["field"] == "value" and "opacity" not in layers(loss)[0]["mark"]


def test_overlay_tooltip_lists_every_run_at_the_hovered_x(tiny_runs_on_disk):
    at = open_train()
    at.multiselect(key="train.compare").set_value(list(tiny_runs_on_disk.values())).run()
    loss = next(c for c in charts_of(at) if json.loads(c.proto.spec)["title"] == "loss")
    spec = json.loads(loss.proto.spec)
    assert spec["params"][0]["select"]["nearest"] is True and spec["params"][0]["select"]["on"] == "pointerover"
    hover = next(layer for layer in spec["layer"] if layer.get("name") == "hover_rule")
    titles = [t.get("title", "") for t in hover["encoding"]["tooltip"]][1:]
    assert len(titles) == 4  # two runs x (train, val)
    assert {t.split(" ")[0] for t in titles} == {"RNN", "nn.LSTM"}


def test_every_chart_and_the_run_table_download(tiny_runs_on_disk):
    at = open_train()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("PNG image") == labels.count("SVG image") == labels.count("Data as CSV") == len(charts_of(at))
    assert "Run table CSV" in labels


def test_live_charts_use_point_tooltips_and_finished_ones_the_hover_rule():
    from rnnviz import charts

    long = charts.curves_long(pd.DataFrame([
        {"step": s, "epoch": s / 10, "train_loss": 1.0 / s, "val_loss": 1.1 / s, "train_acc": 0.5, "val_acc": 0.4,
         "elapsed_s": float(s)} for s in range(1, 30)]), "run A")
    still = charts.curve_chart(long, "loss").to_dict()
    live = charts.curve_chart(long, "loss", hover=False).to_dict()
    assert any(layer.get("name") == "hover_rule" for layer in still["layer"])
    assert not any(layer.get("name") == "hover_rule" for layer in live["layer"])
    assert any("tooltip" in layer.get("encoding", {}) for layer in live["layer"])


def test_the_live_panel_of_a_running_training_draws_without_the_hover_rule(tiny_data):
    manager = resources.job_manager()
    at = open_train({"model": "rnn", "hidden_size": "8", "epochs": "200", "batch_size": "8", "eval_every": "1"})
    button(at, "Start training").click().run()  # its own training: the live panel draws its curves
    (run_id,) = manager.active_ids()
    try:
        deadline = time.time() + 60
        while not manager.get(run_id).rows and time.time() < deadline:
            time.sleep(0.05)
        at.run()
        assert_clean(at)
        assert manager.get(run_id).active
        live = [c for c in charts_of(at) if json.loads(c.proto.spec).get("title") in ("loss", "accuracy")]
        assert live and not any(layer.get("name") == "hover_rule" for c in live for layer in layers(c))
    finally:
        manager.stop(run_id, by=TEACHER)


# ---------------------------------------------------------------- train page (the app's own checks)


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
    manager.pause(job.run_id, by=TEACHER)
    at.run()
    assert_clean(at)
    assert "names/s" in at.get("progress")[0].proto.text
    curves = [f for c in charts_of(at) for f in chart_frames(c)]
    assert curves and {"train", "val"} <= set(curves[0]["split"])
    manager.stop(job.run_id, by=TEACHER)


def test_pause_resume_and_stop_buttons_control_the_training(tiny_data):
    at = open_page(nav.TRAIN)
    fill_form(at, model="rnn", hidden_size=8, epochs=200, batch_size=4)
    submit(at)
    manager = resources.job_manager()
    (job,) = manager.jobs()
    # a row as wide as their labels, not fixed shares of columns that cut them to "P." and "S." in a narrow card
    assert not [c for c in at.columns if any(b.key in (f"pause-{job.run_id}", f"stop-{job.run_id}")
                                             for b in c.get("button"))]
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


def test_a_fresh_session_overlays_only_its_own_newest_runs(tiny_runs, monkeypatch):
    """The runs of the command line are the teacher's: a student's fresh session overlays none of them, the
    teacher's overlays the newest three."""
    monkeypatch.setenv("RNNVIZ_TEACHER_KEY", "the-key")
    student = open_page(nav.TRAIN)
    assert student.multiselect(key="train.compare").value == []
    teacher = open_page(nav.TRAIN)
    teacher.sidebar.text_input(key="app.owner.key_input").input("the-key").run()
    teacher.switch_page(nav.TRAIN).run()
    assert sorted(teacher.multiselect(key="train.compare").value) == sorted(tiny_runs.values())


def test_overlay_choice_survives_a_page_switch(tiny_runs):
    at = open_page(nav.TRAIN)
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




def test_the_device_help_says_what_auto_picks_here_and_why(tiny_data, tmp_path, monkeypatch):
    from rnnviz.config import DEVICES_ENV, DeviceSpeed, write_device_speeds

    monkeypatch.setenv(DEVICES_ENV, str(tmp_path / "devices.json"))
    at = open_train({"model": "lstm", "batch_size": "32"})
    assert "nn.LSTM at hidden 64, batch 32: no measurement of nn.LSTM on this machine: CPU" in form(at, "device").help
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU, and this machine's measurement
    write_device_speeds([DeviceSpeed("lstm", 64, 32, cpu=12_520.0, cuda=9_493.0),
                         DeviceSpeed("lstm", 1024, 512, cpu=700.0, cuda=60_000.0)], {})
    at = open_train({"model": "lstm", "batch_size": "32"})
    assert ("batch 32: measured on this machine: CPU (nn.LSTM at hidden 64, batch 32 trained 9,493 names/s on the "
            "GPU, 12,520 on one CPU thread).") in form(at, "device").help
    at = open_train({"model": "lstm", "hidden_size": "1024", "batch_size": "512"})
    assert "measured on this machine: GPU" in form(at, "device").help
