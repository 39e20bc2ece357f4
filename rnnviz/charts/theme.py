"""The one chart theme: fonts, legends, titles and the letter axis that every chart of the app and of the
exported reports shares, scaled for a projector in presenter mode; and the rule for width."""

from __future__ import annotations

import altair as alt

from ..registry import MODEL_KEYS

FONT_SIZE = 14  # readable from the back of a classroom
PALETTE = "tableau10"  # distinct hues; shades of one colour are unreadable on a projector
# The hues of PALETTE (Vega's tableau10), for colours fixed by key rather than by order of appearance.
PALETTE_COLORS = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6",
                  "#9d755d", "#bab0ac")
PRESENTER_TEXT_MIN = 18  # pixels: no chart text smaller than this on a projector (presenter mode)

# ---------------------------------------------------------------- the one chart theme
#
# Every chart of the app and of the exported reports is styled here: one theme (fonts, legends, titles) that
# presenter mode scales, one letter axis, and one rule for width: a chart is as wide as its column
# (`width="container"`, autosize fit-x) and its height is the plot's, with title, legend and axes on top.

COUNT_FONT_MIN, COUNT_FONT_MAX = 8, 28  # pixels of a count written in a matrix cell
COUNT_PARAM = "count_font_min"  # the chart parameter that holds the smallest count a matrix writes in its cells
LETTER_FONT_MAX = FONT_SIZE + 2  # letters of a name are drawn a little larger than other axis labels
LETTER_PARAM = "letter_font"  # the chart parameter that holds a letter axis's largest type
LETTER_FONT_MIN = 7  # a 64-letter name in a narrow column still labels every letter, in smaller type
# Text a chart writes on its marks, by role, at its laptop size: a mark names its role (`mark_text(style=...)`)
# rather than a size, so the theme scales it for a projector and holds it to PRESENTER_TEXT_MIN like every other
# chart text.
TEXT_STYLES = {
    "text": 11,  # any other text mark (Vega-Lite's default style for text marks)
    "note": FONT_SIZE,  # a label written beside a line (e.g. the chance level)
    "box_label": FONT_SIZE - 1,  # the name of a box in a diagram
    "box_value": FONT_SIZE,  # the value in a box of a diagram
    "letter": FONT_SIZE,  # a letter written in a cell of a letter strip
    "path_letter": FONT_SIZE + 1,  # a letter written at a point of a path
}
TITLE_WRAP = 34  # characters per line of a chart title: a title wraps instead of being cut short
LEGEND_COLUMNS = 3  # entries per row of a legend above or below a chart, so every entry stays inside it

# Axis labels show the letter of "3:k"-style position labels; a space is drawn as a visible mark.
LETTER_EXPR = (
    "substring(datum.label, indexof(datum.label, ':') + 1) == ' ' ? '␣' "
    ": substring(datum.label, indexof(datum.label, ':') + 1)"
)


def theme(scale: float = 1.0) -> alt.Config:
    """The app's chart configuration; `scale` > 1 enlarges text, lines and marks for a projector, where no text
    is smaller than PRESENTER_TEXT_MIN."""
    font = text_size(FONT_SIZE, scale)
    return alt.Config(
        axis=alt.AxisConfig(labelFontSize=font, titleFontSize=font, labelLimit=round(260 * scale), titleLimit=0,
                            tickSize=round(5 * scale)),
        legend=alt.LegendConfig(labelFontSize=font, titleFontSize=font, labelLimit=0, titleLimit=0,
                                symbolSize=round(100 * scale * scale), symbolStrokeWidth=round(2 * scale)),
        title=alt.TitleConfig(fontSize=font + 2, subtitleFontSize=font, limit=0, anchor="start"),
        line=alt.LineConfig(strokeWidth=round(2 * scale)),
        # Text marks are sized through styles only: a size in config.text would outrank every named style.
        style={name: {"fontSize": text_size(size, scale)} for name, size in TEXT_STYLES.items()},
    )


def text_size(pixels: int, scale: float = 1.0) -> int:
    """Chart text of `pixels` in the laptop view, at `scale`: larger for a projector, never under
    PRESENTER_TEXT_MIN there."""
    size = round(pixels * scale)
    return max(size, PRESENTER_TEXT_MIN) if scale > 1 else size


def themed(chart: alt.TopLevelMixin, scale: float = 1.0) -> alt.TopLevelMixin:
    """The chart with the app's theme at `scale` (replacing any configuration it had); a chart with letter axes
    gets their largest type scaled too, and a matrix with counts its smallest count (on a projector a count too
    small to read is left to the tooltip)."""
    chart = chart.copy(deep=False)
    chart.config = theme(scale)
    params = chart.params if isinstance(chart.params, list) else []
    scaled = {LETTER_PARAM: round(LETTER_FONT_MAX * scale),
              COUNT_PARAM: max(PRESENTER_TEXT_MIN, round(COUNT_FONT_MIN * scale)) if scale > 1 else COUNT_FONT_MIN}
    names = {getattr(param, "name", None) for param in params} & set(scaled)
    if names:
        chart.params = [param for param in params if getattr(param, "name", None) not in names] + [
            alt.VariableParameter(name=name, value=scaled[name]) for name in sorted(names)]
    return chart


def letters(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Mark a chart that has a letter_axis: it carries the letters' largest type, which `themed` scales."""
    params = chart.params if isinstance(chart.params, list) else []
    return chart.properties(params=[*params, alt.VariableParameter(name=LETTER_PARAM, value=LETTER_FONT_MAX)])


def model_colors() -> dict[str, str]:
    """One colour per model key, in the model table's order: a model keeps its colour in every chart."""
    return {key: PALETTE_COLORS[i % len(PALETTE_COLORS)] for i, key in enumerate(MODEL_KEYS)}


def shade(color: str, step: int) -> str:
    """The `step`-th variant of a colour (0: itself; then darker, lighter, darker still, ...), so several runs of
    one model keep its hue and can still be told apart."""
    if step == 0:
        return color
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    amount = min(0.6, 0.25 * ((step + 1) // 2))
    target = 0 if step % 2 else 255
    mixed = [round(c + (target - c) * amount) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def series_colors(models: list[str | None]) -> list[str]:
    """Colours of series drawn together, given each one's model key: the model's colour, shaded for a second or
    third series of the same model; a series of no known model takes a palette colour no model uses."""
    by_model = model_colors()
    spare = [c for c in PALETTE_COLORS if c not in by_model.values()]
    seen: dict[str | None, int] = {}
    colors = []
    unknown = 0
    for model in models:
        if model in by_model:
            colors.append(shade(by_model[model], seen.get(model, 0)))
            seen[model] = seen.get(model, 0) + 1
        else:
            colors.append(spare[unknown % len(spare)])
            unknown += 1
    return colors


def fit_width(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """As wide as its column; the height is the plot's, legend and title come on top (not squeezed into it)."""
    return chart.properties(width="container", autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def finish(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
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
    return alt.Axis(labelExpr=LETTER_EXPR, labelAngle=0, labelOverlap=False, labelPadding=4,
                    labelFontSize=alt.ExprRef(expr=size), labelFontWeight="bold", **kwargs)


PICK = "pick"  # the click selection a linked view reads back (st.altair_chart(..., on_select=...))


def pickable(chart: alt.Chart, fields: list[str]) -> alt.Chart:
    """The chart with a click selection named PICK over `fields` (e.g. the letter and the unit of a heatmap
    cell), so the page can open another view at what was clicked."""
    return chart.add_params(alt.selection_point(name=PICK, fields=list(fields), on="click", clear="dblclick"))


def legend(count: int, orient: str = "top", **kwargs) -> alt.Legend:
    """A legend above or below the chart that lists every one of its `count` entries, LEGEND_COLUMNS a row."""
    return alt.Legend(orient=orient, columns=min(max(1, count), LEGEND_COLUMNS), **kwargs)
