"""Altair chart builders for the app: a DataFrame in, a Chart out, nothing drawn or printed here.

Also the small pure data-shaping steps the charts need (long-form curves, downsampling for display,
unit orderings), so that pages hold no data wrangling and every step can be unit-tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

MAX_CURVE_POINTS = 300  # per line; a refresh stays fast however long the run is
CURVE_METRICS = {"loss": ("train_loss", "val_loss"), "accuracy": ("train_acc", "val_acc")}
GATE_KEYS_BOUNDED = ("i", "f", "o")  # sigmoid outputs in [0, 1]; g and h are in [-1, 1]; c is unbounded
UNIT_ORDERS = ("index", "mean", "variance")
FONT_SIZE = 14  # readable from the back of a classroom
PALETTE = "tableau10"  # distinct hues; shades of one colour are unreadable on a projector
POINTS_UP_TO = 60  # rows per line below which each evaluation is also drawn as a dot

# Axis labels show the letter of "3:k"-style position labels; a space is drawn as a visible mark.
_LETTER_EXPR = (
    "substring(datum.label, indexof(datum.label, ':') + 1) == ' ' ? '␣' "
    ": substring(datum.label, indexof(datum.label, ':') + 1)"
)


def _fixed_size(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Width and height are the plot area, axes and legend come on top (not squeezed into it)."""
    return chart.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))


def _fit_width(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """As wide as the page column allows; the height is the plot's, legend and title come on top."""
    return chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def _style(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE).configure_legend(
        labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=320
    ).configure_title(fontSize=FONT_SIZE + 2)


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
    n = len(frame)
    if n <= max_points:
        return frame.copy()
    keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return frame.iloc[keep].copy()


def curves_long(metrics: pd.DataFrame, run: str = "", max_points: int | None = MAX_CURVE_POINTS) -> pd.DataFrame:
    """Metric rows (epoch, train_loss, val_loss, train_acc, val_acc) as long form: run, epoch, metric, split, value.

    Rows are downsampled to max_points first (None keeps all), so a long run costs no more to draw than a short one.
    """
    columns = ["run", "epoch", "step", "metric", "split", "value"]
    if metrics is None or len(metrics) == 0:
        return pd.DataFrame(columns=columns)
    if max_points is not None:
        metrics = downsample(metrics, max_points)
    frames = []
    for metric, (train_column, val_column) in CURVE_METRICS.items():
        for split, column in (("train", train_column), ("val", val_column)):
            frames.append(pd.DataFrame({
                "run": run, "epoch": metrics["epoch"].to_numpy(float), "step": metrics["step"].to_numpy(int),
                "metric": metric, "split": split, "value": metrics[column].to_numpy(float),
            }))
    long = pd.concat(frames, ignore_index=True)
    return long[np.isfinite(long["value"])].reset_index(drop=True)[columns]


def curve_chart(long: pd.DataFrame, metric: str, max_points: int = MAX_CURVE_POINTS,
                height: int = 220) -> alt.Chart:
    """One metric ("loss" or "accuracy") over epochs; one run is coloured by split, several by run (dashed = val)."""
    if metric not in CURVE_METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose one of {', '.join(CURVE_METRICS)}")
    data = long[long["metric"] == metric]
    longest = int(data.groupby(["run", "split"]).size().max()) if len(data) else 0
    shown = downsample(data, max_points, by=["run", "split"]) if longest > max_points else data
    longest = min(longest, max_points)
    runs = sorted(shown["run"].unique().tolist()) if len(shown) else []
    splits = alt.Scale(domain=["train", "val"])
    if len(runs) > 1:
        encodings = {"color": alt.Color("run:N", title="run", scale=alt.Scale(domain=runs, scheme=PALETTE),
                                        legend=alt.Legend(orient="bottom", columns=1, symbolType="stroke")),
                     "strokeDash": alt.StrokeDash("split:N", title="split (dashed = val)", scale=splits,
                                                  legend=alt.Legend(orient="top", symbolType="stroke"))}
    else:
        encodings = {"color": alt.Color("split:N", title="split", scale=alt.Scale(domain=["train", "val"],
                                        scheme=PALETTE), legend=alt.Legend(orient="top", symbolType="stroke"))}
    if metric == "loss":
        y = alt.Y("value:Q", title="loss (NLL)", scale=alt.Scale(zero=False), axis=alt.Axis(format=".2f"))
    else:
        y = alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"))
    tooltip = [alt.Tooltip("run:N"), alt.Tooltip("split:N"), alt.Tooltip("epoch:Q", format=".2f"),
               alt.Tooltip("step:Q"), alt.Tooltip("value:Q", format=".4f")]
    point = alt.OverlayMarkDef(size=20) if longest <= POINTS_UP_TO else False
    chart = (
        alt.Chart(shown, title=metric, height=height, width="container")
        .mark_line(point=point, clip=True)
        .encode(x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(nice=False)), y=y,
                detail="split:N", tooltip=tooltip, **encodings)
    )
    return _style(_fit_width(chart))


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

    With `selectable`, clicking a cell selects its (true, predicted) pair as the point selection "cell".
    """
    order = list(categories)
    size = cell * max(1, len(order))
    x = alt.X("predicted:N", sort=order, title="predicted",
              axis=alt.Axis(labelAngle=-45, labelLimit=200, labelOverlap=False))
    y = alt.Y("true:N", sort=order, title="true", axis=alt.Axis(labelLimit=200, labelOverlap=False))
    tooltip = [alt.Tooltip("true:N"), alt.Tooltip("predicted:N"), alt.Tooltip("count:Q"),
               alt.Tooltip("rate:Q", format=".1%", title="share of the row")]
    base = alt.Chart(confusion, width=size, height=size)
    shades = alt.Scale(domain=[0, 1], range=["#ffffff", "#08306b"], interpolate="lab")  # hcl tints zero cyan
    rect = base.mark_rect(stroke="#d0d0d0", strokeWidth=0.5).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("rate:Q", title="share of row", scale=shades,
                        legend=alt.Legend(format=".0%", orient="top", direction="horizontal", gradientLength=200)),
    )
    if selectable:
        cell = alt.selection_point(name="cell", fields=["true", "predicted"], on="click", clear="dblclick")
        # The picked cell gets a thick outline; the others keep their colour so the matrix stays readable.
        rect = rect.add_params(cell).encode(
            stroke=alt.condition(cell, alt.value("#e4572e"), alt.value("#d0d0d0"), empty=False),
            strokeWidth=alt.condition(cell, alt.value(3), alt.value(0.5), empty=False),
        )
    text = base.mark_text(fontSize=11).encode(
        x=x, y=y, text=alt.Text("count:Q"), tooltip=tooltip,
        color=alt.condition("datum.rate > 0.5", alt.value("white"), alt.value("#222")),
    ).transform_filter("datum.count > 0")
    return _style(_fixed_size(alt.layer(rect, text, title=title)))


def category_counts_chart(dataset_counts: pd.DataFrame, height: int | None = None) -> alt.Chart:
    """Horizontal bars of lines and distinct names per category (columns: category, kind, count)."""
    order = (dataset_counts[dataset_counts["kind"] == dataset_counts["kind"].iloc[0]]
             .sort_values("count", ascending=False)["category"].tolist()) if len(dataset_counts) else []
    n = max(1, len(order))
    return _style(_fit_width(
        alt.Chart(dataset_counts, height=height or 30 * n, width="container")
        .mark_bar()
        .encode(
            y=alt.Y("category:N", sort=order, title=None),
            x=alt.X("count:Q", title="names"),
            yOffset=alt.YOffset("kind:N"),
            color=alt.Color("kind:N", title=None, scale=alt.Scale(scheme=PALETTE), legend=alt.Legend(orient="top")),
            tooltip=["category:N", "kind:N", alt.Tooltip("count:Q", format=",")],
        )
    ))


def counts_frame(line_counts: dict[str, int], distinct_counts: dict[str, int]) -> pd.DataFrame:
    """Long form of a dataset's per-category counts for category_counts_chart."""
    rows = [(category, "lines in file", int(count)) for category, count in line_counts.items()]
    rows += [(category, "distinct names", int(distinct_counts.get(category, 0))) for category in line_counts]
    return pd.DataFrame(rows, columns=["category", "kind", "count"])


def unit_order(gate: pd.DataFrame, by: str = "index") -> list[int]:
    """Hidden units in display order: by index, or by mean / variance of their values (highest first)."""
    if by not in UNIT_ORDERS:
        raise ValueError(f"unknown unit order {by!r}: choose one of {', '.join(UNIT_ORDERS)}")
    units = sorted(int(u) for u in gate["unit"].unique())
    if by == "index":
        return units
    stat = gate.groupby("unit")["value"].agg("mean" if by == "mean" else "var").fillna(0.0)
    return [int(u) for u in stat.sort_values(ascending=False, kind="stable").index]


def gate_heatmap(gate: pd.DataFrame, key: str, title: str, order: Sequence[int] | None = None,
                 cell_width: int = 34, cell_height: int = 7) -> alt.Chart:
    """One column per character, one row per hidden unit; exact values in the tooltip.

    `gate` has columns step, char ("3:k"), unit, value; `key` picks the colour scale (i/f/o in [0, 1]).
    """
    steps = gate.sort_values("step")["char"].unique().tolist()
    units = list(order) if order is not None else sorted(gate["unit"].unique().tolist())
    if key in GATE_KEYS_BOUNDED:
        scale = alt.Scale(scheme="viridis", domain=[0, 1])
    elif key == "c":
        scale = alt.Scale(scheme="redblue", domainMid=0, reverse=True)
    else:
        scale = alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)
    return _style(_fixed_size(
        alt.Chart(gate, title=title, width=max(cell_width * len(steps), 120),
                  height=max(cell_height * len(units), 60))
        .mark_rect()
        .encode(
            x=alt.X("char:O", sort=steps, title=None,
                    axis=alt.Axis(labelExpr=_LETTER_EXPR, labelAngle=0, orient="top", labelFontSize=FONT_SIZE + 2)),
            y=alt.Y("unit:O", sort=units, title="hidden unit", axis=alt.Axis(labelOverlap="parity")),
            color=alt.Color("value:Q", scale=scale, title=key),
            tooltip=[alt.Tooltip("char:N", title="step:letter"), alt.Tooltip("unit:O"),
                     alt.Tooltip("value:Q", format=".4f")],
        )
    ))


def gate_means_chart(means: pd.DataFrame, height: int = 200) -> alt.Chart:
    """Mean activation of each gate per character (columns: step, char, gate, mean)."""
    steps = means.sort_values("step")["char"].unique().tolist()
    return _style(_fit_width(
        alt.Chart(means, title="mean gate activation per character", height=height, width="container")
        .mark_line(point=True)
        .encode(
            x=alt.X("char:O", sort=steps, title=None, axis=alt.Axis(labelExpr=_LETTER_EXPR, labelAngle=0,
                                                                    labelFontSize=FONT_SIZE + 2)),
            y=alt.Y("mean:Q", scale=alt.Scale(domain=[0, 1]), title="mean over units"),
            color=alt.Color("gate:N", title=None, scale=alt.Scale(scheme=PALETTE), legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("char:N", title="step:letter"), "gate:N", alt.Tooltip("mean:Q", format=".3f")],
        )
    ))


def prefix_chart(prefix: pd.DataFrame, height: int = 200) -> alt.Chart:
    """Probability of the leading categories after each prefix (columns: step, char, prefix, category, probability)."""
    steps = prefix.sort_values("step")["char"].unique().tolist()
    return _style(_fit_width(
        alt.Chart(prefix, title="prediction as each character is read", height=height, width="container")
        .mark_line(point=True)
        .encode(
            x=alt.X("char:O", sort=steps, title=None, axis=alt.Axis(labelExpr=_LETTER_EXPR, labelAngle=0,
                                                                    labelFontSize=FONT_SIZE + 2)),
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%")),
            color=alt.Color("category:N", title=None, scale=alt.Scale(scheme=PALETTE),
                            legend=alt.Legend(orient="top")),
            tooltip=["prefix:N", "category:N", alt.Tooltip("probability:Q", format=".1%")],
        )
    ))


def top_chart(top: Sequence[tuple[str, float]], height: int | None = None) -> alt.Chart:
    """Horizontal bars of the top predictions, most likely first."""
    frame = pd.DataFrame(list(top), columns=["category", "probability"])
    bars = alt.Chart(frame, height=height or 34 * len(frame), width="container").encode(
        y=alt.Y("category:N", sort=frame["category"].tolist(), title=None),
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"), title=None),
        tooltip=["category:N", alt.Tooltip("probability:Q", format=".2%")],
    )
    labels = bars.mark_text(align="left", dx=4, fontSize=FONT_SIZE).encode(text=alt.Text("probability:Q",
                                                                                           format=".1%"))
    return _style(_fit_width(alt.layer(bars.mark_bar(), labels)))


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
