"""Exports a teacher can hand out: charts as PNG or SVG, tables as CSV, and a run's report as one HTML file.

Charts are rendered by vl-convert (through altair's `chart.save`), so no browser is needed. The HTML report
embeds its charts as inline SVG and its styles inline: it opens offline, with no script or stylesheet fetched
from anywhere. Every string that comes from a user (run names, category names from uploaded files, settings)
is HTML-escaped, and a Content-Security-Policy forbids scripts in the file altogether.
"""

from __future__ import annotations

import html
import io
import math
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd

from . import charts
from .common import first_line

if TYPE_CHECKING:
    from .evaluate import Report

CHART_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
EXPORT_WIDTH = 720  # pixels given to a chart that fills its container on a page
PNG_SCALE = 2  # crisp on slides and high-density screens


class ExportError(ValueError):
    """A one-line, user-facing reason an export could not be made."""


def _fixed_width(chart: alt.TopLevelMixin, width: int) -> alt.TopLevelMixin:
    # A file has no container to fill, so a container-wide chart gets a fixed width (its own, when it names one).
    spec = chart.to_dict(validate=False)
    if spec.get("width") == "container":
        own = (spec.get("usermeta") or {}).get("export_width")
        return chart.properties(width=int(own) if own else width)
    return chart


def chart_bytes(chart: alt.TopLevelMixin, fmt: str, width: int = EXPORT_WIDTH) -> bytes:
    """The chart rendered as PNG or SVG bytes."""
    if fmt not in CHART_FORMATS:
        raise ExportError(f"unknown chart format {fmt!r}: choose one of {', '.join(CHART_FORMATS)}")
    chart = _fixed_width(chart, width)
    try:
        if fmt == "svg":
            text = io.StringIO()
            chart.save(text, format="svg")
            return text.getvalue().encode("utf-8")
        buffer = io.BytesIO()
        chart.save(buffer, format="png", scale_factor=PNG_SCALE)
        return buffer.getvalue()
    except Exception as exc:  # vl-convert raises plain exceptions for specs it cannot render
        raise ExportError(f"the chart could not be rendered as {fmt.upper()}: {first_line(exc, 200)}") from None


def table_csv(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV (with a byte-order mark so spreadsheet programs read accents right)."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def file_stem(*parts: str) -> str:
    """A safe file name stem from words such as a run id and a chart name."""
    text = "-".join(p for p in parts if p)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-.")
    return safe[:120] or "rnnviz"


_ID = re.compile(r'(\bid=")([^"]+)(")|(url\(#)([^)]+)(\))|((?:xlink:)?href="#)([^"]+)(")')


def _svg(chart: alt.TopLevelMixin, prefix: str = "") -> str:
    svg = chart_bytes(chart, "svg").decode("utf-8")
    # Drop the XML prolog so the SVG can sit inside HTML.
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    if prefix:
        # Ids (gradients, clip paths) are per document in HTML: give each chart's its own prefix.
        def rename(match: re.Match) -> str:
            groups = [g for g in match.groups() if g is not None]
            return f"{groups[0]}{prefix}-{groups[1]}{groups[2]}"

        svg = _ID.sub(rename, svg)
    return svg


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:.4g}"
    return str(value)


def _key_value_table(values: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_format_value(v))}</td></tr>"
                   for k, v in values.items())
    return f"<table class='kv'>{rows}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    return shown.to_html(index=False, escape=True, border=0, classes="table")


# No script may run and nothing may be fetched: styles and images are inline, everything else is refused.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1000px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; } th, td { padding: 0.2rem 0.7rem; text-align: left; }
table.table tr:nth-child(even) { background: #f5f5f5; } table.kv th { color: #555; font-weight: 500; }
.chart { overflow-x: auto; margin: 0.5rem 0; } .note { color: #666; font-size: 0.9rem; }
"""


def run_report_html(config: dict[str, Any], metrics: pd.DataFrame | None, summary: dict[str, Any] | None = None,
                    report: Report | None = None, title: str = "rnnviz run", split: str = "test",
                    categories: list[str] | None = None, data: str = "") -> str:
    """One self-contained HTML page: settings, training curves, confusion matrix and per-category scores."""
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p class='note'>Exported {html.escape(time.strftime('%Y-%m-%d %H:%M'))} by rnnviz.</p>"]
    if summary:
        keys = ["status", "epochs_done", "steps", "train_seconds", "val_accuracy", "test_accuracy",
                "test_balanced_accuracy", "message"]
        shown = {k: summary[k] for k in keys if summary.get(k) not in (None, "")}
        parts += ["<h2>Result</h2>", _key_value_table(shown)]
    settings = dict(config)
    if data:
        settings["data"] = data
    if categories:
        settings["categories"] = f"{len(categories)}: " + ", ".join(str(c) for c in categories)
    parts += ["<h2>Settings</h2>", _key_value_table(settings)]
    long = charts.curves_long(metrics, model=str(config.get("model", ""))) if metrics is not None else None
    if long is not None and len(long):
        parts.append("<h2>Training curves</h2>")
        for metric in charts.CURVE_METRICS:
            parts.append(f"<div class='chart'>{_svg(charts.curve_chart(long, metric), metric)}</div>")
    else:
        parts += ["<h2>Training curves</h2>", "<p class='note'>No evaluations were recorded.</p>"]
    if report is not None:
        heatmap = charts.confusion_heatmap(report.confusion_frame(), report.categories, selectable=False)
        parts += [f"<h2>Confusion matrix ({html.escape(split)} names: {len(report.true):,})</h2>",
                  f"<p>accuracy {report.accuracy:.1%}, balanced accuracy {report.balanced_accuracy:.1%}</p>",
                  f"<div class='chart'>{_svg(heatmap, 'confusion')}</div>",
                  "<h2>Per category</h2>", _frame_table(report.per_category)]
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def run_folder_report(path: str | Path, report: Report | None = None, split: str = "test",
                      title: str | None = None) -> str:
    """The HTML report of a run folder, read from its config.json, summary.json and metrics.csv.

    `report` is the confusion matrix and per-category table to include (the page passes the one it shows);
    `title` defaults to the run's id."""
    from .runs import RunError, load_metrics, read_run

    folder = Path(path)
    info = read_run(folder)
    if not info.config:
        raise ExportError(f"{folder.name} has no readable config ({info.error or 'config.json is missing'})")
    try:
        metrics = load_metrics(folder)
    except RunError:
        metrics = None
    return run_report_html(info.config, metrics, info.summary or {"status": "not finished"}, report,
                           title=title or f"rnnviz run {folder.name}", split=split,
                           categories=info.categories or None, data=info.data)
