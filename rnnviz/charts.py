"""Altair chart builders for the app: a DataFrame in, a Chart out, nothing drawn or printed here.

Also the small pure data-shaping steps the charts need (long-form curves, downsampling for display,
unit orderings), so that pages hold no data wrangling and every step can be unit-tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from . import smoothing

MAX_CURVE_POINTS = 200  # per line (about 3 px each on a laptop): a refresh stays fast however long the run is
CURVE_METRICS = {"loss": ("train_loss", "val_loss"), "accuracy": ("train_acc", "val_acc")}
# x-axis choice -> (long-form column, axis title, number format)
CURVE_X = {"step": ("step", "step", "~s"), "epoch": ("epoch", "epoch", ""),
           "time": ("elapsed_s", "training time (s)", "")}
GATE_KEYS_BOUNDED = ("i", "f", "o")  # sigmoid outputs in [0, 1]; g and h are in [-1, 1]; c is unbounded
FONT_SIZE = 14  # readable from the back of a classroom
PALETTE = "tableau10"  # distinct hues; shades of one colour are unreadable on a projector
HOVER, HOVER_VIEW = "hover", "hover_rule"  # the curve charts' nearest-x selection and the view that holds it
POINTS_UP_TO = 60  # rows per line below which each evaluation is also drawn as a dot

# ---------------------------------------------------------------- the one chart theme
#
# Every chart of the app and of the exported reports is styled here: one theme (fonts, legends, titles) that
# presenter mode scales, one letter axis, and one rule for width: a chart is as wide as its column
# (`width="container"`, autosize fit-x) and its height is the plot's, with title, legend and axes on top.

COUNT_FONT_MIN, COUNT_FONT_MAX = 8, 28  # pixels of a count written in a matrix cell
LETTER_FONT_MAX = FONT_SIZE + 2  # letters of a name are drawn a little larger than other axis labels
LETTER_PARAM = "letter_font"  # the chart parameter that holds a letter axis's largest type
LETTER_FONT_MIN = 7  # a 64-letter name in a narrow column still labels every letter, in smaller type
TITLE_WRAP = 34  # characters per line of a chart title: a title wraps instead of being cut short
LEGEND_COLUMNS = 3  # entries per row of a legend above or below a chart, so every entry stays inside it

# Axis labels show the letter of "3:k"-style position labels; a space is drawn as a visible mark.
_LETTER_EXPR = (
    "substring(datum.label, indexof(datum.label, ':') + 1) == ' ' ? '␣' "
    ": substring(datum.label, indexof(datum.label, ':') + 1)"
)


def theme(scale: float = 1.0) -> alt.Config:
    """The app's chart configuration; `scale` > 1 enlarges text, lines and marks for a projector."""
    font = round(FONT_SIZE * scale)
    return alt.Config(
        axis=alt.AxisConfig(labelFontSize=font, titleFontSize=font, labelLimit=round(260 * scale), titleLimit=0,
                            tickSize=round(5 * scale)),
        legend=alt.LegendConfig(labelFontSize=font, titleFontSize=font, labelLimit=0, titleLimit=0,
                                symbolSize=round(100 * scale * scale), symbolStrokeWidth=round(2 * scale)),
        title=alt.TitleConfig(fontSize=font + 2, subtitleFontSize=font, limit=0, anchor="start"),
        line=alt.LineConfig(strokeWidth=round(2 * scale)),
        text=alt.MarkConfig(fontSize=round(11 * scale)),
    )


def themed(chart: alt.TopLevelMixin, scale: float = 1.0) -> alt.TopLevelMixin:
    """The chart with the app's theme at `scale` (replacing any configuration it had); a chart with letter axes
    gets their largest type scaled too."""
    chart = chart.copy(deep=False)
    chart.config = theme(scale)
    params = chart.params if isinstance(chart.params, list) else []
    if any(getattr(param, "name", None) == LETTER_PARAM for param in params):
        chart.params = [param for param in params if getattr(param, "name", None) != LETTER_PARAM] + [
            alt.VariableParameter(name=LETTER_PARAM, value=round(LETTER_FONT_MAX * scale))]
    return chart


def letters(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Mark a chart that has a letter_axis: it carries the letters' largest type, which `themed` scales."""
    params = chart.params if isinstance(chart.params, list) else []
    return chart.properties(params=[*params, alt.VariableParameter(name=LETTER_PARAM, value=LETTER_FONT_MAX)])


def fit_width(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """As wide as its column; the height is the plot's, legend and title come on top (not squeezed into it)."""
    return chart.properties(width="container", autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def _finish(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Every builder's last step: the column's width and the theme."""
    return themed(fit_width(chart))


def wrap_title(text: str, width: int = TITLE_WRAP) -> str | list[str]:
    """A title as lines of at most `width` characters (words kept whole), so it is never cut with an ellipsis."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines[0] if len(lines) == 1 else lines


def chart_title(text: str, subtitle: str | None = None) -> str | list[str] | alt.Title:
    """A chart title (and subtitle) that wraps instead of being cut."""
    if not subtitle:
        return wrap_title(text)
    return alt.Title(wrap_title(text), subtitle=wrap_title(subtitle, 60))


def letter_axis(count: int, **kwargs) -> alt.Axis:
    """An axis of a name's letters that labels every letter: the type shrinks when the letters are crowded
    (`count` of them in the plot's width), down to LETTER_FONT_MIN. A chart with one is passed to `letters`."""
    size = f"clamp(width / {max(1, count)} * 0.9, {LETTER_FONT_MIN}, {LETTER_PARAM})"
    return alt.Axis(labelExpr=_LETTER_EXPR, labelAngle=0, labelOverlap=False, labelPadding=4,
                    labelFontSize=alt.ExprRef(expr=size), labelFontWeight="bold", **kwargs)


def legend(count: int, orient: str = "top", **kwargs) -> alt.Legend:
    """A legend above or below the chart that lists every one of its `count` entries, LEGEND_COLUMNS a row."""
    return alt.Legend(orient=orient, columns=min(max(1, count), LEGEND_COLUMNS), **kwargs)


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


def curves_long(metrics: pd.DataFrame, run: str = "", max_points: int | None = MAX_CURVE_POINTS) -> pd.DataFrame:
    """Metric rows (step, epoch, elapsed_s, train_loss, val_loss, train_acc, val_acc) as long form:
    run, epoch, step, elapsed_s, metric, split, value.

    `elapsed_s` is the trainer's training time at the evaluation (pauses excluded); rows without it get NaN.
    Rows are downsampled to max_points first (None keeps all), so a long run costs no more to draw than a short one.
    """
    columns = ["run", "epoch", "step", "elapsed_s", "metric", "split", "value"]
    if metrics is None or len(metrics) == 0:
        return pd.DataFrame(columns=columns)
    if max_points is not None:
        metrics = downsample(metrics, max_points)
    elapsed = (pd.to_numeric(metrics["elapsed_s"], errors="coerce").to_numpy(float) if "elapsed_s" in metrics
               else np.full(len(metrics), np.nan))
    frames = []
    for metric, (train_column, val_column) in CURVE_METRICS.items():
        for split, column in (("train", train_column), ("val", val_column)):
            frames.append(pd.DataFrame({
                "run": run, "epoch": metrics["epoch"].to_numpy(float), "step": metrics["step"].to_numpy(int),
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


def curve_chart(long: pd.DataFrame, metric: str, max_points: int = MAX_CURVE_POINTS, height: int = 220, *,
                smooth: float = 0.0, x: str = "epoch", log: bool = False, hover: bool = True) -> CurveChart:
    """One metric ("loss" or "accuracy"); one run is coloured by split, several by run (dashed = val).

    Drawn as TensorBoard does: with `smooth` > 0 the debiased EMA is the solid line and the raw curve a faint one
    behind it; `x` is step, epoch or time (training seconds); `log` puts loss on a log scale; with `hover` a
    vertical rule follows the pointer to the nearest x and its tooltip lists every line's value there.
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
    shown = downsample(data, max_points, by=["run", "split"]) if longest > max_points else data
    shown = shown[["run", "split", "epoch", "step", "elapsed_s", "value", "smoothed"]].reset_index(drop=True)
    longest = min(longest, max_points)
    runs = sorted(shown["run"].unique().tolist()) if len(shown) else []
    several = len(runs) > 1
    splits = alt.Scale(domain=["train", "val"])
    if several:
        color = alt.Color("run:N", title="run (solid: training, dashed: validation)",
                          scale=alt.Scale(domain=runs, scheme=PALETTE),
                          legend=alt.Legend(orient="top", columns=min(len(runs), 2), symbolType="stroke",
                                            symbolOpacity=1, titleLimit=0))
        encodings = {"color": color,
                     "strokeDash": alt.StrokeDash("split:N", title="split (dashed = val)", scale=splits,
                                                  legend=None)}  # the run legend's title says it
    else:
        color = alt.Color("split:N", title="split", scale=alt.Scale(domain=["train", "val"], scheme=PALETTE),
                          legend=alt.Legend(orient="top", symbolType="stroke", symbolOpacity=1))
        encodings = {"color": color}
    title, x_format = CURVE_X[x][1], CURVE_X[x][2]
    x_enc = alt.X(f"{x_field}:Q", title=title, scale=alt.Scale(nice=False, zero=False),
                  axis=alt.Axis(format=x_format) if x_format else alt.Axis())
    if metric == "loss":
        scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
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


def most_confused(confusion: pd.DataFrame) -> tuple[str, str] | None:
    """The (true, predicted) pair with the most mistakes, or None when nothing is misclassified."""
    wrong = confusion[(confusion["true"] != confusion["predicted"]) & (confusion["count"] > 0)]
    if wrong.empty:
        return None
    row = wrong.sort_values(["count", "true", "predicted"], ascending=[False, True, True]).iloc[0]
    return str(row["true"]), str(row["predicted"])


def confusion_heatmap(confusion: pd.DataFrame, categories: Sequence[str], title: str = "",
                      selectable: bool = True, cell: int = 26) -> alt.LayerChart:
    """Rows true, columns predicted, colour the row-normalised rate, counts written in and in tooltips.

    The matrix is as wide as its column and `cell` pixels per row tall; the counts are sized to their cells
    (and left to the tooltip when a cell is too small to hold them). With `selectable`, clicking a cell selects
    its (true, predicted) pair as the point selection "cell".
    """
    order = list(categories)
    n = max(1, len(order))
    digits = len(str(int(confusion["count"].max()))) if len(confusion) else 1
    x = alt.X("predicted:N", sort=order, title="predicted",
              axis=alt.Axis(labelAngle=-45, labelLimit=200, labelOverlap=False))
    y = alt.Y("true:N", sort=order, title="true", axis=alt.Axis(labelLimit=200, labelOverlap=False))
    tooltip = [alt.Tooltip("true:N"), alt.Tooltip("predicted:N"), alt.Tooltip("count:Q"),
               alt.Tooltip("rate:Q", format=".1%", title="share of the row")]
    base = alt.Chart(confusion)
    shades = alt.Scale(domain=[0, 1], range=["#ffffff", "#08306b"], interpolate="lab")  # hcl tints zero cyan
    rect = base.mark_rect(stroke="#d0d0d0", strokeWidth=0.5).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("rate:Q", title=wrap_title("colour: share of the true row predicted as this column", 28),
                        scale=shades,
                        legend=alt.Legend(format=".0%", orient="top", direction="horizontal", gradientLength=200)),
    )
    if selectable:
        picked = alt.selection_point(name="cell", fields=["true", "predicted"], on="click", clear="dblclick")
        # The picked cell gets a thick outline; the others keep their colour so the matrix stays readable.
        rect = rect.add_params(picked).encode(
            stroke=alt.condition(picked, alt.value("#e4572e"), alt.value("#d0d0d0"), empty=False),
            strokeWidth=alt.condition(picked, alt.value(3), alt.value(0.5), empty=False),
        )
    # The widest count fits its cell's width, and its height; below COUNT_FONT_MIN pixels it is not drawn.
    font = f"min(width / {n} / {0.62 * digits + 0.5:.2f}, height / {n} * 0.6, {COUNT_FONT_MAX})"
    text = base.mark_text(fontSize=alt.ExprRef(expr=font),
                          opacity=alt.ExprRef(expr=f"{font} >= {COUNT_FONT_MIN} ? 1 : 0")).encode(
        x=x, y=y, text=alt.Text("count:Q"), tooltip=tooltip,
        color=alt.condition("datum.rate > 0.5", alt.value("white"), alt.value("#222")),
    ).transform_filter("datum.count > 0")
    layered = alt.layer(rect, text, title=chart_title(title) if title else alt.Undefined, height=cell * n)
    return _finish(layered)


def category_counts_chart(dataset_counts: pd.DataFrame, height: int | None = None) -> alt.Chart:
    """Horizontal bars of lines and distinct names per category (columns: category, kind, count)."""
    order = (dataset_counts[dataset_counts["kind"] == dataset_counts["kind"].iloc[0]]
             .sort_values("count", ascending=False)["category"].tolist()) if len(dataset_counts) else []
    n = max(1, len(order))
    kinds = dataset_counts["kind"].nunique() if len(dataset_counts) else 1
    return _finish(
        alt.Chart(dataset_counts, height=height or 30 * n)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", sort=order, title=None),
            x=alt.X("count:Q", title="names"),
            yOffset=alt.YOffset("kind:N"),
            color=alt.Color("kind:N", title=None, scale=alt.Scale(scheme=PALETTE), legend=legend(kinds)),
            tooltip=["category:N", "kind:N", alt.Tooltip("count:Q", format=",")],
        )
    )


def counts_frame(line_counts: dict[str, int], distinct_counts: dict[str, int]) -> pd.DataFrame:
    """Long form of a dataset's per-category counts for category_counts_chart."""
    rows = [(category, "lines in file", int(count)) for category, count in line_counts.items()]
    rows += [(category, "distinct names", int(distinct_counts.get(category, 0))) for category in line_counts]
    return pd.DataFrame(rows, columns=["category", "kind", "count"])


# What a gate heatmap's colour means, said in its colour scale's title.
GATE_SCALE_TITLES = {
    "i": "input gate i: 0 closed … 1 open (writes to the cell)",
    "f": "forget gate f: 0 forgets … 1 keeps the cell",
    "o": "output gate o: 0 hides … 1 shows the cell",
    "g": "candidate g: −1 (blue) … +1 (red)",
    "c": "cell state c: negative (blue) … positive (red)",
    "h": "hidden state h: −1 (blue) … +1 (red)",
}
PREFIX_TOP = 5  # categories drawn in the prediction-per-prefix chart (the legend lists exactly these)


def gate_heatmap(gate: pd.DataFrame, key: str, title: str, order: Sequence[int] | None = None,
                 cell_width: int | None = None, cell_height: int = 7) -> alt.Chart:
    """One column per character, one row per hidden unit; exact values in the tooltip.

    `gate` has columns step, char ("3:k"), unit, value; `key` picks the colour scale (i/f/o in [0, 1]) and its
    title. The heatmap is as wide as its column, every letter labelled; `cell_height` pixels per unit. A saved
    image (rnnviz.export) is `cell_width` pixels per letter when given.
    """
    steps = gate.sort_values("step")["char"].unique().tolist()
    units = list(order) if order is not None else sorted(gate["unit"].unique().tolist())
    if key in GATE_KEYS_BOUNDED:
        scale = alt.Scale(scheme="viridis", domain=[0, 1])
    elif key == "c":
        scale = alt.Scale(scheme="redblue", domainMid=0, reverse=True)
    else:
        scale = alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)
    chart = _finish(letters(
        alt.Chart(gate, title=chart_title(title), height=max(cell_height * len(units), 60))
        .mark_rect()
        .encode(
            x=alt.X("char:O", sort=steps, title=None, axis=letter_axis(len(steps), orient="top")),
            y=alt.Y("unit:O", sort=units, title="hidden unit", axis=alt.Axis(labelOverlap="parity")),
            color=alt.Color("value:Q", scale=scale, title=wrap_title(GATE_SCALE_TITLES.get(key, key), 28),
                            legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=160)),
            tooltip=[alt.Tooltip("char:N", title="step:letter"), alt.Tooltip("unit:O"),
                     alt.Tooltip("value:Q", format=".4f")],
        )
    ))
    if cell_width:
        chart.usermeta = {"export_width": int(cell_width * max(1, len(steps)))}
    return chart


def gate_means_chart(means: pd.DataFrame, height: int = 200) -> alt.Chart:
    """Mean activation of each gate per character (columns: step, char, gate, mean)."""
    steps = means.sort_values("step")["char"].unique().tolist()
    gates = means["gate"].nunique() if len(means) else 1
    return _finish(letters(
        alt.Chart(means, title=chart_title("mean gate activation per character"), height=height)
        .mark_line(point=True)
        .encode(
            x=alt.X("char:O", sort=steps, title=None, axis=letter_axis(len(steps))),
            y=alt.Y("mean:Q", scale=alt.Scale(domain=[0, 1]), title="mean over units"),
            color=alt.Color("gate:N", title=None, scale=alt.Scale(scheme=PALETTE), legend=legend(gates)),
            tooltip=[alt.Tooltip("char:N", title="step:letter"), "gate:N", alt.Tooltip("mean:Q", format=".3f")],
        )
    ))


def prefix_top(prefix: pd.DataFrame, top: int = PREFIX_TOP) -> list[str]:
    """The categories the prefix chart draws: the `top` that come highest at any step, the final leader first."""
    if prefix.empty:
        return []
    peak = prefix.groupby("category")["probability"].max()
    last = prefix[prefix["step"] == prefix["step"].max()].set_index("category")["probability"]
    ranked = pd.DataFrame({"peak": peak, "last": last.reindex(peak.index).fillna(0.0)})
    picked = ranked.sort_values(["peak", "last"], ascending=False, kind="stable").head(top)
    return picked.sort_values("last", ascending=False, kind="stable").index.tolist()


def prefix_chart(prefix: pd.DataFrame, height: int = 200, top: int = PREFIX_TOP) -> alt.Chart:
    """Probability of the leading categories after each prefix (columns: step, char, prefix, category, probability).

    The `top` categories that come highest at any step are drawn, and the legend lists exactly those.
    """
    steps = prefix.sort_values("step")["char"].unique().tolist()
    shown = prefix_top(prefix, top)
    data = prefix[prefix["category"].isin(shown)]
    return _finish(letters(
        alt.Chart(data, title=chart_title("prediction as each character is read"), height=height)
        .mark_line(point=True)
        .encode(
            x=alt.X("char:O", sort=steps, title=None, axis=letter_axis(len(steps))),
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%")),
            color=alt.Color("category:N", title=None, scale=alt.Scale(domain=shown, scheme=PALETTE),
                            legend=legend(len(shown))),
            tooltip=["prefix:N", "category:N", alt.Tooltip("probability:Q", format=".1%")],
        )
    ))


def top_chart(top: Sequence[tuple[str, float]], height: int | None = None) -> alt.Chart:
    """Horizontal bars of the top predictions, most likely first."""
    frame = pd.DataFrame(list(top), columns=["category", "probability"])
    bars = alt.Chart(frame).encode(
        y=alt.Y("category:N", sort=frame["category"].tolist(), title=None),
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1.15]), axis=alt.Axis(format=".0%", values=[0, .5, 1]),
                title=None),
        tooltip=["category:N", alt.Tooltip("probability:Q", format=".2%")],
    )
    labels = bars.mark_text(align="left", dx=4).encode(text=alt.Text("probability:Q", format=".1%"))
    return _finish(alt.layer(bars.mark_bar(), labels, height=height or 34 * len(frame)))


def category_table(categories: Sequence[str], names: Sequence[str], labels: Sequence[int],
                   line_counts: dict[str, int], distinct_counts: dict[str, int], samples: int = 8,
                   seed: int = 0) -> pd.DataFrame:
    """Per category: lines in its file, distinct names, and a seeded random sample of its names."""
    rng = np.random.default_rng(seed)
    by_label: dict[int, list[str]] = {}
    for name, label in zip(names, labels):
        by_label.setdefault(int(label), []).append(name)
    rows = []
    for label, category in enumerate(categories):
        members = by_label.get(label, [])
        picked = rng.choice(len(members), size=min(samples, len(members)), replace=False) if members else []
        rows.append((category, int(line_counts.get(category, 0)), int(distinct_counts.get(category, 0)),
                     ", ".join(members[i] for i in sorted(picked))))
    return pd.DataFrame(rows, columns=["category", "lines", "distinct", "sample names"])


# ---------------------------------------------------------------------------------------------------------------
# Inside the LSTM (the Gates page's explanations, from rnnviz.inside): the cell diagram, unit bars, contributions,
# Karpathy-style letter strips, span-search matches, attribution, the hidden-state path and what-if bars.

VALUE_SCALE = alt.Scale(scheme="redblue", domain=[-1, 1], clamp=True)  # negative red, positive blue
VALUE_TITLE = "value (red: negative, blue: positive)"
GATE_SCALE = alt.Scale(scheme="viridis", domain=[0, 1])
LANGUAGE_SCHEME = "category20"  # up to 20 languages, each its own hue

# The cell diagram: node -> (x, y, first line); values come from inside.CellStep.values.
CELL_NODES = {
    "c_prev": (0.8, 6.0, "c before"), "f_c": (3.0, 6.0, "× f"), "c": (9.0, 6.0, "c after"),
    "add": (6.0, 6.0, "+ i·g"), "i_g": (6.0, 4.3, "i × g"), "tanh_c": (9.0, 4.3, "tanh"), "h": (11.4, 2.6, "h"),
    "h_mul": (9.0, 2.6, "× o"), "f": (3.0, 2.6, "f  σ"), "i": (5.0, 2.6, "i  σ"), "g": (7.0, 2.6, "g  tanh"),
    "o": (9.0, 1.1, "o  σ"), "x": (1.0, 0.0, "x"),
}
# Edges as axis-aligned segments (x, y, x2, y2); an arrowhead sits half way along the segment marked True.
CELL_EDGES = [
    (0.8, 6.0, 3.0, 6.0, True), (3.0, 6.0, 6.0, 6.0, True), (6.0, 6.0, 9.0, 6.0, True),
    (9.0, 6.0, 9.0, 4.3, True), (9.0, 4.3, 9.0, 2.6, True), (9.0, 2.6, 11.4, 2.6, True),
    (3.0, 2.6, 3.0, 6.0, True), (5.0, 2.6, 5.0, 4.3, False), (5.0, 4.3, 6.0, 4.3, True),
    (7.0, 2.6, 7.0, 4.3, False), (7.0, 4.3, 6.0, 4.3, True), (6.0, 4.3, 6.0, 6.0, True), (9.0, 1.1, 9.0, 2.6, True),
    (0.8, 0.0, 9.0, 0.0, False), (3.0, 0.0, 3.0, 2.6, True), (5.0, 0.0, 5.0, 2.6, True), (7.0, 0.0, 7.0, 2.6, True),
    (9.0, 0.0, 9.0, 1.1, True),
]


def cell_frames(values: dict[str, float], letter: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Nodes (x, y, line1, line2, value, text_light), edges (x, y, x2, y2) and arrowheads (x, y, angle)."""
    shown = dict(values, add=values["c"], h_mul=values["h"])
    rows = []
    for key, (x, y, label) in CELL_NODES.items():
        if key == "x":
            rows.append((x, y, f"letter '{letter}'", f"h before {values['h_prev']:.2f}", np.nan))
            continue
        value = float(shown[key])
        rows.append((x, y, label, f"{value:.2f}", value))
    nodes = pd.DataFrame(rows, columns=["x", "y", "line1", "line2", "value"])
    nodes["light"] = nodes["value"].abs() > 0.55  # white text on dark fills
    nodes["half"] = np.where(nodes["line1"].str.startswith("letter"), 1.2, 0.85)  # half the box's width
    edges = pd.DataFrame([e[:4] for e in CELL_EDGES], columns=["x", "y", "x2", "y2"])
    heads = []
    for x, y, x2, y2, arrow in CELL_EDGES:
        if arrow:
            angle = 90 if x2 > x else 270 if x2 < x else 0 if y2 > y else 180  # triangle-up turned clockwise
            heads.append(((x + x2) / 2, (y + y2) / 2, angle))
    return nodes, edges, pd.DataFrame(heads, columns=["x", "y", "angle"])


def cell_diagram(values: dict[str, float], letter: str, unit: int, height: int = 330, scale: float = 1.0
                 ) -> alt.LayerChart:
    """One LSTM step of one unit as a diagram: the cell state runs along the top, the gates below it, the letter
    and the previous h feed the gates from the bottom; every box shows its value. `scale` enlarges the text."""
    nodes, edges, heads = cell_frames(values, letter)
    # Box corners and colours as columns, not transforms or conditions: typed channels build fastest.
    nodes = nodes.assign(left=nodes["x"] - nodes["half"], right=nodes["x"] + nodes["half"], bottom=nodes["y"] - 0.55,
                         top=nodes["y"] + 0.55, shade=nodes["value"].fillna(0.0),
                         ink=np.where(nodes["light"], "white", "#111"))
    xs, ys = alt.Scale(domain=[-0.2, 12.4]), alt.Scale(domain=[-0.7, 6.7])
    x, y = alt.X(field="x", type="quantitative", scale=xs, axis=None), alt.Y(field="y", type="quantitative", scale=ys,
                                                                           axis=None)
    lines = alt.Chart(edges).mark_rule(color="#555", strokeWidth=2).encode(
        x=x, y=y, x2=alt.X2(field="x2"), y2=alt.Y2(field="y2"))
    arrows = alt.Chart(heads).mark_point(shape="triangle-up", filled=True, color="#555", size=90 * scale ** 2,
                                         opacity=1).encode(x=x, y=y, angle=alt.Angle(field="angle", type="quantitative",
                                                                                      scale=None))
    boxes = alt.Chart(nodes).mark_rect(stroke="#333", strokeWidth=1, cornerRadius=4).encode(
        x=alt.X(field="left", type="quantitative", scale=xs, axis=None), x2=alt.X2(field="right"),
        y=alt.Y(field="bottom", type="quantitative", scale=ys, axis=None), y2=alt.Y2(field="top"),
        color=alt.Color(field="shade", type="quantitative", scale=VALUE_SCALE, title=VALUE_TITLE,
                        legend=alt.Legend(orient="bottom", gradientLength=240, titleLimit=0)),
        tooltip=[alt.Tooltip(field="line1", type="nominal", title="box"),
                 alt.Tooltip(field="value", type="quantitative", format=".4f")],
    )
    ink = alt.Fill(field="ink", type="nominal", scale=None)  # fill, not color: the boxes' colour scale is theirs
    first = alt.Chart(nodes).mark_text(dy=-8 * scale, fontSize=round((FONT_SIZE - 1) * scale)).encode(
        x=x, y=y, text=alt.Text(field="line1", type="nominal"), fill=ink)
    second = alt.Chart(nodes).mark_text(dy=9 * scale, fontSize=round(FONT_SIZE * scale), fontWeight="bold").encode(
        x=x, y=y, text=alt.Text(field="line2", type="nominal"), fill=ink)
    return _quick_layer([lines, arrows, boxes, first, second],
                        f"unit {unit} reading '{letter}': c after = f·c before + i·g, h = o·tanh(c)", height,
                        view=alt.ViewConfig(stroke=None))


def _quick_layer(layers: list, title: str, height: int, width="container", view: alt.ViewConfig | None = None
                 ) -> CurveChart:
    """Layers as one chart built in a single call, skipping the schema validation in to_dict (as curve_chart
    does): the page redraws these on every letter, and validation and .properties()/.configure_*() copies cost
    more than building them. tests/test_page_gates.py validates every such chart."""
    config = theme()
    if view is not None:
        config.view = view
    autosize = alt.AutoSizeParams(type="fit-x", contains="padding") if width == "container" else alt.Undefined
    return CurveChart(layer=layers, title=title, height=height, width=width, autosize=autosize, config=config)


def unit_step_bars(units: pd.DataFrame, chosen: int | None = None, height: int = 170) -> alt.LayerChart:
    """Every unit's change of c at this letter, largest change first; the colour is its forget gate
    (columns: unit, c_prev, f, i, g, o, c, delta_c, h)."""
    order = [int(u) for u in units["unit"]]
    chosen_rows = (units["unit"] == chosen).to_numpy()
    frame = units.assign(edge=np.where(chosen_rows, "#e4572e", "transparent"), edge_width=np.where(chosen_rows, 3, 0))
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X(field="unit", type="ordinal", sort=order, title="unit, most changed first",
                axis=alt.Axis(labelOverlap="parity", labelAngle=0)),
        y=alt.Y(field="delta_c", type="quantitative", title="change of c"),
        color=alt.Color(field="f", type="quantitative", scale=GATE_SCALE, title="forget gate f",
                        legend=alt.Legend(orient="top", gradientLength=160, titleLimit=0)),
        stroke=alt.Stroke(field="edge", type="nominal", scale=None),
        strokeWidth=alt.StrokeWidth(field="edge_width", type="quantitative", scale=None),
        tooltip=[alt.Tooltip(field="unit", type="ordinal"),
                 *[alt.Tooltip(field=k, type="quantitative", format=".3f") for k in
                   ("c_prev", "f", "i", "g", "o", "c", "delta_c", "h")]],
    )
    return _quick_layer([bars], "every unit: change of c at this letter", height)


def contributions_chart(frame: pd.DataFrame, category: str, top: int = 12, height: int | None = None) -> alt.Chart:
    """The units that decide the prediction: W_out[k, j]·h_j for the top units (columns: unit, h, weight,
    contribution), largest first; the colour says which way each pushes."""
    shown = frame.head(top).assign(direction=np.where(frame.head(top)["contribution"] >= 0,
                                                      f"pushes {category} up", f"pushes {category} down"))
    order = [int(u) for u in shown["unit"]]
    chart = alt.Chart(shown, title=f"units that decide {category}").mark_bar().encode(
        y=alt.Y("unit:O", sort=order, title="unit", axis=alt.Axis(labelOverlap=False)),
        x=alt.X("contribution:Q", title=f"contribution to the {category} logit"),
        color=alt.Color("direction:N", title=None,
                        scale=alt.Scale(domain=[f"pushes {category} up", f"pushes {category} down"],
                                        range=["#2166ac", "#b2182b"]),
                        legend=alt.Legend(orient="top", columns=1, labelLimit=0)),  # one entry a row: both fit
        tooltip=[alt.Tooltip("unit:O"), alt.Tooltip("h:Q", format=".3f"), alt.Tooltip("weight:Q", format=".3f"),
                 alt.Tooltip("contribution:Q", format=".3f")],
    )
    return _finish(chart.properties(height=height or 22 * len(shown), width="container"))


def letter_strips_frame(rows: Sequence[tuple[str, str, Sequence[float]]]) -> pd.DataFrame:
    """Long form for letter_strips: one row per letter of each (label, text, values)."""
    out = []
    for label, text, values in rows:
        for t, (ch, v) in enumerate(zip(text, values)):
            out.append((label, t, ch if ch != " " else "␣", float(v)))
    return pd.DataFrame(out, columns=["row", "position", "letter", "value"])


def letter_strips(frame: pd.DataFrame, title: str, value_title: str, cell: int = 22, scale: float = 1.0
                  ) -> alt.LayerChart:
    """Karpathy's view: names written out letter by letter, each letter's background coloured by a unit's value
    (columns: row, position, letter, value); `scale` enlarges cells and letters."""
    cell = round(cell * scale)
    rows = list(dict.fromkeys(frame["row"]))
    longest = int(frame["position"].max()) + 1 if len(frame) else 1
    base = alt.Chart(frame.assign(ink=np.where(frame["value"].abs() > 0.6, "white", "#111")))
    x = alt.X("position:O", axis=None, scale=alt.Scale(domain=list(range(longest))))
    y = alt.Y("row:N", sort=rows, title=None, axis=alt.Axis(labelLimit=400, labelOverlap=False))
    # The colour scale no wider than the letters (with room for its end labels): it sits above them, after the
    # row labels, and a wider one would stick out of a narrow column.
    gradient = max(80, min(200, longest * cell - 30))
    rect = base.mark_rect().encode(x=x, y=y, color=alt.Color("value:Q", scale=VALUE_SCALE, title=value_title,
                                                             legend=alt.Legend(orient="top", gradientLength=gradient,
                                                                               titleLimit=0)),
                                   tooltip=["row:N", "position:O", "letter:N", alt.Tooltip("value:Q", format=".3f")])
    text = base.mark_text(fontSize=round(FONT_SIZE * scale), font="monospace").encode(
        x=x, y=y, text=alt.Text(field="letter", type="nominal"),
        fill=alt.Fill(field="ink", type="nominal", scale=None))  # fill, not color: the rects' colour scale is theirs
    return themed(alt.layer(rect, text, title=title).properties(width=alt.Step(cell), height=alt.Step(cell + 4)))


def span_matches_chart(by_category: pd.DataFrame, span: str, height: int | None = None) -> alt.Chart:
    """Validation names where the span's units fire the same way, per language, split by whether they hold the
    span's own letters there (columns: category, shares, names)."""
    order = (by_category.groupby("category")["names"].sum().sort_values(ascending=False).index.tolist()
             if len(by_category) else [])
    chart = alt.Chart(by_category, title=f"names where the units of '{span}' fire the same way").mark_bar().encode(
        y=alt.Y("category:N", sort=order, title=None),
        x=alt.X("names:Q", title="validation names", stack=True, axis=alt.Axis(format="d", tickMinStep=1)),
        color=alt.Color("shares:N", title=f"the letters there are '{span}'",
                        scale=alt.Scale(domain=["yes", "no"], range=["#2166ac", "#bbbbbb"]),
                        legend=alt.Legend(orient="top", titleLimit=0, columns=1, labelLimit=0)),
        tooltip=["category:N", alt.Tooltip("shares:N", title=f"letters are '{span}'"), "names:Q"],
    )
    return _finish(chart.properties(height=height or max(60, 24 * len(order)), width="container"))


ATTRIBUTION_MEASURES = {"occlusion": "occlusion: p − p without the letter",
                        "gradient_x_input": "gradient × input (log p)"}


def attribution_chart(frame: pd.DataFrame, category: str, height: int = 220) -> alt.Chart:
    """Both attributions over the letters, side by side (columns: position, label, letter, occlusion,
    gradient_x_input)."""
    long = frame.melt(id_vars=["position", "label", "letter"], value_vars=list(ATTRIBUTION_MEASURES),
                      var_name="measure", value_name="value").dropna(subset=["value"])
    long["measure"] = long["measure"].map(ATTRIBUTION_MEASURES)
    labels = frame["label"].tolist()
    small = len(labels) > 30
    chart = alt.Chart(long, title=f"which letters carry {category}").mark_bar().encode(
        x=alt.X("label:O", sort=labels, title=None,
                axis=alt.Axis(labelExpr=_LETTER_EXPR, labelAngle=0, labelOverlap=False,
                              labelFontSize=FONT_SIZE - 3 if small else FONT_SIZE + 2)),
        xOffset=alt.XOffset("measure:N", sort=list(ATTRIBUTION_MEASURES.values())),
        y=alt.Y("value:Q", title="share of the prediction"),
        color=alt.Color("measure:N", title=None, scale=alt.Scale(domain=list(ATTRIBUTION_MEASURES.values()),
                                                                 range=["#4e79a7", "#f28e2b"]),
                        legend=alt.Legend(orient="top", columns=1, labelLimit=0)),
        tooltip=[alt.Tooltip("position:O", title="letter number (from 0)"), "letter:N", "measure:N",
                 alt.Tooltip("value:Q", format=".3f")],
    )
    return _finish(chart.properties(height=height, width="container"))


def hidden_path_chart(background: pd.DataFrame, path: pd.DataFrame, explained: tuple[float, float],
                      height: int = 380) -> alt.LayerChart:
    """Validation names' final states as dots coloured by language, and each typed name's path of h letter by
    letter through them (columns: x, y, category, name; series, position, label, letter, x, y)."""
    x = alt.X("x:Q", title=f"principal component 1 ({explained[0]:.0%} of the variance)")
    y = alt.Y("y:Q", title=f"principal component 2 ({explained[1]:.0%})")
    categories = sorted(background["category"].unique().tolist())
    dots = alt.Chart(background).mark_circle(size=22, opacity=0.45).encode(
        x=x, y=y, color=alt.Color("category:N", title="validation names' final state, by language",
                                  scale=alt.Scale(domain=categories, scheme=LANGUAGE_SCHEME),
                                  legend=alt.Legend(orient="right", columns=1, titleLimit=0)),
        tooltip=["name:N", "category:N"])
    series = list(dict.fromkeys(path["series"]))
    dash = alt.StrokeDash("series:N", title="typed name's path", scale=alt.Scale(domain=series,
                                                                                 range=[[1, 0], [6, 4]]),
                          legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3))
    line = alt.Chart(path).mark_line(color="#111", strokeWidth=2.5).encode(x=x, y=y, order="position:Q",
                                                                          strokeDash=dash)
    letters = alt.Chart(path).mark_text(fontSize=FONT_SIZE + 1, fontWeight="bold", dy=-10, color="#111").encode(
        x=x, y=y, text="letter:N", tooltip=["series:N", "position:Q", "letter:N"])
    points = alt.Chart(path).mark_point(filled=True, color="#111", size=40).encode(x=x, y=y)
    chart = alt.layer(dots, line, points, letters, title="the hidden state's path as the letters are read")
    return _finish(chart.properties(height=height, width="container"))


def what_if_chart(frame: pd.DataFrame, height: int | None = None) -> alt.Chart:
    """The prediction unchanged and with the intervention, side by side (columns: category, version,
    probability)."""
    order = list(dict.fromkeys(frame["category"]))
    chart = alt.Chart(frame, title="prediction: unchanged and what if").mark_bar().encode(
        y=alt.Y("category:N", sort=order, title=None),
        yOffset=alt.YOffset("version:N", sort=["unchanged", "what if"]),
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"), title=None),
        color=alt.Color("version:N", title=None, scale=alt.Scale(domain=["unchanged", "what if"],
                                                                 range=["#9e9e9e", "#e4572e"]),
                        legend=alt.Legend(orient="top")),
        tooltip=["category:N", "version:N", alt.Tooltip("probability:Q", format=".1%")],
    )
    return _finish(chart.properties(height=height or 40 * len(order), width="container"))
