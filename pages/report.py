"""The report, reproduced: the lab report's three models trained the same way, next to what the report stated."""

from pathlib import Path

import streamlit as st

from rnnviz import charts, insight_charts
from rnnviz.jobs import JobLimitError
from rnnviz.models import MODEL_LABELS
from rnnviz.reproduce import (
    REPORT_RUNS,
    REPORT_SEEDS,
    comparison_table,
    data_facts,
    find_report_runs,
    reading,
    recipe_words,
)
from ui import display, frame, guards, nav, owner, resources, runview

with frame.page(nav.REPORT):

    # Session-state keys of this page.
    WATCHED = "report.watched"  # report runs that were training when the page last ran in full
    PENDING = "report.pending"  # report (model, seed) runs this session asked for that wait for a free slot
    STARTING = "report.starting"  # report (model, seed) runs this session started whose folder is not written yet
    WHOLE_RUN = "report.whole_run"  # set while the whole page runs, so the live panel knows a timer did not call it

    REFRESH_S = 2.0
    MATRIX_WIDTH = 460  # pixels of one test matrix: its 3-digit counts fit their cells
    MATRIX_WIDTH_PRESENTING = 880  # two side by side at 1920 pixels, counts legible from the back


    @st.cache_data(show_spinner="Reading the surname files once more to count repeats…", max_entries=4)
    def cached_facts(folder: str, names: int):
        return data_facts(resources.dataset_at(Path(folder)))


    def percent(value) -> str:
        return f"{value:.1%}" if isinstance(value, (int, float)) else "?"


    def start_pending(found, dataset) -> None:
        """Start the report runs this session asked for that are still missing, as many as may train at once
        (two at a time: the job manager's limit)."""
        pending = [tuple(key) for key in st.session_state.get(PENDING, []) if tuple(key) in found.missing]
        configs = {(config.model, config.seed): config for config in found.configs_to_start()}
        started = []
        for key in list(pending):
            try:
                resources.job_manager().start(configs[key], dataset, owner=owner.me(),
                                                 owner_name=owner.name())
            except JobLimitError:
                break  # the rest start when a training ends (the live panel reruns the page then)
            except guards.USER_ERRORS as exc:
                st.error(f"Not started: {guards.one_line(exc)}", icon=":material/error:")
                pending = []
                break
            started.append(key)
            pending.remove(key)
        st.session_state[PENDING] = pending
        st.session_state[STARTING] = [*st.session_state.get(STARTING, []), *started]
        if started:
            st.toast("Training " + ", ".join(f"{MODEL_LABELS[m]} seed {seed}" for m, seed in started),
                     icon=":material/play_arrow:")
            st.rerun()


    def runs_panel(found, dataset) -> None:
        """Which report runs exist, live progress of those training, and a button for the missing ones."""
        manager = resources.job_manager()
        if st.session_state.get(PENDING):
            start_pending(found, dataset)
        pending = [tuple(key) for key in st.session_state.get(PENDING, [])]
        # A training writes its folder a moment after it starts; until then it is listed as starting, as long as
        # the job manager still runs a training of that model and seed.
        training = {(job.config.model, job.config.seed) for job in manager.jobs() if job.active}
        starting = [tuple(key) for key in st.session_state.get(STARTING, [])
                    if tuple(key) not in found.found and tuple(key) not in found.running and tuple(key) in training]
        st.session_state[STARTING] = starting
        watched = sorted(info.run_id for info in found.running.values())
        st.session_state[WATCHED] = watched

        st.session_state[WHOLE_RUN] = True

        @st.fragment(run_every=REFRESH_S if watched or starting or pending else None)
        def panel() -> None:
            by_timer = not st.session_state.pop(WHOLE_RUN, False)  # drawn by the page's run, or by a refresh
            now = sorted(manager.active_ids() & set(st.session_state.get(WATCHED, [])))
            if now != st.session_state.get(WATCHED, []) or (starting and by_timer):
                st.rerun(scope="app")  # a run ended (its results join the table) or a new one has its folder now
            columns = st.columns(len(REPORT_RUNS), gap="medium")
            for column, model in zip(columns, REPORT_RUNS):
                with column.container(border=True):
                    hidden = REPORT_RUNS[model].resolved_hidden_size
                    st.markdown(f"**{MODEL_LABELS[model]}**" + (f" · hidden {hidden}" if hidden else ""))
                    for seed in REPORT_SEEDS:
                        key = (model, seed)
                        if key in found.found:
                            st.caption(f"seed {seed}: reusing {runview.run_label(found.found[key])}")
                        elif key in found.running:
                            job = manager.get(found.running[key].run_id)
                            if job is None:
                                st.caption(f"seed {seed}: training in another process")
                            else:
                                st.progress(job.progress, text=f"seed {seed}: "
                                            + runview.progress_text(job, job.config.epochs))
                        elif key in starting:
                            st.caption(f"seed {seed}: starting…")
                        elif key in pending:
                            st.caption(f"seed {seed}: waiting for a free training slot (two train at a time)")
                        else:
                            st.caption(f"seed {seed}: not trained yet")

        panel()
        asked = [key for key in found.missing if key not in pending and key not in starting]
        if asked:
            models = ", ".join(dict.fromkeys(MODEL_LABELS[m] for m, _ in asked))
            if st.button(f"Train the {len(asked)} missing runs ({models}), two at a time", type="primary",
                         icon=":material/play_arrow:",
                         help=f"Project defaults ({recipe_words().split(', where')[0]}), seeds "
                              f"{', '.join(str(s) for s in REPORT_SEEDS)}; hidden size 128 for the RNN, 64 for the "
                              "LSTMs. Runs already on disk with these settings are reused."):
                st.session_state[PENDING] = [*pending, *asked]
                start_pending(found, dataset)


    def comparison(found, dataset) -> None:
        table = comparison_table(found.found)
        st.subheader("Our figures and the report's")
        # The table is the page's point: the whole width, so its last columns (the report's) are on screen.
        shown = table.copy()  # figures as text: one the report does not state is a dash, not "None"
        for column in ("val_accuracy", "val_balanced_accuracy", "test_accuracy", "test_balanced_accuracy",
                       "test_accuracy_sd", "test_balanced_accuracy_sd", "report_test_accuracy", "train_seconds"):
            if column in shown:
                pattern = ("{:.1f} s" if column == "train_seconds" else "± {:.1%}" if column.endswith("_sd")
                           else "{:.1%}")
                shown[column] = [pattern.format(v) if isinstance(v, (int, float)) and v == v else "–"
                                 for v in shown[column].to_numpy(object)]
        hidden = {f"{m}_sd": None for m in ("val_accuracy", "val_balanced_accuracy", "train_seconds")}
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            "run_id": None,  # in the CSV; the panel above names the runs
            **hidden,  # in the CSV
            "seeds": st.column_config.NumberColumn("seeds"),
            "test_accuracy_sd": st.column_config.TextColumn("± test acc (sd)"),
            "test_balanced_accuracy_sd": st.column_config.TextColumn("± balanced (sd)"),
            "val_accuracy": st.column_config.TextColumn("val acc"),
            "val_balanced_accuracy": st.column_config.TextColumn("val balanced"),
            "test_accuracy": st.column_config.TextColumn("test acc"),
            "test_balanced_accuracy": st.column_config.TextColumn("test balanced"),
            "train_seconds": st.column_config.TextColumn("train time"),
            "report_test_accuracy": st.column_config.TextColumn("report: test acc"),
            "report_says": st.column_config.TextColumn("report says"),
        })
        display.csv_button(table, "report-comparison", label="Table as CSV")
        left, right = st.columns([3, 2], gap="large")
        with left:
            try:
                facts = cached_facts(str(dataset.source), len(dataset))
            except guards.USER_ERRORS as exc:
                st.caption(f"Could not count repeated names: {guards.one_line(exc)}")
                facts = None
            st.markdown("\n".join(f"- {line}" for line in reading(table, facts)))
        with right:
            chart = insight_charts.report_chart(table)
            display.chart(chart, "report-accuracy")


    def model_column(column, model: str, info) -> None:
        label = MODEL_LABELS[model]
        with column:
            st.markdown(f"### {label}")
            st.caption(f"test accuracy {percent(info.summary.get('test_accuracy'))} · balanced "
                       f"{percent(info.summary.get('test_balanced_accuracy'))} · {runview.run_label(info)}")
            with guards.reported(f"{label}: "):
                long = charts.curves_long(resources.run_metrics(info.path), label)
                for metric in ("loss", "accuracy"):
                    chart = charts.curve_chart(long, metric, height=display.height(180))
                    display.chart(chart, f"report-{model}-{metric}", data=long[long["metric"] == metric])


    def matrices(found) -> None:
        """The three test matrices next to each other where they fit at a readable size, else one under another."""
        width = MATRIX_WIDTH_PRESENTING if display.presenting() else MATRIX_WIDTH
        row = st.container(horizontal=True, gap="medium")
        for model in REPORT_RUNS:
            first = found.first(model)  # the lowest seed found, as the curves above
            if first is None:
                continue
            label = MODEL_LABELS[model]
            with row.container(width=width), guards.reported(f"{label}: "):
                report = resources.run_report(first, "test")
                cell = max(12, (width - 120) // max(1, len(report.categories)))
                heatmap = charts.confusion_heatmap(report.confusion_frame(), report.categories,
                                                   title=f"{label}: test names", selectable=False, cell=cell)
                display.chart(heatmap, f"report-{model}-confusion", data=report.confusion_frame())


    st.title("The report, reproduced")
    st.markdown(
        "The lab report trained the tutorial's RNN, nn.LSTM and its own MyLSTM and stated test accuracies of **42%** "
        "for the RNN and **81%** for nn.LSTM, with MyLSTM close to nn.LSTM. Here the three are trained with one recipe "
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
    runs_panel(found, dataset)
    if not found.found:
        st.info("The comparison appears as soon as the first of the runs has finished.", icon=":material/info:")
        st.stop()
    comparison(found, dataset)
    st.subheader("Side by side")
    st.caption("Loss and accuracy while training, on training and on validation names, and below, the prediction "
               "matrices on the test names (rows: the true language). These are one run each, the lowest seed "
               "found; the n-gram baseline is fitted in one go, so its curve is a single point.")
    columns = st.columns(len(REPORT_RUNS), gap="medium")
    for column, model in zip(columns, REPORT_RUNS):
        first = found.first(model)
        if first is not None:
            model_column(column, model, first)
        else:
            column.markdown(f"### {MODEL_LABELS[model]}")
            column.info("No finished run yet.", icon=":material/hourglass:")
    matrices(found)
