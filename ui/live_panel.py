"""The Train page's live panel: this browser's trainings with their curves and controls, the class's other
trainings as progress bars, and a notice for each one that ended."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts
from rnnviz.jobs import WORKING
from ui import guards, keys, owner, resources, runview
from ui.curves import REFRESH_S, curve_pair, waiting_refresh_s

# While one of this browser's trainings has started but drawn no curve point yet: the first point lands well within
# a second of Start, and waiting up to a whole REFRESH_S more for it would be most of the wait. Once every one has
# a point on screen the page reruns once and the panel goes back to REFRESH_S.
FIRST_POINT_REFRESH_S = 0.25


def control(action: str, run_id: str, run_owner: str) -> None:
    """A run control's callback; the library checks the owner again when the click arrives."""
    try:
        getattr(resources.job_manager(), action)(run_id, by=owner.me())
    except PermissionError as exc:  # the page was drawn before the teacher left teacher mode, say
        st.session_state[keys.TRAIN_START_ERROR] = guards.one_line(exc)


def job_controls(job) -> None:
    """Pause / Resume and Stop, or Cancel while queued: for the run's owner and the teacher only."""
    if not owner.can_manage(job.owner):
        return
    if job.status == "queued":
        st.button("Cancel", key=keys.job_button("cancel", job.run_id), icon=":material/close:", on_click=control,
                  args=("cancel", job.run_id, job.owner), width="content", help="Take it out of the queue.")
        return
    # A row of buttons as wide as their labels: columns of a fixed share cut "Pause" to "P." in a narrow card.
    row = st.container(horizontal=True, gap="small")
    if job.status == "stopping":  # the stop has landed; the run is scoring its final weights
        row.button("Pause", key=keys.job_button("pause", job.run_id), icon=":material/pause:", disabled=True,
                   width="content")
        row.button("Stop", key=keys.job_button("stop", job.run_id), icon=":material/stop:", disabled=True,
                   width="content")
        return
    if job.status == "paused":
        row.button("Resume", key=keys.job_button("resume", job.run_id), icon=":material/play_arrow:",
                   on_click=control, args=("resume", job.run_id, job.owner), width="content")
    else:
        row.button("Pause", key=keys.job_button("pause", job.run_id), icon=":material/pause:",
                   on_click=control, args=("pause", job.run_id, job.owner), width="content")
    row.button("Stop", key=keys.job_button("stop", job.run_id), icon=":material/stop:",
               on_click=control, args=("stop", job.run_id, job.owner), width="content")


def show_job(job, overlaid: bool, curves: bool = True, compare_where: str = "below") -> None:
    """A training's card; `compare_where` says where Compare runs is drawn on the page ("above" or "below")."""
    with st.container(border=True):
        by = owner.who(job.owner, job.owner_name)
        st.markdown(f"**{runview.job_label(job)}** · {job.status} · {owner.plain(by)}")
        st.progress(job.progress, text=runview.progress_text(job, job.config.epochs))
        job_controls(job)
        if job.status == "queued":
            return
        if not curves:
            st.caption(f"Pick it in Compare runs, {compare_where}, to see its curves.")
            return
        if overlaid:
            st.caption(f"Its curves are in Compare runs, {compare_where}.")
            return
        curve_pair(charts.curves_long(charts.rows_frame(job.rows), runview.job_label(job), model=job.config.model,
                                      planned_epochs=job.config.epochs), f"live-{job.run_id}", 220, live=True)


def followed(jobs) -> list[str]:
    """The active runs whose end this session announces: its own (the teacher's: every one)."""
    return sorted(job.run_id for job in jobs if job.active and (owner.is_teacher() or mine(job)))


def mine(job) -> bool:
    return owner.is_mine(job.owner)


def working_here(jobs, teacher: bool) -> bool:
    """Whether a training this browser follows holds a worker (its own; the teacher's: any)."""
    return any(job.status in WORKING and (teacher or mine(job)) for job in jobs)


def awaiting_first_point(jobs) -> bool:
    """Whether one of this browser's own trainings runs and has no curve point yet."""
    return any(job.status == "running" and not job.rows and mine(job) for job in jobs)


def live_panel(compare_where: str = "below") -> None:
    """This browser's trainings (live curves and controls; queued ones with their place in line), the others'
    running ones as progress bars (the teacher sees every one in full), and how many more wait. A fragment
    refreshes it every second while one of this browser's trainings runs, every few seconds while its runs
    only wait or it watches others; the whole page reruns when one of its runs ends (the teacher's: any).
    `compare_where` says whether the page draws Compare runs "above" or "below" the panel (the cards point there)."""
    manager = resources.job_manager()
    jobs = manager.jobs()
    watched = followed(jobs)
    announce_ended(set(st.session_state.get(keys.TRAIN_LIVE_IDS, [])) - set(watched))
    st.session_state[keys.TRAIN_LIVE_IDS] = watched

    teacher = owner.is_teacher()
    awaiting = awaiting_first_point(jobs)
    working = working_here(jobs, teacher)
    if awaiting:
        every = FIRST_POINT_REFRESH_S
    elif working:
        every = REFRESH_S
    else:
        every = waiting_refresh_s() if any(job.active for job in jobs) else None

    # While awaiting, whether a refresh has drawn every first point: kept across the fragment's refreshes (they call
    # this same closure) until the next full run. The page reruns at the end of the refresh after the one that drew
    # them, so it never cuts that drawing short, and the cards stay on screen throughout.
    drawn = {"first_points": False}

    @st.fragment(run_every=every)
    def panel() -> None:
        try:
            jobs = [job for job in manager.jobs() if job.active]
            if followed(jobs) != st.session_state.get(keys.TRAIN_LIVE_IDS, []):
                st.rerun(scope="app")  # the run table, the announcements and the refresh rate follow
            if not working and working_here(jobs, teacher):
                st.rerun(scope="app")  # a queued training of ours started: refresh at the training's rate
            overlaid = set(st.session_state.get(keys.TRAIN_COMPARE, []))
            others_waiting = 0
            shown = []  # (job, whether its curves are drawn)
            for job in sorted(jobs, key=lambda j: (not mine(j), j.status == "queued", j.position or 0)):
                if mine(job) or teacher:
                    shown.append((job, True))
                elif job.status != "queued":  # at most RNNVIZ_MAX_JOBS: progress bars, curves on request
                    shown.append((job, job.run_id in overlaid))
                else:
                    others_waiting += 1
            beside = [(job, curves) for job, curves in shown if job.run_id in overlaid]  # small cards
            for (job, curves), column in zip(beside, st.columns(len(beside), gap="medium") if beside else []):
                with column:
                    show_job(job, True, curves=curves, compare_where=compare_where)
            for job, curves in shown:
                if job.run_id not in overlaid:
                    show_job(job, False, curves=curves, compare_where=compare_where)
            if others_waiting:
                st.caption(f"{others_waiting} more training{'s' if others_waiting > 1 else ''} of the class "
                           f"waiting in the queue; this server trains {resources.max_jobs()} at once "
                           "(RNNVIZ_MAX_JOBS).")
            if drawn["first_points"]:
                st.rerun(scope="app")  # the first points are on screen: back to the usual refresh rate
            drawn["first_points"] = awaiting and not awaiting_first_point(jobs)
        except guards.USER_ERRORS as exc:
            st.error(guards.one_line(exc), icon=":material/error:")

    panel()


def announce_ended(run_ids: set[str]) -> None:
    """A notice per training that ended; they stay (the demo's two together) until the next training starts."""
    manager = resources.job_manager()
    ended = st.session_state.setdefault(keys.TRAIN_ENDED, [])
    for run_id in sorted(run_ids):
        job = manager.get(run_id)
        if job is None:
            continue
        val = job.summary.get("val_accuracy")
        accuracy = f": validation accuracy {val:.1%}" if isinstance(val, float) else ""
        text = f"{runview.job_label(job)} {job.status}{accuracy}" + (f" ({job.message})" if job.message else "")
        ended.append((job.status in ("finished", "stopped"), text))
    for ok, text in ended:
        if ok:
            st.success(text, icon=":material/check_circle:")
        else:
            st.warning(text, icon=":material/warning:")
