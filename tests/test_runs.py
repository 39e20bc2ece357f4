"""Tests for rnnviz.runs: run folders written as training goes, read back safely, listed without crashing."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import torch

from rnnviz import runs
from rnnviz.config import TrainConfig
from rnnviz.runs import (
    METRIC_COLUMNS,
    RunError,
    delete_run,
    list_runs,
    list_snapshots,
    load_metrics,
    load_run,
    read_run,
    resolve_run,
    run_path,
    runs_dir,
    train_run,
    write_atomic,
)

QUICK = {"hidden_size": 16, "batch_size": 8, "epochs": 2}


def train(dataset, root: Path, run_id: str = "run-a", callbacks=None, **overrides):
    writer, result = train_run(TrainConfig(**(QUICK | overrides)), dataset, root, run_id=run_id,
                               callbacks=callbacks)
    return writer.path, result


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "my-runs"


# --------------------------------------------------------------------------- where runs go


def test_runs_directory_is_the_flag_then_the_environment_then_the_project(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_RUNS", str(tmp_path / "env"))
    assert runs_dir(tmp_path / "flag") == tmp_path / "flag"
    assert runs_dir() == tmp_path / "env"
    monkeypatch.delenv("RNNVIZ_RUNS")
    assert runs_dir() == runs.PROJECT_ROOT / "runs"


# --------------------------------------------------------------------------- writing a run


def test_a_run_folder_holds_config_metrics_snapshots_model_and_summary(tiny_dataset, root):
    path, result = train(tiny_dataset, root)
    assert path == root / "run-a"
    meta = json.loads((path / "config.json").read_text())
    assert meta["config"] == TrainConfig(**QUICK).to_dict()
    assert meta["categories"] == tiny_dataset.categories and meta["format"] == runs.FORMAT_VERSION
    summary = json.loads((path / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_done"] == 2
    assert summary["val_accuracy"] == pytest.approx(result.val["accuracy"])
    assert summary["test_accuracy"] == pytest.approx(result.test["accuracy"])
    metrics = load_metrics(path)
    assert list(metrics.columns) == METRIC_COLUMNS and metrics["step"].iloc[-1] == result.steps
    assert list_snapshots(path) == [0, 1, 2]
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "metrics.csv", "model.pt", "snapshots",
                                                      "summary.json"]


def test_metrics_are_on_disk_while_training_goes(tiny_dataset, root):
    seen_on_disk = []

    def count_rows(row):
        with open(root / "run-a" / "metrics.csv", newline="") as handle:
            rows = list(csv.reader(handle))
        seen_on_disk.append((row["step"], len(rows) - 1, (root / "run-a" / "summary.json").exists()))

    train(tiny_dataset, root, callbacks=[("on_eval", count_rows)], eval_every=2)
    assert [rows for _, rows, _ in seen_on_disk] == list(range(1, len(seen_on_disk) + 1))
    assert not any(summary for _, _, summary in seen_on_disk)
    assert len(seen_on_disk) > 4


def test_model_is_a_weights_only_checkpoint_that_rebuilds_the_same_model(tiny_dataset, root):
    path, result = train(tiny_dataset, root, model="mylstm")
    saved = torch.load(path / "model.pt", weights_only=True)
    assert saved["config"]["model"] == "mylstm" and saved["categories"] == tiny_dataset.categories
    loaded = load_run(path)
    assert loaded.config == TrainConfig(**QUICK, model="mylstm") and loaded.categories == tiny_dataset.categories
    for key, value in result.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value.cpu())


def test_snapshot_zero_holds_the_initial_weights(tiny_dataset, root):
    path, result = train(tiny_dataset, root)
    initial = load_run(path, snapshot=0).model.state_dict()
    final = load_run(path).model.state_dict()
    assert not torch.equal(initial["out.weight"], final["out.weight"])
    assert torch.equal(load_run(path, snapshot=2).model.state_dict()["out.weight"], final["out.weight"])
    with pytest.raises(RunError, match="snapshots|epoch-009"):
        load_run(path, snapshot=9)


def test_load_refuses_a_run_trained_on_other_categories(tiny_dataset, root):
    path, _ = train(tiny_dataset, root)
    with pytest.raises(RunError, match="other categories"):
        load_run(path, categories=["English", "French", "German"])


def test_load_refuses_a_pickle_that_is_not_plain_weights(tiny_dataset, root, tmp_path):
    path, _ = train(tiny_dataset, root)
    marker = tmp_path / "code-ran"
    torch.save({"state_dict": Payload(str(marker)), "config": {}}, path / "model.pt")
    with pytest.raises(RunError, match="damaged or not a checkpoint"):
        load_run(path)
    assert not marker.exists()


class Payload:
    """An object whose unpickling would run code, as a malicious checkpoint would."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_diverged_run_keeps_its_curve_and_summary_but_no_model(tiny_dataset, root):
    path, result = train(tiny_dataset, root, model="rnn", optimizer="sgd", learning_rate=10.0, clip_grad=0,
                         eval_every=1, lr_schedule="constant")
    assert result.status == "diverged"
    summary = json.loads((path / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["message"] == result.message
    assert len(load_metrics(path)) == result.steps
    assert not (path / "model.pt").exists()
    info = read_run(path)
    assert info.status == "diverged" and info.error == ""


def test_a_crashing_training_marks_the_run_failed_and_reraises(tiny_dataset, root):
    def crash(row):
        raise RuntimeError("disk on fire\nsecond line")

    with pytest.raises(RuntimeError, match="disk on fire"):
        train(tiny_dataset, root, callbacks=[("on_eval", crash)])
    summary = json.loads((root / "run-a" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["message"] == "RuntimeError: disk on fire"
    assert read_run(root / "run-a").status == "failed"


def test_an_existing_run_id_is_refused(tiny_dataset, root):
    train(tiny_dataset, root)
    with pytest.raises(RunError, match="cannot write the run folder"):
        train(tiny_dataset, root)


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_content_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "summary.json"
    write_atomic(target, "old")
    write_atomic(target, "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["summary.json"]


def test_a_failed_atomic_write_keeps_the_old_content(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    write_atomic(target, "old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["summary.json"]


def test_a_torn_last_metrics_line_is_dropped(tiny_dataset, root):
    path, _ = train(tiny_dataset, root)
    rows = len(load_metrics(path))
    with open(path / "metrics.csv", "a") as handle:
        handle.write("99,1.5,0.3,1.2")  # a crash in the middle of a row
    assert len(load_metrics(path)) == rows


# --------------------------------------------------------------------------- listing, damaged runs


@pytest.fixture
def damaged_runs(tiny_dataset, root) -> Path:
    """One good run and one of each kind of damage."""
    good, _ = train(tiny_dataset, root, run_id="good")
    for name in ("bad-json", "truncated-model", "no-config", "old-format", "bad-summary", "no-model",
                 "bad-config-values", "interrupted"):
        train(tiny_dataset, root, run_id=name, epochs=1)
    (root / "bad-json" / "config.json").write_text("{not json")
    model = root / "truncated-model" / "model.pt"
    model.write_bytes(model.read_bytes()[:200])
    (root / "no-config" / "config.json").unlink()
    meta = json.loads((root / "old-format" / "config.json").read_text())
    meta.pop("format")
    (root / "old-format" / "config.json").write_text(json.dumps(meta))
    (root / "bad-summary" / "summary.json").write_text("[1, 2")
    (root / "no-model" / "model.pt").unlink()
    meta = json.loads((root / "bad-config-values" / "config.json").read_text())
    meta["config"]["epochs"] = -3
    (root / "bad-config-values" / "config.json").write_text(json.dumps(meta))
    (root / "interrupted" / "summary.json").unlink()
    (root / "stray-file").write_text("not a run")
    (root / ".deleting-old").mkdir()
    return root


def test_listing_reports_damaged_runs_and_still_lists_the_good_ones(damaged_runs):
    infos = {info.run_id: info for info in list_runs(damaged_runs)}
    assert set(infos) == {"good", "bad-json", "truncated-model", "no-config", "old-format", "bad-summary",
                          "no-model", "bad-config-values", "interrupted"}
    assert infos["good"].status == "finished" and infos["good"].error == "" and infos["good"].has_model
    assert infos["interrupted"].status == "interrupted" and infos["interrupted"].error == ""
    expected = {"bad-json": "config.json is unreadable", "truncated-model": "model.pt is damaged",
                "no-config": "config.json is missing", "old-format": "older or unknown format",
                "bad-summary": "summary.json is unreadable", "no-model": "model.pt is missing",
                "bad-config-values": "epochs must be in"}
    for run_id, fragment in expected.items():
        assert fragment in infos[run_id].error, run_id
        assert "\n" not in infos[run_id].error


def test_listing_marks_an_active_run_as_running(damaged_runs):
    infos = {info.run_id: info for info in list_runs(damaged_runs, active={"interrupted"})}
    assert infos["interrupted"].status == "running"


def test_listing_is_newest_first(tiny_dataset, root):
    for run_id, created in (("older", 100.0), ("newest", 300.0), ("middle", 200.0)):
        path, _ = train(tiny_dataset, root, run_id=run_id, epochs=1)
        meta = json.loads((path / "config.json").read_text())
        meta["created"] = created
        (path / "config.json").write_text(json.dumps(meta))
    assert [info.run_id for info in list_runs(root)] == ["newest", "middle", "older"]


def test_listing_a_missing_directory_is_empty(tmp_path):
    assert list_runs(tmp_path / "none") == []


def test_loading_a_truncated_model_is_a_one_line_error(damaged_runs):
    with pytest.raises(RunError) as excinfo:
        load_run(damaged_runs / "truncated-model")
    assert "damaged" in str(excinfo.value) and "\n" not in str(excinfo.value)
    with pytest.raises(RunError, match="did not finish"):
        load_run(damaged_runs / "no-model")


# --------------------------------------------------------------------------- run ids and deleting


@pytest.mark.parametrize("run_id", ["../x", "/abs", "a/b", "..", ".", "", "a\\..\\b", "~", ".hidden", "a" * 200])
def test_a_run_id_cannot_name_a_path_outside_the_runs_directory(root, run_id):
    with pytest.raises(RunError, match="not a valid run id"):
        run_path(root, run_id)


@pytest.mark.parametrize("run_id", ["../victim", "/abs", "a/b", ".."])
def test_delete_refuses_paths_outside_the_runs_directory(tmp_path, root, run_id):
    root.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    with pytest.raises(RunError):
        delete_run(root, run_id)
    assert victim.is_dir()


def test_delete_removes_the_run_and_only_it(tiny_dataset, root):
    train(tiny_dataset, root, run_id="keep", epochs=1)
    train(tiny_dataset, root, run_id="drop", epochs=1)
    delete_run(root, "drop")
    assert [info.run_id for info in list_runs(root)] == ["keep"]
    assert sorted(os.listdir(root)) == ["keep"]
    with pytest.raises(RunError, match="no run"):
        delete_run(root, "drop")


def test_resolve_run_accepts_an_id_or_a_folder(tiny_dataset, root):
    path, _ = train(tiny_dataset, root)
    assert resolve_run("run-a", root) == path
    assert resolve_run(str(path), root / "elsewhere") == path
    with pytest.raises(RunError, match="no run 'nope'"):
        resolve_run("nope", root)
    with pytest.raises(RunError, match="no run"):
        resolve_run("../run-a", root)


def test_a_run_opens_with_the_dataset_and_split_it_was_trained_on(tiny_folder, tiny_dataset, root, tmp_path):
    from rnnviz.data import DataError, split_dataset

    path, _ = train(tiny_dataset, root, seed=3)
    info = runs.read_run(path)
    dataset, split = runs.open_run_split(info)
    assert Path(dataset.source) == Path(tiny_folder) and dataset.categories == info.categories
    # The same split as splitting the folder by hand with the run's settings.
    by_hand = split_dataset(tiny_dataset, 0.1, 0.1, 3)
    assert (split.train, split.val, split.test) == (by_hand.train, by_hand.val, by_hand.test)
    # The recorded folder gone: the fallback folder serves when it holds the same categories, else DataError.
    moved = tiny_folder.rename(tmp_path / "moved")
    assert Path(runs.run_dataset(info, fallback=moved).source) == moved
    other = tmp_path / "other"
    other.mkdir()
    (other / "First.txt").write_text("Abe\nIto\nOno\n")
    (other / "Second.txt").write_text("Bek\nDrov\nZorb\n")
    with pytest.raises(DataError, match="not available"):
        runs.run_dataset(info, fallback=other)
    with pytest.raises(DataError, match="other categories"):
        runs.run_dataset(info, explicit=other)
