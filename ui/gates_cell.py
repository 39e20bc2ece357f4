"""The Gates page's Cell step view: one LSTM step with its numbers for one unit at one letter (for an RNN run, the
RNN's step: h = i2h([x, h_prev]) with its numbers); Back, Next, a letter slider, and Play, which steps through the
name by itself."""

from __future__ import annotations

import time

import streamlit as st

from rnnviz import charts, inside
from ui import display, keys, views
from ui.gates_common import Subject, keep_choice, letter_name

PLAY_SECONDS = 1.2  # one letter per tick: slow enough to read the numbers aloud


def step_letter(delta: int, last: int) -> None:
    now = st.session_state.get(keys.GATES_LETTER, 0)
    st.session_state[keys.GATES_LETTER] = min(max(now + delta, 0), last)


def slid(slider_key: str) -> None:
    # While playing the slider is not drawn; a value the browser still sends for it is stale, not a choice.
    if st.session_state.get(keys.GATES_PLAYING) is None:
        st.session_state[keys.GATES_LETTER] = st.session_state[slider_key]


def start_playing() -> None:
    st.session_state[keys.GATES_PLAYING] = time.monotonic()
    st.session_state[keys.GATES_LETTER] = 0


def stop_playing() -> None:
    st.session_state.pop(keys.GATES_PLAYING, None)


def cell_step(subject: Subject, unit_options: list[int], top_unit: int) -> None:
    run, run_id = subject.run, subject.run_id
    used, typed, letters = subject.used, subject.typed, subject.letters
    playing = st.session_state.get(keys.GATES_PLAYING)
    if playing is not None and time.monotonic() - playing >= PLAY_SECONDS * 0.8:
        if st.session_state.get(keys.GATES_LETTER, 0) >= len(used) - 1:
            stop_playing()
            st.rerun()  # the whole page, so the timer stops
        step_letter(+1, len(used) - 1)
        st.session_state[keys.GATES_PLAYING] = time.monotonic()
    slider_key = keys.keyed(keys.GATES_LETTER_SLIDER, used)
    unit_key = keys.keyed(keys.GATES_UNIT, run_id, used)
    if st.session_state.get(keys.GATES_CELL_NAME) != (run_id, used):  # a new name: its last letter
        st.session_state[keys.GATES_CELL_NAME] = (run_id, used)
        st.session_state[keys.GATES_LETTER] = len(used) - 1
    keep_choice(keys.GATES_LETTER, letters, len(used) - 1)
    keep_choice(unit_key, unit_options, top_unit)  # a name's own unit control starts on its deciding unit
    b1, b2, b3, b4, b5 = st.columns([1, 1, 1.2, 4, 2.4], vertical_alignment="bottom")
    t = st.session_state[keys.GATES_LETTER]
    b1.button("Back", on_click=step_letter, args=(-1, len(used) - 1), disabled=t == 0, key=keys.GATES_BACK,
              width="stretch", help="The letter before")
    b2.button("Next", on_click=step_letter, args=(+1, len(used) - 1), disabled=t == len(used) - 1, key=keys.GATES_NEXT,
              width="stretch", help="The next letter")
    # Play and Pause rerun the whole page: the fragment's timer is set when the page draws it.
    if playing is None:
        if b3.button("Play", icon=":material/play_arrow:", key=keys.GATES_PLAY, width="stretch",
                     help="Step through the name letter by letter, one letter a second."):
            start_playing()
            st.rerun()
    elif b3.button("Pause", icon=":material/pause:", key=keys.GATES_PAUSE, width="stretch"):
        stop_playing()
        st.rerun()
    if playing is None:
        # The slider has its own key: the letter itself lives in GATES_LETTER, which play and the buttons move.
        st.session_state[slider_key] = t
        # Labels collapsed: the slider shows its letter and the box its unit, and the diagram starts higher.
        b4.select_slider("Letter", letters, format_func=lambda k: letter_name(used, k),
                         key=slider_key, on_change=slid, args=(slider_key,), label_visibility="collapsed")
    else:
        b4.progress((t + 1) / len(used), text=f"Playing: letter {letter_name(used, t)} of {len(used)}")
    unit = b5.selectbox("Unit", unit_options, key=unit_key, label_visibility="collapsed",
                        format_func=lambda u: f"unit {u}" + (" · decides most" if u == top_unit else ""),
                        help="Units are listed by how much they decide the prediction (first: the most).")
    t = st.session_state[keys.GATES_LETTER]
    if not subject.gates:
        views.rnn_step(run, typed, t, unit)
        st.caption("The RNN has no gates and no cell: compare this step with an LSTM run's cell step, where f "
                   "decides how much of the old state survives.")
        return
    step = inside.cell_step(run.model, run.categories, typed, t, unit)
    left, right = st.columns([3, 2], gap="large")
    with left:
        display.chart(charts.cell_diagram(step.values, step.letter, unit, height=display.height(300),
                                          scale=display.scale()),
                      "cell-diagram", alt=f"Unit {unit} at letter {inside.letter_number(t)} ({step.letter}): c = "
                                          f"{step.values['c']:.2f}, h = {step.values['h']:.2f}", downloads=False)
        st.markdown("  \n".join(f"`{equation}`" for equation in step.equations))
    with right:
        display.chart(charts.unit_step_bars(step.units, unit, height=display.height(170)), "unit-step-bars",
                      data=step.units, downloads=not playing)
        after = ", ".join(f"{c} {p:.0%}" for c, p in step.top)
        st.markdown(f"After **{used[: t + 1]}** the model says: {after}.")
        st.caption("f near 0 forgets what c held, i near 1 writes g into it, o decides how much of c the "
                   "classifier sees as h. The bars show every unit's change of c at this letter; the colour "
                   "is its forget gate.")


def view(subject: Subject) -> None:
    """The cell view, refreshed once a letter while playing."""
    run, typed = subject.run, subject.typed
    contributions = inside.unit_contributions(run.model, run.categories, typed)
    order = contributions.frame["unit"].tolist()
    every = PLAY_SECONDS if st.session_state.get(keys.GATES_PLAYING) is not None else None
    st.fragment(cell_step, run_every=every)(subject, order, order[0])
