"""The Train page's run table and run files: download a run's metrics or model, delete it (its owner or the
teacher, after a confirmation)."""

from __future__ import annotations

import streamlit as st

from ui import display, guards, keys, owner, resources, runview


def run_table(infos, jobs: dict) -> None:
    st.subheader("Runs")
    table = runview.run_table(infos, list(jobs.values()))
    if table.empty:
        st.info("No runs yet: start one above, or the demo. Trainings keep running when you switch pages or "
                "reload.", icon=":material/info:")
        return
    display.table(
        runview.run_table_view(table),
        column_order=[c for c in table.columns if c != "id"],
        column_config={
            "run": st.column_config.TextColumn(width="medium"),
            "lr": st.column_config.NumberColumn(format="%.4g"),
            "note": st.column_config.TextColumn(width="large"),
        },
    )
    left, right = st.columns([4, 1.3], vertical_alignment="center")
    left.caption(f"Runs are saved in `{resources.runs_root()}`; at most {resources.max_jobs()} trainings run at "
                 "once (RNNVIZ_MAX_JOBS).")
    display.csv_button(table, "runs", where=right, label="Run table CSV")


def manage_run(infos) -> None:
    if not infos:  # a training that has just started writes its folder a moment later
        return
    st.subheader("Download or delete")
    labels = {info.run_id: runview.run_label(info) for info in infos}
    if st.session_state.get(keys.TRAIN_MANAGE) not in labels:
        st.session_state.pop(keys.TRAIN_MANAGE, None)
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key=keys.TRAIN_MANAGE)
    info = next(i for i in infos if i.run_id == run_id)
    metrics, model = info.path / "metrics.csv", info.path / "model.pt"
    c1, c2, c3, _ = st.columns([1, 1, 1, 3])
    c1.download_button("Metrics CSV", data=lambda: metrics.read_bytes(), file_name=f"{run_id}-metrics.csv",
                       mime="text/csv", icon=":material/table:", disabled=not metrics.is_file(), on_click="ignore",
                       width="stretch")
    c2.download_button("Model file", data=lambda: model.read_bytes(), file_name=f"{run_id}-model.pt",
                       mime="application/octet-stream", icon=":material/download:", disabled=not model.is_file(),
                       on_click="ignore", width="stretch",
                       help="A PyTorch checkpoint with its config: python -m rnnviz predict --run FOLDER NAME")
    if not owner.can_manage(info.owner):
        st.caption(f"Started by {owner.plain(owner.who(info.owner, info.owner_name))}: only they or the teacher "
                   "can delete it.")
        st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)
        return
    if c3.button("Delete…", icon=":material/delete:", width="stretch"):
        st.session_state[keys.TRAIN_CONFIRM_DELETE] = run_id
    if st.session_state.get(keys.TRAIN_CONFIRM_DELETE) == run_id:
        st.warning(f"Delete {labels[run_id]} and all its files? A running training is stopped first. "
                   "This cannot be undone.", icon=":material/warning:")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Yes, delete", type="primary", width="stretch"):
            st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)
            with guards.reported("Not deleted: "):
                resources.job_manager().delete(run_id, by=owner.me())  # the library checks the owner again
                st.session_state[keys.TRAIN_NOTICE] = f"Deleted {labels[run_id]}."
                st.rerun()
        if no.button("Cancel", width="stretch"):
            st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)
            st.rerun()
    elif st.session_state.get(keys.TRAIN_CONFIRM_DELETE) not in labels:
        st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)
