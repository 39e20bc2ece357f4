"""Named user datasets: added from a zip or a folder after full validation, listed, deleted, never outside the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnviz.data import load_folder
from rnnviz.datasets import (
    DatasetError,
    add_from_bytes,
    add_from_folder,
    add_from_zip,
    dataset_path,
    datasets_root,
    delete_dataset,
    list_datasets,
)
from tests.helpers import zip_bytes

GENDER = {"first/Female.txt": "Anna\nMaria\nSofia\nEmma\n", "first/Male.txt": "Jonas\nLukas\nPaul\nFelix\n"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "datasets"


def test_zip_of_two_categories_becomes_a_listed_dataset(root):
    added = add_from_bytes("first-names", zip_bytes(GENDER), root)
    assert added.path == root.resolve() / "first-names"
    assert load_folder(added.path).categories == ["Female", "Male"]
    [info] = list_datasets(root)
    assert (info.name, info.categories, info.n_names, info.error) == ("first-names", ["Female", "Male"], 8, "")


def test_zip_with_one_category_is_refused_and_leaves_nothing(root):
    with pytest.raises(DatasetError, match="at least 2 categories"):
        add_from_bytes("one", zip_bytes({"Only.txt": "Anna\nBen\n"}), root)
    assert list_datasets(root) == []
    assert [p.name for p in root.iterdir()] == []


def test_not_a_zip_is_refused_with_a_one_line_reason(root):
    with pytest.raises(DatasetError, match="not a valid zip") as caught:
        add_from_bytes("junk", b"this is not a zip", root)
    assert "\n" not in str(caught.value)


def test_non_utf8_file_is_refused_naming_the_file(root):
    data = zip_bytes({"A.txt": "Anna\n", "B.txt": "Bj\xf6rn\n".encode("latin-1")})
    with pytest.raises(DatasetError, match="B.txt is not UTF-8"):
        add_from_bytes("latin", data, root)


def test_unsafe_zip_member_is_refused(root):
    with pytest.raises(DatasetError, match="unsafe path"):
        add_from_bytes("evil", zip_bytes({"../A.txt": "Anna\n", "B.txt": "Ben\n"}), root)
    assert not (root.parent / "A.txt").exists()


def test_characters_outside_the_alphabet_are_reported_with_counts(root):
    added = add_from_bytes("cities", zip_bytes({"Japan.txt": "Tokyo\nOsaka-shi\n", "Germany.txt": "Köln\nMünchen\n"}),
                           root)
    assert added.unsupported == {"-": 1}
    assert "'-' (1)" in added.notice
    assert "Koln" in load_folder(added.path).names  # accents are transliterated, not dropped


@pytest.mark.parametrize("name", ["../escape", "a/b", "", " ", ".hidden", "x" * 65, "..", "nul\x00"])
def test_unsafe_names_are_refused(root, name):
    with pytest.raises(DatasetError, match="not a usable dataset name"):
        dataset_path(name, root)


def test_existing_name_is_kept_unless_replacing(root):
    add_from_bytes("first", zip_bytes(GENDER), root)
    other = zip_bytes({"X.txt": "Xa\nXe\n", "Y.txt": "Ya\nYe\n", "Z.txt": "Za\nZe\n"})
    with pytest.raises(DatasetError, match="already exists"):
        add_from_bytes("first", other, root)
    assert load_folder(root / "first").categories == ["Female", "Male"]
    add_from_bytes("first", other, root, replace=True)
    assert load_folder(root / "first").categories == ["X", "Y", "Z"]


def test_folder_is_copied_in_and_the_original_left_alone(root, tiny_folder):
    added = add_from_folder("tiny", tiny_folder, root)
    assert added.dataset.categories == load_folder(tiny_folder).categories
    assert sorted(p.name for p in tiny_folder.iterdir()) == sorted(p.name for p in added.path.iterdir())


def test_folder_over_the_size_limit_is_refused(root, tiny_folder):
    with pytest.raises(DatasetError, match="over the"):
        add_from_folder("big", tiny_folder, root, max_bytes=10)


def test_delete_removes_the_dataset_and_unknown_names_are_reported(root):
    add_from_bytes("first", zip_bytes(GENDER), root)
    delete_dataset("first", root)
    assert list_datasets(root) == []
    with pytest.raises(DatasetError, match="no dataset named 'first'"):
        delete_dataset("first", root)


def test_root_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATASETS", str(tmp_path / "elsewhere"))
    assert datasets_root() == tmp_path / "elsewhere"


def test_zip_path_is_accepted_as_well_as_bytes(root, tmp_path):
    file = tmp_path / "upload.zip"
    file.write_bytes(zip_bytes(GENDER))
    assert add_from_zip("from-file", file, root).dataset.n_categories == 2


def test_replacing_keeps_the_old_dataset_when_the_new_one_cannot_move_in(root, monkeypatch):
    import os

    from rnnviz import datasets

    add_from_bytes("first", zip_bytes(GENDER), root)
    real_rename = os.rename

    def failing(src, dst):
        if Path(dst) == root.resolve() / "first" and ".incoming-" in str(src):  # the new folder moving in
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(datasets.os, "rename", failing)
    other = zip_bytes({"X.txt": "Xa\nXe\n", "Y.txt": "Ya\nYe\n"})
    with pytest.raises(DatasetError, match="could not store the dataset: No space left on device"):
        add_from_bytes("first", other, root, replace=True)
    assert load_folder(root / "first").categories == ["Female", "Male"]
    assert sorted(p.name for p in root.iterdir()) == ["first"]  # no staging or backup left behind


def test_delete_leaves_no_hidden_remains(root):
    add_from_bytes("first", zip_bytes(GENDER), root)
    delete_dataset("first", root)
    assert list(root.iterdir()) == []


def test_an_upload_over_the_archive_limit_is_refused_before_it_is_written(root, monkeypatch):
    from rnnviz import datasets

    monkeypatch.setattr(datasets, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(DatasetError, match=r"cities.zip is 0.0 MB, over the 0 MB limit for an upload"):
        add_from_bytes("big", zip_bytes(GENDER), root, filename="cities.zip")
    assert not root.exists() or list(root.iterdir()) == []


def test_messages_name_the_uploaded_file_not_a_temporary_one(root):
    with pytest.raises(DatasetError, match=r"^my cities.zip is not a valid zip archive"):
        add_from_bytes("junk", b"PK but not really", root, filename="C:\\Users\\me\\my cities.zip")


def test_files_without_usable_names_and_small_categories_are_noted(root):
    added = add_from_bytes("mixed", zip_bytes({"A.txt": "Anna\nAbel\nAda\nAmy\n", "B.txt": "Ben\nBo\n",
                                               "Kanji.txt": "東京\n大阪\n", "Empty.txt": "\n\n"}), root)
    assert added.dataset.categories == ["A", "B"]
    assert added.left_out == ["Empty.txt", "Kanji.txt"]
    assert "files without usable names were left out: Empty.txt, Kanji.txt" in added.notice
    assert "fewer than 3 names are never evaluated: B" in added.notice
    assert "2 line(s) had no usable letters" in added.notice


def test_a_byte_order_mark_is_not_reported_as_a_dropped_character(root):
    added = add_from_bytes("bom", zip_bytes({"A.txt": "\ufeffAnna\nAda\n".encode(), "B.txt": "Ben\nBo\n"}), root)
    assert added.unsupported == {}


def test_a_folder_with_a_link_to_another_file_is_refused(root, tmp_path):
    folder = tmp_path / "sneaky"
    folder.mkdir()
    (folder / "A.txt").write_text("Anna\nAda\n")
    secret = tmp_path / "secret"
    secret.write_text("password\n")
    (folder / "B.txt").symlink_to(secret)
    with pytest.raises(DatasetError, match="B.txt is a link to another file"):
        add_from_folder("sneaky", folder, root)
    assert not root.exists() or list(root.iterdir()) == []


def test_an_unusable_stored_dataset_is_listed_with_its_reason(root):
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "Only.txt").write_text("Anna\n")
    (root / ".incoming-xyz").mkdir()  # staging folders are never listed
    [info] = list_datasets(root)
    assert info.name == "broken" and "at least 2 categories" in info.error and str(root) not in info.error
    assert info.status.startswith("unusable: ")


@pytest.mark.parametrize(("filename", "name"), [("My cities (2).zip", "My-cities-2"), ("Städte.zip", "Stadte"),
                                                ("C:\\data\\names.zip", "names"), ("日本.zip", ""), ("..zip", "")])
def test_a_name_is_suggested_from_the_upload(filename, name):
    from rnnviz.datasets import check_name, suggest_name

    assert suggest_name(filename) == name
    if name:
        assert check_name(name) == name


def test_a_folder_is_named_only_when_it_is_a_stored_dataset(root, tmp_path):
    from rnnviz.datasets import name_of

    add_from_bytes("cities", zip_bytes({"France.txt": "Paris\nLyon\nNice\n", "Japan.txt": "Tokyo\nOsaka\nKobe\n"}),
                   root=root)
    assert name_of(root / "cities", root=root) == "cities"
    assert name_of(str(root / "cities"), root=root) == "cities"
    assert name_of(tmp_path / "cities", root=root) is None  # the same name elsewhere is some other folder
    assert name_of(root, root=root) is None and name_of(None, root=root) is None and name_of("", root=root) is None


def test_a_named_datasets_categories_are_called_categories_and_the_surnames_languages(root, tmp_path):
    from rnnviz.datasets import category_noun

    add_from_bytes("cities", zip_bytes({"c/Paris.txt": "Lyon\nNice\n", "c/Oslo.txt": "Bergen\nMolde\n"}), root=root)
    assert category_noun(dataset_path("cities", root), root) == "category"
    assert category_noun(tmp_path / "names", root) == "language"
    assert category_noun(None, root) == "language"
