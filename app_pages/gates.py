"""Gates: what an LSTM's gates, cell and hidden state do letter by letter while it reads a surname."""

import streamlit as st

from rnnviz import charts
from rnnviz.data import DataError
from rnnviz.inspect import GATE_LABELS, trace_name
from rnnviz.runs import list_snapshots
from ui import guards, keys, resources, runview

EXTRA = ("g", "c", "h")
ORDER_LABELS = {"index": "unit index", "mean": "mean activation", "variance": "variance"}


def trace_or_warn(run, name: str, column):
    try:
        return trace_name(run.model, run.categories, name)
    except DataError as exc:
        column.warning(guards.one_line(exc), icon=":material/keyboard:")
    except guards.USER_ERRORS as exc:
        column.error(guards.one_line(exc), icon=":material/error:")
    return None


def header(trace, column) -> None:
    with column:
        st.markdown(f"### {trace.name}")
        if trace.note:
            st.caption(f"Read as **{trace.used}** ({trace.note}).")
        top = ", ".join(f"{category} {p:.1%}" for category, p in trace.top[:3])
        st.altair_chart(charts.top_chart(trace.top[:3]), width="stretch", alt=f"Top predictions: {top}")


st.title("Gates")
runs = guards.require_runs(runview.usable_runs(resources.all_runs(), runview.GATE_MODELS), "nn.LSTM or MyLSTM runs",
                           "Gates exist in LSTMs only: train an nn.LSTM or MyLSTM model (the RNN has none).")
labels = {info.run_id: runview.run_label(info) for info in runs}
if st.session_state.get(keys.GATES_RUN) not in labels:
    st.session_state.pop(keys.GATES_RUN, None)

c1, c2, c3 = st.columns([3, 2, 2], gap="medium")
run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key=keys.GATES_RUN,
                      help="nn.LSTM runs are read through an equivalent MyLSTM, gate by gate.")
first = c2.text_input("Surname", value="Nakamura", max_chars=64, key=keys.GATES_NAME,
                      help="Accents are transliterated as in training (Müller → Muller); other characters are dropped.")
second = c3.text_input("Second surname (optional)", value="Schmidt", max_chars=64, key=keys.GATES_SECOND,
                       help="Shown side by side with the first; leave empty for one name.")
o1, o2, o3 = st.columns([2, 2, 3], gap="medium")
order_by = o1.segmented_control("Order units by", list(ORDER_LABELS), default="index", required=True,
                                format_func=ORDER_LABELS.get, key=keys.GATES_ORDER,
                                help="Sorting by mean or variance groups units that behave alike.")
extra = o2.pills("Also show", list(EXTRA), selection_mode="multi", default=[], key=keys.GATES_EXTRA,
                 format_func=GATE_LABELS.get, help="g: the candidate written to the cell; c: the cell state; "
                                                   "h: the hidden state the classifier reads.")
info = next(i for i in runs if i.run_id == run_id)
snapshot = None
epochs = list_snapshots(info.path)
if epochs:
    choice = o3.select_slider("Learning replay: weights after epoch", runview.snapshot_options(epochs),
                              value=runview.FINAL, format_func=runview.snapshot_label,
                              key=f"{keys.GATES_SNAPSHOT}.{run_id}")
    snapshot = runview.snapshot_arg(choice)

try:
    run = resources.loaded_run(info.path, snapshot)
except guards.USER_ERRORS as exc:
    st.error(guards.one_line(exc), icon=":material/error:")
    st.stop()

names = [first] + ([second] if second and second.strip() else [])
columns = st.columns(len(names) if len(names) > 1 else [2, 3], gap="large")
traces = [trace_or_warn(run, name, column) for name, column in zip(names, columns)]
shown = [(trace, column) for trace, column in zip(traces, columns) if trace is not None]
if not shown:
    st.stop()
for trace, column in shown:
    header(trace, column)

reference = shown[0][0]  # both names use the first name's unit order, so rows line up
gate_keys = ["i", "f", "o", *[k for k in EXTRA if k in (extra or [])]]
height = max(3, min(8, 360 // max(1, reference.values["i"].shape[1])))
if len(shown) == 1:
    for row in range(0, len(gate_keys), 3):
        for key, column in zip(gate_keys[row : row + 3], st.columns(3, gap="medium")):
            order = charts.unit_order(reference.gate_frame(key), order_by)
            column.altair_chart(charts.gate_heatmap(reference.gate_frame(key), key, GATE_LABELS[key], order,
                                                    cell_height=height), width="content")
    columns = st.columns(2, gap="large")
    columns[0].altair_chart(charts.gate_means_chart(reference.gate_means()), width="stretch")
    columns[1].altair_chart(charts.prefix_chart(reference.prefix_frame()), width="stretch")
    st.stop()
for key in gate_keys:
    order = charts.unit_order(reference.gate_frame(key), order_by)
    for trace, column in shown:
        column.altair_chart(charts.gate_heatmap(trace.gate_frame(key), key, GATE_LABELS[key], order,
                                                cell_height=height), width="content")
for trace, column in shown:
    column.altair_chart(charts.gate_means_chart(trace.gate_means()), width="stretch")
    column.altair_chart(charts.prefix_chart(trace.prefix_frame()), width="stretch")
