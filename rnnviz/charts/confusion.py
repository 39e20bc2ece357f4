"""What a model gets right and wrong per category, and what the data holds per category: the confusion
matrix, the category counts and table, the top predictions."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from .theme import COUNT_FONT_MAX, COUNT_FONT_MIN, COUNT_PARAM, PALETTE, chart_title, finish, legend, wrap_title


def most_confused(confusion: pd.DataFrame) -> tuple[str, str] | None:
    """The (true, predicted) pair with the most mistakes, or None when nothing is misclassified."""
    wrong = confusion[(confusion["true"] != confusion["predicted"]) & (confusion["count"] > 0)]
    if wrong.empty:
        return None
    row = wrong.sort_values(["count", "true", "predicted"], ascending=[False, True, True]).iloc[0]
    return str(row["true"]), str(row["predicted"])


def confusion_heatmap(confusion: pd.DataFrame, categories: Sequence[str], title: str = "",
                      selectable: bool = True, cell: int = 26, subtitle: str = "") -> alt.LayerChart:
    """Rows true, columns predicted, colour the row-normalised rate, counts written in and in tooltips; a
    `subtitle` under the title (e.g. the run's scores, when two matrices stand side by side).

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
    # The widest count fits its cell's width, and its height; below the chart's COUNT_PARAM pixels (COUNT_FONT_MIN,
    # larger on a projector: the theme sets it) it is not drawn, and the tooltip tells it.
    font = f"min(width / {n} / {0.62 * digits + 0.5:.2f}, height / {n} * 0.6, {COUNT_FONT_MAX})"
    text = base.mark_text(fontSize=alt.ExprRef(expr=font),
                          opacity=alt.ExprRef(expr=f"{font} >= {COUNT_PARAM} ? 1 : 0")).encode(
        x=x, y=y, text=alt.Text("count:Q"), tooltip=tooltip,
        color=alt.condition("datum.rate > 0.5", alt.value("white"), alt.value("#222")),
    ).transform_filter("datum.count > 0")
    layered = alt.layer(rect, text, title=chart_title(title, subtitle) if title else alt.Undefined, height=cell * n,
                        params=[alt.VariableParameter(name=COUNT_PARAM, value=COUNT_FONT_MIN)])
    return finish(layered)


def category_counts_chart(dataset_counts: pd.DataFrame, height: int | None = None) -> alt.Chart:
    """Horizontal bars of lines and distinct names per category (columns: category, kind, count)."""
    order = (dataset_counts[dataset_counts["kind"] == dataset_counts["kind"].iloc[0]]
             .sort_values("count", ascending=False)["category"].tolist()) if len(dataset_counts) else []
    n = max(1, len(order))
    kinds = dataset_counts["kind"].nunique() if len(dataset_counts) else 1
    return finish(
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


def top_chart(top: Sequence[tuple[str, float]], height: int | None = None) -> alt.Chart:
    """Horizontal bars of the top predictions, most likely first."""
    frame = pd.DataFrame(list(top), columns=["category", "probability"])
    bars = alt.Chart(frame).encode(
        y=alt.Y("category:N", sort=frame["category"].tolist(), title=None),
        # No axis: every bar carries its percentage, and the row stays short enough for the view below it to
        # start on the first screen.
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1.15]), axis=None, title=None),
        tooltip=["category:N", alt.Tooltip("probability:Q", format=".2%")],
    )
    labels = bars.mark_text(align="left", dx=4).encode(text=alt.Text("probability:Q", format=".1%"))
    return finish(alt.layer(bars.mark_bar(), labels, height=height or 34 * len(frame)))


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
