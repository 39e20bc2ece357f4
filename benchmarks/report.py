"""The benchmark's output: a table for the terminal, a one-line summary, and docs/benchmarks.md, whose
hand-written end (from KEPT_MARKER on) survives a rewrite."""

from __future__ import annotations

import math

from benchmarks.figures import BenchResult
from benchmarks.inspection import SAMPLE_NAME
from benchmarks.threads import TASK_GAP_S, thread_advice
from benchmarks.training import ACCURACY_GOAL, TUTORIAL_HIDDEN, TUTORIAL_LR


def format_value(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if unit == "names/s":
        return f"{value:,.0f}"
    if unit == "x":
        return f"{value:,.1f}x"
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "s":
        return f"{value:,.2f} s"
    return f"{value:.2f}"


def _rows(result: BenchResult) -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for f in result.figures:
        if f.median is None:
            value, spread = f.status, ""
        else:
            value = format_value(f.median, f.unit)
            spread = f"{format_value(f.low, f.unit)} - {format_value(f.high, f.unit)}" if len(f.samples) > 1 else ""
        target = f"{f.target[0]} {format_value(f.target[1], f.unit)}" if f.target else ""
        verdict = {True: "pass", False: "miss", None: ""}[f.passed]
        rows.append((f.label, value, spread, str(len(f.samples)) if f.samples else "", target, verdict, f.note))
    return rows


HEADER = ("figure", "median", "min - max", "n", "target", "result", "note")


def format_table(result: BenchResult) -> str:
    rows = [HEADER, *_rows(result)]
    widths = [max(len(row[k]) for row in rows) for k in range(len(HEADER) - 1)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [row[k].rjust(widths[k]) for k in range(1, len(widths))]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def summary_line(result: BenchResult) -> str:
    m = result.machine
    verdicts = [f.passed for f in result.figures if f.passed is not None]
    return (f"{m['cores']} cores ({m['cpu']}), torch {m['torch']} on {m['bench_threads']} thread(s), "
            f"{m['names']:,} names; {sum(verdicts)} of {len(verdicts)} targets met in {result.seconds:.0f} s")


def render_markdown(result: BenchResult) -> str:
    m = result.machine
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks` (see *How to rerun*). Every figure is a median over repeats, with "
        "the min - max spread; all of them were measured in one run on the machine below.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable by this process)",
        f"- torch {m['torch']}: {m['bench_threads']} thread(s) for the figures ({m['torch_default_threads']} by "
        f"default), Python {m['python']}, device {m['device']}",
        f"- {m['platform']}; load average {m['load_average_1m']} when the run started; {m['date']}",
        f"- {m['names']:,} surnames; {'quick' if result.quick else 'full'} settings; the run took "
        f"{result.seconds:.0f} s",
        "",
        "## Figures",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] + ["---:"] * 5 + ["---"]) + "|",
    ]
    for row in _rows(result):
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    advice = thread_advice(result)
    lines += [
        "",
        "## Torch threads on a shared server",
        "",
        advice or "Not measured in this run.",
        "",
        "`torch.set_num_threads` is process-wide: in the app it also governs the server's own torch work.",
        "",
        "## How it is measured",
        "",
        "- **Training throughput**: one epoch of the real `Trainer` (Adam 0.01, cosine schedule, gradient clipping "
        "1.0) over a shuffled slice of the training split, names/s from its last `on_eval` event. Validation uses "
        "one name per category here, so the figure is training speed. Rounds interleave all models. Training "
        "batches are length-bucketed as in every run (`EncodedSplit.batches`: names of similar length share a "
        "batch, so little time goes to padding), and Adam is torch's fused one.",
        "- **Tutorial loop**: the PyTorch tutorial's regime written out in `benchmarks/training.py`: a random "
        "category, a random name of it, `lineToTensor` one-hot built per name, `rnn(input[i], hidden)` per letter "
        f"with the tutorial's RNN ({TUTORIAL_HIDDEN} hidden), and `p.data.add_(p.grad, alpha=-{TUTORIAL_LR})`. "
        "Speed-ups divide a model's names/s by the tutorial loop's in the same round.",
        f"- **Time to {ACCURACY_GOAL:.0%}**: `TrainConfig()` defaults with the class weights and label smoothing "
        "off (the default recipe favours balanced accuracy and ends just under 80%) on the whole data; the "
        "`elapsed_s` of the first `on_eval` event whose validation accuracy reaches the goal (training time "
        "including its own validation passes, not data loading; points inside an epoch score a fixed 512-name "
        "sample of the validation part).",
        "- **Trainer / bare loop**: one epoch at batch 32 of the real `Trainer` (its live validation points "
        "included: a fixed 512-name sample of the validation part about 8 times an epoch, the whole part at the "
        "epoch's end) against a bare loop over the same batches with the same initial weights (forward, NLL, "
        "backward, clipping at 1.0, fused Adam, nothing else); the two take turns in each round.",
        "- **Models compared over seeds**: `TrainConfig(model=m, seed=s)` on the whole data for every model and "
        "seed, scored on each seed's own test part; the note gives the mean and sample standard deviation. The "
        "n-gram baseline's seconds are its scikit-learn fit.",
        "- **Gradient 10 letters back**: `rnnviz.inside.gradient_flow` of the seed-0 trained models on the "
        "validation names, as the Why LSTM? page shows it.",
        "- **MyLSTM / nn.LSTM**: per-round ratio of the two models' epoch times at the defaults, hidden size 64.",
        f"- **Latency**: `rnnviz.inside.read_name` and `rnnviz.evaluate.predict` for {SAMPLE_NAME!r} on the "
        "nn.LSTM trained above (the trace converts it to MyLSTM on every call, as the Gates page does).",
        "- **Live refresh**: the server side of one refresh of the Train page's curves: copy the job rows, build "
        "the frames, `rnnviz.charts.curves_long` and `curve_chart` for loss and accuracy (downsampled to "
        "`MAX_CURVE_POINTS` per line), serialised to Vega-Lite JSON. Streamlit's own Arrow marshalling and the "
        "browser's drawing are not included.",
        "- **Cold start**: `streamlit run streamlit_app.py` in a fresh process until headless Chromium shows the "
        "first page with its script run finished (falls back to `/_stcore/health` without a browser).",
        "- **Threads**: nn.LSTM training alone with `torch.set_num_threads(1)` and `(2)`, in the main thread and in a "
        "fresh worker thread (the app's JobManager trains in worker threads); then a small pandas task "
        f"(frame from 2,000 dict rows, group-by, describe; {TASK_GAP_S * 1000:.0f} ms apart) while a training "
        "thread runs with each setting; the idle, one-thread and two-thread conditions take turns in rounds.",
        "",
        "Other processes on the machine make the figures noisy; the spread columns show how much.",
        "",
        "## How to rerun",
        "",
        "```bash",
        "python -m benchmarks              # full run, rewrites this file (--no-write to only print)",
        "python -m benchmarks --quick      # CI's smaller run; prints only, add --write to rewrite this file",
        "python -m benchmarks --json       # the same figures as JSON on stdout",
        "```",
        "",
    ]
    return "\n".join(lines)


KEPT_MARKER = "<!-- Written by hand below this line: python -m benchmarks keeps it when it rewrites the file. -->"


def kept_section(text: str) -> str:
    """The hand-written end of the report (from KEPT_MARKER on), which a rewrite keeps; '' when there is none."""
    at = text.find(KEPT_MARKER)
    return "\n" + text[at:] if at >= 0 else ""

