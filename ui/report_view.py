"""The Report page's panels: the report's runs (reused, training, waiting in the job manager's queue, or missing,
with a button that queues the missing ones), our figures beside the report's, each model's curves and test matrix."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rnnviz import charts
from rnnviz.jobs import JobManager, JobSnapshot
from rnnviz.registry import MODEL_LABELS
from rnnviz.reproduce import (
    REPORT_RUNS,
    REPORT_SEEDS,
    ReportRuns,
    RunKey,
    comparison_table,
    data_facts,
    reading,
    recipe_words,
    report_config,
    report_key,
)
from ui import display, guards, keys, owner, resources, runview

REFRESH_S = 2.0
MATRIX_WIDTH = 460  # pixels of one test matrix: its 3-digit counts fit their cells
MATRIX_WIDTH_PRESENTING = 880  # two side by side at 1920 pixels, counts legible from the back


@st.cache_data(show_spinner="Reading the surname files once more to count repeats…", max_entries=4)
def cached_facts(folder: str, names: int):
    return data_facts(resources.dataset_at(Path(folder)))


def percent(value) -> str:
    return f"{value:.1%}" if isinstance(value, (int, float)) else "?"


def held(manager: JobManager, found: ReportRuns) -> dict[RunKey, JobSnapshot]:
    """The missing report runs the job manager holds: waiting in its queue, or started with no folder yet."""
    jobs: dict[RunKey, JobSnapshot] = {}
    for job in manager.jobs():
        key = report_key(job.config) if job.active else None
        if key in found.missing:
            jobs.setdefault(key, job)
    return jobs


def states(manager: JobManager, run_ids: set[str]) -> list[tuple[str, str]]:
    """(run id, status) of those of `run_ids` still active here: a change means the page has news to show."""
    return sorted((job.run_id, job.status) for job in manager.jobs() if job.run_id in run_ids and job.active)


def start_missing(manager: JobManager, found: ReportRuns, dataset, asked: list[RunKey]) -> None:
    """Hand the missing runs to the job manager: it trains as many at once as RNNVIZ_MAX_JOBS allows and queues
    the rest. They belong to whoever asked for them and count against their cap."""
    started = []
    for model, seed in asked:
        try:
            manager.start(report_config(model, seed), dataset, owner=owner.me(), owner_name=owner.name())
        except guards.USER_ERRORS as exc:
            st.error(f"Not started: {guards.one_line(exc)}", icon=":material/error:")
            break
        started.append((model, seed))
    if started:
        st.toast("Training " + ", ".join(f"{MODEL_LABELS[m]} seed {seed}" for m, seed in started),
                 icon=":material/play_arrow:")
        st.rerun()


def runs_panel(found: ReportRuns, dataset) -> None:
    """Which report runs exist, live progress of those training, the ones waiting in the queue, and a button for
    the missing ones."""
    manager = resources.job_manager()
    at_once = display.in_words(manager.max_concurrent)
    waiting = held(manager, found)
    # A training writes its folder a moment after it starts; until then it is listed as starting.
    starting = [key for key, job in waiting.items() if job.status != "queued"]
    elsewhere = any(manager.get(info.run_id) is None for info in found.running.values())
    tracked = {info.run_id for info in found.running.values()} | {job.run_id for job in waiting.values()}
    st.session_state[keys.REPORT_WATCHED] = states(manager, tracked)
    st.session_state[keys.REPORT_WHOLE_RUN] = True

    @st.fragment(run_every=REFRESH_S if tracked else None)
    def panel() -> None:
        by_timer = not st.session_state.pop(keys.REPORT_WHOLE_RUN, False)  # drawn by the page's run, or by a refresh
        if states(manager, tracked) != st.session_state.get(keys.REPORT_WATCHED) \
                or ((starting or elsewhere) and by_timer):
            st.rerun(scope="app")  # a run started or ended (its results join the table), or has its folder now
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
                    elif key in waiting:
                        st.caption(f"seed {seed}: waiting for a free training slot ({at_once} train at a time)")
                    else:
                        st.caption(f"seed {seed}: not trained yet")

    panel()
    asked = [key for key in found.missing if key not in waiting]
    if asked:
        models = ", ".join(dict.fromkeys(MODEL_LABELS[m] for m, _ in asked))
        if st.button(f"Train the {len(asked)} missing runs ({models}), {at_once} at a time", type="primary",
                     icon=":material/play_arrow:", key=keys.REPORT_TRAIN,
                     help=f"Project defaults ({recipe_words().split(', where')[0]}), seeds "
                          f"{', '.join(str(s) for s in REPORT_SEEDS)}; hidden size 128 for the RNN, 64 for the "
                          "LSTMs. Runs already on disk with these settings are reused."):
            start_missing(manager, found, dataset, asked)


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
    display.table(shown, column_config={
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
        chart = charts.report_chart(table)
        display.chart(chart, "report-accuracy")


def model_column(column, model: str, info) -> None:
    label = MODEL_LABELS[model]
    with column:
        st.markdown(f"### {label}")
        st.caption(f"test accuracy {percent(info.summary.get('test_accuracy'))} · balanced "
                   f"{percent(info.summary.get('test_balanced_accuracy'))} · {runview.run_label(info)}")
        with guards.reported(f"{label}: "):
            long = charts.curves_long(resources.run_metrics(info.path), label, model=model)
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
