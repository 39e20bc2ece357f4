"""Inside the LSTM (the Gates page's explanations, from rnnviz.inside): the cell diagram, unit bars,
contributions, Karpathy-style letter strips, span-search matches, attribution, the hidden-state path and what-if
bars."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from .curves import CurveChart
from .theme import (
    chart_title,
    finish,
    legend,
    letter_axis,
    letters,
    theme,
    themed,
    wrap_title,
)

VALUE_SCALE = alt.Scale(scheme="redblue", domain=[-1, 1], clamp=True)  # negative red, positive blue
VALUE_TITLE = "value (red: negative, blue: positive)"
GATE_SCALE = alt.Scale(scheme="viridis", domain=[0, 1])
# One colour per category, 20 of them kept apart for a map of 18 languages: Trubetskoy's "20 distinct colours"
# without its pastels (invisible as dots on white), completed from Kelly's colours of maximum contrast, Vega's
# category10 and ColorBrewer's Dark2. Each is at least 2.2:1 against white and at least 28 (CIE76 ΔE) from every
# other; tests/test_charts.py checks both.
CATEGORY_COLOURS = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#f032e6", "#008080", "#9a6324", "#800000", "#808000",
    "#808080", "#e377c2", "#1f77b4", "#2b3d26", "#008856", "#f99379", "#e7298a", "#8db600", "#875692", "#b3446c",
]

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
    and the previous h feed the gates from the bottom; every box shows its value. `scale` spaces the two lines
    of a box and the arrowheads for a projector, whose larger type the theme sets (TEXT_STYLES)."""
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
    first = alt.Chart(nodes).mark_text(dy=-8 * scale, style="box_label").encode(
        x=x, y=y, text=alt.Text(field="line1", type="nominal"), fill=ink)
    second = alt.Chart(nodes).mark_text(dy=9 * scale, style="box_value", fontWeight="bold").encode(
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
    return finish(chart.properties(height=height or 22 * len(shown), width="container"))


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
    (columns: row, position, letter, value); `scale` enlarges the cells for a projector, whose larger letters
    the theme sets (TEXT_STYLES)."""
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
    text = base.mark_text(style="letter", font="monospace").encode(
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
    return finish(chart.properties(height=height or max(60, 24 * len(order)), width="container"))


# Each attribution on its own axis, in its own units: they answer different questions and need not agree.
ATTRIBUTION_MEASURES = {
    "occlusion": ("occlusion: how much p({category}) falls when the letter is left out",
                  "p − p without the letter (points of probability)"),
    "gradient_x_input": ("gradient × input: how fast log p({category}) grows with the letter",
                         "d log p / d x · x (log-probability units)"),
}


def attribution_chart(frame: pd.DataFrame, category: str, measure: str = "occlusion", height: int = 220
                      ) -> alt.Chart:
    """One attribution over the letters (columns: position, label, letter, occlusion, gradient_x_input), titled
    with what it measures and on an axis in its own units: occlusion in points of probability, gradient × input
    in log-probability units. Bars above zero carry the category, below zero speak against it."""
    if measure not in ATTRIBUTION_MEASURES:
        raise ValueError(f"unknown attribution {measure!r}; choose one of {', '.join(ATTRIBUTION_MEASURES)}")
    title, axis_title = ATTRIBUTION_MEASURES[measure]
    data = frame[["position", "label", "letter", measure]].rename(columns={measure: "value"}).dropna(
        subset=["value"])
    labels = frame["label"].tolist()
    percent = measure == "occlusion"
    chart = alt.Chart(data, title=chart_title(title.format(category=category))).mark_bar().encode(
        x=alt.X("label:O", sort=labels, title=None, axis=letter_axis(len(labels))),
        y=alt.Y("value:Q", title=wrap_title(axis_title, 30), axis=alt.Axis(format="+.0%" if percent else "+.2f")),
        color=alt.condition("datum.value >= 0", alt.value("#2166ac"), alt.value("#b2182b")),
        tooltip=[alt.Tooltip("position:O", title="letter number (from 0)"), "letter:N",
                 alt.Tooltip("value:Q", title=axis_title, format="+.1%" if percent else "+.3f")],
    )
    return finish(letters(chart.properties(height=height, width="container")))


def hidden_path_chart(background: pd.DataFrame, path: pd.DataFrame, explained: tuple[float, float],
                      height: int = 380, noun: str = "language") -> alt.LayerChart:
    """Validation names' final states as dots coloured by their category (a `noun` from the dataset: 'language'
    for the surnames), each category's name written at the middle of its dots, and each typed name's path of h
    letter by letter through them (columns: x, y, category, name; series, position, label, letter, x, y)."""
    x = alt.X("x:Q", title=f"principal component 1 ({explained[0]:.0%} of the variance)")
    y = alt.Y("y:Q", title=f"principal component 2 ({explained[1]:.0%})")
    categories = sorted(background["category"].unique().tolist())
    colour = alt.Color("category:N", title=f"validation names' final state, by {noun}",
                       scale=alt.Scale(domain=categories, range=CATEGORY_COLOURS),
                       legend=alt.Legend(orient="right", columns=1, titleLimit=0))
    dots = alt.Chart(background).mark_circle(size=26, opacity=0.7).encode(x=x, y=y, color=colour,
                                                                          tooltip=["name:N", "category:N"])
    middle = alt.Chart(background).transform_aggregate(
        x="median(x)", y="median(y)", groupby=["category"])
    # The names' type is the theme's text size, which presenter mode raises to at least PRESENTER_TEXT_MIN.
    halo = middle.mark_text(fontWeight="bold", stroke="white", strokeWidth=4, strokeOpacity=0.9).encode(
        x=x, y=y, text="category:N")
    names = middle.mark_text(fontWeight="bold").encode(
        x=x, y=y, text="category:N", color=alt.Color("category:N", scale=alt.Scale(domain=categories,
                                                                                 range=CATEGORY_COLOURS),
                                                    legend=None))
    series = list(dict.fromkeys(path["series"]))
    dash = alt.StrokeDash("series:N", title="typed name's path", scale=alt.Scale(domain=series,
                                                                                 range=[[1, 0], [6, 4]]),
                          legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3))
    line = alt.Chart(path).mark_line(color="#111", strokeWidth=2.5).encode(x=x, y=y, order="position:Q",
                                                                          strokeDash=dash)
    letters = alt.Chart(path).mark_text(style="path_letter", fontWeight="bold", dy=-10, color="#111").encode(
        x=x, y=y, text="letter:N", tooltip=["series:N", "position:Q", "letter:N"])
    points = alt.Chart(path).mark_point(filled=True, color="#111", size=40).encode(x=x, y=y)
    chart = alt.layer(dots, halo, names, line, points, letters,
                      title="the hidden state's path as the letters are read")
    return finish(chart.properties(height=height, width="container"))


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
    return finish(chart.properties(height=height or 40 * len(order), width="container"))


# The states of memory over time, each its own colour everywhere it is drawn (the LSTM's and the RNN's h alike).
MEMORY_COLOURS = {"cell state c": "#4363d8", "forget gate f": "#e6194b", "input gate i": "#3cb44b",
                  "output gate o": "#f58231", "hidden state h": "#111111"}


def memory_chart(frame: pd.DataFrame, title: str, height: int = 240) -> alt.Chart:
    """One unit's states as lines over the letters of a name (columns: position, label, letter, state, value;
    state named as on screen, e.g. 'forget gate f'). Gates lie in [0, 1]; c and the RNN's h are unbounded."""
    labels = list(dict.fromkeys(frame.sort_values("position")["label"]))
    states = [s for s in MEMORY_COLOURS if s in set(frame["state"])]
    chart = alt.Chart(frame, title=chart_title(title), height=height).mark_line(point=True).encode(
        x=alt.X("label:O", sort=labels, title=None, axis=letter_axis(len(labels))),
        y=alt.Y("value:Q", title="value"),
        color=alt.Color("state:N", title=None, sort=states,
                        scale=alt.Scale(domain=states, range=[MEMORY_COLOURS[s] for s in states]),
                        legend=legend(len(states))),
        tooltip=[alt.Tooltip("position:O", title="letter number (from 0)"), "letter:N", "state:N",
                 alt.Tooltip("value:Q", format=".3f")],
    )
    return finish(letters(chart.properties(width="container")))


def rnn_step_bars(units: pd.DataFrame, chosen: int | None = None, height: int = 170) -> alt.Chart:
    """Every unit's change of h at one letter of the RNN (columns: unit, h_prev, h, delta_h, ...), the biggest
    first; the chosen unit outlined."""
    top = units.head(24)
    chart = alt.Chart(top, title=chart_title("change of h at this letter, biggest first"), height=height).mark_bar(
    ).encode(
        x=alt.X("unit:O", sort=top["unit"].tolist(), title="unit"),
        y=alt.Y("delta_h:Q", title="h − h before"),
        color=alt.condition("datum.delta_h >= 0", alt.value("#2166ac"), alt.value("#b2182b")),
        stroke=alt.condition(f"datum.unit == {-1 if chosen is None else int(chosen)}", alt.value("#111"),
                             alt.value(None)),
        strokeWidth=alt.value(2),
        tooltip=["unit:O", alt.Tooltip("h_prev:Q", format=".3f"), alt.Tooltip("h:Q", format=".3f"),
                 alt.Tooltip("delta_h:Q", format="+.3f")],
    )
    return finish(chart.properties(width="container"))
