"""Lesson files: the shipped ones pass `lesson check`; every kind of bad file is one line naming the file and the
step, exit code 2, and the other lessons still list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnviz import cli
from rnnviz.lessons import LessonError, list_lessons, load_lesson
from rnnviz.lessons.lesson import SHIPPED_DIR, placeholders, text_in
from rnnviz.lessons.views import VIEWS
from rnnviz.registry import MODEL_LABELS

LABELS = set(MODEL_LABELS.values())

SHIPPED = sorted(SHIPPED_DIR.glob("*.toml"))
GOOD = '''
languages = ["en", "zh"]
title = { en = "A lesson", zh = "一课" }

[[steps]]
view = "what_if"
name = "Kowalski"
gate = "f"
value = 0.0
title = { en = "Clamp", zh = "钳住" }
text = { en = "P({category}) is {p_before}.", zh = "P({category}) 为 {p_before}。" }
[steps.question]
kind = "choice"
answer = "effect"
text = { en = "What happens?", zh = "会怎样？" }
choices = [{ key = "drops", en = "drops", zh = "下降" }, { key = "rises", en = "rises", zh = "上升" }]
[steps.reveal]
by = "effect"
drops = { en = "Down to {p_after}.", zh = "降到 {p_after}。" }
same = { en = "Still {p_after}.", zh = "仍为 {p_after}。" }
rises = { en = "Up to {p_after}.", zh = "升到 {p_after}。" }
'''


def check(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["lesson", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_shipped_lessons_are_the_two_the_class_needs():
    names = {path.stem for path in SHIPPED}
    assert {"why_lstm", "one_step"} <= names
    assert 8 <= len(load_lesson(SHIPPED_DIR / "why_lstm.toml").steps) <= 12


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_lesson_passes_lesson_check(capsys, path):
    lesson = load_lesson(path)
    code, out, err = check(capsys, "check", lesson.name)
    assert (code, out, err) == (0, f"ok: {len(lesson.steps)} steps\n", "")
    assert check(capsys, "check", str(path))[:2] == (0, f"ok: {len(lesson.steps)} steps\n")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_lessons_come_in_english_and_simplified_chinese(path):
    lesson = load_lesson(path)
    assert lesson.languages == ("en", "zh")
    texts = [lesson.title]
    for step in lesson.steps:
        texts += [step.title, step.text, *step.reveal.values()]
        if step.question:  # a choice that is only a model's name ("nn.LSTM") reads the same in both
            texts += [step.question.text, *(c.text for c in step.question.choices if c.text["zh"] not in LABELS)]
    for text in texts:
        assert text["en"] != text["zh"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text["zh"]), text["zh"]
        # the same numbers in both languages: every placeholder of the English text is in the Chinese one
        assert {p[0] for p in placeholders(text["en"])} == {p[0] for p in placeholders(text["zh"])}, text


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_reveal_whose_message_depends_on_the_numbers_has_a_variant_per_outcome(path):
    for step in load_lesson(path).steps:
        if step.question is not None:
            assert step.reveal
            if step.question.kind == "choice":
                assert step.reveal_by, "a choice's reveal follows the outcome the live numbers give"
                assert set(step.reveal) == set(VIEWS[step.view].outcomes[step.reveal_by])


def test_lesson_list_json_lists_name_title_steps_and_path(capsys, tmp_path, monkeypatch):
    mine = tmp_path / "lessons"
    mine.mkdir()
    (mine / "clamp.toml").write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("RNNVIZ_LESSONS", str(mine))
    code, out, err = check(capsys, "list", "--json")
    assert code == 0 and err == ""
    listed = json.loads(out)
    assert [sorted(item) for item in listed] == [["name", "path", "steps", "title"]] * len(listed)
    by_name = {item["name"]: item for item in listed}
    assert by_name["clamp"] == {"name": "clamp", "title": "A lesson", "steps": 1, "path": str(mine / "clamp.toml")}
    assert by_name["why_lstm"]["steps"] == len(load_lesson(SHIPPED_DIR / "why_lstm.toml").steps)
    assert check(capsys, "check", "clamp")[:2] == (0, "ok: 1 steps\n")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


BAD = {
    "empty": (b"", "the file is empty"),
    "not TOML": (b"this is not = = toml\n", "not valid TOML"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    "truncated": (GOOD.encode()[: GOOD.index("choices") + 30], "not valid TOML"),
    "unknown view": (_replace(GOOD, 'view = "what_if"', 'view = "wat_if"').encode(), "step 1: unknown view 'wat_if'"),
    "unknown run role": (_replace(GOOD, 'name = "Kowalski"', 'name = "Kowalski"\nrun = "transformer"').encode(),
                         "step 1: unknown run role 'transformer'"),
    "run role without gates": (_replace(GOOD, 'name = "Kowalski"', 'name = "Kowalski"\nrun = "rnn"').encode(),
                               "step 1: run 'rnn' has no gates"),
    "question without choices": (_replace(GOOD, "choices = [", "options = [").encode(),
                                 "step 1: a multiple-choice question needs at least two choices"),
    "placeholder the step cannot fill": (_replace(GOOD, "Down to {p_after}.", "Down to {acc_lstm}.").encode(),
                                         "step 1: the reveal for 'drops' (en) has a placeholder {acc_lstm}"),
    "reveal missing an outcome": (_replace(GOOD, 'same = { en = "Still {p_after}.", zh = "仍为 {p_after}。" }\n',
                                           "").encode(), "no text for the outcome 'same'"),
    "text missing a language": (_replace(GOOD, ', zh = "P({category}) 为 {p_before}。"', "").encode(),
                                "step 1: the text has no 简体中文 text"),
    "no steps": (b'title = "x"\n', "no steps"),
    "a stray brace": (_replace(GOOD, "What happens?", "What {happens?").encode(), "step 1: the question"),
    "a letter from 0": (_replace(GOOD, 'gate = "f"', 'gate = "f"\nletter = 0').encode(), "step 1: letter"),
    "not UTF-8": ("title = \"caf\u00e9\"".encode("latin-1"), "not UTF-8"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_lesson_file_is_one_line_with_exit_2(capsys, tmp_path, kind):
    content, expected = BAD[kind]
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    code, out, err = check(capsys, "check", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "bad.toml: " in err and expected in err, err
    with pytest.raises(LessonError, match="bad.toml"):
        load_lesson(path)


def test_a_bad_teacher_lesson_is_reported_and_the_others_still_list(tmp_path):
    mine = tmp_path / "lessons"
    mine.mkdir()
    (mine / "good.toml").write_text(GOOD, encoding="utf-8")
    (mine / "broken.toml").write_bytes(BAD["unknown view"][0])
    (mine / "why_lstm.toml").write_text(GOOD, encoding="utf-8")  # the name of a shipped lesson
    lessons, problems = list_lessons(mine)
    names = [lesson.name for lesson in lessons]
    assert names[: len(SHIPPED)] == [p.stem for p in SHIPPED] and "good" in names
    assert len(problems) == 2
    assert any(p.startswith("broken.toml: step 1: unknown view") for p in problems)
    assert any(p.startswith("why_lstm.toml: ") and "already listed" in p for p in problems)
    assert all("\n" not in p for p in problems)


def test_an_unknown_lesson_name_lists_the_lessons(capsys):
    code, out, err = check(capsys, "check", "no_such_lesson")
    assert code == 2 and "no lesson 'no_such_lesson'" in err and "why_lstm" in err


def test_one_text_for_every_language_and_the_english_fallback(tmp_path):
    path = tmp_path / "plain.toml"
    path.write_text(GOOD.replace('title = { en = "A lesson", zh = "一课" }', 'title = "Same in both"'),
                    encoding="utf-8")
    lesson = load_lesson(path)
    assert lesson.title == {"en": "Same in both", "zh": "Same in both"}
    assert text_in({"en": "hello"}, "zh") == "hello"


def test_every_view_lists_outcomes_its_choices_and_reveals_can_name():
    for view in VIEWS.values():
        assert set(view.numbers).isdisjoint(view.outcomes)
        for outcome, values in view.outcomes.items():
            assert len(values) >= 2 and outcome not in view.facts


def test_no_lesson_file_is_written_by_the_tests():
    assert all(Path(p).parent == SHIPPED_DIR for p in SHIPPED)
