"""Small helpers every layer shares: one line of an error for a user, and files and folders replaced atomically.

A reader of a run, a dataset or the downloaded surnames sees the old content or the new, never half of either:
files are written beside their place and renamed over it, folders are assembled under a hidden name and moved
in with `move_into_place`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout: data/, runs/, docs/ and the app live here
MAX_LINE = 300  # characters of an error message shown to a user


def shorten(text: str, limit: int = 60) -> str:
    """The text cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first_line(error: BaseException | str, limit: int = MAX_LINE, show_type: bool = False) -> str:
    """The first line of an error's message, shortened to `limit` characters.

    OSErrors say what failed in words ("No space left on device: /runs/x"); `show_type` puts the exception's
    type in front, for errors that are not meant for users (a bug, not bad input), so the log can be found.
    """
    if isinstance(error, str):
        text = error
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    else:
        text = str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = lines[0] if lines else (type(error).__name__ if not isinstance(error, str) else "")
    if show_type and not isinstance(error, str) and not first.startswith(type(error).__name__):
        first = f"{type(error).__name__}: {first}"
    return first if len(first) <= limit else first[: limit - 1] + "…"


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def staging_dir(parent: Path, prefix: str) -> Path:
    """A new hidden folder in `parent` (created if needed) to assemble something that then moves into place."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=f".{prefix}-"))


def move_into_place(staged: Path, target: Path, replace: bool = False) -> bool:
    """Move the folder `staged` to `target` (same file system); True when an old `target` was replaced.

    Without `replace`, an existing target raises FileExistsError and nothing moves. With it, the old folder is
    set aside first and put back if the new one cannot move in, then removed. POSIX rename cannot replace a
    non-empty folder, hence the swap through a sibling name.
    """
    if not os.path.lexists(target):
        try:
            os.rename(staged, target)
            return False
        except OSError:
            if not os.path.lexists(target):
                raise
            # Someone else put a folder there a moment ago: fall through to the exists case.
    if not replace:
        raise FileExistsError(f"{target.name} already exists")
    backup = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".old-{target.name}-"))
    backup.rmdir()
    os.rename(target, backup)
    try:
        os.rename(staged, target)
    except BaseException:
        os.rename(backup, target)
        raise
    remove_dir(backup)
    return True


def remove_dir(path: Path) -> None:
    """Delete a folder so that no reader sees it half-deleted: renamed to a hidden name first, then removed.

    A link is unlinked, never followed. FileNotFoundError when it is already gone."""
    if path.is_symlink():
        path.unlink()
        return
    trash = path.with_name(f".deleting-{path.name}-{os.urandom(3).hex()}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
