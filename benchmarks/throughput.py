"""Aggregate training throughput: N trainings at once, in threads of one process (before) and in worker processes
(after), through rnnviz.jobs.JobManager as the app runs them.

    python -m benchmarks throughput --counts 1,2,4,8,14 --epochs 2 --json throughput.json

Each training is an nn.LSTM (batch 32, the report's size) on the surnames; every one starts at the same moment. The
figure is names trained per second by all of them together: (training names x epochs x N) / the wall time from the
starts to the last end. One torch thread per training, as the app does. Runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(dataset, count: int, epochs: int, in_process: bool, model: str = "lstm") -> dict:
    """Start `count` trainings at once on a manager with `count` workers; names per second over all of them."""
    import torch

    from rnnviz.config import TrainConfig
    from rnnviz.data import split_dataset
    from rnnviz.jobs import JobManager
    from rnnviz.runs import TEACHER

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="rnnviz-throughput-") as folder:
        manager = JobManager(Path(folder), max_concurrent=count, in_process=in_process)
        try:
            if not in_process:
                warm = manager.start(TrainConfig(model=model, epochs=1, hidden_size=8), dataset, owner=TEACHER)
                manager.wait(warm)  # the fork server is up before the clock starts
            configs = [TrainConfig(model=model, epochs=epochs, seed=k, batch_size=32) for k in range(count)]
            split = split_dataset(dataset, configs[0].val_fraction, configs[0].test_fraction, 0)
            began = time.perf_counter()
            ids = [manager.start(config, dataset, split, owner=TEACHER) for config in configs]
            finals = [manager.wait(run_id) for run_id in ids]
            wall = time.perf_counter() - began
        finally:
            manager.shutdown(timeout=60)
    bad = [f.status for f in finals if f.status != "finished"]
    if bad:
        raise RuntimeError(f"a training did not finish: {bad}")
    names = len(split.train) * epochs * count
    return {"layout": "threads" if in_process else "processes", "trainings": count, "epochs": epochs,
            "names": names, "wall_s": round(wall, 2), "names_per_s": round(names / wall)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4,8,14", help="trainings at once, comma-separated")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--layouts", default="threads,processes", help="threads (before), processes (after)")
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    from rnnviz.data import find_data_dir, load_folder

    dataset = load_folder(find_data_dir())
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        for layout in args.layouts.split(","):
            row = measure(dataset, count, args.epochs, in_process=layout == "threads")
            row["cores"] = os.cpu_count()
            row["load_before"] = round(os.getloadavg()[0], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| N at once | threads, names/s | processes, names/s |\n|---|---|---|")
    for count in sorted({r["trainings"] for r in rows}):
        cells = {r["layout"]: f"{r['names_per_s']:,}" for r in rows if r["trainings"] == count}
        print(f"| {count} | {cells.get('threads', '-')} | {cells.get('processes', '-')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
