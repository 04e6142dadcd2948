"""The sidebar's classroom section: the student's name box and the teacher's unlock (drawn by
``app.py`` on every page; nothing outside classroom mode). The policy is `seglab.ui.classroom`;
wrong passphrases are throttled by `seglab.settings.unlock_throttle` (its docstring says why so)."""

from __future__ import annotations

import secrets

import streamlit as st

from seglab.paths import seglab_home
from seglab.settings.classroom import Role, clean_owner_name
from seglab.settings.passphrase import check_passphrase
from seglab.settings.unlock_throttle import THROTTLE, wait_in_words
from seglab.ui.classroom import (
    NAME_KEY,
    ROLE_KEY,
    classroom_mode,
    classroom_passphrase,
    cookie_name,
    current_actor,
    limits_editor,
    passphrase_editor,
    remember_name_in_browser,
    teacher_log,
)

SESSION_KEY = "_classroom_session"  # a random id per browser session, for the unlock throttle
MESSAGE_KEY = "_classroom_wrong"  # what the last unlock try should tell the user


def _who() -> str:
    """The session as the teacher's log names it: the typed name and the browser's address."""
    name = current_actor().name or "a session without a name"
    try:
        ip = st.context.ip_address  # None when the browser runs on the server's own machine
    except Exception:  # no browser behind this session
        ip = None
    address = ip if isinstance(ip, str) and ip else "this machine"
    return f"{name!r} ({address})"


def _unlock() -> None:
    passphrase = classroom_passphrase()
    typed = st.session_state.get("_classroom_passphrase", "")
    if not passphrase:
        return
    session = st.session_state.setdefault(SESSION_KEY, secrets.token_hex(8))
    outcome = THROTTLE.attempt(session, lambda: check_passphrase(seglab_home(), typed, passphrase))
    if outcome.ok:
        st.session_state[ROLE_KEY] = True
        return
    wait = wait_in_words(outcome.wait)
    where = "on this server in the last minute" if outcome.server_wide else "in this browser"
    if not outcome.checked:
        teacher_log(f"a teacher unlock try by {_who()} was refused unchecked: too many wrong tries {where}")
        st.session_state[MESSAGE_KEY] = (
            f"Too many wrong passphrases were typed {where}: wait {wait}, then try again. "
            "This try was not checked."
        )
        return
    teacher_log(f"a wrong teacher passphrase was typed by {_who()}")
    st.session_state[MESSAGE_KEY] = "That passphrase is not right." + (
        f" Too many wrong tries {where}: wait {wait} before the next one." if outcome.wait > 0 else ""
    )


def _lock() -> None:
    st.session_state[ROLE_KEY] = False


def classroom_sidebar() -> None:
    """In classroom mode: the student's name box and the teacher's unlock (nothing otherwise)."""
    if not classroom_mode():
        return
    if NAME_KEY not in st.session_state:  # a new session: the name this browser kept, if any
        st.session_state[NAME_KEY] = cookie_name()
    st.text_input(
        "Your name",
        key=NAME_KEY,
        max_chars=40,
        placeholder="e.g. Ada L.",
        help="Your training jobs are kept under this name; you can cancel only your own. "
        "This browser remembers it (it is not part of links you share).",
    )
    remember_name_in_browser(clean_owner_name(st.session_state.get(NAME_KEY) or ""))
    actor = current_actor()
    if actor.role == Role.TEACHER:
        st.caption(":material/school: **Teacher** — every control is unlocked in this browser.")
        st.button("Lock teacher controls", key="_classroom_lock", on_click=_lock)
        limits_editor(actor)
        passphrase_editor(actor)
        return
    # A form sends the typed passphrase together with the click, and clears the box itself:
    # popping the box's state in the callback left the browser re-sending the previous attempt.
    with st.expander("Teacher"), st.form("_classroom_unlock_form", clear_on_submit=True, border=False):
        st.text_input("Passphrase", type="password", key="_classroom_passphrase")
        st.form_submit_button("Unlock", key="_classroom_unlock", on_click=_unlock)
        message = st.session_state.pop(MESSAGE_KEY, None)
        if message:
            st.error(message)
