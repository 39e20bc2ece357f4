"""Data: where the surnames come from, counts per category, split sizes, samples; or how to get them."""

import streamlit as st

from rnnviz import charts
from rnnviz.archive import OFFICIAL_URL
from rnnviz.data import DataError
from ui import guards, keys, nav, resources

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
    with st.form("data-folder", border=False):
        path = st.text_input("Folder of <Category>.txt files", key=keys.DATA_FOLDER,
                             placeholder="/home/teacher/names", help=expanded_hint)
        if st.form_submit_button("Use this folder", icon=":material/folder_open:"):
            with guards.reported():
                dataset = resources.choose_data_folder(path)
                st.success(f"Using {len(dataset):,} surnames in {dataset.n_categories} categories from `{path}`.")
                st.rerun()


st.title("Data")
try:
    dataset = resources.current_dataset()
except DataError as exc:
    dataset = None
    problem = guards.one_line(exc)

if dataset is None:
    st.warning(f"{problem}.", icon=":material/warning:")
    st.markdown(
        "rnnviz uses the surnames of the PyTorch tutorial "
        f"[Classifying names with a character-level RNN]({TUTORIAL}): one `<Language>.txt` file per language, "
        "one surname per line. Get them in one of two ways:"
    )
    left, right = st.columns(2, gap="large")
    with left.container(border=True):
        st.markdown(f"**1. Download the official archive** from `{OFFICIAL_URL}` (about 3 MB) into `data/names`.")
        if st.button("Download the surnames", type="primary", icon=":material/download:"):
            download()
    with right.container(border=True):
        st.markdown("**2. Use a folder you already have**, e.g. copied from a USB stick.")
        folder_form("Any folder of UTF-8 <Category>.txt files, one name per line; at least two categories.")
    st.caption("The app also reads the folder named by the RNNVIZ_DATA environment variable, or data/names.")
    st.stop()

st.markdown(
    f"Read from `{dataset.source}`. These are the surnames of the PyTorch tutorial "
    f"[Classifying names with a character-level RNN]({TUTORIAL}) (official archive `{OFFICIAL_URL}`). "
    "Names are transliterated to plain letters as in the tutorial, and duplicates within a category are removed."
)
total_lines = sum(dataset.line_counts.values())
split = resources.split_of(dataset)
cols = st.columns(6)
cols[0].metric("Categories", dataset.n_categories)
cols[1].metric("Lines in files", f"{total_lines:,}")
cols[2].metric("Distinct (name, category)", f"{len(dataset):,}",
               help="Each name counted once per category it appears in, after transliteration.")
for column, (part, size) in zip(cols[3:], split.sizes().items()):
    column.metric(f"{part} split", f"{size:,}",
                  help="Default split (seed 0, 10% validation, 10% test), stratified by category; a name sits in "
                       "exactly one part. Each run records its own seed and fractions.")

left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader("Names per category")
    st.altair_chart(charts.category_counts_chart(charts.counts_frame(dataset.line_counts, dataset.distinct_counts)),
                    width="stretch")
with right:
    st.subheader("Samples")
    table = charts.category_table(dataset.categories, dataset.names, dataset.labels, dataset.line_counts,
                                  dataset.distinct_counts)
    st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,
                 column_config={"sample names": st.column_config.TextColumn(width="large")})

with st.expander("Use another folder of surnames"):
    folder_form("The whole app switches to this folder; runs trained on other categories stay listed.")
st.page_link(nav.TRAIN, label="Train a model on this data", icon=":material/model_training:")
