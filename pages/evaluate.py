"""Evaluate: confusion matrices, per-category scores, misclassified names, and a replay of learning.

Every chart downloads as PNG and SVG (and its data as CSV), every table as CSV, and the whole run as one
offline HTML report; downloads are built only when clicked and hidden in presenter mode.
"""

import streamlit as st

from rnnviz.runs import list_snapshots
from ui import evaluate_view as view
from ui import frame, guards, keys, nav, resources, runview

with frame.page(nav.EVALUATE):

    st.title("Evaluate")
    runs = guards.require_runs(runview.usable_runs(resources.all_runs()), "finished runs",
                               "Evaluate shows runs that finished or were stopped with a saved model.")
    labels = {info.run_id: runview.run_label(info) for info in runs}
    by_id = {info.run_id: info for info in runs}
    for key in (keys.EVAL_RUN, keys.EVAL_COMPARE):
        if st.session_state.get(key) not in labels:
            st.session_state.pop(key, None)

    c1, c2, c3, c4 = st.columns([3, 3, 2.2, 2.6], gap="small", vertical_alignment="bottom")
    run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key=keys.EVAL_RUN)
    others = [r for r in labels if r != run_id]
    compare_id = c2.selectbox("Side by side with", [None, *others], key=keys.EVAL_COMPARE,
                              format_func=lambda r: "(nothing)" if r is None else labels[r])
    which = c3.segmented_control("Names", ["val", "test"], default="val", required=True, key=keys.EVAL_SPLIT,
                                 format_func={"val": "validation", "test": "test"}.get,
                                 help="Both are held out from training; keep test for the final word.")
    info = by_id[run_id]
    # The matrix starts on the first screen: the replay slider, the scores and the names of a cell sit beside it
    # (two runs: each with its scores under its matrix's title, the replay slider over both).
    if compare_id is None:
        left, right = st.columns([3, 2], gap="large")
        snapshot = view.pick_snapshot(info, right)
    else:
        snapshot = view.pick_snapshot(info, st)
        left, right = st.columns(2, gap="large")

    try:
        report = resources.run_report(info, which, snapshot)
    except guards.USER_ERRORS as exc:
        st.error(guards.one_line(exc), icon=":material/error:")
        nav.link(nav.DATA, label="Data page", icon=":material/dataset:")
        st.stop()

    when = runview.snapshot_label(runview.FINAL if snapshot is None else snapshot)
    name = f"{run_id}-{which}" + ("" if snapshot is None else f"-epoch{snapshot}")
    view.report_button(c4, info, report, which, f"{labels[run_id]} · {when} · {which} names")

    if compare_id is None:
        with right:
            view.scores(report, st)
            view.mistakes(report, name)
        with left:
            view.heatmap(report, f"{labels[run_id]} · {when}", view.MATRIX_SIDE, selectable=True,
                         name=f"confusion-{name}")
        view.per_category(report, name)
    else:
        other = by_id[compare_id]
        other_snapshot = snapshot if snapshot is not None and snapshot in list_snapshots(other.path) else None
        with left:
            view.heatmap(report, labels[run_id], view.COMPARE_SIDE, selectable=True, name=f"confusion-{name}",
                         subtitle=view.score_line(report, when))
        with right, guards.reported(f"{labels[compare_id]}: "):
            other_report = resources.run_report(other, which, other_snapshot)
            other_when = runview.snapshot_label(runview.FINAL if other_snapshot is None else other_snapshot)
            other_name = f"{compare_id}-{which}" + ("" if other_snapshot is None else f"-epoch{other_snapshot}")
            view.heatmap(other_report, labels[compare_id], view.COMPARE_SIDE, selectable=False,
                         name=f"confusion-{other_name}", subtitle=view.score_line(other_report, other_when))
        left, right = st.columns(2, gap="large")
        with left:
            view.mistakes(report, name)
        with right:
            view.per_category_both(report, other_report, f"{name}-vs-{compare_id}")
    st.caption("Each run is one seed: its split, initial weights and batch order. Differences of a point or two "
               "between runs can come from the seed alone; The report page averages three seeds.")
