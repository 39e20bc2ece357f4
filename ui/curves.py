"""The Train page's curves: the display controls (smoothing, x axis, log scale; kept in the link), a loss and
accuracy pair, and the Compare runs overlay."""

from __future__ import annotations

import random

import pandas as pd
import streamlit as st

from rnnviz import charts
from rnnviz.jobs import WORKING
from ui import display, guards, keys, owner, resources, runview, shareable

REFRESH_S = 1.0  # live curves refresh while one of this browser's trainings runs (the teacher's: any)
WAITING_REFRESH_S = 5.0  # while it only waits in the queue or watches others: a class of 30 costs the server less


def waiting_refresh_s() -> float:
    """The slow refresh, spread over 3.75-6.25 s by a factor drawn once per browser: a class that clicked Start
    together would otherwise refresh together, every session at once behind one interpreter (30 students: a
    refresh took 0.6 s at the median where 3 students took 0.05 s)."""
    spread = st.session_state.setdefault(keys.TRAIN_REFRESH_SPREAD, random.uniform(0.75, 1.25))
    return WAITING_REFRESH_S * spread
X_LABELS = {"step": "step", "epoch": "epoch", "time": "time (s)"}
HELP = {
    "smooth": "Exponential moving average as in TensorBoard (debiased, so the start is not pulled to zero). "
              "0 shows the measurements as they are: each point already averages the steps since the last one.",
    "x": "step: gradient steps; epoch: passes over the training names; time: training seconds (pauses excluded).",
    "log": "A log scale spreads out the late, small loss values where the models differ.",
}


def curve_settings() -> dict:
    return dict(st.session_state.get(keys.TRAIN_CURVES, shareable.CURVE_DEFAULTS))


def curve_controls() -> None:
    """Smoothing, x axis and log-scale loss for every curve on the page; kept in the link."""
    c1, c2, c3 = st.columns([3, 2, 2], gap="medium", vertical_alignment="bottom")
    smooth = c1.slider("Curve smoothing", min_value=0.0, max_value=shareable.MAX_SMOOTH, step=0.01,
                       key=keys.TRAIN_SMOOTH, help=HELP["smooth"])
    x = c2.segmented_control("x axis", list(X_LABELS), format_func=X_LABELS.get, required=True, key=keys.TRAIN_XAXIS,
                             help=HELP["x"])
    log = c3.toggle("Log-scale loss", key=keys.TRAIN_LOG, help=HELP["log"])
    st.session_state[keys.TRAIN_CURVES] = {shareable.SMOOTH: float(smooth), shareable.XAXIS: x or "epoch",
                                shareable.LOG: bool(log)}


def curve_pair(long: pd.DataFrame, name: str, height: int, live: bool = False) -> None:
    """Loss and accuracy side by side, with the page's curve settings; each downloadable (PNG, SVG, CSV).

    Charts redrawn every second (`live`) get a tooltip per point instead of the hover rule: a redraw would
    drop the rule under the pointer anyway, and leaving it out halves the server's time per refresh.
    """
    curves = curve_settings()
    loss, accuracy = st.columns(2, gap="large")
    for metric, column in (("loss", loss), ("accuracy", accuracy)):
        chart = charts.curve_chart(long, metric, height=display.height(height), smooth=curves[shareable.SMOOTH],
                                   x=curves[shareable.XAXIS], log=curves[shareable.LOG], hover=not live)
        display.chart(chart, f"{name}-{metric}", where=column, data=long)
    if curves[shareable.XAXIS] == "time" and len(long) and long["elapsed_s"].isna().all():
        st.caption("These runs recorded no training times: pick step or epoch for the x axis.")


def overlay_labels(infos, jobs: dict) -> dict[str, str]:
    """Runs that can be overlaid: those on disk with a config, and trainings whose folder is not written yet."""
    labels = {info.run_id: runview.run_label(info) for info in infos if info.config}
    for run_id, job in jobs.items():
        if job.active and run_id not in labels:
            labels[run_id] = runview.job_label(job)
    return labels


def overlay_selection(infos, labels: dict[str, str]) -> None:
    """The overlay's runs: the ones picked (or started by the demo), else this browser's newest finished ones
    (never another student's: a fresh session starts from its own runs, or from none)."""
    if keys.TRAIN_COMPARE_CHOICE in st.session_state:
        st.session_state[keys.TRAIN_COMPARE] = [r for r in st.session_state[keys.TRAIN_COMPARE_CHOICE]
                                                if r in labels]
    else:  # until someone picks, show the newest finished runs (the one that just finished among them)
        st.session_state[keys.TRAIN_COMPARE] = [
            i.run_id for i in runview.usable_runs(infos) if i.run_id in labels and owner.started_here(i.owner)][:3]


def curves_of(run_id: str, label: str, infos_by_id: dict, manager) -> pd.DataFrame:
    """A run's curves in its model's colour: the trainer's rows while this process knows the job (the x axis spans
    its planned epochs while it trains), else its metrics.csv."""
    job = manager.get(run_id)
    if job is not None and (job.active or run_id not in infos_by_id):
        return charts.curves_long(charts.rows_frame(job.rows), label, model=job.config.model,
                                  planned_epochs=job.config.epochs if job.active else None)
    info = infos_by_id[run_id]
    return charts.curves_long(resources.run_metrics(info.path), label, model=info.model or "")


def compare_runs(infos, labels: dict[str, str]) -> None:
    if not display.presenting():  # on a projector the curves come straight under the controls
        st.subheader("Compare runs")
    if not labels:
        st.caption("Curves appear here once a run has started.")
        return

    def remember() -> None:
        st.session_state[keys.TRAIN_COMPARE_CHOICE] = list(st.session_state[keys.TRAIN_COMPARE])
        st.session_state.pop(keys.TRAIN_DEMO_SHOWN, None)

    selected = st.multiselect("Runs to overlay", list(labels), format_func=labels.get, key=keys.TRAIN_COMPARE,
                              on_change=remember,
                              help="Pick RNN, nn.LSTM and MyLSTM runs with the same seed to compare them on the "
                                   "same split. Dashed lines are validation; once the runs have ended, hover a "
                                   "chart to read every line at one step.")
    if not selected:
        return
    manager = resources.job_manager()
    infos_by_id = {info.run_id: info for info in infos}
    training = {job.run_id for job in manager.jobs() if job.status in WORKING}
    live = any(run_id in manager.active_ids() for run_id in selected)
    # Redrawn every second while an overlaid run trains; while they only wait in the queue there is nothing new
    # to draw (in a class of 30 those redraws were the server's largest cost), so a slow check for their start.
    every = REFRESH_S if training & set(selected) else waiting_refresh_s() if live else None

    @st.fragment(run_every=every)
    def overlay() -> None:
        frames = []
        for run_id in selected:
            with guards.reported(f"{labels[run_id]}: "):
                frames.append(curves_of(run_id, labels[run_id], infos_by_id, manager))
        long = pd.concat(frames, ignore_index=True) if frames else charts.curves_long(None)
        # On a projector both curves, their legend and the controls above them fit in one 1080-pixel screen.
        curve_pair(long, "compare", 170 if display.presenting() else 260, live=live)

    overlay()
    # Under the curves, so they start on the first screen; the demo's notice stays while its curves are shown, so
    # nothing above them moves when it goes (a projector shows the curves alone).
    if st.session_state.get(keys.TRAIN_DEMO_SHOWN) and not display.presenting():
        st.success(st.session_state[keys.TRAIN_DEMO_SHOWN], icon=":material/check_circle:")
    st.caption("Each line is one run, so one seed; The report page gives the mean and spread over seeds. The "
               "n-gram baseline is fitted in one go: it is a single point at the end of its first epoch.")
