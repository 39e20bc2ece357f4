"""The app's pages: file paths as st.page_link and st.switch_page name them, with their titles and icons.

streamlit_app.py is Home; every other page is a file in pages/, which Streamlit serves at /<file stem>
(pages/gates.py at /gates). The sidebar's own page list is turned off in .streamlit/config.toml and drawn by
ui.frame from this table instead, so every page has its label and icon.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

HOME = "streamlit_app.py"
TRAIN = "pages/train.py"
EVALUATE = "pages/evaluate.py"
GATES = "pages/gates.py"
WHY = "pages/why.py"
REPORT = "pages/report.py"
DATA = "pages/data.py"
BOARD = "pages/board.py"
LESSON = "pages/lesson.py"

PAGES = (
    (HOME, "Home", ":material/home:"),
    (LESSON, "Lesson", ":material/school:"),
    (TRAIN, "Train", ":material/model_training:"),
    (BOARD, "Class board", ":material/leaderboard:"),
    (EVALUATE, "Evaluate", ":material/grid_on:"),
    (GATES, "Gates", ":material/tune:"),
    (WHY, "Why LSTM?", ":material/psychology:"),
    (REPORT, "The report", ":material/description:"),
    (DATA, "Data", ":material/dataset:"),
)
TITLES = {path: title for path, title, _ in PAGES}
ICONS = {path: icon for path, _, icon in PAGES}


def url_path(page: str) -> str:
    """The address of a page relative to the app's root: '' for Home, 'gates' for pages/gates.py."""
    return "" if page == HOME else PurePosixPath(page).stem


def link(page: str, label: str | None = None, icon: str | None = None, where=None, **kwargs) -> None:
    """st.page_link to one of PAGES; a page file run on its own (AppTest) knows no other pages, and gets the
    page's address as a plain link instead."""
    where = where if where is not None else st
    label = label or TITLES[page]
    icon = icon if icon is not None else ICONS[page]
    try:
        where.page_link(page, label=label, icon=icon, **kwargs)
    except StreamlitPageNotFoundError:
        where.markdown(f"[{label}](/{url_path(page)})")
