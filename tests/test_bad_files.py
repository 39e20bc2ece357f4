"""Damaged, truncated, foreign or hostile run files: listed as unreadable with the reason, refused with a one-line
RunError when loaded, never a crash, in the library and on the Train and Evaluate pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.runs import RunError, list_runs, load_metrics, load_run, load_snapshot, read_run, train_run
from tests.conftest import write_tiny_folder
from ui import nav, resources

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
RUN_FILES = ("config.json", "summary.json", "metrics.csv", "model.pt")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One finished LSTM run (two epochs, so snapshots 0, 1, 2), copied by each test that damages it."""
    base = tmp_path_factory.mktemp("template")
    folder = write_tiny_folder(base / "names")
    writer, result = train_run(TrainConfig(model="lstm", hidden_size=8, epochs=2, batch_size=16),
                               load_folder(folder), base / "runs", run_id="template")
    assert result.status == "finished"
    return writer.path


def copy_run(template: Path, root: Path, run_id: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    target = root / run_id
    shutil.copytree(template, target)
    meta = json.loads((target / "config.json").read_text())
    meta["run_id"] = run_id
    (target / "config.json").write_text(json.dumps(meta))
    return target


def edit_json(path: Path, change) -> None:
    values = json.loads(path.read_text())
    change(values)
    path.write_text(json.dumps(values))


def one_line(text: str) -> bool:
    return bool(text) and "\n" not in text


def checkpoint_of(run: Path) -> dict:
    return torch.load(run / "model.pt", weights_only=True)


# Each damage: (file, how it is damaged, what the listing says).
LISTING_DAMAGE = {
    "config-garbage": ("config.json", lambda p: p.write_bytes(b"\x00\xff\xfe garbage"), "config.json is unreadable"),
    "config-truncated": ("config.json", lambda p: p.write_bytes(p.read_bytes()[:40]), "config.json is unreadable"),
    "config-empty": ("config.json", lambda p: p.write_bytes(b""), "config.json is unreadable"),
    "config-a-list": ("config.json", lambda p: p.write_text("[1, 2]"), "not a JSON object"),
    "config-missing": ("config.json", lambda p: p.unlink(), "config.json is missing"),
    "config-older-format": ("config.json", lambda p: edit_json(p, lambda v: v.update(format=0)),
                            "older or unknown format (0)"),
    "config-no-format": ("config.json", lambda p: edit_json(p, lambda v: v.pop("format")),
                         "older or unknown format (None)"),
    "config-no-settings": ("config.json", lambda p: edit_json(p, lambda v: v.pop("config")), "has no config"),
    "config-wrong-type": ("config.json", lambda p: edit_json(p, lambda v: v["config"].update(epochs="8")),
                          "epochs must be a number"),
    "config-unknown-setting": ("config.json", lambda p: edit_json(p, lambda v: v["config"].update(colour=1)),
                               "unknown setting(s) colour"),
    "config-categories-text": ("config.json", lambda p: edit_json(p, lambda v: v.update(categories="AB")),
                               "no list of categories"),
    "config-created-text": ("config.json", lambda p: edit_json(p, lambda v: v.update(created="yesterday")),
                            "could not convert"),
    "summary-garbage": ("summary.json", lambda p: p.write_bytes(b"{\"status\": \"fini"), "summary.json is unreadable"),
    "summary-unknown-status": ("summary.json", lambda p: edit_json(p, lambda v: v.update(status="exploded")),
                               "unknown status 'exploded'"),
    "model-truncated": ("model.pt", lambda p: p.write_bytes(p.read_bytes()[:300]), "model.pt is damaged"),
    "model-garbage": ("model.pt", lambda p: p.write_bytes(b"not a checkpoint at all"), "model.pt is damaged"),
    "model-missing": ("model.pt", lambda p: p.unlink(), "model.pt is missing"),
}


@pytest.mark.parametrize("damage", sorted(LISTING_DAMAGE))
def test_a_damaged_run_is_listed_as_unreadable_with_the_reason(template, isolated_runs, damage):
    copy_run(template, isolated_runs, "fine")
    file, spoil, reason = LISTING_DAMAGE[damage]
    broken = copy_run(template, isolated_runs, "broken")
    spoil(broken / file)
    infos = {info.run_id: info for info in list_runs(isolated_runs)}
    assert infos["fine"].status == "finished" and infos["fine"].error == ""
    assert reason in infos["broken"].error and one_line(infos["broken"].error)
    with pytest.raises(RunError) as refused:
        load_run(broken) if file == "model.pt" else _load_through_listing(infos["broken"])
    assert one_line(str(refused.value))


def _load_through_listing(info) -> None:
    """What a page does with a listed run: only a clean one is loaded."""
    if info.error:
        raise RunError(info.error)
    load_run(info.path)


def test_a_run_from_an_older_format_is_listed_not_loaded(template, isolated_runs):
    old = isolated_runs / "2019-run"
    old.mkdir(parents=True)
    (old / "config.json").write_text(json.dumps({"model": "lstm", "hidden": 64}))  # no format, flat settings
    (old / "model.pt").write_bytes(b"\x80\x02}q\x00.")  # a bare old-style pickle
    (info,) = list_runs(isolated_runs)
    assert info.status == "unreadable" and "older or unknown format" in info.error
    with pytest.raises(RunError, match="damaged or not a checkpoint"):
        load_run(old)


# --------------------------------------------------------------------------- checkpoints


CHECKPOINT_DAMAGE = {
    "an empty zip": (lambda run: (run / "model.pt").write_bytes(b"PK\x05\x06" + b"\0" * 18), "damaged"),
    "plain list": (lambda run: torch.save([1, 2, 3], run / "model.pt"), "not an rnnviz checkpoint"),
    "other alphabet": (lambda run: torch.save({**checkpoint_of(run), "alphabet": "abc"}, run / "model.pt"),
                       "another alphabet"),
    "no categories": (lambda run: torch.save({**checkpoint_of(run), "categories": None}, run / "model.pt"),
                      "no list of categories"),
    "bad config": (lambda run: torch.save({**checkpoint_of(run), "config": {"epochs": -1}}, run / "model.pt"),
                   "bad config"),
    "wrong shapes": (lambda run: torch.save({**checkpoint_of(run), "config": {**checkpoint_of(run)["config"],
                                                                            "hidden_size": 9}}, run / "model.pt"),
                     "does not match its config"),
    "weights not tensors": (lambda run: torch.save({**checkpoint_of(run), "state_dict": {"out.weight": 3}},
                                                   run / "model.pt"), "does not match its config"),
}


@pytest.mark.parametrize("damage", sorted(CHECKPOINT_DAMAGE))
def test_a_checkpoint_that_does_not_fit_is_refused_with_a_message(template, isolated_runs, damage):
    run = copy_run(template, isolated_runs, "run")
    spoil, reason = CHECKPOINT_DAMAGE[damage]
    spoil(run)
    with pytest.raises(RunError) as refused:
        load_run(run)
    assert reason in str(refused.value) and one_line(str(refused.value))


def test_a_checkpoint_for_other_categories_than_the_data_is_refused(template, isolated_runs):
    run = copy_run(template, isolated_runs, "run")
    assert load_run(run, categories=["Ashi", "Borov", "Tunson"]).categories == ["Ashi", "Borov", "Tunson"]
    with pytest.raises(RunError, match="other categories than the current data"):
        load_run(run, categories=["English", "French", "German"])
    with pytest.raises(RunError, match="other categories"):
        load_run(run, categories=["Borov", "Ashi", "Tunson"])  # same names, other order: other outputs


class CodeRunner:
    """Unpickling this would run code (touch a marker file), as a hostile checkpoint would."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_checkpoints_and_snapshots_that_would_run_code_are_refused_unrun(template, isolated_runs, tmp_path):
    run = copy_run(template, isolated_runs, "run")
    marker = tmp_path / "code-ran"
    torch.save({**checkpoint_of(run), "state_dict": CodeRunner(marker)}, run / "model.pt")
    with pytest.raises(RunError, match="holds more than weights"):
        load_run(run)
    torch.save({"epoch": 1, "state_dict": CodeRunner(marker)}, run / "snapshots" / "epoch-001.pt")
    with pytest.raises(RunError, match="holds more than weights"):
        load_snapshot(run, 1)
    assert not marker.exists()


def test_a_damaged_snapshot_is_refused_while_the_final_model_still_loads(template, isolated_runs):
    run = copy_run(template, isolated_runs, "run")
    (run / "snapshots" / "epoch-001.pt").write_bytes(b"PK\x03\x04 torn")
    with pytest.raises(RunError, match="damaged"):
        load_run(run, snapshot=1)
    assert load_run(run, snapshot=2).model is not None and load_run(run).model is not None


# --------------------------------------------------------------------------- metrics.csv

METRICS_DAMAGE = {
    "binary": (b"\x00\x01\x02\xff" * 50, "lacks columns|unreadable"),
    "empty": (b"", "unreadable"),
    "other columns": (b"a,b,c\n1,2,3\n", "lacks columns"),
    "not utf-8": ("step,epoch\n1,\xe9".encode("latin-1"), "lacks columns|unreadable"),
}


@pytest.mark.parametrize("damage", sorted(METRICS_DAMAGE))
def test_damaged_metrics_are_a_one_line_error(template, isolated_runs, damage):
    run = copy_run(template, isolated_runs, "run")
    content, reason = METRICS_DAMAGE[damage]
    (run / "metrics.csv").write_bytes(content)
    with pytest.raises(RunError, match=reason) as refused:
        load_metrics(run)
    assert one_line(str(refused.value))
    assert read_run(run).status == "finished"  # the model is still usable


def test_metrics_with_junk_rows_keep_the_good_ones(template, isolated_runs):
    run = copy_run(template, isolated_runs, "run")
    good = len(load_metrics(run))
    with open(run / "metrics.csv", "a") as handle:
        handle.write("x,y,z,1,2,3,4,5,6\n,,,,,,,,\n1,2,3\n\x00\x00\n")
    assert len(load_metrics(run)) == good


# --------------------------------------------------------------------------- any bytes at all


@pytest.mark.parametrize("file", RUN_FILES)
def test_any_bytes_in_a_run_file_give_a_listing_and_only_run_errors(template, isolated_runs, file):
    run = copy_run(template, isolated_runs, "run")
    original = (run / file).read_bytes()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.binary(max_size=3000),
                     st.integers(min_value=0, max_value=len(original)).map(lambda n: original[:n])))
    def check(content):
        (run / file).write_bytes(content)
        (info,) = list_runs(isolated_runs)
        assert "\n" not in info.error
        for load in (load_run, load_metrics):
            try:
                load(run)
            except RunError as exc:
                assert one_line(str(exc))

    try:
        check()
    finally:
        (run / file).write_bytes(original)


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def app_with_damaged_runs(template, tmp_path, monkeypatch, isolated_runs):
    """A good run, a run whose model.pt only looks like a checkpoint, a truncated one, an old one, bad metrics."""
    monkeypatch.setenv("RNNVIZ_DATA", str(template.parent.parent / "names"))
    copy_run(template, isolated_runs, "good")
    fake = copy_run(template, isolated_runs, "looks-fine")
    (fake / "model.pt").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    edit_json(fake / "config.json", lambda v: v.update(created=v["created"] + 10))  # newest: picked first
    truncated = copy_run(template, isolated_runs, "truncated")
    (truncated / "model.pt").write_bytes((truncated / "model.pt").read_bytes()[:300])
    old = copy_run(template, isolated_runs, "old-format")
    edit_json(old / "config.json", lambda v: v.update(format=0))
    metrics = copy_run(template, isolated_runs, "bad-metrics")
    (metrics / "metrics.csv").write_bytes(b"\x00\xff")
    resources._data_choice.clear()
    yield isolated_runs
    resources._data_choice.clear()


def page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_train_page_lists_damaged_runs_with_their_reasons(app_with_damaged_runs):
    at = page(nav.TRAIN)
    assert all("metrics.csv is unreadable" in e.value for e in at.error), [e.value for e in at.error]
    table = at.dataframe[0].value.set_index("id")
    assert "model.pt is damaged" in table.loc["truncated", "note"]
    assert "older or unknown format" in table.loc["old-format", "note"]
    assert table.loc["good", "status"] == "finished" and not table.loc["good", "note"]
    at.multiselect(key="train.compare").set_value(["good", "bad-metrics"]).run()
    assert not at.exception
    assert any("metrics.csv" in e.value and "\n" not in e.value for e in at.error)
    assert list(at.get("vega_lite_chart")), "the good run's curves are still drawn"


def test_evaluate_page_says_why_a_model_cannot_be_loaded_and_shows_the_good_one(app_with_damaged_runs):
    at = page(nav.EVALUATE)
    assert at.selectbox(key="evaluate.run").value == "looks-fine"
    assert any("model.pt is damaged" in e.value for e in at.error), [e.value for e in at.error]
    at.selectbox(key="evaluate.run").set_value("good").run()
    assert not at.exception and not at.error
    assert list(at.get("vega_lite_chart"))
