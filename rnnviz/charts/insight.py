"""Altair charts for "why LSTMs win" and the reproduced report: a DataFrame in, a Chart out.

Gradient flow back through time, the long-range memory probe, gate saturation and the report comparison;
rnnviz.export saves any of them as PNG or SVG. They are builders only: the theme, the letter axis and the
width rule are rnnviz.charts's, shared with every other chart.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..gates import SATURATED, SIGMOID_GATES, STATE_LABELS
from ..inside import STAGES
from .theme import PALETTE, chart_title, legend, letter_axis, letters, themed
from .theme import fit_width as _fit_width

DASH_NOTE = "dashed: weights at initialisation · solid: trained weights"
STAGE_DASH = alt.Scale(domain=list(STAGES), range=[[4, 3], [1, 0]])  # initialisation dashed, trained solid


def _finish(chart):
    """The last step of every builder: the column's width (panels side by side keep theirs) and the theme."""
    if not isinstance(chart, alt.HConcatChart):
        chart = _fit_width(chart)
    return themed(chart)


def _models(frame: pd.DataFrame) -> int:
    return frame["model"].nunique() if len(frame) and "model" in frame else 1


def _positive(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows a log axis can draw: finite and above zero."""
    values = pd.to_numeric(frame[column], errors="coerce")
    return frame[np.isfinite(values) & (values > 0)]


def gradient_flow_chart(flow: pd.DataFrame, relative: bool = True, height: int = 320) -> alt.Chart:
    """Mean ||dL/dx_t|| against distance from the last letter, log scale; colour = model, dash = stage.

    `flow` has rnnviz.inside.FLOW_COLUMNS. `relative` plots each line divided by its value at distance 0.
    """
    column = "relative" if relative else "mean_norm"
    title = "gradient reaching each letter, relative to the last letter" if relative else \
        "gradient reaching each letter (mean over validation names)"
    data = _positive(flow, column)
    return _finish(
        alt.Chart(data, title=chart_title(title, DASH_NOTE), height=height)
        .mark_line(point=True)
        .encode(
            x=alt.X("distance:Q", title="letters before the last one (0 = last letter)",
                    axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(f"{column}:Q", scale=alt.Scale(type="log"),
                    title="share of the last letter's gradient" if relative else "mean ‖dL/dxₜ‖"),
            color=alt.Color("model:N", title="model", scale=alt.Scale(scheme=PALETTE), legend=legend(_models(data))),
            strokeDash=alt.StrokeDash("stage:N", scale=STAGE_DASH, legend=None),
            detail="stage:N",
            tooltip=["model:N", "stage:N", "distance:Q", alt.Tooltip("mean_norm:Q", format=".3g", title="mean norm"),
                     alt.Tooltip("relative:Q", format=".3g"), alt.Tooltip("names:Q", title="names this long")],
        )
    )


def name_gradient_chart(name_flow: pd.DataFrame, height: int = 280, relative: bool = False) -> alt.Chart:
    """||dL/dx_t|| at each letter of one name (log scale); columns of rnnviz.inside.NAME_FLOW_COLUMNS.

    `relative` plots each line divided by its value at the last letter.
    """
    order = name_flow.sort_values("position")["char"].unique().tolist()
    column = "relative" if relative else "norm"
    data = _positive(name_flow, column)
    return _finish(letters(
        alt.Chart(data, title=chart_title("gradient reaching each letter of this name", DASH_NOTE),
                  height=height)
        .mark_line(point=True)
        .encode(
            x=alt.X("char:O", sort=order, title=None, axis=letter_axis(len(order))),
            y=alt.Y(f"{column}:Q", scale=alt.Scale(type="log"),
                    title="share of the last letter's gradient" if relative else "‖dL/dxₜ‖"),
            color=alt.Color("model:N", title="model", scale=alt.Scale(scheme=PALETTE), legend=legend(_models(data))),
            strokeDash=alt.StrokeDash("stage:N", scale=STAGE_DASH, legend=None),
            detail="stage:N",
            tooltip=["model:N", "stage:N", alt.Tooltip("target:N", title="loss of"),
                     alt.Tooltip("char:N", title="letter"), "distance:Q", alt.Tooltip("norm:Q", format=".3g")],
        )
    ))


def probe_chart(summary: pd.DataFrame, height: int = 320) -> alt.LayerChart:
    """Held-out accuracy against string length: per model the mean over seeds (line) and the lowest to highest
    seed (bar), with the chance level dashed and labelled. `summary` is rnnviz.probe.summarize's table."""
    base = alt.Chart(summary)
    lengths = sorted({int(length) for length in summary["length"]})  # ticks at the lengths measured, whole numbers
    x = alt.X("length:Q", title="string length L (the class letter is L - 1 steps before the end)",
              scale=alt.Scale(zero=False), axis=alt.Axis(values=lengths, format="d"))
    color = alt.Color("model:N", title="model", scale=alt.Scale(scheme=PALETTE), legend=legend(_models(summary)))
    tooltip = ["model:N", "length:Q", alt.Tooltip("mean:Q", format=".1%", title="mean over seeds"),
               alt.Tooltip("spread:Q", format=".1%", title="standard deviation"),
               alt.Tooltip("low:Q", format=".1%", title="lowest seed"),
               alt.Tooltip("high:Q", format=".1%", title="highest seed"), alt.Tooltip("seeds:Q", title="seeds")]
    lines = base.mark_line(point=alt.OverlayMarkDef(size=60)).encode(
        x=x, y=alt.Y("mean:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"),
                     title="test accuracy (mean over seeds)"),
        color=color, tooltip=tooltip)
    bars = base.mark_rule(strokeWidth=2, opacity=0.6).encode(x=x, y="low:Q", y2="high:Q", color=color,
                                                              tooltip=tooltip)
    chance = float(summary["chance"].iloc[0]) if len(summary) else np.nan
    layers = [bars, lines]
    if np.isfinite(chance):
        level = pd.DataFrame({"chance": [chance], "label": [f"chance {chance:.0%} (guessing)"]})
        rule = alt.Chart(level).mark_rule(strokeDash=[4, 4], color="gray").encode(
            y="chance:Q", tooltip=[alt.Tooltip("chance:Q", format=".0%", title="guessing")])
        text = alt.Chart(level).mark_text(align="left", dx=4, dy=-7, color="gray", style="note").encode(
            y="chance:Q", x=alt.value(0), text="label:N")
        layers += [rule, text]
    return _finish(alt.layer(*layers).properties(title=chart_title("remembering the first letter"), height=height))


def saturation_chart(saturation: pd.DataFrame, size: int = 180) -> alt.HConcatChart:
    """One scatter per gate: each unit's share of steps left-saturated (x) and right-saturated (y).

    Units on the diagonal x + y = 1 are always saturated (switches); near the origin, never (diffuse).
    """
    stages = sorted(saturation["stage"].unique().tolist()) if len(saturation) else []
    diagonal = alt.Chart(pd.DataFrame({"left": [0.0, 1.0], "right": [1.0, 0.0]})).mark_line(
        color="gray", strokeDash=[4, 4]).encode(x="left:Q", y="right:Q")
    panels = []
    for index, gate in enumerate(STATE_LABELS[key] for key in SIGMOID_GATES):
        points = alt.Chart(saturation[saturation["gate"] == gate]).mark_circle(size=45, opacity=0.75).encode(
            x=alt.X("left:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"),
                    title=f"time left-saturated (< {SATURATED[0]:g})"),
            y=alt.Y("right:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"),
                    title=f"time right-saturated (> {SATURATED[1]:g})" if index == 0 else None),
            color=alt.Color("stage:N", title="weights", scale=alt.Scale(domain=stages, scheme=PALETTE),
                            legend=legend(len(stages))),
            shape=alt.Shape("model:N", title="model", legend=legend(_models(saturation))),
            tooltip=["model:N", "stage:N", "unit:O", alt.Tooltip("left:Q", format=".1%"),
                     alt.Tooltip("right:Q", format=".1%")],
        )
        panels.append(alt.layer(diagonal, points).properties(title=gate, width=size, height=size))
    return _finish(alt.hconcat(*panels))


def report_chart(table: pd.DataFrame, height: int = 240) -> alt.Chart:
    """Our test accuracy and balanced accuracy per model next to the report's stated accuracy."""
    rows = []
    for _, row in table.iterrows():
        for label, column in (("ours: test accuracy", "test_accuracy"),
                              ("ours: balanced accuracy", "test_balanced_accuracy"),
                              ("the report", "report_test_accuracy")):
            value = row[column]
            if isinstance(value, (int, float)) and np.isfinite(value):
                rows.append((row["model"], label, float(value)))
    frame = pd.DataFrame(rows, columns=["model", "source", "accuracy"])
    order = ["ours: test accuracy", "ours: balanced accuracy", "the report"]
    bars = alt.Chart(frame, title=chart_title("test accuracy: ours and the report's"), height=height).encode(
        x=alt.X("model:N", title=None, sort=table["model"].tolist(), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("source:N", sort=order),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"), title=None),
        color=alt.Color("source:N", sort=order, title=None, scale=alt.Scale(scheme=PALETTE),
                        legend=legend(len(order), orient="bottom")),
        tooltip=["model:N", "source:N", alt.Tooltip("accuracy:Q", format=".1%")],
    )
    text = bars.mark_text(dy=-8).encode(text=alt.Text("accuracy:Q", format=".0%"))
    return _finish(alt.layer(bars.mark_bar(), text))
