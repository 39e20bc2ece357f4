"""The Evaluate page's panels: the learning-replay slider, scores, confusion heatmaps (a click picks a cell), the
names in one cell, the per-category table and the offline HTML report button."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from rnnviz import charts, export
from rnnviz.evaluate import per_category_compared
from rnnviz.runs import list_snapshots
from ui import display, guards, keys, runview

MATRIX_SIDE = 470  # pixels a confusion matrix aims for, alone (3/5 of the page); two side by side get COMPARE_SIDE
COMPARE_SIDE = 380
MIN_CELL, MAX_CELL = 16, 56  # a 2-category matrix is not a postage stamp, a 25-category one still fits


def pick_snapshot(info, where) -> int | None:
    """Learning replay: a slider over the run's saved epochs, ending at the final weights."""
    epochs = list_snapshots(info.path)
    if not epochs:
        return None
    options = runview.snapshot_options(epochs)
    key = keys.keyed(keys.EVAL_SNAPSHOT, info.run_id)
    choice = where.select_slider("Learning replay: weights after epoch", options, value=runview.FINAL,
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
    """Accuracy and balanced accuracy, each as wide as its number (a narrow column wraps them rather than cutting
    "70.8%" to "70.…"), and how many names they count."""
    row = column.container(horizontal=True, gap="medium")
    row.metric("Accuracy", f"{report.accuracy:.1%}", width="content")
    row.metric("Balanced accuracy", f"{report.balanced_accuracy:.1%}", width="content",
               help="Mean recall over categories: every language counts the same, however many names it has.")
    column.caption(f"on {len(report.names):,} names")


def score_line(report, when: str) -> str:
    """Which weights and the scores in one line, a matrix's subtitle when two stand side by side (metrics above
    them would push the matrices below the first screen)."""
    return (f"{when} · accuracy {report.accuracy:.1%}, balanced {report.balanced_accuracy:.1%} "
            f"({len(report.names):,} names)")


def cell_size(n_categories: int, side: int) -> int:
    """Pixels per matrix cell so the matrix is about `side` pixels (taller in presenter mode)."""
    return max(MIN_CELL, min(MAX_CELL, display.height(side) // max(1, n_categories)))


def heatmap(report, title: str, side: int, selectable: bool, name: str, subtitle: str = "") -> None:
    frame = report.confusion_frame()
    chart = charts.confusion_heatmap(frame, report.categories, title=title, selectable=selectable,
                                     cell=cell_size(len(report.categories), side), subtitle=subtitle)
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
                          mime="text/html", on_click="ignore", key=keys.download("report", info.run_id),
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
        display.table(table, height=min(36 * (len(names) + 1) + 3, 320))
        display.csv_button(table, f"{report_name}-{true}-as-{predicted}", label="Names as CSV")


PERCENT_BAR = {"min_value": 0.0, "max_value": 1.0, "format": "percent"}


def per_category_both(report, other_report, report_name: str) -> None:
    """The two runs' recall and f1 per category in one table (left and right as their matrices)."""
    st.markdown("**Per category** · left and right run")
    table = per_category_compared({"left": report, "right": other_report})
    display.table(table, height=min(35 * (len(table) + 1) + 3, 680),
                  column_config={c: st.column_config.ProgressColumn(**PERCENT_BAR)
                                 for c in table.columns if not c.startswith(("category", "support"))})
    display.csv_button(table, f"{report_name}-per-category", label="Per category as CSV")


def per_category(report, report_name: str) -> None:
    st.markdown("**Per category**")
    display.table(report.per_category, height=min(35 * (len(report.categories) + 1) + 3, 680),
                  column_config={"precision": st.column_config.ProgressColumn(**PERCENT_BAR),
                                "recall": st.column_config.ProgressColumn(**PERCENT_BAR),
                                "f1": st.column_config.ProgressColumn(**PERCENT_BAR)})
    display.csv_button(report.per_category, f"{report_name}-per-category", label="Per category as CSV")
