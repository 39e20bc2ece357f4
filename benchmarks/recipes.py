"""A bounded search for a better default training recipe for the report's nn.LSTM (hidden 64).

Stage 1 trains every candidate once (seed 0); the finalists, chosen on validation scores only, are trained
with seeds 0-4 and reported on the test part. One torch thread; one JSON line per training in the log.

    python -m benchmarks recipes --log /tmp/recipes.jsonl [--finalists 3] [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz.config import TrainConfig  # noqa: E402
from rnnviz.data import find_data_dir, load_folder, split_dataset  # noqa: E402
from rnnviz.train import Trainer  # noqa: E402

BASE = {"model": "lstm", "hidden_size": 64}
CANDIDATES: dict[str, dict] = {
    "today (8 ep)": {},
    "balanced p=1": {"class_balanced": True, "class_weight_power": 1.0},
    "balanced p=0.5": {"class_balanced": True, "class_weight_power": 0.5},
    "balanced p=0.3": {"class_balanced": True, "class_weight_power": 0.3},
    "balanced p=0.7": {"class_balanced": True, "class_weight_power": 0.7},
    "p=0.5 ls=0.1": {"class_balanced": True, "class_weight_power": 0.5, "label_smoothing": 0.1},
    "p=0.5 wd=1e-4": {"class_balanced": True, "class_weight_power": 0.5, "weight_decay": 1e-4},
    "p=0.5 lr=0.005": {"class_balanced": True, "class_weight_power": 0.5, "learning_rate": 0.005},
    "p=0.5 lr=0.02": {"class_balanced": True, "class_weight_power": 0.5, "learning_rate": 0.02},
    "p=0.5 10 ep": {"class_balanced": True, "class_weight_power": 0.5, "epochs": 10},
    "p=0.5 batch 64 lr=0.02 12 ep": {"class_balanced": True, "class_weight_power": 0.5, "batch_size": 64,
                                     "learning_rate": 0.02, "epochs": 12},
    "p=0.5 ls=0.1 10 ep": {"class_balanced": True, "class_weight_power": 0.5, "label_smoothing": 0.1,
                           "epochs": 10},
    "plain 12 ep": {"epochs": 12},
    "logit adj 0.5": {"logit_adjustment": 0.5},
    "logit adj 1.0": {"logit_adjustment": 1.0},
    "logit adj 0.5 12 ep": {"logit_adjustment": 0.5, "epochs": 12},
    "logit adj 0.7 ls=0.1 12 ep": {"logit_adjustment": 0.7, "label_smoothing": 0.1, "epochs": 12},
    "p=0.3 logit adj 0.3 12 ep": {"class_balanced": True, "class_weight_power": 0.3, "logit_adjustment": 0.3,
                                  "epochs": 12},
    # second round, after the first showed label smoothing as the one change that helps both scores
    "ls=0.1": {"label_smoothing": 0.1},
    "p=0.3 ls=0.1": {"class_balanced": True, "class_weight_power": 0.3, "label_smoothing": 0.1},
    "p=0.5 ls=0.2": {"class_balanced": True, "class_weight_power": 0.5, "label_smoothing": 0.2},
    "p=0.4 ls=0.1 batch 16 lr=0.005": {"class_balanced": True, "class_weight_power": 0.4, "label_smoothing": 0.1,
                                       "batch_size": 16, "learning_rate": 0.005},
    "batch 16 lr=0.005": {"batch_size": 16, "learning_rate": 0.005},
}


def train_once(dataset, split, name: str, values: dict, seed: int) -> dict:
    config = TrainConfig(**{**BASE, **values, "seed": seed})
    start = time.perf_counter()
    result = Trainer(config, dataset, split=split if seed == 0 else None).run()
    wall = time.perf_counter() - start
    return {"recipe": name, "seed": seed, "settings": values, "status": result.status,
            "val_accuracy": result.val.get("accuracy"), "val_balanced": result.val.get("balanced_accuracy"),
            "test_accuracy": result.test.get("accuracy"), "test_balanced": result.test.get("balanced_accuracy"),
            "train_seconds": result.train_seconds, "wall_seconds": wall}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks recipes")
    parser.add_argument("--log", required=True)
    parser.add_argument("--finalists", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="recipe names to train (default: all)")
    parser.add_argument("--named-finalists", nargs="*", help="train these with every seed instead of choosing")
    parser.add_argument("--table", action="store_true", help="print the log as a Markdown table and train nothing")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table([json.loads(line) for line in Path(args.log).read_text().splitlines()]))
        return
    torch.set_num_threads(1)
    dataset = load_folder(find_data_dir())
    split = split_dataset(dataset)
    log = Path(args.log)
    done: dict[tuple[str, int], dict] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            row = json.loads(line)
            done[(row["recipe"], row["seed"])] = row

    def train(name: str, seed: int) -> dict:
        if (name, seed) not in done:
            row = train_once(dataset, split, name, CANDIDATES[name], seed)
            done[(name, seed)] = row
            with log.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
        return done[(name, seed)]

    names = args.only or list(CANDIDATES)
    stage1 = [train(name, 0) for name in names]
    # Finalists by validation only: the mean of plain and balanced accuracy, among those within the time budget.
    ranked = sorted(stage1, key=lambda r: -(r["val_accuracy"] + r["val_balanced"]) / 2)
    finalists = args.named_finalists or [r["recipe"] for r in ranked[: args.finalists]]
    for name in dict.fromkeys(["today (8 ep)", *finalists]):
        for seed in range(1, args.seeds):
            train(name, seed)
    for name in dict.fromkeys(["today (8 ep)", *finalists]):
        rows = [done[(name, s)] for s in range(args.seeds)]
        summary = {key: (statistics.mean(r[key] for r in rows), statistics.stdev(r[key] for r in rows))
                   for key in ("test_accuracy", "test_balanced", "train_seconds")}
        print(name, json.dumps(summary))


def markdown_table(rows: list[dict]) -> str:
    """One line per recipe: mean (and sample standard deviation over seeds) of test accuracy, test balanced
    accuracy, the validation scores the finalists were chosen on, and the median training seconds."""
    by_recipe: dict[str, list[dict]] = {}
    for row in rows:
        by_recipe.setdefault(row["recipe"], []).append(row)

    def cell(values: list[float]) -> str:
        mean = statistics.mean(values) * 100
        return f"{mean:.1f} ± {statistics.stdev(values) * 100:.1f}" if len(values) > 1 else f"{mean:.1f}"

    lines = ["| recipe (nn.LSTM, hidden 64) | seeds | test acc % | test balanced % | val acc % | val balanced % "
             "| train s (median) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, group in by_recipe.items():
        group = sorted(group, key=lambda r: r["seed"])
        lines.append(f"| {name} | {len(group)} | {cell([r['test_accuracy'] for r in group])} | "
                     f"{cell([r['test_balanced'] for r in group])} | {cell([r['val_accuracy'] for r in group])} | "
                     f"{cell([r['val_balanced'] for r in group])} | "
                     f"{statistics.median(r['train_seconds'] for r in group):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
