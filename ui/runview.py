"""How runs are named, listed and picked in the app: labels, the run table, snapshot choices.

Plain functions over rnnviz.runs.RunInfo and rnnviz.jobs.JobSnapshot, so they are tested without a browser.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from rnnviz import datasets
from rnnviz.registry import MODEL_LABELS, READABLE_MODELS, SPECS

if TYPE_CHECKING:
    from rnnviz.jobs import JobSnapshot
    from rnnviz.runs import RunInfo

USABLE = ("finished", "stopped")
INSPECTABLE_MODELS = READABLE_MODELS  # the models the Gates page takes apart (rnnviz.inside)
FINAL = "final"


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def hidden_of(config: dict[str, Any]) -> int | None:
    model = config.get("model", "")
    return int(config.get("hidden_size") or 0) or (SPECS[model].default_hidden if model in SPECS else None)


def label_for(config: dict[str, Any], created: float, run_id: str, dataset: str | None = None) -> str:
    """Short and unique: model, size, the dataset when it is not the surname data, start time and the id's random
    tail, e.g. 'nn.LSTM 64 · 14:02:31 · 3f2a' or 'nn.LSTM 64 · cities · 14:02:31 · 3f2a'."""
    stamp = time.strftime("%H:%M:%S", time.localtime(created)) if created else "?"
    hidden = hidden_of(config)
    size = f" {hidden}" if hidden else ""
    where = f" · {dataset}" if dataset else ""
    return f"{model_label(config.get('model', '?'))}{size}{where} · {stamp} · {run_id.rsplit('-', 1)[-1]}"


def dataset_name(info: RunInfo) -> str | None:
    """The named dataset (added on the Data page) a run was trained on, or None for the surname data."""
    return datasets.name_of(info.data)


def category_noun(info: RunInfo) -> str:
    """'language' for a run on the surname data, 'category' for one on a named dataset."""
    return datasets.category_noun(info.data)


def dataset_label(info: RunInfo) -> str:
    """Where a run's names come from, for a caption: 'the dataset cities' or 'the surname data'."""
    name = dataset_name(info)
    return f"the dataset {name}" if name else "the surname data"


def run_label(info: RunInfo) -> str:
    return label_for(info.config, info.created, info.run_id, dataset_name(info)) if info.config else info.run_id


def job_label(job: JobSnapshot) -> str:
    return label_for(job.config.to_dict(), job.started, job.run_id)


def usable_runs(infos: Iterable[RunInfo], models: Sequence[str] | None = None) -> list[RunInfo]:
    """Runs with a readable model file: finished or stopped, optionally of some model types only."""
    return [info for info in infos
            if info.status in USABLE and not info.error and info.has_model
            and (models is None or info.model in models)]


def _percent(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value == value else None


def run_table(infos: Sequence[RunInfo], jobs: Sequence[JobSnapshot] = ()) -> pd.DataFrame:
    """One row per run for the run table; live job states (paused, failed before writing) take precedence."""
    live = {job.run_id: job for job in jobs}
    rows = []
    for info in infos:
        config, summary = info.config, info.summary
        status = info.status
        job = live.pop(info.run_id, None)
        if job is not None and (job.active or status in ("running", "interrupted")):
            status = job.status
        note = info.error or summary.get("message", "") or (job.message if job else "")
        epochs = config.get("epochs")
        done = summary.get("epochs_done")
        if job is not None and job.active:  # how far it is, as the progress bar says it: "1.9/8"
            done = f"{job.rows[-1]['epoch']:.1f}" if job.rows else 0
        rows.append({
            "run": run_label(info) if info.config or job is None else job_label(job),
            "model": model_label(info.model) if config else "?",
            "hidden": hidden_of(config) if config else None,
            "optimizer": config.get("optimizer"),
            "lr": config.get("learning_rate"),
            "schedule": config.get("lr_schedule"),
            "batch": config.get("batch_size"),
            "epochs": f"{done}/{epochs}" if done is not None and epochs else (str(epochs) if epochs else ""),
            "seed": config.get("seed"),
            "status": status,
            "val acc": _percent(summary.get("val_accuracy")),
            "test acc": _percent(summary.get("test_accuracy")),
            "time s": _percent(summary.get("train_seconds")),
            "by": info.owner_name,
            "note": note,
            "id": info.run_id,
        })
    for job in live.values():  # failed while setting up: no folder was written
        rows.append({"run": job_label(job), "model": model_label(job.config.model), "hidden": None,
                     "optimizer": job.config.optimizer, "lr": job.config.learning_rate,
                     "schedule": job.config.lr_schedule, "batch": job.config.batch_size,
                     "epochs": str(job.config.epochs), "seed": job.config.seed, "status": job.status,
                     "val acc": None, "test acc": None, "time s": None, "by": job.owner_name, "note": job.message,
                     "id": job.run_id})
    columns = ["run", "model", "hidden", "optimizer", "lr", "schedule", "batch", "epochs", "seed", "status",
               "val acc", "test acc", "time s", "by", "note", "id"]
    return pd.DataFrame(rows, columns=columns)


TRAINING = "training…"  # what the run table shows for scores a training has not reached yet
ACTIVE_STATUSES = ("starting", "running", "paused", "stopping")


def run_table_view(table: pd.DataFrame) -> pd.DataFrame:
    """The run table as shown: scores as text ("70.8%"), "training…" where a run still training has none yet and
    a dash where an ended run has none, never "None" (a browser table shows every missing number as None)."""
    shown = table.copy()
    active = shown["status"].isin(ACTIVE_STATUSES).to_numpy()
    formats = {"val acc": "{:.1%}", "test acc": "{:.1%}", "time s": "{:.1f}", "hidden": "{:.0f}"}
    for column, pattern in formats.items():
        if column not in shown:
            continue
        values = shown[column].to_numpy(object)
        missing = "–" if column == "hidden" else None
        shown[column] = [pattern.format(value) if isinstance(value, (int, float)) and value == value
                         else missing or (TRAINING if running else "–") for value, running in zip(values, active)]
    return shown


def snapshot_options(epochs: Sequence[int]) -> list[int | str]:
    """Slider stops for learning replay: every saved epoch, then the final weights."""
    return [*sorted(epochs), FINAL]


def snapshot_label(option: int | str) -> str:
    if option == FINAL:
        return "final"
    return "initialisation" if option == 0 else f"after epoch {option}"


def snapshot_arg(option: int | str | None) -> int | None:
    """What rnnviz.runs.load_run takes: None for the final weights, else the epoch."""
    return None if option in (None, FINAL) else int(option)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def queue_text(job: JobSnapshot) -> str:
    """'queued: 3rd in line, about 25 s' (or what is known so far)."""
    if job.position is None:
        return "queued: starting…"
    wait = f", about {format_seconds(job.wait_s)}" if job.wait_s is not None else ""
    return f"queued: {ordinal(job.position)} in line{wait}"


def progress_text(job: JobSnapshot, epochs: int) -> str:
    """'epoch 2.4 / 8 · step 1,234 / 4,096 · 5,210 names/s · ETA 12 s' (or what is known so far)."""
    if job.status == "queued":
        return queue_text(job)
    if not job.rows:
        return "starting… (splitting the data and building the model)"
    row = job.rows[-1]
    parts = [f"epoch {row['epoch']:.1f} / {epochs}",
             f"step {int(row['step']):,} / {int(job.total_steps or row.get('total_steps', 0)):,}",
             f"{row['names_per_s']:,.0f} names/s"]
    if job.status == "stopping":
        parts.append("stopping: scoring the final weights on the validation and test names")
    elif job.status == "paused":
        parts.append("paused")
    else:
        parts.append(f"ETA {format_seconds(row['eta_s'])}")
    return " · ".join(parts)


def format_seconds(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"
