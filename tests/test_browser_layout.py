"""What a class sees: every page in headless Chromium at 1280x800 (a laptop, a common projector) and at 1920x1080
in presenter mode, with trained surname runs of the three models (the report's own among them) and runs on a
dataset of one's own.

Each screen fails on: the page scrolling sideways, a chart drawing wider than its column, two charts or tables
overlapping, chart text cut short with "…", a table cell reading None, an exception or "Something went wrong" on
the page; in presenter mode also on text under 18 px in a chart, a table or a code block (a data grid, whose canvas
text no style enlarges, is a failure there), metric numbers no larger than their labels, or an open sidebar. At
1280x800 each page's main chart (Train's demo curves, Evaluate's confusion matrix) must start on the first screen
with at least 60% of it visible, and each of Evaluate's two matrices side by side with at least 70%. A second
student's runs and an own dataset's runs are on the server throughout.
A screenshot of every screen goes to pytest's tmp_path, or to the folder RNNVIZ_SCREENSHOTS names (e.g.
docs/screenshots).

The demo is timed too: from the click on "Demo: RNN vs nn.LSTM" to both live curves on screen at 1920x1080 in
presenter mode; they must stay where they are when the trainings end, and both finish notices must stay.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.helpers import SETTLED, keep_probe, save_screenshot, streamlit_server

pytestmark = pytest.mark.slow

SIZES = {"laptop": (1280, 800, False), "projector": (1920, 1080, True)}
LONG_NAME = "Abcdefghijklmnopqrstuvwxyz" * 2 + "Zyxwvutsrqpo"  # 64 letters, no digits
assert len(LONG_NAME) == 64
PRESENTER_FONT = 18  # smallest chart text on a projector, in pixels
FOLD_SHARE = 0.6  # of a page's main chart visible without scrolling at 1280x800
COMPARE_FOLD_SHARE = 0.7  # of each of Evaluate's two matrices side by side, at 1280x800
# The share of each of the main area's first `count` charts (each page's main chart) inside the window.
FOLD = """(count) => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stVegaLiteChart]')]
  .slice(0, count).map(chart => {
    const box = chart.getBoundingClientRect();
    return Math.max(0, Math.min(box.bottom, window.innerHeight) - Math.max(box.top, 0)) / box.height;
  })"""
OWN = "cities"

# Every problem a class would see on the current screen, as sentences (an empty list: the screen is fine).
CHECKS = r"""
([presenting, letters]) => {
  const problems = [];
  const vw = window.innerWidth;
  const doc = document.documentElement;
  if (doc.scrollWidth > vw + 1) problems.push(`the page scrolls sideways (${doc.scrollWidth} > ${vw} px)`);
  const main = document.querySelector('[data-testid=stMain]');
  if (main && main.scrollWidth > main.clientWidth + 1)
    problems.push(`the main area scrolls sideways (${main.scrollWidth} > ${main.clientWidth} px)`);
  const mainBox = main.getBoundingClientRect();
  const boxes = [];
  let inputGates = 0;
  const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  document.querySelectorAll('[data-testid=stVegaLiteChart]').forEach((chart, i) => {
    if (!visible(chart)) return;
    const holder = chart.closest('[data-testid=stElementContainer]') || chart.parentElement;
    const column = holder.getBoundingClientRect();
    const drawn = chart.querySelector('svg.marks, canvas');
    const title = [...chart.querySelectorAll('g.role-title text')].map(t => t.textContent).join(' ');
    const name = `chart ${i + 1}${title ? ' "' + title + '"' : ''}`;
    if (!drawn) { problems.push(`${name} is not drawn`); return; }
    const box = drawn.getBoundingClientRect();
    if (box.width < 20 || box.height < 20) problems.push(`${name} is drawn ${box.width}x${box.height} px`);
    if (box.right > column.right + 1 || box.left < column.left - 1)
      problems.push(`${name} draws ${Math.round(box.left)}-${Math.round(box.right)} px, wider than its column ` +
                    `${Math.round(column.left)}-${Math.round(column.right)} px`);
    if (box.right > mainBox.right + 1) problems.push(`${name} runs off the page`);
    boxes.push([name, box]);
    chart.querySelectorAll('text').forEach(t => {
      if (t.textContent.trim().endsWith('…')) problems.push(`${name}: text cut short: "${t.textContent}"`);
    });
    if (presenting) {
      // Every text the chart draws: titles, axes, legends and the text on its marks (a diagram's boxes, a strip's
      // letters, a note beside a line, a matrix's counts). Hidden text (a count too small for its cell, an axis
      // label dropped for overlap) is not drawn. The one exception: a long name's letters on a letter axis shrink
      // so that every one of them fits, which only happens where 18 px letters would not fit along the axis.
      chart.querySelectorAll('text').forEach(t => {
        const size = parseFloat(getComputedStyle(t).fontSize);
        if (size >= PRESENTER_FONT || !t.textContent.trim() || t.getAttribute('opacity') === '0') return;
        const axis = t.closest('g.role-axis');
        const letter = t.textContent.length === 1 && !/[0-9]/.test(t.textContent);
        if (axis && letter && t.closest('g.role-axis-label')) {
          const count = axis.querySelectorAll('g.role-axis-label text').length;
          if (count * PRESENTER_FONT / 0.9 > axis.getBoundingClientRect().width * 0.95) return;
        }
        problems.push(`${name}: "${t.textContent}" is ${size} px in presenter mode`);
      });
    }
    if (letters.length && title.includes('input gate')) {  // the k-th name's heatmap labels its every letter
      const wanted = letters[inputGates++];
      const drawnLetters = [...chart.querySelectorAll('g.role-axis-label text')]
        .filter(t => t.textContent.length === 1 && !/[0-9]/.test(t.textContent)).length;
      if (drawnLetters !== wanted) problems.push(`${name} labels ${drawnLetters} of ${wanted} letters`);
    }
  });
  document.querySelectorAll('[data-testid=stDataFrame], [data-testid=stTable]').forEach((table, i) => {
    if (!visible(table)) return;
    const box = table.getBoundingClientRect();
    if (box.right > mainBox.right + 1) problems.push(`table ${i + 1} runs off the page`);
    boxes.push([`table ${i + 1}`, box]);
    const nones = [...table.querySelectorAll('td')].filter(td => td.innerText.trim() === 'None').length;
    if (nones) problems.push(`table ${i + 1} shows None in ${nones} cell(s)`);
  });
  for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {
    const [p, q] = [boxes[a][1], boxes[b][1]];
    const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
    const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (w > 2 && h > 2)
      problems.push(`${boxes[a][0]} and ${boxes[b][0]} overlap (${Math.round(w)}x${Math.round(h)} px)`);
  }
  const exceptions = document.querySelectorAll('[data-testid=stException]').length;
  if (exceptions) problems.push(`${exceptions} exception box(es)`);
  document.querySelectorAll('[data-testid=stAlert]').forEach(alert => {
    if (alert.innerText.includes('Something went wrong')) problems.push(`error: ${alert.innerText}`);
  });
  if (presenting) {
    const sidebar = document.querySelector('[data-testid=stSidebar]');
    if (sidebar && sidebar.getAttribute('aria-expanded') === 'true') problems.push('the sidebar is open');
    document.querySelectorAll('[data-testid=stMetric]').forEach(metric => {
      const value = metric.querySelector('[data-testid=stMetricValue]');
      const label = metric.querySelector('[data-testid=stMetricLabel]');
      if (value && label) {
        const [v, l] = [value, label].map(e => parseFloat(getComputedStyle(e.querySelector('p') || e).fontSize));
        if (v <= l * 1.5) problems.push(`metric "${label.innerText}": its number (${v} px) is not larger than ` +
                                        `its label (${l} px)`);
      }
    });
    document.querySelectorAll('[data-testid=stDataFrame]').forEach(grid => {
      if (visible(grid)) problems.push('a data grid in presenter mode: its canvas text is small (use display.table)');
    });
    document.querySelectorAll('.rnnviz-table th, .rnnviz-table td, [data-testid=stCode] code').forEach(e => {
      const size = parseFloat(getComputedStyle(e).fontSize);
      if (visible(e) && e.innerText.trim() && size < PRESENTER_FONT)
        problems.push(`"${e.innerText.trim().slice(0, 30)}" in a table or code block is ${size} px`);
    });
  }
  return problems;
}
""".replace("PRESENTER_FONT", str(PRESENTER_FONT))


def shots_dir(tmp_path: Path) -> Path:
    return tmp_path  # save_screenshot also copies each to RNNVIZ_SCREENSHOTS when that names a folder


@pytest.fixture(scope="module")
def classroom(tmp_path_factory, real_data_dir):
    """Runs as a class would have them (RNNVIZ_RUNS, RNNVIZ_DATASETS in a temporary folder): the report's runs
    of one seed, a second student's small surname runs of the three models, the three models on an own dataset
    of 3 categories, and a small memory probe."""
    from rnnviz import datasets
    from rnnviz.config import TrainConfig
    from rnnviz.data import load_folder
    from rnnviz.probe import ProbeConfig, run_probe
    from rnnviz.reproduce import REPORT_SEEDS, find_report_runs
    from rnnviz.runs import list_runs, train_run
    from tests.conftest import write_tiny_folder

    base = tmp_path_factory.mktemp("classroom")
    runs, stored = base / "runs", base / "datasets"
    env = {"RNNVIZ_RUNS": str(runs), "RNNVIZ_DATASETS": str(stored), "RNNVIZ_DATA": str(real_data_dir)}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        surnames = load_folder(real_data_dir)
        for config in find_report_runs(runs, surnames.categories, set()).configs_to_start():
            if config.seed == min(REPORT_SEEDS):  # one seed of each: the page's layout, at a quarter of the time
                train_run(config, surnames, runs)
        for model in ("rnn", "lstm", "mylstm"):
            train_run(TrainConfig(model=model, epochs=1, hidden_size=16, batch_size=256), surnames, runs,
                      owner="student-2", owner_name="Bea")
        datasets.add_from_folder(OWN, write_tiny_folder(base / "cities-source"), stored)
        own = load_folder(datasets.dataset_path(OWN, stored))
        for model in ("rnn", "lstm", "mylstm"):
            train_run(TrainConfig(model=model, epochs=2, hidden_size=16, batch_size=16), own, runs)
        probe = ProbeConfig(lengths=(5, 10), steps=20, seeds=2, hidden_size=8, test_size=40)
        keep_probe(runs, probe, run_probe(probe).results)  # Why LSTM? opens on its chart and its chance note
        infos = list_runs(runs)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    own_lstm = next(i for i in infos if i.model == "lstm" and Path(i.data).name == OWN)
    lstm = next(i for i in infos if i.model == "lstm" and Path(i.data).name != OWN)
    return {"env": env, "lstm": lstm.run_id, "own_lstm": own_lstm.run_id}


@pytest.fixture(scope="module")
def layout_app(classroom, tmp_path_factory):
    env = classroom["env"]
    log = tmp_path_factory.mktemp("layout-server") / "server.log"
    with streamlit_server(Path(env["RNNVIZ_RUNS"]), Path(env["RNNVIZ_DATA"]), log, env=env) as (url, _, _):
        yield url


def settle(page: Page) -> None:
    page.wait_for_selector(SETTLED, timeout=180_000)
    time.sleep(0.6)  # a linked page's first run may be followed by another; vega draws after the script ends
    page.wait_for_selector(SETTLED, timeout=180_000)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')]"
                           ".every(c => c.querySelector('svg.marks, canvas'))", timeout=60_000)
    time.sleep(0.4)


def look(page: Page, folder: Path, name: str, presenting: bool, letters: tuple[int, ...] = ()) -> list[str]:
    """The problems on the screen as it is, then a screenshot of the whole page (the window stretched to it)."""
    page.mouse.move(2, 2)
    problems = page.evaluate(CHECKS, [presenting, list(letters)])
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    save_screenshot(page, folder, name, full_page=False)
    full = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section')]"
                         ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": width, "height": min(int(full) + 40, 9000)})
    time.sleep(0.8)
    save_screenshot(page, folder, f"{name}-full", full_page=False)
    page.set_viewport_size({"width": width, "height": height})
    time.sleep(0.3)
    return [f"{name}: {problem}" for problem in problems]


def below_the_fold(page: Page, what: str, count: int = 1, wanted: float = FOLD_SHARE) -> list[str]:
    """A problem for each of the first `count` charts of the main area (none drawn counts as 0%) with less than
    `wanted` of it on the first screen."""
    shares = page.evaluate(FOLD, count)
    shares += [0.0] * (count - len(shares))
    return [f"{what}{f' {i + 1}' if count > 1 else ''}: {share:.0%} of it on the first screen"
            for i, share in enumerate(shares) if share < wanted]


def click_segment(page: Page, label: str) -> None:
    page.locator("[data-testid=stButtonGroup] button").filter(has_text=label).first.click()
    settle(page)


def pick_option(page: Page, box_label: str, option: int = 1, avoid: tuple[str, ...] = ()) -> None:
    """Pick the `option`-th entry of a selectbox, or with `avoid`, its first entry whose label has none of those."""
    page.get_by_test_id("stSelectbox").filter(has_text=box_label).first.click()
    options = page.get_by_role("option")
    if avoid:
        option = next(i for i, text in enumerate(options.all_inner_texts()) if not any(a in text for a in avoid))
    options.nth(option).click()
    settle(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen(size, layout_app, classroom, browser, tmp_path):
    width, height, presenting = SIZES[size]
    folder = shots_dir(tmp_path)
    tab = browser.new_page(viewport={"width": width, "height": height})
    tab.set_default_timeout(60_000)
    present = "present=1" if presenting else ""

    def open_page(path: str, *query: str) -> None:
        parts = [q for q in (*query, present) if q]
        tab.goto(f"{layout_app}/{path}" + (f"?{'&'.join(parts)}" if parts else ""))
        settle(tab)

    problems: list[str] = []
    try:
        for path, name in (("", "home"), ("train", "train"), ("data", "data"), ("report", "report")):
            open_page(path)
            problems += look(tab, folder, f"{name}-{size}", presenting)
        open_page("evaluate")
        if not presenting:
            problems += below_the_fold(tab, "evaluate: the confusion matrix")
        problems += look(tab, folder, f"evaluate-{size}", presenting)
        pick_option(tab, "Side by side with")
        problems += look(tab, folder, f"evaluate-side-by-side-{OWN}-{size}", presenting)
        # Two surname runs: 18 languages, the largest matrices the page draws side by side.
        pick_option(tab, "Run", avoid=(OWN,))
        pick_option(tab, "Side by side with", avoid=(OWN, "(nothing)"))
        if not presenting:
            problems += below_the_fold(tab, "evaluate side by side: matrix", 2, COMPARE_FOLD_SHARE)
        problems += look(tab, folder, f"evaluate-side-by-side-{size}", presenting)
        for shot, query, letters in (
                ("gates-short-and-second", f"run={classroom['lstm']}&name=Ito&vs=Schmidt", (3, 7)),
                ("gates-64-letters", f"run={classroom['lstm']}&name={LONG_NAME}", (64,)),
                ("gates-own-dataset", f"run={classroom['own_lstm']}&name=Nakamura", (8,))):
            open_page("gates", query)
            problems += look(tab, folder, f"{shot}-{size}", presenting, letters)
        click_segment(tab, "Where it comes from")  # letters on the attribution's axis, category names on the map
        problems += look(tab, folder, f"gates-where-it-comes-from-{size}", presenting)
        open_page("why")  # the argument's first step: the memory probe
        problems += look(tab, folder, f"why-memory-probe-{size}", presenting)
        click_segment(tab, "Gradient flow")
        problems += look(tab, folder, f"why-gradient-flow-{size}", presenting)
        click_segment(tab, "one surname")
        problems += look(tab, folder, f"why-one-surname-{size}", presenting)
        click_segment(tab, "Gate saturation")
        problems += look(tab, folder, f"why-gate-saturation-{size}", presenting)
    finally:
        print(f"screenshots in {folder}")
        tab.close()
    assert not problems, "\n".join(problems)


def test_demo_curves_are_on_screen_and_stay_put_on_a_projector(layout_app, browser, tmp_path):
    """Click the demo at 1920x1080 in presenter mode: both runs' curves on screen (timed), in the same place when
    the trainings end, and both finish notices with their accuracies."""
    folder = shots_dir(tmp_path)
    tab = browser.new_page(viewport={"width": 1920, "height": 1080})
    tab.set_default_timeout(60_000)
    try:
        tab.goto(f"{layout_app}/train?present=1")
        settle(tab)
        before = tab.evaluate("() => [...document.querySelectorAll('g.role-legend-label text')]"
                              ".map(t => t.textContent)")
        began = time.perf_counter()
        tab.get_by_role("button", name="Demo: RNN vs nn.LSTM").click()
        tab.mouse.move(2, 2)  # no help tooltip over the picture
        # Both runs' lines drawn in the loss chart of Compare runs, every line inside the window.
        # The demo's two runs are new: the page overlaid other runs (the newest finished ones) before the click.
        both = """(before) => {
          const chart = [...document.querySelectorAll('[data-testid=stVegaLiteChart]')].find(c => {
            const labels = [...c.querySelectorAll('g.role-legend-label text')].map(t => t.textContent);
            return labels.length === 2 && labels.every(l => !before.includes(l)); });
          if (!chart) return null;
          const legend = [...chart.querySelectorAll('g.role-legend-label text')].map(t => t.textContent);
          const lines = [...chart.querySelectorAll('g.mark-line path')].filter(p => (p.getAttribute('d') || '')
            .split(/[ML]/).length > 2);
          const boxes = lines.map(p => p.getBoundingClientRect());
          const top = Math.min(...boxes.map(b => b.top)), bottom = Math.max(...boxes.map(b => b.bottom));
          const ok = legend.some(l => l.startsWith('RNN')) && legend.some(l => l.startsWith('nn.LSTM'))
            && lines.length >= 2 && top >= 0 && bottom <= window.innerHeight;
          return ok ? chart.getBoundingClientRect().top : null;
        }"""
        top = tab.wait_for_function(both, arg=before, timeout=180_000).json_value()
        seconds = time.perf_counter() - began
        print(f"demo click to both curves on screen at 1920x1080, presenter mode: {seconds:.2f} s")
        save_screenshot(tab, folder, "demo-running-projector", full_page=False)
        cells = tab.evaluate("() => [...document.querySelectorAll('[data-testid=stDataFrame] td')]"
                             ".map(t => t.innerText.trim())")
        assert "None" not in cells, "the run table shows None while the demo trains"
        tab.wait_for_function("() => [...document.querySelectorAll('[data-testid=stAlertContentSuccess]')]"
                              ".filter(a => /finished: validation accuracy [0-9.]+%/.test(a.innerText)).length >= 2",
                              timeout=600_000)
        settle(tab)
        notices = [text.strip().splitlines()[-1].strip()  # the text after the icon's name
                   for text in tab.locator("[data-testid=stAlertContentSuccess]").all_inner_texts()]
        assert any(n.startswith("RNN") and "validation accuracy" in n for n in notices), notices
        assert any(n.startswith("nn.LSTM") and "validation accuracy" in n for n in notices), notices
        after = tab.evaluate(both, before)
        save_screenshot(tab, folder, "demo-ended-projector", full_page=False)
        assert after is not None, "the curves left the screen when the demo ended"
        assert abs(after - top) <= 2, f"the curves moved from {top} to {after} px when the demo ended"
        assert seconds < 30, f"{seconds:.1f} s from the click to both curves on screen"
    finally:
        tab.close()


def test_the_demo_curves_start_on_the_first_screen_of_a_laptop(layout_app, browser, tmp_path):
    """Click the demo at 1280x800: at least 60% of its loss curves is on screen without scrolling, and the Demo
    button's tooltip is gone (it would cover the controls under it)."""
    tab = browser.new_page(viewport={"width": 1280, "height": 800})
    tab.set_default_timeout(60_000)
    try:
        tab.goto(f"{layout_app}/train")
        settle(tab)
        tab.get_by_role("button", name="Demo: RNN vs nn.LSTM").click()  # the pointer stays on the button
        tab.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMain] g.role-legend-label text')]"
                              ".some(t => t.textContent.startsWith('nn.LSTM'))", timeout=180_000)
        settle(tab)
        save_screenshot(tab, shots_dir(tmp_path), "demo-running-laptop", full_page=False)
        problems = below_the_fold(tab, "train: the demo's curves")
        tooltips = tab.evaluate("() => [...document.querySelectorAll('[data-testid=stTooltipContent]')]"
                                ".filter(t => t.getBoundingClientRect().width > 0).map(t => t.innerText)")
        problems += [f"a tooltip stays after the click: {text[:60]}" for text in tooltips]
        assert not problems, "\n".join(problems)
    finally:
        tab.close()
