"""Tests for rnnviz.data: alphabet, transliteration, loading folders, the leak-free split, finding the data."""

from __future__ import annotations

import random
import string
import threading
import unicodedata
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from conftest import write_tiny_folder

from rnnviz import data
from rnnviz.data import (
    ALPHABET,
    N_LETTERS,
    DataError,
    EncodedSplit,
    clean_name,
    encode,
    find_data_dir,
    is_embedded,
    load_folder,
    split_dataset,
    to_ascii,
)
from rnnviz.datasets import unsupported_characters
from tests.helpers import zip_bytes


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def assert_one_line_data_error(excinfo: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(excinfo.value)
    assert "\n" not in message and message
    for fragment in fragments:
        assert fragment in message


# --------------------------------------------------------------------------- alphabet and transliteration


def test_alphabet_is_ascii_letters_and_five_punctuation_marks():
    assert ALPHABET == string.ascii_letters + " .,;'"
    assert N_LETTERS == 57 == len(set(ALPHABET))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ślusàrski", "Slusarski"),  # the tutorial's own example
        ("Müller", "Muller"),
        ("Nguyễn", "Nguyen"),
        ("O'Néill", "O'Neill"),
        ("Smith-Jones", "SmithJones"),
        ("中村", ""),
    ],
)
def test_to_ascii_transliterates_like_the_tutorial(raw, expected):
    assert to_ascii(raw) == expected


def test_to_ascii_keeps_only_alphabet_characters():
    text = "".join(chr(c) for c in range(32, 0x250))
    assert set(to_ascii(text)) <= set(ALPHABET)


@pytest.mark.parametrize("raw", ["", "   ", "\t"])
def test_clean_name_refuses_empty_input(raw):
    with pytest.raises(DataError) as excinfo:
        clean_name(raw)
    assert_one_line_data_error(excinfo, "empty")


@pytest.mark.parametrize("raw", ["1234", "中村", "...", "-"])
def test_clean_name_refuses_input_without_latin_letters(raw):
    with pytest.raises(DataError) as excinfo:
        clean_name(raw)
    assert_one_line_data_error(excinfo, "no letters")


def test_clean_name_notes_the_characters_it_dropped():
    cleaned = clean_name("  Smith-Jones2 ")
    assert cleaned.text == "SmithJones"
    assert cleaned.dropped == ("-", "2")
    assert "'-2'" in cleaned.note
    assert not cleaned.truncated


def test_clean_name_without_changes_has_no_note():
    assert clean_name("Nakamura").note == ""


def test_clean_name_says_which_accents_were_transliterated():
    cleaned = clean_name("Dvořák")
    assert cleaned.text == "Dvorak" and not cleaned.dropped  # transliterated, not dropped
    assert cleaned.note == "accents transliterated as in training: ř → r, á → a"


def test_clean_name_cuts_long_input_and_says_so():
    cleaned = clean_name("a" * 100, max_length=10)
    assert cleaned.text == "a" * 10 and cleaned.truncated
    assert "10" in cleaned.note


# --------------------------------------------------------------------------- loading a folder


def test_load_folder_sorts_categories_and_counts_lines_and_distinct_names(tmp_path):
    folder = write(tmp_path / "d", {
        "Zulu.txt": "Abe\nAbe\n\nBoku\n",
        "Alpha.txt": "Smith\nJones\n  \nSmith\nJönes\n",
        "notes.md": "ignored",
    })
    dataset = load_folder(folder)
    assert dataset.categories == ["Alpha", "Zulu"]
    assert dataset.line_counts == {"Alpha": 4, "Zulu": 3}
    assert dataset.distinct_counts == {"Alpha": 2, "Zulu": 2}
    assert sorted(zip(dataset.names, dataset.labels)) == [("Abe", 1), ("Boku", 1), ("Jones", 0), ("Smith", 0)]
    assert len(dataset) == 4 and dataset.n_categories == 2


def test_names_that_become_empty_are_skipped_and_counted(tmp_path):
    folder = write(tmp_path / "d", {"A.txt": "Kim\n金\n", "B.txt": "Lee\n李\n朴\n"})
    dataset = load_folder(folder)
    assert dataset.skipped_empty == 3
    assert sorted(dataset.names) == ["Kim", "Lee"]
    assert dataset.line_counts == {"A": 2, "B": 3}
    assert dataset.distinct_counts == {"A": 1, "B": 1}


def test_same_name_in_two_categories_is_kept_in_both(tmp_path):
    dataset = load_folder(write(tmp_path / "d", {"A.txt": "Abel\nKim\n", "B.txt": "Abel\nLee\n"}))
    assert sorted(zip(dataset.names, dataset.labels)) == [("Abel", 0), ("Abel", 1), ("Kim", 0), ("Lee", 1)]


def test_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_folder(tmp_path / "nowhere")
    assert_one_line_data_error(excinfo, "not found", "nowhere")


def test_folder_without_txt_files_is_a_one_line_error(tmp_path):
    folder = write(tmp_path / "d", {"readme.md": "nothing here"})
    with pytest.raises(DataError) as excinfo:
        load_folder(folder)
    assert_one_line_data_error(excinfo, "no <Category>.txt")


def test_non_utf8_file_is_a_one_line_error_naming_the_file(tmp_path):
    folder = write(tmp_path / "d", {"A.txt": "Kim\n", "B.txt": "Lef\xe8vre\n".encode("latin-1")})
    with pytest.raises(DataError) as excinfo:
        load_folder(folder)
    assert_one_line_data_error(excinfo, "B.txt", "UTF-8")


@pytest.mark.parametrize("files", [{"A.txt": "Kim\nLee\n"}, {"A.txt": "Kim\n", "B.txt": "\n\n", "C.txt": "中\n"}])
def test_fewer_than_two_categories_is_a_one_line_error(tmp_path, files):
    with pytest.raises(DataError) as excinfo:
        load_folder(write(tmp_path / "d", files))
    assert_one_line_data_error(excinfo, "at least 2 categories")


# --------------------------------------------------------------------------- the split


def many_names_folder(tmp_path: Path) -> Path:
    return write_tiny_folder(tmp_path / "many", per_category=50)


def test_split_defaults_to_80_10_10_within_every_category(tmp_path):
    dataset = load_folder(many_names_folder(tmp_path))
    split = split_dataset(dataset)
    for label, category in enumerate(dataset.categories):
        sizes = {part: sum(1 for _, lab in split.part(part) if lab == label) for part in ("train", "val", "test")}
        assert sizes == {"train": 40, "val": 5, "test": 5}, category
    assert sum(split.sizes().values()) == len(dataset)


def test_split_is_seeded(tmp_path):
    dataset = load_folder(many_names_folder(tmp_path))
    first, again, other = split_dataset(dataset, seed=3), split_dataset(dataset, seed=3), split_dataset(dataset, seed=4)
    assert first.val == again.val and first.test == again.test and first.train == again.train
    assert set(first.val) != set(other.val)


def test_split_does_not_depend_on_the_order_of_lines(tmp_path):
    folder = many_names_folder(tmp_path)
    before = split_dataset(load_folder(folder), seed=1)
    for file in folder.glob("*.txt"):
        file.write_text("\n".join(reversed(file.read_text().splitlines())), encoding="utf-8")
    after = split_dataset(load_folder(folder), seed=1)
    assert sorted(before.val) == sorted(after.val) and sorted(before.test) == sorted(after.test)


def test_split_keeps_each_name_in_one_part_even_when_it_has_two_categories(tmp_path):
    shared = [f"Shared{letter}" for letter in "abcdefghijklmnopqrst"]
    folder = write(tmp_path / "d", {
        "A.txt": "\n".join(shared + [f"Alpha{c}" for c in "abcdefghij"]),
        "B.txt": "\n".join(shared + [f"Beta{c}" for c in "abcdefghij"]),
    })
    dataset = load_folder(folder)
    for seed in range(5):
        split = split_dataset(dataset, seed=seed)
        parts = {part: {name for name, _ in split.part(part)} for part in ("train", "val", "test")}
        assert not parts["train"] & parts["val"] and not parts["train"] & parts["test"]
        assert not parts["val"] & parts["test"]
        every_pair = split.train + split.val + split.test
        assert sorted(every_pair) == sorted(zip(dataset.names, dataset.labels))


def test_split_evaluates_small_categories_too(tmp_path):
    folder = write(tmp_path / "d", {"Big.txt": "\n".join(f"Big{c}{d}" for c in "abcdefgh" for d in "abcdefgh"),
                                    "Small.txt": "Kim\nLee\nPak\n"})
    split = split_dataset(load_folder(folder))
    small = 1
    assert any(lab == small for _, lab in split.val) and any(lab == small for _, lab in split.test)


def test_split_counts_distinct_pairs_not_lines(tmp_path):
    folder = write(tmp_path / "d", {"A.txt": "Kim\n" * 10 + "Lee\nPak\n", "B.txt": "Abe\nBoku\nChan\n"})
    split = split_dataset(load_folder(folder))
    assert sum(split.sizes().values()) == 6


@pytest.mark.parametrize(("val", "test"), [(-0.1, 0.1), (0.5, 0.5), (1.0, 0.0)])
def test_split_refuses_impossible_fractions(tiny_dataset, val, test):
    with pytest.raises(DataError):
        split_dataset(tiny_dataset, val, test)


def test_unknown_split_part_is_a_data_error(tiny_dataset):
    with pytest.raises(DataError, match="train, val or test"):
        split_dataset(tiny_dataset).part("dev")


# --------------------------------------------------------------------------- encoding and batches


def test_encode_pads_with_lengths():
    chars, lengths = encode(["ab", "Abc"])
    assert chars.tolist() == [[0, 1, 0], [26, 1, 2]]
    assert lengths.tolist() == [2, 3]


def test_encode_puts_each_letter_where_a_name_by_name_loop_puts_it():
    import random

    import torch

    from rnnviz.data import ALPHABET, CHAR_INDEX

    rng = random.Random(5)
    names = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))) for _ in range(200)]
    chars, lengths = encode(names)
    expected = torch.zeros(len(names), max(map(len, names)), dtype=torch.long)
    for row, name in enumerate(names):  # the reference: one name at a time
        expected[row, : len(name)] = torch.tensor([CHAR_INDEX[ch] for ch in name])
    assert torch.equal(chars, expected) and lengths.tolist() == [len(name) for name in names]


@pytest.mark.parametrize("names", [[], ["ok", ""]])
def test_encode_refuses_nothing_to_encode(names):
    with pytest.raises(DataError):
        encode(names)


def test_batches_cover_every_name_once_trimmed_to_the_longest(tiny_dataset):
    pairs = list(zip(tiny_dataset.names, tiny_dataset.labels))
    encoded = EncodedSplit(pairs)
    seen = Counter()
    for chars, lengths, labels in encoded.batches(7, torch.Generator().manual_seed(0)):
        assert chars.shape[1] == int(lengths.max())
        for row, length, label in zip(chars, lengths, labels):
            name = "".join(ALPHABET[i] for i in row[: int(length)].tolist())
            assert not row[int(length):].any()
            seen[(name, int(label))] += 1
    assert seen == Counter(pairs)


def varied_pairs(count: int = 700, seed: int = 0) -> list[tuple[str, int]]:
    """Distinct names of 1 to 20 letters, as spread in length as real surnames are."""
    rng = random.Random(seed)
    names = {"".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 20))) for _ in range(count)}
    return [(name, rng.randrange(5)) for name in sorted(names)]


def epoch(encoded: EncodedSplit, batch_size: int, generator, **options) -> list[list[str]]:
    batches = []
    for chars, lengths, _ in encoded.batches(batch_size, generator, **options):
        batches.append(["".join(ALPHABET[i] for i in row[: int(n)].tolist()) for row, n in zip(chars, lengths)])
    return batches


def test_training_batches_hold_every_name_exactly_once_per_epoch():
    pairs = varied_pairs()
    encoded = EncodedSplit(pairs)
    generator = torch.Generator().manual_seed(0)
    epochs = [epoch(encoded, 32, generator) for _ in range(3)]
    for batches in epochs:
        assert Counter(name for batch in batches for name in batch) == Counter(name for name, _ in pairs)
        # As many steps as plain batches: every batch is full but at most one.
        assert len(batches) == -(-len(pairs) // 32)
        assert sum(len(batch) < 32 for batch in batches) <= 1
    assert epochs[0] != epochs[1]  # a new order every epoch


def test_training_batches_are_reproducible_for_a_seed():
    encoded = EncodedSplit(varied_pairs())
    first = epoch(encoded, 16, torch.Generator().manual_seed(3))
    assert first == epoch(encoded, 16, torch.Generator().manual_seed(3))
    assert first != epoch(encoded, 16, torch.Generator().manual_seed(4))


def test_length_bucketed_batches_pad_much_less_than_random_ones():
    encoded = EncodedSplit(varied_pairs())

    def padded_cells(**options) -> int:
        batches = encoded.batches(32, torch.Generator().manual_seed(0), **options)
        return sum(chars.numel() for chars, _, _ in batches)

    letters = int(encoded.lengths.sum())
    bucketed, random_ = padded_cells(), padded_cells(pool_batches=0)
    assert bucketed < 0.8 * random_
    assert bucketed < 1.25 * letters  # nearly no padding left


def test_unshuffled_batches_keep_the_order_for_evaluation():
    pairs = varied_pairs(100)
    encoded = EncodedSplit(pairs)
    names = [name for batch in epoch(encoded, 32, None, shuffle=False) for name in batch]
    assert names == [name for name, _ in pairs]


def test_empty_split_part_cannot_be_encoded():
    with pytest.raises(DataError, match="empty"):
        EncodedSplit([])


# --------------------------------------------------------------------------- finding the data


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No RNNVIZ_DATA and an empty project data folder."""
    monkeypatch.delenv("RNNVIZ_DATA", raising=False)
    default = tmp_path / "project" / "data" / "names"
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", default)
    return default


def test_explicit_path_wins_over_environment_and_project_folder(tmp_path, no_data, monkeypatch):
    write_tiny_folder(no_data)
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "env"))
    assert find_data_dir(tmp_path / "mine") == tmp_path / "mine"


def test_environment_wins_over_project_folder(tmp_path, no_data, monkeypatch):
    write_tiny_folder(no_data)
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "env"))
    assert find_data_dir() == tmp_path / "env"


def test_project_folder_wins_over_the_shipped_data(no_data):
    write_tiny_folder(no_data)
    assert find_data_dir() == no_data


def test_without_anything_named_the_shipped_surnames_are_used(no_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    folder = find_data_dir()
    assert folder.parent == tmp_path / "cache" and is_embedded(folder)
    dataset = load_folder(folder)
    assert dataset.n_categories == 18 and sum(dataset.line_counts.values()) == 20_050 and len(dataset) == 17_993
    assert "Nakamura" in dataset.names and dataset.categories[0] == "Arabic"
    # A second call reuses the unpacked folder.
    stamp = (folder / "Czech.txt").stat().st_mtime_ns
    assert find_data_dir() == folder and (folder / "Czech.txt").stat().st_mtime_ns == stamp
    assert not is_embedded(no_data)


def test_the_shipped_files_match_their_recorded_checksums_and_the_reference_copy(no_data, tmp_path, monkeypatch,
                                                                                real_data_dir):
    import hashlib

    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    folder = find_data_dir()
    recorded = dict(reversed(line.split()) for line in
                    (data.EMBEDDED_ARCHIVE.parent / "names.sha256").read_text().splitlines() if line.strip())
    unpacked = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.txt")}
    assert len(recorded) == 18 and unpacked == recorded
    reference = load_folder(real_data_dir)  # RNNVIZ_DATA's folder when set (CI's reference copy)
    shipped = load_folder(folder)
    assert (shipped.categories, shipped.names, shipped.labels) == (reference.categories, reference.names,
                                                                   reference.labels)


def test_an_unwritable_cache_falls_back_to_the_temporary_folder(no_data, tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("RNNVIZ_CACHE", str(blocked / "cache"))
    monkeypatch.setattr(data.tempfile, "tempdir", str(tmp_path / "tmp"))
    folder = find_data_dir()
    assert folder.parent.parent == tmp_path / "tmp" and is_embedded(folder)
    assert load_folder(folder).n_categories == 18


def test_a_named_folder_that_is_missing_is_an_error_not_the_shipped_data(no_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "missing"))
    assert find_data_dir() == tmp_path / "missing"
    with pytest.raises(DataError, match="data folder not found"):
        load_folder(find_data_dir())


def zip_of_names() -> bytes:
    return zip_bytes({"data/names/Czech.txt": "Dvořák\nNovák\n", "data/names/Irish.txt": "O'Neill\nMurphy\n",
                      "data/eng-fra.txt": "Go.\tVa !\n"})


@pytest.fixture
def zip_server():
    body = zip_of_names()
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tutorial/data.zip", requests
    server.shutdown()
    server.server_close()


def test_download_command_gets_the_archive_into_the_data_folder(no_data, zip_server, capsys):
    from rnnviz.cli import main

    url, requests = zip_server
    assert main(["download", "--url", url, "--quiet"]) == 0
    assert requests == ["/tutorial/data.zip"]
    out = capsys.readouterr().out
    assert "4 distinct names in 2 categories" in out and str(no_data) in out
    dataset = load_folder(no_data)
    assert dataset.categories == ["Czech", "Irish"]
    assert sorted(dataset.names) == ["Dvorak", "Murphy", "Novak", "O'Neill"]
    assert not (no_data.parent / "data.zip").exists()
    # Once downloaded, the project folder is what every command reads.
    assert find_data_dir() == no_data


def test_download_command_into_another_folder_and_its_failure_in_one_line(no_data, zip_server, tmp_path, capsys):
    from rnnviz.cli import main

    url, _ = zip_server
    assert main(["download", "--url", url, "--into", str(tmp_path / "elsewhere"), "--quiet"]) == 0
    assert load_folder(tmp_path / "elsewhere" / "names").n_categories == 2
    assert not no_data.exists()
    capsys.readouterr()
    assert main(["download", "--url", "http://127.0.0.1:9/data.zip", "--quiet"]) == 2  # nothing listens on port 9
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m rnnviz download: error: could not reach") and "\n" not in err
    assert err.endswith("meanwhile the surnames shipped with rnnviz stay in use")
    assert not no_data.exists()


# --------------------------------------------------------------------------- the real data (integration)


def test_real_data_has_18_categories_and_20050_lines(real_dataset, real_data_dir):
    assert real_dataset.n_categories == 18
    assert real_dataset.categories == sorted(p.stem for p in real_data_dir.glob("*.txt"))
    assert sum(real_dataset.line_counts.values()) == 20_050
    for category, count in real_dataset.line_counts.items():
        lines = (real_data_dir / f"{category}.txt").read_text(encoding="utf-8").splitlines()
        assert count == sum(1 for line in lines if line.strip())


def test_real_data_distinct_counts_match_an_independent_count(real_dataset, real_data_dir):
    def transliterate(text: str) -> str:
        decomposed = unicodedata.normalize("NFD", text.strip())
        return "".join(c for c in decomposed if unicodedata.category(c) != "Mn" and c in ALPHABET)

    for category, count in real_dataset.distinct_counts.items():
        lines = (real_data_dir / f"{category}.txt").read_text(encoding="utf-8").splitlines()
        assert count == len({transliterate(line) for line in lines if transliterate(line)}), category
    assert len(real_dataset) == sum(real_dataset.distinct_counts.values())
    assert real_dataset.skipped_empty == 0


def test_real_data_split_is_complete_and_leak_free(real_dataset):
    split = split_dataset(real_dataset)
    assert sum(split.sizes().values()) == len(real_dataset)
    train = {name for name, _ in split.train}
    held_out = {name for name, _ in split.val + split.test}
    assert not train & held_out
    for part in ("val", "test"):
        assert {label for _, label in split.part(part)} == set(range(18))
        assert abs(len(split.part(part)) / len(real_dataset) - 0.1) < 0.01


def tutorial_rule(text: str) -> str:
    """The PyTorch tutorial's unicodeToAscii, written out again here as the reference."""
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn" and c in ALPHABET)


def test_the_tutorials_surname_files_encode_every_name_exactly_as_the_tutorial_does(real_data_dir):
    dataset = load_folder(real_data_dir)
    expected = set()
    for file in sorted(real_data_dir.glob("*.txt")):
        label = dataset.categories.index(file.stem)
        expected |= {(tutorial_rule(line.strip()), label) for line in file.read_text("utf-8").splitlines()
                     if tutorial_rule(line.strip())}
    assert set(zip(dataset.names, dataset.labels)) == expected
    assert ("Marszaek", dataset.categories.index("Polish")) in expected  # ł dropped, as the tutorial does


@pytest.mark.parametrize("typed, folded", [("Łódź", "Lodz"), ("Straße", "Strasse"), ("Ørsted", "Orsted"),
                                           ("Æsir", "Aesir"), ("Đorđević", "Dordevic"), ("Iğdır", "Igdir"),
                                           ("Þór", "Thor"), ("Œuvre", "Oeuvre"), ("Müller", "Muller")])
def test_own_data_folds_the_latin_letters_that_decomposition_cannot(tmp_path, typed, folded):
    (tmp_path / "A.txt").write_text(f"{typed}\nAbc\n", encoding="utf-8")
    (tmp_path / "B.txt").write_text("Xyz\n", encoding="utf-8")
    assert folded in load_folder(tmp_path).names
    assert to_ascii(typed) == folded


def test_other_scripts_and_symbols_are_still_dropped_and_reported(tmp_path):
    assert to_ascii("王") == "" and to_ascii("Ab1c☃") == "Abc"
    assert clean_name("Łódź 1").note.endswith("'1'") and "Ł → L" in clean_name("Łódź 1").note
    (tmp_path / "A.txt").write_text("Łódź\nKraków1\n", encoding="utf-8")
    assert unsupported_characters(tmp_path) == {"1": 1}


def test_by_length_puts_short_names_first_and_keeps_the_order_of_equal_lengths():
    from rnnviz.data import by_length

    pairs = [("Sato", 0), ("Li", 1), ("Ng", 2), ("Abe", 3), ("Ito", 4), ("Kowalski", 5)]
    ordered = by_length(pairs)
    assert [len(name) for name, _ in ordered] == sorted(len(name) for name, _ in pairs)
    assert ordered == [("Li", 1), ("Ng", 2), ("Abe", 3), ("Ito", 4), ("Sato", 0), ("Kowalski", 5)]
