"""Measurements that start the app or a browser, run by `python -m rnnviz bench` in subprocesses: the library
(rnnviz/) never starts Streamlit or Chromium itself."""
