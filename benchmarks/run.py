"""The whole benchmark run: every phase measured once on this machine, then a table with a pass/miss column against
the targets, and docs/benchmarks.md rewritten. `--quick` is the small version CI runs, which writes nothing unless
`--write` is given. Slowness never fails the command, errors do.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from benchmarks import app, inspection, report, threads, training
from benchmarks.figures import (
    DEFAULT_THREADS,
    FULL,
    QUICK,
    BenchResult,
    BenchSettings,
    Figure,
    Progress,
    machine_info,
    quiet,
)
from benchmarks.server import APP, ROOT
from rnnviz.cli import EXIT_USAGE, OneLineParser
from rnnviz.common import first_line
from rnnviz.data import NameDataset, Split, find_data_dir, load_folder, split_dataset
from rnnviz.models import Classifier
from rnnviz.registry import build_model

DOCS_FILE = ROOT / "docs" / "benchmarks.md"


def run_bench(data_dir: Path, settings: BenchSettings = FULL, quick: bool = False, app_file: Path = APP,
              torch_threads: int = DEFAULT_THREADS, progress: Progress = quiet, only: Sequence[str] = ()
              ) -> BenchResult:
    """Measure everything once on this machine; a phase that fails becomes an error row, the rest still run.

    `torch_threads` are used for every figure but the thread comparison (0: leave torch's setting).
    """
    started = time.perf_counter()
    dataset = training.subset_dataset(load_folder(data_dir), settings.max_names)
    split = split_dataset(dataset)
    original_threads = torch.get_num_threads()
    result = BenchResult(machine_info(), settings, quick, [])
    result.machine["names"] = len(dataset)
    result.machine["bench_threads"] = torch_threads or original_threads
    try:
        if torch_threads:
            torch.set_num_threads(torch_threads)
        _measure_all(result, dataset, split, data_dir, app_file, progress, only)
    finally:
        torch.set_num_threads(original_threads)
    result.seconds = time.perf_counter() - started
    return result


# --only names -> the phase each selects
PHASES = {"throughput": "training throughput", "overhead": "Trainer against a bare loop",
          "accuracy": "time to 80% validation accuracy", "comparisons": "models compared over seeds",
          "latency": "gate trace and predict latency", "refresh": "live chart refresh", "cold-start": "app cold start",
          "page-rerun": "Train page rerun", "threads": "torch thread settings",
          "explain": "Gates page explanations of a typed name"}


def _measure_all(result: BenchResult, dataset: NameDataset, split: Split, data_dir: Path, app_file: Path,
                 progress: Progress, only: Sequence[str] = ()) -> None:
    settings = result.settings
    trained: list[Classifier] = []
    compared: dict[str, Classifier] = {}
    chosen = {PHASES[name] for name in only}

    def phase(name: str, keys: Sequence[str], measure: Callable[[], list[Figure]]) -> None:
        if chosen and name not in chosen:
            return
        progress(name)
        try:
            result.figures.extend(measure())
        except Exception as exc:  # one failing phase must not hide the others' figures
            message = f"{name} failed: {first_line(exc, show_type=True)}"
            result.figures.extend(Figure(key, key, "", note=message, status="error") for key in keys)

    def accuracy() -> list[Figure]:
        figures = []
        for model in ("lstm", "mylstm"):
            figure, model_ = training.time_to_accuracy(dataset, model, settings.accuracy_runs,
                                                       budget_s=settings.accuracy_budget_s, progress=progress)
            figures.append(figure)
            if model == "lstm" and model_ is not None:
                trained.append(model_)
        return figures

    def latency() -> list[Figure]:
        if trained:
            return inspection.measure_latency(trained[0], dataset.categories, settings.latency_repeats, trained=True)
        model = build_model("lstm", output_size=dataset.n_categories)
        return inspection.measure_latency(model, dataset.categories, settings.latency_repeats, trained=False)

    def explanations() -> list[Figure]:
        model = trained[0] if trained else build_model("lstm", output_size=dataset.n_categories)
        return inspection.measure_explanations(model, dataset.categories, split.val, trained=bool(trained))

    def comparisons() -> list[Figure]:
        figures, models = training.measure_comparisons(dataset, settings, progress)
        compared.update(models)
        return figures + training.measure_gradient_reach(models, split_dataset(dataset, seed=0))

    with tempfile.TemporaryDirectory(prefix="rnnviz-bench-runs-") as runs_dir:
        phase("training throughput", training.THROUGHPUT_KEYS,
              lambda: training.measure_throughput(dataset, split, settings, progress))
        phase("Trainer against a bare loop", training.OVERHEAD_KEYS,
              lambda: training.measure_trainer_overhead(dataset, split, settings, progress))
        phase("time to 80% validation accuracy", training.ACCURACY_KEYS, accuracy)
        phase("models compared over seeds", training.COMPARISON_KEYS, comparisons)
        phase("gate trace and predict latency", ("gate_trace_ms", "predict_ms"), latency)
        phase("Gates page explanations of a typed name", inspection.EXPLAIN_KEYS, explanations)
        phase("live chart refresh", ("live_refresh_ms",), lambda: [inspection.measure_live_refresh(settings)])
        phase("app cold start", app.COLD_START_KEYS,
              lambda: app.measure_cold_start(settings, app_file, data_dir, Path(runs_dir), progress))
        phase("Train page rerun", app.PAGE_RERUN_KEYS, lambda: app.measure_page_rerun(settings, data_dir))
        phase("torch thread settings", threads.THREAD_KEYS,
              lambda: threads.measure_threads(dataset, split, settings, progress))


FIGURE_KEYS = (*training.THROUGHPUT_KEYS, *training.OVERHEAD_KEYS, *training.COMPARISON_KEYS,
               *training.ACCURACY_KEYS, "gate_trace_ms", "predict_ms", *inspection.EXPLAIN_KEYS, "live_refresh_ms",
               *app.COLD_START_KEYS, *app.PAGE_RERUN_KEYS, *threads.THREAD_KEYS)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m benchmarks",
        description="Measure training, inspection and app speed on this machine and compare them with the targets; "
                    "a full run also writes docs/benchmarks.md.",
        epilog="Other measurements: " + "; ".join(f"python -m benchmarks {name} --help ({what})"
                                                  for name, (_, what) in SUBCOMMANDS.items()))
    parser.add_argument("--quick", action="store_true",
                        help="small repeats and subsets (well under 2 minutes, what CI runs); writes no report "
                             "unless --write is given")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--write", action="store_true", help="write the report even with --quick")
    writing.add_argument("--no-write", action="store_true", help="only print, even for a full run")
    parser.add_argument("--output", metavar="FILE", default=str(DOCS_FILE),
                        help="where the report goes (default: docs/benchmarks.md)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--data", metavar="DIR", help="folder of <Category>.txt files (default: $RNNVIZ_DATA or "
                                                      "./data/names)")
    parser.add_argument("--max-names", type=_count, default=0, metavar="N",
                        help="use a random subset of N names (smoke runs; 0 = all)")
    parser.add_argument("--threads", type=_count, default=DEFAULT_THREADS, metavar="N",
                        help=f"torch threads for every figure but the thread comparison (default {DEFAULT_THREADS}; "
                             "0 = torch's default)")
    parser.add_argument("--only", nargs="+", choices=list(PHASES), default=[], metavar="PHASE",
                        help="measure only these phases: " + ", ".join(PHASES) + " (the report is then not written "
                             "unless --write is given)")
    parser.add_argument("--app", metavar="FILE", default=str(APP),
                        help="Streamlit script whose cold start is timed (default: streamlit_app.py)")
    return parser


def writes_report(quick: bool, write: bool, no_write: bool) -> bool:
    """A full run writes the report unless told not to; a quick run only when asked."""
    return not no_write and (write or not quick)


def progress(message: str) -> None:
    sys.stderr.write(f"benchmarks: {message}\n")
    sys.stderr.flush()


def run_all(args: argparse.Namespace) -> int:
    """The whole run from the command line; 1 when a measurement failed, never for slowness."""
    data_dir = find_data_dir(args.data)
    settings = replace(QUICK if args.quick else FULL, max_names=args.max_names)
    result = run_bench(data_dir, settings, quick=args.quick, app_file=Path(args.app).expanduser(),
                       torch_threads=args.threads, progress=progress, only=args.only)
    advice = threads.thread_advice(result)
    if args.json:
        print(json.dumps({**result.to_json(), "thread_advice": advice}, indent=2))
    else:
        print(report.format_table(result))
        if advice:
            print("\n" + advice)
        print("\n" + report.summary_line(result))
    if writes_report(args.quick or bool(args.only), args.write, args.no_write):
        output = Path(args.output).expanduser()
        output.parent.mkdir(parents=True, exist_ok=True)
        kept = report.kept_section(output.read_text(encoding="utf-8")) if output.exists() else ""
        output.write_text(report.render_markdown(result) + kept, encoding="utf-8")
        progress(f"wrote {output}")
    for figure in result.errors:
        progress(f"error in {figure.key}: {figure.note}")
    return 1 if result.errors else 0


# `python -m benchmarks NAME ...`: the measurements with a command line of their own -> (module, what it measures)
SUBCOMMANDS = {"class-load": ("benchmarks.class_load", "a class of simulated students on one server or several"),
               "recipes": ("benchmarks.recipes", "a search for a better default training recipe"),
               "throughput": ("benchmarks.throughput", "N trainings at once: threads of one process against workers")}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(SUBCOMMANDS[argv[0]][0]).main(argv[1:]) or 0
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a bad flag already reported in one line
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return run_all(args)
    except ValueError as exc:  # data not found or unreadable (rnnviz.data.DataError), bad settings
        sys.stderr.write(f"python -m benchmarks: error: {first_line(exc)}\n")
        return EXIT_USAGE
