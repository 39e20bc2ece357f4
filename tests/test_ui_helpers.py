"""Small helpers of the ui modules that need no running page: key builders, counts in words, the Gates page's
letter labels and strip sizes."""

from __future__ import annotations

from ui import display, keys
from ui.gates_common import letter_name, strip_cell


def test_widget_keys_built_from_their_parts_are_distinct_and_stable():
    assert keys.job_button("stop", "run-1") == "stop-run-1"  # the browser test finds .st-key-stop-RUN
    assert keys.download("png", "curves") != keys.download("svg", "curves")
    assert keys.keyed(keys.GATES_UNIT, "run-1", "Nakamura") != keys.keyed(keys.GATES_UNIT, "run-1", "Schmidt")


def test_every_key_constant_is_unique():
    values = [value for name, value in vars(keys).items() if name.isupper()]
    assert len(values) == len(set(values))


def test_small_counts_read_as_words_and_large_ones_as_digits():
    assert [display.in_words(n) for n in (1, 2, 3, 10)] == ["one", "two", "three", "ten"]
    assert display.in_words(16) == "16" and display.in_words(1200) == "1,200"


def test_letters_are_numbered_from_one_on_screen_and_a_space_is_visible():
    assert letter_name("Ng Li", 0) == "1: N"
    assert letter_name("Ng Li", 2) == "3: ␣"


def test_letter_strips_shrink_for_long_names_and_stay_within_their_bounds():
    short = [("+ Abe (Japanese)", "Abe", [0.1] * 3)]
    long = [("+ Featherstonehaugh (English)", "Featherstonehaugh", [0.1] * 17)]
    assert strip_cell(short, 460) == 24  # as large as allowed
    assert strip_cell(long, 460) < strip_cell(short, 460)
    assert strip_cell(long, 460) * 17 + len(long[0][0]) * 8 + 30 <= 460
    assert strip_cell(long, 100) == 6  # never smaller than legible


def test_the_live_panel_speeds_up_when_a_queued_training_of_this_browser_starts(monkeypatch):
    from types import SimpleNamespace

    from ui import live_panel, owner

    monkeypatch.setattr(owner, "me", lambda: "ana")
    queued, running = SimpleNamespace(status="queued", owner="ana"), SimpleNamespace(status="running", owner="ana")
    others = SimpleNamespace(status="running", owner="ben")
    assert not live_panel.working_here([queued, others], teacher=False)  # waiting: the slow refresh
    assert live_panel.working_here([running, others], teacher=False)  # started: the panel reruns at 1 s
    assert live_panel.working_here([queued, others], teacher=True)  # the teacher follows every training
