"""Page files, relative to streamlit_app.py, as st.navigation registers them and st.page_link names them."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

HOME = "pages/home.py"
TRAIN = "pages/train.py"
EVALUATE = "pages/evaluate.py"
GATES = "pages/gates.py"
DATA = "pages/data.py"

PAGES = (
    (HOME, "Home", ":material/home:"),
    (TRAIN, "Train", ":material/model_training:"),
    (EVALUATE, "Evaluate", ":material/grid_on:"),
    (GATES, "Gates", ":material/tune:"),
    (DATA, "Data", ":material/dataset:"),
)

MAIN = "streamlit_app.py"
_ENTRY = threading.local()  # each session's script runs in its own thread
RESUME_KEY = "nav.resume"


@contextmanager
def entered() -> Iterator[None]:
    """Marks a script run that went through streamlit_app.py and its st.navigation."""
    _ENTRY.active = True
    try:
        yield
    finally:
        _ENTRY.active = False


def require_app_entry(page: str) -> None:
    """Route a run that skipped streamlit_app.py through it, then back to `page`.

    On a fresh server, Streamlit runs a page of the pages/ folder directly when the very first request is a
    deep link (its pre-st.navigation multipage mode); going through the entry script once switches the whole
    server to st.navigation.
    """
    if getattr(_ENTRY, "active", False):
        return
    st.session_state[RESUME_KEY] = page
    st.switch_page(MAIN)


def resume() -> None:
    """After a detour through the entry script, continue to the page that was asked for."""
    page = st.session_state.pop(RESUME_KEY, None)
    if page is not None:
        st.switch_page(page)
