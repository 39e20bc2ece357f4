"""Class board: the class's finished runs ranked by validation accuracy and balanced accuracy, updating as runs
finish; the teacher can hide it from students or freeze it (e.g. during an exercise)."""

import time

import streamlit as st

from ui import board, display, frame, nav, owner, resources

with frame.page(nav.BOARD):

    REFRESH_S = 3.0  # while trainings are under way

    st.title("Class board")
    state = resources.board_state()
    teacher = owner.is_teacher()
    if teacher:
        hidden, frozen_at = state.read()
        left, right, _ = st.columns([3, 3, 4])
        hide = left.toggle("Hide from students", value=hidden, key=board.HIDE_KEY)
        freeze = right.toggle("Freeze", value=frozen_at is not None, key=board.FREEZE_KEY,
                              help="Runs that finish from now on wait off the board until you unfreeze it.")
        state.set(hidden=hide, frozen=freeze)
    hidden, frozen_at = state.read()
    if hidden and not teacher:
        st.info("The teacher has hidden the board for now.", icon=":material/visibility_off:")
        st.stop()
    st.caption("Every finished run of the class, best validation accuracy first (ties: balanced accuracy). Each "
               "student trains with their own seed unless the teacher's link fixes one, so the same settings land in "
               "different places: that spread is part of the result.")
    if frozen_at is not None:
        st.caption(f"Frozen by the teacher at {time.strftime('%H:%M:%S', time.localtime(frozen_at))}: runs that "
                   "finished since then appear when it is unfrozen.")
    if hidden:
        st.caption("Hidden from students.")
    live = resources.job_manager().any_active() and frozen_at is None

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
        st.dataframe(
            ranked, hide_index=True, width="stretch", height=display.height(min(600, 40 + 35 * (len(ranked) + 1))),
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
    nav.link(nav.TRAIN, label="Train a run for the board", icon=":material/model_training:")
