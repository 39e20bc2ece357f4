"""Tests for benchmarks/: the tutorial baseline really trains, every figure is produced, targets are judged, and
`python -m rnnviz bench` points at `python -m benchmarks`.

No timing is asserted anywhere: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
import torch
from conftest import write_tiny_folder

from benchmarks import app, figures, inspection, report, run, server, threads, training
from rnnviz import cli
from rnnviz.data import ALPHABET, N_LETTERS, encode
from rnnviz.models import RNN

TINY_APP = 'import streamlit as st\n\nst.title("tiny app")\nst.write("ready")\n'


def run_benchmarks(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run.main(argv)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- the tutorial's regime


def test_line_to_tensor_builds_the_tutorials_one_hot_per_letter():
    tensor = training.line_to_tensor("Abe")
    assert tensor.shape == (3, 1, N_LETTERS)
    assert tensor.sum().item() == 3
    assert [int(tensor[k, 0].argmax()) for k in range(3)] == [ALPHABET.index(ch) for ch in "Abe"]


def test_tutorial_module_stepped_per_letter_computes_what_the_batched_rnn_computes():
    torch.manual_seed(0)
    model = RNN(hidden_size=16, output_size=3)
    tutorial = training.TutorialRNN(model)
    names = ["Nakamura", "Li", "Schmidt"]
    chars, lengths = encode(names)
    batched = model(chars, lengths)
    for row, name in enumerate(names):
        line = training.line_to_tensor(name)
        hidden = tutorial.init_hidden()
        for i in range(line.size(0)):
            output, hidden = tutorial(line[i], hidden)
        torch.testing.assert_close(output[0], batched[row])


def test_tutorial_loop_lowers_the_loss_on_tiny_data(tiny_dataset):
    pairs = list(zip(tiny_dataset.names, tiny_dataset.labels))
    run = training.tutorial_train(pairs, tiny_dataset.n_categories, steps=600, seed=0)
    assert len(run.losses) == 600
    first, last = sum(run.losses[:150]) / 150, sum(run.losses[-150:]) / 150
    assert last < 0.7 * first
    assert run.names_per_s > 0


def test_tutorial_update_is_plain_sgd_at_the_tutorials_rate(tiny_dataset):
    pairs = list(zip(tiny_dataset.names, tiny_dataset.labels))
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in RNN(N_LETTERS, training.TUTORIAL_HIDDEN, 3).state_dict().items()}
    run = training.tutorial_train(pairs, tiny_dataset.n_categories, steps=1, seed=0)
    after = run.model.state_dict()
    grads = {name: p.grad for name, p in run.model.named_parameters()}
    for name, grad in grads.items():
        torch.testing.assert_close(after[name], before[name] - training.TUTORIAL_LR * grad)


# --------------------------------------------------------------------------- figures and targets


def test_a_target_is_met_by_the_median_not_the_best_sample():
    assert figures.Figure("speedup_lstm_default", "", "x", [10.0, 30.0, 25.0]).passed is True
    assert figures.Figure("speedup_lstm_default", "", "x", [10.0, 30.0, 15.0]).passed is False
    assert figures.Figure("cold_start_s", "", "s", [4.0, 6.0, 7.0]).passed is False
    assert figures.Figure("gate_trace_ms", "", "ms", [3.0]).passed is True


def test_a_goal_not_reached_or_an_error_is_a_miss_and_a_skipped_figure_has_no_verdict():
    assert figures.Figure("time_to_80_lstm_s", "", "s", [], status="not reached").passed is False
    assert figures.Figure("cold_start_s", "", "s", [], status="skipped").passed is None
    assert figures.Figure("predict_ms", "", "ms", [1.0]).passed is None
    assert figures.Figure("cold_start_s", "", "s", [1.0], status="error").passed is False


def test_only_a_full_run_writes_the_report_unless_told_otherwise():
    assert run.writes_report(quick=False, write=False, no_write=False)
    assert not run.writes_report(quick=False, write=False, no_write=True)
    assert not run.writes_report(quick=True, write=False, no_write=False)
    assert run.writes_report(quick=True, write=True, no_write=False)


def thread_result(main2: float, worker2: float, task2: float) -> figures.BenchResult:
    values = {"threads_train_1_names_per_s": 1000.0, "threads_train_2_names_per_s": main2,
              "threads_worker_1_names_per_s": 1000.0, "threads_worker_2_names_per_s": worker2,
              "threads_task_idle_ms": 10.0, "threads_task_train_1_ms": 20.0, "threads_task_train_2_ms": task2}
    return figures.BenchResult({}, figures.QUICK, True, [figures.Figure(k, k, "", [v]) for k, v in values.items()])


def test_thread_advice_keeps_two_threads_only_when_they_pay_off_everywhere():
    assert "one thread per core" in threads.thread_advice(thread_result(1800.0, 1700.0, 20.0))
    assert "set_num_threads(1)" in threads.thread_advice(thread_result(40.0, 1700.0, 20.0))
    assert "set_num_threads(1)" in threads.thread_advice(thread_result(1800.0, 1700.0, 40.0))
    assert threads.thread_advice(figures.BenchResult({}, figures.QUICK, True, [])) == ""


def test_subset_keeps_the_categories_and_takes_at_most_the_asked_names(tiny_dataset):
    small = training.subset_dataset(tiny_dataset, 20)
    assert len(small) == 20
    assert small.categories == tiny_dataset.categories
    assert set(zip(small.names, small.labels)) <= set(zip(tiny_dataset.names, tiny_dataset.labels))
    assert training.subset_dataset(tiny_dataset, 0) is tiny_dataset


def test_live_refresh_builds_the_train_pages_charts_from_logged_rows():
    rows = inspection.logged_rows(400)
    assert {"step", "epoch", "train_loss", "val_loss", "train_acc", "val_acc"} <= set(rows[0])
    one = inspection.refresh_curves({"run 1": rows})
    two = inspection.refresh_curves({"run 1": rows, "run 2": inspection.logged_rows(400, seed=1)})
    assert two > one > 0  # a second run's curves are sent too


def test_time_to_accuracy_reports_not_reached_honestly(tiny_dataset):
    figure, model = training.time_to_accuracy(tiny_dataset, "lstm", runs=1, goal=1.01, budget_s=0.01)
    assert figure.status == "not reached"
    assert figure.samples == [] and figure.median is None
    assert "not reached in 0.01 s" in figure.note and "best val acc" in figure.note
    assert model is not None


def test_a_missing_app_gives_a_skipped_row(tmp_path):
    rows = app.measure_cold_start(figures.QUICK, tmp_path / "streamlit_app.py")
    assert [f.status for f in rows] == ["skipped"]
    assert "no app" in rows[0].note


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_quick_bench_json_gives_every_figure_a_number(tmp_path):
    data = write_tiny_folder(tmp_path / "names", per_category=200)
    app = tmp_path / "app" / "streamlit_app.py"
    app.parent.mkdir()
    app.write_text(TINY_APP, encoding="utf-8")
    written = tmp_path / "benchmarks.md"
    threads = torch.get_num_threads()
    code, out, err = run_benchmarks(["--quick", "--json", "--data", str(data), "--app", str(app),
                              "--write", "--output", str(written)])
    assert code == 0, err
    assert torch.get_num_threads() == threads
    result = json.loads(out)
    measured = result["figures"]
    assert set(measured) == set(run.FIGURE_KEYS)
    for key, figure in measured.items():
        assert figure["status"] == "measured", (key, figure["note"])
        for field in ("median", "min", "max"):
            assert isinstance(figure[field], float) and math.isfinite(figure[field]), (key, field, figure[field])
        assert figure["min"] <= figure["median"] <= figure["max"]
        assert figure["n"] >= 1
    for key, (op, bound) in figures.TARGETS.items():
        assert measured[key]["target"] == f"{op} {bound:g}"
        assert isinstance(measured[key]["pass"], bool)
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["torch"] == torch.__version__ and machine["cpu"]
    assert result["quick"] is True
    text = written.read_text(encoding="utf-8")
    assert machine["cpu"] in text and f"torch {torch.__version__}" in text and f"{machine['cores']} cores" in text


def test_benchmarks_without_data_fail_in_one_line(tmp_path):
    code, out, err = run_benchmarks(["--quick", "--data", str(tmp_path / "missing")])
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "not found" in err


@pytest.mark.parametrize("flag", ["--max-names", "--threads"])
def test_negative_counts_are_refused_in_one_line(flag):
    code, _, err = run_benchmarks(["--quick", flag, "-1"])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "0 or more" in err


def test_a_rewrite_keeps_the_hand_written_end_of_the_report(tmp_path):
    text = f"# Benchmarks\n\nold figures\n\n{report.KEPT_MARKER}\n\n## Recipe search\n\n| a | b |\n"
    assert report.kept_section(text) == f"\n{report.KEPT_MARKER}\n\n## Recipe search\n\n| a | b |\n"
    assert report.kept_section("# Benchmarks\n\nno marker\n") == ""


def test_only_measures_the_phases_asked_for(tiny_folder):
    result = run.run_bench(tiny_folder, figures.QUICK, quick=True, only=["overhead"])
    assert {f.key for f in result.figures} == set(training.OVERHEAD_KEYS)
    ratio = result.figure("trainer_vs_bare_lstm")
    assert ratio.status == "measured" and all(r > 0 for r in ratio.samples)


def test_other_measurements_run_as_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_:
        run.main(["recipes", "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m benchmarks recipes")


# --------------------------------------------------------------------------- python -m rnnviz bench


def test_rnnviz_bench_runs_the_benchmarks_from_the_checkout(monkeypatch):
    calls = []
    monkeypatch.setattr(cli.subprocess, "run",
                        lambda argv, cwd: calls.append((argv, cwd)) or subprocess.CompletedProcess(argv, 3))
    assert cli.main(["bench", "--quick", "--only", "refresh"]) == 3
    assert calls == [([sys.executable, "-m", "benchmarks", "--quick", "--only", "refresh"], cli.PROJECT_ROOT)]
    assert (cli.PROJECT_ROOT / "benchmarks" / "__main__.py").is_file()


def test_rnnviz_bench_outside_a_checkout_says_what_to_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "PROJECT_ROOT", tmp_path)  # an installed rnnviz: no benchmarks/ beside it
    monkeypatch.setattr(cli.subprocess, "run", lambda *a, **k: pytest.fail("nothing to run outside a checkout"))
    assert cli.main(["bench", "--quick"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "python -m benchmarks --quick" in err


@pytest.mark.slow
def test_rnnviz_bench_passes_the_benchmarks_answer_through(tmp_path):
    answer = subprocess.run([sys.executable, "-m", "rnnviz", "bench", "--quick", "--data", str(tmp_path / "missing")],
                            capture_output=True, text=True, timeout=120)
    assert answer.returncode == 2
    assert answer.stdout == ""
    assert len(answer.stderr.strip().splitlines()) == 1 and "not found" in answer.stderr


# --------------------------------------------------------------------------- the one Streamlit launcher


@pytest.mark.slow
def test_the_launcher_serves_an_app_until_the_block_ends(tmp_path):
    app_file = tmp_path / "streamlit_app.py"
    app_file.write_text(TINY_APP, encoding="utf-8")
    log = tmp_path / "server.log"
    with server.streamlit_server(log, app=app_file) as (url, port, process):
        assert url == f"http://127.0.0.1:{port}"
        assert server.healthy(port) and process.poll() is None
    assert process.poll() is not None
    assert not server.healthy(port)


@pytest.mark.slow
def test_the_launcher_reports_an_app_that_cannot_start(tmp_path):
    log = tmp_path / "server.log"
    with pytest.raises(RuntimeError, match="exited with code|did not answer"):
        with server.streamlit_server(log, app=tmp_path / "streamlit_app.py", extra_args=("--no-such-flag",),
                                     timeout_s=60):
            pytest.fail("a server that cannot start must not be yielded")


# --------------------------------------------------------------------------- python -m benchmarks devices


def test_the_device_benchmark_without_a_gpu_writes_a_rule_that_is_the_cpu_everywhere(tmp_path, monkeypatch,
                                                                                      capsys):
    from rnnviz.config import auto_device, read_device_speeds, resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data = write_tiny_folder(tmp_path / "names")
    output = tmp_path / "devices.json"
    code = run.main(["devices", "--data", str(data), "--models", "rnn", "lstm", "--hidden-sizes", "8,0",
                     "--batch-sizes", "4,16", "--steps", "3", "--output", str(output)])
    assert code == 0
    table = capsys.readouterr().out
    speeds = read_device_speeds(output)
    assert [(s.model, s.hidden_size, s.batch_size) for s in speeds] == [
        (model, hidden, batch) for model, default in (("rnn", 128), ("lstm", 64)) for hidden in (8, default)
        for batch in (4, 16)]
    assert all(s.cpu > 0 and s.cuda is None and s.faster == "cpu" for s in speeds)
    assert table.count("CPU\n") == len(speeds)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU later: still nothing measured on it
    monkeypatch.setenv("RNNVIZ_DEVICES", str(output))
    for s in speeds:
        assert resolve_device("auto", s.model, s.hidden_size, s.batch_size).type == "cpu"
        assert auto_device(s.model, s.hidden_size, s.batch_size).reason.startswith("no measurement")


def test_the_device_benchmark_refuses_a_batch_of_zero_in_one_line(capsys):
    assert run.main(["devices", "--batch-sizes", "0,32"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
