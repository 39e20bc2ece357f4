"""The lessons' live numbers on the real surnames: every step of every shipped lesson fills every placeholder in
both languages, and each fact agrees with the same number computed another way through the library."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.config import TrainConfig
from rnnviz.data import split_dataset
from rnnviz.evaluate import predict, report
from rnnviz.inside import read_name
from rnnviz.lessons import list_lessons
from rnnviz.lessons.facts import (
    TIE,
    MissingRuns,
    Source,
    compute,
    probe_config,
    resolve_role,
    resolve_roles,
    step_roles,
)
from rnnviz.lessons.lesson import placeholders
from rnnviz.lessons.views import ROLES, VIEWS
from rnnviz.probe import ProbeConfig, run_probe
from rnnviz.runs import list_runs, load_run, train_run
from tests.helpers import keep_probe

MODELS = ("rnn", "lstm", "elman", "ngram")


@pytest.fixture(scope="module")
def real_runs(real_dataset, tmp_path_factory):
    """Small runs of the models the lessons read, on the real surnames, and a short probe at the lessons' length."""
    root = tmp_path_factory.mktemp("lesson-runs")
    for model in MODELS:
        train_run(TrainConfig(model=model, hidden_size=16, epochs=1, batch_size=32), real_dataset, root)
    lengths = sorted({probe_config(s).lengths[0] for lesson in list_lessons()[0] for s in lesson.steps
                      if s.view == "probe"})
    config = ProbeConfig(lengths=tuple(lengths), steps=20, seeds=1, hidden_size=8, test_size=64)
    keep_probe(root, config, run_probe(config).results)
    return root


def steps_of_every_lesson():
    return [(lesson.name, n, step) for lesson in list_lessons()[0] for n, step in enumerate(lesson.steps, 1)]


@pytest.mark.parametrize("name,number,step", steps_of_every_lesson(), ids=lambda v: str(v) if isinstance(v, (str, int))
                         else "")
def test_every_step_fills_every_placeholder_in_every_language(real_runs, name, number, step):
    infos = list_runs(real_runs)
    live = compute(step, resolve_roles(infos, step_roles(step)), Source(real_runs))
    assert set(VIEWS[step.view].facts) <= set(live.facts), "the view fills every fact it declares"
    templates = [step.text, *step.reveal.values()] + ([step.question.text] if step.question else [])
    for template in templates:
        for lang, text in template.items():
            shown = live.fill(text)
            assert "{" not in shown and "nan" not in shown.lower(), (lang, shown)
            assert all(field in live.facts for field, _, _ in placeholders(text))
    if step.reveal_by:
        assert live.outcomes[step.reveal_by] in step.reveal
    if step.question is not None:
        answer = live.answer(step.question.answer)
        if step.question.kind == "choice":
            assert answer in VIEWS[step.view].outcomes[step.question.answer]
        else:
            assert isinstance(answer, float) and np.isfinite(answer)


def _step(view: str, **settings):
    return next(step for _, _, step in steps_of_every_lesson() if step.view == view
                and all(step.settings.get(k) == v for k, v in settings.items()))


def test_accuracy_facts_equal_a_fresh_evaluation_of_the_test_names(real_runs, real_dataset):
    infos = list_runs(real_runs)
    live = compute(_step("accuracy"), resolve_roles(infos, ("rnn", "lstm")), Source(real_runs))
    measured = {}
    for role in ("rnn", "lstm"):
        info = resolve_role(infos, role)
        run = load_run(info.path)
        config = TrainConfig.from_dict(info.config)
        test = split_dataset(real_dataset, config.val_fraction, config.test_fraction, config.seed).test
        measured[role] = report(run.model, run.categories, test).accuracy
        assert live.numbers[f"acc_{role}_pct"] == pytest.approx(measured[role] * 100, abs=1e-4)  # float32 sums
    gap = measured["lstm"] - measured["rnn"]
    expected = "tie" if abs(gap) < TIE else "lstm_wins" if gap > 0 else "rnn_wins"
    assert live.outcomes["winner"] == expected


def test_what_if_probability_before_equals_predict(real_runs):
    step = _step("what_if")
    infos = list_runs(real_runs)
    live = compute(step, resolve_roles(infos, step_roles(step)), Source(real_runs))
    run = load_run(resolve_role(infos, "lstm").path)
    (top,) = predict(run.model, run.categories, [step.settings["name"]], top_k=1)
    category, probability = top.top[0]
    assert live.facts["category"] == category
    assert live.numbers["p_before_pct"] == pytest.approx(probability * 100, abs=1e-4)
    before, after = live.numbers["p_before_pct"], live.numbers["p_after_pct"]
    assert live.outcomes["effect"] == ("drops" if after < before - 2 else "rises" if after > before + 2 else "same")


def test_cell_step_facts_obey_the_lstm_equations(real_runs):
    step = _step("cell_step", letter=4)
    live = compute(step, resolve_roles(list_runs(real_runs), step_roles(step)), Source(real_runs))
    v = live.extra["cell"].values
    assert v["c"] == pytest.approx(v["f"] * v["c_prev"] + v["i"] * v["g"], abs=1e-5)
    assert v["h"] == pytest.approx(v["o"] * np.tanh(v["c"]), abs=1e-5)
    assert live.facts["f"] == f"{v['f']:.2f}" and live.numbers["f_value"] == v["f"]


def test_memory_facts_are_the_readings_of_the_unit(real_runs):
    step = _step("memory")
    infos = list_runs(real_runs)
    live = compute(step, resolve_roles(infos, step_roles(step)), Source(real_runs))
    run = load_run(resolve_role(infos, "lstm").path)
    f = read_name(run.model, run.categories, step.settings["name"]).values["f"][:, int(live.facts["unit"])]
    assert live.numbers["f_mean"] == pytest.approx(float(f.mean()))
    assert live.outcomes["memory"] == ("keeps" if f.mean() >= 0.5 else "forgets")
    series = live.frames["memory"].groupby("model")["series"].agg(set).to_dict()
    assert sorted(map(sorted, series.values())) == [["c", "f", "i", "o"], ["h"]]


def test_gradient_outcome_is_the_model_that_keeps_least(real_runs):
    step = _step("gradient")
    live = compute(step, resolve_roles(list_runs(real_runs), step_roles(step)), Source(real_runs))
    kept = {role: live.numbers[f"keep_{role}"] for role in ("rnn", "elman", "lstm")}
    assert live.outcomes["fades"] == min(kept, key=kept.get)


def test_a_step_without_its_runs_says_which_roles_are_missing(tmp_path):
    step = _step("ngram")
    with pytest.raises(MissingRuns) as missing:
        compute(step, resolve_roles([], step_roles(step)), Source(tmp_path))
    assert missing.value.roles == ["ngram", "rnn", "lstm"]
    with pytest.raises(MissingRuns) as probe:
        compute(_step("probe"), {}, Source(tmp_path))
    assert probe.value.probe


def test_roles_are_the_registry_keys():
    from rnnviz.registry import MODEL_KEYS as REGISTRY

    assert set(ROLES) == set(REGISTRY)
