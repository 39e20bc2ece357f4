"""Altair chart builders for the app and its exported reports: a DataFrame in, a Chart out, nothing drawn or
printed here; also the small pure data-shaping steps the charts need (long-form curves, downsampling for display,
unit orderings), so that pages hold no data wrangling and every step can be unit-tested.

One module per subject: theme (the one theme), curves, confusion (per-category charts), gates, cell (inside the
LSTM), lesson (the Lesson page's views and the class's answers) and insight (why LSTMs win, the report). Callers
write `from rnnviz import charts` and `charts.X`. The insight builders are imported on first use: they read
rnnviz.inside, which loads torch, and the app's first page must not wait for it.
"""

from __future__ import annotations

from .cell import (
    ATTRIBUTION_MEASURES,
    CATEGORY_COLOURS,
    CELL_EDGES,
    CELL_NODES,
    GATE_SCALE,
    MEMORY_COLOURS,
    VALUE_SCALE,
    VALUE_TITLE,
    attribution_chart,
    cell_diagram,
    cell_frames,
    contributions_chart,
    hidden_path_chart,
    letter_strips,
    letter_strips_frame,
    memory_chart,
    rnn_step_bars,
    span_matches_chart,
    unit_step_bars,
    what_if_chart,
)
from .confusion import (
    category_counts_chart,
    category_table,
    confusion_heatmap,
    counts_frame,
    most_confused,
    top_chart,
)
from .curves import (
    CURVE_METRICS,
    CURVE_X,
    HOVER,
    HOVER_VIEW,
    MAX_CURVE_POINTS,
    POINTS_UP_TO,
    CurveChart,
    curve_chart,
    curve_x_field,
    curves_long,
    downsample,
    even_indices,
    hover_frames,
    planned_x_end,
    rows_frame,
    smoothed_curves,
)
from .gates import (
    GATE_KEYS_BOUNDED,
    GATE_SCALE_TITLES,
    PREFIX_TOP,
    gate_heatmap,
    gate_means_chart,
    prefix_chart,
    prefix_top,
)
from .lesson import MODEL_MARK, accuracy_bars, choice_answers, estimate_answers, memory_lines, validation_curves
from .theme import (
    COUNT_FONT_MAX,
    COUNT_FONT_MIN,
    COUNT_PARAM,
    FONT_SIZE,
    LEGEND_COLUMNS,
    LETTER_EXPR,
    LETTER_FONT_MAX,
    LETTER_FONT_MIN,
    LETTER_PARAM,
    PALETTE,
    PALETTE_COLORS,
    PICK,
    PRESENTER_TEXT_MIN,
    TEXT_STYLES,
    TITLE_WRAP,
    chart_title,
    finish,
    fit_width,
    legend,
    letter_axis,
    letters,
    model_colors,
    pickable,
    series_colors,
    shade,
    text_size,
    theme,
    themed,
    wrap_title,
)

__all__ = [  # every builder and constant, so callers write charts.X
    "ATTRIBUTION_MEASURES", "CATEGORY_COLOURS", "CELL_EDGES", "CELL_NODES", "GATE_SCALE", "MEMORY_COLOURS",
    "VALUE_SCALE", "VALUE_TITLE", "attribution_chart", "cell_diagram", "cell_frames", "contributions_chart",
    "hidden_path_chart", "letter_strips", "letter_strips_frame", "memory_chart", "rnn_step_bars",
    "span_matches_chart", "unit_step_bars", "what_if_chart",
    "category_counts_chart", "category_table", "confusion_heatmap", "counts_frame", "most_confused", "top_chart",
    "CURVE_METRICS", "CURVE_X", "HOVER", "HOVER_VIEW", "MAX_CURVE_POINTS", "POINTS_UP_TO", "CurveChart",
    "curve_chart", "curve_x_field", "planned_x_end", "curves_long", "downsample", "even_indices", "hover_frames",
    "rows_frame", "smoothed_curves", "GATE_KEYS_BOUNDED", "GATE_SCALE_TITLES", "PREFIX_TOP",
    "gate_heatmap", "gate_means_chart", "prefix_chart", "prefix_top", "COUNT_FONT_MAX",
    "COUNT_FONT_MIN", "COUNT_PARAM", "FONT_SIZE", "LEGEND_COLUMNS", "LETTER_EXPR", "LETTER_FONT_MAX",
    "LETTER_FONT_MIN", "LETTER_PARAM", "PALETTE", "PALETTE_COLORS", "PICK", "PRESENTER_TEXT_MIN",
    "TEXT_STYLES", "TITLE_WRAP",
    "chart_title", "finish", "fit_width", "legend", "letter_axis", "letters", "model_colors", "series_colors",
    "pickable", "shade", "text_size", "theme", "themed", "wrap_title",
    "MODEL_MARK", "accuracy_bars", "choice_answers", "estimate_answers", "memory_lines", "validation_curves",
]

_INSIGHT = (
    'DASH_NOTE', 'STAGE_DASH', 'gradient_flow_chart', 'name_gradient_chart', 'probe_chart', 'report_chart',
    'saturation_chart',
)


def __getattr__(name: str):
    if name in _INSIGHT:
        from . import insight

        return getattr(insight, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
