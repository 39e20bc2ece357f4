"""Class board: the class's finished runs ranked by validation accuracy and balanced accuracy, updating as runs
finish; the teacher can hide it from students or freeze it (e.g. during an exercise)."""

import time

import streamlit as st

from ui import board_table, frame, keys, nav, owner, resources

with frame.page(nav.BOARD):

    st.title("Class board")
    state = resources.board_state()
    teacher = owner.is_teacher()
    if teacher:
        hidden, frozen_at = state.read()
        left, right, _ = st.columns([3, 3, 4])
        hide = left.toggle("Hide from students", value=hidden, key=keys.BOARD_HIDE)
        freeze = right.toggle("Freeze", value=frozen_at is not None, key=keys.BOARD_FREEZE,
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

    board_table.ranked_table(frozen_at, live)
    nav.link(nav.TRAIN, label="Train a run for the board", icon=":material/model_training:")
