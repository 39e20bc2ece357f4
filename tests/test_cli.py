"""Tests for the command line: every command, its JSON, and one-line errors with exit code 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLI_HIDDEN

from rnnviz import cli
from rnnviz.runs import list_runs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["train", "predict", "evaluate", "gates", "runs"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "error" in err
    for fragment in fragments:
        assert fragment in err


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0 and f"usage: python -m rnnviz {command}" in out


def test_top_level_help_lists_every_command(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and all(command in out for command in COMMANDS)


# --------------------------------------------------------------------------- train


def train_args(folder: Path, root: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(folder), "--runs", str(root), "--epochs", "2", "--hidden-size", "8",
            "--batch-size", "8", *extra]


def test_train_saves_a_run_and_prints_its_result_and_folder(capsys, tiny_folder, tmp_path):
    code, out, _ = run_cli(capsys, *train_args(tiny_folder, tmp_path / "r", "--model", "mylstm", "--quiet"))
    assert code == 0
    summary_line, folder_line = out.strip().splitlines()
    assert summary_line.startswith("mylstm: finished after 2 epochs") and "test acc" in summary_line
    (info,) = list_runs(tmp_path / "r")
    assert Path(folder_line) == info.path and info.model == "mylstm" and info.status == "finished"
    assert info.config["hidden_size"] == 8 and info.config["batch_size"] == 8


def test_quiet_train_writes_nothing_to_stderr(capsys, tiny_folder, tmp_path):
    code, _, err = run_cli(capsys, *train_args(tiny_folder, tmp_path / "r", "--quiet"))
    assert code == 0 and err == ""


def test_train_progress_off_a_terminal_is_one_line_per_epoch(capsys, tiny_folder, tmp_path):
    code, _, err = run_cli(capsys, *train_args(tiny_folder, tmp_path / "r", "--epochs", "3", "--eval-every", "1"))
    assert code == 0 and "\r" not in err
    lines = err.strip().splitlines()
    assert lines[0] == "training lstm on 90 names, 3 categories"
    assert [line.split()[:2] for line in lines[1:]] == [["epoch", "1.0"], ["epoch", "2.0"], ["epoch", "3.0"]]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_train_progress_on_a_terminal_redraws_one_bar(capsys, monkeypatch, tiny_folder, tmp_path):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = cli.main(train_args(tiny_folder, tmp_path / "r", "--eval-every", "1"))
    assert code == 0
    text = terminal.getvalue()
    header, bar, rest = text.split("\n", 2)
    assert header.startswith("training lstm")
    assert bar.count("\r") == 18 and "100.0%" in bar.split("\r")[-1]  # 2 epochs x 9 batches, one redraw each
    assert rest == ""


def test_train_all_trains_the_three_models(capsys, tiny_folder, tmp_path):
    code, out, _ = run_cli(capsys, *train_args(tiny_folder, tmp_path / "r", "--all", "--quiet", "--epochs", "1"))
    assert code == 0
    assert sorted(info.model for info in list_runs(tmp_path / "r")) == ["lstm", "mylstm", "rnn"]


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (["--batch-size", "0"], ["--batch-size", "[1, 1024]"]),
        (["--lr", "abc"], ["--lr", "'abc'"]),
        (["--lr", "100"], ["--lr", "[1e-06, 10.0]"]),
        (["--epochs", "-1"], ["--epochs", "[1, 200]"]),
        (["--val-fraction", "x"], ["--val-fraction"]),
        (["--model", "gru"], ["--model", "gru"]),
        (["--threads", "0"], ["--threads", "[1, 256]"]),
        (["--bogus"], ["--bogus"]),
    ],
)
def test_bad_train_flags_are_one_line_errors(capsys, tiny_folder, tmp_path, flags, fragments):
    code, _, err = run_cli(capsys, *train_args(tiny_folder, tmp_path / "r", "--quiet"), *flags)
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "r").exists() or list_runs(tmp_path / "r") == []


def test_train_on_a_missing_data_folder_is_a_one_line_error(capsys, tmp_path):
    code, _, err = run_cli(capsys, *train_args(tmp_path / "nowhere", tmp_path / "r"))
    assert_one_line_error(code, err, "data folder not found")


# --------------------------------------------------------------------------- predict


def test_predict_prints_the_top_categories(capsys, cli_runs):
    code, out, _ = run_cli(capsys, "predict", "--runs", str(cli_runs["runs"]), "--run", "lstm", "Borov", "--top", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "Borov" and len(lines) == 3
    assert lines[1].split()[1] in {"Ashi", "Borov", "Tunson"}


def test_predict_json_and_a_name_with_dropped_characters(capsys, cli_runs):
    code, out, _ = run_cli(capsys, "predict", "--runs", str(cli_runs["runs"]), "--run", "lstm", "--json",
                           "Tun-son2", "Ashi")
    assert code == 0
    first, second = json.loads(out)
    assert first["name"] == "Tun-son2" and first["used"] == "Tunson" and "'-2'" in first["note"]
    assert len(first["top"]) == 3 and sum(t["probability"] for t in first["top"]) == pytest.approx(1.0, abs=1e-5)
    assert second["note"] == ""


def test_predict_text_output_notes_what_was_dropped(capsys, cli_runs):
    code, out, _ = run_cli(capsys, "predict", "--runs", str(cli_runs["runs"]), "--run", "lstm", "Tun-son")
    assert code == 0 and "read as 'Tunson'" in out and "'-'" in out


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--run", "nope", "Smith"], ["no run 'nope'"]),
        (["--run", "../lstm", "Smith"], ["no run"]),
        (["--run", "lstm", ""], ["empty"]),
        (["--run", "lstm", "1234"], ["'1234'", "no letters"]),
        (["--run", "lstm", "--top", "0", "Smith"], ["--top"]),
        (["--run", "lstm", "--top", "x", "Smith"], ["--top"]),
    ],
)
def test_bad_predict_input_is_a_one_line_error(capsys, cli_runs, argv, fragments):
    code, _, err = run_cli(capsys, "predict", "--runs", str(cli_runs["runs"]), *argv)
    assert_one_line_error(code, err, *fragments)


# --------------------------------------------------------------------------- evaluate


def test_evaluate_json_has_the_report(capsys, cli_runs):
    code, out, _ = run_cli(capsys, "evaluate", "--runs", str(cli_runs["runs"]), "--run", "lstm",
                           "--data", str(cli_runs["data"]), "--json")
    assert code == 0
    values = json.loads(out)
    assert {"accuracy", "balanced_accuracy", "categories", "confusion_matrix", "per_category"} <= set(values)
    assert values["categories"] == ["Ashi", "Borov", "Tunson"]
    matrix = values["confusion_matrix"]
    assert sum(map(sum, matrix)) == 9  # 10% of 30 names in each of 3 categories
    assert values["accuracy"] == pytest.approx(sum(matrix[i][i] for i in range(3)) / 9)
    assert [row["support"] for row in values["per_category"]] == [3, 3, 3]


def test_evaluate_reads_the_data_folder_recorded_in_the_run(capsys, cli_runs, monkeypatch):
    monkeypatch.delenv("RNNVIZ_DATA", raising=False)
    code, out, _ = run_cli(capsys, "evaluate", "--runs", str(cli_runs["runs"]), "--run", "lstm", "--split", "val")
    assert code == 0 and "on val split: 9 names" in out and "balanced accuracy" in out


def test_evaluate_on_a_names_file(capsys, cli_runs, tmp_path):
    file = tmp_path / "names.tsv"
    file.write_text("name\tcategory\nKishi\tAshi\nBorov\tBorov\nTunson\tTunson\nZov\tBorov\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "evaluate", "--runs", str(cli_runs["runs"]), "--run", "rnn",
                           "--names-file", str(file), "--json")
    assert code == 0
    values = json.loads(out)
    assert values["n"] == 4 and [row["support"] for row in values["per_category"]] == [1, 2, 1]


def test_evaluate_with_a_bad_names_file_is_a_one_line_error(capsys, cli_runs, tmp_path):
    file = tmp_path / "names.tsv"
    file.write_text("name\tcategory\nSmith\tEnglish\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "evaluate", "--runs", str(cli_runs["runs"]), "--run", "lstm",
                           "--names-file", str(file))
    assert_one_line_error(code, err, "unknown category 'English'")


def test_evaluate_on_other_categories_is_a_one_line_error(capsys, cli_runs, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for category in ("English", "French"):
        (other / f"{category}.txt").write_text("Smith\nJones\nBrown\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "evaluate", "--runs", str(cli_runs["runs"]), "--run", "lstm", "--data", str(other))
    assert_one_line_error(code, err, "other categories")


# --------------------------------------------------------------------------- gates


def test_gates_json_has_every_gate_per_character_and_the_prediction_per_step(capsys, cli_runs):
    code, out, _ = run_cli(capsys, "gates", "--runs", str(cli_runs["runs"]), "--run", "lstm", "--json", "Tu-son")
    assert code == 0
    values = json.loads(out)
    assert values["characters"] == list("Tuson") and "'-'" in values["note"]
    for key in ("i", "f", "g", "o", "c", "h"):
        assert len(values[key]) == 5 and all(len(step) == CLI_HIDDEN for step in values[key]), key
    assert all(0 < v < 1 for step in values["f"] for v in step)
    steps = values["step_prediction"]
    assert [s["character"] for s in steps] == list("Tuson")
    assert steps[-1]["category"] == values["top"][0]["category"]


def test_gates_prints_a_table(capsys, cli_runs):
    code, out, _ = run_cli(capsys, "gates", "--runs", str(cli_runs["runs"]), "--run", "lstm", "Abe")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("top:") and "mean f" in lines[1] and len(lines) == 5


def test_gates_are_refused_for_an_rnn_run(capsys, cli_runs):
    code, _, err = run_cli(capsys, "gates", "--runs", str(cli_runs["runs"]), "--run", "rnn", "Smith")
    assert_one_line_error(code, err, "rnn")


# --------------------------------------------------------------------------- runs


def test_runs_lists_saved_runs_and_reports_damaged_ones(capsys, cli_runs, tmp_path):
    root = tmp_path / "runs-copy"
    root.mkdir()
    for run_id in ("lstm", "rnn"):
        (root / run_id).symlink_to(cli_runs["runs"] / run_id)
    broken = root / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{")
    code, out, _ = run_cli(capsys, "runs", "--runs", str(root), "--json")
    assert code == 0
    by_id = {row["run_id"]: row for row in json.loads(out)}
    assert by_id["lstm"]["status"] == "finished" and by_id["lstm"]["model"] == "lstm"
    assert by_id["rnn"]["test_accuracy"] is not None
    assert "config.json is unreadable" in by_id["broken"]["error"]
    code, out, _ = run_cli(capsys, "runs", "--runs", str(root))
    assert code == 0 and "unreadable" in out and "finished" in out


def test_runs_on_an_empty_directory_says_so(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "runs", "--runs", str(tmp_path / "none"))
    assert code == 0 and "no runs" in out


# --------------------------------------------------------------------------- never a traceback


def test_an_unexpected_failure_is_still_one_line(capsys, monkeypatch, cli_runs):
    def broken(args):
        raise KeyError("boom")

    monkeypatch.setitem(cli.COMMANDS, "runs", broken)
    code, _, err = run_cli(capsys, "runs", "--runs", str(cli_runs["runs"]))
    assert code == 1 and err.count("\n") == 1 and "KeyError" in err and "Traceback" not in err


def python_m_rnnviz(*argv: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "rnnviz", *argv], capture_output=True, text=True, env=env,
                          timeout=120, cwd=PROJECT_ROOT)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["predict", "--run", "missing-run", "Smith"], "no run 'missing-run'"),
        (["train", "--lr", "abc"], "--lr"),
        (["gates", "--run", "rnn", "Smith"], "gates exist only for nn.LSTM and MyLSTM"),
    ],
)
@pytest.mark.slow
def test_the_real_command_answers_bad_input_with_one_line_and_exit_code_2(cli_runs, argv, fragment):
    done = python_m_rnnviz(*argv, "--runs", str(cli_runs["runs"]))
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1 and fragment in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- the real data (integration)


@pytest.mark.slow
def test_one_epoch_lstm_on_the_real_data_beats_the_majority_class(real_data_dir, real_dataset, tmp_path):
    done = python_m_rnnviz("train", "--data", str(real_data_dir), "--runs", str(tmp_path / "r"), "--epochs", "1",
                           "--model", "lstm")
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "epoch 1.0" in done.stderr
    (info,) = list_runs(tmp_path / "r")
    counts = [real_dataset.labels.count(label) for label in range(real_dataset.n_categories)]
    majority = max(counts) / len(real_dataset)  # Russian, about 52%
    assert info.status == "finished" and info.summary["val_accuracy"] > majority + 0.1
    done = python_m_rnnviz("evaluate", "--run", info.run_id, "--runs", str(tmp_path / "r"), "--json")
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert len(values["categories"]) == 18 and values["accuracy"] > majority
