"""The long-range memory probe: its data, its sweep over seeds, stopping and pausing it, and running it in the
background as a JobManager job; its trainings are the Trainer's."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnviz.config import TrainConfig
from rnnviz.jobs import JobManager
from rnnviz.models import LSTM, RNN, MyLSTM
from rnnviz.probe import (
    CLASS_LETTERS,
    ProbeConfig,
    add_forget_bias,
    latest_probe,
    make_probe_data,
    probe_strings,
    probe_trainer,
    results_frame,
    run_probe,
    start_probe,
    summarize,
)
from rnnviz.runs import TEACHER
from rnnviz.train import Control

TINY = {"lengths": (5, 6), "steps": 4, "batch_size": 8, "hidden_size": 4, "test_size": 16, "seeds": 1}


@pytest.fixture
def manager(tmp_path):
    jobs = JobManager(tmp_path / "runs", max_concurrent=2)
    yield jobs
    jobs.shutdown(timeout=30)


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


@pytest.mark.slow
def test_lstm_remembers_the_first_of_30_letters_on_every_seed_and_the_rnn_not_reliably():
    result = run_probe(ProbeConfig(lengths=(30,), seed=0, seeds=3))
    assert result.status == "finished" and sorted(set(result.results["seed"])) == [0, 1, 2]
    table = summarize(result.results).set_index("model")
    assert table.loc["nn.LSTM", "low"] > 0.9
    # The tutorial RNN's recurrence is linear: on a lucky seed it carries the letter a long way (measured: 0.89,
    # 0.25 and 0.73 on seeds 0-2), so only its mean and its worst seed are held to a bound.
    assert table.loc["RNN", "low"] < 0.4
    assert table.loc["nn.LSTM", "mean"] - table.loc["RNN", "mean"] > 0.25


def test_a_probe_training_is_the_trainers_step_on_fresh_strings():
    """The probe's first update equals one hand-written Adam step on the first batch the Trainer draws."""
    config = ProbeConfig(**{**TINY, "steps": 1, "forget_bias": 0.0})
    trainer = probe_trainer(config, "lstm", 5, 7, Control())
    twin = probe_trainer(config, "lstm", 5, 7, Control()).model
    parts = trainer.training_parts()
    assert len(parts.train) == config.steps * config.batch_size and parts.steps_per_epoch == 1
    assert trainer.config.lr_schedule == "constant" and len(trainer.split.val) == config.test_size
    assert not set(parts.train.names) & {name for name, _ in trainer.split.val}
    result = trainer.run()
    chars, lengths, labels = parts.train.chars, parts.train.lengths, parts.train.labels  # the one batch
    optimizer = torch.optim.Adam(twin.parameters(), lr=config.learning_rate)
    F.nll_loss(twin(chars, lengths), labels).backward()
    torch.nn.utils.clip_grad_norm_(twin.parameters(), config.clip_grad)
    optimizer.step()
    for mine, theirs in zip(result.model.parameters(), twin.parameters()):
        torch.testing.assert_close(mine, theirs)


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


def test_seeds_repeat_every_training_and_the_summary_gives_mean_and_spread():
    result = run_probe(ProbeConfig(**{**TINY, "lengths": (5,), "seeds": 3, "seed": 4}))
    assert result.results[["model", "seed"]].values.tolist() == [["RNN", 4], ["nn.LSTM", 4], ["RNN", 5],
                                                                 ["nn.LSTM", 5], ["RNN", 6], ["nn.LSTM", 6]]
    table = summarize(result.results).set_index("model")
    rnn = result.results[result.results["model"] == "RNN"]["accuracy"]
    assert table.loc["RNN", "mean"] == pytest.approx(rnn.mean())
    assert table.loc["RNN", "spread"] == pytest.approx(rnn.std(ddof=1))
    assert table.loc["RNN", "seeds"] == 3 and table.loc["RNN", "chance"] == 0.25


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


def test_a_sweep_runs_as_a_job_manager_job_and_keeps_the_results(manager):
    job_id = start_probe(manager, ProbeConfig(**TINY), owner=TEACHER)
    done = manager.wait(job_id, timeout=60)
    assert done.kind == "probe" and done.status == "finished" and not done.active
    assert done.progress == 1.0
    assert results_frame(done.rows)[["model", "length"]].values.tolist() == [["RNN", 5], ["nn.LSTM", 5],
                                                                            ["RNN", 6], ["nn.LSTM", 6]]
    assert latest_probe(manager).run_id == job_id
    assert manager.jobs() == [] and manager.active_ids() == set()  # not a training: no run folder, no run id


def test_a_second_sweep_is_refused_and_the_first_pauses_resumes_and_stops(manager):
    config = ProbeConfig(**{**TINY, "steps": 5000})
    job_id = start_probe(manager, config, owner=TEACHER)
    with pytest.raises(ValueError, match="already running"):
        start_probe(manager, ProbeConfig(**TINY), owner=TEACHER)
    manager.pause(job_id, by=TEACHER)
    assert manager.get(job_id).status == "paused"
    manager.resume(job_id, by=TEACHER)
    assert manager.get(job_id).status == "running"
    manager.stop(job_id, by=TEACHER)
    stopped = manager.wait(job_id, timeout=60)
    assert stopped.status == "stopped"
    assert stopped.step < config.total_steps


def test_a_sweep_takes_a_slot_of_the_job_limit_and_a_training_waits_for_it(tmp_path, tiny_dataset):
    jobs = JobManager(tmp_path / "runs", max_concurrent=1)
    try:
        probe_id = start_probe(jobs, ProbeConfig(**{**TINY, "steps": 5000}), owner=TEACHER)
        run_id = jobs.start(TrainConfig(hidden_size=8, epochs=1), tiny_dataset, owner=TEACHER)
        assert jobs.get(run_id).status == "queued" and jobs.get(run_id).position == 1
        with pytest.raises(ValueError, match="already running"):  # and a second sweep is refused while one runs
            start_probe(jobs, ProbeConfig(**TINY), owner=TEACHER)
        jobs.stop(probe_id, by=TEACHER)
        assert jobs.wait(run_id, timeout=60).status == "finished"  # the training started once the sweep ended
    finally:
        jobs.shutdown(timeout=30)


def test_a_failed_sweep_is_one_line(monkeypatch, thread_manager):
    manager = thread_manager  # the sweep is broken by a patch in this process
    import rnnviz.probe as probe

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory\nsecond line")

    monkeypatch.setattr(probe, "run_probe", broken)
    failed = manager.wait(start_probe(manager, ProbeConfig(**TINY), owner=TEACHER), timeout=10)
    assert failed.status == "failed"
    assert failed.message == "RuntimeError: out of memory"
