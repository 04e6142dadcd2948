"""The sidebar's classroom section: the student's name box and the teacher's unlock (drawn by
``app.py`` on every page; nothing outside classroom mode). The policy is `seglab.ui.classroom`."""

from __future__ import annotations

import streamlit as st

from seglab.settings.classroom import Role, passphrase_matches
from seglab.ui.classroom import (
    NAME_KEY,
    ROLE_KEY,
    classroom_mode,
    classroom_passphrase,
    current_actor,
    limits_editor,
    log,
)
from seglab.ui.common import URL


def _unlock() -> None:
    passphrase = classroom_passphrase()
    typed = st.session_state.pop("_classroom_passphrase", "")
    if passphrase and passphrase_matches(typed, passphrase):
        st.session_state[ROLE_KEY] = True
    else:
        log.warning("a wrong teacher passphrase was typed")
        st.session_state["_classroom_wrong"] = True


def _lock() -> None:
    st.session_state[ROLE_KEY] = False


def classroom_sidebar() -> None:
    """In classroom mode: the student's name box and the teacher's unlock (nothing otherwise)."""
    if not classroom_mode():
        return
    st.text_input(
        "Your name",
        key=NAME_KEY,
        bind=URL,
        max_chars=40,
        placeholder="e.g. Ada L.",
        help="Your training jobs are kept under this name; you can cancel only your own.",
    )
    actor = current_actor()
    if actor.role == Role.TEACHER:
        st.caption(":material/school: **Teacher** — every control is unlocked in this browser.")
        st.button("Lock teacher controls", key="_classroom_lock", on_click=_lock)
        limits_editor(actor)
        return
    with st.expander("Teacher"):
        st.text_input("Passphrase", type="password", key="_classroom_passphrase")
        st.button("Unlock", key="_classroom_unlock", on_click=_unlock)
        if st.session_state.pop("_classroom_wrong", False):
            st.error("That passphrase is not right.")
