"""Evaluate: confusion matrices, per-category scores, misclassified names, and a replay of learning.

Every chart downloads as PNG and SVG (and its data as CSV), every table as CSV, and the whole run as one
offline HTML report; downloads are built only when clicked and hidden in presenter mode.
"""

import html

import pandas as pd
import streamlit as st

from rnnviz import charts, export
from rnnviz.runs import list_snapshots
from ui import display, frame, guards, keys, nav, resources, runview

with frame.page(nav.EVALUATE):

    MATRIX_SIDE = 520  # pixels a confusion matrix aims for, alone; two side by side get COMPARE_SIDE each
    COMPARE_SIDE = 480
    MIN_CELL, MAX_CELL = 16, 56  # a 2-category matrix is not a postage stamp, a 25-category one still fits
    NAMES_WIDTH = 400  # the "Names in one cell" panel; it goes under the matrix when the two do not fit side by side


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


    def cell_size(n_categories: int, side: int) -> int:
        """Pixels per matrix cell so the matrix is about `side` pixels (taller in presenter mode)."""
        return max(MIN_CELL, min(MAX_CELL, display.height(side) // max(1, n_categories)))


    def heatmap(report, title: str, side: int, selectable: bool, name: str) -> None:
        frame = report.confusion_frame()
        chart = charts.confusion_heatmap(frame, report.categories, title=title, selectable=selectable,
                                         cell=cell_size(len(report.categories), side))
        if selectable:
            display.chart(chart, name, data=frame, on_select=select_cell, selection_mode="cell", key=keys.EVAL_CHART)
        else:
            display.chart(chart, name, data=frame)


    def report_html(info, report, which: str, title: str) -> bytes:
        """The run's offline HTML report; a failure becomes a short page saying why, never a traceback."""
        try:
            page = export.run_folder_report(info.path, report, split=which, title=title)
        except guards.USER_ERRORS as exc:
            page = (f"<!DOCTYPE html><meta charset='utf-8'><title>rnnviz</title>"
                    f"<p>The report could not be made: {html.escape(guards.one_line(exc))}</p>")
        return page.encode("utf-8")


    def report_button(where, info, report, which: str, title: str) -> None:
        if display.presenting():
            return
        where.download_button("Run report (HTML)", data=lambda: report_html(info, report, which, title),
                              file_name=f"{export.file_stem('rnnviz', info.run_id, which)}-report.html",
                              mime="text/html", on_click="ignore", key=f"dl-report-{info.run_id}",
                              icon=":material/description:", width="stretch",
                              help="One HTML file that opens offline: settings, training curves, this confusion "
                                   "matrix and the per-category table.")


    def mistakes(report, report_name: str) -> None:
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
            table = pd.DataFrame({"name": names})
            st.dataframe(table, hide_index=True, width="stretch",
                         height=min(36 * (len(names) + 1) + 3, display.height(320)))
            display.csv_button(table, f"{report_name}-{true}-as-{predicted}", label="Names as CSV")


    def per_category(report, report_name: str) -> None:
        st.markdown("**Per category**")
        bar = {"min_value": 0.0, "max_value": 1.0, "format": "percent"}
        st.dataframe(report.per_category, hide_index=True, width="stretch",
                     height=min(35 * (len(report.categories) + 1) + 3, display.height(680)),
                     column_config={"precision": st.column_config.ProgressColumn(**bar),
                                    "recall": st.column_config.ProgressColumn(**bar),
                                    "f1": st.column_config.ProgressColumn(**bar)})
        display.csv_button(report.per_category, f"{report_name}-per-category", label="Per category as CSV")


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
    snapshot = pick_snapshot(info)

    try:
        report = resources.run_report(info, which, snapshot)
    except guards.USER_ERRORS as exc:
        st.error(guards.one_line(exc), icon=":material/error:")
        nav.link(nav.DATA, label="Data page", icon=":material/dataset:")
        st.stop()

    when = runview.snapshot_label(runview.FINAL if snapshot is None else snapshot)
    name = f"{run_id}-{which}" + ("" if snapshot is None else f"-epoch{snapshot}")
    report_button(c4, info, report, which, f"{labels[run_id]} · {when} · {which} names")
    st.caption("Each run is one seed: its split, initial weights and batch order. Differences of a point or two "
               "between runs can come from the seed alone; The report page averages three seeds.")
    def side_by_side(*widths: int) -> list:
        """Panels next to each other while the page is wide enough for them, one under the other when not."""
        row = st.container(horizontal=True, gap="large")
        return [row.container(width=display.height(width)) for width in widths]


    if compare_id is None:
        left, right = side_by_side(MATRIX_SIDE + 120, NAMES_WIDTH)
        with left:
            scores(report, st)
            heatmap(report, f"{labels[run_id]} · {when}", MATRIX_SIDE, selectable=True, name=f"confusion-{name}")
        with right:
            mistakes(report, name)
        per_category(report, name)
    else:
        other = by_id[compare_id]
        other_snapshot = snapshot if snapshot is not None and snapshot in list_snapshots(other.path) else None
        left, right = side_by_side(COMPARE_SIDE + 120, COMPARE_SIDE + 120)
        with left:
            scores(report, st)
            heatmap(report, f"{labels[run_id]} · {when}", COMPARE_SIDE, selectable=True, name=f"confusion-{name}")
        with right, guards.reported(f"{labels[compare_id]}: "):
            other_report = resources.run_report(other, which, other_snapshot)
            scores(other_report, st)
            other_when = runview.snapshot_label(runview.FINAL if other_snapshot is None else other_snapshot)
            other_name = f"{compare_id}-{which}" + ("" if other_snapshot is None else f"-epoch{other_snapshot}")
            heatmap(other_report, f"{labels[compare_id]} · {other_when}", COMPARE_SIDE, selectable=False,
                    name=f"confusion-{other_name}")
        left, right = side_by_side(NAMES_WIDTH, COMPARE_SIDE + 120)
        with left:
            mistakes(report, name)
        with right:
            per_category(report, name)
