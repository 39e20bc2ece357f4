"""The Data page's current data: where the surnames come from (the shipped copy, the official archive or a folder),
counts, split sizes and samples of a dataset, and how to get data when there is none."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts, datasets
from rnnviz.archive import OFFICIAL_URL
from rnnviz.data import allowed_data_roots, is_embedded
from ui import display, guards, keys, nav, resources

TUTORIAL = "https://docs.pytorch.org/tutorials/intermediate/char_rnn_classification_tutorial.html"


def download() -> None:
    bar = st.progress(0.0, text="Connecting…")

    def progress(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(1.0, done / total), text=f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            bar.progress(0.0, text=f"{done / 1e6:.1f} MB")

    with guards.reported("Download failed: "):
        dataset = resources.download_official(progress)
        bar.progress(1.0, text="Done")
        st.success(f"Downloaded {len(dataset):,} surnames in {dataset.n_categories} categories.",
                   icon=":material/check_circle:")
        st.rerun()
    bar.empty()


def folder_form(expanded_hint: str) -> None:
    with st.form(keys.DATA_FOLDER_FORM, border=False):
        path = st.text_input("Folder of <Category>.txt files", key=keys.DATA_FOLDER,
                             placeholder=str(allowed_data_roots()[0] / "names"), help=expanded_hint)
        if st.form_submit_button("Use this folder", icon=":material/folder_open:"):
            with guards.reported():
                dataset = resources.choose_data_folder(path)
                st.success(f"Using {len(dataset):,} surnames in {dataset.n_categories} categories from `{path}`.")
                st.rerun()


def overview(dataset, name: str) -> None:
    """Counts, split sizes, a counts chart and a sample table (with downloads) of one dataset."""
    total_lines = sum(dataset.line_counts.values())
    split = resources.split_of(dataset)
    cols = st.columns(6)
    cols[0].metric("Categories", dataset.n_categories)
    cols[1].metric("Lines in files", f"{total_lines:,}")
    cols[2].metric("Distinct (name, category)", f"{len(dataset):,}",
                   help="Each name counted once per category it appears in, after transliteration.")
    for column, (part, size) in zip(cols[3:], split.sizes().items()):
        column.metric(f"{part} split", f"{size:,}",
                      help="Default split (seed 0, 10% validation, 10% test), stratified by category; a name sits "
                           "in exactly one part. Each run records its own seed and fractions.")
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader("Names per category")
        counts = charts.counts_frame(dataset.line_counts, dataset.distinct_counts)
        figure = charts.category_counts_chart(counts, height=display.height(30 * max(1, dataset.n_categories)))
        display.chart(figure, f"{name}-counts", data=counts)
    with right:
        st.subheader("Samples")
        table = charts.category_table(dataset.categories, dataset.names, dataset.labels, dataset.line_counts,
                                      dataset.distinct_counts)
        display.table(table, height=min(35 * (len(table) + 1) + 3, 640),
                      column_config={"sample names": st.column_config.TextColumn(width="large")})
        display.csv_button(table, f"{name}-samples", label="Samples as CSV")


def current_data(dataset) -> None:
    named = datasets.name_of(dataset.source)
    if named:
        st.markdown(f"The data folder is your dataset **{named}** (`{dataset.source}`). Names are "
                    "transliterated to "
                    "plain letters, and duplicates within a category are removed.")
    else:
        where = ("the copy shipped with rnnviz (no download needed)" if is_embedded(dataset.source)
                 else f"`{dataset.source}`")
        st.markdown(
            f"Read from {where}. These are the surnames of the PyTorch tutorial "
            f"[Classifying names with a character-level RNN]({TUTORIAL}) (pytorch/tutorials, BSD-3-Clause; "
            f"official archive `{OFFICIAL_URL}`). Names are transliterated to plain letters as in the tutorial, "
            "and duplicates within a category are removed."
        )
    overview(dataset, "data")
    if not display.presenting():
        with st.expander("Get the official archive"):
            st.markdown(f"Downloads `{OFFICIAL_URL}` (about 3 MB) into `data/names`, which is then used instead "
                        "of the shipped copy.")
            if st.button("Get the official archive", icon=":material/download:"):
                download()
        with st.expander("Use another folder of surnames"):
            folder_form("The whole app switches to this folder; runs trained on other categories stay listed.")
    nav.link(nav.TRAIN, label="Train a model on this data", icon=":material/model_training:")


def no_data(problem: str) -> None:
    st.warning(f"{problem}.", icon=":material/warning:")
    st.markdown(
        "rnnviz uses the surnames of the PyTorch tutorial "
        f"[Classifying names with a character-level RNN]({TUTORIAL}): one `<Language>.txt` file per language, "
        "one surname per line. Get them in one of two ways:"
    )
    left, right = st.columns(2, gap="large")
    with left.container(border=True):
        st.markdown(f"**1. Download the official archive** from `{OFFICIAL_URL}` (about 3 MB) into `data/names`.")
        if st.button("Get the official archive", type="primary", icon=":material/download:"):
            download()
    with right.container(border=True):
        st.markdown("**2. Use a folder you already have**, e.g. copied from a USB stick.")
        if display.presenting():
            st.caption("Leave presenter mode to type a folder.")
        else:
            folder_form("Any folder of UTF-8 <Category>.txt files, one name per line; at least two categories.")
    st.caption("Without RNNVIZ_DATA (the folder the server was started with), the app reads data/names, else "
               "the surnames shipped with rnnviz.")
