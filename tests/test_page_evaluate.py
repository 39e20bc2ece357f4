"""The Evaluate page (and Gates) with runs trained on named datasets of any number of categories, its
downloads (charts as PNG/SVG/CSV, tables as CSV, the run report as HTML), and presenter mode."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.datasets import add_from_folder
from rnnviz.runs import train_run
from tests.conftest import TINY_LANGUAGES, tiny_names
from tests.helpers import assert_clean, chart_frames, charts_of, open_page
from ui import keys, nav, resources

pytestmark = pytest.mark.usefixtures("tiny_data", "fresh_app")


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """File name -> data callable of every download button rendered (deferred data is built on a click)."""
    made: dict = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return made


def named_dataset(tmp_path: Path, name: str, n_categories: int, per_category: int = 12) -> Path:
    """A named dataset of n made-up categories, each with its own letters and a two-letter ending."""
    folder = tmp_path / f"{name}-source"
    folder.mkdir()
    letters = string.ascii_lowercase
    for k in range(n_categories):
        own = "".join(letters[(k * 3 + j) % 26] for j in range(5))
        ending = letters[k % 26] + letters[(k * 7 + 3) % 26]
        names = tiny_names(own, ending, per_category, seed=k)
        (folder / f"Cat{k:02d}.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    return add_from_folder(name, folder).path


def train(folder: Path, root: Path, model: str = "lstm", epochs: int = 1) -> str:
    config = TrainConfig(model=model, hidden_size=8, epochs=epochs, batch_size=8)
    writer, result = train_run(config, load_folder(folder), root)
    assert result is not None and result.status == "finished"
    return writer.run_id


def matrix(at: AppTest):
    chart = charts_of(at)[0]
    return chart_frames(chart)[0], json.loads(chart.proto.spec)


@pytest.mark.parametrize("n_categories", [2, 25])
def test_evaluate_works_for_a_run_on_a_named_dataset_of_any_size(tmp_path, isolated_runs, n_categories):
    folder = named_dataset(tmp_path, f"set{n_categories}", n_categories)
    train(folder, isolated_runs)
    at = open_page(nav.EVALUATE)
    assert_clean(at)
    cells, spec = matrix(at)
    assert len(cells) == n_categories ** 2
    assert set(cells["true"]) == {f"Cat{k:02d}" for k in range(n_categories)}
    # As wide as its column; rows of 16 to 56 pixels: a 2-category matrix is not tiny, a 25-category one still fits
    assert spec["width"] == "container" and 2 * 56 <= spec["height"] <= 25 * 16 + 120
    per_category = next(d.value for d in at.dataframe if "recall" in d.value.columns)
    assert len(per_category) == n_categories
    at.selectbox(key=keys.EVAL_TRUE).set_value("Cat01")
    at.selectbox(key=keys.EVAL_PREDICTED).set_value("Cat00").run()
    assert_clean(at)


def test_gates_traces_names_with_a_run_on_a_named_dataset(tmp_path, isolated_runs):
    folder = named_dataset(tmp_path, "cities", 4)
    train(folder, isolated_runs, model="mylstm")
    at = open_page(nav.GATES)
    at.text_input(key=keys.GATES_NAME).input("Paris")
    at.text_input(key=keys.GATES_SECOND).input("").run()
    assert_clean(at)
    top = next(c.proto.alt for c in charts_of(at) if c.proto.alt.startswith("Top predictions"))
    assert "Cat0" in top


def test_a_run_whose_named_dataset_was_deleted_says_so_in_one_line(tmp_path, isolated_runs):
    folder = named_dataset(tmp_path, "gone", 3)
    train(folder, isolated_runs)
    resources.delete_named_dataset("gone")
    at = open_page(nav.EVALUATE)
    assert not at.exception
    assert "not available" in at.error[0].value and "\n" not in at.error[0].value


def test_every_chart_and_table_downloads_and_the_run_report_is_offered(tmp_path, isolated_runs, downloads):
    folder = named_dataset(tmp_path, "three", 3)
    run_id = train(folder, isolated_runs)
    at = open_page(nav.EVALUATE)
    assert_clean(at)
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"PNG image", "SVG image", "Data as CSV", "Per category as CSV", "Run report (HTML)"} <= labels
    stem = f"rnnviz-confusion-{run_id}-val"
    assert downloads[f"{stem}.png"]().startswith(b"\x89PNG")
    assert b"<svg" in downloads[f"{stem}.svg"]()
    assert downloads[f"{stem}.csv"]().decode("utf-8-sig").startswith("true,predicted,count,rate")
    assert b"recall" in downloads[f"rnnviz-{run_id}-val-per-category.csv"]()
    page = downloads[f"rnnviz-{run_id}-val-report.html"]().decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3 and "Cat02" in page
    assert "validation" in page or "val names" in page


def test_side_by_side_gives_each_matrix_its_own_downloads(tmp_path, isolated_runs, downloads):
    folder = named_dataset(tmp_path, "three", 3)
    first, second = train(folder, isolated_runs), train(folder, isolated_runs, model="rnn")
    at = open_page(nav.EVALUATE)
    shown = at.selectbox(key=keys.EVAL_RUN).value
    downloads.clear()
    at.selectbox(key=keys.EVAL_COMPARE).set_value(first if shown == second else second).run()
    assert_clean(at)
    svgs = sorted(name for name in downloads if name.endswith(".svg"))
    assert svgs == sorted(f"rnnviz-confusion-{run}-val.svg" for run in (first, second))


def test_presenter_mode_hides_the_downloads_and_enlarges_the_matrix(tmp_path, isolated_runs):
    folder = named_dataset(tmp_path, "many", 12)
    train(folder, isolated_runs)
    at = open_page(nav.EVALUATE)
    normal = matrix(at)[1]["height"]
    at.toggle(key=keys.PRESENTER_TOGGLE).set_value(True).run()
    assert_clean(at)
    assert not at.get("download_button")
    assert matrix(at)[1]["height"] > normal


def test_evaluate_shows_the_ngram_baselines_matrix_and_gates_say_it_has_no_state(tmp_path, isolated_runs):
    folder = named_dataset(tmp_path, "three", 3)
    train(folder, isolated_runs, model="ngram")
    at = open_page(nav.EVALUATE)
    assert_clean(at)
    cells, _ = matrix(at)
    assert len(cells) == 9 and cells["count"].sum() > 0
    per_category = next(d.value for d in at.dataframe if "recall" in d.value.columns)
    assert len(per_category) == 3
    assert any("one seed" in caption.value for caption in at.caption)
    gates = open_page(nav.GATES)
    assert not gates.exception
    assert any("no state at all" in info.value for info in gates.info)


# ---------------------------------------------------------------- evaluate page (the app's own checks)


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
    # each run's scores under its matrix's title (metrics above both would push the matrices off the first screen)
    subtitles = [json.loads(chart.proto.spec)["title"]["subtitle"] for chart in charts_of(at)]
    assert all(" ".join([line] if isinstance(line, str) else line).startswith("final · accuracy ")
               and "balanced" in str(line) for line in subtitles), subtitles
    # really side by side: the two matrices are the two columns of one row, whatever the window's width
    holders = [column for column in at.columns if column.get("vega_lite_chart")]
    assert len(holders) == 2 and holders[0].weight == holders[1].weight
    # the per-category table shows both runs, next to the names of a cell
    table = next(d.value for d in at.dataframe if "category" in d.value.columns)
    assert {"recall · left", "recall · right", "f1 · left", "f1 · right"} <= set(table.columns)


def test_a_cells_names_are_beside_the_matrix(tiny_runs):
    at = open_page(nav.EVALUATE)
    assert_clean(at)
    beside = [column for column in at.columns if column.get("vega_lite_chart") or column.get("selectbox")]
    matrix = next(i for i, column in enumerate(beside) if column.get("vega_lite_chart"))
    names = next(i for i, column in enumerate(beside)
                 if any(box.key == keys.EVAL_TRUE for box in column.get("selectbox")))
    assert matrix != names and abs(matrix - names) == 1, "the names panel is the matrix's neighbouring column"


