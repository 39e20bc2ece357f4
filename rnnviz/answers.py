"""The class's answers to lesson questions, and the step the teacher is on: the only reader and writer of them.

<runs>/.lessons/<lesson>.answers.json   {"format": 1, "steps": {"3": {"<browser key>": value, ...}}}
<runs>/.lessons/<lesson>.teacher.json   {"format": 1, "step": 3}
<runs>/.lessons/.secret                 the key that turns a browser's id into its browser key
<runs>/.lessons/.lock                   held (flock) while a file is read, changed and written back

Kept in the runs folder, so answers survive a restart and every app server on that folder sees the same class.
A browser is stored only as a keyed hash (HMAC) of the id the app gives it, never the id itself, so the files
hold nothing that lets anyone act as a student. Each browser has one answer per step (a second is refused), a step
takes at most `cap` answers, and a browser reads back only its own answer and the class's aggregate. Only the
teacher (rnnviz.runs.TEACHER) may clear a lesson's answers or set the step the class follows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import write_atomic
from .runs import TEACHER

try:
    import fcntl
except ImportError:  # Windows: one server process, whose writes are atomic
    fcntl = None

FOLDER = ".lessons"
FORMAT = 1
CAP_PER_STEP = 500  # answers one step takes, the whole class together
LESSON_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_STEP = 1000


class AnswerError(ValueError):
    """One line: why an answer was not taken."""


@dataclass
class Tally:
    """What a step's answers add up to: how many, each choice's count, the estimates (in the order given)."""

    count: int = 0
    choices: dict[str, int] = field(default_factory=dict)
    estimates: list[float] = field(default_factory=list)


class AnswerBook:
    """Answers of one runs folder. Every method takes the lock, so sessions and servers may call it at once."""

    def __init__(self, root: str | os.PathLike, cap: int = CAP_PER_STEP):
        self.root = Path(root)
        self.folder = self.root / FOLDER
        self.cap = int(cap)

    # ------------------------------------------------------------ files

    @contextmanager
    def _locked(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield
            return
        fd = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _path(self, lesson: str, kind: str) -> Path:
        if not isinstance(lesson, str) or not LESSON_NAME.fullmatch(lesson):
            raise AnswerError(f"not a lesson name: {str(lesson)[:40]!r}")
        return self.folder / f"{lesson}.{kind}.json"

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return values if isinstance(values, dict) and values.get("format") == FORMAT else {}

    def _secret(self) -> bytes:
        """The key of the browser hashes, made once per runs folder (under the lock)."""
        path = self.folder / ".secret"
        try:
            value = path.read_text(encoding="ascii").strip()
            if len(value) >= 32:
                return value.encode()
        except (OSError, UnicodeDecodeError):
            pass
        value = secrets.token_hex(32)
        write_atomic(path, value)
        os.chmod(path, 0o600)
        return value.encode()

    def _key(self, browser: str) -> str:
        if not isinstance(browser, str) or not browser:
            raise AnswerError("no browser id to keep the answer under")
        return hmac.new(self._secret(), browser.encode(), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _step(step: int) -> str:
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < MAX_STEP:
            raise AnswerError(f"not a step: {step!r}")
        return str(step)

    # ------------------------------------------------------------ answers

    def submit(self, lesson: str, step: int, browser: str, value: str | float) -> None:
        """Keep a browser's answer; AnswerError when it already answered this step or the step is full."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise AnswerError("an answer is a choice or a number")
        if isinstance(value, str) and not 0 < len(value) <= 64:
            raise AnswerError("an answer's choice is 1 to 64 characters")
        if isinstance(value, float) and value != value:
            raise AnswerError("an estimate must be a number")
        path, key = self._path(lesson, "answers"), self._step(step)
        with self._locked():
            browser_key = self._key(browser)
            book = self._read(path) or {"format": FORMAT, "steps": {}}
            answers = book.setdefault("steps", {}).setdefault(key, {})
            if browser_key in answers:
                raise AnswerError("you have already answered this step")
            if len(answers) >= self.cap:
                raise AnswerError(f"this step has taken its {self.cap} answers")
            answers[browser_key] = value
            write_atomic(path, json.dumps(book))

    def mine(self, lesson: str, step: int, browser: str) -> str | float | None:
        """This browser's answer to a step, or None."""
        path, key = self._path(lesson, "answers"), self._step(step)
        with self._locked():
            return self._read(path).get("steps", {}).get(key, {}).get(self._key(browser))

    def tally(self, lesson: str, step: int) -> Tally:
        """The class's answers to a step, added up: no browser's answer can be told from it."""
        path, key = self._path(lesson, "answers"), self._step(step)
        with self._locked():
            values = list(self._read(path).get("steps", {}).get(key, {}).values())
        chosen = Counter(v for v in values if isinstance(v, str))
        estimates = sorted(float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
        return Tally(len(values), dict(chosen), estimates)

    def clear(self, lesson: str, by: str) -> None:
        """Forget every answer to a lesson; only the teacher may (PermissionError)."""
        if by != TEACHER:
            raise PermissionError("only the teacher can clear a lesson's answers")
        path = self._path(lesson, "answers")
        with self._locked():
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------ the teacher's step

    def lead(self, lesson: str, step: int, by: str) -> None:
        """Record the step the teacher is on, for students who follow; only the teacher may (PermissionError)."""
        if by != TEACHER:
            raise PermissionError("only the teacher leads a lesson")
        path = self._path(lesson, "teacher")
        value = {"format": FORMAT, "step": int(self._step(step))}
        with self._locked():
            if self._read(path) != value:
                write_atomic(path, json.dumps(value))

    def teacher_step(self, lesson: str) -> int | None:
        """The step the teacher is on, or None when the teacher has not opened the lesson."""
        step = self._read(self._path(lesson, "teacher")).get("step")
        return step if isinstance(step, int) and not isinstance(step, bool) else None
