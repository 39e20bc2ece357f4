"""Streamlit-side helpers shared by the pages: session-state keys, page paths, cached resources, guards.

Only the app imports this package; the rnnviz library never does.
"""
