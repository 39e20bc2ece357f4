"""Data: where the names come from, counts per category, split sizes, samples; or how to get them.

Below the current data, "Your own data": named datasets added from an uploaded zip or a server folder,
listed with their status, shown with counts and samples, deleted after a confirmation (ui/own_data.py).
"""

import streamlit as st

from rnnviz.data import DataError
from ui import data_source, frame, guards, nav, own_data, resources

with frame.page(nav.DATA):

    st.title("Data")
    try:
        current = resources.current_dataset()
    except DataError as exc:
        current = None
        data_source.no_data(guards.one_line(exc))
    if current is not None:
        data_source.current_data(current)
    st.divider()
    own_data.own_data()
