"""The device option on a machine with a CUDA GPU: training there, and its model inspected there or on the CPU.

Without a GPU these tests skip (the CPU path is what every other test runs); `device="cuda"` on such a
machine is refused with one line, which tests/test_app.py covers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.config import GPU_MIN_WORK, TrainConfig, resolve_device
from rnnviz.evaluate import predict
from rnnviz.inside import read_name
from rnnviz.runs import load_run, train_run
from rnnviz.train import Trainer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def test_auto_keeps_the_reports_sizes_on_the_cpu_even_beside_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for model in ("rnn", "lstm", "mylstm"):
        config = TrainConfig(model=model)
        work = config.resolved_hidden_size * config.batch_size
        assert resolve_device("auto", work).type == "cpu"
    assert resolve_device("auto", GPU_MIN_WORK).type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto", 10 * GPU_MIN_WORK).type == "cpu"


@needs_cuda
@pytest.mark.parametrize("model", ["rnn", "lstm", "mylstm"])
def test_training_on_cuda_keeps_the_model_on_the_gpu_and_saves_a_cpu_loadable_run(model, tiny_dataset,
                                                                                    isolated_runs):
    assert resolve_device("auto", GPU_MIN_WORK).type == "cuda"
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
def test_the_app_inspects_runs_on_the_gpu_when_there_is_one(tiny_dataset, isolated_runs):
    from ui import resources

    writer, _ = train_run(TrainConfig(model="mylstm", hidden_size=16, epochs=1, batch_size=8), tiny_dataset,
                          isolated_runs)
    run = resources.loaded_run(writer.path)
    assert next(run.model.parameters()).is_cuda
    trace = read_name(run.model, run.categories, tiny_dataset.names[0])
    assert trace.values["f"].shape[1] == 16
