"""Why LSTM wins: how far back the gradient reaches, a long-range memory probe, and how LSTM gates saturate."""

from pathlib import Path

import pandas as pd
import streamlit as st

from rnnviz import insight_charts
from rnnviz.data import MAX_NAME_LENGTH, DataError
from rnnviz.inspect import (
    STAGES,
    flow_reading,
    flow_summary,
    gate_saturation,
    gradient_flow,
    name_gradient_flow,
    saturation_summary,
)
from rnnviz.probe import MAX_LENGTH, MIN_LENGTH, ProbeConfig, latest_probe, results_frame, start_probe, summarize
from rnnviz.runs import list_snapshots
from rnnviz.train import TrainConfig
from ui import display, frame, guards, nav, owner, resources, runview

with frame.page(nav.WHY):

    # Session-state keys of this page.
    VIEW = "why.view"
    FLOW_RNN = "why.flow_rnn"
    FLOW_ELMAN = "why.flow_elman"
    FLOW_LSTM = "why.flow_lstm"
    FLOW_STAGES = "why.flow_stages"
    FLOW_SCALE = "why.flow_scale"
    FLOW_SOURCE = "why.flow_source"
    FLOW_NAME = "why.flow_name"
    FLOW_CATEGORY = "why.flow_category"
    FLOW_MIN_LENGTH = "why.flow_min_length"
    PROBE_ACTIVE = "why.probe_active"
    SAT_RUN = "why.sat_run"
    SAT_STAGES = "why.sat_stages"

    VIEWS = {"flow": "Gradient flow", "probe": "Memory probe", "saturation": "Gate saturation"}
    STAGE_LABELS = {"initialisation": "at initialisation", "trained": "trained"}
    OWN_GUESS = "(each model's own guess)"
    PROBE_LENGTHS = list(range(MIN_LENGTH, MAX_LENGTH + 1, 5))
    REFRESH_S = 1.0


    def stages_of(info, wanted: list[str]) -> list[tuple[str, int | None]]:
        """(stage, snapshot) pairs a run can show; initialisation needs the epoch-0 snapshot."""
        out = []
        for stage in wanted:
            if stage == "trained":
                out.append((stage, None))
            elif 0 in list_snapshots(info.path):
                out.append((stage, 0))
        return out


    def model_name(info) -> str:
        """A model's name in the charts: its type, and its dataset when that is not the surname data."""
        dataset = runview.dataset_name(info)
        return runview.model_label(info.model) + (f" ({dataset})" if dataset else "")


    def model_specs(infos, wanted: list[str]) -> tuple:
        """Hashable (label, stage, run folder, snapshot) of every model to measure."""
        return tuple((model_name(info), stage, str(info.path), snapshot)
                     for info in infos for stage, snapshot in stages_of(info, wanted))


    def entries(specs: tuple) -> list:
        return [(label, stage, resources.loaded_run(Path(path), snapshot).model)
                for label, stage, path, snapshot in specs]


    def split_key(info) -> tuple:
        """Where a run's validation names come from: its data folder and split settings."""
        config = TrainConfig.from_dict(info.config)
        return str(resources.dataset_for_run(info).source), config.val_fraction, config.test_fraction, config.seed


    def validation_names(key: tuple) -> list:
        folder, val_fraction, test_fraction, seed = key
        return resources.split_of(resources.dataset_at(Path(folder)), val_fraction, test_fraction, seed).val


    @st.cache_data(show_spinner="Measuring the gradient at every letter of the validation names…", max_entries=32)
    def cached_flow(specs: tuple, key: tuple, min_length: int) -> pd.DataFrame:
        return gradient_flow(entries(specs), validation_names(key), min_length=min_length)


    @st.cache_data(show_spinner="Counting saturated gates over the validation names…", max_entries=32)
    def cached_saturation(specs: tuple, key: tuple) -> pd.DataFrame:
        return gate_saturation(entries(specs), validation_names(key))


    def pick_run(column, label: str, infos, key: str, help_text: str):
        """A run picker that forgets a stale choice (a deleted run) instead of failing."""
        ids = [info.run_id for info in infos]
        if st.session_state.get(key) not in ids:
            st.session_state.pop(key, None)
        labels = {info.run_id: runview.run_label(info) for info in infos}
        chosen = column.selectbox(label, ids, format_func=labels.get, key=key, help=help_text,
                                  index=0 if ids else None, placeholder="no such run yet")
        return next((info for info in infos if info.run_id == chosen), None)


    def stage_picker(column, key: str) -> list[str]:
        picked = column.pills("Weights", list(STAGES), selection_mode="multi", default=list(STAGES), key=key,
                              format_func=STAGE_LABELS.get,
                              help="Runs keep the weights they started from (epoch 0), so both can be compared.")
        return [stage for stage in STAGES if stage in (picked or [])]


    def flow_view() -> None:
        runs = guards.require_runs(runview.usable_runs(resources.all_runs()), "finished runs",
                                   "Train an RNN, a tanh RNN and an nn.LSTM (the defaults take "
                                   "a few seconds each) to compare them.")
        st.markdown(
            "Training nudges each letter's input by the gradient of the loss with respect to it, ‖dL/dxₜ‖. "
            "If that gradient shrinks with every step back from the last letter, the first letters of a long name "
            "barely take part in learning: the network **cannot learn to use what it cannot feel**."
        )
        c1, c2, c3 = st.columns(3, gap="medium")
        controls = st.container(horizontal=True, gap="large")  # wraps onto a second line when the page is narrow
        rnn = pick_run(c1, "RNN run", runview.usable_runs(runs, ["rnn"]), FLOW_RNN,
                       "The tutorial's recurrent net: no nonlinearity in its recurrence.")
        elman = pick_run(c2, "tanh RNN run", runview.usable_runs(runs, ["elman"]), FLOW_ELMAN,
                         "The textbook RNN (nn.RNN, tanh): the kind of RNN the vanishing-gradient argument is about.")
        lstm = pick_run(c3, "LSTM run", runview.usable_runs(runs, runview.GATE_MODELS), FLOW_LSTM,
                        "An nn.LSTM or MyLSTM run.")
        wanted = stage_picker(controls, FLOW_STAGES)
        scale = controls.segmented_control("Scale", ["relative", "absolute"], default="relative", required=True,
                                           key=FLOW_SCALE,
                                           help="relative: each line divided by its value at the last letter, "
                                                "so models of different scale share one axis.")
        chosen = [info for info in (rnn, elman, lstm) if info is not None]
        if not chosen or not wanted:
            st.info("Pick at least one run and one set of weights.", icon=":material/info:")
            st.stop()
        source = controls.segmented_control("Names", ["validation", "one"], default="validation", required=True,
                                            key=FLOW_SOURCE, format_func={"validation": "average over validation names",
                                                                          "one": "one surname"}.get)
        missing_init = [runview.model_label(i.model) for i in chosen if "initialisation" in wanted
                        and 0 not in list_snapshots(i.path)]
        if missing_init:
            st.caption(f"{', '.join(missing_init)}: this run kept no initial weights, so only its trained weights "
                       "are shown.")
        try:
            if source == "validation":
                flow_validation(chosen, wanted, scale == "relative")
            else:
                flow_one_name(chosen, wanted, scale == "relative")
        except guards.USER_ERRORS as exc:
            st.error(guards.one_line(exc), icon=":material/error:")


    def flow_validation(chosen, wanted: list[str], relative: bool) -> None:
        """Each run measured on the validation names of its own dataset and split."""
        groups: dict[tuple, list] = {}
        for info in chosen:
            groups.setdefault(split_key(info), []).append(info)
        if len(groups) > 1:
            st.caption("Each run is measured on the validation names of its own data: "
                       + "; ".join(f"{model_name(info)} on {runview.dataset_label(info)}" for info in chosen) + ".")
        min_length = st.slider(
            "Only names of at least this many letters", min_value=1, max_value=15, value=1, key=FLOW_MIN_LENGTH,
            help="Each distance averages over the names long enough to have it, so the far end speaks for long names "
                 "only. Raise this to measure every distance on the same names.")
        flow = pd.concat([cached_flow(model_specs(infos, wanted), key, int(min_length))
                          for key, infos in groups.items()], ignore_index=True)
        display.chart(insight_charts.gradient_flow_chart(flow, relative=relative), "gradient-flow", data=flow)
        st.markdown("**Share of the last letter's gradient that reaches further back** (mean over validation names)")
        summary = flow_summary(flow)
        st.dataframe(summary, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.2g") for c in summary.columns[2:]})
        for line in flow_reading(summary):
            st.markdown(f"- {line}")
        st.caption("A distance is shown while at least 20 of the names are that long. Dashed lines start from the "
                   "weights a run began with, solid lines from its trained weights. Each line is one run: one seed.")


    def flow_one_name(chosen, wanted: list[str], relative: bool) -> None:
        """One typed surname under each model; the loss is of a category of the model's own dataset."""
        runs = [(info, resources.loaded_run(info.path)) for info in chosen]
        categories = runs[0][1].categories
        shared = all(run.categories == categories for _, run in runs)
        left, right = st.columns([3, 2], gap="medium")
        name = left.text_input("Surname", value="Nakamura", key=FLOW_NAME,
                               help=f"Up to {MAX_NAME_LENGTH} letters are read; accents are transliterated as in "
                                    "training.")
        options = [OWN_GUESS, *categories] if shared else [OWN_GUESS]
        if st.session_state.get(FLOW_CATEGORY) not in options:
            st.session_state.pop(FLOW_CATEGORY, None)
        category = right.selectbox("Loss of the category", options, key=FLOW_CATEGORY,
                                   help="The gradient is that of the loss for this category; by default each model's "
                                        "own prediction." + ("" if shared else " The runs were trained on different "
                                                             "categories, so each uses its own guess."))
        try:
            results = [name_gradient_flow(entries(model_specs([info], wanted)), run.categories, name,
                                          None if category == OWN_GUESS else category) for info, run in runs]
        except DataError as exc:
            st.warning(guards.one_line(exc), icon=":material/keyboard:")
            return
        result = results[0]
        if result.note:
            st.caption(f"Read as **{result.used}** ({result.note}).")
        frame = pd.concat([r.frame for r in results], ignore_index=True)
        display.chart(insight_charts.name_gradient_chart(frame, relative=relative), f"gradient-{result.used}",
                      data=frame)
        targets = frame.drop_duplicates(["model", "stage"])
        st.caption("Loss of: " + "; ".join(f"{row.model} {STAGE_LABELS[row.stage]}: {row.target}"
                                           for row in targets.itertuples()))


    def probe_form() -> None:
        manager = resources.job_manager()
        current = latest_probe(manager)
        defaults = ProbeConfig()
        with st.form("probe-form"):
            c1, c2, c3, c4 = st.columns([3, 3, 2, 2], gap="medium")
            lengths = c1.multiselect("String lengths L", PROBE_LENGTHS, default=list(defaults.lengths),
                                     help="Each string is L letters; its first letter (a, b, c or d) is the class.")
            models = c2.pills("Models", ["rnn", "elman", "lstm", "mylstm"], selection_mode="multi",
                              default=list(defaults.models),
                              format_func=runview.model_label)
            forget_bias = c3.number_input(
                "LSTM forget-gate bias at start", min_value=0.0, max_value=5.0, value=defaults.forget_bias, step=0.5,
                help="Added to the forget gate's bias before training. 0 is PyTorch's initialisation: f ≈ 0.5, so a "
                     "letter's trace halves at every step. 3 gives f ≈ 0.95: the cell starts by keeping what it holds.")
            steps = c4.number_input("Training steps per run", min_value=50, max_value=2000, value=defaults.steps,
                                    step=50,
                                    help=f"Adam steps on fresh batches of {defaults.batch_size} strings.")
            seed = c4.number_input("First seed", min_value=0, max_value=2**31 - 1, value=defaults.seed)
            seeds = c4.number_input("Seeds", min_value=1, max_value=10, value=defaults.seeds,
                                    help="Each model is trained this many times at each length, from different "
                                         "random weights and strings: the chart shows the mean and the range.")
            started = st.form_submit_button("Run the probe", type="primary", icon=":material/play_arrow:",
                                            disabled=current is not None and current.active)
        if started:
            with guards.reported("Not started: "):
                start_probe(manager, ProbeConfig(lengths=tuple(sorted(lengths)), models=tuple(models or ()),
                                                 forget_bias=float(forget_bias), steps=int(steps), seed=int(seed),
                                                 seeds=int(seeds)), owner.me(), owner.name())
                st.session_state[PROBE_ACTIVE] = True


    def probe_view() -> None:
        st.markdown(
            "A task that needs memory and nothing else: the class is the **first** letter of a random string of L "
            "letters (the others are random letters, class letters included). Each model is trained briefly from "
            "scratch at each length and scored on fresh strings."
        )
        probe_form()
        manager = resources.job_manager()
        first = latest_probe(manager)
        if first is not None and first.active:  # also a sweep started from another session: rerun when it ends
            st.session_state[PROBE_ACTIVE] = True

        @st.fragment(run_every=REFRESH_S if first is not None and first.active else None)
        def live() -> None:
            snap = latest_probe(manager)
            if st.session_state.get(PROBE_ACTIVE) and (snap is None or not snap.active):
                st.session_state[PROBE_ACTIVE] = False
                st.rerun(scope="app")  # the form's button and the refresh rate follow the sweep's end
            if snap is None:
                st.info("Press **Run the probe**: the default sweep (three seeds) takes about a minute.",
                        icon=":material/info:")
                return
            text = (f"{snap.status} · {snap.step:,} / {snap.total_steps:,} steps · "
                    f"{runview.format_seconds(snap.seconds)}")
            if snap.current:
                text += f" · training {snap.current}"
            st.progress(snap.progress, text=text)
            if snap.active and owner.can_manage(snap.owner):
                by = {"by": owner.me()}
                b1, b2, _ = st.columns([1, 1, 6])
                if snap.status == "paused":
                    b1.button("Resume", icon=":material/play_arrow:", on_click=manager.resume, args=(snap.run_id,),
                              kwargs=by, width="stretch")
                else:
                    b1.button("Pause", icon=":material/pause:", on_click=manager.pause, args=(snap.run_id,), kwargs=by,
                              width="stretch")
                b2.button("Stop", icon=":material/stop:", on_click=manager.stop, args=(snap.run_id,), kwargs=by,
                          width="stretch")
            elif snap.message:
                (st.error if snap.status == "failed" else st.caption)(snap.message)
            results = results_frame(snap.rows)
            if len(results):
                summary = summarize(results)
                display.chart(insight_charts.probe_chart(summary), "memory-probe", data=results)
                percent = st.column_config.NumberColumn(format="percent")
                st.dataframe(summary, hide_index=True, width="stretch",
                             column_config={"mean": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                                    format="percent"),
                                            "spread": st.column_config.NumberColumn("spread (sd)", format="percent"),
                                            "low": percent, "high": percent, "chance": percent})
                st.caption("Each point is the mean over the seeds trained so far, its bar the lowest to the highest "
                           "seed; the dashed line is chance (guessing the class). One seed alone can land far from "
                           "the mean.")
                with st.expander("Every training"):
                    st.dataframe(results, hide_index=True, width="stretch",
                                 column_config={"accuracy": percent, "chance": percent,
                                                "final_loss": st.column_config.NumberColumn(format="%.3f"),
                                                "seconds": st.column_config.NumberColumn(format="%.1f")})
            if snap.config is not None and snap.config.forget_bias:
                st.caption(f"The LSTMs started with their forget-gate bias raised by {snap.config.forget_bias:g}; "
                           "set it to 0 to see PyTorch's initialisation forget almost as fast as the RNN.")

        live()


    def saturation_view() -> None:
        runs = guards.require_runs(runview.usable_runs(resources.all_runs(), runview.GATE_MODELS),
                                   "nn.LSTM or MyLSTM runs",
                                   "Gates exist in LSTMs only: train an nn.LSTM or MyLSTM model.")
        st.markdown(
            "Each dot is one hidden unit. Across every letter of the validation names, how often is its gate nearly "
            "shut (**left-saturated**, below 0.1) and how often nearly open (**right-saturated**, above 0.9)? "
            "Dots near the diagonal are switches that are almost always one or the other; dots near the corner are "
            "soft, in-between gates (Karpathy, Johnson & Fei-Fei, 2015)."
        )
        c1, c2 = st.columns([3, 2], gap="medium")
        info = pick_run(c1, "Run", runs, SAT_RUN, "nn.LSTM runs are read through an equivalent MyLSTM, gate by gate.")
        wanted = stage_picker(c2, SAT_STAGES)
        if info is None or not wanted:
            st.info("Pick a run and at least one set of weights.", icon=":material/info:")
            st.stop()
        try:
            saturation = cached_saturation(model_specs([info], wanted), split_key(info))
        except guards.USER_ERRORS as exc:
            st.error(guards.one_line(exc), icon=":material/error:")
            st.stop()
        display.chart(insight_charts.saturation_chart(saturation, size=display.height(180)), "gate-saturation",
                      data=saturation, width="content")
        summary = saturation_summary(saturation)
        st.dataframe(summary, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="percent") for c in summary.columns[3:5]})
        st.caption("A forget gate right-saturated most of the time keeps its cell for many letters: that is the "
                   "long memory the RNN lacks.")


    st.title("Why LSTM wins")
    view = st.segmented_control("View", list(VIEWS), default="flow", required=True, key=VIEW, format_func=VIEWS.get,
                                label_visibility="collapsed")
    {"flow": flow_view, "probe": probe_view, "saturation": saturation_view}[view]()
