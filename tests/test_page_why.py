"""The Why LSTM? page in Streamlit's AppTest, with and without runs.

The pages run through streamlit_app.py, as in the app, with both registered in its navigation.
"""

from __future__ import annotations

import time

from rnnviz.probe import PROBE_SETTINGS, ProbeConfig, latest_probe
from rnnviz.runs import TEACHER
from tests.helpers import assert_clean, charts_of
from ui import nav, resources

WHY = nav.WHY
REPORT = nav.REPORT


def test_why_page_guides_to_training_when_there_are_no_runs(app):
    at = app(WHY).run()
    assert_clean(at)
    assert any("Run the probe" in info.value for info in at.info)  # the argument starts with the memory probe
    at.segmented_control(key="why.view").set_value("flow").run()
    assert any("No finished runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("saturation").run()
    assert_clean(at)
    assert any("No nn.LSTM or MyLSTM runs yet" in info.value for info in at.info)
    at.segmented_control(key="why.view").set_value("probe").run()
    assert_clean(at)
    assert any("Run the probe" in info.value for info in at.info)


def test_why_page_shows_the_gradient_flow_of_an_rnn_and_an_lstm(app, page_runs):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("flow").run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["model"]) == {"RNN", "tanh RNN", "nn.LSTM"}
    assert set(summary["stage"]) == {"initialisation", "trained"}
    reading = " ".join(markdown.value for markdown in at.markdown)
    assert "share of the last letter's gradient left 10 letters back" in reading or "Too few names" in reading
    at.segmented_control(key="why.flow_source").set_value("one").run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    assert any("Loss of:" in caption.value for caption in at.caption)
    at.text_input(key="why.flow_name").set_value("1234").run()
    assert_clean(at)
    assert any("no letters" in warning.value for warning in at.warning)


def test_why_page_shows_gate_saturation_of_an_lstm_run(app, page_runs):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("saturation").run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    summary = at.dataframe[0].value
    assert set(summary["gate"]) == {"input gate", "forget gate", "output gate"}


def test_why_page_runs_the_memory_probe_in_the_background(app):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("probe").run()
    at.multiselect[0].set_value([5])
    at.number_input[1].set_value(50)  # training steps
    at.button[0].click().run()
    assert_clean(at)
    deadline = time.time() + 60
    while time.time() < deadline:
        at.run()
        if any("finished" in str(p.value) or "finished" in getattr(p, "text", "") for p in at.get("progress")):
            break
        time.sleep(0.2)
    assert_clean(at)
    results = at.dataframe[0].value
    assert results["length"].tolist() == [5, 5] and set(results["model"]) == {"RNN", "nn.LSTM"}
    assert (results["seeds"] == 3).all() and len(at.dataframe[1].value) == 6  # every training, three seeds
    assert any("mean over the seeds" in caption.value for caption in at.caption)
    assert len(charts_of(at)) == 1


def test_why_page_can_measure_long_names_only_and_says_when_there_are_none(app, page_runs):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("flow").run()
    at.slider(key="why.flow_min_length").set_value(6).run()
    assert_clean(at)
    assert len(charts_of(at)) == 1
    at.slider(key="why.flow_min_length").set_value(15).run()
    assert not at.exception
    assert any("no names have 15 letters or more" in error.value for error in at.error)


def test_the_probe_form_is_generated_from_the_probes_declared_settings(app):
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("probe").run()
    assert_clean(at)
    numbers = {w.key.removeprefix("why.probe."): w for w in at.number_input}
    shown = [name for name, spec in PROBE_SETTINGS.items() if not spec.advanced]
    assert set(numbers) | {"lengths", "models"} == set(shown)
    for name, widget in numbers.items():
        spec = PROBE_SETTINGS[name]
        assert (widget.min, widget.max) == spec.limits and widget.label == spec.label
        assert widget.value == getattr(ProbeConfig(), name)
    lengths = at.multiselect(key="why.probe.lengths")
    assert lengths.value == list(ProbeConfig().lengths)
    assert lengths.options[0] == str(PROBE_SETTINGS["lengths"].limits[0])
    at.number_input(key="why.probe.forget_bias").set_value(PROBE_SETTINGS["forget_bias"].limits[1])
    at.number_input(key="why.probe.steps").set_value(20)
    at.multiselect(key="why.probe.lengths").set_value([5])
    at.button[0].click().run()  # the form's largest forget bias is one the probe accepts
    assert_clean(at)
    assert not at.error

    probe = latest_probe(resources.job_manager())
    assert probe is not None and probe.config.forget_bias == PROBE_SETTINGS["forget_bias"].limits[1]
    resources.job_manager().stop(probe.run_id, by=TEACHER)
    resources.job_manager().wait(probe.run_id, timeout=60)


def test_the_last_probe_sweep_is_kept_in_the_runs_folder_and_shown_at_once(app, isolated_runs):
    from rnnviz.probe import RESULT_COLUMNS, probe_reading, saved_probe, summarize
    from rnnviz.runs import write_probe

    rows = [{"model": model, "length": length, "seed": seed, "accuracy": accuracy, "chance": 0.25,
             "final_loss": 1.0, "steps": 50, "seconds": 1.0}
            for model, length, accuracy in (("nn.LSTM", 30, 0.999), ("RNN", 30, 0.462), ("nn.LSTM", 40, 0.729),
                                            ("RNN", 40, 0.238)) for seed in (0, 1)]
    write_probe(isolated_runs, ProbeConfig(lengths=(30, 40), seeds=2).to_dict(), rows, "finished", "", 1.7e9)
    saved = saved_probe(isolated_runs)
    assert saved.config == ProbeConfig(lengths=(30, 40), seeds=2) and list(saved.results.columns) == RESULT_COLUMNS
    at = app(WHY).run()  # a fresh session, no sweep run: the kept one shows on the first screen
    assert_clean(at)
    assert len(charts_of(at)) == 1
    reading = " ".join(m.value for m in at.markdown)
    assert "L = 40: nn.LSTM 72.9%, RNN 23.8% (chance 25%)" in reading
    assert "nn.LSTM up to L = 40; RNN up to L = 30" in reading
    assert probe_reading(summarize(saved.results))[0] in reading
    assert any("The last sweep (finished" in c.value for c in at.caption)


def test_the_gradient_comparison_offers_one_button_that_trains_the_missing_run(app, tiny_dataset, isolated_runs):
    from rnnviz.config import TrainConfig
    from rnnviz.runs import train_run

    for model in ("rnn", "lstm"):  # the demo trains no tanh RNN
        train_run(TrainConfig(model=model, epochs=1, hidden_size=8), tiny_dataset, isolated_runs)
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("flow").run()
    assert_clean(at)
    button = at.button(key="why.train_missing")
    assert button.label == "Train the missing run: tanh RNN"
    button.click().run()
    assert_clean(at)
    manager = resources.job_manager()
    started = [job for job in manager.jobs() if job.kind == "train"]
    assert [job.config.model for job in started] == ["elman"]
    assert started[0].owner not in ("", TEACHER)  # a student's browser pressed it: its own run, within its cap
    assert not any(b.key == "why.train_missing" for b in at.button)  # one press: progress, not a second button
    manager.wait(started[0].run_id, timeout=120)


def test_the_comparison_reads_runs_on_a_named_dataset_by_their_kind(app, tmp_path, isolated_runs):
    """Runs on a named dataset carry its name in their labels ("RNN (longnames)"): the sentences that compare
    the models still appear, because they tell the models apart by kind."""
    import random

    from rnnviz import datasets
    from rnnviz.config import TrainConfig
    from rnnviz.data import load_folder
    from rnnviz.runs import train_run

    rng = random.Random(0)
    folder = tmp_path / "longnames"
    folder.mkdir()
    for category, letters in (("Ab", "ab"), ("Cd", "cd")):  # names of 12 to 16 letters: 10 back is measured
        names = {"".join(rng.choice(letters) for _ in range(rng.randint(12, 16))).capitalize() for _ in range(60)}
        (folder / f"{category}.txt").write_text("\n".join(sorted(names)) + "\n", encoding="utf-8")
    datasets.add_from_folder("longnames", folder)
    named = load_folder(datasets.dataset_path("longnames"))
    for model in ("rnn", "lstm"):
        train_run(TrainConfig(model=model, epochs=1, hidden_size=8, batch_size=16), named, isolated_runs)
    at = app(WHY).run()
    at.segmented_control(key="why.view").set_value("flow").run()
    assert_clean(at)
    assert set(at.dataframe[0].value["model"]) == {"RNN (longnames)", "nn.LSTM (longnames)"}
    reading = " ".join(m.value for m in at.markdown)
    assert "The tutorial RNN keeps" in reading and "nn.LSTM (longnames)" in reading
