"""The Lesson page through AppTest: every step of every shipped lesson with runs of every model, steps whose runs
are missing (one button trains them), a run of another dataset, deep links, following the teacher, and the class's
answers in presenter mode."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.answers import AnswerBook
from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.lessons import find_lesson
from rnnviz.lessons.facts import probe_config
from rnnviz.lessons.lesson import text_in
from rnnviz.probe import ProbeConfig, run_probe
from rnnviz.registry import MODEL_KEYS as MODELS
from rnnviz.runs import train_run
from tests.conftest import write_tiny_folder
from tests.helpers import ROOT, assert_clean, chart_frames, charts_of, keep_probe, open_page, texts, wait_for_jobs
from ui import keys, nav

pytestmark = pytest.mark.usefixtures("fresh_app")
TEACHER_KEY = "lesson-key-2718"


def tiny(model: str, folder, root) -> str:
    writer, result = train_run(TrainConfig(model=model, hidden_size=8, epochs=1, batch_size=8), load_folder(folder),
                               root)
    assert result is not None and result.status == "finished"
    return writer.run_id


def save_tiny_probe(root) -> None:
    config = ProbeConfig(lengths=(probe_config(find_lesson("why_lstm").steps[5]).lengths[0],), steps=5, seeds=1,
                         hidden_size=4, test_size=20)
    keep_probe(root, config, run_probe(config).results)


@pytest.fixture
def every_model(tiny_data, isolated_runs):
    """A finished run of every model in the registry on the (tiny) surname data, and a saved probe."""
    ids = {model: tiny(model, tiny_data, isolated_runs) for model in MODELS}
    save_tiny_probe(isolated_runs)
    return ids


def open_lesson(name: str, step: int = 1, lang: str | None = None, present: bool = False) -> AppTest:
    query = {"lesson": name, "step": str(step), **({"lang": lang} if lang else {}), **({"present": "1"} if present
                                                                                     else {})}
    at = open_page(nav.LESSON, query)
    assert_clean(at)
    return at


def button(at: AppTest, *labels: str):
    found = [b for b in at.button if b.label in labels]
    assert found, [b.label for b in at.button]
    return found[0]


def model_says(at: AppTest) -> str | None:
    """The model's answer as the page shows it after the student's ("…" while its runs do not exist)."""
    for element in at.markdown:
        for line in element.value.split("\n"):
            for label in ("The model's answer: ", "模型的答案: "):
                if line.startswith(label):
                    return line[len(label):].strip(" *")
    return None


def answer(at: AppTest, step, index: int = 0) -> AppTest:
    q = step.question
    if q.kind == "choice":
        radio = next(r for r in at.radio if r.key.startswith(keys.LESSON_ANSWER))
        radio.set_value(q.choices[index].key)
    else:
        next(n for n in at.number_input if n.key.startswith(keys.LESSON_ANSWER)).set_value(q.low)
    button(at, "Answer", "提交答案").click().run()
    assert_clean(at)
    return at


@pytest.mark.parametrize("name,lang", [("why_lstm", "en"), ("one_step", "zh"), ("why_lstm", "zh")])
def test_every_step_runs_asks_and_reveals_with_runs_of_every_model(every_model, name, lang):
    lesson = find_lesson(name)
    at = open_lesson(name, 1, lang)
    for number, step in enumerate(lesson.steps, 1):
        shown = texts(at)
        assert text_in(step.title, lang) in [s.value for s in at.subheader]
        assert f"{number}" in at.get("progress")[0].proto.text
        assert "{" not in shown, shown
        if step.question is not None:
            assert model_says(at) is None and not charts_of(at), "neither the model's answer nor the view before"
            assert at.info and any(w in at.info[0].value for w in ("The live view opens with the answer", "作答之后"))
            answer(at, step)
            assert model_says(at) not in (None, "…")
        if step.reveal:
            assert at.success, f"step {number} reveals with the live numbers"
            assert "{" not in at.success[0].value
        assert charts_of(at) or step.view == "cell_step" and at.get("code"), f"step {number} draws its view"
        if number < len(lesson.steps):
            button(at, "Next", "下一步").click().run()
            assert_clean(at)
    assert at.query_params["step"] in (str(len(lesson.steps)), [str(len(lesson.steps))]), "the link follows the step"


def test_a_step_whose_runs_are_missing_offers_one_button_that_trains_them(tiny_data, isolated_runs):
    tiny("rnn", tiny_data, isolated_runs)
    at = open_lesson("why_lstm", 2)
    assert "needs nn.LSTM" in texts(at)
    trains = [b for b in at.button if b.label.startswith("Train")]
    assert [b.label for b in trains] == ["Train nn.LSTM"]
    step = find_lesson("why_lstm").steps[1]
    answer(at, step)  # the class can predict while the runs train
    assert model_says(at) == "…"
    trains[0].click().run()
    jobs = wait_for_jobs(300)
    assert [(job.config.model, job.status) for job in jobs] == [("lstm", "finished")]
    at.run()
    assert_clean(at)
    assert model_says(at) not in (None, "…")
    assert at.success and "nn.LSTM" in at.success[0].value


def test_a_step_needing_more_trainings_than_a_student_may_run_at_once_trains_them_one_after_the_other(
        tiny_data, isolated_runs):
    """The gradient step reads three models and a student may have PER_STUDENT (2) trainings running or queued:
    the job manager refuses a third. One click trains all three, the third as soon as one of the first two ends,
    and the student sees no refusal, only that they train one after the other."""
    from ui.resources import PER_STUDENT, job_manager

    lesson = find_lesson("why_lstm")
    number = next(i for i, step in enumerate(lesson.steps, 1) if step.view == "gradient")
    at = open_lesson("why_lstm", number)
    trains = [b for b in at.button if b.label.startswith("Train")]
    assert [b.label for b in trains] == ["Train RNN, tanh RNN, nn.LSTM"]
    assert len(trains) == 1 and PER_STUDENT < 3  # the step asks for more than the cap allows at once
    trains[0].click().run()
    assert_clean(at)
    assert not at.warning and not at.error, [w.value for w in (*at.warning, *at.error)]
    assert "one after the other" in texts(at)
    manager = job_manager()
    assert len(manager.jobs()) == PER_STUDENT  # the cap holds: two now, the third waits in this browser
    for _ in range(3):  # each page run starts what waits as soon as the cap has room
        wait_for_jobs(300)
        at.run()
        assert_clean(at)
        assert not at.warning and not at.error, [w.value for w in (*at.warning, *at.error)]
    jobs = wait_for_jobs(300)
    assert sorted((job.config.model, job.status) for job in jobs) == [
        ("elman", "finished"), ("lstm", "finished"), ("rnn", "finished")]
    at.run()
    assert_clean(at)
    assert not [b for b in at.button if b.label.startswith("Train")] and "needs" not in texts(at)


def test_the_probe_step_without_a_saved_probe_offers_the_probe(tiny_data, isolated_runs):
    at = open_lesson("why_lstm", 6)
    assert "memory probe at 30 letters" in texts(at)
    assert [b.label for b in at.button if "probe" in b.label] == ["Run the memory probe (about 20 s)"]


def test_a_run_of_another_dataset_is_refused_by_a_step_that_reads_surnames(every_model, tmp_path, isolated_runs):
    own = write_tiny_folder(tmp_path / "datasets" / "cities")  # a named dataset of the Data page
    other = tiny("lstm", own, isolated_runs)
    at = open_lesson("one_step", 1)
    assert not at.warning
    at.selectbox(key=f"{keys.LESSON_RUN}.lstm").set_value(other).run()
    assert_clean(at)
    assert any("reads surnames" in w.value and other in w.value for w in at.warning)
    at.selectbox(key=f"{keys.LESSON_RUN}.lstm").set_value("").run()
    assert not at.warning
    accuracy = open_lesson("why_lstm", 2)  # the report's question is about surnames too
    accuracy.selectbox(key=f"{keys.LESSON_RUN}.lstm").set_value(other).run()
    assert any("reads surnames" in w.value for w in accuracy.warning)


def test_a_deep_link_opens_its_step_and_language_as_the_first_request(every_model):
    at = AppTest.from_file(str(ROOT / "pages" / "lesson.py"), default_timeout=120)
    at.query_params.update({"lesson": "one_step", "step": "3", "lang": "zh"})
    at.run()
    assert_clean(at)
    step = find_lesson("one_step").steps[2]
    assert [s.value for s in at.subheader][0] == step.title["zh"]
    assert at.get("progress")[0].proto.text == "第 3 步，共 4 步"


def enter_teacher(at: AppTest) -> AppTest:
    at.text_input(key=keys.OWNER_KEY_INPUT).input(TEACHER_KEY).run()
    assert_clean(at)
    return at


def test_students_who_follow_the_teacher_are_moved_to_the_teachers_step(every_model, monkeypatch, isolated_runs):
    monkeypatch.setenv("RNNVIZ_TEACHER_KEY", TEACHER_KEY)
    teacher = enter_teacher(open_lesson("why_lstm", 1))
    button(teacher, "Next").click().run()
    button(teacher, "Next").click().run()
    assert AnswerBook(isolated_runs).teacher_step("why_lstm") == 2
    student = open_lesson("why_lstm", 1)
    assert any(t.key == keys.LESSON_FOLLOW for t in student.toggle)
    student.toggle(key=keys.LESSON_FOLLOW).set_value(True).run()
    assert_clean(student)
    assert student.subheader[0].value == find_lesson("why_lstm").steps[2].title["en"]
    assert not [t for t in teacher.toggle if t.key == keys.LESSON_FOLLOW], "the teacher leads, and follows nobody"


def test_the_presenter_sees_the_class_and_the_teacher_alone_clears(every_model, monkeypatch, isolated_runs):
    monkeypatch.setenv("RNNVIZ_TEACHER_KEY", TEACHER_KEY)
    step = find_lesson("why_lstm").steps[1]
    for index in (0, 0, 2):  # three students in three browsers
        answer(open_lesson("why_lstm", 2), step, index)
    student = open_lesson("why_lstm", 2)
    assert "3 answered" not in texts(student), "a student who has not answered sees nothing of the class"
    answer(student, step, 1)
    assert "4 answered" in texts(student)
    assert not [b for b in student.button if b.label.startswith("Clear")]
    teacher = enter_teacher(open_lesson("why_lstm", 2, present=True))
    assert "4 answered" in texts(teacher)

    def class_counts():
        frame = next(f for chart in charts_of(teacher) for f in chart_frames(chart) if "choice" in f)
        return dict(zip(frame["choice"], frame["count"])), int(frame["model"].sum())

    expected = {text_in(c.text, "en"): n for c, n in zip(step.question.choices, (2, 1, 1))}
    assert class_counts() == (expected, 0), "the model's answer is not marked before the reveal"
    assert model_says(teacher) is None and not teacher.success
    button(teacher, "Reveal the model's answer").click().run()
    assert class_counts() == (expected, 1), "the model's answer is marked once revealed"
    assert model_says(teacher) not in (None, "…") and teacher.success
    teacher.sidebar.button(key=f"{keys.LESSON_ANSWER}.clear").click().run()
    assert "0 answered" in texts(teacher)
    assert AnswerBook(isolated_runs).tally("why_lstm", 1).count == 0


def test_the_lesson_is_in_the_navigation():
    assert (nav.LESSON, "Lesson") == nav.PAGES[1][:2]
