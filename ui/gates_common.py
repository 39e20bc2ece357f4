"""The Gates page's shared parts: the run and name being read (Subject), each surname's reading and header, the
link that names the run and surnames, and small helpers every view uses."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from rnnviz import charts, inside, registry
from rnnviz.data import DataError
from ui import display, guards, keys, resources, shareable

VIEWS = {"cell": "Cell step", "memory": "Memory", "units": "Units", "why": "Where it comes from",
         "whatif": "What if", "heatmaps": "Heatmaps"}
NO_GATES = ("The RNN has no gates, so there is no cell to open here: its hidden state is one linear step per "
            "letter. Choose an nn.LSTM or MyLSTM run, or look at *Cell step* (the RNN's step), *Memory*, *Units*, "
            "*Where it comes from* and *What if* (reset), which work for the RNN too.")


@dataclass
class Subject:
    """What every view explains: a loaded run (at a snapshot) and the readings of the surnames typed, the first
    of which the views explain."""

    info: object  # the run's RunInfo
    snapshot: int | None
    run: object  # resources.loaded_run(...)
    readings: list  # inside.Reading of each surname that could be read, the first one first

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def gates(self) -> bool:
        return registry.has_gates(self.run.model)

    @property
    def used(self) -> str:
        return self.readings[0].used

    @property
    def typed(self) -> str:
        """What the library is given: it cleans the typed text the same way every time."""
        return self.readings[0].name

    @property
    def letters(self) -> list[int]:
        return list(range(len(self.used)))


def reading_or_warn(run, name: str, column):
    try:
        return inside.read_name(run.model, run.categories, name)
    except DataError as exc:
        column.warning(guards.one_line(exc), icon=":material/keyboard:")
    except guards.USER_ERRORS as exc:
        column.error(guards.one_line(exc), icon=":material/error:")
    return None


def header(reading, column) -> None:
    """The name and its top three, side by side so the view below starts high on the screen."""
    with column:
        left, right = st.columns([1, 1.6], gap="small", vertical_alignment="center")
        shown = reading.name if len(reading.name) <= 40 else reading.name[:39] + "…"  # the caption has the rest
        left.markdown(f"{'###' if len(shown) <= 12 else '####'} {shown}")
        if reading.note:
            left.caption(f"Read as **{reading.used}** ({reading.note}).")
        top = ", ".join(f"{category} {p:.1%}" for category, p in reading.top(3))
        display.chart(charts.top_chart(reading.top(3), height=display.height(66)), f"top-{reading.used}",
                      where=right, alt=f"Top predictions: {top}", downloads=False)


def letter_name(used: str, t: int) -> str:
    return f"{inside.letter_number(t)}: {used[t] if used[t] != ' ' else '␣'}"


def strip_cell(rows: list, room: int) -> int:
    """Letter cells as large as fit: `room` pixels (a column at 1280x800) less the row labels (about 8 px a
    character at the theme's label size, and the axis padding), shared by the longest name's letters; small
    for a long name rather than wider than the column."""
    label = max((len(r[0]) for r in rows), default=0) * 8 + 30
    longest = max((len(r[1]) for r in rows), default=1)
    return max(6, min(24, (room - label) // longest))


def keep_choice(key: str, options: list, default) -> None:
    """The control's value for this page run: its remembered choice while the current run or name offers it, else
    `default`. It is written back either way, before the widget is drawn, so that the browser is always sent the
    value the page computes with: a widget whose browser-side state was dropped (a new surname typed while the
    page was still drawing the previous one) would otherwise show its first option ("1: K") beside a result
    computed at another ("the 4th letter ('a')")."""
    value = st.session_state.get(key)
    st.session_state[key] = value if value in options else default


def settings_from_link(run_ids: list[str]) -> None:
    """On a session's first visit, a shared link (?run=...&name=...) picks the run and the surname."""
    if st.session_state.get(keys.GATES_URL_READ):
        return
    st.session_state[keys.GATES_URL_READ] = True
    parsed = shareable.parse_gates(st.query_params.to_dict(), run_ids)
    if parsed.values[shareable.GATES_RUN]:
        st.session_state[keys.GATES_RUN] = parsed.values[shareable.GATES_RUN]
    if parsed.values[shareable.GATES_NAME]:
        st.session_state[keys.GATES_NAME] = parsed.values[shareable.GATES_NAME]
        # A link shows what it names: the second surname only when it gives one (?vs=...).
        st.session_state[keys.GATES_SECOND] = parsed.values[shareable.GATES_SECOND]
    if parsed.notice:
        st.info(parsed.notice, icon=":material/link_off:")


def link_to(run_id: str, name: str, second: str) -> None:
    """Keep the URL in step with the run and surnames, so the address bar is always a link to hand out."""
    query = shareable.gates_query(run_id, name.strip(), second.strip())
    for key in (shareable.GATES_RUN, shareable.GATES_NAME, shareable.GATES_SECOND):
        if key not in query and key in st.query_params:
            del st.query_params[key]
    for key, value in query.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def atlas_or_explain(subject: Subject):
    """The run's validation names read once (cached per run), or a one-line reason and None."""
    try:
        return resources.unit_atlas(subject.info, subject.snapshot)
    except guards.USER_ERRORS as exc:
        st.info(f"{guards.one_line(exc).rstrip('.')}.", icon=":material/info:")
        return None


def picked_cell(event, used: str) -> tuple[int, int | None] | None:
    """The letter (from 0) and unit (None on a chart without units) a chart's click selection names, or None
    when the click cleared it or names no letter of `used`."""
    picked = ((event or {}).get("selection") or {}).get(charts.PICK) or []
    if not picked:
        return None
    point = picked[0]
    letter = point.get("step", point.get("position"))
    if letter is None or not 0 <= int(letter) < len(used):
        return None
    return int(letter), None if point.get("unit") is None else int(point["unit"])


def open_cell(chart_key: str, run_id: str, used: str) -> None:
    """A click on a heatmap cell or an attribution bar: open the Cell step at that letter, and at that unit when
    the chart has units."""
    picked = picked_cell(st.session_state.get(chart_key), used)
    if picked is None:
        return
    letter, unit = picked
    st.session_state[keys.GATES_VIEW] = "cell"
    st.session_state[keys.GATES_CELL_NAME] = (run_id, used)  # the letter is chosen: not the name's last
    st.session_state[keys.GATES_LETTER] = letter
    if unit is not None:
        st.session_state[keys.keyed(keys.GATES_UNIT, run_id, used)] = unit


def pick_key(chart: str, subject: Subject) -> str:
    return keys.keyed(keys.GATES_PICK, chart, subject.run_id, subject.used)


def linked(subject: Subject, chart: str) -> dict:
    """The arguments that make a drawn chart open the Cell step where it is clicked (display.chart(**linked(...)))."""
    key = pick_key(chart, subject)
    return {"key": key, "on_select": lambda: open_cell(key, subject.run_id, subject.used)}
