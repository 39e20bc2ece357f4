"""Presenter mode: larger type and charts for a projector, and a switch pages read to hide advanced controls.

The CSS and chart styling are plain values and functions (no Streamlit calls) so they can be tested; the
pages inject the CSS with st.html and pass every chart through `style_chart`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt

from rnnviz import charts

PRESENT = "present"  # ?present=1 in a link turns presenter mode on
ON_WORDS = ("1", "true", "yes", "on")

FONT_SCALE = 1.6  # chart text and sizes relative to the normal view
CHART_FONT = round(charts.FONT_SIZE * FONT_SCALE)

CSS = """
<style>
/* presenter mode: readable from the back of a classroom */
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stWidgetLabel"] p { font-size: 1.35rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMetricValue"] div { font-size: 3rem !important; line-height: 1.2; }
[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p { font-size: 1.2rem !important; }
[data-testid="stSelectbox"] input, [data-testid="stMultiSelect"] span, [data-testid="stNumberInput"] input,
[data-testid="stTextInput"] input { font-size: 1.25rem !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1.1rem !important; }
h1 { font-size: 3rem !important; } h2 { font-size: 2.3rem !important; } h3 { font-size: 1.8rem !important; }
.block-container, [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding-left: 2rem;
  padding-right: 2rem; padding-top: 2.5rem !important; }
/* code blocks, chart tooltips, widget tooltips and button labels at 18 px or more; labels never cut to "P." */
[data-testid="stCode"] pre, [data-testid="stCode"] code { font-size: 18px !important; }
#vg-tooltip-element, #vg-tooltip-element td, #vg-tooltip-element th { font-size: 18px !important; }
[data-testid="stTooltipContent"], [data-testid="stTooltipContent"] p { font-size: 18px !important; }
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p,
[data-testid="stBaseButton-tertiary"] p { font-size: 1.2rem !important; white-space: nowrap; overflow: visible;
  text-overflow: clip; }
</style>
"""

# Every mode: Streamlit's 6rem top padding leaves an empty band of about 130 px above the title at 1280x800,
# which pushes each page's main chart below the fold.
BASE_CSS = """
<style>
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 3rem !important; }
</style>
"""


def style_chart(chart: alt.TopLevelMixin, presenting: bool) -> alt.TopLevelMixin:
    """The chart unchanged, or with the app's theme scaled up for a projector (text, lines and marks)."""
    if not presenting:
        return chart
    return charts.themed(chart, FONT_SCALE)


def chart_height(height: int, presenting: bool) -> int:
    """A chart's height in pixels, taller when presenting."""
    return round(height * FONT_SCALE) if presenting else height


def link_asks(params: Mapping[str, Any]) -> bool:
    """Whether a page's query parameters ask for presenter mode (?present=1, true, yes or on)."""
    value = params.get(PRESENT)
    if value is not None and not isinstance(value, str):
        value = str(value[-1]) if len(value) else None  # repeated: the last one counts, as in Streamlit
    return value is not None and value.strip().lower() in ON_WORDS
