"""Who is at this browser: an anonymous owner, an optional display name, and whether the teacher's key was entered.

Each browser gets a random token that the app stores in a cookie (so a reload keeps it, and no shared link
carries it); runs record a hash of it as their owner (rnnviz.runs), so a run folder never shows a usable token.
Only a run's owner, or the teacher, may pause, resume, stop, cancel or delete it (rnnviz.jobs.may_control decides,
and the JobManager enforces it); everyone may view it. The teacher's browser acts, and owns its runs, as TEACHER.

The teacher starts the server with RNNVIZ_TEACHER_KEY set and enters the key once in the sidebar; the browser then
keeps a proof derived from the key and its token (an HMAC), never the key itself. Keys and proofs are compared in
constant time and never shown or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets

import streamlit as st

from rnnviz.jobs import may_control
from rnnviz.runs import OWNER_NAME_LIMIT, TEACHER, clean_name
from ui import keys

TEACHER_KEY_ENV = "RNNVIZ_TEACHER_KEY"
OWNER_COOKIE, NAME_COOKIE, TEACHER_COOKIE = "rnnviz_owner", "rnnviz_name", "rnnviz_teacher"
COOKIE_DAYS = 180
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SEEDS = 10_000  # default seeds are spread over 0..SEEDS-1
MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~:$&=\"'")


def _cookies() -> dict[str, str]:
    try:
        return dict(st.context.cookies)
    except (AttributeError, RuntimeError, KeyError):
        return {}


def token() -> str:
    """This browser's owner token: its cookie, else a new one (stored in a cookie by `remember`)."""
    if keys.OWNER_TOKEN not in st.session_state:
        value = _cookies().get(OWNER_COOKIE, "")
        st.session_state[keys.OWNER_TOKEN] = value if TOKEN.fullmatch(value) else secrets.token_urlsafe(18)
    return st.session_state[keys.OWNER_TOKEN]


def owner_id() -> str:
    """What this browser's runs record as their owner: a hash of its token."""
    return hashlib.sha256(f"rnnviz-owner:{token()}".encode()).hexdigest()[:32]


def default_seed() -> int:
    """A seed of this browser's own, the same after a reload, so the class's runs differ unless a link fixes it."""
    return int(owner_id()[:8], 16) % SEEDS


def name() -> str:
    """The display name this browser gave, cleaned (rnnviz.runs.clean_name); '' when none."""
    if keys.OWNER_NAME not in st.session_state:
        stored = _cookies().get(NAME_COOKIE, "")
        try:
            decoded = base64.urlsafe_b64decode(stored.encode("ascii") + b"==").decode("utf-8") if stored else ""
        except (ValueError, UnicodeError):
            decoded = ""
        st.session_state[keys.OWNER_NAME] = clean_name(decoded)
    return st.session_state[keys.OWNER_NAME]


def plain(text: str) -> str:
    """Text shown inside Markdown exactly as typed: every character Markdown (or Streamlit's :color[] and
    :material/...: directives) could read as markup is escaped."""
    return "".join(f"\\{ch}" if ch in MARKDOWN_SPECIAL else ch for ch in str(text).replace("\n", " "))


# ---------------------------------------------------------------- the teacher


def teacher_key() -> str:
    """The key the teacher set on the server; '' when there is none (then nobody is the teacher in the app)."""
    return os.environ.get(TEACHER_KEY_ENV, "").strip()


def key_matches(entered: str, key: str | None = None) -> bool:
    """Whether `entered` is the teacher's key, in time that does not depend on where they differ or on length."""
    key = teacher_key() if key is None else key
    if not key or not isinstance(entered, str):
        return False
    return hmac.compare_digest(hashlib.sha256(entered.strip().encode()).digest(),
                               hashlib.sha256(key.encode()).digest())


def _proof(key: str) -> str:
    return hmac.new(key.encode(), f"rnnviz-teacher:{token()}".encode(), hashlib.sha256).hexdigest()


def is_teacher() -> bool:
    """Whether this browser entered the teacher's key (now, or earlier: its cookie proves it)."""
    key = teacher_key()
    if not key:
        return False
    if st.session_state.get(keys.OWNER_TEACHER) == _proof(key):
        return True
    proof = "" if st.session_state.get(keys.OWNER_FORGET_TEACHER) else _cookies().get(TEACHER_COOKIE, "")
    if proof and hmac.compare_digest(proof.encode(), _proof(key).encode()):
        st.session_state[keys.OWNER_TEACHER] = proof
        return True
    return False


def me() -> str:
    """Who this browser is to the library: TEACHER once the key was entered, else its owner id. Runs it starts
    belong to it (the teacher's are shown as the teacher everywhere, as the command line's are), and every control
    it asks for is checked against it (`by=`)."""
    return TEACHER if is_teacher() else owner_id()


def is_mine(run_owner: str) -> bool:
    """Whether this browser started a run owned by `run_owner`."""
    return hmac.compare_digest(str(run_owner).encode(), me().encode())


def started_here(run_owner: str) -> bool:
    """Whether a run is this browser's own: started from it, or the teacher's runs for the teacher."""
    return is_mine(run_owner)


def can_manage(run_owner: str) -> bool:
    """Whether this browser may pause, resume, stop, cancel or delete a run owned by `run_owner` (the library's
    rule: the page only reflects it)."""
    return may_control(run_owner, me())


def who(run_owner: str, run_name: str) -> str:
    """Who started a run, as plain text: 'you', their name, 'the teacher' or 'a student'."""
    if is_mine(run_owner):
        return "you"
    if run_name:
        return run_name
    return "the teacher" if run_owner == TEACHER else "a student"


# ---------------------------------------------------------------- the sidebar


def _check_key() -> None:
    entered = st.session_state.get(keys.OWNER_KEY_INPUT, "")
    st.session_state[keys.OWNER_KEY_INPUT] = ""  # the key never stays in a widget
    if key_matches(entered):
        st.session_state[keys.OWNER_TEACHER] = _proof(teacher_key())
        st.session_state.pop(keys.OWNER_KEY_ERROR, None)
        st.session_state.pop(keys.OWNER_FORGET_TEACHER, None)
    elif entered:
        st.session_state[keys.OWNER_KEY_ERROR] = "That is not the teacher key."


def _set_name() -> None:
    st.session_state[keys.OWNER_NAME] = clean_name(st.session_state.get(keys.OWNER_NAME_INPUT, ""))


def _leave_teacher() -> None:
    st.session_state.pop(keys.OWNER_TEACHER, None)
    st.session_state[keys.OWNER_FORGET_TEACHER] = True


def sidebar() -> None:
    """The sidebar's name box and, on a server with a teacher key, the key box; then the cookies are updated."""
    where = st.sidebar
    st.session_state[keys.OWNER_NAME_INPUT] = name()  # Streamlit forgets a widget's state on another page
    where.text_input("Your name", key=keys.OWNER_NAME_INPUT, max_chars=OWNER_NAME_LIMIT, on_change=_set_name,
                     placeholder="optional, shown with your runs",
                     help="Shown with your runs in the run list and on the class board. Your runs are yours: only "
                          "you (and the teacher) can pause, stop or delete them.")
    if teacher_key():
        if is_teacher():
            where.caption("Teacher: you can manage every run and the class board.")
            where.button("Leave teacher mode", on_click=_leave_teacher, key=keys.OWNER_LEAVE)
        else:
            where.text_input("Teacher key", type="password", key=keys.OWNER_KEY_INPUT, on_change=_check_key,
                             help="The key the server was started with (RNNVIZ_TEACHER_KEY).")
            if keys.OWNER_KEY_ERROR in st.session_state:
                where.error(st.session_state.pop(keys.OWNER_KEY_ERROR), icon=":material/key_off:")
    remember()


def _cookie_js(cookie: str, value: str) -> str:
    age = 0 if not value else COOKIE_DAYS * 86400
    return f"document.cookie = {json.dumps(f'{cookie}={value}; path=/; max-age={age}; SameSite=Strict')};"


def remember() -> None:
    """Store this browser's token, name and teacher proof in its cookies, when they changed (a bit of script)."""
    wanted = {OWNER_COOKIE: token(),
              NAME_COOKIE: base64.urlsafe_b64encode(name().encode()).decode("ascii").rstrip("=")}
    key = teacher_key()
    if key and st.session_state.get(keys.OWNER_TEACHER) == _proof(key):
        wanted[TEACHER_COOKIE] = _proof(key)
    elif st.session_state.get(keys.OWNER_FORGET_TEACHER):
        wanted[TEACHER_COOKIE] = ""
    written = st.session_state.setdefault(keys.OWNER_COOKIES, _cookies())
    changed = {cookie: value for cookie, value in wanted.items() if written.get(cookie, "") != value}
    if not changed:
        return
    # Only base64url text and hex digits reach the script, so nothing typed by a user is ever run.
    st.sidebar.html("<script>" + "".join(_cookie_js(c, v) for c, v in changed.items()) + "</script>",
                    unsafe_allow_javascript=True, width="content")
    written.update(changed)
