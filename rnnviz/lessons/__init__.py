"""Lessons: guided predict-then-check walks through the app, written as TOML files.

`rnnviz.lessons.lesson` loads and checks a lesson file (every problem is one line naming the file and the step);
`rnnviz.lessons.facts` computes each step's live numbers, its placeholders and the model's own answer, from the
runs on disk through the library's existing functions. Shipped lessons live beside this file; a teacher's own in
RNNVIZ_LESSONS (default data/lessons/).
"""

from .lesson import (
    LANGUAGES,
    Lesson,
    LessonError,
    Question,
    Step,
    find_lesson,
    lessons_dir,
    list_lessons,
    load_lesson,
)

__all__ = ["LANGUAGES", "Lesson", "LessonError", "Question", "Step", "find_lesson", "lessons_dir", "list_lessons",
           "load_lesson"]
