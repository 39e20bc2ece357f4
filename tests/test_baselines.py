"""The comparison models beside the report's three: the n-gram baseline and the tanh RNN; the loss settings.

The n-gram baseline is fitted by scikit-learn and held as tensors: every check computes the same number
two ways, scikit-learn's and ours (in memory, and saved to disk and loaded back with weights_only=True).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight

from rnnviz import cli
from rnnviz.config import TrainConfig
from rnnviz.data import encode, split_dataset
from rnnviz.models import Elman
from rnnviz.ngram import NGram
from rnnviz.registry import MODEL_LABELS, SPECS, as_gate_model, build_model
from rnnviz.runs import list_snapshots, load_metrics, load_run, read_run, train_run
from rnnviz.train import Trainer, class_weights

NAMES = ["Nakamura", "O'Neil", "De la Cruz", "Li", "Ng", "Abe", "St. John", "Smith;Jones", "a"]


@pytest.fixture
def fitted(tiny_dataset):
    result = Trainer(TrainConfig(model="ngram"), tiny_dataset).run()
    return tiny_dataset, result


def test_ngram_log_probs_are_scikit_learns(fitted):
    dataset, result = fitted
    vectorizer, regression = result.model.fitted
    names = dataset.names
    chars, lengths = encode(names)
    ours = result.model(chars, lengths)
    theirs = torch.tensor(regression.predict_log_proba(vectorizer.transform(names)), dtype=torch.float32)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


def test_a_saved_ngram_run_reloads_with_weights_only_and_predicts_what_scikit_learn_does(tiny_dataset, tmp_path):
    writer, result = train_run(TrainConfig(model="ngram"), tiny_dataset, tmp_path / "runs", run_id="ng")
    vectorizer, regression = result.model.fitted
    loaded = load_run(writer.path)  # torch.load(..., weights_only=True) inside
    assert isinstance(loaded.model, NGram) and loaded.model.n_features == len(vectorizer.vocabulary_)
    saved = torch.load(writer.path / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in saved["state_dict"].values())
    names = ["Nakamura", "Tunson", "Borov", "Zzyzx"]  # an unseen name too
    chars, lengths = encode(names)
    theirs = regression.predict(vectorizer.transform(names))
    assert loaded.model(chars, lengths).argmax(1).tolist() == list(theirs)


def test_an_ngram_run_folder_is_like_any_other(tiny_dataset, tmp_path):
    writer, result = train_run(TrainConfig(model="ngram"), tiny_dataset, tmp_path / "runs", run_id="ng")
    info = read_run(writer.path)
    assert info.status == "finished" and not info.error and info.model == "ngram"
    metrics = load_metrics(writer.path)
    assert len(metrics) == 1 and metrics["val_acc"].iloc[0] == pytest.approx(result.val["accuracy"])
    summary = json.loads((writer.path / "summary.json").read_text())
    for key in ("val_accuracy", "val_balanced_accuracy", "test_accuracy", "test_balanced_accuracy", "train_seconds"):
        assert isinstance(summary[key], float)
    assert list_snapshots(writer.path) == []  # fitted in one go: no epochs to look at


def test_class_balanced_ngram_fits_with_scikit_learns_balanced_weights(tiny_dataset, monkeypatch):
    from sklearn import linear_model

    seen = []
    original = linear_model.LogisticRegression.fit

    def spy(self, X, y, sample_weight=None):
        seen.append(self.class_weight)
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(linear_model.LogisticRegression, "fit", spy)
    split = split_dataset(tiny_dataset)
    Trainer(TrainConfig(model="ngram", class_balanced=True, class_weight_power=1.0), tiny_dataset, split=split).run()
    Trainer(TrainConfig(model="ngram", class_balanced=False), tiny_dataset, split=split).run()
    labels = [label for _, label in split.train]
    balanced = compute_class_weight("balanced", classes=np.unique(labels), y=labels)
    assert seen[1] is None
    np.testing.assert_allclose([seen[0][k] for k in range(len(balanced))], balanced, rtol=1e-5)


def test_ngram_has_no_gates_and_says_why(fitted, capsys, tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="no state"):
        as_gate_model(fitted[1].model)
    writer, _ = train_run(TrainConfig(model="ngram"), tiny_dataset, tmp_path / "runs", run_id="ng")
    assert cli.main(["gates", "--run", str(writer.path), "Smith"]) == 2
    assert "no state" in capsys.readouterr().err


def test_predict_and_evaluate_work_on_an_ngram_run(capsys, tiny_folder, tiny_dataset, tmp_path):
    writer, result = train_run(TrainConfig(model="ngram"), tiny_dataset, tmp_path / "runs", run_id="ng")
    assert cli.main(["predict", "--run", str(writer.path), "Kashi", "--json"]) == 0
    top = json.loads(capsys.readouterr().out)[0]["top"]
    assert top[0]["category"] == "Ashi" and top[0]["probability"] <= 1
    assert cli.main(["evaluate", "--run", str(writer.path), "--data", str(tiny_folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == pytest.approx(result.test["accuracy"])


def test_the_cli_trains_the_ngram_baseline(capsys, tiny_folder, tmp_path):
    code = cli.main(["train", "--model", "ngram", "--data", str(tiny_folder), "--runs", str(tmp_path / "r"),
                     "--quiet"])
    assert code == 0 and "ngram: finished after 1 epochs" in capsys.readouterr().out


# --------------------------------------------------------------------------- the tanh RNN


def test_elman_is_nn_rnn_with_tanh_and_a_linear_read_out():
    model = build_model("elman", hidden_size=8, output_size=3)
    assert isinstance(model, Elman) and model.rnn.nonlinearity == "tanh" and MODEL_LABELS["elman"] == "tanh RNN"
    chars, lengths = encode(["Abe", "Nakamura"])
    x = F.one_hot(chars, model.input_size).float()
    rnn = model.rnn
    for row in range(2):  # h_t = tanh(x_t W_ih^T + b_ih + h W_hh^T + b_hh), by hand
        h = torch.zeros(8)
        for t in range(int(lengths[row])):
            h = torch.tanh(x[row, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
        expected = torch.log_softmax(model.out(h), dim=-1)
        torch.testing.assert_close(model(chars, lengths)[row], expected)


def test_elman_trains_on_tiny_data(tiny_dataset):
    result = Trainer(TrainConfig(model="elman", hidden_size=16, batch_size=8, epochs=6), tiny_dataset).run()
    assert result.status == "finished" and result.val["accuracy"] > 0.6


def test_every_model_is_offered():
    assert {"rnn", "lstm", "mylstm", "elman", "ngram"} <= set(SPECS)


# --------------------------------------------------------------------------- loss settings


def test_class_weight_power_one_is_scikit_learns_balanced_and_zero_is_none():
    labels = [0] * 50 + [1] * 30 + [2] * 5
    full = class_weights(labels, 3, 1.0)
    np.testing.assert_allclose(full.numpy(), compute_class_weight("balanced", classes=np.arange(3), y=labels),
                               rtol=1e-6)
    torch.testing.assert_close(class_weights(labels, 3, 0.0), torch.ones(3))
    half = class_weights(labels, 3, 0.5)
    counts = torch.tensor([50.0, 30.0, 5.0])
    assert (half * counts).sum().item() == pytest.approx(counts.sum().item())  # the average name weighs 1
    torch.testing.assert_close(half[2] / half[0], (counts[0] / counts[2]).sqrt())


def test_logit_adjustment_and_label_smoothing_are_the_textbook_losses(tiny_dataset):
    torch.manual_seed(0)
    log_probs = torch.log_softmax(torch.randn(6, 3), dim=1)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    log_prior = torch.log(torch.tensor([0.6, 0.3, 0.1]))
    trainer = Trainer(TrainConfig(model="lstm", logit_adjustment=0.5, label_smoothing=0.2), tiny_dataset)
    loss = trainer.loss_fn(None, log_prior)(log_probs, labels)
    adjusted = torch.log_softmax(log_probs + 0.5 * log_prior, dim=1)
    target = torch.full((6, 3), 0.2 / 3).scatter_add(1, labels.view(-1, 1), torch.full((6, 1), 0.8))
    assert loss.item() == pytest.approx(-(target * adjusted).sum(1).mean().item(), rel=1e-6)
    plain = Trainer(TrainConfig(model="lstm", label_smoothing=0.0), tiny_dataset).loss_fn(None, log_prior)(
        log_probs, labels)
    assert plain.item() == pytest.approx(F.nll_loss(log_probs, labels).item())


def test_trainer_step_is_forward_loss_backward_clip_and_adam(tiny_dataset):
    config = TrainConfig(model="lstm", hidden_size=8, lr_schedule="constant", class_balanced=False,
                         label_smoothing=0.0)
    trainer = Trainer(config, tiny_dataset)
    twin = Trainer(config, tiny_dataset).model  # same seed: the same initial weights
    parts = trainer.training_parts()
    chars, lengths, labels = next(parts.train.batches(8, torch.Generator().manual_seed(0)))
    trainer.step(parts, chars, lengths, labels)
    optimizer = torch.optim.Adam(twin.parameters(), lr=config.learning_rate)
    F.nll_loss(twin(chars, lengths), labels).backward()
    torch.nn.utils.clip_grad_norm_(twin.parameters(), config.clip_grad)
    optimizer.step()
    for mine, theirs in zip(trainer.model.parameters(), twin.parameters()):
        torch.testing.assert_close(mine, theirs)


# --------------------------------------------------------------------------- the real data


@pytest.mark.slow
def test_ngram_baseline_on_the_real_data_reaches_82_percent_at_the_defaults(real_dataset):
    result = Trainer(TrainConfig(model="ngram"), real_dataset).run()
    assert result.test["accuracy"] >= 0.82
    assert result.train_seconds < 60  # about 2-4 s on two shared cores; the bound only catches a runaway fit


def test_a_setting_that_defaults_to_on_can_be_turned_off_from_the_command_line():
    parser = cli.build_parser()
    assert TrainConfig().class_balanced is True
    assert parser.parse_args(["train"]).class_balanced is True
    assert parser.parse_args(["train", "--no-class-balanced"]).class_balanced is False
