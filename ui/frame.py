"""The frame every page runs first: page config, the sidebar navigation, the presenter toggle, the error guard.

Each page file (streamlit_app.py for Home, pages/*.py for the rest) puts its body inside `with frame.page(...)`.
Streamlit's pages/ mode runs a page file on its own, so a deep link opened as the very first request after a
server start (e.g. /gates?run=RUN&name=Nakamura&present=1) still gets the whole frame, and so does an AppTest
that runs a page file directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ui import display, guards, nav, owner, presenter, resources

APP_TITLE = "rnnviz: see how recurrent networks learn"


def navigation() -> None:
    """The sidebar's page links, with labels and icons, in the order of nav.PAGES."""
    for path, title, icon in nav.PAGES:
        nav.link(path, title, icon, where=st.sidebar)


@contextmanager
def page(path: str) -> Iterator[None]:
    """Set up the page `path` (one of nav.PAGES), then run the `with` block; an unexpected error in it becomes
    one line on the page."""
    asks_presenter = presenter.link_asks(st.query_params.to_dict()) or display.presenting()
    title = APP_TITLE if path == nav.HOME else f"{nav.TITLES[path]} · rnnviz"
    st.set_page_config(page_title=title, page_icon=nav.ICONS[path], layout="wide",
                       initial_sidebar_state="collapsed" if asks_presenter else "auto")
    st.html(presenter.BASE_CSS)
    navigation()
    resources.warm_up()
    display.presenter_toggle()
    owner.sidebar()
    try:
        yield
    except Exception as exc:  # st.stop() and reruns are BaseExceptions and pass through
        guards.unexpected(exc)
