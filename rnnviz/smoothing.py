"""Curve smoothing as TensorBoard does it: a debiased exponential moving average.

TensorBoard keeps `last = last * w + (1 - w) * x` from last = 0 and divides by `1 - w**n` (n: finite points
seen), so the first smoothed point equals the first value instead of being pulled towards zero. pandas'
`ewm(alpha=1 - w, adjust=True)` computes exactly that weighted mean; non-finite points stay as they are and
do not count towards n.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MAX_WEIGHT = 0.999  # w = 1 would freeze the curve at its first value


def check_weight(weight: float) -> float:
    """The weight as a float in [0, MAX_WEIGHT]; ValueError naming the range otherwise."""
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"smoothing must be a number in [0, {MAX_WEIGHT}] (got {weight!r})") from None
    if not 0.0 <= value <= MAX_WEIGHT:
        raise ValueError(f"smoothing must be in [0, {MAX_WEIGHT}] (got {weight!r})")
    return value


def ema(values: Sequence[float] | np.ndarray | pd.Series, weight: float) -> np.ndarray:
    """Debiased EMA of a series; NaN and infinite points are passed through and skipped by the average."""
    weight = check_weight(weight)
    series = pd.Series(np.asarray(values, dtype=float))
    if series.empty or weight == 0.0:
        return series.to_numpy(copy=True)
    finite = np.isfinite(series.to_numpy())
    smoothed = series.where(finite).ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean().to_numpy()
    return np.where(finite, smoothed, series.to_numpy())


def smooth_frame(frame: pd.DataFrame, weight: float, by: str | Sequence[str] | None = None,
                 value: str = "value", order: str | None = None, out: str = "smoothed") -> pd.DataFrame:
    """A copy of frame with column `out`: the EMA of `value` within each group of `by`, in `order` order."""
    weight = check_weight(weight)
    result = frame.copy()
    if result.empty:
        result[out] = pd.Series(dtype=float)
        return result
    ordered = result.sort_values(order, kind="stable") if order else result
    if by is None:
        result[out] = pd.Series(ema(ordered[value], weight), index=ordered.index)
        return result
    parts = [pd.Series(ema(group[value], weight), index=group.index)
             for _, group in ordered.groupby(by, sort=False)]
    result[out] = pd.concat(parts)
    return result
