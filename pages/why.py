"""Why LSTM? The evidence in three steps: a long-range memory probe, how far back the gradient reaches, and how
LSTM gates saturate; every sentence read off the numbers shown.
The views live in ui/why_views.py and ui/probe_panel.py."""

import streamlit as st

from ui import frame, keys, nav, probe_panel, why_views

with frame.page(nav.WHY):

    st.title("Why LSTM? Memory, gradients, gates")
    view = st.segmented_control("View", list(why_views.VIEWS), default="probe", required=True, key=keys.WHY_VIEW,
                                format_func=why_views.VIEWS.get, label_visibility="collapsed")
    {"flow": why_views.flow_view, "probe": probe_panel.probe_view, "saturation": why_views.saturation_view}[view]()
