"""Getting surname data as zip archives: downloading the PyTorch tutorial's official archive and
safely extracting the `<Category>.txt` files from it or from a zip a user uploads.

Everything here refuses bad input with an ArchiveError (a one-line, user-facing reason) and never
leaves a half-written file or folder behind: downloads go to a temporary file that is renamed into
place, extractions go to a temporary folder that replaces the destination only after success.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from .common import first_line, move_into_place, shorten, staging_dir

OFFICIAL_URL = "https://download.pytorch.org/tutorial/data.zip"

MAX_ARCHIVE_BYTES = 50 * 1024 * 1024  # compressed size accepted from a download/upload
MAX_EXTRACTED_BYTES = 100 * 1024 * 1024  # total uncompressed size of the .txt members we extract
MAX_FILES = 500  # number of category files
MAX_COMPRESSION_RATIO = 200  # real text compresses ~4:1; far beyond this is a zip bomb
CHUNK_BYTES = 64 * 1024  # read/write granularity, and how often progress is reported
MAX_CATEGORY_CHARS = 100  # a category is a language name; file systems refuse names past 255 bytes

DATA_HINT = "meanwhile the surnames shipped with rnnviz stay in use"
PREFERRED_FOLDER = "names"  # the official archive keeps its categories in data/names/

Progress = Callable[[int, int | None], None]

_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(ValueError):
    """A one-line, user-facing reason an archive was refused or a download failed."""


def _fmt_bytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


# --------------------------------------------------------------------------- download


def download(
    url: str,
    dest: Path,
    progress: Progress | None = None,
    timeout: float = 30.0,
    max_bytes: int = MAX_ARCHIVE_BYTES,
) -> Path:
    """Stream url to the file dest (written to a temp file beside it, renamed atomically at the end),
    calling progress(bytes_so_far, total_or_None) as chunks arrive. Refuses (ArchiveError) bodies
    over max_bytes, HTTP errors and network failures; never leaves a partial file at dest."""
    dest = Path(dest)
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    # file:// and friends would let a "download" read arbitrary local files.
    if scheme not in ("http", "https"):
        raise ArchiveError(f"cannot download {url!r}: only http:// and https:// URLs are supported")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(url, out, progress, timeout, max_bytes)
        os.replace(tmp, dest)
        done = True
    finally:
        # Any failure, including one raised by the progress callback, discards the partial body.
        if not done:
            tmp.unlink(missing_ok=True)
    return dest


def _stream(url: str, out, progress: Progress | None, timeout: float, max_bytes: int) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "rnnviz"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = _content_length(response)
            # Refuse before reading a byte when the server admits the body is too big.
            if total is not None and total > max_bytes:
                raise ArchiveError(
                    f"refused {url}: it is {_fmt_bytes(total)}, over the {_fmt_bytes(max_bytes)} limit"
                )
            received = 0
            while chunk := response.read(CHUNK_BYTES):
                received += len(chunk)
                # The header may be absent or lie, so the running count is the real guard.
                if received > max_bytes:
                    raise ArchiveError(
                        f"refused {url}: the download exceeded the {_fmt_bytes(max_bytes)} limit"
                    )
                out.write(chunk)
                if progress is not None:
                    progress(received, total)
            # http.client returns a short body silently when the connection drops early.
            if total is not None and received < total:
                raise ArchiveError(
                    f"download of {url} was cut short ({received} of {total} bytes); "
                    f"try again; {DATA_HINT}"
                )
    except urllib.error.HTTPError as err:
        raise ArchiveError(
            f"download of {url} failed: HTTP {err.code} {first_line(err.reason)}; check the URL; {DATA_HINT}"
        ) from None
    except urllib.error.URLError as err:
        raise ArchiveError(
            f"could not reach {url} ({first_line(err.reason)}); {DATA_HINT}"
        ) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as err:
        reason = first_line(err) or type(err).__name__
        raise ArchiveError(f"could not download {url} ({reason}); {DATA_HINT}") from None


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


# --------------------------------------------------------------------------- extraction


def extract_category_files(
    zip_path: Path,
    dest_dir: Path,
    max_extracted: int = MAX_EXTRACTED_BYTES,
    max_files: int = MAX_FILES,
) -> Path:
    """Validate the zip then extract only its `<Category>.txt` files into dest_dir (flat:
    dest_dir/<Category>.txt). The whole archive is refused (ArchiveError, nothing written) when it
    is not a zip, any member has an unsafe path or is a symlink, the chosen members are too many,
    too big or compressed absurdly well, or there are no .txt files. Returns dest_dir."""
    zip_path, dest_dir = Path(zip_path), Path(dest_dir)
    try:
        size = zip_path.stat().st_size
    except OSError as err:
        raise ArchiveError(f"cannot read {zip_path.name}: {first_line(err.strerror or err)}") from None
    if size > MAX_ARCHIVE_BYTES:
        raise ArchiveError(
            f"{zip_path.name} is {_fmt_bytes(size)}, over the {_fmt_bytes(MAX_ARCHIVE_BYTES)} limit"
        )
    try:
        with zipfile.ZipFile(zip_path) as zf:
            chosen = _choose_members(zf.infolist(), max_extracted, max_files)
            _extract_atomically(zf, chosen, dest_dir, max_extracted)
    except zipfile.BadZipFile as err:
        raise ArchiveError(f"{zip_path.name} is not a valid zip archive ({first_line(err)})") from None
    except (zlib.error, EOFError, NotImplementedError) as err:
        # Corrupt streams and unsupported compression methods surface from the decompressor.
        raise ArchiveError(f"{zip_path.name} could not be decompressed ({first_line(err)})") from None
    return dest_dir


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path, with backslashes treated as separators, or ArchiveError if it is unsafe."""
    raw = info.filename
    name = raw.replace("\\", "/")
    parts = name.split("/")
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
        raise ArchiveError(f"refused archive: member {raw!r} has an unsafe path")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError(f"refused archive: member {raw!r} is a symbolic link")
    return PurePosixPath(*[p for p in parts if p not in ("", ".")])


def _is_category_file(info: zipfile.ZipInfo, path: PurePosixPath) -> bool:
    if info.is_dir() or not path.parts or path.suffix.lower() != ".txt":
        return False
    # macOS resource forks and hidden files are never categories.
    if "__MACOSX" in path.parts or any(p.startswith(".") for p in path.parts):
        return False
    file_type = stat.S_IFMT(info.external_attr >> 16)
    # Many writers (Windows tools, Python's writestr) store no file type; any that is stored must be regular.
    return file_type == 0 or file_type == stat.S_IFREG


def _choose_members(
    infos: list[zipfile.ZipInfo], max_extracted: int, max_files: int
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Check every member, then pick the one folder of .txt files; returns (member, '<Category>.txt')."""
    folders: dict[PurePosixPath, list[tuple[zipfile.ZipInfo, PurePosixPath]]] = {}
    # Every member is checked, not only the .txt ones: an unsafe entry taints the whole archive.
    for info in infos:
        path = _member_path(info)
        if _is_category_file(info, path):
            folders.setdefault(path.parent, []).append((info, path))
    if not folders:
        raise ArchiveError("refused archive: no .txt files found (expected <Category>.txt files)")

    preferred = [f for f in folders if f.name.lower() == PREFERRED_FOLDER]
    candidates = preferred or list(folders)
    if len(candidates) > 1:
        shown = ", ".join(sorted(str(f) if f.parts else "(top level)" for f in candidates))
        raise ArchiveError(
            f"refused archive: .txt files are spread over several folders ({shown}); "
            "put all <Category>.txt files in one folder"
        )
    members = folders[candidates[0]]

    if len(members) > max_files:
        raise ArchiveError(
            f"refused archive: {len(members)} category files, more than the limit of {max_files}"
        )
    declared = sum(info.file_size for info, _ in members)
    if declared > max_extracted:
        raise ArchiveError(
            f"refused archive: the .txt files would take {_fmt_bytes(declared)} uncompressed, "
            f"over the {_fmt_bytes(max_extracted)} limit"
        )

    chosen: list[tuple[zipfile.ZipInfo, str]] = []
    seen: set[str] = set()
    for info, path in members:
        if info.flag_bits & 0x1:
            raise ArchiveError(f"refused archive: {path.name} is encrypted")
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise ArchiveError(
                f"refused archive: {path.name} has an absurd compression ratio "
                f"({info.file_size} bytes from {info.compress_size}); it looks like a zip bomb"
            )
        category = path.name[: -len(path.suffix)]
        if not usable_category(category):
            raise ArchiveError(f"refused archive: {shorten(path.name)!r} is not a usable <Category>.txt name")
        # Case-insensitive file systems would silently merge English.txt and english.txt.
        if path.name.lower() in seen:
            raise ArchiveError(f"refused archive: {path.name} appears more than once")
        seen.add(path.name.lower())
        # The data folder is read as *.txt, so English.TXT is written as English.txt.
        chosen.append((info, f"{category}.txt"))
    return chosen


def usable_category(category: str) -> bool:
    """Whether a file stem can be a category: it becomes a file name and a label on every chart, so no blanks,
    control or invisible format characters, and nothing longer than MAX_CATEGORY_CHARS."""
    return (bool(category.strip()) and len(category) <= MAX_CATEGORY_CHARS
            and not any(unicodedata.category(ch).startswith("C") for ch in category))


def _extract_atomically(
    zf: zipfile.ZipFile,
    chosen: list[tuple[zipfile.ZipInfo, str]],
    dest_dir: Path,
    max_extracted: int,
) -> None:
    tmp = staging_dir(dest_dir.parent, dest_dir.name)
    try:
        written = 0
        for info, filename in chosen:
            with zf.open(info) as src, open(tmp / filename, "wb") as out:
                while chunk := src.read(CHUNK_BYTES):
                    written += len(chunk)
                    # Declared sizes can lie, so the limit also applies to what actually comes out.
                    if written > max_extracted:
                        raise ArchiveError(
                            f"refused archive: the .txt files decompress to more than "
                            f"the {_fmt_bytes(max_extracted)} limit"
                        )
                    out.write(chunk)
        move_into_place(tmp, dest_dir, replace=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- both


def fetch_names(data_root: Path, url: str = OFFICIAL_URL, progress: Progress | None = None) -> Path:
    """Download url into data_root/'data.zip', extract its category files into data_root/'names',
    delete the zip, and return data_root/'names'."""
    data_root = Path(data_root)
    zip_path = data_root / "data.zip"
    names_dir = data_root / "names"
    try:
        download(url, zip_path, progress)
        extract_category_files(zip_path, names_dir)
    finally:
        # The archive is only a vehicle; keeping it (even after a failure) just wastes space.
        zip_path.unlink(missing_ok=True)
    return names_dir
