"""The report, reproduced: the lab report's three models trained the same way, next to what the report stated.
Its panels live in ui/report_view.py; the report's missing runs queue through the job manager."""

import streamlit as st

from rnnviz.registry import MODEL_LABELS
from rnnviz.reproduce import REPORT_RUNS, REPORT_SEEDS, find_report_runs, report_statement
from ui import frame, guards, nav, report_view, resources

with frame.page(nav.REPORT):

    st.title("The report, reproduced")
    st.markdown(
        "The lab report trained the tutorial's RNN, nn.LSTM and its own MyLSTM and stated " + report_statement() + ". "
        "Here the three are trained with one recipe "
        f"and each of seeds {', '.join(str(s) for s in REPORT_SEEDS)}, so they differ only in the model and every "
        "figure is a mean with its spread, and their numbers are put next to the report's. Beside them, the n-gram "
        "baseline answers *do we even need an RNN here?*: it has no recurrence at all."
    )
    dataset = guards.require_dataset()
    try:
        found = find_report_runs(resources.runs_root(), dataset.categories, resources.job_manager().active_ids())
    except guards.USER_ERRORS as exc:
        st.error(guards.one_line(exc), icon=":material/error:")
        st.stop()
    report_view.runs_panel(found, dataset)
    if not found.found:
        st.info("The comparison appears as soon as the first of the runs has finished.", icon=":material/info:")
        st.stop()
    report_view.comparison(found, dataset)
    st.subheader("Side by side")
    st.caption("Loss and accuracy while training, on training and on validation names, and below, the prediction "
               "matrices on the test names (rows: the true language). These are one run each, the lowest seed "
               "found; the n-gram baseline is fitted in one go, so its curve is a single point.")
    columns = st.columns(len(REPORT_RUNS), gap="medium")
    for column, model in zip(columns, REPORT_RUNS):
        first = found.first(model)
        if first is not None:
            report_view.model_column(column, model, first)
        else:
            column.markdown(f"### {MODEL_LABELS[model]}")
            column.info("No finished run yet.", icon=":material/hourglass:")
    report_view.matrices(found)
