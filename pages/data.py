"""Data: where the names come from, counts per category, split sizes, samples; or how to get them.

Below the current data, "Your own data": named datasets added from an uploaded zip or a server folder,
listed with their status, shown with counts and samples, deleted after a confirmation.
"""

import time

import pandas as pd
import streamlit as st

from rnnviz import charts, datasets
from rnnviz.archive import MAX_ARCHIVE_BYTES, MAX_EXTRACTED_BYTES, MAX_FILES, OFFICIAL_URL
from rnnviz.data import DataError, allowed_data_roots, is_embedded
from ui import display, frame, guards, keys, nav, resources

with frame.page(nav.DATA):

    # Session-state keys of this page.
    UPLOAD = "data.upload"  # the zip uploader
    UPLOAD_NAME = "data.upload_name"
    OWN_FOLDER = "data.own_folder"  # a server folder to copy in as a named dataset
    OWN_FOLDER_NAME = "data.own_folder_name"
    PENDING = "data.pending"  # an add refused because the name exists, waiting for "Replace" or "Keep"
    SHOW = "data.show"  # the named dataset whose counts and samples are shown
    MANAGE = "data.manage"  # the named dataset picked for deletion
    CONFIRM_DELETE = "data.confirm_delete"
    NOTICE = "data.notice"  # a message to show after the rerun that follows a deletion

    TUTORIAL = "https://docs.pytorch.org/tutorials/intermediate/char_rnn_classification_tutorial.html"
    MAX_UPLOAD_MB = MAX_ARCHIVE_BYTES // 2**20
    LIMITS = (f"UTF-8 text, at least two categories; up to {MAX_UPLOAD_MB} MB zipped, "
              f"{MAX_EXTRACTED_BYTES // 2**20} MB of text and {MAX_FILES} files")


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
            st.dataframe(table, hide_index=True, width="stretch",
                         height=min(35 * (len(table) + 1) + 3, display.height(640)),
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


    # ---------------------------------------------------------------- your own data


    def report_added(added: datasets.AddedDataset, seconds: float) -> None:
        verb = "Replaced" if added.replaced else "Added"
        st.success(f"{verb} **{added.name}**: {len(added.dataset):,} names in {added.dataset.n_categories} categories "
                   f"(checked and stored in {seconds:.2f} s).", icon=":material/check_circle:")
        if added.notice:
            st.info(added.notice[0].upper() + added.notice[1:] + ".", icon=":material/info:")
        st.session_state[SHOW] = added.name


    def add(pending: dict, replace: bool = False) -> None:
        """Add the dataset described by `pending` (an upload or a folder); if the name is taken, offer to replace."""
        name = pending["name"]
        with guards.reported("Not added: "):
            datasets.check_name(name)
            if not replace and datasets.exists(name):
                st.session_state[PENDING] = pending
                return
            began = time.perf_counter()
            with st.spinner(f"Checking and storing {name}…"):
                if pending["kind"] == "zip":
                    added = resources.add_uploaded_dataset(name, pending["data"], pending["filename"], replace)
                else:
                    added = resources.add_folder_dataset(name, pending["path"], replace)
            report_added(added, time.perf_counter() - began)


    def offer_replace() -> None:
        """The add that found its name taken: replace the old dataset, or keep it."""
        pending = st.session_state.get(PENDING)
        if not pending:
            return
        slot = st.empty()
        with slot.container():
            st.warning(f"A dataset named **{pending['name']}** already exists. Replace it with the new files? Runs "
                       "trained on the old one can no longer be evaluated if its categories change.",
                       icon=":material/warning:")
            yes, no, _ = st.columns([2, 2, 3])
            replace = yes.button(f"Replace {pending['name']}", type="primary", icon=":material/sync:")
            keep = no.button("Keep the old one", icon=":material/close:")
        if replace or keep:
            st.session_state.pop(PENDING, None)
            slot.empty()
            if replace:
                add(pending, replace=True)


    def add_forms() -> None:
        left, right = st.columns(2, gap="large")
        with left.container(border=True):
            st.markdown("**Upload a zip** of `<Category>.txt` files")
            with st.form("data-upload", border=False):
                file = st.file_uploader("Zip of <Category>.txt files", type=["zip"], max_upload_size=MAX_UPLOAD_MB,
                                        key=UPLOAD, help=f"The zip's .txt files must sit in one folder; {LIMITS}.")
                name = st.text_input("Dataset name", key=UPLOAD_NAME, placeholder="blank: the zip's file name",
                                     help=f"{datasets.NAME_RULE}.")
                submitted = st.form_submit_button("Add the dataset", type="primary", icon=":material/upload:")
        with right.container(border=True):
            st.markdown("**Copy a folder** on this server")
            with st.form("data-own-folder", border=False):
                path = st.text_input("Folder of <Category>.txt files", key=OWN_FOLDER,
                                     placeholder=str(allowed_data_roots()[0] / "cities"),
                                     help=f"Copied in, so later changes do not count; {LIMITS}.")
                folder_name = st.text_input("Dataset name", key=OWN_FOLDER_NAME, placeholder="blank: the folder's name",
                                            help=f"{datasets.NAME_RULE}.")
                copied = st.form_submit_button("Copy in as a dataset", icon=":material/drive_folder_upload:")
            st.caption("This server reads folders inside " + ", ".join(f"`{r}`" for r in allowed_data_roots())
                       + " only (RNNVIZ_DATA_ROOTS names others).")
        if submitted or copied:
            st.session_state.pop(PENDING, None)  # a new add supersedes an unanswered "replace it?"
        if submitted:
            if file is None:
                st.error("Not added: choose a zip file first.", icon=":material/error:")
            else:
                add({"kind": "zip", "name": name.strip() or datasets.suggest_name(file.name), "data": file.getvalue(),
                     "filename": file.name})
        if copied:
            chosen = folder_name.strip() or datasets.suggest_name(path.strip(), strip_suffix=False)
            add({"kind": "folder", "name": chosen, "path": path})
        offer_replace()


    def stored_table(stored: list[datasets.DatasetInfo]) -> pd.DataFrame:
        return pd.DataFrame(
            [(info.name, len(info.categories), info.n_names, info.status,
              ", ".join(info.categories[:12]) + (" …" if len(info.categories) > 12 else "")) for info in stored],
            columns=["dataset", "categories", "names", "status", "category names"])


    def delete_controls(stored: list[datasets.DatasetInfo]) -> None:
        names = [info.name for info in stored]
        if st.session_state.get(MANAGE) not in names:
            st.session_state.pop(MANAGE, None)
        pick, go, _ = st.columns([3, 1, 3], vertical_alignment="bottom")
        target = pick.selectbox("Dataset to delete", names, key=MANAGE)
        if go.button("Delete…", icon=":material/delete:"):
            st.session_state[CONFIRM_DELETE] = target
        doomed = st.session_state.get(CONFIRM_DELETE)
        if doomed not in names:
            st.session_state.pop(CONFIRM_DELETE, None)
            return
        st.warning(f"Delete the dataset **{doomed}** and its files? Runs trained on it keep their models but can no "
                   "longer be evaluated. This cannot be undone.", icon=":material/warning:")
        yes, no, _ = st.columns([2, 2, 3])
        if yes.button("Yes, delete", type="primary", icon=":material/delete_forever:"):
            st.session_state.pop(CONFIRM_DELETE, None)
            try:
                resources.delete_named_dataset(doomed)
            except guards.USER_ERRORS as exc:
                st.session_state[NOTICE] = ("error", f"Not deleted: {guards.one_line(exc)}")
            else:
                st.session_state[NOTICE] = ("success", f"Deleted the dataset {doomed}.")
            st.rerun()
        if no.button("Cancel"):
            st.session_state.pop(CONFIRM_DELETE, None)
            st.rerun()


    def show_dataset(stored: list[datasets.DatasetInfo]) -> None:
        usable = [info.name for info in stored if not info.error]
        if not usable:
            return
        if st.session_state.get(SHOW) not in usable:
            st.session_state[SHOW] = usable[0]
        st.subheader("A look at one dataset")
        pick, use, _ = st.columns([3, 3, 1], vertical_alignment="bottom")
        name = pick.selectbox("Dataset", usable, key=SHOW)
        try:
            dataset = resources.named_dataset(name)
        except guards.USER_ERRORS as exc:
            st.error(guards.one_line(exc), icon=":material/error:")
            return
        with use:
            nav.link(nav.TRAIN, label=f"Train on {name}", icon=":material/model_training:",
                         query_params={"data": name}, help="Pick it in the Train page's dataset box.")
        overview(dataset, f"dataset-{name}")


    def own_data() -> None:
        st.header("Your own data")
        st.markdown("Any task of short texts in categories fits: first names by gender, city names by country, "
                    "words by language. Put one `<Category>.txt` file per category in a zip, one name per line "
                    f"({LIMITS}). Characters outside the alphabet (a-z, A-Z, space and `.,;'`) are dropped; accents "
                    "are transliterated (é becomes e).")
        notice = st.session_state.pop(NOTICE, None)
        if notice:
            kind, text = notice
            (st.success if kind == "success" else st.error)(text)
        if not display.presenting():
            add_forms()
        stored = resources.stored_datasets()
        if not stored:
            st.caption("No datasets of your own yet.")
            return
        st.subheader("Stored datasets")
        table = stored_table(stored)
        st.dataframe(table, hide_index=True, width="stretch", height=min(35 * (len(table) + 1) + 3, 400),
                     column_config={"status": st.column_config.TextColumn(width="medium"),
                                    "category names": st.column_config.TextColumn(width="large")})
        display.csv_button(table, "datasets", label="Table as CSV")
        if not display.presenting():
            delete_controls(stored)
        show_dataset(stored)


    st.title("Data")
    try:
        current = resources.current_dataset()
    except DataError as exc:
        current = None
        no_data(guards.one_line(exc))
    if current is not None:
        current_data(current)
    st.divider()
    own_data()
