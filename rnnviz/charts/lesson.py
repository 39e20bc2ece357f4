"""Charts of the Lesson page: a DataFrame in, a Chart out (the theme and width rule are rnnviz.charts's).

The lesson's own views (accuracy bars, validation curves, a unit's memory over the letters) and the class's
answers beside the model's: a bar per choice, or the spread of the estimates with the model's number marked.
The other views reuse the Evaluate, Gates and Why pages' builders.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .theme import PALETTE, chart_title, legend, letter_axis, letters
from .theme import finish as _finish

MODEL_MARK = "#e4572e"  # the model's answer, in every answers chart


def accuracy_bars(frame: pd.DataFrame, height: int = 220) -> alt.Chart:
    """Test accuracy per model (columns model, accuracy, source), one bar per source beside each other."""
    sources = list(dict.fromkeys(frame["source"]))
    chart = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("model:N", sort=list(dict.fromkeys(frame["model"])), title=None),
        yOffset=alt.YOffset("source:N", sort=sources),
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"), title="test accuracy"),
        color=alt.Color("source:N", sort=sources, title=None, scale=alt.Scale(scheme=PALETTE),
                        legend=legend(len(sources))),
        tooltip=["model:N", "source:N", alt.Tooltip("accuracy:Q", format=".1%")],
    )
    text = chart.mark_text(align="left", dx=4).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return _finish(alt.layer(chart, text).properties(height=height))


def validation_curves(frame: pd.DataFrame, height: int = 260) -> alt.Chart:
    """Validation accuracy against epoch, a line per model (columns model, epoch, accuracy)."""
    models = list(dict.fromkeys(frame["model"]))
    chart = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y("accuracy:Q", axis=alt.Axis(format=".0%"), title="validation accuracy",
                scale=alt.Scale(zero=False)),
        color=alt.Color("model:N", sort=models, title=None, scale=alt.Scale(scheme=PALETTE),
                        legend=legend(len(models))),
        tooltip=["model:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("accuracy:Q", format=".1%")],
    )
    return _finish(chart.properties(height=height))


def memory_lines(frame: pd.DataFrame, height: int = 200) -> alt.Chart:
    """One model's unit over the letters of a name (columns letter, position, value, series, model): the LSTM's
    c, f, i, o, or the RNN's h. Draw one per model, one below the other, so their letters line up."""
    count = int(frame["position"].max()) + 1 if len(frame) else 1
    series = list(dict.fromkeys(frame["series"]))
    model = str(frame["model"].iloc[0]) if len(frame) else ""
    chart = alt.Chart(frame, title=chart_title(model)).mark_line(point=True).encode(
        x=alt.X("letter:N", sort=list(dict.fromkeys(frame["letter"])), title=None, axis=letter_axis(count)),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("series:N", sort=series, title=None, scale=alt.Scale(scheme=PALETTE),
                        legend=legend(len(series), orient="right")),
        tooltip=["model:N", "letter:N", "series:N", alt.Tooltip("value:Q", format=".3f")],
    )
    return letters(_finish(chart.properties(height=height)))


def choice_answers(frame: pd.DataFrame, height: int | None = None) -> alt.LayerChart:
    """The class's answers to a multiple-choice question (columns choice, count, model), the model's answer in
    its own colour (MODEL_MARK, named in the text beside the chart: a legend would take a row)."""
    order = list(frame["choice"])
    shade = alt.Color("who:N", title=None, scale=alt.Scale(domain=["the class", "the model's answer"],
                                                           range=["#4c78a8", MODEL_MARK]), legend=None)
    data = frame.assign(who=np.where(frame["model"], "the model's answer", "the class"))
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("choice:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("count:Q", title=None, axis=None,  # each bar has its count written at its end
                scale=alt.Scale(domain=[0, max(1, int(frame["count"].max()) if len(frame) else 1)])), color=shade,
        tooltip=["choice:N", "count:Q"])
    text = bars.mark_text(align="left", dx=4).encode(text="count:Q", color=alt.value("#222"))
    return _finish(alt.layer(bars, text).properties(height=height or 44 * max(1, len(order))))


def estimate_answers(estimates: list[float], model: float | None, low: float, high: float,
                     height: int = 160) -> alt.LayerChart:
    """The spread of the class's estimates (a histogram) with the model's number as a line."""
    data = pd.DataFrame({"estimate": [float(v) for v in estimates]})
    x = alt.X("estimate:Q", bin=alt.Bin(extent=[low, high], maxbins=20), title="the class's estimates",
              scale=alt.Scale(domain=[low, high]))
    bars = alt.Chart(data).mark_bar(color="#4c78a8").encode(
        x=x, y=alt.Y("count():Q", title="answers", axis=alt.Axis(tickMinStep=1, format="d")), tooltip=["count():Q"])
    layers = [bars]
    if model is not None and np.isfinite(model):
        mark = pd.DataFrame({"estimate": [float(model)], "label": [f"the model: {model:.3g}"]})
        layers.append(alt.Chart(mark).mark_rule(color=MODEL_MARK, strokeWidth=3).encode(x="estimate:Q"))
        layers.append(alt.Chart(mark).mark_text(align="left", dx=5, dy=-6, color=MODEL_MARK).encode(
            x="estimate:Q", y=alt.value(0), text="label:N"))
    return _finish(alt.layer(*layers).properties(height=height))
