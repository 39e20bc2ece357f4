"""The Lesson page's parts: which lesson, step and language; the step's text and question; the live view beside
it; the class's answers; following the teacher; training what a step needs.

The numbers come from rnnviz.lessons.facts (one computation per step and runs, shared by every session), the
answers from rnnviz.answers (which decides who may read, answer and clear); this module only draws them.
"""

from __future__ import annotations

import threading
from functools import partial

import pandas as pd
import streamlit as st

from rnnviz import charts
from rnnviz.answers import AnswerBook, AnswerError
from rnnviz.config import TrainConfig
from rnnviz.jobs import JobLimitError
from rnnviz.lessons import LANGUAGES, Lesson, Step, list_lessons
from rnnviz.lessons.facts import (
    Live,
    MissingRuns,
    NotSurnames,
    Source,
    compute,
    probe_config,
    resolve_roles,
    step_roles,
    usable,
)
from rnnviz.lessons.lesson import text_in
from rnnviz.probe import latest_probe, start_probe, summarize
from rnnviz.registry import MODEL_LABELS
from rnnviz.runs import RunInfo
from ui import display, guards, keys, owner, resources, runview

DEFAULT_LESSON = "why_lstm"
COLUMNS = {False: [1, 1], True: [2, 3]}  # text : view; a laptop's narrow main area gives the text half
SHORT_NAMES = {"en": "English", "zh": "中文"}  # the language picker's labels, short enough for a laptop's row
FOLLOW_EVERY_S = 2.0
PROGRESS_EVERY_S = 1.0
CLASS_EVERY_S = 2.0  # the presenter's view of the class's answers refreshes this often
WORDS = {  # the page's own words in each language
    "en": {
        "step": "Step {n} of {k}",
        "back": "Back",
        "next": "Next",
        "answer": "Answer",
        "your": "Your answer",
        "model": "The model's answer",
        "class": "The class",
        "answered": "{n} answered",
        "follow": "Follow the teacher",
        "clear": "Clear this lesson's answers",
        "needs": "This step needs {what}, and there is none on the surname data yet.",
        "train": "Train {what}",
        "one_by_one": "They train one after the other, {n} at a time: a browser may train at most {n} at once.",
        "waiting": "{what} starts as soon as one of these ends.",
        "probe": "Run the memory probe (about 20 s)",
        "probe_needed": "This step needs the memory probe at {n} letters, which has not been run yet.",
        "wait": "The model's answer appears once the step's runs exist.",
        "answer_first": "Answer first: the model's answer comes after.",
        "estimate": "Your estimate",
        "runs": "Runs this lesson reads",
        "language": "Language",
        "reveal": "Reveal the model's answer",
        "marked": "orange: the model's answer",
        "hidden": "The live view opens with the answer: predict first.",
    },
    "zh": {
        "step": "第 {n} 步，共 {k} 步",
        "back": "上一步",
        "next": "下一步",
        "answer": "提交答案",
        "your": "你的答案",
        "model": "模型的答案",
        "class": "全班",
        "answered": "已有 {n} 人作答",
        "follow": "跟随老师",
        "clear": "清除本课的所有答案",
        "needs": "这一步需要 {what}，但姓氏数据上还没有训练好的模型。",
        "train": "训练 {what}",
        "one_by_one": "它们会依次训练，每次 {n} 个：每个浏览器最多同时训练 {n} 个模型。",
        "waiting": "其中一个训练结束后，{what} 会立即开始。",
        "probe": "运行记忆探针实验（约 20 秒）",
        "probe_needed": "这一步需要长度为 {n} 的记忆探针实验结果，目前还没有运行。",
        "wait": "模型训练完成后，这里会显示模型的答案。",
        "answer_first": "请先作答，之后再看模型的答案。",
        "estimate": "你的估计",
        "runs": "本课使用的模型",
        "language": "语言",
        "reveal": "揭晓模型的答案",
        "marked": "橙色：模型的答案",
        "hidden": "作答之后才会显示实时视图：请先预测。",
    },
}


def word(lang: str, key: str, **values) -> str:
    return WORDS.get(lang, WORDS["en"])[key].format(**values)


@st.cache_resource(show_spinner=False)
def _source(root: str) -> Source:
    return Source(root)


def source() -> Source:
    """The facts' source of this runs folder, shared by every session (so the class computes each step once)."""
    return _source(str(resources.runs_root()))


def book() -> AnswerBook:
    return AnswerBook(resources.runs_root())


def browser() -> str:
    """The id this browser's answers are kept under (the answer book stores only a keyed hash of it)."""
    return owner.owner_id()


# ---------------------------------------------------------------- lesson, step, language


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if isinstance(value, str) else None


def choose_lesson() -> tuple[Lesson, list[Lesson]]:
    """The lesson of the link (?lesson=NAME), else the one picked, else the default; the picker at the top."""
    lessons, problems = list_lessons()
    for problem in problems:
        st.warning(f"Lesson not listed: {problem}", icon=":material/warning:")
    if not lessons:
        st.info("No lessons: the shipped ones are missing from the package.", icon=":material/info:")
        st.stop()
    names = [lesson.name for lesson in lessons]
    wanted = _param("lesson")
    if wanted in names and st.session_state.get(keys.LESSON_NAME) != wanted:
        st.session_state[keys.LESSON_NAME] = wanted
        st.session_state[keys.LESSON_PICK] = wanted
        step = _param("step")
        st.session_state[keys.LESSON_STEP] = int(step) - 1 if step and step.isdigit() and int(step) > 0 else 0
    if st.session_state.get(keys.LESSON_NAME) not in names:
        st.session_state[keys.LESSON_NAME] = DEFAULT_LESSON if DEFAULT_LESSON in names else names[0]
    st.session_state[keys.LESSON_PICK] = st.session_state[keys.LESSON_NAME]
    return next(lesson for lesson in lessons if lesson.name == st.session_state[keys.LESSON_NAME]), lessons


def _picked() -> None:
    st.session_state[keys.LESSON_NAME] = st.session_state[keys.LESSON_PICK]
    st.session_state[keys.LESSON_STEP] = 0


def lesson_picker(where, lessons: list[Lesson], lang: str) -> None:
    titles = {lesson.name: text_in(lesson.title, lang) + ("" if lesson.shipped else " (yours)") for lesson in lessons}
    where.selectbox("Lesson", list(titles), format_func=titles.get, key=keys.LESSON_PICK, on_change=_picked,
                    label_visibility="collapsed")


def language(lesson: Lesson) -> str:
    """The lesson's language: the link's ?lang=, else the one picked, else the lesson's first."""
    wanted = _param("lang")
    if keys.LESSON_LANG not in st.session_state and wanted in lesson.languages:  # the link's, on the first run
        st.session_state[keys.LESSON_LANG] = wanted
    if st.session_state.get(keys.LESSON_LANG) not in lesson.languages:
        st.session_state[keys.LESSON_LANG] = lesson.languages[0]
    return st.session_state[keys.LESSON_LANG]


def language_picker(where, lesson: Lesson) -> None:
    if len(lesson.languages) > 1:
        where.segmented_control(word(language(lesson), "language"), list(lesson.languages),
                                format_func=lambda lang: SHORT_NAMES.get(lang, LANGUAGES[lang]),
                                key=keys.LESSON_LANG, required=True, label_visibility="collapsed")


def step_index(lesson: Lesson) -> int:
    index = st.session_state.get(keys.LESSON_STEP, 0)
    index = min(max(int(index) if isinstance(index, int) else 0, 0), len(lesson.steps) - 1)
    st.session_state[keys.LESSON_STEP] = index
    return index


def remember_in_link(lesson: Lesson, index: int, lang: str) -> None:
    """The address says which lesson, step and language this is, so the link opens the same step."""
    wanted = {"lesson": lesson.name, "step": str(index + 1), "lang": lang}
    if any(st.query_params.get(k) != v for k, v in wanted.items()):
        st.query_params.update(wanted)


def move(delta: int, count: int) -> None:
    st.session_state[keys.LESSON_STEP] = min(max(st.session_state.get(keys.LESSON_STEP, 0) + delta, 0), count - 1)
    st.session_state[keys.LESSON_FOLLOW] = False  # stepping by hand stops following the teacher


def lead(lesson: Lesson, index: int) -> None:
    """The teacher's step, for the students who follow."""
    if owner.is_teacher():
        with guards.reported():
            book().lead(lesson.name, index, owner.me())


def follow(lesson: Lesson) -> None:
    """A student's switch to follow the teacher, at the top of the sidebar's own part; while on, a fragment moves
    them to the teacher's step."""
    if owner.is_teacher():
        return
    lang = language(lesson)
    st.sidebar.toggle(word(lang, "follow"), key=keys.LESSON_FOLLOW)
    if st.session_state.get(keys.LESSON_FOLLOW):
        _follow_fragment(lesson.name)


@st.fragment(run_every=FOLLOW_EVERY_S)
def _follow_fragment(name: str) -> None:
    if not st.session_state.get(keys.LESSON_FOLLOW):
        return
    step = book().teacher_step(name)
    if step is not None and step != st.session_state.get(keys.LESSON_STEP):
        st.session_state[keys.LESSON_STEP] = step
        st.rerun(scope="app")


# ---------------------------------------------------------------- runs


def _choice_key(role: str) -> str:
    return keys.keyed(keys.LESSON_RUN, role)


def step_runs(step: Step) -> dict[str, RunInfo | None]:
    """The runs a step reads: each role's newest on the surname data, unless one was picked below the view."""
    infos = resources.all_runs()
    chosen = {}
    for role in step_roles(step):
        run_id = st.session_state.get(_choice_key(role))
        picked = next((i for i in infos if i.run_id == run_id and usable(i)), None)
        if picked is not None:
            chosen[role] = picked
    return resolve_roles(infos, step_roles(step), chosen)


def run_pickers(step: Step, lang: str) -> None:
    """Any finished run can stand in for a role (one of another dataset included: a surname step then says so)."""
    roles = step_roles(step)
    if not roles or display.presenting():
        return
    infos = [i for i in resources.all_runs() if usable(i)]
    with st.expander(word(lang, "runs")):
        for role in roles:
            options = [i for i in infos if i.model == role]
            if not options:
                continue
            ids = [""] + [i.run_id for i in options]
            labels = {"": f"newest {MODEL_LABELS.get(role, role)} on the surnames",
                      **{i.run_id: runview.run_label(i) for i in options}}
            if st.session_state.get(_choice_key(role)) not in ids:
                st.session_state.pop(_choice_key(role), None)
            st.selectbox(MODEL_LABELS.get(role, role), ids, format_func=labels.get, key=_choice_key(role))


def start_missing(roles: list[str]) -> None:
    """Train each missing role's model with the default settings on the surname data, owned by this browser: as
    many now as its cap allows (the job manager refuses more), the rest one after the other as these end."""
    st.session_state[keys.LESSON_WAITING] = list(roles)
    start_waiting(roles)


def start_waiting(roles: list[str]) -> None:
    """Start the waiting trainings of `roles` (a step's missing ones) while the job manager accepts them. A refusal
    while some of this browser's lesson trainings run only means "not yet": the next page run (or progress tick
    after one ends) tries again. A refusal with none of them running would never clear, so it is said and the
    waiting ones are dropped."""
    waiting = list(st.session_state.get(keys.LESSON_WAITING, []))
    if not any(role in roles for role in waiting):
        return
    manager = resources.job_manager()
    try:
        dataset = resources.current_dataset()
    except guards.USER_ERRORS as exc:
        st.session_state[keys.LESSON_NOTICE] = guards.one_line(exc)
        st.session_state[keys.LESSON_WAITING] = []
        return
    started = list(st.session_state.get(keys.LESSON_TRAINING, []))
    for role in [role for role in waiting if role in roles]:
        try:
            started.append(manager.start(TrainConfig(model=role), dataset, owner=owner.me(),
                                         owner_name=owner.name(), capped=not owner.is_teacher()))
        except JobLimitError as exc:
            st.session_state[keys.LESSON_TRAINING] = started
            if not _active_jobs():
                st.session_state[keys.LESSON_NOTICE] = guards.one_line(exc)
                waiting = []
            break
        except guards.USER_ERRORS as exc:
            st.session_state[keys.LESSON_NOTICE] = guards.one_line(exc)
            waiting = []
            break
        waiting.remove(role)
    st.session_state[keys.LESSON_TRAINING] = started
    st.session_state[keys.LESSON_WAITING] = waiting


def start_lesson_probe(step: Step) -> None:
    try:
        start_probe(resources.job_manager(), probe_config(step))
    except guards.USER_ERRORS as exc:
        st.session_state[keys.LESSON_NOTICE] = guards.one_line(exc)


def _active_jobs() -> list:
    manager = resources.job_manager()
    mine = set(st.session_state.get(keys.LESSON_TRAINING, []))
    jobs = [job for job in manager.jobs() if job.run_id in mine and job.active]
    probe = latest_probe(manager)
    if probe is not None and probe.active:
        jobs.append(probe)
    return jobs


def _waiting(roles: list[str]) -> list[str]:
    return [role for role in st.session_state.get(keys.LESSON_WAITING, []) if role in roles]


@st.fragment(run_every=PROGRESS_EVERY_S)
def _progress(roles: list[str], lang: str) -> None:
    before = len(_active_jobs())
    start_waiting(roles)  # one of this browser's trainings may have ended: the next waiting one starts
    jobs = _active_jobs()
    if not jobs or len(jobs) > before:
        st.rerun(scope="app")
    for job in jobs:
        label = getattr(job, "current", "") or runview.job_label(job)
        st.progress(job.progress, text=f"{label} · {job.status}")
    if waiting := _waiting(roles):
        st.caption(word(lang, "waiting", what=", ".join(MODEL_LABELS.get(r, r) for r in waiting)))


def missing_view(missing: MissingRuns, step: Step, lang: str) -> None:
    """What a step lacks and ONE button that makes it; progress while it is made. A step may need more trainings
    than a student may run at once: they train one after the other, and the step says so."""
    roles = [] if missing.probe else list(missing.roles)
    start_waiting(roles)
    if missing.probe:
        length = probe_config(step).lengths[0]
        st.info(word(lang, "probe_needed", n=length), icon=":material/hourglass_empty:")
        label, action, args = word(lang, "probe"), start_lesson_probe, (step,)
    else:
        what = ", ".join(MODEL_LABELS.get(r, r) for r in roles)
        st.info(word(lang, "needs", what=what), icon=":material/model_training:")
        label, action, args = word(lang, "train", what=what), start_missing, (roles,)
    cap = resources.job_manager().per_owner
    if cap is not None and len(roles) > cap and not owner.is_teacher():
        st.caption(word(lang, "one_by_one", n=cap))
    if keys.LESSON_NOTICE in st.session_state:
        st.warning(st.session_state.pop(keys.LESSON_NOTICE), icon=":material/info:")
    busy = bool(_active_jobs() or _waiting(roles))
    st.button(label, type="primary", icon=":material/play_arrow:", on_click=action, args=args, disabled=busy)
    if busy:
        _progress(roles, lang)


# ---------------------------------------------------------------- the live view


def _prefetch(steps: tuple[Step, ...], runs: list[dict]) -> None:
    for step, chosen in zip(steps, runs):
        try:
            compute(step, chosen, source())
        except Exception:  # noqa: BLE001 - a step that cannot be computed yet says why when it is opened
            continue


@st.cache_resource(show_spinner=False, max_entries=16)
def _prefetching(name: str, stamp: tuple) -> threading.Thread:
    """One thread per lesson and set of runs that computes every step's facts ahead of the class, so each step's
    live part answers from the shared cache when the class gets there."""
    lesson = next(lesson for lesson in list_lessons()[0] if lesson.name == name)
    runs = [step_runs(step) for step in lesson.steps]
    thread = threading.Thread(target=_prefetch, args=(lesson.steps, runs), name=f"rnnviz-lesson-{name}",
                              daemon=True)
    thread.start()
    return thread


def prefetch(lesson: Lesson) -> None:
    """Compute the lesson's steps in the background once its runs exist (again when they change)."""
    runs = {role: info for step in lesson.steps for role, info in step_runs(step).items()}
    _prefetching(lesson.name, source().stamp(runs))


def live(step: Step) -> Live | MissingRuns | NotSurnames:
    """The step's facts, or why there are none yet."""
    try:
        return compute(step, step_runs(step), source())
    except (MissingRuns, NotSurnames) as exc:
        return exc


def draw_view(step: Step, facts: Live) -> None:
    """The chart(s) of the step's view, from the facts' frames (no download row: a step fits one screen)."""
    h = display.height
    show = partial(display.chart, downloads=False)
    name = f"lesson-{step.view}"
    frames = facts.frames
    if step.view in ("report", "accuracy", "ngram"):
        show(charts.accuracy_bars(frames["accuracy"], h(200)), name)
    elif step.view == "curves":
        show(charts.validation_curves(frames["curves"], h(190)), name)
    elif step.view == "confusion":  # nn.LSTM's, whose mistake the text names; the RNN's is on the Evaluate page
        chart = charts.confusion_heatmap(frames["lstm"], facts.extra["categories"], MODEL_LABELS["lstm"],
                                         selectable=False, cell=round(15 * display.scale()))
        show(chart, name)
    elif step.view == "gradient":
        show(charts.gradient_flow_chart(frames["flow"], height=h(180)), name)
    elif step.view == "probe":
        show(charts.probe_chart(summarize(frames["probe"]), height=h(160)), name)
    elif step.view == "cell_step":
        cell = facts.extra["cell"]
        show(charts.cell_diagram(cell.values, cell.letter, cell.unit, height=h(220), scale=display.scale()), name)
        if not display.presenting():  # on the projector the reveal writes the step's equation with its numbers
            st.code("\n".join(cell.equations), language=None)
    elif step.view == "memory":
        for number, model in enumerate(dict.fromkeys(frames["memory"]["model"])):
            part = frames["memory"][frames["memory"]["model"] == model]
            show(charts.memory_lines(part, h(130)), f"{name}-{number}")
    elif step.view == "what_if":
        show(charts.what_if_chart(frames["what_if"], height=h(160)), name)
        st.caption(facts.facts["intervention"])


def view_panel(step: Step, facts, lang: str, shown: bool = True) -> None:
    """The step's live view; before the answer is taken, only what the step lacks (so the class can start its
    training while it predicts), never the numbers that would give the answer away."""
    if isinstance(facts, MissingRuns):
        missing_view(facts, step, lang)
    elif isinstance(facts, NotSurnames):
        st.warning(guards.one_line(facts), icon=":material/dataset:")
    elif not shown:
        st.info(word(lang, "hidden"), icon=":material/visibility_off:")  # all in the lesson's language
    else:
        try:
            draw_view(step, facts)
        except guards.USER_ERRORS as exc:
            st.error(guards.one_line(exc), icon=":material/error:")
    run_pickers(step, lang)


# ---------------------------------------------------------------- text, question, reveal


def filled(template: str, facts) -> str:
    return facts.fill(template) if isinstance(facts, Live) else template


def _answer_key(lesson: Lesson, index: int) -> str:
    return keys.keyed(keys.LESSON_ANSWER, lesson.name, index)


def _submit(lesson: Lesson, index: int) -> None:
    value = st.session_state.get(_answer_key(lesson, index))
    if value is None:
        st.session_state[keys.LESSON_NOTICE] = "Pick an answer first."
        return
    try:
        book().submit(lesson.name, index, browser(), float(value) if isinstance(value, (int, float)) else value)
    except AnswerError as exc:
        st.session_state[keys.LESSON_NOTICE] = guards.one_line(exc)


def choice_label(step: Step, key: str, lang: str) -> str:
    return next((text_in(c.text, lang) for c in step.question.choices if c.key == key), str(key))


def answer_text(step: Step, value, lang: str) -> str:
    if value is None:
        return "n/a"
    if step.question.kind == "choice":
        return choice_label(step, value, lang)
    return f"{float(value):.3g}"


def revealed(lesson: Lesson, index: int, step: Step) -> bool:
    """Whether this session sees the step's answer: always without a question; on the projector once the presenter
    reveals it; for a student once their own answer is in (the answer is taken before the reveal)."""
    if step.question is None:
        return True
    if display.presenting():
        return bool(st.session_state.get(_reveal_key(lesson, index)))
    return book().mine(lesson.name, index, browser()) is not None


def _reveal_key(lesson: Lesson, index: int) -> str:
    return keys.keyed(keys.LESSON_REVEALED, lesson.name, index)


def _reveal_now(lesson: Lesson, index: int) -> None:
    st.session_state[_reveal_key(lesson, index)] = True


def answer_form(lesson: Lesson, index: int, step: Step, lang: str) -> None:
    q = step.question
    key = _answer_key(lesson, index)
    if q.kind == "choice":
        labels = {c.key: text_in(c.text, lang) for c in q.choices}
        st.radio(text_in(q.text, lang), list(labels), format_func=labels.get, index=None, key=key,
                 label_visibility="collapsed")
    else:
        st.number_input(word(lang, "estimate"), min_value=q.low, max_value=q.high, value=(q.low + q.high) / 2,
                        step=(q.high - q.low) / 100, key=key)
    st.button(word(lang, "answer"), type="primary", on_click=_submit, args=(lesson, index),
              key=keys.keyed(key, "submit"))
    if keys.LESSON_NOTICE in st.session_state:
        st.warning(st.session_state.pop(keys.LESSON_NOTICE), icon=":material/info:")
    st.caption(word(lang, "answer_first"))


def model_answer(step: Step, facts, lang: str) -> str | None:
    answer = facts.answer(step.question.answer) if isinstance(facts, Live) else None
    return None if answer is None else answer_text(step, answer, lang)


def question(lesson: Lesson, index: int, step: Step, facts, lang: str) -> None:
    """Ask; the student's answer is taken first, then the model's answer beside it with the live numbers. On the
    projector: the class's answers as they come in, and the reveal when the presenter asks for it."""
    st.markdown(f"##### {text_in(step.question.text, lang)}")
    shown = revealed(lesson, index, step)
    if display.presenting():  # the class's answers are on the right, under the view
        if not shown:
            st.button(word(lang, "reveal"), type="primary", icon=":material/visibility:", on_click=_reveal_now,
                      args=(lesson, index), key=keys.keyed(_reveal_key(lesson, index), "button"))
            return
        lines = []
    else:
        mine = book().mine(lesson.name, index, browser())
        if mine is None:
            answer_form(lesson, index, step, lang)
            return
        count = book().tally(lesson.name, index).count
        lines = [f"{word(lang, 'your')}: **{answer_text(step, mine, lang)}** · {word(lang, 'class')}: "
                 f"{word(lang, 'answered', n=count)}"]
    model = model_answer(step, facts, lang)
    if model is None:
        st.markdown("  \n".join(lines + [f"{word(lang, 'model')}: …"]))
        st.caption(word(lang, "wait"))
        return
    st.markdown("  \n".join(lines + [f"{word(lang, 'model')}: **{model}**"]))
    reveal(step, facts, lang)


def reveal(step: Step, facts: Live, lang: str) -> None:
    outcome = facts.outcomes.get(step.reveal_by, "") if step.reveal_by else ""
    if outcome in step.reveal:
        st.success(facts.fill(text_in(step.reveal[outcome], lang)), icon=":material/lightbulb:")


def class_panel(lesson: Lesson, index: int, step: Step, facts, lang: str, shown: bool) -> None:
    """On the projector: how the class answered (a bar per choice, or the spread of the estimates) and how many
    answered, with the model's answer marked once it is revealed; it refreshes by itself while the class answers.
    The teacher's clear."""
    if step.question is not None and display.presenting():
        _live_class_panel(lesson, index, step, facts if shown else None, lang)


@st.fragment(run_every=CLASS_EVERY_S)
def _live_class_panel(lesson: Lesson, index: int, step: Step, facts, lang: str) -> None:
    q = step.question
    tally = book().tally(lesson.name, index)
    model = facts.answer(q.answer) if isinstance(facts, Live) else None
    marked = f" · :orange[{word(lang, 'marked')}]" if model is not None else ""
    st.markdown(f"**{word(lang, 'class')}** · {word(lang, 'answered', n=tally.count)}{marked}")
    if q.kind == "choice":
        frame = pd.DataFrame({"choice": [text_in(c.text, lang) for c in q.choices],
                              "count": [tally.choices.get(c.key, 0) for c in q.choices],
                              "model": [c.key == model for c in q.choices]})
        figure = charts.choice_answers(frame, display.height(22 * len(q.choices)))
        line = " · ".join(f"{choice}: {count}" for choice, count in zip(frame["choice"], frame["count"]))
    else:
        figure = charts.estimate_answers(tally.estimates, model, q.low, q.high, display.height(60))
        line = " · ".join(f"{v:g}" for v in tally.estimates[:40])
    display.chart(figure, f"lesson-class-{index}", downloads=False)
    if line:
        st.caption(line)


def teacher_tools(lesson: Lesson, lang: str) -> None:
    """The teacher's control of the class's answers, in the sidebar (out of the projector's way)."""
    if owner.is_teacher():
        st.sidebar.button(word(lang, "clear"), icon=":material/delete_sweep:", on_click=_clear, args=(lesson.name,),
                          key=keys.keyed(keys.LESSON_ANSWER, "clear"))
        if keys.LESSON_NOTICE in st.session_state:
            st.sidebar.warning(st.session_state.pop(keys.LESSON_NOTICE), icon=":material/info:")


def _clear(name: str) -> None:
    try:
        book().clear(name, owner.me())
    except PermissionError as exc:
        st.session_state[keys.LESSON_NOTICE] = guards.one_line(exc)


def text_panel(lesson: Lesson, index: int, step: Step, facts, lang: str) -> None:
    st.subheader(text_in(step.title, lang), anchor=False)
    body = text_in(step.text, lang)
    if isinstance(facts, Live) or "{" not in body:
        st.markdown(filled(body, facts))
    else:  # the numbers come once the step's runs exist
        st.markdown(body.split("{", 1)[0].rstrip() + " …")
    if step.question is not None:
        question(lesson, index, step, facts, lang)
    elif isinstance(facts, Live):
        reveal(step, facts, lang)


def header(lesson: Lesson, index: int, lang: str, lessons: list[Lesson]) -> None:
    """The lesson, the step with its progress, Back and Next, the language: one row, so no step needs a scroll."""
    count = len(lesson.steps)
    if display.presenting():
        st.space("small")  # the presenter's top padding is a little less than Streamlit's header bar over it
    top = st.columns([3.4, 2.6, 1.5, 1.5, 2], vertical_alignment="center")
    lesson_picker(top[0], lessons, lang)
    top[1].progress((index + 1) / count, text=word(lang, "step", n=index + 1, k=count))
    top[2].button(word(lang, "back"), icon=":material/arrow_back:", on_click=move, args=(-1, count),
                  disabled=index == 0, width="stretch")
    top[3].button(word(lang, "next"), icon=":material/arrow_forward:", on_click=move, args=(1, count),
                  disabled=index == count - 1, type="primary", width="stretch")
    language_picker(top[4], lesson)
