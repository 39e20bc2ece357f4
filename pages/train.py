"""Train: start trainings in the background, watch them live, compare and manage the saved runs.

Classroom features: the form's settings, the dataset and the curve display live in the URL (a link opens the
same setup; after the first load the session's own edits win), a one-click RNN vs nn.LSTM demo, TensorBoard-like
curves (smoothing, x by step / epoch / time, log-scale loss, a multi-run hover tooltip) and presenter mode.
The page's helpers live in ui/train_setup.py, ui/curves.py, ui/live_panel.py and ui/run_files.py.
"""

import streamlit as st

from ui import curves, display, frame, guards, keys, live_panel, nav, resources, run_files, train_setup

with frame.page(nav.TRAIN):

    st.title("Train")
    surnames, surname_error = train_setup.surname_data()
    named = resources.stored_datasets()
    if surnames is None and not any(not info.error for info in named):
        guards.require_dataset()  # no data at all: guidance to the Data page, and stop
    train_setup.read_link([info.name for info in named if not info.error])
    train_setup.seed_widgets()
    if keys.TRAIN_LINK_NOTICE in st.session_state:
        st.info(st.session_state.pop(keys.TRAIN_LINK_NOTICE), icon=":material/link_off:")
    if keys.TRAIN_NOTICE in st.session_state:
        st.success(st.session_state.pop(keys.TRAIN_NOTICE), icon=":material/check_circle:")

    presenting = display.presenting()
    top = st.columns([4, 2.4, 1.6] if not presenting else [5, 4, 2], gap="medium", vertical_alignment="bottom")
    dataset, data_name = train_setup.dataset_picker(surnames, surname_error, named, top[0])
    top[1].button("Demo: RNN vs nn.LSTM", type="primary", icon=":material/compare_arrows:", width="stretch",
                  on_click=train_setup.start_demo, args=(dataset,), help=train_setup.demo_help(), key=keys.TRAIN_DEMO)
    if keys.TRAIN_DEMO_ERROR in st.session_state:
        st.error(st.session_state.pop(keys.TRAIN_DEMO_ERROR), icon=":material/error:")
    infos = resources.all_runs()
    jobs = {job.run_id: job for job in resources.job_manager().jobs()}
    labels = curves.overlay_labels(infos, jobs)
    curves.overlay_selection(infos, labels)
    if labels:
        curves.curve_controls()
    train_setup.sync_url(data_name)
    train_setup.share_box(top[2], data_name)

    active = resources.job_manager().active_ids()
    watching = (any(run_id in active for run_id in st.session_state.get(keys.TRAIN_COMPARE, []))
                or bool(st.session_state.get(keys.TRAIN_DEMO_SHOWN)))
    # While overlaid trainings run (the demo), and after they end, their curves come first and the progress cards
    # and finish notices under them, so the curves are above the fold and stay where they are when a run ends.
    if presenting:  # the class watches the curves; the form waits folded below them
        curves.compare_runs(infos, labels)
        live_panel.live_panel(compare_where="above")
        with st.expander("New training", expanded=keys.TRAIN_START_ERROR in st.session_state):
            train_setup.training_form(dataset, data_name)
        run_files.run_table(infos, jobs)
    elif watching:
        curves.compare_runs(infos, labels)
        live_panel.live_panel(compare_where="above")
        train_setup.training_form(dataset, data_name)
        run_files.run_table(infos, jobs)
        run_files.manage_run(infos)
    else:
        live_panel.live_panel(compare_where="below")
        train_setup.training_form(dataset, data_name)
        run_files.run_table(infos, jobs)
        curves.compare_runs(infos, labels)
        run_files.manage_run(infos)
    nav.link(nav.EVALUATE, label="Evaluate a finished run", icon=":material/grid_on:")
