"""The Why page's gradient-flow and gate-saturation views, and the helpers they share: a run picker that forgets a
stale choice, the weights (initial or trained) to measure, and the cached measurements over a run's validation
names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from rnnviz import charts
from rnnviz.config import TrainConfig
from rnnviz.data import MAX_NAME_LENGTH, DataError
from rnnviz.inside import (
    STAGES,
    flow_reading,
    flow_summary,
    gate_saturation,
    gradient_flow,
    name_gradient_flow,
    saturation_reading,
    saturation_summary,
)
from rnnviz.registry import GATE_MODELS
from rnnviz.runs import list_snapshots
from ui import display, guards, keys, resources, runview, train_setup

# The page is an argument in three steps: what each model remembers, how far its gradient reaches, what its gates do.
VIEWS = {"probe": "1 · Memory probe", "flow": "2 · Gradient flow", "saturation": "3 · Gate saturation"}
STAGE_LABELS = {"initialisation": "at initialisation", "trained": "trained"}
OWN_GUESS = "(each model's own guess)"


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


def offer_missing(picked: dict) -> None:
    """One button that trains every model the comparison lacks (at its default settings, on the current data),
    owned by this browser; while they train, their progress instead."""
    missing = [model for model, info in picked.items() if info is None]
    if not missing:
        return
    manager = resources.job_manager()
    training = [job for job in manager.jobs() if job.active and job.kind == "train"
                and getattr(job.config, "model", None) in missing]
    if training:
        st.caption("Training " + ", ".join(f"{runview.model_label(job.config.model)} ({job.progress:.0%})"
                                           for job in training) + ": it joins the comparison when it finishes.")
        return
    labels = ", ".join(runview.model_label(model) for model in missing)
    if st.button(f"Train the missing run{'s' if len(missing) > 1 else ''}: {labels}", key=keys.WHY_TRAIN_MISSING,
                 icon=":material/model_training:", help="Default settings on the current data; a few seconds each."):
        with guards.reported("Not started: "):
            dataset = resources.current_dataset()
            for model in missing:
                manager.start(TrainConfig(model=model), dataset, **train_setup.owned())
            st.toast(f"Training {labels}", icon=":material/play_arrow:")
            st.rerun()


def flow_view() -> None:
    runs = guards.require_runs(runview.usable_runs(resources.all_runs()), "finished runs",
                               "Train an RNN, a tanh RNN and an nn.LSTM (the defaults take "
                               "a few seconds each) to compare them.")
    st.markdown(
        "Training nudges each letter's input by the gradient of the loss with respect to it, ‖dL/dxₜ‖. "
        "If that gradient shrinks with every step back from the last letter, the first letters of a long name "
        "barely take part in learning: the network **cannot learn to use what it cannot feel**. The textbook "
        "argument is about the **tanh RNN**, whose every step back multiplies the gradient by the tanh's slope. "
        "The tutorial's RNN has no squashing in its recurrence (i2h on [x, h] is one linear layer), so its "
        "gradient need not fade; the sentences under the chart say what these runs show."
    )
    c1, c2, c3 = st.columns(3, gap="medium")
    controls = st.container(horizontal=True, gap="large")  # wraps onto a second line when the page is narrow
    rnn = pick_run(c1, "RNN run", runview.usable_runs(runs, ["rnn"]), keys.WHY_FLOW_RNN,
                   "The tutorial's recurrent net: no nonlinearity in its recurrence.")
    elman = pick_run(c2, "tanh RNN run", runview.usable_runs(runs, ["elman"]), keys.WHY_FLOW_ELMAN,
                     "The textbook RNN (nn.RNN, tanh): the kind of RNN the vanishing-gradient argument is about.")
    lstm = pick_run(c3, "LSTM run", runview.usable_runs(runs, GATE_MODELS), keys.WHY_FLOW_LSTM,
                    "An nn.LSTM or MyLSTM run.")
    offer_missing({"rnn": rnn, "elman": elman, "lstm": lstm})
    wanted = stage_picker(controls, keys.WHY_FLOW_STAGES)
    scale = controls.segmented_control("Scale", ["relative", "absolute"], default="relative", required=True,
                                       key=keys.WHY_FLOW_SCALE,
                                       help="relative: each line divided by its value at the last letter, "
                                            "so models of different scale share one axis.")
    chosen = [info for info in (rnn, elman, lstm) if info is not None]
    if not chosen or not wanted:
        st.info("Pick at least one run and one set of weights.", icon=":material/info:")
        st.stop()
    source = controls.segmented_control("Names", ["validation", "one"], default="validation", required=True,
                                        key=keys.WHY_FLOW_SOURCE,
                                        format_func={"validation": "average over validation names",
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
        "Only names of at least this many letters", min_value=1, max_value=15, value=1, key=keys.WHY_FLOW_MIN_LENGTH,
        help="Each distance averages over the names long enough to have it, so the far end speaks for long names "
             "only. Raise this to measure every distance on the same names.")
    flow = pd.concat([cached_flow(model_specs(infos, wanted), key, int(min_length))
                      for key, infos in groups.items()], ignore_index=True)
    display.chart(charts.gradient_flow_chart(flow, relative=relative), "gradient-flow", data=flow)
    st.markdown("**Share of the last letter's gradient that reaches further back** (mean over validation names)")
    summary = flow_summary(flow)
    display.table(summary,
                  column_config={c: st.column_config.NumberColumn(format="%.2g") for c in summary.columns[2:]})
    for line in flow_reading(flow):
        st.markdown(f"- {line}")
    st.caption("A distance is shown while at least 20 of the names are that long. Dashed lines start from the "
               "weights a run began with, solid lines from its trained weights. Each line is one run: one seed.")


def flow_one_name(chosen, wanted: list[str], relative: bool) -> None:
    """One typed surname under each model; the loss is of a category of the model's own dataset."""
    runs = [(info, resources.loaded_run(info.path)) for info in chosen]
    categories = runs[0][1].categories
    shared = all(run.categories == categories for _, run in runs)
    left, right = st.columns([3, 2], gap="medium")
    name = left.text_input("Surname", value="Nakamura", key=keys.WHY_FLOW_NAME,
                           help=f"Up to {MAX_NAME_LENGTH} letters are read; accents are transliterated as in "
                                "training.")
    options = [OWN_GUESS, *categories] if shared else [OWN_GUESS]
    if st.session_state.get(keys.WHY_FLOW_CATEGORY) not in options:
        st.session_state.pop(keys.WHY_FLOW_CATEGORY, None)
    category = right.selectbox("Loss of the category", options, key=keys.WHY_FLOW_CATEGORY,
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
    display.chart(charts.name_gradient_chart(frame, relative=relative), f"gradient-{result.used}",
                  data=frame)
    targets = frame.drop_duplicates(["model", "stage"])
    st.caption("Loss of: " + "; ".join(f"{row.model} {STAGE_LABELS[row.stage]}: {row.target}"
                                       for row in targets.itertuples()))


def saturation_view() -> None:
    runs = guards.require_runs(runview.usable_runs(resources.all_runs(), GATE_MODELS),
                               "nn.LSTM or MyLSTM runs",
                               "Gates exist in LSTMs only: train an nn.LSTM or MyLSTM model.")
    st.markdown(
        "Each dot is one hidden unit. Across every letter of the validation names, how often is its gate nearly "
        "shut (**left-saturated**, below 0.1) and how often nearly open (**right-saturated**, above 0.9)? "
        "Dots near the diagonal are switches that are almost always one or the other; dots near the corner are "
        "soft, in-between gates (Karpathy, Johnson & Fei-Fei, 2015)."
    )
    c1, c2 = st.columns([3, 2], gap="medium")
    info = pick_run(c1, "Run", runs, keys.WHY_SAT_RUN,
                    "nn.LSTM runs are read through an equivalent MyLSTM, gate by gate.")
    wanted = stage_picker(c2, keys.WHY_SAT_STAGES)
    if info is None or not wanted:
        st.info("Pick a run and at least one set of weights.", icon=":material/info:")
        st.stop()
    try:
        saturation = cached_saturation(model_specs([info], wanted), split_key(info))
    except guards.USER_ERRORS as exc:
        st.error(guards.one_line(exc), icon=":material/error:")
        st.stop()
    display.chart(charts.saturation_chart(saturation, size=display.height(180)), "gate-saturation",
                  data=saturation, width="content")
    summary = saturation_summary(saturation)
    display.table(summary,
                  column_config={c: st.column_config.NumberColumn(format="percent") for c in summary.columns[3:5]})
    for line in saturation_reading(saturation):
        st.markdown(f"- {line}")
    st.caption("A forget gate open most of the time keeps its cell for many letters; how long a memory the task "
               "needs is what the memory probe measures.")
