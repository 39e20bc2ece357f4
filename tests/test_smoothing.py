"""The debiased EMA matches TensorBoard's loop, passes NaNs through, and smooths each group on its own."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnviz.smoothing import ema, smooth_frame


def tensorboard_loop(values, weight):
    """TensorBoard's smoothing written out as its loop, for comparison."""
    last, seen, out = 0.0, 0, []
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        seen += 1
        out.append(last / (1 - weight**seen))
    return out


def test_weight_zero_returns_the_series_unchanged():
    values = [3.0, 1.0, 4.0, 1.0, 5.0]
    assert ema(values, 0.0).tolist() == values


def test_constant_series_stays_constant_at_any_weight():
    for weight in (0.3, 0.9, 0.999):
        np.testing.assert_allclose(ema([2.5] * 50, weight), 2.5)


def test_first_smoothed_point_equals_first_value_thanks_to_debiasing():
    assert ema([7.0, 1.0, 1.0], 0.95)[0] == pytest.approx(7.0)


def test_nan_points_pass_through_and_do_not_count():
    values = [1.0, 2.0, float("nan"), 3.0, float("inf"), 4.0]
    out = ema(values, 0.6)
    assert math.isnan(out[2]) and math.isinf(out[4])
    np.testing.assert_allclose(out, tensorboard_loop(values, 0.6))


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40), st.floats(0.0, 0.99))
def test_matches_tensorboards_loop(values, weight):
    np.testing.assert_allclose(ema(values, weight), tensorboard_loop(values, weight), rtol=1e-9, atol=1e-6)


def test_heavier_weight_gives_a_smoother_curve():
    rng = np.random.default_rng(0)
    noisy = np.linspace(2, 0.5, 200) + rng.normal(0, 0.3, 200)
    light, heavy = ema(noisy, 0.5), ema(noisy, 0.95)
    assert np.abs(np.diff(heavy)).sum() < np.abs(np.diff(light)).sum() < np.abs(np.diff(noisy)).sum()


@pytest.mark.parametrize("weight", [-0.1, 1.0, "heavy", float("nan")])
def test_out_of_range_weight_is_refused_with_the_range(weight):
    with pytest.raises(ValueError, match="smoothing must be"):
        ema([1.0, 2.0], weight)


def test_smooth_frame_smooths_each_group_separately_in_step_order():
    frame = pd.DataFrame({"run": ["a", "b", "a", "b"], "step": [2, 1, 1, 2], "value": [3.0, 10.0, 1.0, 20.0]})
    out = smooth_frame(frame, 0.5, by="run", order="step")
    a = out[out["run"] == "a"].sort_values("step")["smoothed"].tolist()
    b = out[out["run"] == "b"].sort_values("step")["smoothed"].tolist()
    np.testing.assert_allclose(a, tensorboard_loop([1.0, 3.0], 0.5))
    np.testing.assert_allclose(b, tensorboard_loop([10.0, 20.0], 0.5))
    assert out["value"].tolist() == frame["value"].tolist()


def test_smooth_frame_of_an_empty_frame_has_the_column():
    out = smooth_frame(pd.DataFrame({"value": []}), 0.5)
    assert "smoothed" in out.columns and out.empty
