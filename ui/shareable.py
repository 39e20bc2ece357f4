"""Settings that live in the page's URL, so a teacher can hand out a link that opens the same setup.

Pure functions over a plain dict of query parameters (what `st.query_params.to_dict()` gives): parsing
never raises; every value that cannot be used falls back to its default and is named in a notice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnviz.config import SETTINGS, TrainConfig, rule
from rnnviz.data import DataError, clean_name
from ui import presenter

PRESENT = presenter.PRESENT  # ?present=1 turns presenter mode on
TRAIN_FIELDS = tuple(name for name, spec in SETTINGS.items() if spec.in_link)
ALIASES = {spec.short: name for name, spec in SETTINGS.items() if spec.short}  # ?lr= for learning_rate
DATASET = "data"  # a named dataset; absent means the surname data
GATES_RUN, GATES_NAME, GATES_SECOND = "run", "name", "vs"
CURVE_X = ("step", "epoch", "time")
SMOOTH, XAXIS, LOG = "smooth", "x", "log"
MAX_SMOOTH = 0.99  # the slider's end; TensorBoard's too (rnnviz.smoothing itself accepts up to 0.999)
CURVE_DEFAULTS = {SMOOTH: 0.0, XAXIS: "epoch", LOG: False}
MAX_PARAM_CHARS = 200  # longer values are never valid and are not echoed back in full
TRUE_WORDS = presenter.ON_WORDS
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass
class Parsed:
    """Values to use (defaults where the URL said nothing usable) and one notice per ignored value."""

    values: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def notice(self) -> str:
        """All notices as one line for the page, or ''."""
        return ("Ignored from the link: " + "; ".join(self.notices) + ".") if self.notices else ""


def _last(value: str | Sequence[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value[-1]) if len(value) else None


def _show(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:29] + "…")


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("not true/false")


def _convert(name: str, text: str) -> Any:
    default = getattr(TrainConfig(), name)
    if isinstance(default, bool):
        return _parse_bool(text)
    if isinstance(default, int):
        number = float(text)
        if not math.isfinite(number) or number != int(number):
            raise ValueError("not a whole number")
        return int(number)
    if isinstance(default, float):
        number = float(text)
        if not math.isfinite(number):
            raise ValueError("not finite")
        return number
    return text.strip().lower()


def parse_train(params: Mapping[str, Any], datasets: Sequence[str] = ()) -> Parsed:
    """TrainConfig values (every field, defaults filled in) and the dataset name from a Train page URL."""
    defaults = TrainConfig().to_dict()
    parsed = Parsed(values=dict(defaults))
    parsed.values[DATASET] = ""
    for key, raw in params.items():
        name = ALIASES.get(key, key)
        text = _last(raw)
        if text is None or name in (PRESENT, SMOOTH, XAXIS, LOG):
            continue
        if len(text) > MAX_PARAM_CHARS:
            parsed.notices.append(f"{key} (too long)")
            continue
        if name == DATASET:
            if text in datasets:
                parsed.values[DATASET] = text
            elif text:
                parsed.notices.append(f"{key}={_show(text)} (no such dataset; using the surname data)")
            continue
        if name not in TRAIN_FIELDS:
            parsed.notices.append(f"{_show(key)} (not a setting of this page)")
            continue
        try:
            value = _convert(name, text)
            TrainConfig(**{**defaults, name: value})
        except (ValueError, TypeError):
            parsed.notices.append(f"{key}={_show(text)} (must be {rule(name)})")
            continue
        parsed.values[name] = value
    config = {k: v for k, v in parsed.values.items() if k != DATASET}
    try:
        TrainConfig(**config)
    except ValueError as exc:
        # Each value was fine alone; only the fractions are checked together.
        parsed.values["val_fraction"], parsed.values["test_fraction"] = (defaults["val_fraction"],
                                                                         defaults["test_fraction"])
        parsed.notices.append(f"val_fraction and test_fraction ({exc})")
    return parsed


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def train_query(config: TrainConfig | Mapping[str, Any], dataset: str = "") -> dict[str, str]:
    """Query parameters for a Train page link: the model always, other settings where they differ from defaults."""
    values = config.to_dict() if isinstance(config, TrainConfig) else dict(config)
    defaults = TrainConfig().to_dict()
    query = {"model": str(values["model"])}
    for name in TRAIN_FIELDS[1:]:
        if name in values and values[name] != defaults[name]:
            query[name] = _text(values[name])
    if dataset:
        query[DATASET] = dataset
    return query


def parse_gates(params: Mapping[str, Any], run_ids: Sequence[str]) -> Parsed:
    """The run and surnames of a Gates page URL; '' for each one absent or unusable."""
    parsed = Parsed(values={GATES_RUN: "", GATES_NAME: "", GATES_SECOND: ""})
    run = _last(params.get(GATES_RUN))
    if run:
        if run in run_ids:
            parsed.values[GATES_RUN] = run
        else:
            parsed.notices.append(f"run={_show(run)} (no such run with gates on this server)")
    for key in (GATES_NAME, GATES_SECOND):
        name = _last(params.get(key))
        if not name:
            continue
        try:
            clean_name(name)
        except DataError as exc:
            parsed.notices.append(f"{key}={_show(name)} ({exc})")
        else:
            parsed.values[key] = name[:MAX_PARAM_CHARS]
    return parsed


def gates_query(run: str, name: str, second: str = "") -> dict[str, str]:
    """Query parameters for a Gates page link: run, surname and (as vs) the second surname, where given."""
    return {k: v for k, v in ((GATES_RUN, run), (GATES_NAME, name), (GATES_SECOND, second)) if v}


def parse_curves(params: Mapping[str, Any]) -> Parsed:
    """Curve display settings: smoothing weight, x axis (step | epoch | time) and log-scale loss."""
    parsed = Parsed(values=dict(CURVE_DEFAULTS))
    smooth = _last(params.get(SMOOTH))
    if smooth is not None:
        try:
            weight = float(smooth)
            if not 0.0 <= weight <= MAX_SMOOTH:
                raise ValueError
            parsed.values[SMOOTH] = round(weight, 2)
        except ValueError:
            parsed.notices.append(f"smooth={_show(smooth)} (must be a number in [0, {MAX_SMOOTH}])")
    axis = _last(params.get(XAXIS))
    if axis is not None:
        if axis.strip().lower() in CURVE_X:
            parsed.values[XAXIS] = axis.strip().lower()
        else:
            parsed.notices.append(f"x={_show(axis)} (must be one of {', '.join(CURVE_X)})")
    log = _last(params.get(LOG))
    if log is not None:
        try:
            parsed.values[LOG] = _parse_bool(log)
        except ValueError:
            parsed.notices.append(f"log={_show(log)} (must be 1 or 0)")
    return parsed


def curves_query(smooth: float, x: str, log: bool) -> dict[str, str]:
    """Query parameters for the curve display settings that differ from the defaults."""
    query = {}
    if smooth:
        query[SMOOTH] = repr(round(float(smooth), 2))
    if x != CURVE_DEFAULTS[XAXIS]:
        query[XAXIS] = x
    if log:
        query[LOG] = "1"
    return query


def presenting(params: Mapping[str, Any]) -> bool:
    """Whether the URL asks for presenter mode (?present=1)."""
    return presenter.link_asks(params)


def query_changes(current: Mapping[str, Any], wanted: Mapping[str, str], keep: Sequence[str] = (PRESENT,)
                  ) -> tuple[dict[str, str], list[str]]:
    """What to set and what to delete so the URL's query holds `wanted` plus the `keep` keys it already has.

    Every other key goes: settings back at their defaults, and values a notice already said were ignored.
    """
    to_set = {key: value for key, value in wanted.items() if _last(current.get(key)) != value}
    to_delete = sorted(key for key in current if key not in wanted and key not in keep)
    return to_set, to_delete


def share_link(page_url: str | None, query: Mapping[str, str], page_path: str = "/train") -> str:
    """The link to hand out: the page's URL as the browser has it (st.context.url), else its path, plus the query."""
    from urllib.parse import urlencode

    base = (page_url or page_path).split("?", 1)[0].split("#", 1)[0]
    return f"{base}?{urlencode(dict(query))}" if query else base



LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")


def is_host(host: str) -> bool:
    """Whether a Host header looks like a host name or address with an optional port (nothing else to build on)."""
    import re

    return bool(re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?", host or ""))


def is_loopback(url: str | None) -> bool:
    """Whether a page address only works on the server itself (localhost, 127.0.0.1, ::1)."""
    from urllib.parse import urlsplit

    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK or host.startswith("127.")
