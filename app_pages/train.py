"""Train: start trainings in the background, watch them live, compare and manage the saved runs."""

import pandas as pd
import streamlit as st

from rnnviz import charts
from rnnviz.models import MODELS
from rnnviz.train import TrainConfig, resolve_device
from ui import guards, keys, nav, resources, runview

REFRESH_S = 1.0  # live panel refresh while a training runs
HELP = {
    "model": "RNN: the tutorial's recurrent net (no gates). nn.LSTM: PyTorch's LSTM. MyLSTM: the same LSTM written "
             "gate by gate, so its gates can be shown.",
    "hidden_size": "Units in the recurrent state. Leave empty for the report's size: RNN 128, nn.LSTM and MyLSTM 64.",
    "optimizer": "Adam adapts a step size per weight; SGD uses the learning rate as it is.",
    "learning_rate": "Step size. Adam: about 0.001 to 0.01. SGD needs larger values, about 0.05 to 0.5.",
    "lr_schedule": "cosine: the learning rate decays smoothly to zero by the last step, which settles the last "
                   "epochs. constant: it stays fixed.",
    "batch_size": "Names per gradient step. 1 is the tutorial's one-name-at-a-time training (slow, noisy).",
    "epochs": "Passes over the training names.",
    "clip_grad": "Largest allowed gradient norm per step; keeps RNN updates from exploding. 0 turns clipping off.",
    "weight_decay": "L2 penalty on the weights; 0 turns it off.",
    "class_balanced": "Weight the loss by inverse category frequency, so the 9,000 Russian names do not drown the "
                      "100 Vietnamese ones. Raises balanced accuracy, usually lowers plain accuracy.",
    "seed": "Fixes the split, the initial weights and the batch order: two runs with the same seed differ only "
            "in their settings.",
    "device": "auto uses a CUDA GPU when there is one, else the CPU.",
    "val_fraction": "Share of each category held out for validation (the live val curves).",
    "test_fraction": "Share of each category held out for the final test accuracy.",
    "eval_every": "Training steps between points on the live curves; 0 gives about 8 points per epoch.",
}


FIELDS = ("model", "hidden_size", "optimizer", "learning_rate", "lr_schedule", "batch_size", "epochs", "clip_grad",
          "weight_decay", "seed", "device", "class_balanced", "val_fraction", "test_fraction", "eval_every")


def field_key(name: str) -> str:
    return f"{keys.TRAIN_FORM}.{name}"


def start_training(dataset) -> None:
    """Form callback: runs before the page, so the live panel already shows the new training."""
    values = {name: st.session_state[field_key(name)] for name in FIELDS}
    values["hidden_size"] = int(values["hidden_size"] or 0)
    try:
        config = TrainConfig.from_dict(values)
        resolve_device(config.device)
        run_id = resources.job_manager().start(config, dataset)
    except guards.USER_ERRORS as exc:
        st.session_state[keys.TRAIN_START_ERROR] = f"Not started: {guards.one_line(exc)}"
    else:
        st.session_state[keys.TRAIN_NOTICE] = f"Started {runview.model_label(config.model)} as run {run_id}."


def training_form(dataset) -> None:
    defaults = TrainConfig()
    k = field_key
    with st.form("train-form"):
        st.markdown(f"**New training** on {len(dataset):,} names in {dataset.n_categories} categories")
        c1, c2, c3, c4 = st.columns(4, gap="medium")
        c1.selectbox("Model", list(MODELS), index=list(MODELS).index(defaults.model),
                     format_func=runview.model_label, help=HELP["model"], key=k("model"))
        c1.number_input("Hidden size", min_value=1, max_value=1024, value=None, step=16, placeholder="model default",
                        help=HELP["hidden_size"], key=k("hidden_size"))
        c1.selectbox("Optimizer", TrainConfig.CHOICES["optimizer"], help=HELP["optimizer"], key=k("optimizer"))
        c2.number_input("Learning rate", min_value=1e-6, max_value=10.0, value=defaults.learning_rate, step=0.001,
                        format="%.4f", help=HELP["learning_rate"], key=k("learning_rate"))
        c2.selectbox("Learning-rate schedule", TrainConfig.CHOICES["lr_schedule"],
                     index=TrainConfig.CHOICES["lr_schedule"].index(defaults.lr_schedule),
                     help=HELP["lr_schedule"], key=k("lr_schedule"))
        c2.number_input("Batch size", min_value=1, max_value=1024, value=defaults.batch_size,
                        help=HELP["batch_size"], key=k("batch_size"))
        c3.number_input("Epochs", min_value=1, max_value=200, value=defaults.epochs, help=HELP["epochs"],
                        key=k("epochs"))
        c3.number_input("Gradient clipping (max norm)", min_value=0.0, max_value=1000.0, value=defaults.clip_grad,
                        step=0.5, help=HELP["clip_grad"], key=k("clip_grad"))
        c3.number_input("Weight decay", min_value=0.0, max_value=1.0, value=defaults.weight_decay, step=0.0001,
                        format="%.4f", help=HELP["weight_decay"], key=k("weight_decay"))
        c4.number_input("Seed", min_value=0, max_value=2**31 - 1, value=defaults.seed, help=HELP["seed"],
                        key=k("seed"))
        c4.selectbox("Device", TrainConfig.CHOICES["device"], help=HELP["device"], key=k("device"))
        c4.checkbox("Class-balanced loss", value=defaults.class_balanced, help=HELP["class_balanced"],
                    key=k("class_balanced"))
        with st.expander("Split and evaluation"):
            e1, e2, e3 = st.columns(3)
            e1.number_input("Validation fraction", min_value=0.01, max_value=0.5, value=defaults.val_fraction,
                            step=0.05, help=HELP["val_fraction"], key=k("val_fraction"))
            e2.number_input("Test fraction", min_value=0.0, max_value=0.5, value=defaults.test_fraction, step=0.05,
                            help=HELP["test_fraction"], key=k("test_fraction"))
            e3.number_input("Steps between curve points", min_value=0, max_value=1_000_000, value=defaults.eval_every,
                            help=HELP["eval_every"], key=k("eval_every"))
        st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:",
                              on_click=start_training, args=(dataset,))
    if keys.TRAIN_START_ERROR in st.session_state:
        st.error(st.session_state.pop(keys.TRAIN_START_ERROR), icon=":material/error:")


def job_controls(job) -> None:
    manager = resources.job_manager()
    left, right, _ = st.columns([1, 1, 6])
    if job.status == "paused":
        left.button("Resume", key=f"resume-{job.run_id}", icon=":material/play_arrow:",
                    on_click=manager.resume, args=(job.run_id,), width="stretch")
    else:
        left.button("Pause", key=f"pause-{job.run_id}", icon=":material/pause:",
                    on_click=manager.pause, args=(job.run_id,), width="stretch")
    right.button("Stop", key=f"stop-{job.run_id}", icon=":material/stop:",
                 on_click=manager.stop, args=(job.run_id,), width="stretch")


def show_job(job) -> None:
    with st.container(border=True):
        st.markdown(f"**{runview.job_label(job)}** · {job.status}")
        st.progress(job.progress, text=runview.progress_text(job, job.config.epochs))
        job_controls(job)
        long = charts.curves_long(pd.DataFrame(job.rows), runview.job_label(job))
        loss, accuracy = st.columns(2, gap="large")
        loss.altair_chart(charts.curve_chart(long, "loss"), width="stretch")
        accuracy.altair_chart(charts.curve_chart(long, "accuracy"), width="stretch")


def live_panel() -> None:
    """Active trainings, refreshed every second by a fragment that exists with run_every only while one runs."""
    manager = resources.job_manager()
    active = sorted(manager.active_ids())
    announce_ended(set(st.session_state.get(keys.TRAIN_LIVE_IDS, [])) - set(active))
    st.session_state[keys.TRAIN_LIVE_IDS] = active

    @st.fragment(run_every=REFRESH_S if active else None)
    def panel() -> None:
        try:
            jobs = [job for job in manager.jobs() if job.active]
            if sorted(job.run_id for job in jobs) != st.session_state.get(keys.TRAIN_LIVE_IDS, []):
                st.rerun(scope="app")  # the run table, the announcements and the refresh rate follow
            for job in jobs:
                show_job(job)
        except guards.USER_ERRORS as exc:
            st.error(guards.one_line(exc), icon=":material/error:")

    panel()


def announce_ended(run_ids: set[str]) -> None:
    manager = resources.job_manager()
    for run_id in sorted(run_ids):
        job = manager.get(run_id)
        if job is None:
            continue
        val = job.summary.get("val_accuracy")
        accuracy = f": validation accuracy {val:.1%}" if isinstance(val, float) else ""
        text = f"{runview.job_label(job)} {job.status}{accuracy}" + (f" ({job.message})" if job.message else "")
        if job.status in ("finished", "stopped"):
            st.success(text, icon=":material/check_circle:")
        else:
            st.warning(text, icon=":material/warning:")


def curves_of(info, jobs: dict) -> pd.DataFrame:
    job = jobs.get(info.run_id)
    if job is not None and job.active:
        return charts.curves_long(pd.DataFrame(job.rows), runview.run_label(info))
    return charts.curves_long(resources.run_metrics(info.path), runview.run_label(info))


def compare_runs(infos, jobs: dict) -> None:
    st.subheader("Compare runs")
    with_curves = [info for info in infos if info.config]
    if not with_curves:
        st.caption("Curves appear here once a run has started.")
        return
    labels = {info.run_id: runview.run_label(info) for info in with_curves}
    if keys.TRAIN_COMPARE_CHOICE in st.session_state:
        st.session_state[keys.TRAIN_COMPARE] = [r for r in st.session_state[keys.TRAIN_COMPARE_CHOICE] if r in labels]
    else:  # until someone picks, show the newest finished runs (the one that just finished among them)
        st.session_state[keys.TRAIN_COMPARE] = [i.run_id for i in runview.usable_runs(with_curves)][:3]

    def remember() -> None:
        st.session_state[keys.TRAIN_COMPARE_CHOICE] = list(st.session_state[keys.TRAIN_COMPARE])

    selected = st.multiselect("Runs to overlay", list(labels), format_func=labels.get, key=keys.TRAIN_COMPARE,
                              on_change=remember,
                              help="Pick RNN, nn.LSTM and MyLSTM runs with the same seed to compare them on the "
                                   "same split. Dashed lines are validation.")
    if not selected:
        return
    frames = []
    for info in with_curves:
        if info.run_id in selected:
            with guards.reported(f"{labels[info.run_id]}: "):
                frames.append(curves_of(info, jobs))
    long = pd.concat(frames, ignore_index=True) if frames else charts.curves_long(None)
    loss, accuracy = st.columns(2, gap="large")
    loss.altair_chart(charts.curve_chart(long, "loss", height=260), width="stretch")
    accuracy.altair_chart(charts.curve_chart(long, "accuracy", height=260), width="stretch")


def manage_run(infos) -> None:
    if not infos:  # a training that has just started writes its folder a moment later
        return
    st.subheader("Download or delete")
    labels = {info.run_id: runview.run_label(info) for info in infos}
    if st.session_state.get(keys.TRAIN_MANAGE) not in labels:
        st.session_state.pop(keys.TRAIN_MANAGE, None)
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key=keys.TRAIN_MANAGE)
    info = next(i for i in infos if i.run_id == run_id)
    metrics, model = info.path / "metrics.csv", info.path / "model.pt"
    c1, c2, c3, _ = st.columns([1, 1, 1, 3])
    c1.download_button("Metrics CSV", data=lambda: metrics.read_bytes(), file_name=f"{run_id}-metrics.csv",
                       mime="text/csv", icon=":material/table:", disabled=not metrics.is_file(), on_click="ignore",
                       width="stretch")
    c2.download_button("Model file", data=lambda: model.read_bytes(), file_name=f"{run_id}-model.pt",
                       mime="application/octet-stream", icon=":material/download:", disabled=not model.is_file(),
                       on_click="ignore", width="stretch",
                       help="A PyTorch checkpoint with its config: python -m rnnviz predict --run FOLDER NAME")
    if c3.button("Delete…", icon=":material/delete:", width="stretch"):
        st.session_state[keys.TRAIN_CONFIRM_DELETE] = run_id
    if st.session_state.get(keys.TRAIN_CONFIRM_DELETE) == run_id:
        st.warning(f"Delete {labels[run_id]} and all its files? A running training is stopped first. "
                   "This cannot be undone.", icon=":material/warning:")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Yes, delete", type="primary", width="stretch"):
            st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)
            with guards.reported("Not deleted: "):
                resources.job_manager().delete(run_id)
                st.session_state[keys.TRAIN_NOTICE] = f"Deleted {labels[run_id]}."
                st.rerun()
        if no.button("Cancel", width="stretch"):
            st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)
            st.rerun()
    elif st.session_state.get(keys.TRAIN_CONFIRM_DELETE) not in labels:
        st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)


st.title("Train")
dataset = guards.require_dataset()
if keys.TRAIN_NOTICE in st.session_state:
    st.success(st.session_state.pop(keys.TRAIN_NOTICE), icon=":material/check_circle:")
live_panel()
training_form(dataset)

st.subheader("Runs")
infos = resources.all_runs()
jobs = {job.run_id: job for job in resources.job_manager().jobs()}
table = runview.run_table(infos, list(jobs.values()))
if table.empty:
    st.info("No runs yet: start one above. Trainings keep running when you switch pages or reload.",
            icon=":material/info:")
    st.stop()
st.dataframe(
    table, hide_index=True, width="stretch",
    column_order=[c for c in table.columns if c != "id"],
    column_config={
        "run": st.column_config.TextColumn(width="medium"),
        "lr": st.column_config.NumberColumn(format="%.4g"),
        "val acc": st.column_config.NumberColumn(format="percent"),
        "test acc": st.column_config.NumberColumn(format="percent"),
        "time s": st.column_config.NumberColumn(format="%.1f"),
        "note": st.column_config.TextColumn(width="large"),
    },
)
st.caption(f"Runs are saved in `{resources.runs_root()}`; at most {resources.max_jobs()} trainings run at once "
           "(RNNVIZ_MAX_JOBS).")
compare_runs(infos, jobs)
manage_run(infos)
st.page_link(nav.EVALUATE, label="Evaluate a finished run", icon=":material/grid_on:")
