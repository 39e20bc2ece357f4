"""Nothing a user types leads out of the runs or data folders, archives are checked before anything is extracted,
and the server listens on this machine only unless the teacher opens it on purpose."""

from __future__ import annotations

import fcntl
import socket
import struct
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rnnviz import data
from rnnviz.archive import MAX_CATEGORY_CHARS, ArchiveError, extract_category_files
from rnnviz.config import TrainConfig
from rnnviz.data import DataError, allowed_data_roots, check_allowed_folder
from rnnviz.jobs import JobManager
from rnnviz.runs import TEACHER, RunError, delete_run, list_runs, load_snapshot, run_path
from tests.conftest import write_tiny_folder
from tests.helpers import make_zip
from tests.test_multi_browser import streamlit_server
from ui import nav, resources

ROOT = Path(__file__).resolve().parent.parent
QUICK = {"model": "lstm", "hidden_size": 8, "batch_size": 8, "epochs": 1}
ESCAPES = ["../victim", "..", ".", "/tmp", "a/../../victim", "..\\victim", "~", "victim/..", "%2e%2e", "a\x00b",
           " ../victim", "victim\n", "." * 3, "a" * 129]


# --------------------------------------------------------------------------- run ids


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=140), st.sampled_from(ESCAPES),
                 st.lists(st.sampled_from(["..", ".", "a", "/", "\\", "~"]), max_size=6).map("".join)))
def test_a_run_id_names_a_folder_directly_inside_the_runs_folder_or_is_refused(tmp_path_factory, run_id):
    root = tmp_path_factory.getbasetemp() / "runs-root"
    try:
        path = run_path(root, run_id)
    except RunError as exc:
        assert str(exc).startswith("not a valid run id") and "\n" not in str(exc)
        return
    assert path.parent == root.resolve() and path.name == run_id
    assert run_id.isascii() and run_id.isprintable() and not run_id.startswith(".") and len(run_id) <= 128


@pytest.mark.parametrize("run_id", ESCAPES)
def test_the_job_manager_refuses_run_ids_that_would_leave_the_runs_folder(tmp_path, tiny_dataset, run_id):
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "precious.txt").write_text("keep me")
    manager = JobManager(tmp_path / "runs")
    with pytest.raises(RunError, match="not a valid run id"):
        manager.start(TrainConfig(**QUICK), tiny_dataset, run_id=run_id, owner=TEACHER)
    assert manager.jobs() == []
    with pytest.raises(RunError):
        manager.delete(run_id, by=TEACHER)
    with pytest.raises(RunError):
        delete_run(tmp_path / "runs", run_id)
    assert (tmp_path / "victim" / "precious.txt").read_text() == "keep me"
    assert {p.name for p in tmp_path.iterdir()} <= {"names", "runs", "victim"}
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_snapshot_number_cannot_name_another_file(tmp_path):
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    for epoch in ("../../model", "1/../../x", -1):
        with pytest.raises((RunError, ValueError)):
            load_snapshot(run, epoch)


# --------------------------------------------------------------------------- the data folder typed in the app


def test_a_typed_data_folder_must_lie_inside_the_allowed_roots(tmp_path, monkeypatch):
    allowed = write_tiny_folder(tmp_path / "class-data" / "names")
    secret = write_tiny_folder(tmp_path / "home" / "teacher")
    (allowed.parent / "escape").symlink_to(secret)
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path / "class-data"))
    assert allowed_data_roots() == [(tmp_path / "class-data").resolve()]
    assert check_allowed_folder(allowed) == allowed.resolve()
    for outside in (secret, allowed / ".." / ".." / "home" / "teacher", allowed.parent / "escape", "/etc", "~"):
        with pytest.raises(DataError, match="outside the folders this server reads") as refused:
            check_allowed_folder(outside)
        assert "\n" not in str(refused.value) and "RNNVIZ_DATA_ROOTS" in str(refused.value)


def test_by_default_the_project_data_folder_and_rnnviz_data_are_allowed(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNVIZ_DATA_ROOTS", raising=False)
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "names"))
    project_data = data.DEFAULT_DATA_DIR.parent  # the project's data/ (a private folder in tests, see conftest)
    roots = allowed_data_roots()
    assert project_data.resolve() in roots and (tmp_path / "names").resolve() in roots
    assert check_allowed_folder(project_data / "names") == (project_data / "names").resolve()
    with pytest.raises(DataError):
        check_allowed_folder(tmp_path)


def test_the_data_page_does_not_read_a_folder_outside_the_allowed_roots(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(write_tiny_folder(tmp_path / "class" / "names")))
    secret = tmp_path / "home" / "teacher"
    secret.mkdir(parents=True)
    (secret / "Passwords.txt").write_text("Hunter\nSwordfish\n")
    (secret / "Grades.txt").write_text("Smith\nJones\n")
    resources._data_choice.clear()
    try:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
        at.switch_page(nav.DATA).run()
        at.text_input(key="data.folder").input(str(secret))
        next(b for b in at.button if "Use this folder" in b.label).click().run()
        assert not at.exception
        assert resources.data_folder() != secret.resolve()
        assert any("outside the folders this server reads" in e.value for e in at.error)
    finally:
        resources._data_choice.clear()


def test_a_file_in_an_allowed_folder_that_links_outside_is_not_read(tmp_path, monkeypatch):
    allowed = write_tiny_folder(tmp_path / "class" / "names")
    secret = tmp_path / "home" / "notes.txt"
    secret.parent.mkdir()
    secret.write_text("Hunter\nSwordfish\n")
    (allowed / "Leak.txt").symlink_to(secret)
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path / "class"))
    with pytest.raises(DataError, match="Leak.txt .* links to a file outside"):  # the library's check itself
        check_allowed_folder(allowed)
    for empty in ("", "   "):
        with pytest.raises(DataError, match="type the path"):
            check_allowed_folder(empty)
    resources._data_choice.clear()
    try:
        with pytest.raises(DataError, match="Leak.txt .* links to a file outside the folders this server reads"):
            resources.choose_data_folder(str(allowed))
        assert resources.data_folder() != allowed.resolve()
        with pytest.raises(DataError, match="links to a file outside"):
            resources.add_folder_dataset("leak", str(allowed))
    finally:
        resources._data_choice.clear()
    assert not (tmp_path / "datasets").exists() or list((tmp_path / "datasets").iterdir()) == []


def test_a_named_dataset_is_copied_only_from_inside_the_allowed_roots(tmp_path, monkeypatch):
    allowed = write_tiny_folder(tmp_path / "class" / "tiny")
    secret = write_tiny_folder(tmp_path / "home" / "teacher")
    (allowed.parent / "escape").symlink_to(secret)
    monkeypatch.setenv("RNNVIZ_DATA_ROOTS", str(tmp_path / "class"))
    for outside in (secret, allowed / ".." / ".." / "home" / "teacher", allowed.parent / "escape", "/etc", "~"):
        with pytest.raises(DataError, match="outside the folders this server reads"):
            resources.add_folder_dataset("stolen", str(outside))
    assert not (tmp_path / "datasets").exists() or list((tmp_path / "datasets").iterdir()) == []
    assert resources.add_folder_dataset("tiny", str(allowed)).dataset.n_categories == 3


# --------------------------------------------------------------------------- archives


@pytest.mark.parametrize(("member", "reason"), [
    ("names/" + "L" * 300 + ".txt", "not a usable <Category>.txt name"),
    ("names/" + "L" * (MAX_CATEGORY_CHARS + 1) + ".txt", "not a usable <Category>.txt name"),
    ("names/Eng\nlish.txt", "not a usable <Category>.txt name"),
    ("names/Bell\x07.txt", "not a usable <Category>.txt name"),
    ("names/ .txt", "not a usable <Category>.txt name"),
    ("names/../../../../etc/cron.d/evil.txt", "unsafe path"),
    ("\\\\server\\share\\names\\English.txt", "unsafe path"),
    ("D:names/English.txt", "unsafe path"),
], ids=["too-long-for-the-disk", "too-long-for-a-label", "newline", "control", "blank", "deep-dotdot", "unc", "drive"])
def test_archives_with_unusable_or_escaping_member_names_are_refused_whole(tmp_path, member, reason):
    archive = make_zip(tmp_path / "upload.zip", [("names/French.txt", "Dubois\n"), (member, "Smith\n")])
    with pytest.raises(ArchiveError, match=reason) as refused:
        extract_category_files(archive, tmp_path / "out")
    assert "\n" not in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.zip"]


def test_an_upper_case_txt_member_is_extracted_as_a_txt_the_data_folder_reads(tmp_path):
    archive = make_zip(tmp_path / "upload.zip", [("names/French.txt", "Dubois\n"), ("names/English.TXT", "Smith\n")])
    out = extract_category_files(archive, tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["English.txt", "French.txt"]


# --------------------------------------------------------------------------- where the server listens


def test_the_project_config_serves_on_localhost_only():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def test_the_readme_explains_how_to_open_the_app_to_a_classroom_on_purpose():
    readme = (ROOT / "README.md").read_text()
    assert "--server.address 0.0.0.0" in readme and "127.0.0.1" in readme


def other_local_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces other than loopback."""
    found = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                found.append(address)
    finally:
        probe.close()
    return found


def listeners(port: int) -> set[str]:
    """Local addresses listening on `port`, from /proc/net/tcp and tcp6 (state 0A is LISTEN)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                addresses.add(address)
    return addresses


@pytest.mark.slow
def test_a_started_server_listens_on_127_0_0_1_and_not_on_the_network(tmp_path):
    data = write_tiny_folder(tmp_path / "names")
    with streamlit_server(tmp_path / "runs", data, tmp_path / "server.log") as (url, port, _):
        assert listeners(port) == {"0100007F"}, "bound to 127.0.0.1 only (little-endian hex in /proc/net/tcp)"
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        for address in other_local_addresses():
            with pytest.raises(OSError), socket.create_connection((address, port), timeout=5):
                pass
    assert list_runs(tmp_path / "runs") == []
