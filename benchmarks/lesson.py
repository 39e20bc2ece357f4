"""How fast each lesson step's live part answers once its runs exist.

    python -m benchmarks.lesson [--runs DIR] [--lesson why_lstm] [--json]

For every step of the lesson, on the runs folder given (default: RNNVIZ_RUNS or runs/): the facts computed the
first time (nothing cached: what the prefetch thread pays once per class), computed again (what every later visit
pays: the shared cache), and the Lesson page's rerun at that step through Streamlit's AppTest with the facts
cached (what a student waits for after Next). The target: the live part within 1 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rnnviz.lessons import facts as lesson_facts
from rnnviz.lessons import find_lesson
from rnnviz.lessons.facts import MissingRuns, Source, compute, resolve_roles, step_roles
from rnnviz.runs import list_runs, runs_dir

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0


def measure_facts(lesson, root: Path) -> list[dict]:
    infos = list_runs(root)
    source = Source(root)
    rows = []
    for number, step in enumerate(lesson.steps, 1):
        runs = resolve_roles(infos, step_roles(step))
        lesson_facts._RESULTS.clear()
        row = {"step": number, "view": step.view}
        try:
            began = time.perf_counter()
            compute(step, runs, source)
            row["first_s"] = time.perf_counter() - began
            began = time.perf_counter()
            compute(step, runs, source)
            row["cached_s"] = time.perf_counter() - began
        except MissingRuns as exc:
            row["note"] = str(exc)
        rows.append(row)
    return rows


def measure_page(lesson, root: Path, rows: list[dict]) -> None:
    """The page rerun at each step (Next pressed), with every step's facts computed ahead as the page's
    prefetch does."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["RNNVIZ_RUNS"] = str(root)
    infos = list_runs(root)
    for step in lesson.steps:  # what the page's prefetch thread leaves in the shared cache
        try:
            compute(step, resolve_roles(infos, step_roles(step)), Source(root))
        except MissingRuns:
            pass
    at = AppTest.from_file(str(ROOT / "pages" / "lesson.py"), default_timeout=120)
    at.query_params.update({"lesson": lesson.name, "step": "1"})
    at.run()
    for row in rows:
        if row["step"] > 1:
            began = time.perf_counter()
            next(b for b in at.button if b.label == "Next").click().run()
            row["page_s"] = time.perf_counter() - began
        else:
            began = time.perf_counter()
            at.run()
            row["page_s"] = time.perf_counter() - began
        if at.exception:
            row["note"] = str(at.exception[0].value)[:80]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lesson", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", metavar="DIR", help="runs folder (default: $RNNVIZ_RUNS or ./runs)")
    parser.add_argument("--lesson", default="why_lstm")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    root = runs_dir(args.runs)
    lesson = find_lesson(args.lesson)
    rows = measure_facts(lesson, root)
    measure_page(lesson, root, rows)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'step':>4}  {'view':<10} {'first (s)':>9} {'cached (s)':>10} {'page (s)':>8}  within {TARGET_S:g} s")
    for row in rows:
        first, cached, page = (row.get(k) for k in ("first_s", "cached_s", "page_s"))
        fmt = lambda v: f"{v:.3f}" if v is not None else "-"  # noqa: E731
        ok = "yes" if page is not None and cached is not None and page <= TARGET_S else "no"
        print(f"{row['step']:>4}  {row['view']:<10} {fmt(first):>9} {fmt(cached):>10} {fmt(page):>8}  {ok}"
              + (f"  ({row['note']})" if row.get("note") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
