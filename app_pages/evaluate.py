"""Evaluate: confusion matrices, per-category scores, misclassified names, and a replay of learning."""

import streamlit as st

from rnnviz import charts
from rnnviz.runs import list_snapshots
from ui import guards, keys, nav, resources, runview


def pick_snapshot(info) -> int | None:
    """Learning replay: a slider over the run's saved epochs, ending at the final weights."""
    epochs = list_snapshots(info.path)
    if not epochs:
        return None
    options = runview.snapshot_options(epochs)
    key = f"{keys.EVAL_SNAPSHOT}.{info.run_id}"
    choice = st.select_slider("Learning replay: weights after epoch", options, value=runview.FINAL,
                              format_func=runview.snapshot_label, key=key,
                              help="Drag back to initialisation and forward again to watch the diagonal fill in.")
    return runview.snapshot_arg(choice)


def select_cell() -> None:
    """A click on a heatmap cell picks that (true, predicted) pair in the two selectboxes."""
    state = st.session_state.get(keys.EVAL_CHART)
    points = (state or {}).get("selection", {}).get("cell") or []
    if points and "true" in points[0] and "predicted" in points[0]:
        st.session_state[keys.EVAL_TRUE] = points[0]["true"]
        st.session_state[keys.EVAL_PREDICTED] = points[0]["predicted"]


def scores(report, column) -> None:
    a, b, c = column.columns(3)
    a.metric("Accuracy", f"{report.accuracy:.1%}")
    b.metric("Balanced accuracy", f"{report.balanced_accuracy:.1%}",
             help="Mean recall over categories: every language counts the same, however many names it has.")
    c.metric("Names", f"{len(report.names):,}")


def heatmap(report, title: str, cell: int, selectable: bool) -> None:
    chart = charts.confusion_heatmap(report.confusion_frame(), report.categories, title=title,
                                     selectable=selectable, cell=cell)
    if selectable:
        st.altair_chart(chart, on_select=select_cell, selection_mode="cell", key=keys.EVAL_CHART, width="content")
    else:
        st.altair_chart(chart, width="content")


def mistakes(report) -> None:
    frame = report.confusion_frame()
    categories = report.categories
    for key in (keys.EVAL_TRUE, keys.EVAL_PREDICTED):
        if st.session_state.get(key) not in categories:
            st.session_state.pop(key, None)
    if keys.EVAL_TRUE not in st.session_state:
        pair = charts.most_confused(frame) or (categories[0], categories[0])
        st.session_state[keys.EVAL_TRUE], st.session_state[keys.EVAL_PREDICTED] = pair
    st.markdown("**Names in one cell** · click a cell of the matrix, or pick the pair here")
    left, right = st.columns(2)
    true = left.selectbox("True category", categories, key=keys.EVAL_TRUE)
    predicted = right.selectbox("Predicted as", categories, key=keys.EVAL_PREDICTED)
    names = report.misclassified(true, predicted)
    verb = "correctly classified" if true == predicted else f"predicted as {predicted}"
    st.markdown(f"{len(names):,} {true} names {verb}")
    if names:
        st.dataframe({"name": names}, hide_index=True, width="stretch", height=min(36 * (len(names) + 1) + 3, 320))


def per_category(report) -> None:
    st.markdown("**Per category**")
    bar = {"min_value": 0.0, "max_value": 1.0, "format": "percent"}
    st.dataframe(report.per_category, hide_index=True, width="stretch", height=35 * (len(report.categories) + 1) + 3,
                 column_config={"precision": st.column_config.ProgressColumn(**bar),
                                "recall": st.column_config.ProgressColumn(**bar),
                                "f1": st.column_config.ProgressColumn(**bar)})


st.title("Evaluate")
runs = guards.require_runs(runview.usable_runs(resources.all_runs()), "finished runs",
                           "Evaluate shows runs that finished or were stopped with a saved model.")
labels = {info.run_id: runview.run_label(info) for info in runs}
by_id = {info.run_id: info for info in runs}
for key in (keys.EVAL_RUN, keys.EVAL_COMPARE):
    if st.session_state.get(key) not in labels:
        st.session_state.pop(key, None)

c1, c2, c3 = st.columns([3, 3, 2], gap="medium")
run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key=keys.EVAL_RUN)
others = [r for r in labels if r != run_id]
compare_id = c2.selectbox("Side by side with", [None, *others], key=keys.EVAL_COMPARE,
                          format_func=lambda r: "(nothing)" if r is None else labels[r])
which = c3.segmented_control("Names", ["val", "test"], default="val", required=True, key=keys.EVAL_SPLIT,
                             format_func={"val": "validation", "test": "test"}.get,
                             help="Both are held out from training; keep test for the final word.")
info = by_id[run_id]
snapshot = pick_snapshot(info)

try:
    report = resources.run_report(info, which, snapshot)
except guards.USER_ERRORS as exc:
    st.error(guards.one_line(exc), icon=":material/error:")
    st.page_link(nav.DATA, label="Data page", icon=":material/dataset:")
    st.stop()

when = runview.snapshot_label(runview.FINAL if snapshot is None else snapshot)
if compare_id is None:
    left, right = st.columns([3, 2], gap="large")
    with left:
        scores(report, st)
        heatmap(report, f"{labels[run_id]} · {when}", 28, selectable=True)
    with right:
        mistakes(report)
    per_category(report)
else:
    other = by_id[compare_id]
    other_snapshot = snapshot if snapshot is not None and snapshot in list_snapshots(other.path) else None
    left, right = st.columns(2, gap="large")
    with left:
        scores(report, st)
        heatmap(report, f"{labels[run_id]} · {when}", 24, selectable=True)
    with right, guards.reported(f"{labels[compare_id]}: "):
        other_report = resources.run_report(other, which, other_snapshot)
        scores(other_report, st)
        other_when = runview.snapshot_label(runview.FINAL if other_snapshot is None else other_snapshot)
        heatmap(other_report, f"{labels[compare_id]} · {other_when}", 24, selectable=False)
    left, right = st.columns([2, 3], gap="large")
    with left:
        mistakes(report)
    with right:
        per_category(report)
