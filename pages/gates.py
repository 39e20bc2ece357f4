"""Gates: inside the model while it reads a surname. One LSTM step with its numbers, letter by letter; what
the units do; where the prediction comes from; what-if experiments on the gates; and every gate as a heatmap.
The views live in ui/gates_cell.py, ui/gates_units.py and ui/gates_views.py, their shared parts in
ui/gates_common.py."""

import streamlit as st

from rnnviz.runs import list_snapshots
from ui import frame, gates_cell, gates_units, gates_views, guards, keys, nav, resources, runview
from ui import gates_common as common

with frame.page(nav.GATES):

    st.title("Gates")
    runs = guards.require_runs(runview.usable_runs(resources.all_runs(), runview.INSPECTABLE_MODELS),
                               "runs of the report's models",
                               "Train a model: nn.LSTM and MyLSTM runs open their gates here, the RNN shows what "
                               "applies to it. The n-gram baseline has no state at all, and the tanh RNN is "
                               "compared on Why LSTM? rather than taken apart here.")
    labels = {info.run_id: runview.run_label(info) for info in runs}
    common.settings_from_link(list(labels))
    if st.session_state.get(keys.GATES_RUN) not in labels:
        st.session_state.pop(keys.GATES_RUN, None)

    c1, c2, c3 = st.columns([3, 2, 2], gap="medium")
    run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key=keys.GATES_RUN,
                          help="nn.LSTM runs are read through an equivalent MyLSTM, gate by gate.")
    if keys.GATES_NAME not in st.session_state:
        st.session_state[keys.GATES_NAME] = "Nakamura"
    first = c2.text_input("Surname", key=keys.GATES_NAME,
                          help="Accents are transliterated as in training (Müller → Muller); "
                               "other characters are dropped.")
    if keys.GATES_SECOND not in st.session_state:
        st.session_state[keys.GATES_SECOND] = "Schmidt"
    second = c3.text_input("Second surname (optional)", key=keys.GATES_SECOND,
                           help="Shown beside the first in the heatmaps and on the hidden-state map.")
    common.link_to(run_id, first, second)
    info = next(i for i in runs if i.run_id == run_id)
    v1, v2 = st.columns([4, 1.4], gap="medium")
    view = v1.segmented_control("View", list(common.VIEWS), default="cell", required=True, format_func=common.VIEWS.get,
                                key=keys.GATES_VIEW)
    snapshot = None
    epochs = list_snapshots(info.path)
    if epochs:
        choice = v2.select_slider("Learning replay: weights after epoch", runview.snapshot_options(epochs),
                                  value=runview.FINAL, format_func=runview.snapshot_label,
                                  key=keys.keyed(keys.GATES_SNAPSHOT, run_id))
        snapshot = runview.snapshot_arg(choice)

    try:
        run = resources.loaded_run(info.path, snapshot)
    except guards.USER_ERRORS as exc:
        st.error(guards.one_line(exc), icon=":material/error:")
        st.stop()

    names = [first] + ([second] if second and second.strip() else [])
    columns = st.columns(len(names) if len(names) > 1 else [3, 2], gap="large")
    readings = [common.reading_or_warn(run, name, column) for name, column in zip(names, columns)]
    shown = [(reading, column) for reading, column in zip(readings, columns) if reading is not None]
    if not shown:
        st.stop()
    for reading, column in shown:
        common.header(reading, column)
    subject = common.Subject(info, snapshot, run, [reading for reading, _ in shown])  # the views explain the first name
    VIEW_FUNCTIONS = {"cell": gates_cell.view, "memory": gates_views.memory, "units": gates_units.view,
                      "why": gates_views.origin,
                      "whatif": gates_views.what_if, "heatmaps": gates_views.heatmaps}
    VIEW_FUNCTIONS[view](subject)
