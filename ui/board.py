"""The class board: the class's finished runs ranked by validation accuracy, then balanced accuracy.

`ranking` is a plain function over rnnviz.runs.RunInfo (tested without a browser); `BoardState` holds the
teacher's switches (hide, freeze), one per server, shared by every session through ui.resources.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rnnviz.registry import RECURRENT_MODELS
from rnnviz.runs import TEACHER, RunInfo, read_board, write_board
from ui import runview

COLUMNS = ["dataset", "rank", "who", "model", "val acc", "val balanced acc", "test acc", "hidden", "epochs", "lr",
           "batch", "optimizer", "balanced loss", "seed", "time s", "finished", "id"]
SURNAMES = "surnames"  # the dataset column's entry for the tutorial's surname data
# Settings that make two runs the same experiment: a re-run of one of them is one row, not two identical rows.
SAME_RUN = ("who", "dataset", "model", "hidden", "epochs", "lr", "batch", "optimizer", "balanced loss", "seed")


@dataclass
class BoardState:
    """The teacher's switches for the board: hidden from students, or frozen at a moment (finished runs after
    it wait until it is unfrozen). Kept in the runs folder (rnnviz.runs.read_board), so every app server serving
    that folder shows the same board."""

    root: Path
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, hidden: bool | None = None, frozen: bool | None = None) -> None:
        with self.lock:
            was_hidden, frozen_at = read_board(self.root)
            if frozen is not None:
                frozen_at = (frozen_at or time.time()) if frozen else None
            write_board(self.root, was_hidden if hidden is None else hidden, frozen_at)

    def read(self) -> tuple[bool, float | None]:
        return read_board(self.root)


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value == value else None


def who(info: RunInfo) -> str:
    return info.owner_name or ("teacher" if info.owner == TEACHER else "anonymous")


def ranking(infos: Iterable[RunInfo], frozen_at: float | None = None) -> pd.DataFrame:
    """Finished trainings with a validation accuracy, ranked within their dataset, best first (ties: balanced
    accuracy, then who finished first); with `frozen_at`, only those that had finished by then.

    Only recurrent models are ranked: the n-gram baseline is the report's yardstick, not a student's training. A
    run repeated with the same settings and seed by the same person is one row (the first to finish)."""
    rows = []
    for info in infos:
        summary, config = info.summary, info.config
        val = _number(summary.get("val_accuracy"))
        finished = _number(summary.get("finished")) or info.created
        if info.status != "finished" or info.error or val is None or info.model not in RECURRENT_MODELS:
            continue
        if frozen_at is not None and finished > frozen_at:
            continue
        rows.append({
            "dataset": runview.dataset_name(info) or SURNAMES,
            "who": who(info), "model": runview.model_label(info.model), "hidden": runview.hidden_of(config),
            "epochs": config.get("epochs"), "lr": config.get("learning_rate"), "batch": config.get("batch_size"),
            "optimizer": config.get("optimizer"), "balanced loss": bool(config.get("class_balanced")),
            "seed": config.get("seed"), "val acc": val,
            "val balanced acc": _number(summary.get("val_balanced_accuracy")),
            "test acc": _number(summary.get("test_accuracy")), "time s": _number(summary.get("train_seconds")),
            "finished": finished, "id": info.run_id,
        })
    rows.sort(key=lambda r: (r["dataset"] != SURNAMES, r["dataset"], -r["val acc"], -(r["val balanced acc"] or 0.0),
                             r["finished"], r["id"]))
    kept, seen, ranks = [], set(), {}
    for row in sorted(rows, key=lambda r: (r["finished"], r["id"])):  # the first of identical runs stays
        same = tuple(row[k] for k in SAME_RUN)
        if same not in seen:
            seen.add(same)
            kept.append(row["id"])
    rows = [row for row in rows if row["id"] in set(kept)]
    for row in rows:
        ranks[row["dataset"]] = row["rank"] = ranks.get(row["dataset"], 0) + 1
    return pd.DataFrame(rows, columns=COLUMNS)
