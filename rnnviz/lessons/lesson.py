"""Loading and checking lesson files.

A lesson is a TOML file: a title and a list of steps. Each text is a table of languages ({en = "...", zh = "..."})
or one string for every language. A step names its view (rnnviz.lessons.views), the settings it gives that view
(name, letter counted from 1 as on screen, unit or "deciding", gate, value, probe length, gradient distance, and
`run`, the run role of its LSTM), its text with placeholders the view fills ({p_before}), an optional question
(kind "choice" with choices whose keys are the outcomes of the fact named by `answer`, or kind "estimate" with
bounds and a number fact as its answer), and a reveal: one text, or one text per outcome of the fact named by `by`,
so a reveal's message always follows the live numbers.

Every problem is a LessonError of one line: the file, the step (counted from 1) and what is wrong.
"""

from __future__ import annotations

import os
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..probe import MAX_LENGTH, MIN_LENGTH
from .views import DECIDING, GATE_ROLES, ROLES, SETTINGS, VIEWS, View

LANGUAGES = {"en": "English", "zh": "简体中文"}
SHIPPED_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = SHIPPED_DIR.parent.parent
MAX_BYTES = 256 * 1024
MAX_STEPS = 40
MAX_NAME = 64
GATES = ("i", "f", "o")
KINDS = ("choice", "estimate")


class LessonError(ValueError):
    """One line: which lesson file, which step, what is wrong."""


Text = dict[str, str]  # language -> text


@dataclass(frozen=True)
class Choice:
    key: str
    text: Text


@dataclass(frozen=True)
class Question:
    kind: str  # "choice" or "estimate"
    text: Text
    answer: str  # the fact that holds the model's answer
    choices: tuple[Choice, ...] = ()
    low: float = 0.0
    high: float = 100.0


@dataclass(frozen=True)
class Step:
    view: str
    title: Text
    text: Text
    settings: dict[str, Any] = field(default_factory=dict)
    question: Question | None = None
    reveal_by: str = ""  # the outcome fact choosing the reveal's text; "" when it has one
    reveal: dict[str, Text] = field(default_factory=dict)  # outcome (or "") -> text

    @property
    def spec(self) -> View:
        return VIEWS[self.view]


@dataclass(frozen=True)
class Lesson:
    name: str
    title: Text
    languages: tuple[str, ...]
    steps: tuple[Step, ...]
    path: Path
    shipped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title.get("en") or next(iter(self.title.values())),
                "steps": len(self.steps), "path": str(self.path)}


def text_in(text: Text, lang: str) -> str:
    """A text in `lang`, else in English, else in its first language."""
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def placeholders(template: str) -> list[tuple[str, str, str | None]]:
    """(field, format spec, conversion) of every {placeholder} in a text; ValueError for a stray brace."""
    return [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None]


# ---------------------------------------------------------------- reading one file


class _Check:
    """Raises LessonError lines that name the file and, once set, the step."""

    def __init__(self, path: Path):
        self.path = path
        self.step: int | None = None

    def fail(self, problem: str) -> LessonError:
        where = f"{self.path.name}: " + (f"step {self.step}: " if self.step is not None else "")
        return LessonError(where + problem)


def _read_toml(path: Path, check: _Check) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise check.fail("no such file") from None
    except OSError as exc:
        raise check.fail(f"cannot be read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise check.fail("the file is empty")
    if len(raw) > MAX_BYTES:
        raise check.fail(f"the file is larger than {MAX_BYTES // 1024} KB")
    if b"\x00" in raw:
        raise check.fail("not a text file (binary data)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise check.fail("not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise check.fail(f"not valid TOML ({reason}; a truncated file reads like this)") from None


def _text(value: Any, what: str, languages: tuple[str, ...], check: _Check, required: bool = True) -> Text:
    if value is None:
        if required:
            raise check.fail(f"{what} is missing")
        return {}
    if isinstance(value, str):
        if not value.strip():
            raise check.fail(f"{what} is empty")
        return {lang: value for lang in languages}
    if not isinstance(value, dict) or not value:
        raise check.fail(f"{what} must be a text or a table of languages like {{en = \"...\"}}")
    unknown = [lang for lang in value if lang not in LANGUAGES]
    if unknown:
        raise check.fail(f"{what} has an unknown language {unknown[0]!r} (choose from {', '.join(LANGUAGES)})")
    missing = [lang for lang in languages if not isinstance(value.get(lang), str) or not value[lang].strip()]
    if missing:
        raise check.fail(f"{what} has no {LANGUAGES[missing[0]]} text ({missing[0]})")
    return {lang: value[lang] for lang in languages}


def _check_placeholders(text: Text, allowed: set[str], what: str, check: _Check) -> None:
    for lang, template in text.items():
        try:
            fields = placeholders(template)
        except ValueError as exc:
            raise check.fail(f"{what} ({lang}): {exc} (write {{{{ and }}}} for a brace)") from None
        for name, spec, conversion in fields:
            if name not in allowed:
                raise check.fail(f"{what} ({lang}) has a placeholder {{{name}}} this step cannot fill "
                                 f"(it fills {', '.join(sorted(allowed)) or 'none'})")
            if spec or conversion:
                raise check.fail(f"{what} ({lang}): placeholder {{{name}}} takes no format; the facts come "
                                 "formatted")


def _settings(raw: dict[str, Any], view: View, check: _Check) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in SETTINGS:
        if key not in raw:
            continue
        if key not in view.settings:
            raise check.fail(f"the view {view.key!r} takes no {key!r}")
        value = raw[key]
        if key == "name":
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
                raise check.fail(f"name must be a surname of 1 to {MAX_NAME} letters")
        elif key == "letter":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise check.fail("letter must be a whole number from 1 (the first letter)")
        elif key == "unit":
            if value != DECIDING and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise check.fail(f"unit must be a unit number from 0 or {DECIDING!r}")
        elif key == "gate":
            if value not in GATES:
                raise check.fail(f"gate must be one of {', '.join(GATES)}")
        elif key == "value":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise check.fail("value must be a gate value from 0 to 1")
        elif key == "length":
            if isinstance(value, bool) or not isinstance(value, int) or not MIN_LENGTH <= value <= MAX_LENGTH:
                raise check.fail(f"length must be a whole number from {MIN_LENGTH} to {MAX_LENGTH}")
        elif key == "distance":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 15:
                raise check.fail("distance must be a whole number from 1 to 15")
        elif key == "run":
            if value not in ROLES:
                raise check.fail(f"unknown run role {value!r} (choose from {', '.join(ROLES)})")
            if value not in GATE_ROLES:
                raise check.fail(f"run {value!r} has no gates to read here (choose from {', '.join(GATE_ROLES)})")
        out[key] = value
    return out


def _question(raw: Any, view: View, languages: tuple[str, ...], allowed: set[str], check: _Check) -> Question:
    if not isinstance(raw, dict):
        raise check.fail("question must be a table")
    kind = raw.get("kind", "choice")
    if kind not in KINDS:
        raise check.fail(f"question kind must be one of {', '.join(KINDS)} (got {kind!r})")
    text = _text(raw.get("text"), "the question's text", languages, check)
    _check_placeholders(text, allowed, "the question", check)
    answer = raw.get("answer")
    if kind == "choice":
        choices_raw = raw.get("choices")
        if not isinstance(choices_raw, list) or len(choices_raw) < 2:
            raise check.fail("a multiple-choice question needs at least two choices")
        if answer not in view.outcomes:
            raise check.fail(f"the question's answer must be one of the outcomes of view {view.key!r}: "
                             f"{', '.join(view.outcomes) or 'it has none, so ask an estimate'}")
        choices = []
        for number, item in enumerate(choices_raw, 1):
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise check.fail(f"choice {number} needs a key and its text, like {{key = \"drops\", en = \"...\"}}")
            key = item["key"]
            if key not in view.outcomes[answer]:
                raise check.fail(f"choice {key!r} is not an outcome of {answer!r} "
                                 f"({', '.join(view.outcomes[answer])})")
            texts = {k: v for k, v in item.items() if k != "key"}
            choices.append(Choice(key, _text(texts or None, f"choice {key!r}", languages, check)))
        if len({c.key for c in choices}) != len(choices):
            raise check.fail("two choices have the same key")
        return Question(kind, text, answer, tuple(choices))
    if answer not in view.numbers:
        raise check.fail(f"an estimate's answer must be a number of view {view.key!r}: "
                         f"{', '.join(view.numbers) or 'it has none, so ask a choice'}")
    low, high = raw.get("low", 0), raw.get("high", 100)
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (low, high)) or not low < high:
        raise check.fail("an estimate needs numbers low < high")
    return Question(kind, text, answer, (), float(low), float(high))


def _step(raw: Any, languages: tuple[str, ...], check: _Check) -> Step:
    if not isinstance(raw, dict):
        raise check.fail("a step must be a table ([[steps]])")
    view_key = raw.get("view")
    if view_key not in VIEWS:
        raise check.fail(f"unknown view {view_key!r} (choose from {', '.join(VIEWS)})")
    view = VIEWS[view_key]
    known = {"view", "title", "text", "question", "reveal", *SETTINGS}
    extra = sorted(set(raw) - known)
    if extra:
        raise check.fail(f"unknown key {extra[0]!r} (a step has {', '.join(sorted(known))})")
    settings = _settings(raw, view, check)
    allowed = set(view.facts)
    title = _text(raw.get("title"), "the title", languages, check)
    text = _text(raw.get("text"), "the text", languages, check)
    _check_placeholders(text, allowed, "the text", check)
    question = _question(raw["question"], view, languages, allowed, check) if "question" in raw else None
    reveal_raw = raw.get("reveal")
    by, reveal = "", {}
    if reveal_raw is not None:
        if not isinstance(reveal_raw, dict):
            raise check.fail("reveal must be a table: text = ..., or by = \"<outcome>\" and a text per outcome")
        by = reveal_raw.get("by", "")
        if by:
            if by not in view.outcomes:
                raise check.fail(f"reveal by {by!r}: not an outcome of view {view_key!r} "
                                 f"({', '.join(view.outcomes) or 'none'})")
            for outcome in view.outcomes[by]:
                if outcome not in reveal_raw:
                    raise check.fail(f"the reveal has no text for the outcome {outcome!r} of {by!r}: every outcome "
                                     "the numbers can give needs its text")
                reveal[outcome] = _text(reveal_raw[outcome], f"the reveal for {outcome!r}", languages, check)
            extra = sorted(set(reveal_raw) - {"by", *view.outcomes[by]})
            if extra:
                raise check.fail(f"the reveal has {extra[0]!r}, not an outcome of {by!r}")
        else:
            reveal[""] = _text(reveal_raw.get("text"), "the reveal's text", languages, check)
        for outcome, variant in reveal.items():
            _check_placeholders(variant, allowed, f"the reveal{f' for {outcome!r}' if outcome else ''}", check)
    if question is not None and not reveal:
        raise check.fail("a question needs a reveal that explains the model's answer")
    return Step(view_key, title, text, settings, question, by, reveal)


def load_lesson(path: str | os.PathLike, shipped: bool = False) -> Lesson:
    """Read and check one lesson file; LessonError (one line) when anything is wrong."""
    path = Path(path)
    check = _Check(path)
    raw = _read_toml(path, check)
    languages = raw.get("languages", ["en"])
    if (not isinstance(languages, list) or not languages
            or not all(isinstance(lang, str) and lang in LANGUAGES for lang in languages)):
        raise check.fail(f"languages must be a list from {', '.join(LANGUAGES)}")
    languages = tuple(dict.fromkeys(languages))
    title = _text(raw.get("title"), "the title", languages, check)
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise check.fail("no steps: add [[steps]] tables")
    if len(steps_raw) > MAX_STEPS:
        raise check.fail(f"more than {MAX_STEPS} steps")
    extra = sorted(set(raw) - {"title", "languages", "steps"})
    if extra:
        raise check.fail(f"unknown key {extra[0]!r} (a lesson has title, languages, steps)")
    steps = []
    for number, item in enumerate(steps_raw, 1):
        check.step = number
        steps.append(_step(item, languages, check))
    return Lesson(path.stem, title, languages, tuple(steps), path, shipped)


# ---------------------------------------------------------------- finding lessons


def lessons_dir(explicit: str | os.PathLike | None = None) -> Path:
    """A teacher's own lessons: the folder given, else RNNVIZ_LESSONS, else data/lessons/ in the project."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("RNNVIZ_LESSONS")
    return Path(env).expanduser() if env else PROJECT_ROOT / "data" / "lessons"


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.toml") if p.is_file())
    except OSError:
        return []


def list_lessons(folder: str | os.PathLike | None = None) -> tuple[list[Lesson], list[str]]:
    """The shipped lessons, then the teacher's; and one line per file that could not be used."""
    lessons: list[Lesson] = []
    problems: list[str] = []
    for path, shipped in [(p, True) for p in _files(SHIPPED_DIR)] + [(p, False) for p in _files(lessons_dir(folder))]:
        try:
            lesson = load_lesson(path, shipped)
        except LessonError as exc:
            problems.append(str(exc))
            continue
        if any(other.name == lesson.name for other in lessons):
            problems.append(f"{path.name}: a lesson named {lesson.name!r} is already listed: rename the file")
            continue
        lessons.append(lesson)
    return lessons, problems


def find_lesson(spec: str, folder: str | os.PathLike | None = None) -> Lesson:
    """A lesson by name (shipped or the teacher's) or by the path of its file; LessonError when there is none."""
    candidate = Path(spec).expanduser()
    if candidate.suffix == ".toml" or candidate.is_file():
        return load_lesson(candidate)
    for path, shipped in ((SHIPPED_DIR / f"{spec}.toml", True), (lessons_dir(folder) / f"{spec}.toml", False)):
        if path.is_file() and path.parent.resolve() == (SHIPPED_DIR if shipped else lessons_dir(folder)).resolve() \
                and path.stem == spec:
            return load_lesson(path, shipped)
    lessons, _ = list_lessons(folder)
    names = ", ".join(lesson.name for lesson in lessons) or "none"
    raise LessonError(f"no lesson {spec!r} (lessons: {names})")
