"""Train: start trainings in the background, watch them live, compare and manage the saved runs.

Classroom features: the form's settings, the dataset and the curve display live in the URL (a link opens the
same setup; after the first load the session's own edits win), a one-click RNN vs nn.LSTM demo, TensorBoard-like
curves (smoothing, x by step / epoch / time, log-scale loss, a multi-run hover tooltip) and presenter mode.
"""

from pathlib import Path

import pandas as pd
import streamlit as st

from rnnviz import charts
from rnnviz.data import DataError, is_embedded
from rnnviz.datasets import DatasetInfo
from rnnviz.jobs import WORKING
from rnnviz.train import SETTINGS, TrainConfig, resolve_device
from ui import display, frame, guards, keys, nav, owner, resources, runview, shareable

with frame.page(nav.TRAIN):

    # Session-state keys of this page (besides ui/keys.py's TRAIN_*).
    URL_READ = "train.url_read"  # set once this session has taken its settings from the link
    SAVED = "train.settings"  # the form's settings as a TrainConfig dict; outlives the widgets on page switches
    DATA = "train.data"  # the dataset selectbox: "" for the surname data, else a named dataset
    DATA_CHOICE = "train.data_choice"  # its value, kept across page switches
    SMOOTH, XAXIS, LOG = "train.curves.smooth", "train.curves.x", "train.curves.log"  # curve display widgets
    CURVES = "train.curves"  # their values, kept across page switches
    LINK_NOTICE = "train.link_notice"  # what the opening link had that could not be used
    DEMO_ERROR = "train.demo_error"  # why the demo did not start, shown under its button
    AUTO_SEED = "train.auto_seed"  # the seed picked for this browser, while no link fixed one
    DEMO_SHOWN = "train.demo_shown"  # the demo's notice; its curves keep their place until the overlay changes
    ENDED = "train.ended"  # (ok, text) of the trainings that ended since the last start: every notice stays
    SURNAMES = ""  # the dataset choice meaning "the current data folder"
    X_LABELS = {"step": "step", "epoch": "epoch", "time": "time (s)"}
    DEMO_MODELS = ("rnn", "lstm")

    REFRESH_S = 1.0  # live panel refresh while one of this browser's trainings runs (the teacher's: any)
    WAITING_REFRESH_S = 5.0  # while it only waits in the queue or watches others: a class of 30 costs the server less
    HELP = {
        "data": "The surname data is the folder picked on the Data page; named datasets are added there too. "
                "A run remembers its dataset, so Evaluate and Gates reload the right names.",
        "demo": "Starts RNN and nn.LSTM at once with the report's settings (defaults, each model's own hidden size), "
                "the same seed and the same split, and overlays them below so the class sees the LSTM pull ahead.",
        "smooth": "Exponential moving average as in TensorBoard (debiased, so the start is not pulled to zero). "
                  "0 shows the measurements as they are: each point already averages the steps since the last one.",
        "x": "step: gradient steps; epoch: passes over the training names; time: training seconds (pauses excluded).",
        "log": "A log scale spreads out the late, small loss values where the models differ.",
    }
    FIELDS = tuple(SETTINGS)  # every TrainConfig field has a widget, generated from its Setting


    def field_key(name: str) -> str:
        return f"{keys.TRAIN_FORM}.{name}"


    # ---------------------------------------------------------------- settings: link, session, widgets


    def settings() -> dict:
        """The form's settings as TrainConfig values (what the link carries); defaults until the form is used."""
        if SAVED not in st.session_state:
            st.session_state[SAVED] = TrainConfig().to_dict()
        return st.session_state[SAVED]


    def widget_value(name: str, value):
        """A TrainConfig value as its widget holds it: hidden size 0 is the empty 'model default' box."""
        if SETTINGS[name].zero_means:
            return int(value) or None
        default = getattr(TrainConfig(), name)
        return float(value) if isinstance(default, float) else value


    def form_values() -> dict:
        """The form's values as TrainConfig values; fields hidden in presenter mode keep their settings."""
        saved = settings()
        values = {}
        for name in FIELDS:
            key = field_key(name)
            values[name] = st.session_state[key] if key in st.session_state else widget_value(name, saved[name])
        for name, spec in SETTINGS.items():
            if spec.zero_means:
                values[name] = int(values[name] or 0)
        return values


    def seed_widgets() -> None:
        """Widgets that Streamlit dropped (page switch, presenter mode) start again from the session's settings."""
        saved = settings()
        for name in FIELDS:
            if field_key(name) not in st.session_state:
                st.session_state[field_key(name)] = widget_value(name, saved[name])
        curves = st.session_state.setdefault(CURVES, dict(shareable.CURVE_DEFAULTS))
        for key, name in ((SMOOTH, shareable.SMOOTH), (XAXIS, shareable.XAXIS), (LOG, shareable.LOG)):
            if key not in st.session_state:
                st.session_state[key] = curves[name]
        if DATA not in st.session_state:
            st.session_state[DATA] = st.session_state.get(DATA_CHOICE, SURNAMES)


    def read_link(dataset_names: list[str]) -> None:
        """On the session's first visit, the link's settings become the form's, the dataset and the curve display."""
        if st.session_state.get(URL_READ):
            return
        st.session_state[URL_READ] = True
        params = st.query_params.to_dict()
        train, curves = shareable.parse_train(params, dataset_names), shareable.parse_curves(params)
        st.session_state[SAVED] = {name: train.values[name] for name in TrainConfig().to_dict()}
        if "seed" not in params:  # each student's own seed, so the class board shows real variation
            st.session_state[SAVED]["seed"] = st.session_state[AUTO_SEED] = owner.default_seed()
        st.session_state[DATA_CHOICE] = train.values[shareable.DATASET]
        st.session_state[CURVES] = dict(curves.values)
        for key in [*(field_key(name) for name in FIELDS), DATA, SMOOTH, XAXIS, LOG]:
            st.session_state.pop(key, None)  # seeded again from the link's values
        notice = shareable.Parsed(notices=train.notices + curves.notices).notice
        if notice:
            st.session_state[LINK_NOTICE] = notice


    def curve_settings() -> dict:
        return dict(st.session_state.get(CURVES, shareable.CURVE_DEFAULTS))


    def link_query(data_name: str) -> dict[str, str]:
        curves = curve_settings()
        query = {**shareable.train_query(settings(), data_name),
                 **shareable.curves_query(curves[shareable.SMOOTH], curves[shareable.XAXIS], curves[shareable.LOG])}
        if seed_is_own():
            query.pop("seed", None)  # a student's own seed stays theirs: whoever opens the link gets their own
        return query


    def seed_is_own() -> bool:
        """Whether the form's seed is the one picked for this browser (no link fixed it, nobody changed it)."""
        return AUTO_SEED in st.session_state and st.session_state[AUTO_SEED] == settings().get("seed")


    def seed_caption() -> None:
        seed = settings().get("seed")
        if seed_is_own():
            st.caption(f"Your seed is {seed}, picked for this browser: each student's runs start from other weights "
                       "and split the names differently, so the class board shows real variation. A link with a "
                       "seed gives everyone the same one.")
        else:
            st.caption(f"Seed {seed} is fixed (by the link or by hand): everyone with this seed trains on the same "
                       "split from the same starting weights.")


    def sync_url(data_name: str) -> None:
        """Keep the address bar a link to this setup (presenter mode's ?present=1 stays as it is)."""
        to_set, to_delete = shareable.query_changes(st.query_params.to_dict(), link_query(data_name))
        for key in to_delete:
            del st.query_params[key]
        for key, value in to_set.items():
            st.query_params[key] = value


    def page_url() -> str | None:
        """The page's address as the browser has it; else built from the Host header the browser sent."""
        try:
            url = st.context.url
        except (AttributeError, RuntimeError):
            url = None
        if url:
            return url
        try:
            host = st.context.headers.get("Host")
        except (AttributeError, RuntimeError):
            host = None
        return f"http://{host}/{nav.url_path(nav.TRAIN)}" if host and shareable.is_host(host) else None


    # ---------------------------------------------------------------- datasets


    def surname_data() -> tuple[object, str]:
        """(the current data folder's dataset, '') or (None, why it cannot be used)."""
        try:
            return resources.current_dataset(), ""
        except DataError as exc:
            return None, guards.one_line(exc)


    def dataset_picker(surnames, surname_error: str, named: list[DatasetInfo], where):
        """The dataset selectbox; returns (dataset, its link name). Unusable datasets are listed, not offered."""
        usable = {info.name: info for info in named if not info.error}
        options = ([SURNAMES] if surnames is not None else []) + list(usable)
        if st.session_state.get(DATA) not in options:
            st.session_state[DATA] = options[0]

        def label(option: str) -> str:
            if option == SURNAMES:
                where = "shipped with rnnviz" if is_embedded(surnames.source) else f"from {Path(surnames.source).name}/"
                return f"Surnames {where} ({len(surnames):,} names, {surnames.n_categories} languages)"
            info = usable[option]
            return f"{option} ({info.n_names:,} names, {len(info.categories)} categories)"

        choice = where.selectbox("Dataset", options, format_func=label, key=DATA, help=HELP["data"])
        st.session_state[DATA_CHOICE] = choice
        if not display.presenting():
            broken = [f"{info.name} ({info.error})" for info in named if info.error]
            if surname_error:
                broken.insert(0, f"surname data ({surname_error})")
            if broken:
                where.caption("Not usable: " + "; ".join(broken))
        if choice == SURNAMES:
            return surnames, ""
        try:
            return resources.dataset_at(usable[choice].path), choice
        except DataError as exc:  # changed on disk since it was listed
            where.error(f"{choice}: {guards.one_line(exc)}", icon=":material/error:")
            if surnames is None:
                st.stop()
            return surnames, ""


    # ---------------------------------------------------------------- starting trainings


    def start_training(dataset) -> None:
        """Form callback: runs before the page, so the live panel already shows the new training."""
        if not apply_settings():
            return
        try:
            config = TrainConfig.from_dict(settings())
            resolve_device(config.device)
            manager = resources.job_manager()
            run_id = manager.start(config, dataset, **owned())
        except guards.USER_ERRORS as exc:
            st.session_state[keys.TRAIN_START_ERROR] = f"Not started: {guards.one_line(exc)}"
        else:
            job = manager.get(run_id)
            if job is not None and job.status == "queued":
                st.session_state[keys.TRAIN_NOTICE] = (
                    f"Queued {runview.model_label(config.model)} as run {run_id}: it starts by itself when a worker "
                    "is free; cancel it below if you change your mind.")
            else:
                st.session_state[keys.TRAIN_NOTICE] = f"Started {runview.model_label(config.model)} as run {run_id}."
            st.session_state[ENDED] = []
            st.session_state.pop(DEMO_SHOWN, None)


    def owned() -> dict:
        """Who a training started here belongs to (the library holds students, not the teacher, to the cap)."""
        return {"owner": owner.me(), "owner_name": owner.name()}


    def apply_settings() -> bool:
        """The form's values become the session's settings (and so the link's); False with a message if unusable."""
        values = form_values()
        try:
            TrainConfig.from_dict(values)
        except guards.USER_ERRORS as exc:
            st.session_state[keys.TRAIN_START_ERROR] = f"Not started: {guards.one_line(exc)}"
            return False
        st.session_state[SAVED] = values
        return True


    def demo_configs(seed: int) -> list[TrainConfig]:
        """The report's comparison: the default settings, each model at its own hidden size, one seed (so one split)."""
        return [TrainConfig(model=model, seed=seed) for model in DEMO_MODELS]


    def start_demo(dataset) -> None:
        """Demo button callback: RNN and nn.LSTM on the same split, overlaid in Compare runs."""
        manager = resources.job_manager()
        seed = int(settings().get("seed", 0))
        configs = demo_configs(seed)
        started = []
        try:
            resolve_device(configs[0].device)
            first = configs[0]
            split = resources.split_of(dataset, first.val_fraction, first.test_fraction, first.seed)
            for config in configs:
                started.append(manager.start(config, dataset, split, **owned()))
        except guards.USER_ERRORS as exc:
            for run_id in started:  # half a demo compares nothing
                try:
                    manager.delete(run_id, by=owner.me())
                except guards.USER_ERRORS:
                    manager.stop(run_id, by=owner.me())
            st.session_state[DEMO_ERROR] = f"Demo not started: {guards.one_line(exc)}"
            return
        st.session_state[keys.TRAIN_COMPARE_CHOICE] = started
        waiting = any((job := manager.get(run_id)) is not None and job.status == "queued" for run_id in started)
        st.session_state[ENDED] = []
        st.session_state[DEMO_SHOWN] = (
            f"Demo {'queued' if waiting else 'started'}: RNN and nn.LSTM on the same split (seed {seed}) — watch "
            "them side by side in Compare runs" + (" once they start." if waiting else "."))


    # ---------------------------------------------------------------- the form


    def setting_widget(name: str, where) -> None:
        """The widget of one TrainConfig field, as its Setting describes it."""
        spec, key = SETTINGS[name], field_key(name)
        default = getattr(TrainConfig(), name)
        if spec.choices is not None:
            label = runview.model_label if name == "model" else str
            where.selectbox(spec.label, spec.choices, format_func=label, help=spec.help, key=key)
        elif isinstance(default, bool):
            where.checkbox(spec.label, help=spec.help, key=key)
        else:
            low, high = spec.limits
            number = float if isinstance(default, float) else int
            options = {"step": number(spec.step)} if spec.step else {}
            if spec.format:
                options["format"] = spec.format
            if spec.zero_means:
                low, options["placeholder"] = max(low, 1), spec.zero_means
            where.number_input(spec.label, min_value=number(low), max_value=number(high), help=spec.help, key=key,
                               **options)


    def training_form(dataset, data_name: str) -> None:
        presenting = display.presenting()
        shown = [name for name, spec in SETTINGS.items() if not (presenting and spec.advanced)]
        with st.form("train-form"):
            where = f" **{data_name}**:" if data_name else ""
            st.markdown(f"**New training** on{where} {len(dataset):,} names in {dataset.n_categories} categories")
            main = [name for name in shown if SETTINGS[name].group == "main"]
            columns = st.columns(4, gap="medium")
            for index, name in enumerate(main):
                setting_widget(name, columns[index * len(columns) // len(main)])
            split = [name for name in shown if SETTINGS[name].group == "split"]
            if split:
                with st.expander("Split and evaluation"):
                    for name, column in zip(split, st.columns(len(split))):
                        setting_widget(name, column)
            b1, b2, _ = st.columns([2, 2, 5])
            b1.form_submit_button("Start training", type="primary", icon=":material/play_arrow:",
                                  on_click=start_training, args=(dataset,), width="stretch")
            b2.form_submit_button("Update link", icon=":material/link:", on_click=apply_settings, width="stretch",
                                  help="Put these settings in the page's address (and the Copy link box) "
                                       "without starting a training.")
        seed_caption()
        if keys.TRAIN_START_ERROR in st.session_state:
            st.error(st.session_state.pop(keys.TRAIN_START_ERROR), icon=":material/error:")


    def share_box(where, data_name: str) -> None:
        url = page_url()
        link = shareable.share_link(url, link_query(data_name))
        with where.popover("Link" if display.presenting() else "Copy link", icon=":material/link:", width="stretch"):
            st.caption("This link opens the Train page with these settings, dataset and curve display "
                       "(the copy icon is at the box's right).")
            st.code(link, language=None, wrap_lines=True)
            if shareable.is_loopback(url):
                st.caption("This browser reached the app at its own address, which no other computer can open: "
                           "open the app at the server's network address (see Serving a class in the README) "
                           "and copy the link there.")


    def curve_controls() -> None:
        """Smoothing, x axis and log-scale loss for every curve on the page; kept in the link."""
        c1, c2, c3 = st.columns([3, 2, 2], gap="medium", vertical_alignment="bottom")
        smooth = c1.slider("Curve smoothing", min_value=0.0, max_value=shareable.MAX_SMOOTH, step=0.01, key=SMOOTH,
                           help=HELP["smooth"])
        x = c2.segmented_control("x axis", list(X_LABELS), format_func=X_LABELS.get, required=True, key=XAXIS,
                                 help=HELP["x"])
        log = c3.toggle("Log-scale loss", key=LOG, help=HELP["log"])
        st.session_state[CURVES] = {shareable.SMOOTH: float(smooth), shareable.XAXIS: x or "epoch",
                                    shareable.LOG: bool(log)}


    def curve_pair(long: pd.DataFrame, name: str, height: int, live: bool = False) -> None:
        """Loss and accuracy side by side, with the page's curve settings; each downloadable (PNG, SVG, CSV).

        Charts redrawn every second (`live`) get a tooltip per point instead of the hover rule: a redraw would
        drop the rule under the pointer anyway, and leaving it out halves the server's time per refresh.
        """
        curves = curve_settings()
        loss, accuracy = st.columns(2, gap="large")
        for metric, column in (("loss", loss), ("accuracy", accuracy)):
            chart = charts.curve_chart(long, metric, height=display.height(height), smooth=curves[shareable.SMOOTH],
                                       x=curves[shareable.XAXIS], log=curves[shareable.LOG], hover=not live)
            display.chart(chart, f"{name}-{metric}", where=column, data=long)
        if curves[shareable.XAXIS] == "time" and len(long) and long["elapsed_s"].isna().all():
            st.caption("These runs recorded no training times: pick step or epoch for the x axis.")


    # ---------------------------------------------------------------- live trainings


    def control(action: str, run_id: str, run_owner: str) -> None:
        """A run control's callback; the library checks the owner again when the click arrives."""
        try:
            getattr(resources.job_manager(), action)(run_id, by=owner.me())
        except PermissionError as exc:  # the page was drawn before the teacher left teacher mode, say
            st.session_state[keys.TRAIN_START_ERROR] = guards.one_line(exc)


    def job_controls(job) -> None:
        """Pause / Resume and Stop, or Cancel while queued: for the run's owner and the teacher only."""
        if not owner.can_manage(job.owner):
            return
        if job.status == "queued":
            st.button("Cancel", key=f"cancel-{job.run_id}", icon=":material/close:", on_click=control,
                      args=("cancel", job.run_id, job.owner), width="content", help="Take it out of the queue.")
            return
        left, right, _ = st.columns([1, 1, 6])
        if job.status == "stopping":  # the stop has landed; the run is scoring its final weights
            left.button("Pause", key=f"pause-{job.run_id}", icon=":material/pause:", disabled=True, width="stretch")
            right.button("Stop", key=f"stop-{job.run_id}", icon=":material/stop:", disabled=True, width="stretch")
            return
        if job.status == "paused":
            left.button("Resume", key=f"resume-{job.run_id}", icon=":material/play_arrow:",
                        on_click=control, args=("resume", job.run_id, job.owner), width="stretch")
        else:
            left.button("Pause", key=f"pause-{job.run_id}", icon=":material/pause:",
                        on_click=control, args=("pause", job.run_id, job.owner), width="stretch")
        right.button("Stop", key=f"stop-{job.run_id}", icon=":material/stop:",
                     on_click=control, args=("stop", job.run_id, job.owner), width="stretch")


    def show_job(job, overlaid: bool, curves: bool = True) -> None:
        with st.container(border=True):
            by = owner.who(job.owner, job.owner_name)
            st.markdown(f"**{runview.job_label(job)}** · {job.status} · {owner.plain(by)}")
            st.progress(job.progress, text=runview.progress_text(job, job.config.epochs))
            job_controls(job)
            if job.status == "queued":
                return
            if not curves:
                st.caption("Pick it in Compare runs, below, to see its curves.")
                return
            if overlaid:
                st.caption("Its curves are in Compare runs, below.")
                return
            curve_pair(charts.curves_long(charts.rows_frame(job.rows), runview.job_label(job)),
                       f"live-{job.run_id}", 220,
                       live=True)


    def followed(jobs) -> list[str]:
        """The active runs whose end this session announces: its own (the teacher's: every one)."""
        return sorted(job.run_id for job in jobs if job.active and (owner.is_teacher() or mine(job)))


    def mine(job) -> bool:
        return owner.is_mine(job.owner)


    def live_panel() -> None:
        """This browser's trainings (live curves and controls; queued ones with their place in line), the others'
        running ones as progress bars (the teacher sees every one in full), and how many more wait. A fragment
        refreshes it every second while one of this browser's trainings runs, every few seconds while its runs
        only wait or it watches others; the whole page reruns when one of its runs ends (the teacher's: any)."""
        manager = resources.job_manager()
        jobs = manager.jobs()
        watched = followed(jobs)
        announce_ended(set(st.session_state.get(keys.TRAIN_LIVE_IDS, [])) - set(watched))
        st.session_state[keys.TRAIN_LIVE_IDS] = watched

        teacher = owner.is_teacher()
        if any(job.status in WORKING and (teacher or mine(job)) for job in jobs):
            every = REFRESH_S
        else:
            every = WAITING_REFRESH_S if any(job.active for job in jobs) else None

        @st.fragment(run_every=every)
        def panel() -> None:
            try:
                jobs = [job for job in manager.jobs() if job.active]
                if followed(jobs) != st.session_state.get(keys.TRAIN_LIVE_IDS, []):
                    st.rerun(scope="app")  # the run table, the announcements and the refresh rate follow
                overlaid = set(st.session_state.get(keys.TRAIN_COMPARE, []))
                others_waiting = 0
                shown = []  # (job, whether its curves are drawn)
                for job in sorted(jobs, key=lambda j: (not mine(j), j.status == "queued", j.position or 0)):
                    if mine(job) or teacher:
                        shown.append((job, True))
                    elif job.status != "queued":  # at most RNNVIZ_MAX_JOBS: progress bars, curves on request
                        shown.append((job, job.run_id in overlaid))
                    else:
                        others_waiting += 1
                beside = [(job, curves) for job, curves in shown if job.run_id in overlaid]  # small cards
                for (job, curves), column in zip(beside, st.columns(len(beside), gap="medium") if beside else []):
                    with column:
                        show_job(job, True, curves=curves)
                for job, curves in shown:
                    if job.run_id not in overlaid:
                        show_job(job, False, curves=curves)
                if others_waiting:
                    st.caption(f"{others_waiting} more training{'s' if others_waiting > 1 else ''} of the class "
                               f"waiting in the queue; {resources.max_jobs()} train at once (RNNVIZ_MAX_JOBS).")
            except guards.USER_ERRORS as exc:
                st.error(guards.one_line(exc), icon=":material/error:")

        panel()


    def announce_ended(run_ids: set[str]) -> None:
        """A notice per training that ended; they stay (the demo's two together) until the next training starts."""
        manager = resources.job_manager()
        ended = st.session_state.setdefault(ENDED, [])
        for run_id in sorted(run_ids):
            job = manager.get(run_id)
            if job is None:
                continue
            val = job.summary.get("val_accuracy")
            accuracy = f": validation accuracy {val:.1%}" if isinstance(val, float) else ""
            text = f"{runview.job_label(job)} {job.status}{accuracy}" + (f" ({job.message})" if job.message else "")
            ended.append((job.status in ("finished", "stopped"), text))
        for ok, text in ended:
            if ok:
                st.success(text, icon=":material/check_circle:")
            else:
                st.warning(text, icon=":material/warning:")


    # ---------------------------------------------------------------- comparing runs


    def overlay_labels(infos, jobs: dict) -> dict[str, str]:
        """Runs that can be overlaid: those on disk with a config, and trainings whose folder is not written yet."""
        labels = {info.run_id: runview.run_label(info) for info in infos if info.config}
        for run_id, job in jobs.items():
            if job.active and run_id not in labels:
                labels[run_id] = runview.job_label(job)
        return labels


    def overlay_selection(infos, labels: dict[str, str]) -> None:
        """The overlay's runs: the ones picked (or started by the demo), else the newest finished ones."""
        if keys.TRAIN_COMPARE_CHOICE in st.session_state:
            st.session_state[keys.TRAIN_COMPARE] = [r for r in st.session_state[keys.TRAIN_COMPARE_CHOICE]
                                                    if r in labels]
        else:  # until someone picks, show the newest finished runs (the one that just finished among them)
            st.session_state[keys.TRAIN_COMPARE] = [
                i.run_id for i in runview.usable_runs(infos) if i.run_id in labels][:3]


    def curves_of(run_id: str, label: str, infos_by_id: dict, manager) -> pd.DataFrame:
        """A run's curves: the trainer's rows while this process knows the job, else its metrics.csv."""
        job = manager.get(run_id)
        if job is not None and (job.active or run_id not in infos_by_id):
            return charts.curves_long(charts.rows_frame(job.rows), label)
        return charts.curves_long(resources.run_metrics(infos_by_id[run_id].path), label)


    def compare_runs(infos, labels: dict[str, str]) -> None:
        if not display.presenting():  # on a projector the curves come straight under the controls
            st.subheader("Compare runs")
        if not labels:
            st.caption("Curves appear here once a run has started.")
            return

        def remember() -> None:
            st.session_state[keys.TRAIN_COMPARE_CHOICE] = list(st.session_state[keys.TRAIN_COMPARE])
            st.session_state.pop(DEMO_SHOWN, None)

        selected = st.multiselect("Runs to overlay", list(labels), format_func=labels.get, key=keys.TRAIN_COMPARE,
                                  on_change=remember,
                                  help="Pick RNN, nn.LSTM and MyLSTM runs with the same seed to compare them on the "
                                       "same split. Dashed lines are validation; once the runs have ended, hover a "
                                       "chart to read every line at one step.")
        if not selected:
            return
        st.caption("Each line is one run, so one seed; The report page gives the mean and spread over seeds. The "
                   "n-gram baseline is fitted in one go: it is a single point at the end of its first epoch.")
        manager = resources.job_manager()
        infos_by_id = {info.run_id: info for info in infos}
        live = any(run_id in manager.active_ids() for run_id in selected)

        @st.fragment(run_every=REFRESH_S if live else None)
        def overlay() -> None:
            frames = []
            for run_id in selected:
                with guards.reported(f"{labels[run_id]}: "):
                    frames.append(curves_of(run_id, labels[run_id], infos_by_id, manager))
            long = pd.concat(frames, ignore_index=True) if frames else charts.curves_long(None)
            # On a projector both curves, their legend and the controls above them fit in one 1080-pixel screen.
            curve_pair(long, "compare", 170 if display.presenting() else 260, live=live)

        overlay()


    # ---------------------------------------------------------------- the run table and run files


    def run_table(infos, jobs: dict) -> None:
        st.subheader("Runs")
        table = runview.run_table(infos, list(jobs.values()))
        if table.empty:
            st.info("No runs yet: start one above, or the demo. Trainings keep running when you switch pages or "
                    "reload.", icon=":material/info:")
            return
        st.dataframe(
            runview.run_table_view(table), hide_index=True, width="stretch",
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
                    resources.job_manager().delete(run_id, by=owner.me())  # the library checks the owner
                    st.session_state[keys.TRAIN_NOTICE] = f"Deleted {labels[run_id]}."
                    st.rerun()
            if no.button("Cancel", width="stretch"):
                st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)
                st.rerun()
        elif st.session_state.get(keys.TRAIN_CONFIRM_DELETE) not in labels:
            st.session_state.pop(keys.TRAIN_CONFIRM_DELETE, None)


    # ---------------------------------------------------------------- the page

    st.title("Train")
    surnames, surname_error = surname_data()
    named = resources.stored_datasets()
    if surnames is None and not any(not info.error for info in named):
        guards.require_dataset()  # no data at all: guidance to the Data page, and stop
    read_link([info.name for info in named if not info.error])
    seed_widgets()
    if LINK_NOTICE in st.session_state:
        st.info(st.session_state.pop(LINK_NOTICE), icon=":material/link_off:")
    if keys.TRAIN_NOTICE in st.session_state:
        st.success(st.session_state.pop(keys.TRAIN_NOTICE), icon=":material/check_circle:")
    elif st.session_state.get(DEMO_SHOWN) and not display.presenting():
        # Stays while the demo's curves are shown, so they never move up (a projector shows the curves alone).
        st.success(st.session_state[DEMO_SHOWN], icon=":material/check_circle:")

    presenting = display.presenting()
    top = st.columns([4, 2.4, 1.6] if not presenting else [5, 4, 2], gap="medium", vertical_alignment="bottom")
    dataset, data_name = dataset_picker(surnames, surname_error, named, top[0])
    top[1].button("Demo: RNN vs nn.LSTM", type="primary", icon=":material/compare_arrows:", width="stretch",
                  on_click=start_demo, args=(dataset,), help=HELP["demo"], key="train.demo")
    if DEMO_ERROR in st.session_state:
        st.error(st.session_state.pop(DEMO_ERROR), icon=":material/error:")
    infos = resources.all_runs()
    jobs = {job.run_id: job for job in resources.job_manager().jobs()}
    labels = overlay_labels(infos, jobs)
    overlay_selection(infos, labels)
    if labels:
        curve_controls()
    sync_url(data_name)
    share_box(top[2], data_name)

    active = resources.job_manager().active_ids()
    watching = (any(run_id in active for run_id in st.session_state.get(keys.TRAIN_COMPARE, []))
                or bool(st.session_state.get(DEMO_SHOWN)))
    # While overlaid trainings run (the demo), and after they end, their curves come first and the progress cards
    # and finish notices under them, so the curves are above the fold and stay where they are when a run ends.
    if presenting:  # the class watches the curves; the form waits folded below them
        compare_runs(infos, labels)
        live_panel()
        with st.expander("New training", expanded=keys.TRAIN_START_ERROR in st.session_state):
            training_form(dataset, data_name)
        run_table(infos, jobs)
    elif watching:
        compare_runs(infos, labels)
        live_panel()
        training_form(dataset, data_name)
        run_table(infos, jobs)
        manage_run(infos)
    else:
        live_panel()
        training_form(dataset, data_name)
        run_table(infos, jobs)
        compare_runs(infos, labels)
        manage_run(infos)
    nav.link(nav.EVALUATE, label="Evaluate a finished run", icon=":material/grid_on:")
