"""Server time of the Train page's rerun after a widget change, with no training and while one trains.

Run by benchmarks/app.py in a fresh process (`python -m benchmarks.page_timing --data DIR --repeats N`). It drives
the real page through Streamlit's AppTest, in a runs folder of its own, and prints one JSON object:
{"idle_ms": [...], "training_ms": [...], "gates_ms": [...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.server import APP

LOG_TOGGLE = "train.curves.log"  # a widget whose change reruns the whole page
GATES_NAMES = ("Kowalski", "Nakamura", "O'Neill", "Schmidt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of <Category>.txt files")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rnnviz-page-timing-") as runs:
        os.environ["RNNVIZ_RUNS"] = runs
        os.environ["RNNVIZ_DATA"] = args.data
        os.environ["RNNVIZ_DATASETS"] = str(Path(runs) / "datasets")
        print(json.dumps(measure(Path(args.data), Path(runs), args.repeats)))
    return 0


def measure(data: Path, runs: Path, repeats: int) -> dict[str, list[float]]:
    import torch
    from streamlit.testing.v1 import AppTest

    from rnnviz.config import TrainConfig
    from rnnviz.data import load_folder
    from rnnviz.runs import TEACHER, train_run
    from ui import resources

    torch.set_num_threads(1)  # as the app's server runs
    dataset = load_folder(data)
    for model in ("rnn", "lstm", "mylstm"):  # a run table and an overlay to draw, as after a first lesson
        train_run(TrainConfig(model=model, epochs=1, batch_size=256, hidden_size=16), dataset, runs)
    train_run(TrainConfig(model="lstm", epochs=1, batch_size=256), dataset, runs)  # the newest: Gates opens on it
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.switch_page("pages/train.py").run()

    def reruns() -> list[float]:
        times = []
        for k in range(repeats):
            began = time.perf_counter()
            app.toggle(key=LOG_TOGGLE).set_value(k % 2 == 0).run()
            times.append((time.perf_counter() - began) * 1000)
        return times

    idle = reruns()
    gates = AppTest.from_file(str(APP), default_timeout=120).run()
    gates.switch_page("pages/gates.py").run()
    typed = []
    for k in range(repeats):  # a surname typed into the Gates page: its default view (the cell, letter by letter)
        began = time.perf_counter()
        gates.text_input(key="gates.name").input(GATES_NAMES[k % len(GATES_NAMES)]).run()
        typed.append((time.perf_counter() - began) * 1000)
    manager = resources.job_manager()
    run_id = manager.start(TrainConfig(model="lstm", epochs=50), dataset, owner=TEACHER)
    try:
        deadline = time.time() + 60
        while not (manager.get(run_id).rows or time.time() > deadline):
            time.sleep(0.05)  # the live panel has curves to draw
        training = reruns()
        still = manager.get(run_id).active
    finally:
        manager.stop(run_id, by=TEACHER)
        manager.shutdown(timeout=60)
    if not still:
        raise RuntimeError("the training ended before the reruns were timed")
    return {"idle_ms": idle, "training_ms": training, "gates_ms": typed}


if __name__ == "__main__":
    sys.exit(main())
