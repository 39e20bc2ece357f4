"""The Class board's table as a fragment: it refreshes while trainings are under way and the board is not frozen."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts
from rnnviz.registry import MODEL_LABELS
from ui import board, display, resources

REFRESH_S = 3.0  # while trainings are under way


def model_label_colors() -> dict[str, str]:
    """Each model's label in its colour on the charts (charts.model_colors), so the board reads like the curves."""
    colors = charts.model_colors()
    return {label: colors[key] for key, label in MODEL_LABELS.items()}


def ranked_table(frozen_at: float | None, live: bool) -> None:
    """The ranked runs with a CSV download; every REFRESH_S seconds while `live`."""

    @st.fragment(run_every=REFRESH_S if live else None)
    def table() -> None:
        ranked = board.ranking(resources.all_runs(), frozen_at)
        if ranked.empty:
            st.info("No finished runs yet: they appear here as trainings finish.", icon=":material/leaderboard:")
            return
        datasets = ranked["dataset"].unique().tolist()
        if len(datasets) > 1:
            st.caption("Ranked within each dataset: " + ", ".join(datasets) + ". Accuracies on different datasets "
                       "do not compare.")
        display.table(
            ranked, height=min(600, 40 + 35 * (len(ranked) + 1)), text_colors={"model": model_label_colors()},
            column_order=[c for c in ranked.columns if c not in ("id", "finished")],
            column_config={
                "rank": st.column_config.NumberColumn(width="small"),
                "who": st.column_config.TextColumn(width="medium"),
                "lr": st.column_config.NumberColumn(format="%.4g"),
                "val acc": st.column_config.NumberColumn(format="percent"),
                "val balanced acc": st.column_config.NumberColumn(format="percent"),
                "test acc": st.column_config.NumberColumn(format="percent"),
                "time s": st.column_config.NumberColumn(format="%.1f"),
            },
        )
        display.csv_button(ranked, "class-board", label="Board CSV")

    table()
