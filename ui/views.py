"""Views the Gates page and the lessons share: memory over time and the RNN's step, each drawn for a loaded run
(resources.loaded_run: .model and .categories) and a typed name, with every sentence computed from the numbers.
Each returns what it drew (or None when the run cannot show it) so a caller can say more."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts, inside
from rnnviz.registry import has_gates
from ui import display


def memory_reading(result: inside.MemoryOverTime) -> str:
    """One or two sentences read off the lines: where the unit forgets and writes most, what its state ends at."""
    used = result.used
    if "f" in result.states:
        f, i, c = result.values("f"), result.values("i"), result.values("c")
        forget, write = int(f.argmin()), int(i.argmax())
        kept = int((f > 0.9).sum())
        return (f"Unit {result.unit} forgets most at the {inside.ordinal(forget)} letter '{used[forget]}' "
                f"(f = {f[forget]:.2f}) and writes most at the {inside.ordinal(write)} '{used[write]}' "
                f"(i = {i[write]:.2f}); its forget gate stays above 0.9 at {kept} of {len(used)} letters, "
                f"and c ends at {c[-1]:.2f}.")
    h = result.values("h")
    jump = int(abs(h - [0.0, *h[:-1]]).argmax())
    return (f"The RNN's unit {result.unit} has no gate: each letter's h is a new sum of the letter, the old h and "
            f"a bias. It moves most at the {inside.ordinal(jump)} letter '{used[jump]}' and ends at {h[-1]:.2f}.")


def memory_over_time(run, name: str, unit: int | None = None, where=None, label: str = "",
                     height: int = 240) -> inside.MemoryOverTime | None:
    """One unit's states over the letters of `name` (an LSTM's c, f, i, o, h; the RNN's h); by default the
    name's deciding unit. `label` names the model in the title (e.g. 'nn.LSTM')."""
    where = where if where is not None else st.container()
    try:
        result = inside.memory_over_time(run.model, run.categories, name, unit)
    except ValueError as exc:
        where.info(str(exc), icon=":material/info:")
        return None
    decides = " · decides most" if result.deciding else ""
    title = f"{label + ': ' if label else ''}unit {result.unit}{decides}, letter by letter"
    display.chart(charts.memory_chart(result.frame, title, height=display.height(height)),
                  f"memory-{label}-{result.unit}-{result.used}", where=where, data=result.frame,
                  alt=f"{title}: " + ", ".join(f"{key} ends at {result.values(key)[-1]:.2f}"
                                               for key in result.states))
    where.caption(memory_reading(result))
    return result


def rnn_step(run, name: str, letter: int, unit: int | None = None, where=None) -> inside.RNNStep | None:
    """The tutorial RNN's step at `letter` (from 0) for one unit (by default the deciding one), its numbers
    plugged in, beside every unit's change of h."""
    where = where if where is not None else st.container()
    if has_gates(run.model):
        where.info("This run is an LSTM: its step is the cell step.", icon=":material/info:")
        return None
    step = inside.rnn_step(run.model, run.categories, name, letter, unit)
    left, right = where.columns([3, 2], gap="large")
    left.markdown(f"**RNN, unit {step.unit}, letter {inside.letter_number(letter)} ('{step.letter}')**  \n"
                  f"`h_prev = {step.values['h_prev']:.2f}` (unit {step.unit}'s h before this letter)  \n"
                  + "  \n".join(f"`{equation}`" for equation in step.equations))
    after = ", ".join(f"{c} {p:.0%}" for c, p in step.top)
    left.markdown(f"After **{step.used[: letter + 1]}** the RNN says: {after}.")
    display.chart(charts.rnn_step_bars(step.units, step.unit, height=display.height(170)), "rnn-step-bars",
                  where=right, data=step.units, downloads=False)
    right.caption("Each bar is one unit's h after this letter minus before it: with no gate, every unit is "
                  "rewritten at every letter.")
    return step
