"""Three students on one server, each in their own browser context (headless Chromium driven by Playwright),
against `streamlit run streamlit_app.py` on a free port of 127.0.0.1 with tiny made-up data.

Two trainings run at once, the third is refused with the limit in one line, every student sees the trainings of
the others, a training keeps going (and one finishes) after the tab that started it is closed, Stop clicked twice
is harmless, and the server log holds no traceback. The runs folder ends with exactly the three runs started.
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


def fill(page: Page, epochs: int, batch_size: int) -> None:
    page.get_by_role("spinbutton", name="Hidden size", exact=True).fill("8")
    page.get_by_role("spinbutton", name="Epochs", exact=True).fill(str(epochs))
    page.get_by_role("spinbutton", name="Batch size", exact=True).fill(str(batch_size))


def start(page: Page, epochs: int, batch_size: int) -> None:
    fill(page, epochs, batch_size)
    page.get_by_role("button", name="Start training").click()


def run_folders(runs: Path) -> list[Path]:
    """Run folders, without the hidden ones a run is assembled in."""
    return sorted(p for p in runs.iterdir() if not p.name.startswith(".")) if runs.is_dir() else []


def stop_buttons(page: Page):
    return page.get_by_role("button", name="Stop", exact=True)


def test_three_students_two_trainings_a_refusal_and_a_closed_tab(tmp_path):
    runs, log = tmp_path / "runs", tmp_path / "server.log"
    data = write_tiny_folder(tmp_path / "names")
    with streamlit_server(runs, data, log) as (url, _, _), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            anna, ben, chloe = open_train(browser, url, 3)

            # Anna starts a long training and closes her tab at once; Ben starts another long one.
            start(anna, epochs=200, batch_size=1)
            (annas,) = wait_for(lambda: run_folders(runs), 30, "Anna's run folder")
            anna.context.close()
            start(ben, epochs=200, batch_size=1)
            bens = wait_for(lambda: [p for p in run_folders(runs) if p != annas], 30, "Ben's run folder")[0]

            # Chloe is refused, in one line that names the limit, and sees both trainings of the others live.
            start(chloe, epochs=3, batch_size=1)
            refusal = chloe.locator("[data-testid=stAlertContentError] [data-testid=stMarkdownContainer]",
                                    has_text="the limit is 2")
            refusal.wait_for(timeout=30_000)
            assert "\n" not in refusal.inner_text().strip()
            wait_for(lambda: stop_buttons(chloe).count() == 2, 30, "both trainings in Chloe's live panel")
            assert len(run_folders(runs)) == 2, "a refused start leaves no run folder"

            # Anna's training went on without her tab.
            rows = len(load_metrics(annas))
            wait_for(lambda: len(load_metrics(annas)) > rows, 60, "Anna's training going on after her tab closed")

            # Ben stops both trainings, each with a double click: each stops once, cleanly.
            wait_for(lambda: stop_buttons(ben).count() == 2, 30, "both trainings in Ben's live panel")
            for left in (1, 0):
                stop_buttons(ben).first.dblclick()
                wait_for(lambda left=left: stop_buttons(ben).count() == left, 30, "a training leaving the live panel")
            for run in (annas, bens):
                wait_for(lambda run=run: (run / "summary.json").exists(), 60, "the trainings stopping")
                assert json.loads((run / "summary.json").read_text())["status"] == "stopped"

            # The slots are free again: Chloe starts and closes her tab while it trains; it finishes without her.
            wait_for(lambda: stop_buttons(chloe).count() == 0, 30, "Chloe's live panel emptying")
            chloe.get_by_role("button", name="Start training").click()
            chloes = wait_for(lambda: [p for p in run_folders(runs) if p not in (annas, bens)], 30, "Chloe's run")[0]
            chloe.context.close()
            assert not (chloes / "summary.json").exists(), "Chloe's training was still running when she left"
            wait_for(lambda: (chloes / "summary.json").exists(), 120, "Chloe's training finishing")
            assert json.loads((chloes / "summary.json").read_text())["status"] == "finished"
        finally:
            browser.close()
        wait_for(lambda: all(i.status in ("finished", "stopped") for i in list_runs(runs)), 60, "every run ending")
    infos = list_runs(runs)
    assert sorted(i.status for i in infos) == ["finished", "stopped", "stopped"]
    assert all(i.error == "" for i in infos)
    assert len({i.run_id for i in infos}) == 3 == len(list(runs.iterdir())), "no run lost, duplicated or half-made"
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log and "Exception" not in server_log, server_log[-3000:]
