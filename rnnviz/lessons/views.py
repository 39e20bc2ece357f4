"""What a lesson step can show: each live view, the runs it reads (by role), the settings it takes, the
placeholders it fills and the outcomes a reveal or a multiple-choice answer can depend on.

Pure data, so a lesson file is checked without loading a model. rnnviz.lessons.facts computes every fact named
here (a test holds the two to each other).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import GATE_MODELS, MODEL_KEYS

ROLES = MODEL_KEYS  # a run role is a model key: "lstm" is the newest finished nn.LSTM on the surname data
GATE_ROLES = GATE_MODELS  # roles whose runs have gates to read
SETTINGS = ("name", "letter", "unit", "gate", "value", "length", "distance", "run")
DECIDING = "deciding"  # unit = "deciding": the unit that adds most to the predicted category at the last letter


@dataclass(frozen=True)
class View:
    key: str
    label: str
    roles: tuple[str, ...]  # runs it reads; the first gate role can be swapped by the step's `run`
    facts: tuple[str, ...]  # placeholders it fills
    outcomes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # fact -> the values it can take
    numbers: tuple[str, ...] = ()  # facts that are plain numbers (a numeric estimate's answer)
    settings: tuple[str, ...] = ()  # step settings it takes
    surnames: bool = True  # its numbers are about surnames (typed ones, or the report's task): surname-data runs only


WINNER = ("lstm_wins", "rnn_wins", "tie")
FADE = ("rnn", "elman", "lstm")
BAND = ("keep", "half", "forget")
CHANGE = ("drops", "same", "rises")

VIEWS: dict[str, View] = {view.key: view for view in (
    View("report", "The report's figures", (), ("report_rnn", "report_lstm")),
    View("accuracy", "Test accuracy of the class's runs", ("rnn", "lstm"),
         ("acc_rnn", "acc_lstm", "margin", "winner_label"), {"winner": WINNER}, ("acc_rnn_pct", "acc_lstm_pct")),
    View("curves", "Validation accuracy while training", ("rnn", "lstm"),
         ("first_rnn", "first_lstm", "best_rnn", "best_lstm", "epochs"), {"faster": ("lstm", "rnn", "tie")}),
    View("confusion", "Confusion matrices", ("rnn", "lstm"),
         ("bal_rnn", "bal_lstm", "confused_true", "confused_pred", "confused_count", "validation_names")),
    View("gradient", "How far back the gradient reaches", ("rnn", "elman", "lstm"),
         ("keep_rnn", "keep_elman", "keep_lstm", "fades_most", "distance"), {"fades": FADE},
         settings=("distance",)),
    View("probe", "The memory probe", (),
         ("probe_rnn", "probe_lstm", "chance", "length", "seeds"), {"remembers": ("lstm", "rnn", "both", "neither")},
         ("probe_rnn_count", "probe_lstm_count"), ("length",)),
    View("cell_step", "One LSTM step", ("lstm",),
         ("name", "letter", "position", "unit", "f", "i", "g", "o", "c_prev", "c", "h", "top", "top_p"),
         {"band": BAND}, ("f_value", "c_value"), ("name", "letter", "unit", "run")),
    View("memory", "Memory over time", ("lstm", "rnn"),
         ("name", "unit", "rnn_unit", "f_mean", "f_min", "f_min_letter", "c_first", "c_last", "top"),
         {"memory": ("keeps", "forgets")}, settings=("name", "unit", "run")),
    View("what_if", "What if: clamp a gate", ("lstm",),
         ("name", "category", "p_before", "p_after", "change", "top_after", "intervention"), {"effect": CHANGE},
         ("p_before_pct", "p_after_pct"), ("name", "letter", "unit", "gate", "value", "run")),
    View("ngram", "The n-gram baseline", ("ngram", "rnn", "lstm"),
         ("acc_ngram", "acc_rnn", "acc_lstm", "margin"), {"baseline": ("ngram_wins", "lstm_wins", "tie")},
         ("acc_ngram_pct",)),
)}


def roles_of(view: View, run: str | None = None) -> tuple[str, ...]:
    """The roles a step of this view reads; `run` (a gate role) replaces its LSTM."""
    if not run:
        return view.roles
    return tuple(run if role in GATE_ROLES else role for role in view.roles)
