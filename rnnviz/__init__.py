"""rnnviz: train, compare and look inside recurrent surname classifiers.

The library never imports Streamlit, never prints and never starts a browser. The app (streamlit_app.py, pages/
and the Streamlit helpers in ui/) and the command line (`python -m rnnviz`, rnnviz.cli) sit on top of it; the
benchmarks live beside it in the source checkout (`python -m benchmarks`).
"""

__version__ = "0.1.0"
