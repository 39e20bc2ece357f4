"""The one table of models: each model's key, label, class, default size, and what it has.

Every model list, label and capability check in the library, the CLI and the app reads this table; code
compares model keys, never labels or class names. A lookup of an unknown key raises ValueError listing the keys.
The table itself does not import torch (the Home page shows labels before torch is loaded): a row names its
class by module and name, and `cls` imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Classifier, MyLSTM


@dataclass(frozen=True)
class ModelSpec:
    key: str  # the name in configs, run folders, URLs and CLI flags
    label: str  # the name shown to people
    class_path: str  # module.Class inside rnnviz
    default_hidden: int  # the report's size; 0: no hidden state
    has_gates: bool  # LSTM gates to show (an nn.LSTM through MyLSTM.from_lstm)
    recurrent: bool  # a state runs along the name; False: fitted in one go, no steps to watch
    in_report: bool  # one of the lab report's three
    readable: bool  # rnnviz.inside reads its states letter by letter (the Gates page takes it apart)
    about: str  # one sentence for the settings' help

    @property
    def cls(self) -> type[Classifier]:
        module, name = self.class_path.rsplit(".", 1)
        return getattr(import_module(f"{__package__}.{module}"), name)


TABLE = (
    ModelSpec("rnn", "RNN", "models.RNN", 128, has_gates=False, recurrent=True, in_report=True, readable=True,
              about="the tutorial's recurrent net (no gates, no nonlinearity in its recurrence)."),
    ModelSpec("lstm", "nn.LSTM", "models.LSTM", 64, has_gates=True, recurrent=True, in_report=True, readable=True,
              about="PyTorch's LSTM."),
    ModelSpec("mylstm", "MyLSTM", "models.MyLSTM", 64, has_gates=True, recurrent=True, in_report=True, readable=True,
              about="the same LSTM written gate by gate, so its gates can be shown."),
    ModelSpec("elman", "tanh RNN", "models.Elman", 64, has_gates=False, recurrent=True, in_report=False, readable=False,
              about="the textbook RNN (nn.RNN), whose gradients vanish."),
    ModelSpec("ngram", "n-gram baseline", "ngram.NGram", 0, has_gates=False, recurrent=False, in_report=False,
              readable=False,
              about="no recurrence at all, letter groups scored by a logistic regression (scikit-learn)."),
)
SPECS = {spec.key: spec for spec in TABLE}

MODEL_KEYS = tuple(SPECS)
MODEL_LABELS = {spec.key: spec.label for spec in TABLE}
REPORT_MODELS = tuple(spec.key for spec in TABLE if spec.in_report)
RECURRENT_MODELS = tuple(spec.key for spec in TABLE if spec.recurrent)  # trained by gradient steps
GATE_MODELS = tuple(spec.key for spec in TABLE if spec.has_gates)
READABLE_MODELS = tuple(spec.key for spec in TABLE if spec.readable)
REPORT_SIZES = ", ".join(f"{spec.label} {spec.default_hidden}" for spec in TABLE if spec.in_report)
MODELS_HELP = " ".join(f"{spec.label}: {spec.about}" for spec in TABLE)


def spec(key: str) -> ModelSpec:
    """The table's row for a model key; ValueError listing the keys for an unknown one."""
    if key not in SPECS:
        raise ValueError(f"unknown model {key!r}: choose one of {', '.join(SPECS)}")
    return SPECS[key]


def label(key: str) -> str:
    return spec(key).label


def spec_of(model: Classifier) -> ModelSpec:
    """The table's row for a built model."""
    by_class = _by_class()
    if type(model) not in by_class:
        raise ValueError(f"unregistered model class {type(model).__name__}: choose one of {', '.join(SPECS)}")
    return by_class[type(model)]


@cache
def _by_class() -> dict[type, ModelSpec]:
    return {spec.cls: spec for spec in TABLE}


def key_of(model: Classifier) -> str:
    return spec_of(model).key


def has_gates(model: Classifier | str) -> bool:
    return (spec(model) if isinstance(model, str) else spec_of(model)).has_gates


def build_model(name: str, input_size: int | None = None, hidden_size: int | None = None,
                output_size: int | None = None) -> Classifier:
    """Build a registered model by key; None takes the alphabet's size, the report's hidden size for the model,
    and the tutorial's 18 categories."""
    from .models import N_CATEGORIES, N_LETTERS

    row = spec(name)
    return row.cls(input_size=input_size or N_LETTERS, hidden_size=hidden_size or row.default_hidden,
                   output_size=output_size or N_CATEGORIES)


def resolved_hidden_size(name: str, hidden_size: int | None) -> int:
    """The hidden size a model is built with: the one asked for, else the model's default."""
    return hidden_size or spec(name).default_hidden


def no_gates_reason(model: Classifier | str) -> str:
    """Why a model has no gates to show, in one sentence."""
    row = spec(model) if isinstance(model, str) else spec_of(model)
    if not row.recurrent:
        return (f"gates exist only for {' and '.join(SPECS[k].label for k in GATE_MODELS)} runs; the "
                f"{row.label} has no state at all: it scores the letter groups of the whole name at once")
    return f"gates exist only for {' and '.join(SPECS[k].label for k in GATE_MODELS)} runs; the {row.label} has none"


def as_gate_model(model: Classifier) -> MyLSTM:
    """The model whose gates can be traced: a MyLSTM as is, an nn.LSTM run through MyLSTM.from_lstm."""
    if not has_gates(model):
        raise ValueError(no_gates_reason(model))
    return model.gate_model()


def structure_text(name: str) -> str:
    """`print(model)` of a freshly built model at the report's sizes, then its weights' names and shapes."""
    model = build_model(name)
    shapes = [f"  {weight}: {' x '.join(str(n) for n in tensor.shape)}" for weight, tensor in model.named_parameters()]
    total = sum(tensor.numel() for tensor in model.parameters())
    return "\n".join([str(model), "", f"weights ({total:,} numbers):", *shapes])
