"""Imported once by the worker processes' fork server (rnnviz.jobs.WARM_MODULES), never by the app: one tiny training
of every model, recorded in a temporary runs folder, so that each worker forked from the server starts with torch's
kernels, the optimiser, the checkpoint writer and scikit-learn's scores already set up. A worker that has to set them
up at its first training spends over a second on it before its first step (measured: 1.2-1.6 s from the worker's start
to the training's start, against 0.15-0.3 s in a thread of a process that had trained before)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from .config import TrainConfig
from .data import NameDataset, Split
from .registry import SPECS
from .runs import TEACHER, train_run

WARM_HIDDEN, WARM_BATCH = 4, 2


def warm_up() -> None:
    """Train every model for one epoch on six made-up names, one torch thread (as the workers do)."""
    torch.set_num_threads(1)  # before any work: no OpenMP pool exists in the process the workers are forked from
    names = ["Abe", "Abo", "Abu", "Zed", "Zod", "Zud"]
    dataset = NameDataset(Path("warm-up"), ["A", "Z"], names, [0, 0, 0, 1, 1, 1], {"A": 3, "Z": 3}, {"A": 3, "Z": 3})
    pairs = list(zip(names, dataset.labels))
    split = Split(dataset.categories, train=pairs[:2] + pairs[3:5], val=[pairs[2], pairs[5]])
    with tempfile.TemporaryDirectory(prefix="rnnviz-warm-") as folder:
        for key in SPECS:
            config = TrainConfig(model=key, hidden_size=WARM_HIDDEN, batch_size=WARM_BATCH, epochs=1,
                                 val_fraction=0.34, test_fraction=0.0)
            train_run(config, dataset, Path(folder), split=split, owner=TEACHER)


try:
    warm_up()
except Exception:  # a worker then sets these up at its first training, as it would without this module
    pass
