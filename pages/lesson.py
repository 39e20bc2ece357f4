"""A lesson: step by step, the text and its question beside the live view it sets up; predict, then check; the
class's answers on the projector. Opens at /lesson?lesson=NAME&step=N&lang=zh."""

import streamlit as st

from ui import display, frame, lesson, nav

with frame.page(nav.LESSON):
    chosen, lessons = lesson.choose_lesson()
    lang = lesson.language(chosen)
    index = lesson.step_index(chosen)
    step = chosen.steps[index]
    lesson.remember_in_link(chosen, index, lang)
    lesson.lead(chosen, index)
    lesson.header(chosen, index, lang, lessons)
    lesson.prefetch(chosen)
    facts = lesson.live(step)
    shown = lesson.revealed(chosen, index, step)
    left, right = st.columns(lesson.COLUMNS[display.presenting()], gap="large")
    with left:
        lesson.text_panel(chosen, index, step, facts, lang)
    with right:
        lesson.view_panel(step, facts, lang, shown)
        lesson.class_panel(chosen, index, step, facts, lang, shown)
    lesson.follow(chosen)
    lesson.teacher_tools(chosen, lang)
