"""The whole app through streamlit.testing's AppTest (no browser): every page in three situations, and Home.

Unit-level runs use tiny made-up languages (conftest.write_tiny_folder) as RNNVIZ_DATA; the gates
check on a real surname trains a short nn.LSTM on the tutorial data (RNNVIZ_DATA from the environment).
"""

from __future__ import annotations

import pytest

from tests.helpers import assert_clean, charts_of, open_page, page_links
from ui import nav

PAGES = [path for path, _, _ in nav.PAGES]


pytestmark = pytest.mark.usefixtures("fresh_app")


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
    assert not any(c.proto.wrap_lines for c in at.code), "a layer's line never wraps inside its brackets"
    assert [t.label for t in at.tabs] == ["RNN", "nn.LSTM", "MyLSTM"]


