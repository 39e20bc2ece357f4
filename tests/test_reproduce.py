"""The reproduced report: its settings, finding its runs on disk, the comparison table and its reading."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnviz.data import load_folder
from rnnviz.reproduce import (
    REPORT_RUNS,
    TABLE_COLUMNS,
    DataFacts,
    comparison_table,
    data_facts,
    find_report_runs,
    matches,
    naive_split_overlap,
    reading,
)
from rnnviz.runs import RunWriter, train_run, write_json
from rnnviz.train import TrainConfig


def test_report_runs_share_every_setting_but_the_model_and_its_size():
    defaults = TrainConfig().to_dict()
    for model, config in REPORT_RUNS.items():
        values = config.to_dict()
        assert values.pop("model") == model
        assert values.pop("hidden_size") == {"rnn": 128, "lstm": 64, "mylstm": 64}[model]
        assert values == {k: v for k, v in defaults.items() if k not in ("model", "hidden_size")}


def test_matches_counts_the_default_hidden_size_and_ignores_where_it_ran():
    wanted = REPORT_RUNS["rnn"]
    assert matches(TrainConfig(model="rnn").to_dict(), wanted)  # hidden 0 is the RNN's 128
    assert matches(TrainConfig(model="rnn", hidden_size=128, device="cpu", eval_every=7).to_dict(), wanted)
    assert not matches(TrainConfig(model="rnn", seed=1).to_dict(), wanted)
    assert not matches(TrainConfig(model="rnn", hidden_size=64).to_dict(), wanted)
    assert not matches({"model": "rnn", "colour": "red"}, wanted)


def test_with_no_runs_every_report_run_is_missing(isolated_runs: Path):
    found = find_report_runs(isolated_runs)
    assert found.missing == ["rnn", "lstm", "mylstm"] and not found.found and not found.complete
    assert [c.to_dict() for c in found.configs_to_start()] == [c.to_dict() for c in REPORT_RUNS.values()]


def fake_finished_run(root: Path, config: TrainConfig, categories: list[str], summary: dict) -> Path:
    """A run folder with a summary, as a finished training leaves it (model file included)."""
    writer = RunWriter(root, config, root, categories)
    (writer.path / "model.pt").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: a plausible checkpoint
    write_json(writer.path / "summary.json", {"status": "finished", **summary})
    return writer.path


def test_finds_the_report_runs_reuses_finished_ones_and_names_the_missing(tiny_dataset, isolated_runs: Path):
    train_run(REPORT_RUNS["rnn"], tiny_dataset, isolated_runs)
    train_run(replace(REPORT_RUNS["lstm"], seed=1, epochs=1), tiny_dataset, isolated_runs)
    lstm_writer, _ = train_run(TrainConfig(model="lstm", device="cpu"), tiny_dataset, isolated_runs)
    found = find_report_runs(isolated_runs, tiny_dataset.categories)
    assert set(found.found) == {"rnn", "lstm"}
    assert found.found["lstm"].run_id == lstm_writer.run_id  # not the seed-1 run
    assert found.missing == ["mylstm"]
    assert [c.model for c in found.configs_to_start()] == ["mylstm"]
    # Runs on other categories are somebody else's data.
    assert find_report_runs(isolated_runs, ["X", "Y", "Z"]).missing == ["rnn", "lstm", "mylstm"]


def test_a_report_run_in_training_is_neither_found_nor_missing(tiny_folder, isolated_runs: Path):
    writer = RunWriter(isolated_runs, REPORT_RUNS["mylstm"], tiny_folder, ["Ashi", "Borov", "Tunson"])
    found = find_report_runs(isolated_runs, active={writer.run_id})
    assert set(found.running) == {"mylstm"} and "mylstm" not in found.missing
    assert "mylstm" in find_report_runs(isolated_runs).missing  # no summary and nobody training it: interrupted


def test_comparison_table_puts_our_numbers_next_to_the_reports(isolated_runs: Path):
    categories = ["A", "B"]
    fake_finished_run(isolated_runs, REPORT_RUNS["rnn"], categories, {
        "val_accuracy": 0.7, "val_balanced_accuracy": 0.5, "test_accuracy": 0.75,
        "test_balanced_accuracy": 0.4, "train_seconds": 12.5})
    found = find_report_runs(isolated_runs, categories)
    table = comparison_table(found.found)
    assert table.columns.tolist() == TABLE_COLUMNS
    assert table["model"].tolist() == ["RNN", "nn.LSTM", "MyLSTM"]
    rnn = table.iloc[0]
    assert (rnn["test_accuracy"], rnn["test_balanced_accuracy"], rnn["train_seconds"]) == (0.75, 0.4, 12.5)
    assert rnn["report_test_accuracy"] == 0.42 and table.iloc[1]["report_test_accuracy"] == 0.81
    assert table.iloc[2]["report_says"] == "close to nn.LSTM"
    assert np.isnan(table.iloc[1]["test_accuracy"]) and pd.isna(table.iloc[1]["run_id"])
    assert "test_accuracy" in table.to_csv(index=False).splitlines()[0]


def table_of(rnn: float, lstm: float, mylstm: float, balanced: float = 0.4) -> pd.DataFrame:
    rows = [(label, acc, balanced) for label, acc in (("RNN", rnn), ("nn.LSTM", lstm), ("MyLSTM", mylstm))]
    frame = pd.DataFrame(rows, columns=["model", "test_accuracy", "test_balanced_accuracy"])
    return frame


FACTS = DataFacts(lines=20, distinct_pairs=15, multi_category_names=2, largest_category="Russian",
                  largest_share=0.52, median_length=7.0, naive_overlap=0.15)


def test_reading_states_our_figures_against_the_reports():
    text = " ".join(reading(table_of(0.763, 0.813, 0.808), FACTS))
    assert "76.3%" in text and "above the report's 42%" in text
    assert "81.3%, close to the report's 81%" in text
    assert "leads the RNN by 5.0 points" in text and "median 7 letters" in text
    assert "-0.5 points from nn.LSTM: close, as the report says" in text
    assert "15% of test names in training" in text and "20 lines but 15 distinct" in text
    assert "Russian alone is 52%" in text


def test_reading_follows_the_numbers_when_they_disagree_with_the_report():
    text = " ".join(reading(table_of(0.41, 0.95, 0.85)))
    assert "close to the report's 42%" in text
    assert "above the report's 81%" in text
    assert "leads the RNN by 54.0 points" in text and "closes most of the gap" not in text
    assert "not as close as the report says" in text


def test_reading_says_which_runs_are_missing():
    lines = reading(table_of(0.7, np.nan, np.nan))
    assert lines[0].startswith("No finished run yet for nn.LSTM, MyLSTM")
    assert not any("leads the RNN" in line for line in lines)


def write_lines(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir()
    for category, lines in files.items():
        (folder / f"{category}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_naive_split_overlap_is_all_for_repeated_lines_and_none_for_distinct_ones(tmp_path: Path):
    repeated = write_lines(tmp_path / "repeated", {"A": ["Smith"] * 30, "B": ["Smith"] * 10})
    distinct = write_lines(tmp_path / "distinct", {"A": [f"Name{chr(97 + i)}" for i in range(20)],
                                                   "B": [f"Other{chr(97 + i)}" for i in range(20)]})
    assert naive_split_overlap(repeated) == 1.0
    assert naive_split_overlap(distinct) == 0.0


def test_data_facts_count_repeated_lines_and_names_in_two_languages(tmp_path: Path):
    folder = write_lines(tmp_path / "names", {"A": ["Abel", "Abel", "Mora", "Cruz"], "B": ["Mora", "Baker"]})
    facts = data_facts(load_folder(folder))
    assert (facts.lines, facts.distinct_pairs, facts.multi_category_names) == (6, 5, 1)
    assert (facts.largest_category, facts.largest_share, facts.median_length) == ("A", pytest.approx(0.6), 4)


def test_real_data_repeats_names_so_a_naive_split_would_leak(real_dataset):
    facts = data_facts(real_dataset)
    assert facts.lines > facts.distinct_pairs
    assert facts.multi_category_names > 0
    assert 0 < facts.naive_overlap < 1
