"""End to end in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright,
against `streamlit run streamlit_app.py` on a free port of 127.0.0.1, on the tutorial data (RNNVIZ_DATA).

One journey: start a training, watch the live chart gain points, pause and resume it, switch pages while
it runs, stop it and see the auto-refresh stop, pick a confusion-matrix cell, and read the gates of a
surname. A screenshot of every page goes to a temporary folder (and to the folder RNNVIZ_SCREENSHOTS names,
e.g. `RNNVIZ_SCREENSHOTS=docs/screenshots` to refresh the README's pictures). Timings are printed (pytest -s).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.helpers import SETTLED, launch_chromium, save_screenshot, streamlit_server, wait_for

PROGRESS = "[data-testid=stProgress]"
WIDTH = 1600  # a projector-sized window
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser-runs")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where this module's screenshots go."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def app_url(runs_dir, real_data_dir, tmp_path_factory):
    """The app served by `streamlit run` with its own runs folder; stopped after the module."""
    log = tmp_path_factory.mktemp("browser-server") / "server.log"
    with streamlit_server(runs_dir, real_data_dir, log) as (url, _, _):
        yield url


@pytest.fixture
def page():
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        tab = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


def settle(page: Page) -> None:
    page.wait_for_selector(SETTLED, timeout=120_000)


def go(page: Page, title: str) -> float:
    """Click a page in the sidebar; seconds until its title is shown and its script has finished."""
    began = time.perf_counter()
    page.get_by_test_id("stSidebar").get_by_test_id("stPageLink").get_by_text(title, exact=True).click()
    page.wait_for_selector(f"h1:has-text('{title}')")
    settle(page)
    return time.perf_counter() - began


def screenshot(page: Page, folder: Path, name: str) -> Path:
    """The whole page: the window is stretched to the content, which scrolls inside Streamlit's main area."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.mouse.move(WIDTH - 5, 5)  # no tooltip or chart toolbar in the picture
    time.sleep(0.5)  # let vega finish drawing
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section')]"
                           ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, 8000)})
    time.sleep(0.5)
    path = save_screenshot(page, folder, name)
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    return path


def progress_text(page: Page) -> str:
    return page.locator(PROGRESS).first.inner_text()


def stable_progress(page: Page) -> str:
    """The progress text when it has not changed for a second, else ''."""
    before = progress_text(page)
    time.sleep(1)
    return before if progress_text(page) == before else ""


def step_of(text: str) -> int:
    return int(text.split("step ", 1)[1].split(" ", 1)[0].replace(",", ""))


# Points drawn in the live loss chart (the page's first chart): vertices of its SVG line paths.
LINE_POINTS = (
    "() => { const chart = document.querySelector('[data-testid=stVegaLiteChart]');"
    " if (!chart) return 0;"
    " return [...chart.querySelectorAll('g.mark-line path')]"
    "   .reduce((n, p) => n + (p.getAttribute('d') || '').split(/[ML]/).length - 1, 0); }"
)


def line_points(page: Page) -> int:
    return page.evaluate(LINE_POINTS)


def test_train_live_then_evaluate_and_gates_in_a_real_browser(app_url, page, shots, tmp_path):
    timings: dict[str, float] = {}
    try:
        journey(app_url, page, shots, timings)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot at the failure: {tmp_path / 'failure.png'}")
        raise
    finally:
        for what, seconds in timings.items():
            print(f"{what}: {seconds:.2f}")
    assert timings["Pause click to 'paused' shown (s)"] < 5
    assert timings["Stop click to 'stopping' shown (s)"] < 5


def journey(app_url: str, page: Page, shots: Path, timings: dict[str, float]) -> None:
    sent: list[float] = []  # every message the browser sends: reruns, including the live panel's refreshes
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.perf_counter())))

    began = time.perf_counter()
    page.goto(app_url)
    page.wait_for_selector("h1:has-text('rnnviz')")
    timings["first render of Home, title (s)"] = time.perf_counter() - began
    page.wait_for_selector("[data-testid=stCode] >> nth=0")  # the first tab shows; the others are there, hidden
    settle(page)
    timings["first render of Home, complete with the model structures (s)"] = time.perf_counter() - began
    assert page.get_by_text("17,993 distinct surnames in 18 categories").is_visible()
    assert page.locator("[data-testid=stCode]").count() == 3
    screenshot(page, shots, "home")

    go(page, "Data")
    page.wait_for_selector("[data-testid=stVegaLiteChart] g.mark-rect path")
    assert page.get_by_text("Names per category").is_visible()
    screenshot(page, shots, "data")

    go(page, "Train")
    # Long enough that it cannot end before the test stops it: 8 epochs of nn.LSTM take about 10 s on a quiet machine.
    page.get_by_role("spinbutton", name="Epochs", exact=True).fill("60")
    page.get_by_role("spinbutton", name="Batch size", exact=True).fill("64")
    page.get_by_text("Split and evaluation").click()
    page.get_by_role("spinbutton", name="Steps between curve points", exact=True).fill("10")
    started = time.perf_counter()
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stProgress]')].some(e => e.innerText.includes('names/s'))",
        timeout=120_000)
    page.wait_for_function("() => document.querySelector('[data-testid=stVegaLiteChart] g.mark-line path')")
    timings["Start to first point on the chart (s)"] = time.perf_counter() - started

    # Pause holds the training still, Resume lets it go on: both show within a second or two.
    began = time.perf_counter()
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function("() => document.querySelector('[data-testid=stProgress]').innerText.includes('paused')")
    timings["Pause click to 'paused' shown (s)"] = time.perf_counter() - began
    # An evaluation that was under way when the pause came in lands first (slowly on a busy machine).
    held = wait_for(lambda: stable_progress(page), timeout=30, what="the paused progress settling", interval=0)
    time.sleep(2)
    assert progress_text(page) == held, "a paused training must not move"
    points = line_points(page)
    page.get_by_role("button", name="Resume").click()
    page.wait_for_function(
        f"() => {{ const t = document.querySelector('[data-testid=stProgress]')?.innerText || '';"
        f" const m = t.match(/step ([0-9,]+)/); return m && parseInt(m[1].replace(/,/g, '')) > {step_of(held)}; }}",
        timeout=120_000)
    assert step_of(progress_text(page)) > step_of(held)
    page.wait_for_function(f"(before) => ({LINE_POINTS})() > before", arg=points, timeout=60_000)
    assert line_points(page) > points, "the live chart gains points while the training runs"

    # The page stays responsive while the training runs: a widget that reruns the whole page (overlaying the
    # running training's curves), a page switch, and the training is still there on return.
    began = time.perf_counter()
    overlay = page.get_by_test_id("stMultiSelect").locator("input")
    overlay.click()
    overlay.press("ArrowDown")
    overlay.press("Enter")
    overlay.press("Escape")
    page.wait_for_selector("text=Its curves are in Compare runs")
    page.wait_for_function(f"(before) => ({LINE_POINTS})() > 0", arg=0)
    timings["overlay the running training (widget, full rerun) while training (s)"] = time.perf_counter() - began
    screenshot(page, shots, "train-live")
    timings["switch to Data while training (s)"] = go(page, "Data")
    began = time.perf_counter()
    page.get_by_test_id("stSidebar").get_by_test_id("stPageLink").get_by_text("Train", exact=True).click()
    page.wait_for_selector(PROGRESS)
    timings["switch back to Train, live panel shown (s)"] = time.perf_counter() - began

    page.wait_for_function("() => document.querySelector('[data-testid=stProgress]')?.innerText.includes('epoch 2')",
                           timeout=300_000)  # a stopped run keeps its weights once it has learnt something
    began = time.perf_counter()
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stProgress]')]"
                           ".some(e => e.innerText.includes('stopping'))", timeout=10_000)
    timings["Stop click to 'stopping' shown (s)"] = time.perf_counter() - began
    page.wait_for_selector("[data-testid=stAlertContentSuccess]:has-text('stopped')", timeout=60_000)
    timings["Stop click to 'stopped' shown, final scores in (s)"] = time.perf_counter() - began
    timings["Start to stopped (s)"] = time.perf_counter() - started
    assert page.locator(PROGRESS).count() == 0
    settle(page)
    quiet_from = len(sent)
    time.sleep(3)
    assert len(sent) == quiet_from, "the live panel must stop refreshing once no training runs"
    screenshot(page, shots, "train")

    go(page, "Evaluate")
    page.wait_for_selector("[data-testid=stVegaLiteChart] g.mark-rect path")
    assert page.get_by_text("Balanced accuracy").is_visible()
    cell = page.locator("[data-testid=stVegaLiteChart] g.mark-rect path"
                        "[aria-label^='predicted: English; true: Russian;']").first
    began = time.perf_counter()
    cell.click(position={"x": 3, "y": 3}, force=True)  # a corner, away from the count written in the cell
    page.wait_for_selector("text=/[0-9,]+ Russian names predicted as English/")
    settle(page)
    timings["click a matrix cell to its names listed (s)"] = time.perf_counter() - began
    screenshot(page, shots, "evaluate")

    go(page, "Gates")
    began = time.perf_counter()
    surname = page.get_by_role("textbox", name="Surname", exact=True)
    surname.fill("Nakamura")
    page.get_by_role("textbox", name="Second surname (optional)", exact=True).fill("Schmidt")
    page.get_by_role("textbox", name="Second surname (optional)", exact=True).press("Enter")
    settle(page)
    timings["type a surname to its gates drawn (s)"] = time.perf_counter() - began
    tops = page.locator("[aria-label^='Top predictions: ']")
    assert tops.count() == 2
    assert page.locator("h3:has-text('Nakamura')").is_visible() and page.locator("h3:has-text('Schmidt')").is_visible()
    page.get_by_test_id("stButtonGroup").first.get_by_text("Heatmaps", exact=True).click()  # the page opens on the cell
    settle(page)
    heatmaps = page.locator("[data-testid=stVegaLiteChart] g.mark-rect")
    # input, forget and output gates for each name (drawn after the view's rerun, slowly on a busy machine)
    wait_for(lambda: heatmaps.count() >= 6, timeout=30, what="six gate heatmaps", interval=0.2)
    screenshot(page, shots, "gates")


def test_shared_links_open_the_same_setup_in_a_real_browser(app_url, runs_dir, real_dataset, page, shots, tmp_path):
    """A teacher's links: the Gates page on a given run and surname in presenter mode, and Train settings."""
    try:
        shared_links(app_url, runs_dir, real_dataset, page, shots)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot at the failure: {tmp_path / 'failure.png'}")
        raise


def shared_links(app_url: str, runs_dir: Path, real_dataset, page: Page, shots: Path) -> None:
    from rnnviz.config import TrainConfig
    from rnnviz.runs import train_run

    writer, result = train_run(TrainConfig(model="mylstm", hidden_size=16, epochs=1, batch_size=256), real_dataset,
                               runs_dir)
    assert result is not None and result.status == "finished"

    began = time.perf_counter()
    page.goto(f"{app_url}/gates?run={writer.run_id}&name=Schmidt&present=1")
    page.wait_for_selector("h3:has-text('Schmidt')")
    settle(page)
    print(f"shared Gates link to gates drawn (s): {time.perf_counter() - began:.2f}")
    # Assertions retry until the page has settled: the first run of a linked page may be followed by another.
    expect(page.get_by_role("textbox", name="Surname", exact=True)).to_have_value("Schmidt")
    expect(page.get_by_role("switch", name="Presenter mode")).to_be_checked()
    page.wait_for_function("() => parseFloat(getComputedStyle(document.querySelector('h1')).fontSize) >= 44")
    page.wait_for_selector("[aria-label^='Top predictions: ']")
    settle(page)
    assert page.locator("[data-testid=stPopover]").count() == 0  # no downloads while presenting
    screenshot(page, shots, "gates-presenter")

    page.goto(f"{app_url}/train?model=rnn&hidden_size=32&lr=0.005&epochs=bogus")
    page.wait_for_selector("text=Ignored from the link")
    settle(page)
    expect(page.locator("[data-testid=stAlert]").first).to_contain_text("epochs='bogus'")
    expect(page.get_by_role("spinbutton", name="Hidden size", exact=True)).to_have_value("32")
    expect(page.get_by_role("spinbutton", name="Learning rate", exact=True)).to_have_value(re.compile(r"^0\.005"))
    model_box = page.locator("[data-testid=stSelectbox]").filter(has=page.get_by_text("Model", exact=True))
    shown = model_box.first.evaluate("e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value)"
                                     ".join(' ') + ' ' + (e.querySelector('[aria-selected], [title]')?.title || '')")
    assert "RNN" in shown and "LSTM" not in shown, shown
    expect(page.get_by_role("switch", name="Presenter mode")).not_to_be_checked()
    expect(page).to_have_url(re.compile(r"hidden_size=32"))
    assert "epochs=" not in page.url
