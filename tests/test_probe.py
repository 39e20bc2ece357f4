"""The long-range memory probe: its data, its sweep, stopping and pausing it, and running it in the background."""

from __future__ import annotations

import pytest
import torch

from rnnviz.models import LSTM, RNN, MyLSTM
from rnnviz.probe import (
    CLASS_LETTERS,
    ProbeConfig,
    ProbeRunner,
    add_forget_bias,
    make_probe_data,
    probe_strings,
    run_probe,
)
from rnnviz.train import Control

TINY = {"lengths": (5, 6), "steps": 4, "batch_size": 8, "hidden_size": 4, "test_size": 16}


def test_probe_strings_have_length_l_and_their_first_letter_fixes_the_class():
    chars, lengths, labels = make_probe_data(12, 400, n_classes=4, seed=3)
    strings = probe_strings(chars)
    assert chars.shape == (400, 12) and (lengths == 12).all()
    assert all(s[0] == CLASS_LETTERS[label] for s, label in zip(strings, labels.tolist()))
    assert set(labels.tolist()) == {0, 1, 2, 3}
    # Class letters also appear later on, so only the first position tells the class.
    assert any(ch in CLASS_LETTERS[:4] for s in strings for ch in s[1:])
    assert all(ch in "abcdefghijklmnopqrstuvwxyz" for s in strings for ch in s)


def test_probe_data_is_fixed_by_its_seed():
    first = make_probe_data(8, 50, seed=1)
    again = make_probe_data(8, 50, seed=1)
    other = make_probe_data(8, 50, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("values, message", [
    ({"lengths": (4,)}, "from 5 to 50"),
    ({"lengths": (51,)}, "from 5 to 50"),
    ({"lengths": ()}, "at least one string length"),
    ({"models": ("gru",)}, "unknown model 'gru'"),
    ({"steps": 0}, r"steps must be in \[1, 20000\]"),
    ({"n_classes": 9}, r"n_classes must be in \[2, 8\]"),
])
def test_probe_config_rejects_out_of_range_values_with_the_valid_range(values, message):
    with pytest.raises(ValueError, match=message):
        ProbeConfig(**values)


def test_forget_bias_opens_the_lstm_forget_gates_and_leaves_the_rnn_alone():
    torch.manual_seed(0)
    lstm, mine, rnn = LSTM(hidden_size=6), MyLSTM(hidden_size=6), RNN(hidden_size=6)
    before_lstm = MyLSTM.from_lstm(lstm).b_f.clone()
    before_mine = mine.b_f.clone()
    before_input = MyLSTM.from_lstm(lstm).b_i.clone()
    before_rnn = [p.clone() for p in rnn.parameters()]
    for model in (lstm, mine, rnn):
        add_forget_bias(model, 3.0)
    torch.testing.assert_close(MyLSTM.from_lstm(lstm).b_f, before_lstm + 3.0)
    torch.testing.assert_close(mine.b_f, before_mine + 3.0)
    torch.testing.assert_close(MyLSTM.from_lstm(lstm).b_i, before_input)  # only the forget gate moves
    assert all(torch.equal(a, b) for a, b in zip(before_rnn, rnn.parameters()))


def test_lstm_remembers_the_first_of_30_letters_and_the_rnn_does_not():
    result = run_probe(ProbeConfig(lengths=(30,), seed=0))
    accuracy = dict(zip(result.results["model"], result.results["accuracy"]))
    assert result.status == "finished"
    assert accuracy["nn.LSTM"] > 0.9
    assert accuracy["RNN"] < 0.5
    assert accuracy["nn.LSTM"] - accuracy["RNN"] > 0.4


def test_run_probe_reports_progress_and_one_result_per_model_and_length():
    events = []
    result = run_probe(ProbeConfig(**TINY), callback=events.append)
    progress = [e for e in events if e["event"] == "progress"]
    results = [e for e in events if e["event"] == "result"]
    assert [e["done"] for e in progress] == sorted(e["done"] for e in progress)
    assert progress[-1]["done"] == progress[-1]["total"] == 4 * 2 * 2
    assert [(e["model"], e["length"]) for e in results] == [("RNN", 5), ("nn.LSTM", 5), ("RNN", 6), ("nn.LSTM", 6)]
    assert result.results[["model", "length"]].values.tolist() == [[e["model"], e["length"]] for e in results]
    assert result.results["accuracy"].between(0, 1).all()
    assert (result.results["chance"] == 0.25).all()


def test_stop_ends_the_sweep_within_one_step_and_keeps_what_finished():
    control = Control()
    seen = []

    def stop_after_first_result(event):
        seen.append(event)
        if event["event"] == "result":
            control.stop()

    result = run_probe(ProbeConfig(**TINY), control, stop_after_first_result)
    assert result.status == "stopped"
    assert len(result.results) == 1
    assert seen[-1]["event"] == "result"  # nothing more was trained after the stop


def test_runner_trains_in_the_background_and_keeps_the_results():
    runner = ProbeRunner()
    assert runner.snapshot().status == "idle"
    runner.start(ProbeConfig(**TINY))
    done = runner.wait(timeout=60)
    assert done.status == "finished" and not done.active
    assert done.progress == 1.0
    assert done.results[["model", "length"]].values.tolist() == [["RNN", 5], ["nn.LSTM", 5], ["RNN", 6],
                                                                 ["nn.LSTM", 6]]


def test_runner_refuses_a_second_sweep_and_pauses_resumes_and_stops_the_first():
    runner = ProbeRunner()
    config = ProbeConfig(**{**TINY, "steps": 5000})
    runner.start(config)
    with pytest.raises(ValueError, match="already running"):
        runner.start(ProbeConfig(**TINY))
    runner.pause()
    assert runner.snapshot().status == "paused"
    runner.resume()
    assert runner.snapshot().status == "running"
    runner.stop()
    stopped = runner.wait(timeout=60)
    assert stopped.status == "stopped"
    assert stopped.done < config.total_steps


def test_runner_shows_a_failed_sweep_as_one_line(monkeypatch):
    import rnnviz.probe as probe

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory\nsecond line")

    monkeypatch.setattr(probe, "run_probe", broken)
    runner = ProbeRunner()
    runner.start(ProbeConfig(**TINY))
    failed = runner.wait(timeout=10)
    assert failed.status == "failed"
    assert failed.message == "RuntimeError: out of memory"
