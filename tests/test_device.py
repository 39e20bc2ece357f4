"""The device option: the rule `auto` follows (this machine's measurement, from a file built here, on a GPU that
torch is told exists), and on a machine with a CUDA GPU training there and inspecting its model.

Without a GPU the tests marked needs_cuda skip (the CPU path is what every other test runs); `device="cuda"` on
such a machine is refused with one line, which tests/test_app.py covers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.config import (
    DEVICES_ENV,
    DeviceSpeed,
    TrainConfig,
    auto_device,
    devices_path,
    read_device_speeds,
    resolve_device,
    write_device_speeds,
)
from rnnviz.evaluate import predict
from rnnviz.inside import read_name
from rnnviz.runs import load_run, train_run
from rnnviz.train import Trainer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def measured(tmp_path, monkeypatch, speeds: list[DeviceSpeed]):
    """A measurement written where the library reads it (RNNVIZ_DEVICES), on a machine that has a GPU."""
    path = tmp_path / "devices.json"
    monkeypatch.setenv(DEVICES_ENV, str(path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert write_device_speeds(speeds, {"cores": 16}) == path == devices_path()
    return path


# The GPU faster only from hidden 512 at batch 512: what the H200 measurement suggests for these models.
GPU_AT_LARGE_SIZES = [DeviceSpeed("lstm", hidden, batch, cpu=12_520.0 * 64 / hidden,
                                  cuda=60_000.0 if hidden >= 512 and batch >= 512 else 9_493.0 * 64 / hidden)
                      for hidden in (64, 256, 512, 1024) for batch in (32, 512)]


def test_auto_takes_the_gpu_only_where_this_machines_measurement_found_it_faster(tmp_path, monkeypatch):
    measured(tmp_path, monkeypatch, GPU_AT_LARGE_SIZES)
    assert resolve_device("auto", "lstm", 64, 32).type == "cpu"  # the report's size
    assert resolve_device("auto", "lstm", 1024, 512).type == "cuda"
    assert resolve_device("auto", "lstm", 700, 400).type == "cuda"  # nearest measured: 512 x 512
    assert resolve_device("auto", "lstm", 1024, 64).type == "cpu"  # nearest measured: 1024 x 32
    assert resolve_device("auto", "lstm", 0, 32).type == "cpu"  # 0: the report's size, 64
    choice = auto_device("lstm", 1024, 512)
    assert choice.device == "cuda" and "measured on this machine" in choice.reason and "60,000" in choice.reason
    # A model the measurement left out, or the inspection of a trained model (no model given): the CPU.
    assert resolve_device("auto", "mylstm", 1024, 512).type == "cpu"
    assert "no measurement of MyLSTM" in auto_device("mylstm", 1024, 512).reason
    assert resolve_device("auto").type == "cpu"
    # "cpu" and "cuda" are taken as asked, whatever was measured.
    assert resolve_device("cpu", "lstm", 1024, 512).type == "cpu"
    assert resolve_device("cuda", "lstm", 64, 32).type == "cuda"


def test_without_a_gpu_auto_is_the_cpu_even_where_a_measurement_found_the_gpu_faster(tmp_path, monkeypatch):
    measured(tmp_path, monkeypatch, GPU_AT_LARGE_SIZES)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto", "lstm", 1024, 512).type == "cpu"
    assert auto_device("lstm", 1024, 512).reason == "no CUDA GPU on this machine: CPU"


@pytest.mark.parametrize("content", [None, "", "{not json", "[1, 2]", '{"format": 1, "speeds": [{"model": "lstm"}]}',
                                     '{"format": 99, "speeds": []}'])
def test_a_missing_or_unreadable_measurement_means_the_cpu(tmp_path, monkeypatch, content):
    path = measured(tmp_path, monkeypatch, GPU_AT_LARGE_SIZES)
    if content is None:
        path.unlink()
    else:
        path.write_text(content, encoding="utf-8")
    assert read_device_speeds() == []
    assert resolve_device("auto", "lstm", 1024, 512).type == "cpu"
    assert "no measurement" in auto_device("lstm", 1024, 512).reason


def test_auto_asks_torch_for_a_gpu_only_where_the_measurement_found_the_gpu_faster(tmp_path, monkeypatch):
    """The workers' fork server trains with `auto` before it forks: a CUDA check there is made only when it counts."""
    measured(tmp_path, monkeypatch, GPU_AT_LARGE_SIZES)

    def asked() -> bool:
        raise AssertionError("torch was asked for a GPU")

    monkeypatch.setattr(torch.cuda, "is_available", asked)
    assert resolve_device("auto", "lstm", 64, 32).type == "cpu"  # measured: the CPU is faster there
    assert resolve_device("auto", "rnn", 1024, 512).type == "cpu"  # not measured
    with pytest.raises(AssertionError, match="asked for a GPU"):
        resolve_device("auto", "lstm", 1024, 512)


def test_the_measurement_lives_in_the_cache_folder_unless_rnnviz_devices_names_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv(DEVICES_ENV, raising=False)
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    assert devices_path() == tmp_path / "cache" / "devices.json"
    monkeypatch.setenv(DEVICES_ENV, str(tmp_path / "elsewhere.json"))
    assert devices_path() == tmp_path / "elsewhere.json"


@needs_cuda
@pytest.mark.parametrize("model", ["rnn", "lstm", "mylstm"])
def test_training_on_cuda_keeps_the_model_on_the_gpu_and_saves_a_cpu_loadable_run(model, tiny_dataset,
                                                                                    isolated_runs):
    config = TrainConfig(model=model, hidden_size=16, epochs=3, batch_size=8, device="cuda")
    trainer = Trainer(config, tiny_dataset)
    assert next(trainer.model.parameters()).is_cuda
    writer, result = train_run(config, tiny_dataset, isolated_runs)
    assert result is not None and result.status == "finished"
    assert result.val["accuracy"] > 0.5  # three separable made-up languages
    loaded = load_run(writer.path)
    assert not next(loaded.model.parameters()).is_cuda


@needs_cuda
def test_a_model_on_the_gpu_predicts_and_traces_like_on_the_cpu(tiny_dataset, isolated_runs):
    writer, _ = train_run(TrainConfig(model="lstm", hidden_size=16, epochs=2, batch_size=8), tiny_dataset,
                          isolated_runs)
    cpu = load_run(writer.path)
    gpu = load_run(writer.path, device="cuda")
    assert next(gpu.model.parameters()).is_cuda
    name = tiny_dataset.names[0]
    on_cpu, on_gpu = read_name(cpu.model, cpu.categories, name), read_name(gpu.model, gpu.categories, name)
    for key in ("i", "f", "o", "c", "h"):
        np.testing.assert_allclose(on_cpu.values[key], on_gpu.values[key], atol=1e-5)
    assert predict(cpu.model, cpu.categories, [name])[0].top[0][0] == predict(gpu.model, gpu.categories,
                                                                               [name])[0].top[0][0]


@needs_cuda
def test_the_app_inspects_runs_on_the_cpu_even_beside_a_gpu(tiny_dataset, isolated_runs):
    """One name at a time is far too little work for a GPU: `auto` without a training is the CPU."""
    from ui import resources

    writer, _ = train_run(TrainConfig(model="mylstm", hidden_size=16, epochs=1, batch_size=8), tiny_dataset,
                          isolated_runs)
    run = resources.loaded_run(writer.path)
    assert not next(run.model.parameters()).is_cuda
    trace = read_name(run.model, run.categories, tiny_dataset.names[0])
    assert trace.values["f"].shape[1] == 16


@needs_cuda
def test_a_training_on_auto_follows_this_machines_measurement(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv(DEVICES_ENV, str(tmp_path / "devices.json"))
    config = TrainConfig(model="lstm", hidden_size=16, epochs=1, batch_size=8)
    write_device_speeds([DeviceSpeed("lstm", 16, 8, cpu=1000.0, cuda=2000.0)], {})
    assert next(Trainer(config, tiny_dataset).model.parameters()).is_cuda
    write_device_speeds([DeviceSpeed("lstm", 16, 8, cpu=2000.0, cuda=1000.0)], {})
    assert not next(Trainer(config, tiny_dataset).model.parameters()).is_cuda
