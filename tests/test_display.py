"""How pages show tables: in presenter mode as HTML in large type, values formatted as the grid would, escaped."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from ui import display


def test_a_presenter_table_is_large_escaped_formatted_and_shows_only_the_chosen_columns():
    frame = pd.DataFrame({"who": ["<b>Ana</b>", "Ben"], "val acc": [0.712, None], "lr": [0.005, 0.01],
                          "<i>Polish</i>": [1, 2], "id": ["run-a", "run-b"]})
    config = {"val acc": st.column_config.NumberColumn(format="percent"),
              "lr": st.column_config.NumberColumn("learning rate", format="%.4g")}
    html = display.presenter_table_html(frame, config, ["who", "val acc", "lr", "<i>Polish</i>"], height=300)
    sizes = [int(px) for px in re.findall(r"font-size:(\d+)px", html)]
    assert sizes and min(sizes) >= 18
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html and "<b>" not in html and "<i>" not in html
    assert "71.2%" in html and "–" in html and ">learning rate<" in html and "0.005" in html
    assert "run-a" not in html, "a column left out of the order is not shown"
    assert "max-height:300px" in html
    hidden = display.presenter_table_html(frame, {**config, "id": None})
    assert "run-a" not in hidden and "Ben" in hidden, "a column configured as None is hidden, as in the grid"


def test_a_presenter_table_colours_a_columns_values_as_asked():
    frame = pd.DataFrame({"model": ["RNN", "nn.LSTM", "other"], "acc": [0.5, 0.6, 0.7]})
    html = display.presenter_table_html(frame, text_colors={"model": {"RNN": "#123456", "nn.LSTM": "#abcdef"}})
    assert html.count("color: #123456") == 1 and html.count("color: #abcdef") == 1
