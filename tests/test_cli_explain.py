"""The command line's explanations: attribute, units and gates with an intervention; JSON shapes and one-line
errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from conftest import CLI_HIDDEN, write_tiny_folder

from rnnviz import cli, inside
from rnnviz.evaluate import predict
from rnnviz.runs import load_run


def run_cli(capsys, cli_runs, *argv: str) -> tuple[int, str, str]:
    code = cli.main([argv[0], "--runs", str(cli_runs["runs"]), *argv[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize("command", ["attribute", "units"])
def test_new_commands_have_help(capsys, command):
    assert cli.main([command, "--help"]) == 0
    assert f"usage: python -m rnnviz {command}" in capsys.readouterr().out


@pytest.mark.parametrize("run", ["lstm", "rnn"])
def test_attribute_json_has_a_letter_per_letter_and_occlusion_matches_predict(capsys, cli_runs, run):
    code, out, _ = run_cli(capsys, cli_runs, "attribute", "--run", run, "--json", "Borov")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"name", "used", "category", "probability", "letters"}
    assert [entry["letter"] for entry in result["letters"]] == list("Borov")
    assert all(set(entry) == {"letter", "occlusion", "gradient_x_input"} for entry in result["letters"])
    loaded = load_run(cli_runs["runs"] / run)
    top = predict(loaded.model, loaded.categories, ["Borov", "Boov"], top_k=3)
    assert result["category"] == top[0].top[0][0]
    without_r = dict(predict(loaded.model, loaded.categories, ["Boov"], top_k=3)[0].top).get(result["category"], 0)
    assert result["letters"][2]["occlusion"] == pytest.approx(result["probability"] - without_r, abs=1e-5)


def test_attribute_prints_a_table(capsys, cli_runs):
    code, out, _ = run_cli(capsys, cli_runs, "attribute", "--run", "lstm", "Abe")
    assert code == 0 and len(out.strip().splitlines()) == 2 + 3


@pytest.mark.parametrize("run, keys", [("lstm", {"c", "h"}), ("rnn", {"h"})])
def test_units_json_has_every_unit_with_its_contexts_and_categories(capsys, cli_runs, run, keys):
    code, out, _ = run_cli(capsys, cli_runs, "units", "--run", run, "--top", "2", "--json", "--data",
                           str(cli_runs["data"]))
    assert code == 0
    units = json.loads(out)["units"]
    assert [u["unit"] for u in units] == list(range(CLI_HIDDEN))
    for unit in units:
        assert set(unit["top_contexts"]) == keys and len(unit["favours"]) == 3
        for key in keys:
            for side in ("positive", "negative"):
                contexts = unit["top_contexts"][key][side]
                assert len(contexts) == 2
                assert all(set(c) == {"name", "category", "position", "letter", "value"} for c in contexts)
                assert all(c["name"][c["position"]] == c["letter"] for c in contexts)
    assert (units[0]["saturation"] is None) == (run == "rnn")


def test_units_without_data_or_with_a_bad_top_is_one_line(capsys, cli_runs, monkeypatch, tmp_path):
    code, _, err = run_cli(capsys, cli_runs, "units", "--run", "lstm", "--top", "0")
    assert_one_line_error(code, err, "--top")
    other = write_tiny_folder(tmp_path / "other", per_category=5)
    (other / "Extra.txt").write_text("Zed\n", encoding="utf-8")
    code, _, err = run_cli(capsys, cli_runs, "units", "--run", "lstm", "--data", str(other))
    assert_one_line_error(code, err, "other categories")


def test_gates_with_an_intervention_adds_the_intervened_top_beside_the_usual_output(capsys, cli_runs):
    code, out, _ = run_cli(capsys, cli_runs, "gates", "--run", "lstm", "--json", "Borov", "--clamp", "f=0",
                           "--at", "3", "--unit", "1")
    assert code == 0
    result = json.loads(out)
    assert result["characters"] == list("Borov") and "top" in result  # the usual output
    top = result["intervened"]["top"]
    assert [set(entry) for entry in top] == [{"category", "probability"}] * 3
    loaded = load_run(cli_runs["runs"] / "lstm")
    expected = inside.read_name(loaded.model, loaded.categories, "Borov", {"f": 0.0}, at=3, unit=1).top()
    assert [(e["category"], pytest.approx(e["probability"], abs=1e-6)) for e in top] == expected
    code, out, _ = run_cli(capsys, cli_runs, "gates", "--run", "lstm", "--json", "Borov", "--reset-at", "2")
    reset = json.loads(out)["intervened"]["top"]
    alone = predict(loaded.model, loaded.categories, ["rov"], top_k=3)[0].top
    assert [e["category"] for e in reset] == [c for c, _ in alone]
    code, out, _ = run_cli(capsys, cli_runs, "gates", "--run", "lstm", "Borov", "--clamp", "i=0", "--from", "1")
    assert code == 0 and out.startswith("what if: input gate i = 0 for all units from the 2nd letter ('o') on")


@pytest.mark.parametrize("argv, fragment", [
    (["--clamp", "f=1.5"], "[0, 1]"),
    (["--clamp", "g=0.5"], "GATE"),
    (["--clamp", "f"], "GATE=VALUE"),
    (["--clamp", "f=0", "--at", "5"], "out of range"),
    (["--clamp", "f=0", "--from", "-1"], "out of range"),
    (["--clamp", "f=0", "--unit", str(CLI_HIDDEN)], f"{CLI_HIDDEN} units"),
    (["--reset-at", "7"], "out of range"),
    (["--clamp", "f=0", "--at", "1", "--from", "2"], "not allowed"),
    (["--at", "1"], "--clamp"),
    (["--unit", "1"], "which gate"),
])
def test_gates_bad_interventions_are_one_line_with_exit_2(capsys, cli_runs, argv, fragment):
    code, out, err = run_cli(capsys, cli_runs, "gates", "--run", "lstm", "Borov", *argv)
    assert out == ""
    assert_one_line_error(code, err, fragment)


def test_gate_options_on_an_rnn_run_are_one_line_with_exit_2(capsys, cli_runs):
    code, _, err = run_cli(capsys, cli_runs, "gates", "--run", "rnn", "Borov", "--reset-at", "1")
    assert_one_line_error(code, err, "rnn")
