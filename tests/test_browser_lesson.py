"""The default lesson in a class: a teacher in presenter mode at 1920x1080 and three students in their own browser
contexts (one at 1280x800) on `streamlit run`, with small runs of every model the lesson reads on the real surnames.

The students follow the teacher from step to step; at each question each answers before the reveal; the presenter's
class panel counts exactly the answers given (the bars, and the model's answer marked once revealed); the screen
holds the step without scrolling at both sizes; the server log holds no traceback. Screenshots of every step at
both sizes go to tmp_path (and to RNNVIZ_SCREENSHOTS when set).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from rnnviz.answers import AnswerBook
from rnnviz.config import TrainConfig
from rnnviz.lessons import find_lesson
from rnnviz.lessons.facts import probe_config
from rnnviz.lessons.lesson import text_in
from rnnviz.probe import ProbeConfig, run_probe
from rnnviz.runs import train_run
from tests.helpers import SETTLED, keep_probe, launch_chromium, save_screenshot, streamlit_server, wait_for

pytestmark = pytest.mark.slow
TEACHER_KEY = "lesson-class-key-31"
LESSON = find_lesson("why_lstm")
MODEL_SAYS = re.compile(r"The model's answer: ")  # the reveal's line (not the hint "the model's answer comes after")
SIZES = [(1280, 800), (1400, 1000), (1400, 1000)]  # the students' screens


def picks(number: int, step) -> list:
    """What the three students answer at a step: choices spread over the options, estimates over the range."""
    q = step.question
    if q.kind == "choice":
        return [q.choices[(number + k) % len(q.choices)].key for k in (0, 0, 1)]
    return [q.low + (q.high - q.low) * share for share in (0.3, 0.5, 0.9)]


def settled(page: Page) -> None:
    page.wait_for_selector(SETTLED)


def overflow(page: Page) -> float:
    """The step needs no scrolling: every element of the page ends inside the window (the page scrolled to its
    top)."""
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        if (main) main.scrollTop = 0;
        const bottoms = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')]
            .filter(e => !e.closest('details:not([open])'))  // inside a closed expander: not on screen
            .map(e => e.getBoundingClientRect()).filter(r => r.height > 0).map(r => r.bottom);
        return Math.max(...bottoms) - window.innerHeight;
    }""")


def assert_fits(page: Page, what: str) -> None:
    try:
        wait_for(lambda: overflow(page) <= 1, 10, what)
    except AssertionError:
        lowest = page.evaluate("""() => {
            const boxes = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')]
                .filter(e => !e.closest('details:not([open])') && e.getBoundingClientRect().height > 0);
            const bottom = e => e.getBoundingClientRect().bottom;
            const e = boxes.reduce((a, b) => bottom(a) > bottom(b) ? a : b);
            return e.className + ' ' + e.innerText.slice(0, 60);
        }""")
        raise AssertionError(f"{what}: {overflow(page):.0f} px below the window ({lowest})") from None


def answer(page: Page, step, value) -> None:
    q = step.question
    if q.kind == "choice":
        label = text_in(next(c.text for c in q.choices if c.key == value), "en")
        page.get_by_test_id("stRadioGroup").get_by_text(label, exact=True).click()
    else:
        box = page.get_by_role("spinbutton", name="Your estimate")
        box.fill(f"{value:g}")
        box.press("Enter")
    settled(page)
    page.get_by_role("button", name="Answer").click()
    page.get_by_text(MODEL_SAYS).first.wait_for()


@pytest.fixture(scope="module")
def class_runs(real_dataset, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lesson-class") / "runs"
    for model in ("rnn", "lstm", "elman", "ngram"):
        train_run(TrainConfig(model=model, hidden_size=16, epochs=1, batch_size=32), real_dataset, root)
    config = ProbeConfig(lengths=probe_config(LESSON.steps[5]).lengths, steps=20, seeds=1, hidden_size=8,
                         test_size=64)
    keep_probe(root, config, run_probe(config).results)
    return root


def test_a_teacher_and_three_students_walk_the_default_lesson(class_runs, real_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_TEACHER_KEY", TEACHER_KEY)
    shots, log = tmp_path / "screenshots", tmp_path / "server.log"
    given: dict[int, list] = {}
    with streamlit_server(class_runs, real_data_dir, log) as (url, _, _), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            teacher = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            teacher.set_default_timeout(90_000)
            teacher.goto(f"{url}/lesson?lesson=why_lstm&step=1", wait_until="commit")
            teacher.get_by_role("textbox", name="Teacher key").fill(TEACHER_KEY)
            teacher.get_by_role("textbox", name="Teacher key").press("Enter")
            teacher.get_by_text("Teacher: you can manage every run").wait_for()
            teacher.goto(f"{url}/lesson?lesson=why_lstm&step=1&present=1", wait_until="commit")
            settled(teacher)
            students = []
            for width, height in SIZES:
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.set_default_timeout(90_000)
                page.goto(f"{url}/lesson?lesson=why_lstm&step=1", wait_until="commit")
                page.get_by_text("Follow the teacher").wait_for()
                settled(page)
                page.get_by_text("Follow the teacher").click()
                students.append(page)
            for index, step in enumerate(LESSON.steps):
                title = text_in(step.title, "en")
                for page in [teacher, *students]:
                    page.get_by_role("heading", name=title).wait_for()  # the students followed the teacher
                    settled(page)
                if step.question is not None:
                    assert teacher.get_by_text("The live view opens with the answer", exact=False).count() == 1
                    given[index] = picks(index, step)
                    for page, value in zip(students, given[index]):
                        assert page.get_by_text(MODEL_SAYS).count() == 0, "nothing revealed before"
                        answer(page, step, value)
                    teacher.get_by_text("3 answered").wait_for(timeout=30_000)  # the projector's panel refreshes
                    save_screenshot(teacher, shots, f"lesson-{index + 1:02d}-presenter-before", full_page=False)
                    teacher.get_by_role("button", name="Reveal the model's answer").click()
                    teacher.get_by_text(MODEL_SAYS).first.wait_for()
                    settled(teacher)
                    if step.question.kind == "choice":  # the panel's line under the bars: each choice's count
                        counts = Counter(given[index])
                        line = " · ".join(f"{text_in(c.text, 'en')}: {counts.get(c.key, 0)}"
                                          for c in step.question.choices)
                        teacher.get_by_text(line, exact=True).wait_for()
                save_screenshot(teacher, shots, f"lesson-{index + 1:02d}-presenter", full_page=False)
                save_screenshot(students[0], shots, f"lesson-{index + 1:02d}-student", full_page=False)
                assert_fits(teacher, f"step {index + 1} at 1920x1080 in presenter mode")
                assert_fits(students[0], f"step {index + 1} at 1280x800")
                if index < len(LESSON.steps) - 1:
                    teacher.get_by_role("button", name="Next").click()
        finally:
            browser.close()
    book = AnswerBook(class_runs)
    for index, values in given.items():
        tally = book.tally("why_lstm", index)
        assert tally.count == 3
        if LESSON.steps[index].question.kind == "choice":
            assert tally.choices == dict(Counter(values))
        else:
            assert tally.estimates == sorted(float(v) for v in values)
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log, server_log[-3000:]
    assert TEACHER_KEY not in server_log
