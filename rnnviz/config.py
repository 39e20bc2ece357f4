"""The settings of a training run: each hyperparameter described once (its Setting), the TrainConfig that holds
them, the rules the CLI, the Train form and shared links are generated from, and the device a run trains on."""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from .common import shorten
from .registry import MODEL_KEYS, MODELS_HELP, REPORT_SIZES, resolved_hidden_size
from .registry import spec as model_spec


@dataclass(frozen=True)
class Setting:
    """What a maintainer writes once about a hyperparameter; the CLI flags, the Train form, the link fields and
    validation are all generated from it."""

    label: str  # the form's label
    help: str  # the form's tooltip and the CLI's --help
    limits: tuple[float, float] | None = None  # numbers: the allowed range, both ends included
    choices: tuple[str, ...] | None = None  # text: the allowed values
    short: str | None = None  # a short name for the CLI flag (--lr) and the link (?lr=) besides the field's own
    advanced: bool = False  # hidden in presenter mode
    group: str = "main"  # where the form puts it: "main", or "split" (the "Split and evaluation" expander)
    in_link: bool = True  # carried in a shared link (the device is the server's business, not the link's)
    step: float | None = None  # the form's +/- step
    format: str | None = None  # the form's number format, e.g. "%.4f"
    zero_means: str | None = None  # the form shows 0 as an empty box with this placeholder

    @property
    def flag(self) -> str:
        return f"--{self.short}" if self.short else ""


def setting(default: Any, label: str, help: str, **options: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(label, help, **options)})


@dataclass
class TrainConfig:
    """Every hyperparameter of a run; saved with the model so it can be rebuilt from disk.

    Each field's Setting (its label, help, limits or choices, CLI flag, whether it is advanced) is the one place
    that describes it: see SETTINGS below.
    """

    model: str = setting("lstm", "Model", MODELS_HELP, choices=MODEL_KEYS)
    hidden_size: int = setting(0, "Hidden size",
                               "Units in the recurrent state; 0 (an empty box in the app) is the report's size: "
                               + REPORT_SIZES + ".", limits=(0, 1024), step=16, zero_means="model default")
    optimizer: str = setting("adam", "Optimizer",
                             "Adam adapts a step size per weight; SGD uses the learning rate as it is.",
                             choices=("adam", "sgd"), advanced=True)
    learning_rate: float = setting(0.01, "Learning rate",
                                   "Step size. Adam: about 0.001 to 0.01. SGD needs larger values, about 0.05 to 0.5.",
                                   limits=(1e-6, 10.0), short="lr", step=0.001, format="%.4f")
    lr_schedule: str = setting("cosine", "Learning-rate schedule",
                               "cosine: the learning rate decays smoothly to zero by the last step, which settles the "
                               "last epochs. constant: it stays fixed.", choices=("constant", "cosine"), advanced=True)
    batch_size: int = setting(32, "Batch size",
                              "Names per gradient step. 1 is the tutorial's one-name-at-a-time training (slow, noisy).",
                              limits=(1, 1024))
    epochs: int = setting(8, "Epochs", "Passes over the training names.", limits=(1, 200))
    clip_grad: float = setting(1.0, "Gradient clipping (max norm)",
                               "Largest allowed gradient norm per step; keeps RNN updates from exploding. 0 turns "
                               "clipping off.", limits=(0.0, 1000.0), step=0.5, advanced=True)
    weight_decay: float = setting(0.0, "Weight decay", "L2 penalty on the weights; 0 turns it off.",
                                  limits=(0.0, 1.0), step=0.0001, format="%.4f", advanced=True)
    seed: int = setting(0, "Seed",
                        "Fixes the split, the initial weights and the batch order: two runs with the same seed differ "
                        "only in their settings.", limits=(0, 2**31 - 1))
    device: str = setting("auto", "Device",
                          "auto trains on the CPU unless this machine's measurement (python -m benchmarks devices) "
                          "found its CUDA GPU faster for the model at the nearest measured size; small models, "
                          "like the report's, train faster on one CPU thread.",
                          choices=("auto", "cpu", "cuda"), advanced=True, in_link=False)
    class_balanced: bool = setting(True, "Class-balanced loss",
                                   "Weight the loss by category frequency (see the class-weight power), so the 9,000 "
                                   "Russian names do not drown the 100 Vietnamese ones. Raises balanced accuracy, "
                                   "lowers plain accuracy a little.")
    class_weight_power: float = setting(0.5, "Class-weight power",
                                        "With the class-balanced loss, each category's weight is its count to the "
                                        "power -p: 1 is full inverse frequency, 0.5 a softened version that keeps "
                                        "more plain accuracy, 0 no weighting.", limits=(0.0, 2.0), step=0.1,
                                        advanced=True)
    logit_adjustment: float = setting(0.0, "Logit adjustment",
                                      "While training, add this times log(category share) to the model's scores "
                                      "before the loss (a balanced softmax), so the model need not learn how large "
                                      "each language is; its predictions then favour small languages more. 0 "
                                      "turns it off, 1 is the full correction.", limits=(0.0, 2.0), step=0.1,
                                      advanced=True)
    label_smoothing: float = setting(0.2, "Label smoothing",
                                     "Share of each target spread evenly over all categories; keeps the model "
                                     "from becoming over-confident. 0 turns it off.", limits=(0.0, 0.5), step=0.05,
                                     advanced=True)
    val_fraction: float = setting(0.1, "Validation fraction",
                                  "Share of each category held out for validation (the live val curves).",
                                  limits=(0.01, 0.5), step=0.05, group="split", advanced=True)
    test_fraction: float = setting(0.1, "Test fraction",
                                   "Share of each category held out for the final test accuracy.",
                                   limits=(0.0, 0.5), step=0.05, group="split", advanced=True)
    eval_every: int = setting(0, "Steps between curve points",
                              "Training steps between points on the live curves (spread evenly over each epoch, "
                              "so every point averages about as many steps); 0 gives 8 points per epoch. Where "
                              "they are far enough apart, the first epoch also has an early point after its first "
                              "few hundred names, so the curves begin right after Start.",
                              limits=(0, 1_000_000), group="split", advanced=True)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name, options in self.CHOICES.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value not in options:
                raise ValueError(f"{name} must be one of {', '.join(options)} (got {_short_repr(value)})")
        for name, (low, high) in self.LIMITS.items():
            value = getattr(self, name)
            if not _is_finite_number(value):
                raise ValueError(f"{name} must be a number in [{low}, {high}] (got {_short_repr(value)})")
            if not low <= value <= high:
                raise ValueError(f"{name} must be in [{low}, {high}] (got {_short_repr(value)})")
            if isinstance(low, int) and int(value) != value:
                raise ValueError(f"{name} must be a whole number in [{low}, {high}] (got {value})")
            # 2.0 epochs or a numpy integer must still work as a count, and save as plain JSON.
            setattr(self, name, int(value) if isinstance(low, int) else float(value))
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ValueError("val_fraction + test_fraction must be below 0.9")
        for name, spec in SETTINGS.items():
            if spec.limits is None and spec.choices is None and not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")

    @property
    def resolved_hidden_size(self) -> int:
        return resolved_hidden_size(self.model, self.hidden_size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from saved or user values; unknown keys are an error naming the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}: known are {', '.join(sorted(known))}")
        return cls(**values)


SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in fields(TrainConfig)}
TrainConfig.LIMITS = {name: s.limits for name, s in SETTINGS.items() if s.limits is not None}
TrainConfig.CHOICES = {name: s.choices for name, s in SETTINGS.items() if s.choices is not None}


def rule(name: str) -> str:
    """What a field accepts, in words: 'one of adam, sgd', 'a number in [1, 200]', 'true or false'."""
    spec = SETTINGS[name]
    if spec.choices is not None:
        return "one of " + ", ".join(spec.choices)
    if spec.limits is not None:
        return f"a number in [{spec.limits[0]}, {spec.limits[1]}]"
    return "true or false"


def _is_finite_number(value: Any) -> bool:
    """A real number that is not a bool, NaN or infinite (huge integers included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if isinstance(value, numbers.Integral):
        return True
    try:
        return math.isfinite(value)
    except (OverflowError, ValueError):
        return False


def _short_repr(value: Any, limit: int = 40) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer with more digits than Python will print
        text = "a number too large to show"
    return shorten(text, limit)


# ---------------------------------------------------------------- the device `auto` picks
#
# A training step of the report's models is too small to fill a GPU, which then loses to one CPU thread on launch
# costs (measured on an H200 machine: nn.LSTM at hidden 64, batch 32 trained 9,493 names/s on the GPU against 12,520
# on one CPU thread). So `auto` is the CPU unless this machine's own measurement (`python -m benchmarks devices`)
# found the GPU faster for the model at the nearest measured hidden size and batch size.

DEVICES_ENV = "RNNVIZ_DEVICES"  # a path that overrides where the measurement is read and written
DEVICES_FILE = "devices.json"
DEVICES_FORMAT = 1
MEASURE_HINT = "python -m benchmarks devices measures both"


def devices_path() -> Path:
    """Where this machine's CPU-against-GPU measurement lives: RNNVIZ_DEVICES, else devices.json in rnnviz's cache
    folder (RNNVIZ_CACHE, else ~/.cache/rnnviz). A file per machine, not in the runs folder: machines that share a
    runs folder (a Dask cluster) can have different GPUs, and a training reads the file of the machine it trains on."""
    from .data import cache_dir

    override = os.environ.get(DEVICES_ENV, "").strip()
    return Path(override).expanduser() if override else cache_dir() / DEVICES_FILE


@dataclass(frozen=True)
class DeviceSpeed:
    """One measured size: names per second on one CPU thread and, where there is one, on the GPU."""

    model: str
    hidden_size: int
    batch_size: int
    cpu: float
    cuda: float | None = None

    @property
    def faster(self) -> str:
        return "cuda" if self.cuda is not None and self.cuda > self.cpu else "cpu"


def write_device_speeds(speeds: list[DeviceSpeed], machine: dict[str, Any], path: Path | None = None) -> Path:
    """Record a measurement (atomically, so a reader never sees half a file); returns its path."""
    path = devices_path() if path is None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**asdict(speed), "faster": speed.faster} for speed in speeds]
    text = json.dumps({"format": DEVICES_FORMAT, "measured": time.time(), "machine": machine, "speeds": rows},
                      indent=2)
    handle, staged = tempfile.mkstemp(prefix=".devices-", suffix=".json", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    os.replace(staged, path)
    return path


def read_device_speeds(path: Path | None = None) -> list[DeviceSpeed]:
    """The measured sizes; none when there is no file, or it cannot be read or understood (then `auto` is the CPU)."""
    path = devices_path() if path is None else Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        rows = values["speeds"] if values.get("format") == DEVICES_FORMAT else []
        speeds = [DeviceSpeed(str(row["model"]), int(row["hidden_size"]), int(row["batch_size"]), float(row["cpu"]),
                              None if row.get("cuda") is None else float(row["cuda"])) for row in rows]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []
    return [s for s in speeds if s.hidden_size > 0 and s.batch_size > 0 and math.isfinite(s.cpu)]


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # cpu | cuda
    reason: str  # why, in words


def auto_device(model: str, hidden_size: int, batch_size: int, speeds: list[DeviceSpeed] | None = None,
                gpu: bool | None = None) -> DeviceChoice:
    """The device `auto` trains `model` at this size on, and why: the GPU only where this machine's measurement
    (`speeds`, default: read from devices_path()) found it faster at the nearest measured size (nearest in
    factors of two of the hidden size and of the batch size) and torch sees a CUDA GPU (`gpu`, default: ask
    torch); else the CPU. Torch is asked only then: its check can set up CUDA in this process, which processes
    forked from it afterwards (the workers, from their fork server) could not use."""
    measured = [s for s in (read_device_speeds() if speeds is None else speeds)
                if s.model == model and s.cuda is not None]
    if not measured:
        return DeviceChoice("cpu", f"no measurement of {model_spec(model).label} on this machine: CPU "
                                   f"({MEASURE_HINT})")
    hidden, batch = resolved_hidden_size(model, hidden_size), max(1, batch_size)
    nearest = min(measured, key=lambda s: (abs(math.log2(s.hidden_size / hidden)) + abs(math.log2(s.batch_size /
                                                                                                   batch)),
                                           s.hidden_size, s.batch_size))
    if nearest.faster == "cuda" and not (torch.cuda.is_available() if gpu is None else gpu):
        return DeviceChoice("cpu", "no CUDA GPU on this machine: CPU")
    where = "GPU" if nearest.faster == "cuda" else "CPU"
    return DeviceChoice(nearest.faster, f"measured on this machine: {where} ({model_spec(model).label} at hidden "
                                        f"{nearest.hidden_size}, batch {nearest.batch_size} trained "
                                        f"{nearest.cuda:,.0f} names/s on the GPU, {nearest.cpu:,.0f} on one CPU "
                                        "thread)")


def resolve_device(name: str, model: str = "", hidden_size: int = 0, batch_size: int = 0) -> torch.device:
    """The device a training of `model` at this size runs on (`auto`: see auto_device); `auto` without a model
    (inspecting a trained model, one name at a time) is the CPU."""
    if name == "auto":
        return torch.device(auto_device(model, hidden_size, batch_size).device if model else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available: use cpu or auto")
    return torch.device(name)
