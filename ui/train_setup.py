"""The Train page's setup: the form's settings (kept in the session and the link), the dataset picker, starting a
training or the RNN vs nn.LSTM demo, the settings form and the share box."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from rnnviz.config import SETTINGS, TrainConfig, auto_device, resolve_device
from rnnviz.data import DataError, is_embedded
from rnnviz.datasets import DatasetInfo
from ui import display, guards, keys, nav, owner, resources, runview, settings_form, shareable
from ui.curves import curve_settings

SURNAMES = ""  # the dataset choice meaning "the current data folder"
DEMO_MODELS = ("rnn", "lstm")
HELP = {
    "data": "The surname data is the folder picked on the Data page; named datasets are added there too. "
            "A run remembers its dataset, so Evaluate and Gates reload the right names.",
    "demo": "Starts RNN and nn.LSTM at once with the report's settings (defaults, each model's own hidden size), "
            "the same seed and the same split, and overlays them below so the class sees the LSTM pull ahead.",
}


def setting_widget(name: str, where) -> None:
    """The widget of one TrainConfig field, as its Setting describes it; the device's help also says what `auto`
    picks on this server for the settings in use."""
    spec = SETTINGS[name]
    if name == "device":
        spec = replace(spec, help=spec.help + auto_device_note())
    settings_form.widget(spec, getattr(TrainConfig(), name), settings_form.key(keys.TRAIN_FORM, name),
                         where, format_func=runview.model_label if name == "model" else str)


def auto_device_note() -> str:
    """What `auto` picks on this server for the session's model, hidden size and batch size, and why."""
    try:
        config = TrainConfig.from_dict(settings())
    except guards.USER_ERRORS:  # the form's message says what is wrong with them
        return ""
    choice = auto_device(config.model, config.resolved_hidden_size, config.batch_size)
    return (f" Here, for {runview.model_label(config.model)} at hidden {config.resolved_hidden_size}, batch "
            f"{config.batch_size}: {choice.reason}.")


def settings() -> dict:
    """The form's settings as TrainConfig values (what the link carries); defaults until the form is used."""
    if keys.TRAIN_SETTINGS not in st.session_state:
        st.session_state[keys.TRAIN_SETTINGS] = TrainConfig().to_dict()
    return st.session_state[keys.TRAIN_SETTINGS]


def form_values() -> dict:
    """The form's values as TrainConfig values; fields hidden in presenter mode keep their settings."""
    return settings_form.values(SETTINGS, TrainConfig(), settings(), keys.TRAIN_FORM, SETTINGS)


def seed_widgets() -> None:
    """Widgets that Streamlit dropped (page switch, presenter mode) start again from the session's settings."""
    settings_form.seed(SETTINGS, TrainConfig(), settings(), keys.TRAIN_FORM, SETTINGS)
    curves = st.session_state.setdefault(keys.TRAIN_CURVES, dict(shareable.CURVE_DEFAULTS))
    widgets = ((keys.TRAIN_SMOOTH, shareable.SMOOTH), (keys.TRAIN_XAXIS, shareable.XAXIS),
               (keys.TRAIN_LOG, shareable.LOG))
    for key, name in widgets:
        if key not in st.session_state:
            st.session_state[key] = curves[name]
    if keys.TRAIN_DATA not in st.session_state:
        st.session_state[keys.TRAIN_DATA] = st.session_state.get(keys.TRAIN_DATA_CHOICE, SURNAMES)


def read_link(dataset_names: list[str]) -> None:
    """On the session's first visit, the link's settings become the form's, the dataset and the curve display."""
    if st.session_state.get(keys.TRAIN_URL_READ):
        return
    st.session_state[keys.TRAIN_URL_READ] = True
    params = st.query_params.to_dict()
    train, curves = shareable.parse_train(params, dataset_names), shareable.parse_curves(params)
    st.session_state[keys.TRAIN_SETTINGS] = {name: train.values[name] for name in TrainConfig().to_dict()}
    if "seed" not in params:  # each student's own seed, so the class board shows real variation
        st.session_state[keys.TRAIN_SETTINGS]["seed"] = st.session_state[keys.TRAIN_AUTO_SEED] = owner.default_seed()
    st.session_state[keys.TRAIN_DATA_CHOICE] = train.values[shareable.DATASET]
    st.session_state[keys.TRAIN_CURVES] = dict(curves.values)
    form = [settings_form.key(keys.TRAIN_FORM, name) for name in SETTINGS]
    for key in [*form, keys.TRAIN_DATA, keys.TRAIN_SMOOTH, keys.TRAIN_XAXIS, keys.TRAIN_LOG]:
        st.session_state.pop(key, None)  # seeded again from the link's values
    notice = shareable.Parsed(notices=train.notices + curves.notices).notice
    if notice:
        st.session_state[keys.TRAIN_LINK_NOTICE] = notice


def link_query(data_name: str) -> dict[str, str]:
    curves = curve_settings()
    query = {**shareable.train_query(settings(), data_name),
             **shareable.curves_query(curves[shareable.SMOOTH], curves[shareable.XAXIS], curves[shareable.LOG])}
    if seed_is_own():
        query.pop("seed", None)  # a student's own seed stays theirs: whoever opens the link gets their own
    return query


def seed_is_own() -> bool:
    """Whether the form's seed is the one picked for this browser (no link fixed it, nobody changed it)."""
    return keys.TRAIN_AUTO_SEED in st.session_state and st.session_state[keys.TRAIN_AUTO_SEED] == settings().get("seed")


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
    if st.session_state.get(keys.TRAIN_DATA) not in options:
        st.session_state[keys.TRAIN_DATA] = options[0]

    def label(option: str) -> str:
        if option == SURNAMES:
            where = "shipped with rnnviz" if is_embedded(surnames.source) else f"from {Path(surnames.source).name}/"
            return f"Surnames {where} ({len(surnames):,} names, {surnames.n_categories} languages)"
        info = usable[option]
        return f"{option} ({info.n_names:,} names, {len(info.categories)} categories)"

    choice = where.selectbox("Dataset", options, format_func=label, key=keys.TRAIN_DATA, help=HELP["data"])
    st.session_state[keys.TRAIN_DATA_CHOICE] = choice
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
        st.session_state[keys.TRAIN_ENDED] = []
        st.session_state.pop(keys.TRAIN_DEMO_SHOWN, None)


def owned() -> dict:
    """Who a training started here belongs to; the teacher is not held to the per-student cap."""
    return {"owner": owner.me(), "owner_name": owner.name()}  # the library caps students, not the teacher


def apply_settings() -> bool:
    """The form's values become the session's settings (and so the link's); False with a message if unusable."""
    values = form_values()
    try:
        TrainConfig.from_dict(values)
    except guards.USER_ERRORS as exc:
        st.session_state[keys.TRAIN_START_ERROR] = f"Not started: {guards.one_line(exc)}"
        return False
    st.session_state[keys.TRAIN_SETTINGS] = values
    return True


def demo_help() -> str | None:
    """The Demo button's tooltip: only before the demo is started and off a projector. A tooltip shows while the
    pointer rests on the button, so after the click it would stay over the controls and curves under it."""
    if display.presenting() or st.session_state.get(keys.TRAIN_DEMO_SHOWN):
        return None
    return HELP["demo"]


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
        st.session_state[keys.TRAIN_DEMO_ERROR] = f"Demo not started: {guards.one_line(exc)}"
        return
    st.session_state[keys.TRAIN_COMPARE_CHOICE] = started
    waiting = any((job := manager.get(run_id)) is not None and job.status == "queued" for run_id in started)
    st.session_state[keys.TRAIN_ENDED] = []
    st.session_state[keys.TRAIN_DEMO_SHOWN] = (
        f"Demo {'queued' if waiting else 'started'}: RNN and nn.LSTM on the same split (seed {seed}) — watch "
        "them side by side in Compare runs" + (" once they start." if waiting else "."))


def training_form(dataset, data_name: str) -> None:
    presenting = display.presenting()
    shown = [name for name, spec in SETTINGS.items() if not (presenting and spec.advanced)]
    with st.form(keys.TRAIN_FORM_ID):
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
