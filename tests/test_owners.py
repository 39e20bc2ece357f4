"""Runs belong to whoever started them, in two AppTest sessions (two browsers): only the owner, or the teacher
who entered RNNVIZ_TEACHER_KEY in the sidebar, sees Pause / Stop / Cancel / Delete; everyone sees the run and its
owner's name, as plain text. A queued run shows its place in line; a link carries no owner; seeds differ per
student unless a link fixes one; Copy link uses the address the browser used."""

from __future__ import annotations

import hmac
import logging
import time

import pytest

from rnnviz.config import TrainConfig
from rnnviz.data import load_folder
from rnnviz.runs import TEACHER, list_runs
from tests.helpers import wait_for_jobs
from tests.test_page_train import button, form, link_text, open_train
from ui import keys, owner, resources

LONG = {"hidden_size": 8, "epochs": 200, "batch_size": 4}
KEY = "correct horse battery staple"

pytestmark = pytest.mark.usefixtures("fresh_app")


def labels(at) -> list[str]:
    return [b.label for b in at.button]


def start_long(at, name: str = "") -> str:
    if name:
        at.sidebar.text_input(key=keys.OWNER_NAME_INPUT).input(name).run()
    for field, value in LONG.items():
        form(at, field).set_value(value)
    button(at, "Start training").click().run()
    return max(resources.job_manager().jobs(), key=lambda j: j.started).run_id


def wait_folder(run_id: str) -> None:
    deadline = time.monotonic() + 60
    while not (resources.runs_root() / run_id / "config.json").exists():
        assert time.monotonic() < deadline, "the run folder did not appear"
        time.sleep(0.05)


def page_text(at) -> str:
    parts = [e.value for kind in (at.markdown, at.caption, at.info, at.warning, at.error, at.success) for e in kind]
    parts += [str(e.proto) for e in at.get("progress")]
    return "\n".join(str(p) for p in parts)


def stop_all() -> None:
    manager = resources.job_manager()
    for job in manager.jobs():
        manager.stop(job.run_id, by=TEACHER)


def test_only_the_owner_sees_the_controls_and_everyone_sees_the_run(tiny_data):
    ana, ben = open_train(), open_train()
    run_id = start_long(ana, "Ana")
    try:
        wait_folder(run_id)
        ana.run()
        ben.run()
        assert {"Pause", "Stop"} <= set(labels(ana)) and "Delete…" in labels(ana)
        assert not {"Pause", "Stop", "Resume", "Cancel", "Delete…"} & set(labels(ben))
        assert "Ana" in page_text(ben) and "you" in page_text(ana)
        assert "Started by Ana: only they or the teacher can delete it." in [c.value for c in ben.caption]
        table = ben.dataframe[0].value
        assert table.loc[table["id"] == run_id, "by"].tolist() == ["Ana"]
        (info,) = list_runs(resources.runs_root())
        assert info.owner_name == "Ana" and info.owner not in (ana.session_state[keys.OWNER_TOKEN], "")
        assert "owner" not in ana.query_params and ana.session_state[keys.OWNER_TOKEN] not in link_text(ana)
    finally:
        stop_all()
        wait_for_jobs()


def test_a_reload_keeps_the_owner_through_the_cookie(tiny_data, monkeypatch):
    ana = open_train()
    run_id = start_long(ana)
    try:
        cookie = ana.session_state[keys.OWNER_TOKEN]
        monkeypatch.setattr(owner, "_cookies", lambda: {owner.OWNER_COOKIE: cookie})
        again = open_train()  # a new session of the same browser
        assert again.session_state[keys.OWNER_TOKEN] == cookie and "Stop" in labels(again)
        monkeypatch.setattr(owner, "_cookies", lambda: {owner.OWNER_COOKIE: "someone-else-" + "x" * 20})
        assert "Stop" not in labels(open_train())
        assert resources.job_manager().get(run_id).active
    finally:
        stop_all()
        wait_for_jobs()


def test_the_teacher_key_is_refused_when_wrong_and_then_manages_every_run(tiny_data, monkeypatch, caplog):
    monkeypatch.setenv(owner.TEACHER_KEY_ENV, KEY)
    caplog.set_level(logging.DEBUG)
    ana, teacher = open_train(), open_train()
    run_id = start_long(ana, "Ana")
    try:
        teacher.sidebar.text_input(key=keys.OWNER_KEY_INPUT).input("wrong key").run()
        assert [e.value for e in teacher.sidebar.error] == ["That is not the teacher key."]
        assert "Stop" not in labels(teacher)
        assert teacher.session_state[keys.OWNER_KEY_INPUT] == "", "a typed key never stays in the widget"
        teacher.sidebar.text_input(key=keys.OWNER_KEY_INPUT).input(KEY).run()
        assert not teacher.sidebar.error and "Stop" in labels(teacher)
        assert any(c.value.startswith("Teacher:") for c in teacher.sidebar.caption)
        assert teacher.session_state[keys.OWNER_KEY_INPUT] == ""
        shown = page_text(teacher) + "".join(str(e.proto) for e in teacher.sidebar) + str(dict(teacher.query_params))
        assert KEY not in shown and KEY not in caplog.text
        next(b for b in teacher.button if b.label == "Stop").click().run()
        assert resources.job_manager().wait(run_id, 60).status == "stopped"

        proof = teacher.session_state[keys.OWNER_TEACHER]  # what the teacher's browser keeps: not the key
        assert KEY not in proof
        cookies = {owner.OWNER_COOKIE: teacher.session_state[keys.OWNER_TOKEN], owner.TEACHER_COOKIE: proof}
        monkeypatch.setattr(owner, "_cookies", lambda: cookies)
        assert any(c.value.startswith("Teacher:") for c in open_train().sidebar.caption), "entered once"
        cookies[owner.TEACHER_COOKIE] = proof[:-1] + ("0" if proof[-1] != "0" else "1")
        assert not any(c.value.startswith("Teacher:") for c in open_train().sidebar.caption)
    finally:
        stop_all()
        wait_for_jobs()


def test_without_a_teacher_key_on_the_server_nobody_is_the_teacher(tiny_data, monkeypatch):
    monkeypatch.delenv(owner.TEACHER_KEY_ENV, raising=False)
    at = open_train()
    assert not [w for w in at.sidebar.text_input if w.key == keys.OWNER_KEY_INPUT]
    assert not owner.key_matches("", "") and not owner.key_matches("anything", "")


def test_the_key_is_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(owner.hmac, "compare_digest", spy)
    assert owner.key_matches(KEY, KEY) and owner.key_matches(f"  {KEY} ", KEY)
    assert not owner.key_matches("x", KEY) and not owner.key_matches(KEY + "x", KEY)
    assert calls and all(a == b == 32 for a, b in calls), "digests of equal length, whatever was typed"


def test_display_names_are_plain_text(tiny_data):
    hostile = "**Ana** [x](j:a) :red[h]"  # the most the name box takes (24 characters)
    ana, ben = open_train(), open_train()
    run_id = start_long(ana, hostile)
    try:
        ben.run()
        kept = ana.session_state[keys.OWNER_NAME]
        assert kept == hostile
        lines = [m.value for m in ben.markdown if run_id[-4:] in m.value]
        assert lines and owner.plain(kept) in lines[0]
        assert "**Ana**" not in lines[0] and "[x](" not in lines[0] and ":red[" not in lines[0]
        table = ben.dataframe[0].value  # a table cell is plain text as it is
        assert table.loc[table["id"] == run_id, "by"].tolist() == [hostile]
    finally:
        stop_all()
        wait_for_jobs()
    assert owner.plain("a*b_c[d](e):f<g>") == "a\\*b\\_c\\[d\\]\\(e\\)\\:f\\<g\\>"


def test_a_queued_run_shows_its_place_and_its_owner_can_cancel_it(tiny_data, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_JOBS", "1")
    ana, ben = open_train(), open_train()
    start_long(ana)
    try:
        form(ben, "epochs").set_value(1)
        button(ben, "Start training").click().run()
        (queued,) = [j for j in resources.job_manager().jobs() if j.status == "queued"]
        assert any(s.value.startswith("Queued") for s in ben.success)
        assert "queued: 1st in line" in page_text(ben) and "Cancel" in labels(ben)
        ana.run()
        assert "Cancel" not in labels(ana)
        assert "1 more training of the class waiting in the queue" in page_text(ana)
        next(b for b in ben.button if b.label == "Cancel").click().run()
        assert resources.job_manager().get(queued.run_id) is None
    finally:
        stop_all()
        wait_for_jobs()


def test_each_student_has_an_own_seed_unless_the_link_fixes_one(tiny_data):
    ana, ben = open_train(), open_train()
    seeds = form(ana, "seed").value, form(ben, "seed").value
    assert seeds[0] != seeds[1]
    assert any(c.value.startswith(f"Your seed is {seeds[0]}") for c in ana.caption)
    assert "seed" not in ana.query_params and "seed=" not in link_text(ana)
    fixed = open_train({"seed": "7"})
    assert form(fixed, "seed").value == 7 and any(c.value.startswith("Seed 7 is fixed") for c in fixed.caption)
    assert "seed=7" in link_text(fixed)


def test_copy_link_uses_the_address_the_browser_used(tiny_data):
    at = open_train()
    at.context["url"] = "http://192.168.1.20:8501/train"
    at.run()
    assert link_text(at).startswith("http://192.168.1.20:8501/train")
    assert not any("no other computer can open" in c.value for c in at.caption)
    at.context["url"] = "http://127.0.0.1:8501/train"
    at.run()
    assert any("no other computer can open" in c.value for c in at.caption)


def test_a_job_started_in_the_library_belongs_to_the_teacher(tiny_data):
    manager = resources.job_manager()
    run_id = manager.start(TrainConfig(**LONG), load_folder(tiny_data), owner=TEACHER)
    try:
        at = open_train()
        assert "Stop" not in labels(at) and "the teacher" in page_text(at)
    finally:
        manager.stop(run_id, by=TEACHER)
        wait_for_jobs()
