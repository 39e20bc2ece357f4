"""Gates of a recurrent cell letter by letter: unit orderings, gate heatmaps, gate means and the prediction
after each prefix."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from ..gates import SIGMOID_GATES
from .theme import PALETTE, chart_title, finish, legend, letter_axis, letters, wrap_title

GATE_KEYS_BOUNDED = SIGMOID_GATES  # sigmoid outputs in [0, 1]; g and h are in [-1, 1]; c is unbounded


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
    chart = finish(letters(
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
    return finish(letters(
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
    return finish(letters(
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
