"""Gates: what an LSTM's gates, cell and hidden state do letter by letter while it reads a surname."""

import streamlit as st

from rnnviz import charts
from rnnviz.data import DataError
from rnnviz.inspect import GATE_LABELS, trace_name
from rnnviz.runs import list_snapshots
from ui import display, frame, guards, keys, nav, resources, runview, shareable

with frame.page(nav.GATES):

    EXTRA = ("g", "c", "h")
    URL_READ = "gates.url_read"  # set once this session has taken the run and surname from the link
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
            display.chart(charts.top_chart(trace.top[:3]), f"top-{trace.used}", alt=f"Top predictions: {top}",
                          downloads=False)


    def settings_from_link(run_ids: list[str]) -> None:
        """On a session's first visit, a shared link (?run=...&name=...) picks the run and the surname."""
        if st.session_state.get(URL_READ):
            return
        st.session_state[URL_READ] = True
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


    st.title("Gates")
    runs = guards.require_runs(runview.usable_runs(resources.all_runs(), runview.GATE_MODELS), "nn.LSTM or MyLSTM runs",
                               "Gates exist in LSTMs only: train an nn.LSTM or MyLSTM model (the RNN and the tanh "
                               "RNN have none, and the n-gram baseline has no state at all).")
    labels = {info.run_id: runview.run_label(info) for info in runs}
    settings_from_link(list(labels))
    if st.session_state.get(keys.GATES_RUN) not in labels:
        st.session_state.pop(keys.GATES_RUN, None)

    c1, c2, c3 = st.columns([3, 2, 2], gap="medium")
    run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key=keys.GATES_RUN,
                          help="nn.LSTM runs are read through an equivalent MyLSTM, gate by gate.")
    if keys.GATES_NAME not in st.session_state:
        st.session_state[keys.GATES_NAME] = "Nakamura"
    first = c2.text_input("Surname", max_chars=64, key=keys.GATES_NAME,
                          help="Accents are transliterated as in training (Müller → Muller); "
                               "other characters are dropped.")
    if keys.GATES_SECOND not in st.session_state:
        st.session_state[keys.GATES_SECOND] = "Schmidt"
    second = c3.text_input("Second surname (optional)", max_chars=64, key=keys.GATES_SECOND,
                           help="Shown side by side with the first; leave empty for one name.")
    link_to(run_id, first, second)
    o1, o2, o3 = st.columns([2, 2, 3] if not display.presenting() else [0.01, 4, 3], gap="medium")
    order_by = "index"  # presenter mode keeps the plain unit order and hides the control
    if not display.presenting():
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
    height = round(max(3, min(8, 360 // max(1, reference.values["i"].shape[1]))) * display.scale())
    width = 34  # letters keep their width so three gates still fit side by side
    if len(shown) == 1:
        for row in range(0, len(gate_keys), 3):
            for key, column in zip(gate_keys[row : row + 3], st.columns(3, gap="medium")):
                order = charts.unit_order(reference.gate_frame(key), order_by)
                frame = reference.gate_frame(key)
                display.chart(charts.gate_heatmap(frame, key, GATE_LABELS[key], order, cell_height=height,
                                                cell_width=width),
                              f"gate-{key}-{reference.used}", where=column, data=frame, width="content")
        columns = st.columns(2, gap="large")
        display.chart(charts.gate_means_chart(reference.gate_means()), f"gate-means-{reference.used}", where=columns[0],
                      data=reference.gate_means())
        display.chart(charts.prefix_chart(reference.prefix_frame()), f"prefix-{reference.used}", where=columns[1],
                      data=reference.prefix_frame())
        st.stop()
    for key in gate_keys:
        order = charts.unit_order(reference.gate_frame(key), order_by)
        for index, (trace, column) in enumerate(shown):
            frame = trace.gate_frame(key)
            display.chart(charts.gate_heatmap(frame, key, GATE_LABELS[key], order, cell_height=height,
                                                cell_width=width),
                          f"gate-{key}-{index}-{trace.used}", where=column, data=frame, width="content")
    for index, (trace, column) in enumerate(shown):
        display.chart(charts.gate_means_chart(trace.gate_means()), f"gate-means-{index}-{trace.used}", where=column,
                      data=trace.gate_means())
        display.chart(charts.prefix_chart(trace.prefix_frame()), f"prefix-{index}-{trace.used}", where=column,
                      data=trace.prefix_frame())
