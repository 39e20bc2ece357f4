"""rnnviz: train, compare and look inside recurrent surname classifiers.

The library never imports Streamlit and never prints; the app in pages/ and the command line
in rnnviz.cli sit on top of it.
"""

__version__ = "0.1.0"
