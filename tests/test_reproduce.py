"""The reproduced report: its settings, finding its runs on disk, the comparison table and its reading."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.reproduce import (
    REPORT_RUNS,
    REPORT_SEEDS,
    TABLE_COLUMNS,
    DataFacts,
    comparison_table,
    data_facts,
    find_report_runs,
    matches,
    naive_split_overlap,
    reading,
    report_config,
    report_key,
)
from rnnviz.runs import RunWriter, train_run, write_json


def test_report_runs_share_every_setting_but_the_model_and_its_size():
    defaults = TrainConfig().to_dict()
    for model, config in REPORT_RUNS.items():
        values = config.to_dict()
        assert values.pop("model") == model
        assert values.pop("hidden_size") == {"rnn": 128, "lstm": 64, "mylstm": 64, "ngram": 0}[model]
        assert values == {k: v for k, v in defaults.items() if k not in ("model", "hidden_size")}


def test_matches_counts_the_default_hidden_size_and_ignores_where_it_ran():
    wanted = REPORT_RUNS["rnn"]
    assert matches(TrainConfig(model="rnn").to_dict(), wanted)  # hidden 0 is the RNN's 128
    assert matches(TrainConfig(model="rnn", hidden_size=128, device="cpu", eval_every=7).to_dict(), wanted)
    assert not matches(TrainConfig(model="rnn", seed=1).to_dict(), wanted)
    assert not matches(TrainConfig(model="rnn", hidden_size=64).to_dict(), wanted)
    assert not matches({"model": "rnn", "colour": "red"}, wanted)


def test_with_no_runs_every_report_run_is_missing_once_per_seed(isolated_runs: Path):
    found = find_report_runs(isolated_runs)
    assert len(REPORT_SEEDS) >= 3
    assert found.missing == [(m, seed) for m in ("rnn", "lstm", "mylstm", "ngram") for seed in REPORT_SEEDS]
    assert not found.found and found.missing
    assert [c.to_dict() for c in found.configs_to_start()] == [
        replace(REPORT_RUNS[m], seed=seed).to_dict() for m, seed in found.missing]


def fake_finished_run(root: Path, config: TrainConfig, categories: list[str], summary: dict) -> Path:
    """A run folder with a summary, as a finished training leaves it (model file included)."""
    writer = RunWriter(root, config, root, categories)
    (writer.path / "model.pt").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: a plausible checkpoint
    write_json(writer.path / "summary.json", {"status": "finished", **summary})
    return writer.path


def test_finds_the_report_runs_reuses_finished_ones_and_names_the_missing(tiny_dataset, isolated_runs: Path):
    train_run(REPORT_RUNS["rnn"], tiny_dataset, isolated_runs)
    train_run(replace(REPORT_RUNS["lstm"], seed=1, epochs=1), tiny_dataset, isolated_runs)  # other settings
    lstm_writer, _ = train_run(TrainConfig(model="lstm", device="cpu"), tiny_dataset, isolated_runs)
    seed_one, _ = train_run(report_config("lstm", 1), tiny_dataset, isolated_runs)
    found = find_report_runs(isolated_runs, tiny_dataset.categories, seeds=(0, 1))
    assert set(found.found) == {("rnn", 0), ("lstm", 0), ("lstm", 1)}
    assert found.found[("lstm", 0)].run_id == lstm_writer.run_id  # not the other seed-1 run
    assert found.found[("lstm", 1)].run_id == seed_one.run_id and found.first("lstm").run_id == lstm_writer.run_id
    assert list(found.of("lstm")) == [0, 1]
    assert found.missing == [("rnn", 1), ("mylstm", 0), ("mylstm", 1), ("ngram", 0), ("ngram", 1)]
    assert [(c.model, c.seed) for c in found.configs_to_start()] == found.missing
    # Runs on other categories are somebody else's data.
    assert len(find_report_runs(isolated_runs, ["X", "Y", "Z"], seeds=(0, 1)).missing) == 8


def test_a_report_run_in_training_is_neither_found_nor_missing(tiny_folder, isolated_runs: Path):
    writer = RunWriter(isolated_runs, REPORT_RUNS["mylstm"], tiny_folder, ["Ashi", "Borov", "Tunson"])
    found = find_report_runs(isolated_runs, active={writer.run_id})
    assert set(found.running) == {("mylstm", 0)} and ("mylstm", 0) not in found.missing
    assert ("mylstm", 0) in find_report_runs(isolated_runs).missing  # no summary, nobody training it: interrupted


def test_comparison_table_gives_the_mean_and_spread_over_seeds_next_to_the_reports(isolated_runs: Path):
    categories = ["A", "B"]
    for seed, (test, seconds) in enumerate([(0.75, 12.5), (0.77, 11.5), (0.79, 12.0)]):
        fake_finished_run(isolated_runs, report_config("rnn", seed), categories, {
            "val_accuracy": 0.7, "val_balanced_accuracy": 0.5, "test_accuracy": test,
            "test_balanced_accuracy": 0.4, "train_seconds": seconds})
    fake_finished_run(isolated_runs, report_config("ngram", 0), categories, {"test_accuracy": 0.83})
    found = find_report_runs(isolated_runs, categories)
    table = comparison_table(found.found)
    assert table.columns.tolist() == TABLE_COLUMNS
    assert table["model"].tolist() == ["RNN", "nn.LSTM", "MyLSTM", "n-gram baseline"]
    rnn = table.iloc[0]
    assert rnn["seeds"] == 3 and rnn["test_accuracy"] == pytest.approx(0.77)
    assert rnn["test_accuracy_sd"] == pytest.approx(np.std([0.75, 0.77, 0.79], ddof=1))
    assert rnn["train_seconds"] == pytest.approx(12.0) and rnn["test_balanced_accuracy"] == pytest.approx(0.4)
    assert rnn["report_test_accuracy"] == 0.42 and table.iloc[1]["report_test_accuracy"] == 0.81
    assert table.iloc[2]["report_says"] == "close to nn.LSTM"
    assert np.isnan(table.iloc[1]["test_accuracy"]) and table.iloc[1]["seeds"] == 0
    ngram = table.iloc[3]
    assert ngram["test_accuracy"] == 0.83 and np.isnan(ngram["test_accuracy_sd"])  # one seed: no spread
    assert "test_accuracy" in table.to_csv(index=False).splitlines()[0]


def table_of(rnn: float, lstm: float, mylstm: float, balanced: float = 0.4, ngram: float = np.nan,
             seeds: int = 1, sd: float = np.nan) -> pd.DataFrame:
    rows = [(label, acc, balanced, seeds, sd) for label, acc in (("RNN", rnn), ("nn.LSTM", lstm), ("MyLSTM", mylstm),
                                                                 ("n-gram baseline", ngram))]
    return pd.DataFrame(rows, columns=["model", "test_accuracy", "test_balanced_accuracy", "seeds",
                                       "test_accuracy_sd"])


FACTS = DataFacts(lines=20, distinct_pairs=15, multi_category_names=2, largest_category="Russian",
                  largest_share=0.52, median_length=7.0, naive_overlap=0.15)


def test_reading_states_our_figures_against_the_reports():
    text = " ".join(reading(table_of(0.763, 0.813, 0.808), FACTS))
    assert "76.3%" in text and "above the report's 42%" in text
    assert "81.3% (one seed), close to the report's 81%" in text
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
    assert lines[0].startswith("No finished run yet for nn.LSTM, MyLSTM, n-gram baseline")
    assert not any("leads the RNN" in line for line in lines)
    assert "one run with one seed" in lines[-1]


def test_reading_gives_the_seeds_and_spread_and_puts_the_baseline_beside_the_recurrent_models():
    text = " ".join(reading(table_of(0.76, 0.80, 0.79, ngram=0.835, seeds=3, sd=0.004)))
    assert "80.0% (mean of 3 seeds, ± 0.4 points)" in text
    assert "n-gram baseline, with no recurrence at all" in text and "83.5%" in text
    assert "3.5 points above the best recurrent model (nn.LSTM)" in text
    assert "mean over seeds" in text and "one seed" not in text


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


def test_the_demos_runs_are_the_reports_runs_of_their_seed_so_the_report_reuses_them():
    from rnnviz.reproduce import REPORT_SEEDS, matches, report_config
    from ui.train_setup import demo_configs

    for seed in REPORT_SEEDS:
        for config in demo_configs(seed):
            assert matches(config, report_config(config.model, seed)), config
            assert not matches(config, report_config(config.model, seed + len(REPORT_SEEDS)))


def test_report_key_names_the_report_run_a_config_trains_and_nothing_else():
    for model in REPORT_RUNS:
        for seed in REPORT_SEEDS:
            assert report_key(report_config(model, seed)) == (model, seed)
            assert report_key(report_config(model, seed).to_dict()) == (model, seed)
    assert report_key(replace(report_config("lstm", 0), epochs=report_config("lstm", 0).epochs + 1)) is None
    assert report_key(report_config("rnn", max(REPORT_SEEDS) + 1)) is None
