"""rnnviz in the browser: `streamlit run streamlit_app.py` opens the multipage explorer over the rnnviz library."""

import streamlit as st

from ui import display, guards, nav, resources

st.set_page_config(page_title="rnnviz: see how recurrent networks learn", page_icon=":material/insights:",
                   layout="wide")
page = st.navigation([st.Page(path, title=title, icon=icon, default=path == nav.HOME)
                      for path, title, icon in nav.PAGES])
resources.warm_up()
display.presenter_toggle()
try:
    page.run()
except Exception as exc:  # a page bug must still show one line, not a traceback
    guards.unexpected(exc)
