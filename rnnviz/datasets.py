"""Named datasets of the user's own: folders of <Category>.txt files kept under one datasets folder.

Any short-string classification task fits (first names by gender, city names by country, ...). A dataset
lives in `<datasets root>/<name>/`, the root being RNNVIZ_DATASETS or the project's data/datasets/. Names are
checked so that no name can point outside the root. Adding a dataset validates it fully (safe zip extraction,
UTF-8, at least two categories) in a hidden staging folder and only then moves it into place; a run records
the folder it was trained on, so pages reload a run's own categories and split from there.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .archive import MAX_EXTRACTED_BYTES, MAX_FILES, ArchiveError, extract_category_files
from .data import CHAR_INDEX, PROJECT_ROOT, DataError, NameDataset, load_folder

DEFAULT_ROOT = PROJECT_ROOT / "data" / "datasets"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_REPORTED_CHARS = 20  # distinct unsupported characters a notice lists


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


@dataclass
class AddedDataset:
    """A dataset just added, with what the user should know about its contents."""

    name: str
    path: Path
    dataset: NameDataset
    unsupported: dict[str, int]  # characters outside the alphabet (after transliteration) -> occurrences

    @property
    def notice(self) -> str:
        """One sentence on the characters that were dropped, or ''."""
        if not self.unsupported:
            return ""
        ranked = sorted(self.unsupported.items(), key=lambda item: (-item[1], item[0]))
        shown = ", ".join(f"{ch!r} ({count})" for ch, count in ranked[:MAX_REPORTED_CHARS])
        more = f" and {len(ranked) - MAX_REPORTED_CHARS} more" if len(ranked) > MAX_REPORTED_CHARS else ""
        skipped = (f"; {self.dataset.skipped_empty} line(s) had no usable letters and were skipped"
                   if self.dataset.skipped_empty else "")
        return f"characters outside the alphabet were dropped: {shown}{more}{skipped}"


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
        raise DatasetError(f"{shown!r} is not a usable dataset name: use {NAME_RULE}")
    return cleaned


def dataset_path(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of dataset `name` (which may not exist yet); never outside the root."""
    base = datasets_root(root).resolve()
    path = (base / check_name(name)).resolve()
    if path.parent != base:
        raise DatasetError(f"{name!r} is not a usable dataset name: use {NAME_RULE}")
    return path


def list_datasets(root: str | os.PathLike | None = None) -> list[DatasetInfo]:
    """Every stored dataset, sorted by name; unusable ones carry their error instead of raising."""
    base = datasets_root(root)
    try:
        entries = sorted(base.iterdir()) if base.is_dir() else []
    except OSError:
        return []
    infos = []
    for path in entries:
        if not path.is_dir() or path.is_symlink() or not NAME_PATTERN.match(path.name):
            continue
        info = DatasetInfo(path.name, path)
        try:
            dataset = load_folder(path)
        except DataError as exc:
            info.error = str(exc)
        else:
            info.categories, info.n_names = list(dataset.categories), len(dataset)
        infos.append(info)
    return infos


def unsupported_characters(folder: str | os.PathLike) -> dict[str, int]:
    """Characters of a folder's .txt files that transliteration drops (outside the alphabet), with counts."""
    counts: Counter[str] = Counter()
    for file in sorted(Path(folder).glob("*.txt")):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # load_folder reports unreadable files with their reason
        for line in text.splitlines():
            for ch in unicodedata.normalize("NFD", line.strip()):
                if unicodedata.category(ch) != "Mn" and ch not in CHAR_INDEX:
                    counts[ch] += 1
    return dict(counts)


def _staging(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=base, prefix=".incoming-"))


def _install(staged: Path, name: str, root: str | os.PathLike | None, replace: bool) -> AddedDataset:
    """Validate a staged folder and move it to the dataset's place; the staging folder is always removed."""
    target = dataset_path(name, root)
    try:
        try:
            dataset = load_folder(staged)
        except DataError as exc:
            raise DatasetError(str(exc).replace(str(staged), "the upload")) from None
        unsupported = unsupported_characters(staged)
        if target.exists():
            if not replace:
                raise DatasetError(f"a dataset named {target.name!r} already exists: pick another name or delete it")
            shutil.rmtree(target)
        os.rename(staged, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    dataset.source = target
    return AddedDataset(target.name, target, dataset, unsupported)


def add_from_zip(name: str, zip_path: str | os.PathLike, root: str | os.PathLike | None = None,
                 replace: bool = False) -> AddedDataset:
    """Store the <Category>.txt files of a zip as dataset `name`; DatasetError (one line) when unusable."""
    dataset_path(name, root)
    staging = _staging(datasets_root(root))
    try:
        extract_category_files(Path(zip_path), staging / "data")
    except ArchiveError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise DatasetError(str(exc)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        return _install(staging / "data", name, root, replace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def add_from_bytes(name: str, data: bytes, root: str | os.PathLike | None = None,
                   replace: bool = False) -> AddedDataset:
    """As add_from_zip, for an uploaded zip held in memory."""
    with tempfile.NamedTemporaryFile(suffix=".zip") as handle:
        handle.write(data)
        handle.flush()
        return add_from_zip(name, handle.name, root, replace)


def add_from_folder(name: str, folder: str | os.PathLike, root: str | os.PathLike | None = None,
                    replace: bool = False, max_bytes: int = MAX_EXTRACTED_BYTES,
                    max_files: int = MAX_FILES) -> AddedDataset:
    """Copy a folder's <Category>.txt files in as dataset `name`, under the same limits as an upload."""
    dataset_path(name, root)
    source = Path(folder).expanduser()
    if not source.is_dir():
        raise DatasetError(f"not a folder: {source}")
    files = sorted(p for p in source.glob("*.txt") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DatasetError(f"no <Category>.txt files in {source}")
    if len(files) > max_files:
        raise DatasetError(f"{len(files)} category files, more than the limit of {max_files}")
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise DatasetError(f"the .txt files take {total / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit")
    staging = _staging(datasets_root(root))
    try:
        (staging / "data").mkdir()
        for file in files:
            shutil.copyfile(file, staging / "data" / file.name)
        return _install(staging / "data", name, root, replace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def delete_dataset(name: str, root: str | os.PathLike | None = None) -> None:
    """Remove a stored dataset; runs trained on it keep their models but can no longer be evaluated."""
    path = dataset_path(name, root)
    if not path.is_dir():
        raise DatasetError(f"no dataset named {path.name!r}")
    shutil.rmtree(path)
