"""The Gates page's other views: where the prediction comes from (attribution and the hidden state's path), what
if (a clamped gate or a reset state), and every gate as a heatmap for one or two names."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts, inside
from rnnviz.gates import SIGMOID_GATES, STATE_LABELS
from rnnviz.registry import GATE_MODELS
from ui import display, guards, keys, resources, runview, views
from ui.gates_common import NO_GATES, Subject, atlas_or_explain, keep_choice, letter_name, linked

EXTRA = ("g", "c", "h")


def origin(subject: Subject) -> None:
    """Where the prediction comes from."""
    run, typed = subject.run, subject.typed
    result = inside.attribution(run.model, run.categories, typed)
    noun = runview.category_noun(subject.info)
    for measure, column in zip(charts.ATTRIBUTION_MEASURES, st.columns(2, gap="large")):
        values = result.frame[["letter", measure]].dropna()
        figure = charts.pickable(charts.attribution_chart(result.frame, result.category, measure,
                                                          height=display.height(200)), ["position"])
        display.chart(figure, f"attribution-{measure}", where=column, data=result.frame,
                      **linked(subject, f"attribution-{measure}"),
                      alt=f"{measure} for {result.category}: " + ", ".join(
                          f"{r.letter} {getattr(r, measure):+.2f}" for r in values.itertuples()))
    st.caption(f"Two questions, two units. Occlusion: p({result.category}) = {result.probability:.1%} minus p when "
               "that letter is left out (the name one letter shorter), in points of probability. Gradient × input: "
               f"the slope of log p({result.category}) along the letter's own input, a first-order guess of the "
               "effect of taking it away; it can miss what occlusion sees, because p does not change in a "
               "straight line. Click a letter's bar to open the Cell step there.")
    atlas = atlas_or_explain(subject)
    if atlas is not None:
        path = inside.hidden_path(run.model, run.categories, atlas, [r.name for r in subject.readings])
        display.chart(charts.hidden_path_chart(path.background, path.path, path.explained,
                                               height=display.height(380), noun=noun), "hidden-path",
                      data=path.path)
        st.caption("Each dot is a validation name's final hidden state, projected to 2-D (PCA). The line is the "
                   f"typed name's hidden state after each letter: it should end among its {noun}'s dots.")


def what_if(subject: Subject) -> None:
    """What if a gate were clamped, or the state reset."""
    run, run_id, gates = subject.run, subject.run_id, subject.gates
    used, typed, letters = subject.used, subject.typed, subject.letters
    controls, outcome = st.columns([2, 3], gap="large")  # the outcome beside the controls, above the fold
    with controls:
        w1, w2 = st.columns(2, gap="small")
        w3, w4 = st.columns(2, gap="small")
        w5, w6 = st.columns(2, gap="small")
    clamps = {}
    unit = at = start = None
    if gates:
        keep_choice(keys.GATES_CLAMP_GATE, ["none", *SIGMOID_GATES], "f")
        gate = w1.selectbox("Clamp a gate", ["none", *SIGMOID_GATES], key=keys.GATES_CLAMP_GATE,
                            format_func=lambda g: "no clamp" if g == "none" else f"{STATE_LABELS[g]} {g}")
        value = w2.slider("to the value", 0.0, 1.0, 0.0, 0.05, key=keys.GATES_CLAMP_VALUE)
        hidden = run.model.hidden_size
        clamp_unit_key = keys.keyed(keys.GATES_CLAMP_UNIT, run_id)
        keep_choice(clamp_unit_key, ["all", *range(hidden)], "all")
        chosen = w3.selectbox("for", ["all", *range(hidden)], key=clamp_unit_key,
                              format_func=lambda u: "all units" if u == "all" else f"unit {u}")
        clamp_letter_key = keys.keyed(keys.GATES_CLAMP_LETTER, used)
        keep_choice(clamp_letter_key, letters, min(3, len(used) - 1))
        keep_choice(keys.GATES_CLAMP_WHERE, ["at", "from"], "at")
        where = w4.selectbox("where", ["at", "from"], key=keys.GATES_CLAMP_WHERE,
                             format_func={"at": "at one letter", "from": "from a letter on"}.get)
        letter = w5.select_slider("letter", letters, key=clamp_letter_key,
                                  format_func=lambda k: letter_name(used, k))
        if gate != "none":
            clamps = {gate: value}
            unit = None if chosen == "all" else int(chosen)
            at, start = (letter, None) if where == "at" else (None, letter)
    else:
        w1.info("The RNN has no gates to clamp; resetting its state works.", icon=":material/info:")
    reset_options = ["none", *letters[1:]]
    reset_key = keys.keyed(keys.GATES_RESET, used)
    keep_choice(reset_key, reset_options, "none")
    reset = (w6 if gates else w2).selectbox("Reset h and c to 0 before", reset_options, key=reset_key,
                                            format_func=lambda k: "no reset" if k == "none" else
                                            letter_name(used, k))
    result = inside.what_if(run.model, run.categories, typed, clamps, at, start, unit,
                             None if reset == "none" else int(reset))
    with outcome:
        before, after = result.unchanged.top(1)[0], result.intervened.top(1)[0]
        st.markdown(f"**What if:** {result.description}.  \nUnchanged: **{before[0]} {before[1]:.1%}** → "
                    f"what if: **{after[0]} {after[1]:.1%}**.")
        display.chart(charts.what_if_chart(result.frame(), height=display.height(34 * len(result.frame()) // 2)),
                      "what-if", data=result.frame(), alt=f"What if: {result.description}")
    with controls:
        st.caption("Forget gate 0 at a letter wipes the cell's memory of everything before it; resetting the "
                   "state before a letter is exactly reading the name from that letter on.")


def heatmaps(subject: Subject) -> None:
    """Every gate as a heatmap, for one name or two side by side."""
    gates = subject.gates
    if not gates:
        st.info(NO_GATES, icon=":material/info:")
        st.stop()
    traces = subject.readings
    h1, h2 = st.columns([2, 3] if not display.presenting() else [0.01, 4], gap="medium")
    order_by = "index"  # presenter mode keeps the plain unit order and hides the control
    if not display.presenting():
        order_by = h1.segmented_control("Order units by", list(inside.READING_ORDERS), default="index",
                                        required=True, format_func=inside.UNIT_ORDERS.get, key=keys.GATES_ORDER,
                                        help="Sorting by mean or variance groups units that behave alike.")
    extra = h2.pills("Also show", list(EXTRA), selection_mode="multi", default=[], key=keys.GATES_EXTRA,
                     format_func=STATE_LABELS.get, help="g: the candidate written to the cell; c: the cell state; "
                                                       "h: the hidden state the classifier reads.")
    reference = traces[0]  # both names use the first name's unit order, so rows line up
    gate_keys = [*SIGMOID_GATES, *[k for k in EXTRA if k in (extra or [])]]
    height = round(max(3, min(8, 360 // max(1, reference.values["i"].shape[1]))) * display.scale())
    longest = max(len(t.used) for t in traces)
    # Three gates side by side while short names fit, one under the other for long ones; every letter shows.
    # Room for the cells in pixels (a column at 1280x800 less the axis and colour legend, about 130 px).
    across = (3 if longest <= 6 else 2 if longest <= 14 else 1) if len(traces) == 1 else 1
    side_by_side = longest <= 20  # two long names go one under the other
    room = {3: 115, 2: 260, 1: 640}[across] if len(traces) == 1 else 260 if side_by_side else 640
    width = max(10, min(34, room // longest))
    if len(traces) == 1:
        for row in range(0, len(gate_keys), across):
            for key, column in zip(gate_keys[row : row + across], st.columns(across, gap="medium")):
                cells = reference.gate_frame(key)
                order = inside.unit_order(cells, order_by)
                figure = charts.pickable(charts.gate_heatmap(cells, key, STATE_LABELS[key], order,
                                                             cell_height=height, cell_width=width), ["step", "unit"])
                display.chart(figure, f"gate-{key}-{reference.used}", where=column, data=cells, width="content",
                              **linked(subject, f"gate-{key}"))
        st.caption("Click a cell of a heatmap to open the Cell step at that letter and unit.")
        columns = st.columns(2, gap="large")
        display.chart(charts.gate_means_chart(reference.gate_means()), f"gate-means-{reference.used}",
                      where=columns[0], data=reference.gate_means())
        display.chart(charts.prefix_chart(reference.prefix_frame()), f"prefix-{reference.used}",
                      where=columns[1], data=reference.prefix_frame())
        st.stop()
    columns = st.columns(len(traces), gap="large") if side_by_side else [st.container() for _ in traces]
    for key in gate_keys:
        order = inside.unit_order(reference.gate_frame(key), order_by)
        for index, (trace, column) in enumerate(zip(traces, columns)):
            cells = trace.gate_frame(key)
            display.chart(charts.gate_heatmap(cells, key, STATE_LABELS[key], order, cell_height=height,
                                              cell_width=width),
                          f"gate-{key}-{index}-{trace.used}", where=column, data=cells, width="content")
    for index, (trace, column) in enumerate(zip(traces, columns)):
        display.chart(charts.gate_means_chart(trace.gate_means()), f"gate-means-{index}-{trace.used}",
                      where=column, data=trace.gate_means())
        display.chart(charts.prefix_chart(trace.prefix_frame()), f"prefix-{index}-{trace.used}", where=column,
                      data=trace.prefix_frame())


def companion(subject: Subject):
    """The newest run of the other kind on the same categories, to draw beside the subject: an RNN beside an
    LSTM, an LSTM beside an RNN; None when there is none yet."""
    wanted = GATE_MODELS if not subject.gates else ("rnn",)
    others = [info for info in runview.usable_runs(resources.all_runs(), wanted)
              if info.categories == subject.info.categories]
    return max(others, key=lambda info: info.created, default=None)


def memory(subject: Subject) -> None:
    """Memory over time: the unit the Cell step shows (else the deciding one) across the whole name, and the other
    kind of model's deciding unit beside it, on the same letters."""
    run, typed = subject.run, subject.typed
    unit = st.session_state.get(keys.keyed(keys.GATES_UNIT, subject.run_id, subject.used))
    left, right = st.columns(2, gap="large")
    views.memory_over_time(run, typed, unit, where=left, label=runview.model_label(subject.info.model))
    other = companion(subject)
    if other is None:
        kind = "RNN" if subject.gates else "nn.LSTM"
        right.info(f"No {kind} run on these categories yet: train one to see its memory beside this one.",
                   icon=":material/info:")
        return
    try:
        other_run = resources.loaded_run(other.path)
    except guards.USER_ERRORS as exc:
        right.error(guards.one_line(exc), icon=":material/error:")
        return
    views.memory_over_time(other_run, typed, None, where=right, label=runview.model_label(other.model))
    right.caption(f"Beside it: {runview.run_label(other)}, its deciding unit for this name.")
