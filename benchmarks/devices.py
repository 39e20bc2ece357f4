"""CPU against GPU per model and size: the measurement behind `device=auto` (`python -m benchmarks devices`).

Each recurrent model trains a few hundred steps of the real `Trainer.step` at every hidden size and batch size of a
grid, on the CPU with one torch thread (as every worker trains) and, where torch sees a CUDA GPU, on the GPU; the
table shows names per second and which device was faster. The result is written where the library reads it
(rnnviz.config.devices_path(): RNNVIZ_DEVICES, else devices.json in rnnviz's cache folder), so from then on `auto`
picks the GPU only for the models and sizes where this machine's GPU won. Without a GPU every size is "CPU".
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from benchmarks.figures import machine_info, quiet
from rnnviz.cli import EXIT_USAGE, OneLineParser
from rnnviz.common import first_line
from rnnviz.config import DeviceSpeed, TrainConfig, devices_path, write_device_speeds
from rnnviz.data import NameDataset, Split, find_data_dir, load_folder, split_dataset
from rnnviz.registry import RECURRENT_MODELS, resolved_hidden_size
from rnnviz.train import Trainer

HIDDEN_SIZES = (0, 128, 256, 512, 1024)  # 0: each model's report size
BATCH_SIZES = (32, 128, 512)
MAX_STEPS = 300  # timed steps per model, size and device
BUDGET_S = 2.0  # ... or fewer, once this long has passed (a large model on one CPU thread)
MIN_STEPS = 3
WARMUP_STEPS = 3  # untimed: the first steps allocate, and on a GPU load its kernels


def names_per_second(model: str, hidden_size: int, batch_size: int, device: str, dataset: NameDataset, split: Split,
                     max_steps: int = MAX_STEPS, budget_s: float = BUDGET_S) -> float:
    """Names per second of Trainer.step (batches moved to the device as Trainer.run moves them), timed over up to
    `max_steps` steps or `budget_s` seconds, whichever ends first (at least MIN_STEPS)."""
    config = TrainConfig(model=model, hidden_size=hidden_size, batch_size=batch_size, epochs=1, device=device)
    trainer = Trainer(config, dataset, split=split)
    parts = trainer.training_parts()
    generator = torch.Generator().manual_seed(0)
    batches = itertools.chain.from_iterable(parts.train.batches(batch_size, generator) for _ in itertools.count())
    on = trainer.device

    def step() -> int:
        chars, lengths, labels = next(batches)
        trainer.step(parts, chars.to(on), lengths.to(on), labels.to(on))
        return len(labels)

    for _ in range(WARMUP_STEPS):
        step()
    synchronize = torch.cuda.synchronize if on.type == "cuda" else (lambda: None)
    synchronize()
    names, steps, began = 0, 0, time.perf_counter()
    while steps < max(max_steps, MIN_STEPS) and (steps < MIN_STEPS or time.perf_counter() - began < budget_s):
        names += step()
        steps += 1
    synchronize()
    return names / (time.perf_counter() - began)


def measure(dataset: NameDataset, models: Sequence[str] = RECURRENT_MODELS, hidden_sizes: Sequence[int] = HIDDEN_SIZES,
            batch_sizes: Sequence[int] = BATCH_SIZES, max_steps: int = MAX_STEPS, budget_s: float = BUDGET_S,
            gpu: bool | None = None, progress=quiet) -> list[DeviceSpeed]:
    """Every model at every size on one CPU thread and, with a GPU (`gpu`, default: ask torch), on it too."""
    gpu = torch.cuda.is_available() if gpu is None else gpu
    split = split_dataset(dataset)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    speeds = []
    try:
        for model in models:
            for hidden in dict.fromkeys(resolved_hidden_size(model, h) for h in hidden_sizes):
                for batch in batch_sizes:
                    cpu = names_per_second(model, hidden, batch, "cpu", dataset, split, max_steps, budget_s)
                    cuda = names_per_second(model, hidden, batch, "cuda", dataset, split, max_steps, budget_s) \
                        if gpu else None
                    speeds.append(DeviceSpeed(model, hidden, batch, round(cpu, 1),
                                              None if cuda is None else round(cuda, 1)))
                    progress(format_row(speeds[-1]))
    finally:
        torch.set_num_threads(threads)
    return speeds


def format_row(speed: DeviceSpeed) -> str:
    gpu = f"{speed.cuda:>12,.0f}" if speed.cuda is not None else f"{'-':>12}"
    return (f"{speed.model:<8} {speed.hidden_size:>6} {speed.batch_size:>5} {speed.cpu:>12,.0f} {gpu}  "
            f"{'GPU' if speed.faster == 'cuda' else 'CPU'}")


def format_table(speeds: Sequence[DeviceSpeed]) -> str:
    header = f"{'model':<8} {'hidden':>6} {'batch':>5} {'CPU names/s':>12} {'GPU names/s':>12}  faster"
    return "\n".join([header, *(format_row(speed) for speed in speeds)])


def _sizes(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of whole numbers: {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"sizes must be 0 or more: {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m benchmarks devices", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", metavar="DIR", help="folder of <Category>.txt files (default: $RNNVIZ_DATA or "
                                                      "./data/names)")
    parser.add_argument("--models", nargs="+", choices=RECURRENT_MODELS, default=list(RECURRENT_MODELS))
    parser.add_argument("--hidden-sizes", type=_sizes, default=list(HIDDEN_SIZES), metavar="H,H,...",
                        help="hidden sizes; 0 is each model's report size (default: %(default)s)")
    parser.add_argument("--batch-sizes", type=_sizes, default=list(BATCH_SIZES), metavar="B,B,...",
                        help="batch sizes (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=MAX_STEPS, help="timed steps per size and device, at most "
                                                                     "(default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=BUDGET_S,
                        help="stop timing a size on a device after this long (default: %(default)s)")
    parser.add_argument("--output", metavar="FILE", default=None,
                        help=f"where the rule is written (default: {devices_path()}, where `auto` reads it)")
    parser.add_argument("--no-write", action="store_true", help="only print the table")
    parser.add_argument("--json", action="store_true", help="print the measurement as JSON instead of a table")
    return parser


def progress(message: str) -> None:
    sys.stderr.write(f"benchmarks devices: {message}\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a bad flag already reported in one line
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if 0 in args.batch_sizes:
        sys.stderr.write("python -m benchmarks devices: error: batch sizes must be 1 or more\n")
        return EXIT_USAGE
    try:
        dataset = load_folder(find_data_dir(args.data))
    except ValueError as exc:  # data not found or unreadable
        sys.stderr.write(f"python -m benchmarks devices: error: {first_line(exc)}\n")
        return EXIT_USAGE
    progress(f"{'GPU and ' if torch.cuda.is_available() else ''}one CPU thread, {len(args.models)} models x "
             f"{len(args.hidden_sizes)} hidden sizes x {len(args.batch_sizes)} batch sizes")
    speeds = measure(dataset, args.models, args.hidden_sizes, args.batch_sizes, args.steps, args.seconds,
                     progress=progress)
    machine = machine_info()
    if torch.cuda.is_available():
        machine["gpu"] = torch.cuda.get_device_name(0)
    if args.json:
        print(json.dumps({"machine": machine, "speeds": [{**asdict(s), "faster": s.faster} for s in speeds]},
                         indent=2))
    else:
        print(format_table(speeds))
    if not args.no_write:
        path = write_device_speeds(speeds, machine, Path(args.output).expanduser() if args.output else None)
        progress(f"wrote {path}: device=auto now follows it on this machine")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
