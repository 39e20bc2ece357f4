"""Tests for rnnviz.archive: downloading from a local HTTP server and refusing unsafe zips."""

from __future__ import annotations

import socket
import stat
import struct
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rnnviz import archive
from rnnviz.archive import ArchiveError, download, extract_category_files, fetch_names
from tests.helpers import make_zip

ENGLISH = "Smith\nJones\nTaylor\n"
FRENCH = "Dubois\nLefèvre\nRoux\n"


# --------------------------------------------------------------------------- helpers


def official_like_zip(path: Path) -> Path:
    """The layout of download.pytorch.org/tutorial/data.zip, with folder entries as `zip -r` writes."""
    return make_zip(path, [
        ("data/", b""),
        ("data/eng-fra.txt", "Go.\tVa !\n"),
        ("data/names/", b""),
        ("data/names/English.txt", ENGLISH),
        ("data/names/French.txt", FRENCH),
    ])


def leftovers(parent: Path) -> list[str]:
    """Hidden temporary files/folders left beside a destination."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@dataclass
class Server:
    base: str
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: the connection closes after each response, so bodies without a length still end.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path)  # type: ignore[attr-defined]
        status, headers, body = route if route else (404, {"Content-Length": "0"}, b"")
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client hung up early on purpose (size limit tests)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a refused download closes the socket mid-response; that is expected


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    state = Server(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.routes = state.routes  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def serve_file(server: Server, path: str, body: bytes) -> str:
    server.routes[path] = (200, {"Content-Length": str(len(body)), "Content-Type": "application/zip"}, body)
    return server.url(path)


# --------------------------------------------------------------------------- download / fetch


def test_fetch_names_extracts_only_the_category_files_reports_progress_and_deletes_the_zip(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = official_like_zip(tmp_path / "served.zip").read_bytes()
    url = serve_file(server, "/data.zip", body)
    monkeypatch.setattr(archive, "CHUNK_BYTES", 128)  # several chunks even for a small zip
    calls: list[tuple[int, int | None]] = []
    root = tmp_path / "data"

    result = fetch_names(root, url, progress=lambda done, total: calls.append((done, total)))

    assert result == root / "names"
    assert sorted(p.name for p in result.iterdir()) == ["English.txt", "French.txt"]
    assert (result / "English.txt").read_text() == ENGLISH
    assert (result / "French.txt").read_text(encoding="utf-8") == FRENCH
    assert not (root / "data.zip").exists()
    assert leftovers(root) == []
    counts = [done for done, _ in calls]
    assert len(calls) > 1
    assert counts == sorted(set(counts)), "byte counts must strictly increase"
    assert counts[-1] == len(body)
    assert {total for _, total in calls} == {len(body)}


def test_download_writes_the_body_to_dest(server: Server, tmp_path: Path) -> None:
    url = serve_file(server, "/x.zip", b"hello zip")
    dest = tmp_path / "sub" / "x.zip"
    assert download(url, dest) == dest
    assert dest.read_bytes() == b"hello zip"
    assert leftovers(dest.parent) == []


def test_fetch_names_deletes_the_zip_even_when_extraction_fails(server: Server, tmp_path: Path) -> None:
    url = serve_file(server, "/bad.zip", b"this is not a zip")
    with pytest.raises(ArchiveError, match="not a valid zip"):
        fetch_names(tmp_path, url)
    assert list(tmp_path.iterdir()) == []


def test_download_http_404_is_an_archive_error(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "x.zip"
    with pytest.raises(ArchiveError, match="HTTP 404"):
        download(server.url("/missing.zip"), dest)
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_a_content_length_over_max_bytes_and_leaves_no_file(
    server: Server, tmp_path: Path
) -> None:
    server.routes["/huge.zip"] = (200, {"Content-Length": str(10**9)}, b"x" * 100)
    calls: list[tuple[int, int | None]] = []
    with pytest.raises(ArchiveError, match="limit"):
        download(server.url("/huge.zip"), tmp_path / "x.zip", calls.append, max_bytes=1000)  # type: ignore[arg-type]
    assert calls == [], "nothing should be read once the header says it is too big"
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_a_body_without_length_that_grows_past_max_bytes(
    server: Server, tmp_path: Path
) -> None:
    server.routes["/stream.zip"] = (200, {}, b"x" * 5000)
    with pytest.raises(ArchiveError, match="exceeded"):
        download(server.url("/stream.zip"), tmp_path / "x.zip", max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_a_body_cut_short_of_its_content_length(server: Server, tmp_path: Path) -> None:
    server.routes["/short.zip"] = (200, {"Content-Length": "1000"}, b"x" * 10)
    with pytest.raises(ArchiveError, match="cut short"):
        download(server.url("/short.zip"), tmp_path / "x.zip")
    assert list(tmp_path.iterdir()) == []


def test_download_keeps_an_existing_dest_when_it_fails(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "x.zip"
    dest.write_bytes(b"old")
    with pytest.raises(ArchiveError):
        download(server.url("/missing.zip"), dest)
    assert dest.read_bytes() == b"old"


def test_download_from_a_closed_port_says_how_to_use_a_local_folder(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ArchiveError, match="surnames shipped with rnnviz stay in use") as info:
        download(f"http://127.0.0.1:{port}/data.zip", tmp_path / "x.zip", timeout=2)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_download_from_a_server_that_never_answers_times_out_with_the_hint(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # the kernel accepts the connection; nobody ever replies
        port = sock.getsockname()[1]
        with pytest.raises(ArchiveError, match="surnames shipped with rnnviz stay in use"):
            download(f"http://127.0.0.1:{port}/data.zip", tmp_path / "x.zip", timeout=0.2)
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_non_http_urls(tmp_path: Path) -> None:
    secret = tmp_path / "secret.zip"
    secret.write_bytes(b"local")
    with pytest.raises(ArchiveError, match="http"):
        download(secret.as_uri(), tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


# --------------------------------------------------------------------------- extraction: accepted layouts


def test_root_level_txt_files_are_extracted(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [("English.txt", ENGLISH), ("French.txt", FRENCH), ("README.md", "hi")])
    dest = extract_category_files(zp, tmp_path / "out")
    assert sorted(p.name for p in dest.iterdir()) == ["English.txt", "French.txt"]
    assert (dest / "English.txt").read_text() == ENGLISH


def test_a_single_folder_of_txt_files_is_extracted_flat(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [("my data/", b""), ("my data/English.txt", ENGLISH),
                                       ("my data/French.txt", FRENCH)])
    dest = extract_category_files(zp, tmp_path / "out")
    assert sorted(p.name for p in dest.iterdir()) == ["English.txt", "French.txt"]
    assert (dest / "French.txt").read_text(encoding="utf-8") == FRENCH


def test_a_names_folder_is_preferred_over_other_txt_files(tmp_path: Path) -> None:
    zp = official_like_zip(tmp_path / "u.zip")
    dest = extract_category_files(zp, tmp_path / "out")
    assert sorted(p.name for p in dest.iterdir()) == ["English.txt", "French.txt"]


def test_macosx_junk_and_dot_files_are_ignored(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [
        ("English.txt", ENGLISH),
        ("French.txt", FRENCH),
        (".hidden.txt", "x"),
        ("__MACOSX/", b""),
        ("__MACOSX/Junk.txt", "resource fork"),  # would make two folders of .txt if not ignored
        ("__MACOSX/._English.txt", "resource fork"),
    ])
    dest = extract_category_files(zp, tmp_path / "out")
    assert sorted(p.name for p in dest.iterdir()) == ["English.txt", "French.txt"]


def test_txt_files_spread_over_several_folders_are_refused(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [("a/English.txt", ENGLISH), ("b/French.txt", FRENCH)])
    with pytest.raises(ArchiveError, match="several folders"):
        extract_category_files(zp, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_existing_dest_dir_is_replaced_after_a_successful_extraction(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "Old.txt").write_text("old\n")
    zp = make_zip(tmp_path / "u.zip", [("names/English.txt", ENGLISH)])
    extract_category_files(zp, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["English.txt"]
    assert leftovers(tmp_path) == []


def test_a_failed_extraction_leaves_an_existing_dest_dir_intact(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "Old.txt").write_text("old\n")
    zp = make_zip(tmp_path / "u.zip", [("names/English.txt", ENGLISH), ("../evil.txt", "x")])
    with pytest.raises(ArchiveError):
        extract_category_files(zp, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["Old.txt"]
    assert (dest / "Old.txt").read_text() == "old\n"
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- extraction: refused archives


def symlink_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, str]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix, so the mode bits are meaningful
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


@pytest.mark.parametrize(
    ("bad_entry", "reason"),
    [
        (("../evil.txt", "x"), "unsafe path"),
        (("/abs.txt", "x"), "unsafe path"),
        (("a/../../x.txt", "x"), "unsafe path"),
        (("..\\..\\evil.txt", "x"), "unsafe path"),
        (("C:/Windows/evil.txt", "x"), "unsafe path"),
        (("../evil.sh", "x"), "unsafe path"),  # not a .txt: still taints the whole archive
        (symlink_entry("names/Link.txt", "/etc/passwd"), "symbolic link"),
        (symlink_entry("somewhere/link", "/etc"), "symbolic link"),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "backslash", "drive-letter", "non-txt", "symlink-txt",
         "symlink-other"],
)
def test_unsafe_members_refuse_the_whole_archive(tmp_path: Path, bad_entry, reason: str) -> None:
    zp = make_zip(tmp_path / "u.zip", [("names/English.txt", ENGLISH), bad_entry])
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError, match=reason):
        extract_category_files(zp, dest)
    assert not dest.exists()
    assert leftovers(tmp_path) == []


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [("names/English.txt", ENGLISH), ("names/Bomb.txt", b"a" * 2_000_000)])
    with pytest.raises(ArchiveError, match="compression ratio"):
        extract_category_files(zp, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_more_than_max_files_are_refused(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [(f"names/L{i}.txt", ENGLISH) for i in range(4)])
    with pytest.raises(ArchiveError, match="more than the limit of 3"):
        extract_category_files(zp, tmp_path / "out", max_files=3)
    assert not (tmp_path / "out").exists()
    assert extract_category_files(zp, tmp_path / "ok", max_files=4) == tmp_path / "ok"


def test_declared_uncompressed_size_over_the_limit_is_refused(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [("names/English.txt", ENGLISH * 5), ("names/French.txt", FRENCH * 5)])
    with pytest.raises(ArchiveError, match="uncompressed"):
        extract_category_files(zp, tmp_path / "out", max_extracted=100)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def _patch_first_member(data: bytes, *, file_size: int | None = None, flag_bits: int | None = None) -> bytes:
    """Rewrite the declared size or flags of a one-member zip in both its local and central headers."""
    buf = bytearray(data)
    local, central = buf.find(b"PK\x03\x04"), buf.find(b"PK\x01\x02")
    if file_size is not None:
        struct.pack_into("<I", buf, local + 22, file_size)
        struct.pack_into("<I", buf, central + 24, file_size)
    if flag_bits is not None:
        struct.pack_into("<H", buf, local + 6, flag_bits)
        struct.pack_into("<H", buf, central + 8, flag_bits)
    return bytes(buf)


def test_a_member_whose_declared_size_lies_is_refused_and_the_old_dest_dir_survives(tmp_path: Path) -> None:
    zp = tmp_path / "u.zip"
    with zipfile.ZipFile(zp, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("names/English.txt", b"x" * 1000)
    zp.write_bytes(_patch_first_member(zp.read_bytes(), file_size=10))
    with zipfile.ZipFile(zp) as zf:
        assert zf.infolist()[0].file_size == 10  # passes the declared-size check below
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "Old.txt").write_text("old\n")
    # This failure happens mid-extraction, after every up-front check has passed.
    with pytest.raises(ArchiveError):
        extract_category_files(zp, dest, max_extracted=100)
    assert sorted(p.name for p in dest.iterdir()) == ["Old.txt"]
    assert leftovers(tmp_path) == []


def test_actual_decompressed_bytes_are_limited_even_if_declared_sizes_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zp = make_zip(tmp_path / "u.zip", [("names/English.txt", ENGLISH), ("names/French.txt", FRENCH)])
    real_choose = archive._choose_members
    # Simulate lying headers: the declared check sees a generous limit, the extractor the real one.
    monkeypatch.setattr(archive, "_choose_members", lambda infos, _limit, n: real_choose(infos, 10**6, n))
    with pytest.raises(ArchiveError, match="decompress to more than"):
        extract_category_files(zp, tmp_path / "out", max_extracted=len(ENGLISH) + 1)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_an_encrypted_member_is_refused(tmp_path: Path) -> None:
    zp = tmp_path / "u.zip"
    with zipfile.ZipFile(zp, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("names/English.txt", ENGLISH)
    zp.write_bytes(_patch_first_member(zp.read_bytes(), flag_bits=0x1))
    with pytest.raises(ArchiveError, match="encrypted"):
        extract_category_files(zp, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    zp = tmp_path / "u.zip"
    zp.write_text("English.txt\nSmith\n")
    with pytest.raises(ArchiveError, match="not a valid zip"):
        extract_category_files(zp, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot read"):
        extract_category_files(tmp_path / "nope.zip", tmp_path / "out")


def test_an_archive_without_txt_files_is_refused(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [("names/", b""), ("names/English.csv", ENGLISH), ("README.md", "hi")])
    with pytest.raises(ArchiveError, match=r"no \.txt files"):
        extract_category_files(zp, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_duplicate_category_names_are_refused(tmp_path: Path) -> None:
    zp = make_zip(tmp_path / "u.zip", [("English.txt", ENGLISH), ("english.txt", ENGLISH)])
    with pytest.raises(ArchiveError, match="more than once"):
        extract_category_files(zp, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_upload_over_max_archive_bytes_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zp = make_zip(tmp_path / "u.zip", [("English.txt", ENGLISH)])
    monkeypatch.setattr(archive, "MAX_ARCHIVE_BYTES", zp.stat().st_size - 1)
    with pytest.raises(ArchiveError, match="limit"):
        extract_category_files(zp, tmp_path / "out")
    assert not (tmp_path / "out").exists()
