"""rnnviz in the browser: `streamlit run streamlit_app.py`. This file is the Home page; the others are in pages/.

Home: what rnnviz is, where to go, whether the data is there, and the three model structures.
"""

import streamlit as st

from rnnviz.data import DataError, is_embedded
from ui import display, frame, guards, nav, resources

with frame.page(nav.HOME):

    st.title("rnnviz: see how recurrent networks learn")
    st.markdown(
        "Train the tutorial **RNN**, a model around **nn.LSTM** and the from-scratch **MyLSTM** on the PyTorch "
        "tutorial's surnames (18 languages). Watch their loss and accuracy move live, compare their confusion "
        "matrices, and look at the LSTM's input, forget and output gates letter by letter for any surname."
    )

    WHAT = {
        nav.TRAIN: "Start trainings, watch and compare their curves; the demo races RNN against nn.LSTM",
        nav.BOARD: "The class's finished runs, ranked by validation accuracy",
        nav.EVALUATE: "Confusion matrices, per-language scores and learning replay",
        nav.GATES: "Gates, cell state and prediction, letter by letter, for any surname",
        nav.WHY: "Why LSTM? A memory probe, gradients over distance, gate saturation, read off the numbers",
        nav.REPORT: "The lab report's three models retrained and set beside its figures",
        nav.DATA: "Where the surnames come from, and your own datasets",
    }
    pages = [(path, title, icon) for path, title, icon in nav.PAGES if path in WHAT]
    for row in range(0, len(pages), 3):
        for column, (path, title, icon) in zip(st.columns(3), pages[row : row + 3]):
            with column.container(border=True):
                nav.link(path, label=title, icon=icon)
                st.caption(WHAT[path])
    if not display.presenting():
        st.caption("Before class on a slow machine: `python -m rnnviz train --all` trains the report's three models "
                   "ahead of time; they appear here like any other run.")

    st.subheader("Data")
    folder = resources.data_folder()
    try:
        dataset = resources.current_dataset()
    except DataError as exc:
        st.warning(f"{guards.one_line(exc)}. The Data page can download the official archive or use a folder you name.",
                   icon=":material/warning:")
        nav.link(nav.DATA, label="Get the data", icon=":material/dataset:")
    else:
        where = "the copy shipped with rnnviz" if is_embedded(folder) else f"`{folder}`"
        st.success(f"{len(dataset):,} distinct surnames in {dataset.n_categories} categories, read from {where}.",
                   icon=":material/check_circle:")

    st.subheader("The three models")
    st.caption("`print(model)` at the report's sizes: RNN 128 hidden units, nn.LSTM and MyLSTM 64; 57 letters in, "
               "18 languages out.")
    structures = resources.model_structures()
    # One model a tab, at the page's full width: a layer's line (`Linear(in_features=185, out_features=128, ...)`)
    # stays on one line at 1280x800 and in presenter mode's larger type, instead of wrapping inside its brackets.
    for tab, text in zip(st.tabs(list(structures)), structures.values()):
        tab.code(text, language=None, wrap_lines=False)
