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

# Data page
DATA_FOLDER = "data.folder"
DATA_SAMPLE_CATEGORY = "data.sample_category"

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

# Lesson page
LESSON_NAME = "lesson.name"  # the lesson this session is on
LESSON_PICK = "lesson.pick"  # the lesson picker widget
LESSON_STEP = "lesson.step"  # the step (from 0) this session shows
LESSON_LANG = "lesson.lang"  # the lesson's language
LESSON_FOLLOW = "lesson.follow"  # a student follows the teacher's step
LESSON_ANSWER = "lesson.answer"  # prefix of the answer widgets: lesson.answer.<lesson>.<step>
LESSON_RUN = "lesson.run"  # prefix of the run pickers: lesson.run.<role>
LESSON_TRAINING = "lesson.training"  # run ids this session started for a step
LESSON_NOTICE = "lesson.notice"  # one line to show after a rerun (an answer refused, a training not started)
LESSON_REVEALED = "lesson.revealed"  # prefix: the presenter revealed a step's answer (lesson.revealed.<lesson>.<step>)
