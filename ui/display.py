"""How pages show charts and tables: presenter styling, and PNG / SVG / CSV downloads beside each one.

Every chart and table goes through `chart` and `table`, so presenter mode and the download buttons behave
the same on every page. Downloads are rendered only when clicked (deferred download data), so a page
that refreshes every second pays nothing for them.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from rnnviz import export
from ui import keys, presenter


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 validation name', '14 validation names', '1,024 runs'."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def in_words(n: int) -> str:
    """A small count as a word ('two'), a larger one in digits: 'two train at a time', '16 train at a time'."""
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[n] if 0 <= n < len(words) else f"{n:,}"


def presenting() -> bool:
    """Whether this session is in presenter mode (sidebar toggle or ?present=1)."""
    return bool(st.session_state.get(keys.PRESENTER, False))


def scale() -> float:
    """How much larger charts are drawn: presenter.FONT_SCALE in presenter mode, else 1."""
    return presenter.FONT_SCALE if presenting() else 1.0


def height(pixels: int) -> int:
    """A chart height, taller in presenter mode."""
    return presenter.chart_height(pixels, presenting())


def _render(chart: alt.TopLevelMixin, fmt: str) -> Callable[[], bytes]:
    def build() -> bytes:
        return export.chart_bytes(chart, fmt)

    return build


def chart(figure: alt.TopLevelMixin, name: str, where=None, data: pd.DataFrame | None = None,
          downloads: bool = True, width: str = "stretch", **kwargs) -> None:
    """Show an altair chart full width; below it, PNG and SVG downloads (and CSV of `data` when given).

    `name` makes the file names and the widget keys, so it must be unique on the page; other keyword
    arguments go to st.altair_chart (e.g. `alt` text, or `on_select` for a selectable chart).
    """
    where = where if where is not None else st
    showing = presenting()
    if getattr(figure, "width", None) == "container":
        width = "stretch"  # a chart that fills its column is given the column, whatever the caller asked
    where.altair_chart(presenter.style_chart(figure, showing), width=width, **kwargs)
    if downloads and not showing:
        download_row(figure, name, where, data)


def download_row(figure: alt.TopLevelMixin, name: str, where=None, data: pd.DataFrame | None = None) -> None:
    where = where if where is not None else st
    stem = export.file_stem("rnnviz", name)
    with where.popover("Download", icon=":material/download:", type="tertiary", width="content"):
        st.download_button("PNG image", data=_render(figure, "png"), file_name=f"{stem}.png", mime="image/png",
                           on_click="ignore", key=keys.download("png", name), icon=":material/image:", width="stretch")
        st.download_button("SVG image", data=_render(figure, "svg"), file_name=f"{stem}.svg",
                           mime="image/svg+xml", on_click="ignore", key=keys.download("svg", name),
                           icon=":material/draw:", width="stretch")
        if data is not None:
            st.download_button("Data as CSV", data=lambda: export.table_csv(data), file_name=f"{stem}.csv",
                               mime="text/csv", on_click="ignore", key=keys.download("csv", name),
                               icon=":material/table:", width="stretch")


TABLE_FONT_PX = 20  # a table's type in presenter mode: read from the back of a room (nothing under 18 px)


def _cell_format(config: dict | None):
    """How a presenter-mode table writes a column's values, following its st.column_config number format."""
    fmt = ((config or {}).get("type_config") or {}).get("format")

    def write(value) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "–"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and fmt:
            if fmt == "percent":
                return f"{value:.1%}"
            if fmt.startswith("%"):
                return fmt % value
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    return write


def _colored(styler, text_colors: dict[str, dict] | None):
    """The styler with each listed column's cells in the colour of their value (e.g. a model's colour)."""
    for column, colors in (text_colors or {}).items():
        if column in styler.data.columns:
            styler = styler.map(lambda v, colors=colors: f"color: {colors[v]}; font-weight: 600" if v in colors else "",
                                subset=[column])
    return styler


def presenter_table_html(frame: pd.DataFrame, column_config: dict | None = None,
                         column_order: list[str] | None = None, height: int | None = None,
                         text_colors: dict[str, dict] | None = None) -> str:
    """A table as HTML in the presenter's type size: the browser's data grid draws its text on a canvas at a fixed
    small size that no page style can enlarge. Values are escaped; formats follow the column configuration, and a
    column configured as None is hidden, as in the grid."""
    column_config = column_config or {}
    shown = frame[[c for c in (column_order or frame.columns)
                   if c in frame.columns and not (c in column_config and column_config[c] is None)]]
    labels = {c: (column_config.get(c) or {}).get("label") or c for c in shown.columns}
    styler = (shown.style.format({c: _cell_format(column_config.get(c)) for c in shown.columns}, escape="html")
              .hide(axis="index").relabel_index([html.escape(str(labels[c])) for c in shown.columns], axis="columns"))
    box = f"max-height:{height}px;" if height else ""
    body = _colored(styler, text_colors).set_table_attributes('class="rnnviz-table"').to_html()
    return (f"<style>.rnnviz-table{{border-collapse:collapse;width:100%;font-size:{TABLE_FONT_PX}px}}"
            ".rnnviz-table th,.rnnviz-table td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
            ".rnnviz-table th{position:sticky;top:0;background:#fafafa}</style>"
            f"<div style='overflow:auto;{box}'>{body}</div>")


def table(frame: pd.DataFrame, where=None, column_config: dict | None = None, column_order: list[str] | None = None,
          height: int | None = None, text_colors: dict[str, dict] | None = None, **kwargs) -> None:
    """A table full width: the interactive data grid, or in presenter mode the same rows as HTML in large type.
    `height` is the grid's, in pixels; presenter mode enlarges it. `text_colors`: {column: {value: colour}}, e.g.
    each model's name in its model's colour, as in the charts."""
    where = where if where is not None else st
    if presenting():
        where.html(presenter_table_html(frame, column_config, column_order,
                                        round(height * presenter.FONT_SCALE) if height else None, text_colors))
        return
    options = {"height": height} if height else {}
    data = _colored(frame.style, text_colors) if text_colors else frame
    where.dataframe(data, hide_index=True, width="stretch", column_config=column_config, column_order=column_order,
                    **options, **kwargs)


def csv_button(frame: pd.DataFrame, name: str, where=None, label: str = "CSV") -> None:
    """A download button for a table as CSV (hidden in presenter mode)."""
    if presenting():
        return
    where = where if where is not None else st
    stem = export.file_stem("rnnviz", name)
    where.download_button(label, data=lambda: export.table_csv(frame), file_name=f"{stem}.csv", mime="text/csv",
                          on_click="ignore", key=keys.download("table", name), icon=":material/table:")


def presenter_toggle() -> None:
    """The sidebar switch for presenter mode, on from the start when the link says ?present=1.

    The choice lives in keys.PRESENTER, outside the widget: each page file is its own script, and Streamlit
    forgets a widget's state when another page is opened."""
    params = st.query_params.to_dict()
    if keys.PRESENTER not in st.session_state:
        st.session_state[keys.PRESENTER] = presenter.link_asks(params)
    st.session_state[keys.PRESENTER_TOGGLE] = st.session_state[keys.PRESENTER]

    def flipped() -> None:
        st.session_state[keys.PRESENTER] = st.session_state[keys.PRESENTER_TOGGLE]

    st.sidebar.toggle("Presenter mode", key=keys.PRESENTER_TOGGLE, on_change=flipped,
                      help="Large type and charts for a projector; advanced controls and downloads are hidden. "
                           "Add ?present=1 to a link to open the app this way.")
    if presenting():
        st.html(presenter.CSS)
        if params.get(presenter.PRESENT) != "1":
            st.query_params[presenter.PRESENT] = "1"
    elif presenter.PRESENT in params:
        del st.query_params[presenter.PRESENT]
