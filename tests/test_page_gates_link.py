"""The Gates page in a shared link (?run=...&name=...) and in presenter mode, through AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.runs import train_run
from ui import keys, nav, presenter

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.fixture
def lstm_runs(tiny_data, fresh_app, isolated_runs) -> list[str]:
    folder = tiny_data
    ids = []
    for model in ("lstm", "mylstm"):
        writer, result = train_run(TrainConfig(model=model, hidden_size=8, epochs=1, batch_size=8), load_folder(folder),
                                   isolated_runs)
        assert result is not None and result.status == "finished"
        ids.append(writer.run_id)
    return ids


def open_gates(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(nav.GATES).run()
    return at


def top_alts(at: AppTest) -> list[str]:
    return [c.proto.alt for c in at.get("vega_lite_chart") if c.proto.alt.startswith("Top predictions")]


def test_shared_link_opens_the_same_run_and_surname(lstm_runs):
    older = lstm_runs[0]
    at = open_gates({"run": older, "name": "Borov"})
    assert not at.exception and not at.error
    assert at.selectbox(key=keys.GATES_RUN).value == older
    assert at.text_input(key=keys.GATES_NAME).value == "Borov"
    assert [m.value for m in at.markdown if m.value.startswith("### ")] == ["### Borov"]  # no second name
    two = open_gates({"run": older, "name": "Borov", "vs": "Ashi"})
    assert [m.value for m in two.markdown if m.value.startswith("### ")] == ["### Borov", "### Ashi"]
    assert at.query_params["run"] == [older] or at.query_params["run"] == older


def test_link_with_unknown_run_and_unusable_name_falls_back_with_a_notice(lstm_runs):
    at = open_gates({"run": "no-such-run", "name": "1234"})
    assert not at.exception and not at.error
    notice = " ".join(i.value for i in at.info)
    assert "run='no-such-run'" in notice and "name='1234'" in notice
    assert at.text_input(key=keys.GATES_NAME).value == "Nakamura"  # the default
    assert at.selectbox(key=keys.GATES_RUN).value in lstm_runs
    assert top_alts(at)  # the page still traces the default name


def test_changing_the_surname_updates_the_link(lstm_runs):
    at = open_gates({})
    at.text_input(key=keys.GATES_NAME).input("Ashi").run()
    assert not at.exception

    def value(key):
        got = at.query_params[key]
        return got[-1] if isinstance(got, list) else got
    assert value("name") == "Ashi"
    assert value("run") == at.selectbox(key=keys.GATES_RUN).value


def test_presenter_link_enlarges_charts_and_hides_downloads(lstm_runs):
    normal = open_gates({"name": "Ashi"})
    presenting = open_gates({"name": "Ashi", "present": "1"})
    assert not presenting.exception and not presenting.error
    assert presenting.toggle(key=keys.PRESENTER_TOGGLE).value is True
    assert normal.toggle(key=keys.PRESENTER_TOGGLE).value is False
    assert normal.get("popover") and not presenting.get("popover")
    for at in (normal, presenting):  # the unit-order control belongs to the heatmaps view
        at.button_group(key=keys.GATES_VIEW).set_value("heatmaps").run()
        assert not at.exception and not at.error
    order_controls = [b for b in presenting.get("button_group") if b.key == keys.GATES_ORDER]
    assert not order_controls and [b for b in normal.get("button_group") if b.key == keys.GATES_ORDER]

    def axis_fonts(at: AppTest) -> set:
        return {json.loads(c.proto.spec).get("config", {}).get("axis", {}).get("labelFontSize")
                for c in at.get("vega_lite_chart")}

    assert axis_fonts(presenting) == {presenter.CHART_FONT}
    assert presenter.CHART_FONT not in axis_fonts(normal)
