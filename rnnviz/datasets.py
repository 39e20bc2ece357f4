"""Named datasets of the user's own: folders of <Category>.txt files kept under one datasets folder.

Any short-string classification task fits (first names by gender, city names by country, ...). A dataset
lives in `<datasets root>/<name>/`, the root being RNNVIZ_DATASETS or the project's data/datasets/. Names are
checked so that no name can point outside the root. Adding a dataset validates it fully (safe zip extraction,
UTF-8, at least two categories) in a hidden staging folder and only then moves it into place; a run records
the folder it was trained on, so pages reload a run's own categories and split from there.

Nothing is lost on failure: an upload or copy that is refused leaves no trace, a replacement swaps the old
folder aside and restores it if the new one cannot be moved in, and a deletion first renames the folder to a
hidden name so a listing never shows half a dataset.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .archive import (
    CHUNK_BYTES,
    MAX_ARCHIVE_BYTES,
    MAX_EXTRACTED_BYTES,
    MAX_FILES,
    ArchiveError,
    extract_category_files,
    usable_category,
)
from .common import PROJECT_ROOT, first_line, move_into_place
from .data import DataError, NameDataset, load_folder, lost_characters

DEFAULT_ROOT = PROJECT_ROOT / "data" / "datasets"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_REPORTED_CHARS = 20  # distinct unsupported characters a notice lists
MAX_REPORTED_FILES = 8  # file or category names a notice lists before it says how many more
MIN_EVALUATED = 3  # a category with fewer distinct names gets none in validation or test (data.split_dataset)
STALE_SECONDS = 3600  # hidden leftovers of an interrupted add or delete older than this are cleared
_HIDDEN_PREFIXES = (".incoming-", ".old-", ".deleting-")
_LOCK = threading.Lock()  # one swap at a time in this process; the file system refuses the rest


class DatasetError(DataError):
    """A one-line, user-facing reason a dataset could not be added, found or deleted."""


@dataclass
class DatasetInfo:
    """A stored dataset as a listing shows it; `error` says why it cannot be used."""

    name: str
    path: Path
    categories: list[str] = field(default_factory=list)
    n_names: int = 0
    error: str = ""

    @property
    def status(self) -> str:
        return f"unusable: {self.error}" if self.error else "ready"


def _listing(items: list[str], limit: int = MAX_REPORTED_FILES) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


@dataclass
class AddedDataset:
    """A dataset just added, with what the user should know about its contents."""

    name: str
    path: Path
    dataset: NameDataset
    unsupported: dict[str, int]  # characters outside the alphabet (after transliteration) -> occurrences
    left_out: list[str] = field(default_factory=list)  # .txt files without one usable name: not categories
    replaced: bool = False  # an older dataset of this name was replaced

    @property
    def small(self) -> list[str]:
        """Categories with too few distinct names to get any in the validation and test parts."""
        return [c for c in self.dataset.categories if self.dataset.distinct_counts.get(c, 0) < MIN_EVALUATED]

    @property
    def notice(self) -> str:
        """One sentence on what was dropped or left out, or ''."""
        parts = []
        if self.unsupported:
            ranked = sorted(self.unsupported.items(), key=lambda item: (-item[1], item[0]))
            shown = ", ".join(f"{ch!r} ({count})" for ch, count in ranked[:MAX_REPORTED_CHARS])
            more = f" and {len(ranked) - MAX_REPORTED_CHARS} more" if len(ranked) > MAX_REPORTED_CHARS else ""
            parts.append(f"characters outside the alphabet were dropped: {shown}{more}")
        if self.dataset.skipped_empty:
            parts.append(f"{self.dataset.skipped_empty} line(s) had no usable letters and were skipped")
        if self.left_out:
            parts.append(f"files without usable names were left out: {_listing(self.left_out)}")
        if self.small:
            parts.append(f"categories with fewer than {MIN_EVALUATED} names are never evaluated: "
                         f"{_listing(self.small)}")
        return "; ".join(parts)


def datasets_root(explicit: str | os.PathLike | None = None) -> Path:
    """Where named datasets live: an explicit folder, else RNNVIZ_DATASETS, else data/datasets."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("RNNVIZ_DATASETS")
    return Path(env).expanduser() if env else DEFAULT_ROOT


def check_name(name: str) -> str:
    """The name, stripped, when it is a safe folder name; DatasetError naming the rule otherwise."""
    if not isinstance(name, str):
        raise DatasetError("a dataset name must be text")
    cleaned = name.strip()
    if not NAME_PATTERN.match(cleaned) or cleaned in (".", ".."):
        shown = cleaned if len(cleaned) <= 40 else cleaned[:39] + "…"
        if not shown:
            raise DatasetError(f"a blank name is not a usable dataset name: type one of {NAME_RULE}")
        raise DatasetError(f"{shown!r} is not a usable dataset name: use {NAME_RULE}")
    return cleaned


def suggest_name(filename: str, strip_suffix: bool = True) -> str:
    """A usable dataset name made from an uploaded file's or a folder's name ('My cities (2).zip' ->
    'My-cities-2'), or '' when nothing usable is left."""
    stem = Path(str(filename).replace("\\", "/").rstrip("/")).name
    if strip_suffix and Path(stem).suffix:
        stem = stem[: -len(Path(stem).suffix)]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", ascii_stem).strip("-._")[:64].rstrip("-._")
    return cleaned if NAME_PATTERN.match(cleaned) else ""


def dataset_path(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of dataset `name` (which may not exist yet); never outside the root."""
    base = datasets_root(root).resolve()
    path = (base / check_name(name)).resolve()
    if path.parent != base:
        raise DatasetError(f"{name!r} is not a usable dataset name: use {NAME_RULE}")
    return path


def name_of(folder: str | os.PathLike | None, root: str | os.PathLike | None = None) -> str | None:
    """The name of the named dataset stored at `folder`, or None when it is some other folder (or none)."""
    if folder is None or str(folder) == "":
        return None
    try:
        path = Path(folder).expanduser().resolve()
        base = datasets_root(root).expanduser().resolve()
    except (OSError, RuntimeError):
        return None
    return path.name if path.parent == base and NAME_PATTERN.match(path.name) else None


def category_noun(folder: str | os.PathLike | None, root: str | os.PathLike | None = None) -> str:
    """What a category of the names read from `folder` is called in a sentence: 'language' for the surname data,
    'category' for a named dataset (its categories may be countries, regions or anything else)."""
    return "category" if name_of(folder, root) else "language"


def exists(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether a dataset of this name is stored (usable or not)."""
    return dataset_path(name, root).is_dir()


def list_datasets(root: str | os.PathLike | None = None,
                  load: Callable[[Path], NameDataset] = load_folder) -> list[DatasetInfo]:
    """Every stored dataset, sorted by name; unusable ones carry their error instead of raising.

    `load` reads one folder (the app passes its cached reader, so a listing does not re-read every file)."""
    base = datasets_root(root)
    try:
        entries = sorted(base.iterdir()) if base.is_dir() else []
    except OSError:
        return []
    infos = []
    for path in entries:
        if not NAME_PATTERN.match(path.name) or path.is_symlink() or not path.is_dir():
            continue
        info = DatasetInfo(path.name, path)
        try:
            dataset = load(path)
        except DataError as exc:
            info.error = str(exc).replace(str(path), f"dataset {path.name}")
        except OSError as exc:
            info.error = f"cannot read it: {exc.strerror or exc}"
        else:
            info.categories, info.n_names = list(dataset.categories), len(dataset)
        infos.append(info)
    return infos


def unsupported_characters(folder: str | os.PathLike) -> dict[str, int]:
    """Characters of a folder's .txt files that transliteration drops entirely (not even folded to a letter,
    as ł → l is), with counts."""
    counts: Counter[str] = Counter()
    for file in sorted(Path(folder).glob("*.txt")):
        try:
            text = file.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows Notepad) is not content
        except (OSError, UnicodeDecodeError):
            continue  # load_folder reports unreadable files with their reason
        for line in text.splitlines():
            counts.update(lost_characters(line.strip()))
    return dict(counts)


def _clear_stale(base: Path) -> None:
    """Remove hidden leftovers of adds or deletes that a crash interrupted long ago."""
    cutoff = time.time() - STALE_SECONDS
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for path in entries:
        try:
            if path.name.startswith(_HIDDEN_PREFIXES) and path.lstat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _staging(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    _clear_stale(base)
    return Path(tempfile.mkdtemp(dir=base, prefix=".incoming-"))


def _install(staged: Path, name: str, root: str | os.PathLike | None, replace: bool,
             label: str) -> AddedDataset:
    """Validate a staged folder and move it to the dataset's place; the caller removes the staging folder.

    An existing dataset of that name is kept unless `replace`; if it is replaced it is first moved aside and
    put back should the new folder fail to move in."""
    target = dataset_path(name, root)
    try:
        dataset = load_folder(staged)
    except DataError as exc:
        raise DatasetError(str(exc).replace(str(staged), label)) from None
    unsupported = unsupported_characters(staged)
    left_out = sorted(p.name for p in staged.glob("*.txt") if p.stem not in dataset.categories)
    with _LOCK:
        try:
            replaced = move_into_place(staged, target, replace=replace)  # a replaced dataset comes back on failure
        except FileExistsError:
            raise DatasetError(f"a dataset named {target.name!r} already exists: pick another name or replace it"
                               ) from None
        except OSError as exc:
            raise DatasetError(f"could not store the dataset: {first_line(exc)}") from None
    dataset.source = target
    return AddedDataset(target.name, target, dataset, unsupported, left_out, replaced=replaced)


def add_from_zip(name: str, zip_path: str | os.PathLike, root: str | os.PathLike | None = None,
                 replace: bool = False) -> AddedDataset:
    """Store the <Category>.txt files of a zip as dataset `name`; DatasetError (one line) when unusable."""
    dataset_path(name, root)
    staging = _staging(datasets_root(root))
    try:
        try:
            extract_category_files(Path(zip_path), staging / "data")
        except ArchiveError as exc:
            raise DatasetError(str(exc)) from None
        return _install(staging / "data", name, root, replace, "the upload")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _upload_filename(filename: str) -> str:
    """The uploaded file's own name, made safe to write (messages name it); 'upload.zip' when unusable."""
    base = Path(str(filename).replace("\\", "/")).name
    safe = "".join(ch for ch in base if ch.isprintable() and ch not in "/\\")[:100].strip()
    return safe if safe and not safe.startswith(".") else "upload.zip"


def add_from_bytes(name: str, data: bytes, root: str | os.PathLike | None = None,
                   replace: bool = False, filename: str = "upload.zip") -> AddedDataset:
    """As add_from_zip, for an uploaded zip held in memory; `filename` is the upload's name, used in messages."""
    dataset_path(name, root)
    shown = _upload_filename(filename)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise DatasetError(f"{shown} is {len(data) / 2**20:.1f} MB, over the {MAX_ARCHIVE_BYTES / 2**20:.0f} MB "
                           "limit for an upload")
    if not data:
        raise DatasetError(f"{shown} is empty")
    staging = _staging(datasets_root(root))
    try:
        archive = staging / shown
        archive.write_bytes(data)
        try:
            extract_category_files(archive, staging / "data")
        except ArchiveError as exc:
            raise DatasetError(str(exc)) from None
        return _install(staging / "data", name, root, replace, "the upload")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy_limited(source: Path, dest: Path, budget: int) -> int:
    """Copy a file without following a link at its place, stopping past `budget` bytes; returns bytes copied."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    written = 0
    with os.fdopen(os.open(source, flags), "rb") as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK_BYTES):
            written += len(chunk)
            if written > budget:
                raise DatasetError(f"the .txt files grew past the {MAX_EXTRACTED_BYTES / 2**20:.0f} MB limit "
                                   "while being copied")
            out.write(chunk)
    return written


def add_from_folder(name: str, folder: str | os.PathLike, root: str | os.PathLike | None = None,
                    replace: bool = False, max_bytes: int = MAX_EXTRACTED_BYTES,
                    max_files: int = MAX_FILES) -> AddedDataset:
    """Copy a folder's <Category>.txt files in as dataset `name`, under the same limits as an upload.

    The caller decides which folders may be read (the app allows only rnnviz.data.check_allowed_folder's);
    links to files elsewhere are refused here, so an allowed folder cannot smuggle in another file."""
    dataset_path(name, root)
    source = Path(folder).expanduser()
    if not source.is_dir():
        raise DatasetError(f"not a folder: {source}")
    try:
        files = sorted(p for p in source.glob("*.txt") if not p.name.startswith(".")
                       and (p.is_symlink() or p.is_file()))
    except OSError as exc:
        raise DatasetError(f"cannot read {source}: {exc.strerror or exc}") from None
    if not files:
        raise DatasetError(f"no <Category>.txt files in {source}")
    if len(files) > max_files:
        raise DatasetError(f"{len(files)} category files, more than the limit of {max_files}")
    for file in files:
        if file.is_symlink():
            raise DatasetError(f"refused folder: {file.name} is a link to another file; copy the real file in")
        if not usable_category(file.stem):
            raise DatasetError(f"refused folder: {file.name[:60]!r} is not a usable <Category>.txt name")
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise DatasetError(f"the .txt files take {total / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit")
    staging = _staging(datasets_root(root))
    try:
        (staging / "data").mkdir()
        budget = max_bytes
        for file in files:
            try:
                budget -= _copy_limited(file, staging / "data" / file.name, budget)
            except OSError as exc:
                raise DatasetError(f"cannot read {file.name}: {exc.strerror or exc}") from None
        return _install(staging / "data", name, root, replace, str(source))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def delete_dataset(name: str, root: str | os.PathLike | None = None) -> None:
    """Remove a stored dataset; runs trained on it keep their models but can no longer be evaluated.

    The folder is first renamed to a hidden name, so a listing at the same moment never sees half of it."""
    path = dataset_path(name, root)
    with _LOCK:
        if not path.is_dir():
            raise DatasetError(f"no dataset named {path.name!r}")
        doomed = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".deleting-{path.name}-"))
        doomed.rmdir()
        os.rename(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
