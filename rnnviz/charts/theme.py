"""The one chart theme: fonts, legends, titles and the letter axis that every chart of the app and of the
exported reports shares, scaled for a projector in presenter mode; and the rule for width."""

from __future__ import annotations

import altair as alt

FONT_SIZE = 14  # readable from the back of a classroom
PALETTE = "tableau10"  # distinct hues; shades of one colour are unreadable on a projector

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
LETTER_EXPR = (
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


def legend(count: int, orient: str = "top", **kwargs) -> alt.Legend:
    """A legend above or below the chart that lists every one of its `count` entries, LEGEND_COLUMNS a row."""
    return alt.Legend(orient=orient, columns=min(max(1, count), LEGEND_COLUMNS), **kwargs)
