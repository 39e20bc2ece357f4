"""The Why page's memory probe: the sweep's form (generated from ProbeConfig's declared settings, like the Train
form from TrainConfig's), and the sweep's live progress, results and controls."""

from __future__ import annotations

import time

import streamlit as st

from rnnviz import charts
from rnnviz.probe import (
    PROBE_SETTINGS,
    ProbeConfig,
    latest_probe,
    probe_reading,
    results_frame,
    saved_probe,
    start_probe,
    summarize,
)
from ui import display, guards, keys, owner, resources, runview, settings_form

REFRESH_S = 1.0
# Where the form puts each setting that is not advanced (the advanced ones keep their defaults here).
# The lists (lengths, models) get a half row each so every choice shows at 1280 px; the numbers share the next row.
WIDE = ("lengths", "models")


def shown() -> list[str]:
    return [name for name, spec in PROBE_SETTINGS.items() if not spec.advanced]


def probe_form() -> None:
    manager = resources.job_manager()
    current = latest_probe(manager)
    defaults = ProbeConfig()
    names = shown()
    settings_form.seed(PROBE_SETTINGS, defaults, defaults.to_dict(), keys.WHY_PROBE_FORM, names)
    with st.form(keys.WHY_PROBE_FORM_ID):
        wide = dict(zip(WIDE, st.columns(len(WIDE), gap="medium")))
        numbers = [name for name in names if name not in wide]
        narrow = dict(zip(numbers, st.columns(len(numbers), gap="medium")))
        for name in names:
            column = wide.get(name) or narrow[name]
            settings_form.widget(PROBE_SETTINGS[name], getattr(defaults, name),
                                 settings_form.key(keys.WHY_PROBE_FORM, name), column,
                                 format_func=runview.model_label if name == "models" else str)
        started = st.form_submit_button("Run the probe", type="primary", icon=":material/play_arrow:",
                                        disabled=current is not None and current.active)
    if started:
        values = settings_form.values(PROBE_SETTINGS, defaults, defaults.to_dict(), keys.WHY_PROBE_FORM, names)
        values["lengths"] = tuple(sorted(values["lengths"]))
        with guards.reported("Not started: "):
            start_probe(manager, ProbeConfig(**values), owner.me(), owner.name())
            st.session_state[keys.WHY_PROBE_ACTIVE] = True


def probe_view() -> None:
    st.markdown(
        "A task that needs memory and nothing else: the class is the **first** letter of a random string of L "
        "letters (the others are random letters, class letters included). Each model is trained briefly from "
        "scratch at each length and scored on fresh strings."
    )
    manager = resources.job_manager()
    first = latest_probe(manager)
    if first is not None and first.active:  # also a sweep started from another session: rerun when it ends
        st.session_state[keys.WHY_PROBE_ACTIVE] = True

    @st.fragment(run_every=REFRESH_S if first is not None and first.active else None)
    def live() -> None:
        snap = latest_probe(manager)
        if st.session_state.get(keys.WHY_PROBE_ACTIVE) and (snap is None or not snap.active):
            st.session_state[keys.WHY_PROBE_ACTIVE] = False
            st.rerun(scope="app")  # the form's button and the refresh rate follow the sweep's end
        if snap is None:
            saved = saved_probe(resources.runs_root())
            if saved is None:
                st.info("Press **Run the probe**: the default sweep (three seeds) takes about a minute.",
                        icon=":material/info:")
                return
            when = time.strftime("%d %b %H:%M", time.localtime(saved.finished)) if saved.finished else "earlier"
            st.caption(f"The last sweep ({saved.status}, {when}; {saved.config.seeds} seed"
                       f"{'' if saved.config.seeds == 1 else 's'}, {saved.config.steps:,} steps per run), kept in "
                       "the runs folder. Run the probe again to replace it.")
            results(results_frame(saved.results.to_dict("records")), saved.config)
            return
        text = (f"{snap.status} · {snap.step:,} / {snap.total_steps:,} steps · "
                f"{runview.format_seconds(snap.seconds)}")
        if snap.current:
            text += f" · training {snap.current}"
        st.progress(snap.progress, text=text)
        if snap.active and owner.can_manage(snap.owner):  # the library refuses anyone else
            by = {"by": owner.me()}
            b1, b2, _ = st.columns([1, 1, 6])
            if snap.status == "paused":
                b1.button("Resume", icon=":material/play_arrow:", on_click=manager.resume, args=(snap.run_id,),
                          kwargs=by, width="stretch")
            else:
                b1.button("Pause", icon=":material/pause:", on_click=manager.pause, args=(snap.run_id,),
                          kwargs=by, width="stretch")
            b2.button("Stop", icon=":material/stop:", on_click=manager.stop, args=(snap.run_id,), kwargs=by,
                      width="stretch")
        elif snap.message:
            (st.error if snap.status == "failed" else st.caption)(snap.message)
        results(results_frame(snap.rows), snap.config)

    live()
    # The result first (the last sweep shows at once); the form to run it again below, open when there is none.
    have_result = first is not None or saved_probe(resources.runs_root()) is not None
    with st.expander("Run the probe again" if have_result else "Run the probe", expanded=not have_result,
                     icon=":material/tune:"):
        probe_form()


def results(results, config) -> None:
    """A sweep's chart, its summary with sentences read off the numbers, and every training."""
    if len(results):
        summary = summarize(results)
        display.chart(charts.probe_chart(summary), "memory-probe", data=results)
        for line in probe_reading(summary):
            st.markdown(f"- {line}")
        percent = st.column_config.NumberColumn(format="percent")
        display.table(summary,
                      column_config={"mean": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                             format="percent"),
                                     "spread": st.column_config.NumberColumn("spread (sd)", format="percent"),
                                     "low": percent, "high": percent, "chance": percent})
        st.caption("Each point is the mean over the seeds trained so far, its bar the lowest to the highest "
                   "seed; the dashed line is chance (guessing the class). One seed alone can land far from "
                   "the mean.")
        with st.expander("Every training"):
            display.table(results,
                          column_config={"accuracy": percent, "chance": percent,
                                         "final_loss": st.column_config.NumberColumn(format="%.3f"),
                                         "seconds": st.column_config.NumberColumn(format="%.1f")})
    if config is not None and config.forget_bias:
        st.caption(f"The LSTMs started with their forget-gate bias raised by {config.forget_bias:g}; "
                   "set it to 0 to see PyTorch's initialisation forget almost as fast as the RNN.")
