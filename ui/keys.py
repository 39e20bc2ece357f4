"""Every session-state and widget key the pages use, in one place so no two pages collide."""

# Train page
TRAIN_FORM = "train.form"  # prefix of the form's widget keys: train.form.<TrainConfig field>
TRAIN_START_ERROR = "train.start_error"
TRAIN_LIVE_IDS = "train.live_ids"  # run ids that were active when the page last ran in full
TRAIN_COMPARE = "train.compare"
TRAIN_COMPARE_CHOICE = "train.compare_choice"  # the overlay picked by hand; outlives the widget on page switches
TRAIN_MANAGE = "train.manage"
TRAIN_CONFIRM_DELETE = "train.confirm_delete"
TRAIN_NOTICE = "train.notice"
TRAIN_FORM_ID = "train-form"  # the st.form around the settings
TRAIN_URL_READ = "train.url_read"  # set once this session has taken its settings from the link
TRAIN_SETTINGS = "train.settings"  # the form's settings as a TrainConfig dict; outlives the widgets on page switches
TRAIN_DATA = "train.data"  # the dataset selectbox: "" for the surname data, else a named dataset
TRAIN_DATA_CHOICE = "train.data_choice"  # its value, kept across page switches
TRAIN_SMOOTH = "train.curves.smooth"  # curve display widgets
TRAIN_XAXIS = "train.curves.x"
TRAIN_LOG = "train.curves.log"
TRAIN_CURVES = "train.curves"  # their values, kept across page switches
TRAIN_LINK_NOTICE = "train.link_notice"  # what the opening link had that could not be used
TRAIN_DEMO = "train.demo"  # the demo button
TRAIN_DEMO_ERROR = "train.demo_error"  # why the demo did not start, shown under its button
TRAIN_AUTO_SEED = "train.auto_seed"  # the seed picked for this browser, while no link fixed one
TRAIN_DEMO_SHOWN = "train.demo_shown"  # the demo's notice; its curves keep their place until the overlay changes
TRAIN_REFRESH_SPREAD = "train.refresh_spread"  # this browser's factor on the waiting refresh (0.75-1.25)
TRAIN_ENDED = "train.ended"  # (ok, text) of the trainings that ended since the last start: every notice stays

# Evaluate page
EVAL_RUN = "evaluate.run"
EVAL_COMPARE = "evaluate.compare"
EVAL_SPLIT = "evaluate.split"
EVAL_SNAPSHOT = "evaluate.snapshot"
EVAL_CHART = "evaluate.chart"
EVAL_TRUE = "evaluate.true"
EVAL_PREDICTED = "evaluate.predicted"

# Gates page
GATES_RUN = "gates.run"
GATES_NAME = "gates.name"
GATES_SECOND = "gates.second"
GATES_ORDER = "gates.order"
GATES_EXTRA = "gates.extra"
GATES_SNAPSHOT = "gates.snapshot"
GATES_VIEW = "gates.view"  # which explanation the page shows
GATES_LETTER = "gates.letter"  # the letter the cell view shows (from 0); moved by play, the buttons and the slider
GATES_LETTER_SLIDER = "gates.letter.slider"
GATES_UNIT = "gates.unit"
GATES_CELL_NAME = "gates.cell_name"  # the name the letter and unit were chosen for: a new name starts afresh
GATES_PLAYING = "gates.playing"  # the cell view steps through the name by itself
GATES_UNIT_ORDER = "gates.unit_order"
GATES_EXPLORE_UNIT = "gates.explore_unit"
GATES_EXPLORE_KEY = "gates.explore_key"
GATES_SPAN = "gates.span"
GATES_SPAN_THRESHOLD = "gates.span_threshold"
GATES_CLAMP_GATE = "gates.clamp_gate"
GATES_CLAMP_VALUE = "gates.clamp_value"
GATES_CLAMP_UNIT = "gates.clamp_unit"
GATES_CLAMP_LETTER = "gates.clamp_letter"
GATES_CLAMP_WHERE = "gates.clamp_where"
GATES_RESET = "gates.reset"
GATES_URL_READ = "gates.url_read"  # set once this session has taken the run and surname from the link
GATES_BACK = "gates.back"  # the cell view's buttons
GATES_NEXT = "gates.next"
GATES_PLAY = "gates.play"
GATES_PAUSE = "gates.pause"
GATES_PICK = "gates.pick"  # a clickable chart (heatmap, attribution): a click opens the Cell step there

# Why page
WHY_VIEW = "why.view"
WHY_TRAIN_MISSING = "why.train_missing"  # one button that trains the runs the gradient comparison lacks
WHY_FLOW_RNN = "why.flow_rnn"
WHY_FLOW_ELMAN = "why.flow_elman"
WHY_FLOW_LSTM = "why.flow_lstm"
WHY_FLOW_STAGES = "why.flow_stages"
WHY_FLOW_SCALE = "why.flow_scale"
WHY_FLOW_SOURCE = "why.flow_source"
WHY_FLOW_NAME = "why.flow_name"
WHY_FLOW_CATEGORY = "why.flow_category"
WHY_FLOW_MIN_LENGTH = "why.flow_min_length"
WHY_PROBE_FORM_ID = "probe-form"  # the st.form around the probe's settings
WHY_PROBE_FORM = "why.probe"  # prefix of the probe form's widget keys: why.probe.<ProbeConfig field>
WHY_PROBE_ACTIVE = "why.probe_active"
WHY_SAT_RUN = "why.sat_run"
WHY_SAT_STAGES = "why.sat_stages"

# Data page
DATA_FOLDER = "data.folder"
DATA_FOLDER_FORM = "data-folder"  # the st.form around DATA_FOLDER
DATA_UPLOAD_FORM = "data-upload"
DATA_UPLOAD = "data.upload"  # the zip uploader
DATA_UPLOAD_NAME = "data.upload_name"
DATA_OWN_FOLDER_FORM = "data-own-folder"
DATA_OWN_FOLDER = "data.own_folder"  # a server folder to copy in as a named dataset
DATA_OWN_FOLDER_NAME = "data.own_folder_name"
DATA_PENDING = "data.pending"  # an add refused because the name exists, waiting for "Replace" or "Keep"
DATA_SHOW = "data.show"  # the named dataset whose counts and samples are shown
DATA_MANAGE = "data.manage"  # the named dataset picked for deletion
DATA_CONFIRM_DELETE = "data.confirm_delete"
DATA_NOTICE = "data.notice"  # a message to show after the rerun that follows a deletion

# Report page
REPORT_WATCHED = "report.watched"  # (run id, status) of the report runs training or queued when the page last ran
REPORT_WHOLE_RUN = "report.whole_run"  # set while the whole page runs, so the live panel knows a timer did not call it
REPORT_TRAIN = "report.train"  # the button that queues the missing runs

# Board page
BOARD_HIDE = "board.hide"  # the teacher's switches
BOARD_FREEZE = "board.freeze"

# Whole app
OWNER_TOKEN = "app.owner.token"  # this browser's owner token (ui/owner.py)
OWNER_NAME = "app.owner.name"  # its display name, cleaned
OWNER_NAME_INPUT = "app.owner.name_input"
OWNER_TEACHER = "app.owner.teacher"  # the teacher proof, once the key was entered
OWNER_KEY_INPUT = "app.owner.key_input"  # emptied as soon as it is read
OWNER_KEY_ERROR = "app.owner.key_error"
OWNER_LEAVE = "app.owner.leave"
OWNER_FORGET_TEACHER = "app.owner.forget_teacher"  # left teacher mode: the cookie's proof no longer counts
OWNER_COOKIES = "app.owner.cookies"  # the cookie values this browser has, as far as the app knows
PRESENTER = "app.presenter"  # presenter mode on or off for this session, seeded from ?present=1
PRESENTER_TOGGLE = "app.presenter.toggle"  # the sidebar switch that sets PRESENTER


def keyed(base: str, *inputs: object) -> str:
    """A widget key tied to the inputs its options depend on (the run, the surname): a control whose options change
    with them gets a fresh key, so it can never show one value while the page computes with another."""
    return ".".join([base, *(str(part) for part in inputs)])


def job_button(action: str, run_id: str) -> str:
    """The key of a live training's Pause, Resume, Stop or Cancel button (a browser test finds .st-key-stop-RUN)."""
    return f"{action}-{run_id}"


def download(kind: str, name: str) -> str:
    """The key of a download button: kind png, svg, csv, table or report, and the chart's or table's name."""
    return f"dl-{kind}-{name}"


# Lesson page
LESSON_NAME = "lesson.name"  # the lesson this session is on
LESSON_PICK = "lesson.pick"  # the lesson picker widget
LESSON_STEP = "lesson.step"  # the step (from 0) this session shows
LESSON_LANG = "lesson.lang"  # the lesson's language
LESSON_FOLLOW = "lesson.follow"  # a student follows the teacher's step
LESSON_ANSWER = "lesson.answer"  # prefix of the answer widgets: lesson.answer.<lesson>.<step>
LESSON_RUN = "lesson.run"  # prefix of the run pickers: lesson.run.<role>
LESSON_TRAINING = "lesson.training"  # run ids this session started for a step
LESSON_WAITING = "lesson.waiting"  # models a step needs that this session trains once its cap has room
LESSON_NOTICE = "lesson.notice"  # one line to show after a rerun (an answer refused, a training not started)
LESSON_REVEALED = "lesson.revealed"  # prefix: the presenter revealed a step's answer (lesson.revealed.<lesson>.<step>)
