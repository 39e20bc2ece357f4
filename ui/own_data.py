"""The Data page's "Your own data": named datasets added from an uploaded zip or a server folder (a taken name
asks before it replaces), listed with their status, shown with counts and samples, deleted after a confirmation."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from rnnviz import datasets
from rnnviz.archive import MAX_ARCHIVE_BYTES, MAX_EXTRACTED_BYTES, MAX_FILES
from rnnviz.data import allowed_data_roots
from ui import display, guards, keys, nav, resources
from ui.data_source import overview

MAX_UPLOAD_MB = MAX_ARCHIVE_BYTES // 2**20
LIMITS = (f"UTF-8 text, at least two categories; up to {MAX_UPLOAD_MB} MB zipped, "
          f"{MAX_EXTRACTED_BYTES // 2**20} MB of text and {MAX_FILES} files")


def report_added(added: datasets.AddedDataset, seconds: float) -> None:
    verb = "Replaced" if added.replaced else "Added"
    st.success(f"{verb} **{added.name}**: {len(added.dataset):,} names in {added.dataset.n_categories} categories "
               f"(checked and stored in {seconds:.2f} s).", icon=":material/check_circle:")
    if added.notice:
        st.info(added.notice[0].upper() + added.notice[1:] + ".", icon=":material/info:")
    st.session_state[keys.DATA_SHOW] = added.name


def add(pending: dict, replace: bool = False) -> None:
    """Add the dataset described by `pending` (an upload or a folder); if the name is taken, offer to replace."""
    name = pending["name"]
    with guards.reported("Not added: "):
        datasets.check_name(name)
        if not replace and datasets.exists(name):
            st.session_state[keys.DATA_PENDING] = pending
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
    pending = st.session_state.get(keys.DATA_PENDING)
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
        st.session_state.pop(keys.DATA_PENDING, None)
        slot.empty()
        if replace:
            add(pending, replace=True)


def add_forms() -> None:
    left, right = st.columns(2, gap="large")
    with left.container(border=True):
        st.markdown("**Upload a zip** of `<Category>.txt` files")
        with st.form(keys.DATA_UPLOAD_FORM, border=False):
            file = st.file_uploader("Zip of <Category>.txt files", type=["zip"], max_upload_size=MAX_UPLOAD_MB,
                                    key=keys.DATA_UPLOAD,
                                    help=f"The zip's .txt files must sit in one folder; {LIMITS}.")
            name = st.text_input("Dataset name", key=keys.DATA_UPLOAD_NAME, placeholder="blank: the zip's file name",
                                 help=f"{datasets.NAME_RULE}.")
            submitted = st.form_submit_button("Add the dataset", type="primary", icon=":material/upload:")
    with right.container(border=True):
        st.markdown("**Copy a folder** on this server")
        with st.form(keys.DATA_OWN_FOLDER_FORM, border=False):
            path = st.text_input("Folder of <Category>.txt files", key=keys.DATA_OWN_FOLDER,
                                 placeholder=str(allowed_data_roots()[0] / "cities"),
                                 help=f"Copied in, so later changes do not count; {LIMITS}.")
            folder_name = st.text_input("Dataset name", key=keys.DATA_OWN_FOLDER_NAME,
                                        placeholder="blank: the folder's name", help=f"{datasets.NAME_RULE}.")
            copied = st.form_submit_button("Copy in as a dataset", icon=":material/drive_folder_upload:")
        st.caption("This server reads folders inside " + ", ".join(f"`{r}`" for r in allowed_data_roots())
                   + " only (RNNVIZ_DATA_ROOTS names others).")
    if submitted or copied:
        st.session_state.pop(keys.DATA_PENDING, None)  # a new add supersedes an unanswered "replace it?"
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
    if st.session_state.get(keys.DATA_MANAGE) not in names:
        st.session_state.pop(keys.DATA_MANAGE, None)
    pick, go, _ = st.columns([3, 1, 3], vertical_alignment="bottom")
    target = pick.selectbox("Dataset to delete", names, key=keys.DATA_MANAGE)
    if go.button("Delete…", icon=":material/delete:"):
        st.session_state[keys.DATA_CONFIRM_DELETE] = target
    doomed = st.session_state.get(keys.DATA_CONFIRM_DELETE)
    if doomed not in names:
        st.session_state.pop(keys.DATA_CONFIRM_DELETE, None)
        return
    st.warning(f"Delete the dataset **{doomed}** and its files? Runs trained on it keep their models but can no "
               "longer be evaluated. This cannot be undone.", icon=":material/warning:")
    yes, no, _ = st.columns([2, 2, 3])
    if yes.button("Yes, delete", type="primary", icon=":material/delete_forever:"):
        st.session_state.pop(keys.DATA_CONFIRM_DELETE, None)
        try:
            resources.delete_named_dataset(doomed)
        except guards.USER_ERRORS as exc:
            st.session_state[keys.DATA_NOTICE] = ("error", f"Not deleted: {guards.one_line(exc)}")
        else:
            st.session_state[keys.DATA_NOTICE] = ("success", f"Deleted the dataset {doomed}.")
        st.rerun()
    if no.button("Cancel"):
        st.session_state.pop(keys.DATA_CONFIRM_DELETE, None)
        st.rerun()


def show_dataset(stored: list[datasets.DatasetInfo]) -> None:
    usable = [info.name for info in stored if not info.error]
    if not usable:
        return
    if st.session_state.get(keys.DATA_SHOW) not in usable:
        st.session_state[keys.DATA_SHOW] = usable[0]
    st.subheader("A look at one dataset")
    pick, use, _ = st.columns([3, 3, 1], vertical_alignment="bottom")
    name = pick.selectbox("Dataset", usable, key=keys.DATA_SHOW)
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
    notice = st.session_state.pop(keys.DATA_NOTICE, None)
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
    display.table(table, height=min(35 * (len(table) + 1) + 3, 400),
                  column_config={"status": st.column_config.TextColumn(width="medium"),
                                 "category names": st.column_config.TextColumn(width="large")})
    display.csv_button(table, "datasets", label="Table as CSV")
    if not display.presenting():
        delete_controls(stored)
    show_dataset(stored)
