"""Surname data: the alphabet, transliteration, loading a folder of <Category>.txt files,
a leak-free stratified split, padded batches, and finding the data folder (the copy shipped in the package
when nothing else is named)."""

from __future__ import annotations

import hashlib
import os
import shutil
import string
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from anyascii import anyascii

from .common import PROJECT_ROOT, move_into_place, shorten, staging_dir

ALPHABET = string.ascii_letters + " .,;'"
N_LETTERS = len(ALPHABET)  # 57
CHAR_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "names"
EMBEDDED_ARCHIVE = Path(__file__).resolve().parent / "embedded" / "names.zip"  # see embedded/NOTICE.md
MAX_NAME_LENGTH = 64  # longer typed input is cut here, with a note
MAX_INPUT_CHARS = 1000  # a paste longer than this is cut before transliteration, so no input costs much
MAX_NOTE_CHARS = 12  # distinct dropped characters a note lists before it says how many more


class DataError(ValueError):
    """A one-line, user-facing reason the data could not be used."""


def _fold_char(ch: str) -> str:
    """One character as alphabet letters: its decomposition without combining marks (é → e), or, for a Latin
    letter that decomposition cannot fold (ł, ø, ß, æ, đ, ı, þ, œ), anyascii's transliteration (ł → l, ß → ss).
    Other scripts, digits and symbols give '' (a name in another script is not guessed at)."""
    plain = "".join(c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn")
    if plain and all(c in CHAR_INDEX for c in plain):
        return plain
    if not unicodedata.name(ch, "").startswith("LATIN "):
        return "".join(c for c in plain if c in CHAR_INDEX)
    return "".join(c for c in anyascii(ch) if c in CHAR_INDEX)


def to_ascii(text: str, fold: bool = True) -> str:
    """Transliterate to the alphabet. `fold=False` is the PyTorch tutorial's own rule (NFD, drop combining marks,
    keep alphabet characters; ł and ß are dropped), kept for the tutorial's surname files so they encode exactly
    as the tutorial and the report read them; everything else also folds what decomposition cannot (Łódź → Lodz)."""
    if not fold:
        return "".join(
            ch for ch in unicodedata.normalize("NFD", text)
            if unicodedata.category(ch) != "Mn" and ch in CHAR_INDEX
        )
    return "".join(ch if ch in CHAR_INDEX else _fold_char(ch) for ch in unicodedata.normalize("NFC", text))


def lost_characters(text: str, fold: bool = True) -> list[str]:
    """The characters of `text` that to_ascii drops entirely (digits, symbols, other scripts), in order."""
    return [ch for ch in unicodedata.normalize("NFC", text) if ch not in CHAR_INDEX and not to_ascii(ch, fold)]


@dataclass(frozen=True)
class CleanName:
    """A typed name after transliteration, with what was lost on the way."""

    original: str
    text: str
    dropped: tuple[str, ...]  # characters that transliteration drops entirely (digits, symbols, other scripts)
    truncated: bool
    max_length: int = MAX_NAME_LENGTH
    input_cut: bool = False  # the typed text was longer than MAX_INPUT_CHARS; only its start was read

    @property
    def note(self) -> str:
        """A short sentence for the user about what was changed, or ''."""
        parts = []
        accented = list(dict.fromkeys(ch for ch in self.original if ch not in CHAR_INDEX and to_ascii(ch)))
        if accented:
            shown = ", ".join(f"{ch} → {to_ascii(ch)}" for ch in accented[:MAX_NOTE_CHARS])
            more = f" and {len(accented) - MAX_NOTE_CHARS} more" if len(accented) > MAX_NOTE_CHARS else ""
            parts.append(f"accents transliterated as in training: {shown}{more}")
        if self.dropped:
            distinct = list(dict.fromkeys(self.dropped))
            shown = "".join(distinct[:MAX_NOTE_CHARS])
            more = f" and {len(distinct) - MAX_NOTE_CHARS} more" if len(distinct) > MAX_NOTE_CHARS else ""
            parts.append(f"ignored characters outside the alphabet: {shown!r}{more}")
        if self.input_cut:
            parts.append(f"read only the first {MAX_INPUT_CHARS:,} characters")
        if self.truncated:
            parts.append(f"cut to the first {self.max_length} letters")
        return "; ".join(parts)


def clean_name(text: str, max_length: int = MAX_NAME_LENGTH) -> CleanName:
    """Transliterate user input; raise DataError if nothing usable is left.

    Input of any length and content is accepted: at most MAX_INPUT_CHARS characters are read, and
    characters that cannot be encoded (lone surrogates from badly decoded bytes) become '?' and are dropped.
    """
    if not isinstance(text, str):
        raise DataError("a name must be text")
    # Lone surrogates (from undecodable command-line bytes) would break printing and the browser's UTF-8.
    input_cut = len(text) > MAX_INPUT_CHARS
    text = text[:MAX_INPUT_CHARS].encode("utf-8", "replace").decode("utf-8")
    stripped = text.strip()
    if not stripped:
        raise DataError("the name is empty: type a surname such as 'Nakamura'")
    dropped = tuple(lost_characters(stripped))
    ascii_text = to_ascii(stripped)
    if not any(ch.isalpha() for ch in ascii_text):
        raise DataError(
            f"{shorten(stripped, 30)!r} has no letters a-z once transliterated: type a surname in Latin letters"
        )
    truncated = len(ascii_text) > max_length
    return CleanName(stripped, ascii_text[:max_length], dropped, truncated, max_length, input_cut)


@dataclass
class NameDataset:
    """Distinct (name, category) pairs of a folder, with the counts a user wants to see."""

    source: Path
    categories: list[str]
    names: list[str]
    labels: list[int]
    line_counts: dict[str, int]
    distinct_counts: dict[str, int]
    skipped_empty: int = 0

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    def __len__(self) -> int:
        return len(self.names)


def load_folder(path: str | os.PathLike) -> NameDataset:
    """Load every <Category>.txt in a folder; categories sorted, duplicates removed."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise DataError(f"data folder not found: {folder}")
    if not folder.is_dir():
        raise DataError(f"not a folder: {folder}")
    files = sorted(p for p in folder.glob("*.txt") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(f"no <Category>.txt files in {folder}")
    categories: list[str] = []
    pairs: dict[tuple[str, int], None] = {}  # insertion-ordered set
    line_counts: dict[str, int] = {}
    distinct_counts: dict[str, int] = {}
    skipped = 0
    for file in files:
        try:
            data = file.read_bytes()
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{file.name} is not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise DataError(f"cannot read {file.name}: {exc.strerror}") from None
        fold = not is_tutorial_file(file, data)  # the tutorial's own files encode exactly as the tutorial's rule
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            continue
        label = len(categories)
        category = file.stem
        seen: set[str] = set()
        for line in lines:
            name = to_ascii(line, fold)
            if not name:
                skipped += 1
                continue
            seen.add(name)
            pairs[(name, label)] = None
        if not seen:
            continue
        categories.append(category)
        line_counts[category] = len(lines)
        distinct_counts[category] = len(seen)
    if len(categories) < 2:
        raise DataError(f"need at least 2 categories with names in {folder}, found {len(categories)}")
    names = [name for name, _ in pairs]
    labels = [label for _, label in pairs]
    return NameDataset(folder, categories, names, labels, line_counts, distinct_counts, skipped)


@dataclass
class Split:
    """Train/validation/test lists of (name, label); a name sits in exactly one part."""

    categories: list[str]
    train: list[tuple[str, int]] = field(default_factory=list)
    val: list[tuple[str, int]] = field(default_factory=list)
    test: list[tuple[str, int]] = field(default_factory=list)

    def part(self, which: str) -> list[tuple[str, int]]:
        if which not in ("train", "val", "test"):
            raise DataError(f"unknown split {which!r}: choose train, val or test")
        return getattr(self, which)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split_dataset(
    dataset: NameDataset, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
) -> Split:
    """Seeded split stratified by category, grouped by name so no evaluation name is trained on.

    A name listed under two categories stays whole in one part; it is stratified by its first
    category. Each category gets round(n * fraction) names in val and test (at least one each when
    it has three or more), so small categories are still evaluated.
    """
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise DataError("val and test fractions must be in [0, 1) and sum to less than 1")
    groups: dict[str, list[int]] = {}
    for name, label in zip(dataset.names, dataset.labels):
        groups.setdefault(name, []).append(label)
    by_category: dict[int, list[str]] = {}
    for name, labels in groups.items():
        by_category.setdefault(min(labels), []).append(name)
    rng = np.random.default_rng(seed)
    split = Split(list(dataset.categories))
    for label in sorted(by_category):
        members = sorted(by_category[label])
        order = rng.permutation(len(members))
        n = len(members)
        n_val = _part_size(n, val_fraction)
        n_test = _part_size(n, test_fraction)
        if n_val + n_test >= n:
            n_val, n_test = min(n_val, max(n - 1, 0)), 0
        for rank, index in enumerate(order):
            name = members[index]
            target = split.val if rank < n_val else split.test if rank < n_val + n_test else split.train
            target.extend((name, lab) for lab in groups[name])
    return split


def _part_size(n: int, fraction: float) -> int:
    if fraction <= 0:
        return 0
    return max(1, round(n * fraction)) if n >= 3 else 0


def encode(names: list[str]):
    """Padded index tensor [B, T] and lengths [B] for names already in the alphabet."""
    import torch

    if not names:
        raise DataError("no names to encode")
    lengths = [len(name) for name in names]
    if min(lengths) == 0:
        raise DataError("cannot encode an empty name")
    # One tensor for all the letters, written into the rows' leading places in reading order (a boolean mask fills
    # row by row): a tensor per name cost a run's set-up 0.17 s for the surnames' four parts.
    letters = torch.tensor([CHAR_INDEX[ch] for name in names for ch in name], dtype=torch.long)
    lengths_t = torch.tensor(lengths, dtype=torch.long)
    chars = torch.zeros(len(names), max(lengths), dtype=torch.long)
    chars[torch.arange(max(lengths)) < lengths_t[:, None]] = letters
    return chars, lengths_t


POOL_BATCHES = 50  # batches' worth of shuffled names sorted by length together when training


def by_length(pairs: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (name, label) pairs shortest name first, names of equal length in their given order: batches cut from
    this order pad little. The one length sort every reader of many names uses."""
    return sorted(pairs, key=lambda pair: len(pair[0]))


class EncodedSplit:
    """One part of a split held as tensors, cut into shuffled padded batches."""

    def __init__(self, pairs: list[tuple[str, int]]):
        import torch

        if not pairs:
            raise DataError("this part of the split is empty")
        self.names = [name for name, _ in pairs]
        self.chars, self.lengths = encode(self.names)
        self.labels = torch.tensor([label for _, label in pairs], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.names)

    def batches(self, batch_size: int, generator=None, shuffle: bool = True, pool_batches: int = POOL_BATCHES):
        """Yield (chars [B, T], lengths [B], labels [B]), each batch trimmed to its longest name.

        Shuffled batches are length-bucketed: the names are shuffled, taken `pool_batches` batches' worth at a
        time, sorted by length within that pool and cut into batches, and the batches of all pools are shuffled.
        Names in a batch are then of similar length, so little work is spent on padding, yet every epoch
        still sees every name exactly once in a new, seeded order. pool_batches=0 gives plain random batches.
        Unshuffled batches keep the names' order.
        """
        import torch

        n = len(self.names)
        if not shuffle:
            order = torch.arange(n)
        elif pool_batches > 0:
            order = _bucketed_order(self.lengths, batch_size, pool_batches, generator)
        else:
            order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            lengths = self.lengths[index]
            yield self.chars[index, : int(lengths.max())], lengths, self.labels[index]


def _bucketed_order(lengths, batch_size: int, pool_batches: int, generator=None):
    """A seeded order of range(len(lengths)) whose consecutive batch_size blocks hold names of similar length.

    Only the last block can be short, as with plain random batches, so an epoch has the same number of steps.
    """
    import torch

    n = len(lengths)
    order = torch.randperm(n, generator=generator)
    pool = batch_size * pool_batches
    # A stable sort keeps the shuffled order among names of equal length.
    pools = [chunk[torch.sort(lengths[chunk], stable=True).indices] for chunk in order.split(pool)]
    blocks = torch.cat(pools).split(batch_size)
    return torch.cat([blocks[k] for k in torch.randperm(len(blocks), generator=generator).tolist()])


def find_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The folder to read: an explicit path, else RNNVIZ_DATA, else data/names if it exists, else the surnames
    shipped in the package. A folder that is named but missing is returned as it is, so its reader says so."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("RNNVIZ_DATA")
    if env:
        return Path(env).expanduser()
    if DEFAULT_DATA_DIR.is_dir() and any(DEFAULT_DATA_DIR.glob("*.txt")):
        return DEFAULT_DATA_DIR
    return embedded_data_dir()


def cache_dir() -> Path:
    """Where rnnviz unpacks what it ships: RNNVIZ_CACHE, else $XDG_CACHE_HOME/rnnviz, else ~/.cache/rnnviz."""
    if os.environ.get("RNNVIZ_CACHE"):
        return Path(os.environ["RNNVIZ_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "rnnviz"


def embedded_data_dir() -> Path:
    """The surname files shipped in the package, unpacked once into a folder of the cache named after the
    archive's checksum (so a newer copy never mixes with an older one). An unwritable cache falls back to the
    system's temporary folder."""
    name = _embedded_name()
    for base in _embedded_bases():
        target = base / name
        if target.is_dir():
            return target
        try:
            staged = staging_dir(base, name)
        except OSError:
            continue
        try:
            with zipfile.ZipFile(EMBEDDED_ARCHIVE) as archive:
                for member in archive.namelist():  # the shipped archive holds plain <Category>.txt names only
                    (staged / Path(member).name).write_bytes(archive.read(member))
            move_into_place(staged, target)
        except FileExistsError:  # another process unpacked it a moment ago
            pass
        except OSError:
            continue
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        if target.is_dir():
            return target
    raise DataError(f"cannot unpack the shipped surname data: no writable folder at {cache_dir()} "
                    "(set RNNVIZ_CACHE to one)")


def _embedded_name() -> str:
    return f"names-{hashlib.sha256(EMBEDDED_ARCHIVE.read_bytes()).hexdigest()[:12]}"


def _embedded_bases() -> list[Path]:
    user = os.getuid() if hasattr(os, "getuid") else 0
    return [cache_dir(), Path(tempfile.gettempdir()) / f"rnnviz-{user}"]


EMBEDDED_CHECKSUMS = EMBEDDED_ARCHIVE.with_name("names.sha256")  # one "<sha256>  <Category>.txt" line a file


def tutorial_checksums() -> dict[str, str]:
    """The tutorial's 18 surname files by name, with their SHA-256 (the shipped copy's checksum list)."""
    pairs = (line.split(maxsplit=1) for line in EMBEDDED_CHECKSUMS.read_text("utf-8").splitlines() if line.strip())
    return {name.strip(): digest for digest, name in pairs}


def is_tutorial_file(file: Path, data: bytes) -> bool:
    """Whether a file is byte for byte one of the tutorial's surname files (so it is read by the tutorial's rule)."""
    return tutorial_checksums().get(file.name) == hashlib.sha256(data).hexdigest()


def is_embedded(folder: str | os.PathLike) -> bool:
    """Whether a folder is the unpacked copy of the surnames shipped in the package."""
    folder = Path(folder).expanduser()
    return folder.name.startswith("names-") and any(folder.parent == base for base in _embedded_bases())


def allowed_data_roots() -> list[Path]:
    """Folders inside which a folder typed in the app may be read: RNNVIZ_DATA_ROOTS (several joined by
    os.pathsep) when set, else the project's data/ folder and the folder RNNVIZ_DATA names."""
    env = os.environ.get("RNNVIZ_DATA_ROOTS", "")
    roots = [Path(part).expanduser() for part in env.split(os.pathsep) if part.strip()]
    if not roots:
        roots = [DEFAULT_DATA_DIR.parent]
        if os.environ.get("RNNVIZ_DATA"):
            roots.append(Path(os.environ["RNNVIZ_DATA"]).expanduser())
    return [root.resolve() for root in roots]


def check_allowed_folder(path: str | os.PathLike, roots: list[Path] | None = None) -> Path:
    """The folder, resolved, when the server may read it: inside one of `roots` (default allowed_data_roots(),
    links followed), and none of its .txt files a link to a file outside them. DataError otherwise.

    A server opened to a classroom must not read whatever folder, or file, a student types.
    """
    if isinstance(path, str):
        path = path.strip()
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise DataError("type the path of a folder of <Category>.txt files")
    folder = Path(path).expanduser().resolve()
    allowed = allowed_data_roots() if roots is None else [Path(root).expanduser().resolve() for root in roots]
    if not any(folder.is_relative_to(root) for root in allowed):
        shown = ", ".join(str(root) for root in allowed)
        raise DataError(f"{shorten(str(path), 80)} is outside the folders this server reads ({shown}): copy the "
                        "files into one of them, or start the app with RNNVIZ_DATA_ROOTS naming the folder")
    try:
        files = list(folder.glob("*.txt"))
    except OSError:
        files = []
    for file in files:
        if not any(file.resolve().is_relative_to(root) for root in allowed):
            raise DataError(f"{file.name} in {folder} links to a file outside the folders this server reads")
    return folder
