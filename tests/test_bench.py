"""Tests for rnnviz.bench: the tutorial baseline really trains, every figure is produced, targets are judged.

No timing is asserted anywhere: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import pytest
import torch
from conftest import write_tiny_folder

from rnnviz import bench, cli
from rnnviz.data import ALPHABET, N_LETTERS, encode
from rnnviz.models import RNN

TINY_APP = 'import streamlit as st\n\nst.title("tiny app")\nst.write("ready")\n'


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- the tutorial's regime


def test_line_to_tensor_builds_the_tutorials_one_hot_per_letter():
    tensor = bench.line_to_tensor("Abe")
    assert tensor.shape == (3, 1, N_LETTERS)
    assert tensor.sum().item() == 3
    assert [int(tensor[k, 0].argmax()) for k in range(3)] == [ALPHABET.index(ch) for ch in "Abe"]


def test_tutorial_module_stepped_per_letter_computes_what_the_batched_rnn_computes():
    torch.manual_seed(0)
    model = RNN(hidden_size=16, output_size=3)
    tutorial = bench.TutorialRNN(model)
    names = ["Nakamura", "Li", "Schmidt"]
    chars, lengths = encode(names)
    batched = model(chars, lengths)
    for row, name in enumerate(names):
        line = bench.line_to_tensor(name)
        hidden = tutorial.init_hidden()
        for i in range(line.size(0)):
            output, hidden = tutorial(line[i], hidden)
        torch.testing.assert_close(output[0], batched[row])


def test_tutorial_loop_lowers_the_loss_on_tiny_data(tiny_dataset):
    pairs = list(zip(tiny_dataset.names, tiny_dataset.labels))
    run = bench.tutorial_train(pairs, tiny_dataset.n_categories, steps=600, seed=0)
    assert len(run.losses) == 600
    first, last = sum(run.losses[:150]) / 150, sum(run.losses[-150:]) / 150
    assert last < 0.7 * first
    assert run.names_per_s > 0


def test_tutorial_update_is_plain_sgd_at_the_tutorials_rate(tiny_dataset):
    pairs = list(zip(tiny_dataset.names, tiny_dataset.labels))
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in RNN(N_LETTERS, bench.TUTORIAL_HIDDEN, 3).state_dict().items()}
    run = bench.tutorial_train(pairs, tiny_dataset.n_categories, steps=1, seed=0)
    after = run.model.state_dict()
    grads = {name: p.grad for name, p in run.model.named_parameters()}
    for name, grad in grads.items():
        torch.testing.assert_close(after[name], before[name] - bench.TUTORIAL_LR * grad)


# --------------------------------------------------------------------------- figures and targets


def test_a_target_is_met_by_the_median_not_the_best_sample():
    assert bench.Figure("speedup_lstm_default", "", "x", [10.0, 30.0, 25.0]).passed is True
    assert bench.Figure("speedup_lstm_default", "", "x", [10.0, 30.0, 15.0]).passed is False
    assert bench.Figure("cold_start_s", "", "s", [4.0, 6.0, 7.0]).passed is False
    assert bench.Figure("gate_trace_ms", "", "ms", [3.0]).passed is True


def test_a_goal_not_reached_or_an_error_is_a_miss_and_a_skipped_figure_has_no_verdict():
    assert bench.Figure("time_to_80_lstm_s", "", "s", [], status="not reached").passed is False
    assert bench.Figure("cold_start_s", "", "s", [], status="skipped").passed is None
    assert bench.Figure("predict_ms", "", "ms", [1.0]).passed is None
    assert bench.Figure("cold_start_s", "", "s", [1.0], status="error").passed is False


def test_only_a_full_run_writes_the_report_unless_told_otherwise():
    assert bench.writes_report(quick=False, write=False, no_write=False)
    assert not bench.writes_report(quick=False, write=False, no_write=True)
    assert not bench.writes_report(quick=True, write=False, no_write=False)
    assert bench.writes_report(quick=True, write=True, no_write=False)


def thread_result(main2: float, worker2: float, task2: float) -> bench.BenchResult:
    values = {"threads_train_1_names_per_s": 1000.0, "threads_train_2_names_per_s": main2,
              "threads_worker_1_names_per_s": 1000.0, "threads_worker_2_names_per_s": worker2,
              "threads_task_idle_ms": 10.0, "threads_task_train_1_ms": 20.0, "threads_task_train_2_ms": task2}
    return bench.BenchResult({}, bench.QUICK, True, [bench.Figure(k, k, "", [v]) for k, v in values.items()])


def test_thread_advice_keeps_two_threads_only_when_they_pay_off_everywhere():
    assert "one thread per core" in bench.thread_advice(thread_result(1800.0, 1700.0, 20.0))
    assert "set_num_threads(1)" in bench.thread_advice(thread_result(40.0, 1700.0, 20.0))
    assert "set_num_threads(1)" in bench.thread_advice(thread_result(1800.0, 1700.0, 40.0))
    assert bench.thread_advice(bench.BenchResult({}, bench.QUICK, True, [])) == ""


def test_subset_keeps_the_categories_and_takes_at_most_the_asked_names(tiny_dataset):
    small = bench.subset_dataset(tiny_dataset, 20)
    assert len(small) == 20
    assert small.categories == tiny_dataset.categories
    assert set(zip(small.names, small.labels)) <= set(zip(tiny_dataset.names, tiny_dataset.labels))
    assert bench.subset_dataset(tiny_dataset, 0) is tiny_dataset


def test_live_refresh_builds_the_train_pages_charts_from_logged_rows():
    refresh, how = bench.live_refresh_function()
    assert "charts.curve_chart" in how
    rows = bench.logged_rows(400)
    assert {"step", "epoch", "train_loss", "val_loss", "train_acc", "val_acc"} <= set(rows[0])
    assert refresh({"run 1": rows, "run 2": bench.logged_rows(400, seed=1)}) > 0


def test_time_to_accuracy_reports_not_reached_honestly(tiny_dataset):
    figure, model = bench.time_to_accuracy(tiny_dataset, "lstm", runs=1, goal=1.01, budget_s=0.01)
    assert figure.status == "not reached"
    assert figure.samples == [] and figure.median is None
    assert "not reached in 0.01 s" in figure.note and "best val acc" in figure.note
    assert model is not None


def test_a_missing_app_gives_a_skipped_row(tmp_path):
    figures = bench.measure_cold_start(tmp_path / "streamlit_app.py", bench.QUICK)
    assert [f.status for f in figures] == ["skipped"]
    assert "no app" in figures[0].note


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_quick_bench_json_gives_every_figure_a_number(tmp_path):
    data = write_tiny_folder(tmp_path / "names", per_category=200)
    app = tmp_path / "app" / "streamlit_app.py"
    app.parent.mkdir()
    app.write_text(TINY_APP, encoding="utf-8")
    report = tmp_path / "benchmarks.md"
    threads = torch.get_num_threads()
    code, out, err = run_cli(["bench", "--quick", "--json", "--data", str(data), "--app", str(app),
                              "--write", "--output", str(report)])
    assert code == 0, err
    assert torch.get_num_threads() == threads
    result = json.loads(out)
    figures = result["figures"]
    assert set(figures) == set(bench.FIGURE_KEYS)
    for key, figure in figures.items():
        assert figure["status"] == "measured", (key, figure["note"])
        for field in ("median", "min", "max"):
            assert isinstance(figure[field], float) and math.isfinite(figure[field]), (key, field, figure[field])
        assert figure["min"] <= figure["median"] <= figure["max"]
        assert figure["n"] >= 1
    for key, (op, bound) in bench.TARGETS.items():
        assert figures[key]["target"] == f"{op} {bound:g}"
        assert isinstance(figures[key]["pass"], bool)
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["torch"] == torch.__version__ and machine["cpu"]
    assert result["quick"] is True
    text = report.read_text(encoding="utf-8")
    assert machine["cpu"] in text and f"torch {torch.__version__}" in text and f"{machine['cores']} cores" in text


def test_bench_without_data_fails_in_one_line(tmp_path):
    code, out, err = run_cli(["bench", "--quick", "--data", str(tmp_path / "missing")])
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "not found" in err


@pytest.mark.parametrize("flag", ["--max-names", "--threads"])
def test_negative_counts_are_refused_in_one_line(flag):
    code, _, err = run_cli(["bench", "--quick", flag, "-1"])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "0 or more" in err


def test_a_rewrite_keeps_the_hand_written_end_of_the_report(tmp_path):
    report = f"# Benchmarks\n\nold figures\n\n{bench.KEPT_MARKER}\n\n## Recipe search\n\n| a | b |\n"
    assert bench.kept_section(report) == f"\n{bench.KEPT_MARKER}\n\n## Recipe search\n\n| a | b |\n"
    assert bench.kept_section("# Benchmarks\n\nno marker\n") == ""


def test_only_measures_the_phases_asked_for(tiny_folder):
    result = bench.run_bench(tiny_folder, bench.QUICK, quick=True, only=["overhead"])
    assert {f.key for f in result.figures} == set(bench.OVERHEAD_KEYS)
    ratio = result.figure("trainer_vs_bare_lstm")
    assert ratio.status == "measured" and all(r > 0 for r in ratio.samples)
