"""Tests for rnnviz.train: config validation, events, stop/pause within one batch, divergence, reproducibility."""

from __future__ import annotations

import math
import threading
from dataclasses import fields

import pytest
import torch

from rnnviz.config import TrainConfig
from rnnviz.data import DataError, EncodedSplit, Split, split_dataset
from rnnviz.evaluate import evaluate_encoded
from rnnviz.registry import RECURRENT_MODELS
from rnnviz.train import (
    EARLY_POINT_NAMES,
    EVENTS,
    VAL_SAMPLE,
    Control,
    Trainer,
    class_weights,
    curve_points,
    early_point,
)

# Small and quick: every unit test trains on the 90-name tiny folder.
QUICK = {"hidden_size": 16, "batch_size": 8, "epochs": 2}
TIMING_COLUMNS = {"elapsed_s", "names_per_s", "eta_s", "val_s"}


def trainer(dataset, **overrides) -> Trainer:
    return Trainer(TrainConfig(**(QUICK | overrides)), dataset)


# --------------------------------------------------------------------------- configuration

# One out-of-range or wrong-typed value per field, with what the message must show.
BAD_VALUES = {
    "model": ("gru", "rnn, lstm, mylstm"),
    "hidden_size": (2000, "[0, 1024]"),
    "optimizer": ("rmsprop", "adam, sgd"),
    "learning_rate": (0.0, "[1e-06, 10.0]"),
    "batch_size": (0, "[1, 1024]"),
    "epochs": (0, "[1, 200]"),
    "clip_grad": (-1.0, "[0.0, 1000.0]"),
    "weight_decay": (2.0, "[0.0, 1.0]"),
    "lr_schedule": ("step", "constant, cosine"),
    "class_balanced": ("yes", "true or false"),
    "class_weight_power": (3.0, "[0.0, 2.0]"),
    "logit_adjustment": (-1.0, "[0.0, 2.0]"),
    "label_smoothing": (0.9, "[0.0, 0.5]"),
    "seed": (-1, "[0, 2147483647]"),
    "val_fraction": (0.0, "[0.01, 0.5]"),
    "test_fraction": (0.6, "[0.0, 0.5]"),
    "eval_every": (-5, "[0, 1000000]"),
    "device": ("tpu", "auto, cpu, cuda"),
}


def test_every_config_field_has_a_validation_case():
    assert set(BAD_VALUES) == {f.name for f in fields(TrainConfig)}


@pytest.mark.parametrize(("field_name", "bad", "shown"), [(k, v, s) for k, (v, s) in BAD_VALUES.items()])
def test_config_refuses_bad_values_naming_the_valid_range(field_name, bad, shown):
    with pytest.raises(ValueError) as excinfo:
        TrainConfig(**{field_name: bad})
    message = str(excinfo.value)
    assert field_name in message and shown in message and "\n" not in message


@pytest.mark.parametrize(("field_name", "bad"), [("epochs", 2.5), ("batch_size", "32"), ("learning_rate", float("nan")),
                                                 ("hidden_size", True)])
def test_config_refuses_wrong_types(field_name, bad):
    with pytest.raises(ValueError, match=field_name):
        TrainConfig(**{field_name: bad})


def test_config_refuses_fractions_that_leave_too_little_training():
    with pytest.raises(ValueError, match="below 0.9"):
        TrainConfig(val_fraction=0.5, test_fraction=0.45)


def test_config_round_trips_through_a_dict_and_refuses_unknown_keys():
    config = TrainConfig(model="rnn", epochs=3, learning_rate=0.005)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown setting.*colour"):
        TrainConfig.from_dict({"colour": "red"})


def test_default_hidden_size_follows_the_model():
    assert TrainConfig(model="rnn").resolved_hidden_size == 128
    assert TrainConfig(model="lstm").resolved_hidden_size == 64
    assert TrainConfig(model="lstm", hidden_size=5).resolved_hidden_size == 5


# --------------------------------------------------------------------------- training and events


@pytest.mark.parametrize("model", list(RECURRENT_MODELS))
def test_every_model_trains_and_learns_the_tiny_languages(tiny_dataset, model):
    t = trainer(tiny_dataset, model=model, epochs=4)
    events = {name: [] for name in EVENTS}
    for name in EVENTS:
        t.add_callback(name, events[name].append)
    result = t.run()
    assert result.status == "finished" and result.message == ""
    assert result.epochs_done == 4 and result.steps == events["on_start"][0]["total_steps"]
    assert [e["epoch"] for e in events["on_epoch_end"]] == [1, 2, 3, 4]
    assert events["on_end"] == [{"result": result}]
    rows = events["on_eval"]
    assert rows[-1]["step"] == result.steps and rows[-1]["epoch"] == 4
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert result.val["accuracy"] > 0.8 and result.test["accuracy"] > 0.8  # chance is 1/3
    assert set(result.val) == {"loss", "accuracy", "balanced_accuracy"}


def test_evaluation_happens_about_every_eval_every_steps_evenly_and_at_each_epoch_end(tiny_dataset):
    t = trainer(tiny_dataset, eval_every=4, epochs=2)
    steps = []
    t.add_callback("on_eval", lambda row: steps.append(row["step"]))
    t.run()
    per_epoch = len(t.split.train) // 8 + (len(t.split.train) % 8 > 0)  # 72 names -> 9 batches
    assert per_epoch == 9 and steps == [4, 9, 13, 18]  # 9 / 4 -> 2 points an epoch, at steps 4 and 9 of it


def test_unknown_event_is_refused(tiny_dataset):
    with pytest.raises(ValueError, match="on_batch_end"):
        trainer(tiny_dataset).add_callback("on_batch_end", print)


def test_an_empty_validation_part_is_refused_before_training(tiny_dataset):
    split = split_dataset(tiny_dataset)
    with pytest.raises(DataError, match="validation part of the split is empty"):
        Trainer(TrainConfig(**QUICK), tiny_dataset, split=Split(split.categories, split.train, [], split.test))


def test_batch_size_one_with_sgd_learns_like_the_tutorial(tiny_dataset):
    t = trainer(tiny_dataset, model="rnn", hidden_size=128, batch_size=1, optimizer="sgd",
                learning_rate=0.005, lr_schedule="constant", clip_grad=0, epochs=3)
    rows = []
    t.add_callback("on_eval", rows.append)
    result = t.run()
    assert result.status == "finished" and result.steps == 3 * len(t.split.train)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] - 0.1
    assert result.val["accuracy"] > 0.6


def test_class_weights_are_inverse_frequency():
    weights = class_weights([0, 0, 0, 1], 2)
    assert weights.tolist() == pytest.approx([4 / 6, 2.0])


# --------------------------------------------------------------------------- stop and pause


@pytest.mark.parametrize("stop_at", [1, 3, 9, 10])
def test_stop_ends_training_within_one_batch(tiny_dataset, stop_at):
    t = trainer(tiny_dataset, eval_every=1, epochs=3)

    def maybe_stop(row):
        if row["step"] == stop_at:
            t.control.stop()

    steps = []
    t.add_callback("on_eval", lambda row: steps.append(row["step"]))
    t.add_callback("on_eval", maybe_stop)
    result = t.run()
    assert result.status == "stopped"
    assert result.steps == stop_at and steps[-1] == stop_at
    assert str(stop_at) in result.message
    # A stopped model is still evaluated: the scores are those of its weights on the validation names.
    expected = evaluate_encoded(result.model, EncodedSplit(t.split.val), torch.device("cpu"))
    assert result.val["accuracy"] == pytest.approx(expected["accuracy"])
    assert result.val["loss"] == pytest.approx(expected["loss"])


def test_the_reported_rate_counts_every_trained_name(tiny_dataset):
    t = trainer(tiny_dataset, epochs=2)
    rows = []
    t.add_callback("on_eval", rows.append)
    t.run()
    last = rows[-1]
    # names/s times the seconds it covers is every training name of both epochs, none twice
    assert round(last["names_per_s"] * last["elapsed_s"]) == 2 * len(t.split.train)


def test_pause_holds_training_within_one_batch_and_resume_continues(tiny_dataset):
    control = Control()
    t = Trainer(TrainConfig(**QUICK, eval_every=1), tiny_dataset, control)
    steps: list[int] = []
    paused = threading.Event()

    def on_eval(row):
        steps.append(row["step"])
        if row["step"] == 2:
            control.pause()
            paused.set()

    t.add_callback("on_eval", on_eval)
    results = []
    worker = threading.Thread(target=lambda: results.append(t.run()))
    worker.start()
    assert paused.wait(30)
    worker.join(0.5)  # long enough for many batches had the pause not held
    assert worker.is_alive() and steps[-1] == 2 and control.paused
    control.resume()
    worker.join(30)
    assert not worker.is_alive()
    assert results[0].status == "finished" and results[0].steps == steps[-1] > 2


def test_stop_wakes_a_paused_training(tiny_dataset):
    control = Control()
    t = Trainer(TrainConfig(**QUICK, eval_every=1), tiny_dataset, control)
    t.add_callback("on_eval", lambda row: control.pause() if row["step"] == 1 else None)
    results = []
    worker = threading.Thread(target=lambda: results.append(t.run()))
    worker.start()
    worker.join(0.3)
    assert worker.is_alive()
    control.stop()
    worker.join(30)
    assert results[0].status == "stopped" and results[0].steps == 1


def test_a_stopped_control_cannot_be_paused():
    control = Control()
    control.stop()
    control.pause()
    assert control.stopped and not control.paused


# --------------------------------------------------------------------------- divergence


def test_non_finite_loss_marks_the_run_diverged_with_the_step(tiny_dataset):
    t = trainer(tiny_dataset, model="rnn", optimizer="sgd", learning_rate=10.0, clip_grad=0, eval_every=1,
                lr_schedule="constant", batch_size=8)
    rows = []
    t.add_callback("on_eval", rows.append)
    result = t.run()
    assert result.status == "diverged"
    assert f"at step {result.steps + 1}" in result.message and "learning rate" in result.message
    assert "clipping" in result.message
    assert rows and rows[-1]["step"] == result.steps  # the curve up to the divergence is kept
    assert result.val == {} and result.test == {}


def test_divergence_is_caught_even_with_clipping_on(tiny_dataset, monkeypatch):
    t = trainer(tiny_dataset, eval_every=1)
    calls = []
    real_forward = type(t.model).forward

    def exploding(self, chars, lengths):
        if self.training:  # count training batches, not validation passes
            calls.append(1)
        out = real_forward(self, chars, lengths)
        return out * float("inf") if len(calls) == 4 else out

    monkeypatch.setattr(type(t.model), "forward", exploding)
    result = t.run()
    assert result.status == "diverged" and result.steps == 3
    assert "step 4" in result.message and "clipping" not in result.message


# --------------------------------------------------------------------------- reproducibility


def metric_rows(dataset, **overrides) -> list[dict]:
    t = trainer(dataset, **overrides)
    rows = []
    t.add_callback("on_eval", lambda row: rows.append({k: v for k, v in row.items() if k not in TIMING_COLUMNS}))
    t.run()
    return rows


@pytest.mark.parametrize("model", ["lstm", "mylstm"])
def test_same_seed_gives_exactly_the_same_metrics(tiny_dataset, model):
    first = metric_rows(tiny_dataset, model=model, seed=7, eval_every=3)
    assert first == metric_rows(tiny_dataset, model=model, seed=7, eval_every=3)
    assert first != metric_rows(tiny_dataset, model=model, seed=8, eval_every=3)


def test_building_a_trainer_leaves_the_global_random_state_alone(tiny_dataset):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    trainer(tiny_dataset)
    assert torch.equal(torch.rand(3), expected)


def test_models_built_in_parallel_threads_match_their_seed(tiny_dataset):
    reference = trainer(tiny_dataset, model="mylstm", seed=5).model.state_dict()
    built: list[dict] = []

    def build(seed):
        for _ in range(20):
            state = trainer(tiny_dataset, model="mylstm", seed=seed).model.state_dict()
            if seed == 5:
                built.append(state)

    workers = [threading.Thread(target=build, args=(seed,)) for seed in (5, 6, 7)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(built) == 20
    for state in built:
        assert all(torch.equal(state[k], reference[k]) for k in reference)


@pytest.mark.parametrize("steps, every", [(450, 0), (450, 56), (17, 8), (3, 0), (100, 7), (5, 1)])
def test_curve_points_spread_evenly_over_an_epoch_and_end_with_it(steps, every):
    points = sorted(curve_points(steps, every))
    windows = [b - a for a, b in zip([0, *points], points)]
    assert points[-1] == steps and max(windows) - min(windows) <= 1
    if every:
        assert min(windows) >= every / 4


def test_no_curve_point_averages_fewer_than_a_quarter_of_an_intervals_steps(tiny_dataset):
    """The loss spike at each epoch's end: a fixed interval left a window of one or two steps there."""
    probe = Trainer(TrainConfig(model="rnn", hidden_size=8, epochs=1, batch_size=4), tiny_dataset)
    steps_per_epoch = probe.training_parts().steps_per_epoch
    every = steps_per_epoch - 1  # the worst case for a fixed interval: a one-step window at the epoch's end
    assert every >= 2
    trainer = Trainer(TrainConfig(model="rnn", hidden_size=8, epochs=3, batch_size=4, eval_every=every),
                      tiny_dataset)
    steps = []
    trainer.add_callback("on_eval", lambda row: steps.append(row["step"]))
    trainer.run()
    windows = [b - a for a, b in zip([0, *steps], steps)]
    assert steps[-1] == 3 * steps_per_epoch and min(windows) >= every / 4


# --------------------------------------------------------------------------- the first curve point


def many_names_dataset(tmp_path, per_category: int = 3500):
    """The tiny languages with enough names (8,400 to train on) that an eighth of an epoch averages more than twice
    EARLY_POINT_NAMES names."""
    from rnnviz.data import load_folder
    from tests.conftest import write_tiny_folder

    return load_folder(write_tiny_folder(tmp_path / "many", per_category=per_category))


def test_the_first_curve_point_comes_after_a_few_hundred_names_not_an_eighth_of_an_epoch(tmp_path):
    """A click on Start shows curves at once: the first point averages EARLY_POINT_NAMES training names, and the
    regular points after it keep their even spacing (an eighth of an epoch each), in the first epoch only."""
    dataset = many_names_dataset(tmp_path)
    t = Trainer(TrainConfig(model="rnn", hidden_size=8, batch_size=128, epochs=2), dataset)
    steps_per_epoch = t.training_parts().steps_per_epoch
    rows = []
    t.add_callback("on_eval", rows.append)
    t.run()
    steps = [row["step"] for row in rows]
    regular = sorted(curve_points(steps_per_epoch))
    early = math.ceil(EARLY_POINT_NAMES / 128)
    assert steps_per_epoch >= 2 * 8 * early  # an eighth of an epoch is at least twice the early point's steps
    assert steps[0] == early <= regular[0] / 2
    assert steps == [early, *regular, *(steps_per_epoch + s for s in regular)]
    assert rows[0]["epoch"] == pytest.approx(early / steps_per_epoch)
    assert rows[0]["val_names"] == VAL_SAMPLE and rows[0]["train_loss"] > rows[-1]["train_loss"]


@pytest.mark.parametrize("steps_per_epoch, every, batch, expected", [
    (450, 0, 32, 16),     # the surnames at the defaults: 16 steps of 32 names, then every 56 steps
    (450, 0, 1, None),    # batch 1: 512 steps would be past the first regular point (56)
    (14_400, 0, 1, 512),  # the tutorial's batch 1 on the surnames: 512 names before its first of 1,800 steps
    (450, 30, 32, None),  # a regular point every 30 steps is less than twice 16 away: no early one
    (450, 40, 32, 16),
    (9, 0, 8, None),      # a tiny dataset: a point every step already
])
def test_an_early_point_only_where_the_first_regular_point_is_at_least_twice_as_far(steps_per_epoch, every, batch,
                                                                                     expected):
    points = curve_points(steps_per_epoch, every)
    early = early_point(points, batch)
    assert early == expected
    if early is not None:
        assert min(points) - early >= early  # the window after the early point is no shorter than its own
