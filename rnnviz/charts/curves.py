"""Training curves: long-form metrics, downsampling for display, smoothing, and the live curve chart."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from .. import smoothing
from .theme import series_colors, theme

MAX_CURVE_POINTS = 200  # per line (about 3 px each on a laptop): a refresh stays fast however long the run is
CURVE_METRICS = {"loss": ("train_loss", "val_loss"), "accuracy": ("train_acc", "val_acc")}
# x-axis choice -> (long-form column, axis title, number format)
CURVE_X = {"step": ("step", "step", "~s"), "epoch": ("epoch", "epoch", ""),
           "time": ("elapsed_s", "training time (s)", "")}
HOVER, HOVER_VIEW = "hover", "hover_rule"  # the curve charts' nearest-x selection and the view that holds it
POINTS_UP_TO = 60  # rows per line below which each evaluation is also drawn as a dot


class CurveChart(alt.LayerChart):
    """A layered curve chart whose to_dict skips altair's JSON-schema validation unless asked for.

    The page redraws live curves every second; validating the spec took longer than building it, and the spec
    is built by curve_chart alone, whose tests validate it (`to_dict(validate=True)`).
    """

    def to_dict(self, *args, validate: bool = False, **kwargs):
        return super().to_dict(*args, validate=validate, **kwargs)


def downsample(frame: pd.DataFrame, max_points: int = MAX_CURVE_POINTS, by: str | Sequence[str] | None = None
               ) -> pd.DataFrame:
    """At most max_points evenly spaced rows (per group of `by`), always keeping the first and last."""
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    if by is not None:
        if frame.empty:
            return frame.copy()
        parts = [downsample(group, max_points) for _, group in frame.groupby(by, sort=False)]
        return pd.concat(parts).sort_index()
    if len(frame) <= max_points:
        return frame.copy()
    return frame.iloc[even_indices(len(frame), max_points)].copy()


def even_indices(n: int, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most max_points evenly spaced items out of n, first and last included."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))


def rows_frame(rows: Sequence[dict], max_points: int | None = MAX_CURVE_POINTS) -> pd.DataFrame:
    """A live run's metric rows as a DataFrame, keeping only the rows `curves_long` would keep.

    Picking them from the list first spares building a frame of every logged row on each refresh.
    """
    if max_points is None:
        return pd.DataFrame(list(rows))
    return pd.DataFrame([rows[i] for i in even_indices(len(rows), max_points)])


def curves_long(metrics: pd.DataFrame, run: str = "", max_points: int | None = MAX_CURVE_POINTS, *,
                model: str = "", planned_epochs: float | None = None) -> pd.DataFrame:
    """Metric rows (step, epoch, elapsed_s, train_loss, val_loss, train_acc, val_acc) as long form:
    run, model, planned_epochs, epoch, step, elapsed_s, metric, split, value.

    `model` is the run's model key (its colour in every chart); `planned_epochs`, given while a run trains, lets
    the chart's x axis span the whole training from the start. `elapsed_s` is the trainer's training time at the
    evaluation (pauses excluded); rows without it get NaN. Rows are downsampled to max_points first (None keeps
    all), so a long run costs no more to draw than a short one.
    """
    columns = ["run", "model", "planned_epochs", "epoch", "step", "elapsed_s", "metric", "split", "value"]
    if metrics is None or len(metrics) == 0:
        return pd.DataFrame(columns=columns)
    if max_points is not None:
        metrics = downsample(metrics, max_points)
    elapsed = (pd.to_numeric(metrics["elapsed_s"], errors="coerce").to_numpy(float) if "elapsed_s" in metrics
               else np.full(len(metrics), np.nan))
    planned = float("nan") if planned_epochs is None else float(planned_epochs)
    frames = []
    for metric, (train_column, val_column) in CURVE_METRICS.items():
        for split, column in (("train", train_column), ("val", val_column)):
            frames.append(pd.DataFrame({
                "run": run, "model": model, "planned_epochs": planned, "epoch": metrics["epoch"].to_numpy(float),
                "step": metrics["step"].to_numpy(int),
                "elapsed_s": elapsed, "metric": metric, "split": split, "value": metrics[column].to_numpy(float),
            }))
    long = pd.concat(frames, ignore_index=True)
    return long[np.isfinite(long["value"])].reset_index(drop=True)[columns]


def curve_x_field(x: str) -> str:
    """The long-form column behind an x-axis choice (step | epoch | time)."""
    if x not in CURVE_X:
        raise ValueError(f"unknown x axis {x!r}: choose one of {', '.join(CURVE_X)}")
    return CURVE_X[x][0]


def smoothed_curves(long: pd.DataFrame, weight: float) -> pd.DataFrame:
    """A copy of long-form curves with column `smoothed`: the debiased EMA of each (run, metric, split) by step.

    Weight 0 copies `value`. The points smoothed are the ones drawn (after downsampling), as TensorBoard smooths
    the points it has sampled.
    """
    weight = smoothing.check_weight(weight)
    if weight == 0.0 or long.empty:
        return long.assign(smoothed=long["value"].astype(float))
    return smoothing.smooth_frame(long, weight, by=["run", "metric", "split"], order="step")


def hover_frames(shown: pd.DataFrame, x_field: str, max_points: int = MAX_CURVE_POINTS, smoothed: bool = False
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, str, str]]]:
    """What a TensorBoard-style hover reads: at each x of a shared grid, every series' nearest value.

    Returns (aligned, wide, series): `aligned` is long form (x, run, split, y) for the dots on the lines; `wide`
    has one row per grid x with a text column s0, s1, ... per series ("0.8123", or "0.8123 (raw 0.8012)" when
    smoothed) for the tooltip; `series` lists (column, run, split). A series only answers inside its own x range,
    so a run that ended earlier is not reported at later x.
    """
    xs = shown[x_field].to_numpy(float)
    grid = np.unique(xs)
    if len(grid) > max_points:
        grid = grid[np.unique(np.linspace(0, len(grid) - 1, max_points).round().astype(int))]
    wide = {x_field: grid}
    aligned: dict[str, list] = {x_field: [], "run": [], "split": [], "y": []}
    listed = []
    values, smooth = shown["value"].to_numpy(float), shown["smoothed"].to_numpy(float)
    groups = shown.groupby(["run", "split"], sort=True).indices
    for k, ((run, split), rows) in enumerate(groups.items()):
        order = rows[np.argsort(xs[rows], kind="stable")]
        x, y, raw = xs[order], smooth[order], values[order]
        inside = (grid >= x[0]) & (grid <= x[-1])
        # the nearest of the two neighbours of each grid x
        right = np.clip(np.searchsorted(x, grid), 0, len(x) - 1)
        left = np.clip(right - 1, 0, len(x) - 1)
        pick = np.where(np.abs(x[left] - grid) <= np.abs(x[right] - grid), left, right)
        at, raw_at = y[pick], raw[pick]
        text = np.char.mod("%.4f", at)
        if smoothed:
            text = np.char.add(np.char.add(text, " (raw "), np.char.add(np.char.mod("%.4f", raw_at), ")"))
        column = f"s{k}"
        wide[column] = np.where(inside, text, "")
        listed.append((column, run, split))
        count = int(inside.sum())
        aligned[x_field].append(grid[inside])
        aligned["y"].append(at[inside])
        aligned["run"].append(np.full(count, run, dtype=object))
        aligned["split"].append(np.full(count, split, dtype=object))
    aligned_frame = pd.DataFrame({key: np.concatenate(parts) if parts else np.array([])
                                  for key, parts in aligned.items()})
    return aligned_frame, pd.DataFrame(wide), listed


def planned_x_end(long: pd.DataFrame, x_field: str) -> float | None:
    """Where the x axis ends when the curves are drawn while training: the furthest planned end of a run with
    `planned_epochs`, in the axis's unit (steps and training seconds extrapolated from the epochs done so far);
    None when no run says how long it will train, or all are already past their plan."""
    if "planned_epochs" not in long or long.empty:
        return None
    ends = []
    for _, rows in long.groupby("run", sort=False):
        planned = float(rows["planned_epochs"].iloc[0])
        last = rows.iloc[int(np.argmax(rows["epoch"].to_numpy(float)))]
        if not planned == planned or not last["epoch"] > 0:  # NaN: no plan
            continue
        ends.append(float(last[x_field]) * planned / float(last["epoch"]) if x_field != "epoch" else planned)
    ends = [end for end in ends if end == end]
    if not ends or max(ends) <= float(long[x_field].max()):
        return None
    return max(ends)


def curve_chart(long: pd.DataFrame, metric: str, max_points: int = MAX_CURVE_POINTS, height: int = 220, *,
                smooth: float = 0.0, x: str = "epoch", log: bool = False, hover: bool = True) -> CurveChart:
    """One metric ("loss" or "accuracy"), a line per run in its model's colour (dashed = validation).

    Drawn as TensorBoard does: with `smooth` > 0 the debiased EMA is the solid line and the raw curve a faint one
    behind it; `x` is step, epoch or time (training seconds); `log` puts loss on a log scale spanning the data;
    with `hover` a vertical rule follows the pointer to the nearest x and its tooltip lists every line's value
    there. While a run with `planned_epochs` trains, the x axis spans its whole plan instead of growing.
    """
    if metric not in CURVE_METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose one of {', '.join(CURVE_METRICS)}")
    x_field = curve_x_field(x)
    weight = smoothing.check_weight(smooth)
    log = bool(log) and metric == "loss"
    data = long[long["metric"] == metric]
    data = data[np.isfinite(pd.to_numeric(data[x_field], errors="coerce").to_numpy(float))] if len(data) else data
    data = smoothed_curves(data, weight)
    if log and len(data):
        data = data[(data["value"] > 0) & (data["smoothed"] > 0)]
    longest = int(data.groupby(["run", "split"]).size().max()) if len(data) else 0
    x_end = planned_x_end(data, x_field)
    shown = downsample(data, max_points, by=["run", "split"]) if longest > max_points else data
    model_of = dict(zip(shown["run"], shown["model"])) if "model" in shown else {}
    shown = shown[["run", "split", "epoch", "step", "elapsed_s", "value", "smoothed"]].reset_index(drop=True)
    longest = min(longest, max_points)
    runs = sorted(shown["run"].unique().tolist()) if len(shown) else []
    several = len(runs) > 1
    splits = alt.Scale(domain=["train", "val"])
    # Coloured by run, each in its model's colour (the same in every overlay); one legend entry a row, so a long
    # run label is never cut.
    color = alt.Color("run:N", title=["run (solid: training,", "dashed: validation)"],  # fits a narrow column
                      scale=alt.Scale(domain=runs, range=series_colors([model_of.get(run) for run in runs])),
                      legend=alt.Legend(orient="top", columns=1, symbolType="stroke", symbolOpacity=1, titleLimit=0,
                                        labelLimit=0))
    encodings = {"color": color,
                 "strokeDash": alt.StrokeDash("split:N", title="split (dashed = val)", scale=splits,
                                              legend=None)}  # the run legend's title says it
    title, x_format = CURVE_X[x][1], CURVE_X[x][2]
    x_scale = alt.Scale(nice=False, zero=False)
    if x_end is not None and len(shown):
        x_scale = alt.Scale(nice=False, zero=False, domain=[float(shown[x_field].min()), x_end])
    x_enc = alt.X(f"{x_field}:Q", title=title, scale=x_scale,
                  axis=alt.Axis(format=x_format) if x_format else alt.Axis())
    if metric == "loss":
        scale = alt.Scale(zero=False)
        if log:  # the data's own span: a "nice" log domain runs to the next power of ten (1 to 10 for 1.2-2.4)
            drawn = shown[["value", "smoothed"]].to_numpy(float) if len(shown) else np.array([1.0])
            scale = alt.Scale(type="log", nice=False, domain=[float(drawn.min()) * 0.98, float(drawn.max()) * 1.02])
        y_title = "loss (NLL, log scale)" if log else "loss (NLL)"
        axis = alt.Axis(format=".2~f") if log else alt.Axis(format=".2f")
    else:
        scale, y_title, axis = alt.Scale(domain=[0, 1]), "accuracy", alt.Axis(format=".0%")
    y_main = "smoothed" if weight > 0 else "value"
    tooltip = [alt.Tooltip("run:N"), alt.Tooltip("split:N"), alt.Tooltip("epoch:Q", format=".2f"),
               alt.Tooltip("step:Q"), alt.Tooltip("elapsed_s:Q", title="seconds", format=".1f"),
               alt.Tooltip("value:Q", format=".4f")]
    if weight > 0:
        tooltip.append(alt.Tooltip("smoothed:Q", format=".4f"))
    point = alt.OverlayMarkDef(size=20) if longest <= POINTS_UP_TO else False
    base = alt.Chart(shown)
    layers = []
    if weight > 0:  # the raw curve, faint, behind the smoothed one
        layers.append(base.mark_line(clip=True, opacity=0.25, strokeWidth=1).encode(
            x=x_enc, y=alt.Y("value:Q", title=y_title, scale=scale, axis=axis), detail=alt.Detail("split:N"),
            **encodings))
    with_hover = hover and len(shown) > 0
    if not with_hover:  # else the hover rule's tooltip lists every line at once
        encodings["tooltip"] = tooltip
    layers.append(base.mark_line(point=point, clip=True).encode(
        x=x_enc, y=alt.Y(f"{y_main}:Q", title=y_title, scale=scale, axis=axis), detail=alt.Detail("split:N"),
        **encodings))
    params = alt.Undefined
    if with_hover:
        layers.extend(_hover_layers(shown, x_field, x_enc, scale, max_points, weight > 0, several, color, title,
                                    x_format))
        # Declared on the layer chart, naming its view: altair lifts a layer's own selection by copying and
        # hashing the whole chart, data included, which made every refresh several times slower.
        params = [alt.TopLevelSelectionParameter(name=HOVER, views=[HOVER_VIEW], select=alt.PointSelectionConfig(
            type="point", fields=[x_field], nearest=True, on="pointerover", clear="pointerout"))]
    # One constructor call: every .properties()/.configure_*() on a layer chart copies it whole.
    return CurveChart(layer=layers, params=params, title=metric, height=height, width="container",
                      autosize=alt.AutoSizeParams(type="fit-x", contains="padding"), config=theme())


def _hover_layers(shown: pd.DataFrame, x_field: str, x_enc: alt.X, scale: alt.Scale, max_points: int,
                  smoothed: bool, several: bool, color: alt.Color, x_title: str, x_format: str) -> list:
    """A rule at the nearest x (selection HOVER) whose tooltip lists every line's value, and dots on the lines."""
    aligned, wide, series = hover_frames(shown, x_field, max_points, smoothed)
    near = alt.param(HOVER, empty=False)
    tooltip = [alt.Tooltip(f"{x_field}:Q", title=x_title, format=x_format or ".4~f")]
    tooltip += [alt.Tooltip(f"{column}:N", title=f"{run} · {split}" if several else split)
                for column, run, split in series]
    # An invisible rule at every grid x catches the pointer (nearest) and carries the tooltip; a visible one is
    # drawn at the selected x. Typed channels throughout: altair validates shorthand strings and dicts slowly.
    catcher = alt.Chart(wide, name=HOVER_VIEW).mark_rule(opacity=0, strokeWidth=8).encode(x=x_enc, tooltip=tooltip)
    rule = alt.Chart(wide).mark_rule(color="#777", strokeWidth=1, opacity=0.7).encode(x=x_enc).transform_filter(near)
    dots = alt.Chart(aligned).mark_circle(size=45, opacity=1).encode(
        x=x_enc, y=alt.Y("y:Q", scale=scale), color=color).transform_filter(near)
    return [catcher, rule, dots]
