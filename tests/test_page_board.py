"""The class board: finished runs ranked by validation accuracy then balanced accuracy, with who trained them;
the teacher hides it from students or freezes it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.runs import TEACHER, RunInfo, train_run
from tests.helpers import APP
from tests.helpers import APPTEST_TIMEOUT as TIMEOUT
from ui import board, display, keys, nav, owner

KEY = "board-key-123"


def info(run_id: str, val, balanced=None, status="finished", finished=100.0, name="", error="", model="lstm",
         seed=None, data="") -> RunInfo:
    """A listed run; each its own seed unless one is given."""
    summary = {"val_accuracy": val, "val_balanced_accuracy": balanced, "finished": finished, "status": status}
    config = {"model": model, "seed": run_id if seed is None else seed}
    return RunInfo(run_id, None, status, config=config, summary=summary, owner="x",
                   owner_name=name, error=error, data=data)


def test_the_board_ranks_each_dataset_apart_leaves_out_the_baseline_and_shows_a_rerun_once(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATASETS", str(tmp_path))
    (tmp_path / "cities").mkdir()
    infos = [info("s1", 0.70, name="Ana", seed=1), info("s2", 0.75, name="Ben", seed=2),
             info("c1", 0.58, name="Cleo", seed=3, data=str(tmp_path / "cities")),
             info("n1", 0.83, name="Teacher", model="ngram"),
             info("s1-again", 0.70, name="Ana", seed=1, finished=200.0)]
    ranked = board.ranking(infos)
    assert ranked["id"].tolist() == ["s2", "s1", "c1"]
    assert ranked["dataset"].tolist() == [board.SURNAMES, board.SURNAMES, "cities"]
    assert ranked["rank"].tolist() == [1, 2, 1]


def test_ranking_orders_by_validation_then_balanced_accuracy_and_leaves_out_unfinished_runs():
    infos = [info("a", 0.70, 0.5, name="Ana"), info("b", 0.80, 0.4, name="Ben"), info("c", 0.80, 0.6),
             info("d", 0.90, status="stopped"), info("e", None), info("f", 0.99, error="model.pt is missing"),
             info("g", 0.75, 0.5, finished=300.0)]
    ranked = board.ranking(infos)
    assert ranked["id"].tolist() == ["c", "b", "g", "a"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4]
    assert ranked["who"].tolist() == ["anonymous", "Ben", "anonymous", "Ana"]
    assert board.ranking(infos, frozen_at=200.0)["id"].tolist() == ["c", "b", "a"], "frozen: later runs wait"
    teachers = RunInfo("t", None, "finished", config={"model": "rnn"}, summary={"val_accuracy": 0.5}, owner=TEACHER)
    assert board.ranking([teachers])["who"].tolist() == ["teacher"]


@pytest.fixture
def runs_of_the_class(tiny_data, isolated_runs):
    dataset = load_folder(tiny_data)
    ids = []
    for seed, name in ((1, "Ana"), (2, "Ben")):
        writer, _ = train_run(TrainConfig(hidden_size=8, epochs=2, batch_size=8, seed=seed), dataset, isolated_runs,
                              owner=f"student-{seed}", owner_name=name)
        ids.append(writer.run_id)
    return ids


def open_board() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(nav.BOARD)
    return at.run()


@pytest.mark.usefixtures("fresh_app")
def test_the_board_ranks_the_class_and_the_teacher_can_hide_and_freeze_it(runs_of_the_class, monkeypatch,
                                                                         tiny_data, isolated_runs):
    from ui import resources

    resources._board_state.clear()
    monkeypatch.setenv(owner.TEACHER_KEY_ENV, KEY)
    student, teacher = open_board(), open_board()
    assert not student.exception and not [t for t in student.toggle if t.key == keys.BOARD_HIDE]
    table = student.dataframe[0].value
    assert sorted(table["who"]) == ["Ana", "Ben"] and table["val acc"].is_monotonic_decreasing
    assert any("own seed" in c.value for c in student.caption)

    teacher.sidebar.text_input(key=keys.OWNER_KEY_INPUT).input(KEY).run()
    teacher.toggle(key=keys.BOARD_FREEZE).set_value(True).run()
    train_run(TrainConfig(hidden_size=8, epochs=2, batch_size=8, seed=3), load_folder(tiny_data), isolated_runs,
              owner="student-3", owner_name="Chloe")
    student.run()
    assert "Chloe" not in student.dataframe[0].value["who"].tolist()
    assert any(c.value.startswith("Frozen by the teacher") for c in student.caption)
    teacher.toggle(key=keys.BOARD_FREEZE).set_value(False).run()
    student.run()
    assert "Chloe" in student.dataframe[0].value["who"].tolist()

    teacher.toggle(key=keys.BOARD_HIDE).set_value(True).run()
    student.run()
    assert not student.dataframe and any("hidden the board" in i.value for i in student.info)
    assert teacher.dataframe, "the teacher still sees it"
    resources._board_state.clear()


@pytest.mark.usefixtures("fresh_app")
def test_in_presenter_mode_the_board_is_an_html_table_in_large_type(runs_of_the_class):
    from ui import resources

    resources._board_state.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(nav.BOARD)
    at.session_state[keys.PRESENTER] = True
    at.run()
    assert not at.exception and not at.dataframe, "the grid draws its text on a canvas at a small fixed size"
    tables = [h.proto.body for h in at.get("html") if "rnnviz-table" in h.proto.body]
    assert tables and "Ana" in tables[0] and "Ben" in tables[0]
    assert f"font-size:{display.TABLE_FONT_PX}px" in tables[0] and display.TABLE_FONT_PX >= 18
