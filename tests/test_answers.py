"""The class's answers: pooled across browsers and server processes, capped, kept over a restart, unreadable by
another browser, cleared and led only by the teacher."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from rnnviz.answers import FOLDER, AnswerBook, AnswerError
from rnnviz.runs import TEACHER

LESSON = "why_lstm"


def test_pooled_counts_equal_the_answers_given_by_many_browsers(tmp_path):
    given = {f"browser-{n}": ["lstm_wins", "rnn_wins", "tie"][n % 3] for n in range(30)}
    book = AnswerBook(tmp_path)
    with ThreadPoolExecutor(8) as pool:  # sessions of one server answer at once
        list(pool.map(lambda item: book.submit(LESSON, 1, *item), given.items()))
    tally = book.tally(LESSON, 1)
    assert tally.count == len(given)
    assert tally.choices == dict(Counter(given.values()))
    assert book.tally(LESSON, 2).count == 0  # pooled per step
    assert book.tally("one_step", 1).count == 0  # and per lesson


def _answer_from_another_process(root: str, start: int) -> None:
    book = AnswerBook(root)
    for n in range(start, start + 10):
        book.submit(LESSON, 5, f"p-{n}", float(n))


def test_answers_from_several_server_processes_all_count(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_answer_from_another_process, args=(str(tmp_path), 10 * k)) for k in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    tally = AnswerBook(tmp_path).tally(LESSON, 5)
    assert tally.count == 30 and tally.estimates == [float(n) for n in range(30)]


def test_one_answer_per_browser_per_step(tmp_path):
    book = AnswerBook(tmp_path)
    book.submit(LESSON, 3, "alice", "keep")
    with pytest.raises(AnswerError, match="already answered"):
        book.submit(LESSON, 3, "alice", "forget")
    assert book.mine(LESSON, 3, "alice") == "keep"
    book.submit(LESSON, 4, "alice", "forget")  # another step is another question
    assert book.tally(LESSON, 3).choices == {"keep": 1}


def test_a_step_takes_at_most_its_cap(tmp_path):
    book = AnswerBook(tmp_path, cap=3)
    for n in range(3):
        book.submit(LESSON, 0, f"b{n}", "tie")
    with pytest.raises(AnswerError, match="taken its 3 answers"):
        book.submit(LESSON, 0, "b3", "tie")
    assert book.tally(LESSON, 0).count == 3
    book.submit(LESSON, 1, "b3", "tie")  # the cap is per step


def test_a_restart_keeps_the_answers(tmp_path):
    AnswerBook(tmp_path).submit(LESSON, 2, "alice", 42.0)
    reopened = AnswerBook(tmp_path)  # a new server on the same runs folder
    assert reopened.mine(LESSON, 2, "alice") == 42.0
    assert reopened.tally(LESSON, 2).estimates == [42.0]


def test_one_browser_cannot_read_anothers_answer_and_no_id_is_stored(tmp_path):
    book = AnswerBook(tmp_path)
    alice, bob = "token-hash-of-alice-0123456789", "token-hash-of-bob-9876543210"
    book.submit(LESSON, 1, alice, "rnn_wins")
    assert book.mine(LESSON, 1, bob) is None
    assert book.mine(LESSON, 1, alice) == "rnn_wins"
    stored = "".join(p.read_text() for p in (tmp_path / FOLDER).glob("*.json"))
    assert alice not in stored and "alice" not in stored
    tally = book.tally(LESSON, 1)
    assert tally.choices == {"rnn_wins": 1}  # the aggregate carries no browser


def test_only_the_teacher_clears_a_lessons_answers(tmp_path):
    book = AnswerBook(tmp_path)
    book.submit(LESSON, 1, "alice", "tie")
    book.submit("one_step", 1, "alice", "keep")
    with pytest.raises(PermissionError, match="only the teacher"):
        book.clear(LESSON, by="some-student-owner-id")
    assert book.tally(LESSON, 1).count == 1
    book.clear(LESSON, by=TEACHER)
    assert book.tally(LESSON, 1).count == 0
    assert book.tally("one_step", 1).count == 1  # other lessons keep theirs
    book.submit(LESSON, 1, "alice", "lstm_wins")  # and the class can answer again


def test_only_the_teacher_leads_and_students_read_the_teachers_step(tmp_path):
    book = AnswerBook(tmp_path)
    assert book.teacher_step(LESSON) is None
    with pytest.raises(PermissionError):
        book.lead(LESSON, 4, by="a-student")
    book.lead(LESSON, 4, by=TEACHER)
    assert AnswerBook(tmp_path).teacher_step(LESSON) == 4


@pytest.mark.parametrize("bad", [("../etc", 1, "x", "a"), (LESSON, -1, "x", "a"), (LESSON, 1, "", "a"),
                                 (LESSON, 1, "x", ""), (LESSON, 1, "x", True), (LESSON, 1, "x", float("nan"))])
def test_bad_answers_are_refused_in_one_line(tmp_path, bad):
    with pytest.raises(AnswerError):
        AnswerBook(tmp_path).submit(*bad)
