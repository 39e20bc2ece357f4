"""Prerequisite guards and one-line error reporting shared by the pages.

A guard either returns what the page needs or shows a short explanation with a link to the page
that fixes it and stops the script. Library errors (DataError, RunError, JobLimitError, ArchiveError
are all ValueErrors) and disk errors become a one-line st.error, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import streamlit as st

from rnnviz.common import first_line
from rnnviz.data import DataError, NameDataset
from ui import nav, resources

if TYPE_CHECKING:
    from rnnviz.runs import RunInfo

USER_ERRORS = (ValueError, OSError)
LOG = logging.getLogger("rnnviz.app")


one_line = first_line  # the pages' name for rnnviz.common.first_line


@contextmanager
def reported(prefix: str = "") -> Iterator[None]:
    """Show a library or disk error raised inside the block as one st.error line and carry on."""
    try:
        yield
    except USER_ERRORS as exc:
        st.error(f"{prefix}{one_line(exc)}", icon=":material/error:")


def unexpected(exc: Exception) -> None:
    """Last line of defence: log the traceback for the teacher's terminal, show the class one line."""
    LOG.exception("unexpected error in a page")
    st.error(f"Something went wrong: {one_line(exc)}. The details are in the server log.", icon=":material/error:")


def require_dataset() -> NameDataset:
    """The current data, or guidance to the Data page (and stop)."""
    try:
        return resources.current_dataset()
    except DataError as exc:
        st.info(f"{one_line(exc).rstrip('.')}. The Data page explains how to get the surnames.",
                icon=":material/info:")
        nav.link(nav.DATA, label="Get the data", icon=":material/dataset:")
        st.stop()


def require_runs(runs: list[RunInfo], what: str, hint: str) -> list[RunInfo]:
    """Runs the page can use, or guidance to the Train page (and stop)."""
    if runs:
        return runs
    st.info(f"No {what} yet. {hint}", icon=":material/info:")
    nav.link(nav.TRAIN, label="Train a model", icon=":material/model_training:")
    st.stop()
