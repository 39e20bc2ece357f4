"""Three students and a teacher on one server, each in their own browser context (headless Chromium driven by
Playwright), against `streamlit run streamlit_app.py` on a free port of 127.0.0.1 with tiny made-up data.

Two trainings run at once and the third waits in the queue, showing its place; each student sees Stop only for
their own run (a reload keeps it theirs, through the app's cookie) and no Delete for the others'; a training keeps
going after the tab that started it is closed; the teacher, once the key is entered, stops the others' runs (a
double click is harmless) and the queued run starts by itself and finishes after its tab has closed. The server log
holds no traceback, and the runs folder ends with exactly the three runs started. Screenshots at 1280x800 and
1920x1080 (presenter mode) go to pytest's tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from rnnviz.runs import list_runs, load_metrics
from tests.conftest import write_tiny_folder
from tests.helpers import SETTLED, launch_chromium, streamlit_server, wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def open_train(browser, url: str, students: int) -> list[Page]:
    """New browser contexts (own cookies and session, like other students' laptops), all opening the Train page."""
    pages = []
    for _ in range(students):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/train", wait_until="commit")
        pages.append(page)
    for page in pages:
        page.get_by_role("button", name="Start training").wait_for()
        page.wait_for_selector(SETTLED)
    return pages


def fill(page: Page, epochs: int, batch_size: int, hidden: int = 8) -> None:
    page.get_by_role("spinbutton", name="Hidden size", exact=True).fill(str(hidden))
    page.get_by_role("spinbutton", name="Epochs", exact=True).fill(str(epochs))
    page.get_by_role("spinbutton", name="Batch size", exact=True).fill(str(batch_size))


def start(page: Page, epochs: int, batch_size: int, hidden: int = 8) -> None:
    fill(page, epochs, batch_size, hidden)
    page.get_by_role("button", name="Start training").click()


def run_folders(runs: Path) -> list[Path]:
    """Run folders, without the hidden ones a run is assembled in."""
    return sorted(p for p in runs.iterdir() if not p.name.startswith(".")) if runs.is_dir() else []


def stop_buttons(page: Page):
    return page.get_by_role("button", name="Stop", exact=True)


TEACHER_KEY = "class-key-4821"


def shoot(page: Page, folder: Path, name: str) -> None:
    """The page at 1280x800, then at 1920x1080 in presenter mode; back to where it was."""
    page.wait_for_selector(SETTLED)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(folder / f"{name}-1280.png"))
    url = page.url
    page.goto(url + ("&" if "?" in url else "?") + "present=1", wait_until="commit")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.get_by_role("heading", name="Train").wait_for()
    page.wait_for_selector(SETTLED)
    page.screenshot(path=str(folder / f"{name}-1920-present.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url, wait_until="commit")
    page.get_by_role("button", name="Start training").wait_for()
    page.wait_for_selector(SETTLED)


def test_three_students_a_queue_owner_only_controls_and_a_teacher(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_TEACHER_KEY", TEACHER_KEY)
    runs, log = tmp_path / "runs", tmp_path / "server.log"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    data = write_tiny_folder(tmp_path / "names")
    with streamlit_server(runs, data, log) as (url, _, _), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            anna, ben, chloe, teacher = open_train(browser, url, 4)
            for page in (anna, ben, chloe):
                assert wait_for(lambda page=page: any(c["name"] == "rnnviz_owner" for c in page.context.cookies()),
                                30, "the owner cookie set by the app")
            ben.get_by_role("textbox", name="Your name").fill("Ben")
            ben.get_by_role("textbox", name="Your name").press("Enter")
            ben.wait_for_selector(SETTLED)

            # Anna starts a long training and closes her tab at once; Ben starts another long one.
            start(anna, epochs=200, batch_size=1, hidden=1024)  # outlasts the test, even in a fast worker
            (annas,) = wait_for(lambda: run_folders(runs), 30, "Anna's run folder")
            anna.context.close()
            start(ben, epochs=200, batch_size=1, hidden=1024)
            bens = wait_for(lambda: [p for p in run_folders(runs) if p != annas], 30, "Ben's run folder")[0]

            # Chloe's training waits in the queue with its place; she can cancel it, and stop nobody else's.
            start(chloe, epochs=3, batch_size=1)
            chloe.get_by_text("queued: 1st in line").first.wait_for(timeout=30_000)
            assert chloe.get_by_role("button", name="Cancel", exact=True).count() == 1
            wait_for(lambda: chloe.get_by_text(" · running · ").count() == 2, 30, "both trainings in Chloe's panel")
            assert stop_buttons(chloe).count() == 0 and chloe.get_by_role("button", name="Pause").count() == 0
            assert chloe.get_by_role("button", name="Delete…").count() == 0, "no Delete for the others' runs"
            assert len(run_folders(runs)) == 2, "a queued training has no run folder yet"

            # Ben sees Stop for his own run only, and still after a reload (the cookie keeps him its owner).
            wait_for(lambda: stop_buttons(ben).count() == 1, 30, "Ben's own Stop")
            ben.reload(wait_until="commit")
            ben.get_by_role("button", name="Start training").wait_for()
            wait_for(lambda: stop_buttons(ben).count() == 1, 30, "Ben's Stop after a reload")
            wait_for(lambda: ben.get_by_role("textbox", name="Your name").input_value() == "Ben", 30,
                     "Ben's name back in its box after the reload")
            shoot(ben, shots, "student-ben")
            shoot(chloe, shots, "student-chloe")

            # Anna's training went on without her tab.
            rows = len(load_metrics(annas))
            wait_for(lambda: len(load_metrics(annas)) > rows, 60, "Anna's training going on after her tab closed")

            # The teacher: a wrong key is refused; the right one shows every Stop.
            key_box = teacher.get_by_role("textbox", name="Teacher key")
            key_box.fill("not the key")
            key_box.press("Enter")
            teacher.get_by_text("That is not the teacher key.").wait_for()
            assert stop_buttons(teacher).count() == 0
            teacher.get_by_role("textbox", name="Teacher key").fill(TEACHER_KEY)
            teacher.get_by_role("textbox", name="Teacher key").press("Enter")
            teacher.get_by_text("Teacher: you can manage every run").wait_for()
            wait_for(lambda: stop_buttons(teacher).count() == 2, 30, "both trainings in the teacher's panel")
            teacher.wait_for_selector(SETTLED)
            assert teacher.get_by_role("textbox", name="Teacher key").count() == 0
            assert TEACHER_KEY not in teacher.content(), "the key box is gone with what was typed in it"
            shoot(teacher, shots, "teacher")
            wait_for(lambda: stop_buttons(teacher).count() == 2, 30, "the teacher's Stop buttons after a reload")
            for run in (annas, bens):  # each with a double click: each stops once, cleanly
                teacher.locator(f".st-key-stop-{run.name} button").dblclick()  # the run's own Stop (its key)
            for run in (annas, bens):
                wait_for(lambda run=run: (run / "summary.json").exists(), 60, "the trainings stopping")
                assert json.loads((run / "summary.json").read_text())["status"] == "stopped"

            # Chloe's queued training started by itself; she closes her tab and it finishes without her.
            chloes = wait_for(lambda: [p for p in run_folders(runs) if p not in (annas, bens)], 60, "Chloe's run")[0]
            chloe.context.close()
            wait_for(lambda: (chloes / "summary.json").exists(), 120, "Chloe's training finishing")
            assert json.loads((chloes / "summary.json").read_text())["status"] == "finished"
        finally:
            browser.close()
        wait_for(lambda: all(i.status in ("finished", "stopped") for i in list_runs(runs)), 60, "every run ending")
    infos = list_runs(runs)
    assert sorted(i.status for i in infos) == ["finished", "stopped", "stopped"]
    assert all(i.error == "" for i in infos)
    assert {i.owner_name for i in infos} == {"", "Ben"} and len({i.owner for i in infos}) == 3
    assert len({i.run_id for i in infos}) == 3 == len(run_folders(runs)), "no run lost, duplicated or half-made"
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log and "Exception" not in server_log, server_log[-3000:]
    assert TEACHER_KEY not in server_log
