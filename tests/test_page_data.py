"""The Data page's own-data section through AppTest: uploads and folders become named datasets after full
validation, with one-line reasons when they cannot; a stored-datasets table; replace and delete ask first;
presenter mode hides the advanced controls; charts and tables download."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import archive
from rnnviz.data import load_folder
from rnnviz.datasets import datasets_root
from tests.conftest import write_tiny_folder
from tests.helpers import APP, assert_clean, open_page, zip_bytes
from ui import keys, nav, resources

TIMEOUT = 120
UPLOAD, UPLOAD_NAME = "data.upload", "data.upload_name"
OWN_FOLDER, OWN_FOLDER_NAME = "data.own_folder", "data.own_folder_name"
CITIES = {
    "cities/France.txt": "Paris\nLyon\nMarseille\nNîmes\nSaint-Étienne\nOrléans\n",
    "cities/Germany.txt": "Berlin\nKöln\nMünchen\nHamburg\nDüsseldorf\nBremen\n",
    "cities/Japan.txt": "Tokyo\nOsaka\nKyoto\nNagoya\nSapporo\nKobe\n",
}


pytestmark = pytest.mark.usefixtures("tiny_data", "fresh_app")


def open_data() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(nav.DATA).run()
    return at


def upload(at: AppTest, data: bytes, filename: str = "cities.zip", name: str = "") -> AppTest:
    at.file_uploader(key=UPLOAD).upload(filename, data, "application/zip")
    at.text_input(key=UPLOAD_NAME).input(name)
    return button(at, "Add the dataset").click().run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def stored_table(at: AppTest):
    return next(d.value for d in at.dataframe if "status" in d.value.columns)


def test_an_uploaded_zip_becomes_a_stored_dataset_with_its_notice_counts_and_samples():
    at = upload(open_data(), zip_bytes(CITIES))
    assert_clean(at)
    assert at.success[0].value.startswith("Added **cities**: 18 names in 3 categories")
    assert at.info[-1].value == "Characters outside the alphabet were dropped: '-' (1)."  # Saint-Étienne
    table = stored_table(at)
    assert list(table["dataset"]) == ["cities"] and list(table["status"]) == ["ready"]
    assert list(table["categories"]) == [3] and list(table["names"]) == [18]
    assert load_folder(datasets_root() / "cities").categories == ["France", "Germany", "Japan"]
    assert at.selectbox(key="data.show").value == "cities"
    samples = [d.value for d in at.dataframe if "sample names" in d.value.columns][-1]
    assert list(samples["category"]) == ["France", "Germany", "Japan"]
    assert "Koln" in samples.loc[1, "sample names"]  # accents transliterated, as the notice says


def test_blank_name_comes_from_the_zip_file_name():
    at = upload(open_data(), zip_bytes(CITIES), filename="Städte 2024.zip")
    assert_clean(at)
    assert (datasets_root() / "Stadte-2024").is_dir()


@pytest.mark.parametrize(("data", "reason"), [
    (b"just some text", "is not a valid zip archive"),
    (zip_bytes({"A.txt": "Anna\n", "B.txt": "Bj\xf6rn\n".encode("latin-1")}), "B.txt is not UTF-8"),
    (zip_bytes({"Only.txt": "Anna\nBen\n"}), "need at least 2 categories"),
    (zip_bytes({"../A.txt": "Anna\n", "B.txt": "Ben\n"}), "unsafe path"),
    (zip_bytes({"notes.md": "no text files here"}), "no .txt files found"),
], ids=["not-a-zip", "not-utf8", "one-category", "unsafe-path", "no-txt"])
def test_an_unusable_upload_is_refused_in_one_line_and_leaves_nothing(data, reason):
    at = upload(open_data(), data, name="bad")
    assert not at.exception
    [error] = at.error
    assert error.value.startswith("Not added: ") and reason in error.value and "\n" not in error.value
    assert not datasets_root().exists() or list(datasets_root().iterdir()) == []


def test_an_invalid_name_is_refused_before_anything_is_read():
    at = upload(open_data(), zip_bytes(CITIES), name="../escape")
    assert "not a usable dataset name" in at.error[0].value
    assert not datasets_root().exists() or list(datasets_root().iterdir()) == []


def test_a_taken_name_offers_replace_and_keep():
    at = upload(open_data(), zip_bytes(CITIES), name="mine")
    other = zip_bytes({"Female.txt": "Anna\nMaria\nSofia\n", "Male.txt": "Jonas\nLukas\nPaul\n"})
    upload(at, other, name="mine")
    assert not at.exception
    assert "already exists" in at.warning[0].value
    assert load_folder(datasets_root() / "mine").n_categories == 3  # nothing replaced without asking
    button(at, "Keep the old one").click().run()
    assert not at.warning and load_folder(datasets_root() / "mine").n_categories == 3
    upload(at, other, name="mine")
    button(at, "Replace mine").click().run()
    assert_clean(at)
    assert at.success[0].value.startswith("Replaced **mine**: 6 names in 2 categories")
    assert load_folder(datasets_root() / "mine").categories == ["Female", "Male"]


def test_a_later_add_supersedes_an_unanswered_replace_prompt():
    at = upload(open_data(), zip_bytes(CITIES), name="mine")
    upload(at, zip_bytes(CITIES), name="mine")
    assert "already exists" in at.warning[0].value
    upload(at, b"not a zip", name="other")  # a later upload with its own error: the old question goes away
    assert at.error and not any("already exists" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label == "Replace mine"]


def test_the_folder_placeholders_name_a_folder_the_server_reads():
    from rnnviz.data import allowed_data_roots

    placeholders = [t.placeholder for t in open_data().text_input if t.placeholder and t.placeholder.startswith("/")]
    assert placeholders and all(any(p.startswith(str(root)) for root in allowed_data_roots()) for p in placeholders)


def test_delete_asks_for_confirmation_then_removes_the_dataset():
    at = upload(open_data(), zip_bytes(CITIES))
    button(at, "Delete…").click().run()
    assert "cannot be undone" in at.warning[0].value
    assert (datasets_root() / "cities").is_dir()
    button(at, "Cancel").click().run()
    assert (datasets_root() / "cities").is_dir() and not at.warning
    button(at, "Delete…").click().run()
    button(at, "Yes, delete").click().run()
    assert_clean(at)
    assert not (datasets_root() / "cities").exists()
    assert "Deleted the dataset cities" in at.success[0].value
    assert not any("status" in d.value.columns for d in at.dataframe)


def test_a_folder_inside_the_allowed_roots_is_copied_in_and_one_outside_is_refused(tmp_path, monkeypatch):
    allowed = write_tiny_folder(tmp_path / "class" / "tiny")
    secret = write_tiny_folder(tmp_path / "home" / "teacher")
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path / "class"))
    at = open_data()
    at.text_input(key=OWN_FOLDER).input(str(secret))
    button(at, "Copy in as a dataset").click().run()
    assert not at.exception
    assert "outside the folders this server reads" in at.error[0].value
    assert not datasets_root().exists() or list(datasets_root().iterdir()) == []
    at.text_input(key=OWN_FOLDER).input(str(allowed))
    button(at, "Copy in as a dataset").click().run()
    assert_clean(at)
    assert list(stored_table(at)["dataset"]) == ["tiny"]  # named after the folder


def test_a_stored_dataset_links_to_the_train_page_with_it_picked():
    at = upload(open_data(), zip_bytes(CITIES))
    link = next(link.proto for link in at.get("page_link") if link.proto.label == "Train on cities")
    assert link.page == "train" and "data=cities" in link.query_string


def test_charts_and_tables_offer_downloads_and_presenter_mode_hides_them_and_the_forms(monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    made = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    at = upload(open_data(), zip_bytes(CITIES))
    assert made["rnnviz-dataset-cities-counts.png"]().startswith(b"\x89PNG")
    assert b"Germany" in made["rnnviz-dataset-cities-counts.svg"]()
    assert made["rnnviz-dataset-cities-samples.csv"]().decode("utf-8-sig").startswith("category,lines,distinct")
    assert "cities,3,18,ready" in made["rnnviz-datasets.csv"]().decode("utf-8-sig")
    labels = [b.proto.label for b in at.get("download_button")]
    # the surname data's chart and samples, the stored table, then the dataset's chart and samples
    assert labels.count("PNG image") == 2 and labels.count("SVG image") == 2 and labels.count("Data as CSV") == 2
    assert labels.count("Samples as CSV") == 2 and "Table as CSV" in labels
    at.toggle(key=keys.PRESENTER_TOGGLE).set_value(True).run()
    assert_clean(at)
    assert not at.get("download_button") and not at.get("file_uploader")
    assert not any(b.label in ("Delete…", "Copy in as a dataset", "Use this folder") for b in at.button)
    # the table itself stays, drawn as HTML in large type (the data grid's canvas text stays small)
    assert not at.dataframe
    assert any("rnnviz-table" in h.proto.body and ">cities<" in h.proto.body for h in at.get("html"))


def test_own_data_works_without_the_surname_data(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "missing"))
    at = upload(open_data(), zip_bytes(CITIES))
    assert not at.exception
    assert any(b.label == "Get the official archive" for b in at.button)
    assert at.success[0].value.startswith("Added **cities**")


# ---------------------------------------------------------------- data page (the app's own checks)


def test_data_page_switches_to_a_folder_typed_in(no_data, tmp_path, monkeypatch):
    folder = write_tiny_folder(tmp_path / "usb-stick")
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path))  # the server reads typed folders only inside these
    at = open_page(nav.DATA)
    at.text_input[0].input(str(folder))
    next(b for b in at.button if b.label == "Use this folder").click().run()
    assert not at.exception
    assert resources.data_folder() == folder.resolve()
    at.switch_page(nav.HOME).run()
    assert "90 distinct surnames in 3 categories" in at.success[0].value


def test_data_page_rejects_a_folder_without_names(no_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    at = open_page(nav.DATA)
    at.text_input[0].input(str(empty))
    next(b for b in at.button if b.label == "Use this folder").click().run()
    assert not at.exception
    assert "no <Category>.txt files" in at.error[0].value


def test_failed_download_is_one_line_message(no_data, monkeypatch):
    monkeypatch.setattr(archive, "OFFICIAL_URL", "http://127.0.0.1:9/data.zip")  # nothing listens on port 9
    at = open_page(nav.DATA)
    next(b for b in at.button if b.label == "Get the official archive").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Download failed: ")
    assert "\n" not in at.error[0].value


def test_data_page_shows_counts_split_and_samples(tiny_data):
    at = open_page(nav.DATA)
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Categories"] == "3" and metrics["Distinct (name, category)"] == "90"
    assert int(metrics["train split"]) + int(metrics["val split"]) + int(metrics["test split"]) == 90
    samples = at.dataframe[0].value
    assert list(samples["category"]) == ["Ashi", "Borov", "Tunson"]
    assert all(name.endswith("shi") for name in samples.loc[0, "sample names"].split(", "))


