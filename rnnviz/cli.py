"""Command line: python -m rnnviz train | predict | evaluate | gates | attribute | units | runs | bench."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .archive import OFFICIAL_URL
from .common import PROJECT_ROOT, first_line
from .data import DataError

EXIT_USAGE = 2
PROG = "python -m rnnviz"


class OneLineParser(argparse.ArgumentParser):
    """argparse that answers bad flags with one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


class UserError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be in [1, 256] (got {value})")
    return value


def _clamp(text: str) -> tuple[str, float]:
    from .gates import SIGMOID_GATES

    gate, sep, value = text.partition("=")
    gate = gate.strip()
    if not sep or gate not in SIGMOID_GATES:
        raise argparse.ArgumentTypeError(f"expected GATE=VALUE with GATE one of {', '.join(SIGMOID_GATES)} "
                                         f"(got {text!r})")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"a gate lies in [0, 1] (got {value})")
    return gate, number


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, generated from its Setting: --hidden-size, --lr (--learning-rate), ..."""
    from .config import SETTINGS, TrainConfig

    defaults = TrainConfig()
    for name, spec in SETTINGS.items():
        default = getattr(defaults, name)
        flags = [flag_of(name)] + ([f"--{name.replace('_', '-')}"] if spec.short else [])
        if isinstance(default, bool):
            parser.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{spec.help} (default: {'on' if default else 'off'})")
        elif spec.choices is not None:
            parser.add_argument(*flags, dest=name, choices=spec.choices, default=default, help=spec.help)
        else:
            parser.add_argument(*flags, dest=name, type=type(default), default=default, metavar="N",
                                help=f"{spec.help} [{spec.limits[0]}, {spec.limits[1]}]; default {default}")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="Train and inspect the surname classifiers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    def common(p: argparse.ArgumentParser, data: bool = True) -> None:
        p.add_argument("--runs", metavar="DIR", help="runs directory (default: $RNNVIZ_RUNS or ./runs)")
        p.add_argument("--threads", type=_threads, default=1, metavar="N",
                       help="CPU threads for torch (default 1: the models are small, and more threads "
                            "slow them down badly when other programs use the cores)")
        if data:
            p.add_argument("--data", metavar="DIR", help="folder of <Category>.txt files (default: $RNNVIZ_DATA, "
                                                         "./data/names, or the surnames shipped with rnnviz)")

    p = sub.add_parser("train", help="train a model and save it as a run")
    add_setting_flags(p)
    p.add_argument("--all", action="store_true", help="train rnn, lstm and mylstm one after another")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p)

    p = sub.add_parser("download", help="get the official archive of the PyTorch tutorial's surnames")
    p.add_argument("--url", default=OFFICIAL_URL, help="where the archive is (default: the tutorial's data.zip)")
    p.add_argument("--into", metavar="DIR", help="folder that receives names/ (default: the project's data/)")
    p.add_argument("--quiet", action="store_true", help="no progress")
    common(p, data=False)

    p = sub.add_parser("predict", help="top-k categories for names")
    p.add_argument("--run", required=True, help="run id or run folder")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--json", action="store_true")
    common(p, data=False)

    p = sub.add_parser("evaluate", help="accuracy, confusion matrix and per-category report")
    p.add_argument("--run", required=True, help="run id or run folder")
    p.add_argument("--split", choices=["test", "val", "train"], default="test")
    p.add_argument("--names-file", metavar="TSV", help="name<TAB>category file with a header line")
    p.add_argument("--json", action="store_true")
    common(p)

    p = sub.add_parser("gates", help="per-step gate activations of an LSTM or MyLSTM run for one name")
    p.add_argument("--run", required=True, help="run id or run folder")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.add_argument("--clamp", type=_clamp, action="append", metavar="GATE=VALUE",
                   help="what if: set gate i, f or o to a value in [0, 1] (repeat for several gates)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--at", type=int, metavar="LETTER", help="clamp at this letter only (counted from 0)")
    where.add_argument("--from", dest="start", type=int, metavar="LETTER",
                       help="clamp from this letter on (default: every letter)")
    p.add_argument("--unit", type=int, metavar="U", help="clamp this hidden unit only (default: all)")
    p.add_argument("--reset-at", type=int, metavar="LETTER", help="what if: zero h and c before this letter")
    common(p, data=False)

    p = sub.add_parser("attribute", help="which letters carry a run's prediction for one name")
    p.add_argument("--run", required=True, help="run id or run folder")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true")
    common(p, data=False)

    p = sub.add_parser("units", help="what each hidden unit of a run does, over its validation names")
    p.add_argument("--run", required=True, help="run id or run folder")
    p.add_argument("--top", type=int, default=5, metavar="K", help="contexts per unit and sign (default 5)")
    p.add_argument("--json", action="store_true")
    common(p)

    p = sub.add_parser("runs", help="list saved runs")
    p.add_argument("--json", action="store_true")
    common(p, data=False)

    sub.add_parser("bench", add_help=False,
                   help="measure speed on this machine: runs `python -m benchmarks` from a source checkout")
    return parser


def bench(argv: Sequence[str]) -> int:
    """The benchmarks live in the source checkout beside the library (benchmarks/), not in it: from a checkout this
    runs them with `argv`, otherwise it says in one line what to run."""
    if not (PROJECT_ROOT / "benchmarks" / "__main__.py").is_file():
        print(f"{PROG} bench: the benchmarks are not installed with rnnviz; in a clone of its source run "
              "`python -m benchmarks --quick`", file=sys.stderr)
        return EXIT_USAGE
    return subprocess.run([sys.executable, "-m", "benchmarks", *argv], cwd=PROJECT_ROOT).returncode


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        return bench(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad flag already reported in one line
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler = COMMANDS[args.command]
    threads = getattr(args, "threads", None)
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        return handler(args) or 0
    except (UserError, DataError, ValueError) as exc:
        print(f"{PROG} {args.command}: error: {first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{PROG} {args.command}: error: {first_line(exc.strerror or exc)}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug must still reach the user as one line, not a traceback
        print(f"{PROG} {args.command}: unexpected error: {first_line(exc, show_type=True)}", file=sys.stderr)
        return 1


def _runs_root(args: argparse.Namespace) -> Path:
    from .runs import runs_dir

    return runs_dir(args.runs)


class Progress:
    """Training progress on a stream: a bar redrawn in place on a terminal, else one line per epoch."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.total_steps = 0
        self.last: dict[str, Any] | None = None
        self.drawn = False

    def on_start(self, event: dict[str, Any]) -> None:
        self.total_steps = int(event["total_steps"])

    def describe(self, row: dict[str, Any]) -> str:
        return (f"epoch {row['epoch']:.1f}  loss {row['train_loss']:.3f}  val acc {row['val_acc']:.1%}  "
                f"{row['names_per_s']:,.0f} names/s  ETA {row['eta_s']:.0f}s")

    def on_eval(self, row: dict[str, Any]) -> None:
        self.last = row
        if not self.live:
            return
        done = min(row["step"] / max(self.total_steps, 1), 1.0)
        bar = "#" * int(done * 30)
        self.stream.write(f"\r[{bar:<30}] {done:6.1%} {self.describe(row)} ")
        self.stream.flush()
        self.drawn = True

    def on_epoch_end(self, event: dict[str, Any]) -> None:
        if not self.live and self.last is not None:
            self.stream.write(self.describe(self.last) + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line so what follows starts on a fresh one."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False

    def callbacks(self) -> list[tuple[str, Any]]:
        return [("on_start", self.on_start), ("on_eval", self.on_eval), ("on_epoch_end", self.on_epoch_end)]


def flag_of(name: str) -> str:
    """The command-line flag of a TrainConfig field: its short flag (--lr) if it has one, else --field-name."""
    from .config import SETTINGS

    return SETTINGS[name].flag or f"--{name.replace('_', '-')}"


def _config_error(exc: ValueError) -> UserError:
    from .config import SETTINGS

    message = first_line(exc)
    for field_name in SETTINGS:
        message = re.sub(rf"\b{field_name}\b", flag_of(field_name), message)
    return UserError(message)


def cmd_download(args: argparse.Namespace) -> int:
    from . import archive
    from .data import DEFAULT_DATA_DIR, load_folder

    stream = sys.stderr
    live = bool(getattr(stream, "isatty", lambda: False)())
    announced = [False]

    def progress(done: int, total: int | None) -> None:
        if args.quiet:
            return
        if live:
            share = f" of {total / 1e6:.1f} MB" if total else ""
            stream.write(f"\rdownloading {args.url}: {done / 1e6:.1f} MB{share}")
        elif not announced[0]:
            stream.write(f"downloading {args.url}...\n")
        announced[0] = True

    root = Path(args.into).expanduser() if args.into else DEFAULT_DATA_DIR.parent
    try:
        folder = archive.fetch_names(root, args.url, progress)
    finally:
        if announced[0] and live:
            stream.write("\n")
    dataset = load_folder(folder)
    print(f"{len(dataset):,} distinct names in {dataset.n_categories} categories")
    print(folder)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .config import SETTINGS, TrainConfig
    from .data import find_data_dir, load_folder
    from .registry import REPORT_MODELS
    from .runs import train_run

    stream = sys.stderr
    folder = find_data_dir(args.data)
    dataset = load_folder(folder)
    root = _runs_root(args)
    models = list(REPORT_MODELS) if args.all else [args.model]
    for model in models:
        try:
            values = {name: getattr(args, name) for name in SETTINGS}
            config = TrainConfig(**{**values, "model": model, "hidden_size": 0 if args.all else args.hidden_size})
        except ValueError as exc:
            raise _config_error(exc) from None
        progress = Progress(stream)
        if not args.quiet:
            stream.write(f"training {model} on {len(dataset):,} names, {dataset.n_categories} categories\n")
        try:
            writer, result = train_run(config, dataset, root, callbacks=[] if args.quiet else progress.callbacks())
        finally:
            progress.close()
        test = result.test
        line = (f"{model}: {result.status} after {result.epochs_done} epochs in {result.train_seconds:.1f}s; "
                f"val acc {result.val.get('accuracy', float('nan')):.1%}, "
                f"test acc {test.get('accuracy', float('nan')):.1%}, "
                f"balanced {test.get('balanced_accuracy', float('nan')):.1%}")
        if result.message:
            line += f" ({result.message})"
        print(line)
        print(writer.path)
    return 0


def _load(args: argparse.Namespace):
    from .runs import load_run, resolve_run

    return load_run(resolve_run(args.run, _runs_root(args)))


def cmd_predict(args: argparse.Namespace) -> int:
    from .evaluate import predict

    if args.top < 1:
        raise UserError("--top must be at least 1")
    run = _load(args)
    results = predict(run.model, run.categories, args.names, args.top)
    if args.json:
        print(json.dumps([{"name": r.name, "used": r.used, "note": r.note,
                           "top": [{"category": c, "probability": p} for c, p in r.top]} for r in results],
                         indent=2))
        return 0
    for r in results:
        print(f"{r.name}" + (f"  (read as {r.used!r}: {r.note})" if r.note else ""))
        for category, probability in r.top:
            print(f"  {probability:6.1%}  {category}")
    return 0


def _run_split(args: argparse.Namespace, run):
    """The split a run was trained on: its own recorded data folder unless --data names another (the usual
    search when that folder is gone), split with the run's seed and fractions."""
    from .data import find_data_dir
    from .runs import open_run_split, read_run

    explicit = find_data_dir(args.data) if args.data else None
    return open_run_split(read_run(run.path), fallback=find_data_dir(), explicit=explicit)[1]


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import read_names_file, report

    run = _load(args)
    if args.names_file:
        pairs = read_names_file(args.names_file, run.categories)
        source = args.names_file
    else:
        pairs = _run_split(args, run).part(args.split)
        source = f"{args.split} split"
        if not pairs:
            raise UserError(f"the {args.split} split of this run is empty")
    rep = report(run.model, run.categories, pairs)
    if args.json:
        print(json.dumps(rep.to_json(), indent=2))
        return 0
    print(f"{run.run_id} ({run.config.model}) on {source}: {len(pairs):,} names")
    print(f"accuracy {rep.accuracy:.1%}   balanced accuracy {rep.balanced_accuracy:.1%}")
    print(rep.per_category.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def cmd_gates(args: argparse.Namespace) -> int:
    from .gates import STATE_KEYS
    from .inside import letter_number, read_name
    from .registry import has_gates, no_gates_reason

    run = _load(args)
    if not has_gates(run.model):
        raise UserError(no_gates_reason(run.model))
    trace = read_name(run.model, run.categories, args.name)
    intervened = None
    clamps = dict(args.clamp or [])
    if clamps or args.reset_at is not None or args.unit is not None or args.at is not None or args.start is not None:
        from .inside import what_if

        if (args.at is not None or args.start is not None) and not clamps:
            raise UserError("--at and --from say where to clamp: add --clamp GATE=VALUE")
        intervened = what_if(run.model, run.categories, args.name, clamps, args.at, args.start, args.unit,
                             args.reset_at)
    if args.json:
        out = trace.to_json()
        if intervened is not None:
            out["intervened"] = intervened.to_json()
        print(json.dumps(out))
        return 0
    if intervened is not None:
        print(f"what if: {intervened.description}")
        print("  unchanged: " + ", ".join(f"{c} {p:.1%}" for c, p in intervened.unchanged.top()))
        print("  what if:   " + ", ".join(f"{c} {p:.1%}" for c, p in intervened.intervened.top()))
    if trace.note:
        print(f"read as {trace.used!r}: {trace.note}")
    print("top: " + ", ".join(f"{c} {p:.1%}" for c, p in trace.top(3)))
    header = "step char " + " ".join(f"{'mean ' + k:>7}" for k in STATE_KEYS) + "  leading after this prefix"
    print(header)
    for t, (ch, category, probability) in enumerate(trace.step_top()):
        means = " ".join(f"{trace.values[k][t].mean():7.3f}" for k in STATE_KEYS)
        print(f"{letter_number(t):4d}  {ch!r:3} {means}  {category} {probability:.1%}")
    return 0


def cmd_attribute(args: argparse.Namespace) -> int:
    from .inside import attribution

    run = _load(args)
    result = attribution(run.model, run.categories, args.name)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    if result.note:
        print(f"read as {result.used!r}: {result.note}")
    print(f"{result.category} {result.probability:.1%}; how much each letter carries it:")
    print("pos letter  occlusion  gradient x input")
    for row in result.frame.itertuples(index=False):
        occlusion = f"{row.occlusion:+10.3f}" if row.occlusion == row.occlusion else f"{'-':>10}"
        print(f"{row.position:3d}  {row.letter!r:5} {occlusion}  {row.gradient_x_input:+10.3f}")
    return 0


def _validation_pairs(args: argparse.Namespace, run) -> list[tuple[str, int]]:
    """The run's own validation names: its recorded data folder (or --data), split as in training."""
    pairs = _run_split(args, run).val
    if not pairs:
        raise UserError("the validation split of this run is empty")
    return pairs


def cmd_units(args: argparse.Namespace) -> int:
    from .inside import build_atlas

    if args.top < 1:
        raise UserError("--top must be at least 1")
    run = _load(args)
    atlas = build_atlas(run.model, run.categories, _validation_pairs(args, run))
    if args.json:
        print(json.dumps(atlas.to_json(args.top)))
        return 0
    print(f"{atlas.hidden} units over {len(atlas.names):,} validation names; strongest contexts of "
          f"{atlas.keys[0]}:")
    for unit in atlas.order("category"):
        info = atlas.unit_json(unit, args.top)
        favours = ", ".join(f"{f['category']} {f['weight']:+.2f}" for f in info["favours"])
        contexts = info["top_contexts"][atlas.keys[0]]
        pos = " ".join(f"{c['name']}[{c['position']}]" for c in contexts["positive"])
        neg = " ".join(f"{c['name']}[{c['position']}]" for c in contexts["negative"])
        print(f"unit {unit:3d}  favours {favours}\n    + {pos}\n    - {neg}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from .runs import list_runs

    infos = list_runs(_runs_root(args))
    if args.json:
        print(json.dumps([{"run_id": i.run_id, "model": i.model, "status": i.status, "error": i.error,
                           "val_accuracy": i.summary.get("val_accuracy"),
                           "test_accuracy": i.summary.get("test_accuracy"),
                           "train_seconds": i.summary.get("train_seconds")} for i in infos], indent=2))
        return 0
    if not infos:
        print(f"no runs in {_runs_root(args)}")
        return 0
    print(f"{'run':40} {'model':7} {'status':12} {'val acc':>8} {'test acc':>8} {'seconds':>8}")
    for i in infos:
        if i.error:
            print(f"{i.run_id:40} {'?':7} {'unreadable':12} {i.error}")
            continue
        s = i.summary

        def pct(v):
            return f"{v:8.1%}" if isinstance(v, (int, float)) else f"{'-':>8}"

        secs = s.get("train_seconds")
        print(f"{i.run_id:40} {i.model:7} {i.status:12} {pct(s.get('val_accuracy'))} "
              f"{pct(s.get('test_accuracy'))} {secs if secs is not None else '-':>8}")
    return 0


COMMANDS = {"train": cmd_train, "download": cmd_download, "predict": cmd_predict, "evaluate": cmd_evaluate,
            "gates": cmd_gates, "runs": cmd_runs, "attribute": cmd_attribute, "units": cmd_units}

__all__ = ["main", "build_parser"]
