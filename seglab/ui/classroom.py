"""Classroom mode in the app: who is using this browser, and the teacher's sidebar tools.

The policy itself (roles, permissions, limits) lives in `seglab.settings.classroom` and
`seglab.settings.limits` and is enforced by the queue and the store; this module only finds
the current :class:`~seglab.settings.classroom.Actor` and draws the sidebar section.

A student's name is kept per browser, in a cookie (``seglab_who``, SameSite=Strict), never in
the URL: a shared link must not make everyone who opens it that student. The server reads the
cookie (`st.context.cookies`, sent when the page is opened) and the browser writes it (a few
lines of JavaScript in the app's own page, :func:`remember_name_in_browser`), so a reload keeps
the name. The URL guard drops a ``who`` value arriving in a link.
"""

from __future__ import annotations

import functools
import json
import logging
from urllib.parse import unquote

import streamlit as st

from seglab.settings.classroom import (
    LOCAL,
    MAX_NAME_LENGTH,
    Actor,
    Permission,
    Role,
    clean_owner_name,
    env_passphrase,
)
from seglab.settings.passphrase import SecretFileValue

NAME_KEY = "who"  # the student's name box (session state); never taken from a link
NAME_COOKIE = "seglab_who"  # the same name, kept by the browser so a reload keeps it
NAME_COOKIE_MAX_AGE = 180 * 24 * 3600  # seconds: a school term and then some
NAME_COOKIE_KEY = "seglab-name-cookie"  # the hidden container that writes the cookie
ROLE_KEY = "_classroom_teacher"  # True once this browser session unlocked with the passphrase
SECRET_NAME = "teacher_passphrase"

log = logging.getLogger("seglab.classroom")
_SECRET = SecretFileValue(SECRET_NAME)


def classroom_passphrase() -> str | None:
    """The *initial* teacher passphrase: ``$SEGLAB_TEACHER_PASSPHRASE``, else
    ``teacher_passphrase`` in ``.streamlit/secrets.toml`` (re-read when that file changes: a
    ``stat`` per look); None (classroom mode off) when neither is set. A passphrase the teacher
    changed in the sidebar is checked by `seglab.settings.passphrase.check_passphrase`."""
    return env_passphrase() or _SECRET.get(_secret_files())


@functools.lru_cache(maxsize=1)
def _secret_files() -> tuple[str, ...]:
    """The secrets files Streamlit reads (its ``secrets.files`` option; fixed for the process)."""
    try:
        return tuple(str(p) for p in st.get_option("secrets.files"))
    except Exception:  # an unknown option in some Streamlit version: the project's own file
        return (".streamlit/secrets.toml",)


def classroom_mode() -> bool:
    return classroom_passphrase() is not None


def current_actor() -> Actor:
    """Who this browser session is: ``LOCAL`` outside classroom mode, else the teacher (after
    unlocking) or a student under the name typed in the sidebar."""
    if not classroom_mode():
        return LOCAL
    typed = st.session_state.get(NAME_KEY)
    name = clean_owner_name(typed or "") if typed is not None else cookie_name()
    if st.session_state.get(ROLE_KEY):
        return Actor(name or "teacher", Role.TEACHER)
    return Actor(name, Role.STUDENT)


def cookie_name() -> str:
    """The name this browser kept in its cookie ('' when none)."""
    try:
        raw = st.context.cookies.get(NAME_COOKIE, "")
    except Exception:  # no browser behind this session (a script, a test)
        return ""
    if not isinstance(raw, str):
        return ""
    return clean_owner_name(unquote(raw[: 12 * MAX_NAME_LENGTH]))


def remember_name_in_browser(name: str) -> None:
    """Have the browser keep ``name`` in its cookie (deleted when ``name`` is empty): a few
    lines of JavaScript in the app's own page, drawn in a hidden sidebar container. The same
    text on every run, so the browser runs it once per change of name, not per rerun."""
    value = json.dumps(name).replace("<", "\\u003c")  # a JS string that cannot end the script
    age = NAME_COOKIE_MAX_AGE if name else 0
    script = (
        "<script>document.cookie = "
        f"{json.dumps(NAME_COOKIE + '=')} + encodeURIComponent({value}) + "
        f"'; Max-Age={age}; Path=/; SameSite=Strict';</script>"
    )
    st.html(f"<style>.st-key-{NAME_COOKIE_KEY} {{ display: none; }}</style>")
    with st.sidebar.container(key=NAME_COOKIE_KEY):
        st.html(script, unsafe_allow_javascript=True)


def teacher_log(text: str, *, level: int = logging.WARNING) -> None:
    """Write ``text`` for the teacher: the server's log and ``$SEGLAB_HOME/classroom-errors.log``."""
    import time

    from seglab.paths import seglab_home

    log.log(level, text)
    try:
        with open(seglab_home() / "classroom-errors.log", "a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
    except OSError:
        pass  # a full or read-only disk: the server's log still has it


def report_page_error(page: str) -> None:
    """Classroom mode: a page raised. Log the traceback for the teacher (the server's log and
    ``$SEGLAB_HOME/classroom-errors.log``) and show the student one plain sentence."""
    import secrets
    import traceback

    ref = secrets.token_hex(3)
    teacher_log(f"[{ref}] page {page!r}:\n{traceback.format_exc()}", level=logging.ERROR)
    st.error(
        f"Something went wrong on this page (reference {ref}). Your work is safe; try another "
        "value or reload. The teacher can look the reference up in the server's log."
    )


def can(permission: Permission) -> bool:
    """True when this session may take ``permission`` (hide controls the library would refuse)."""
    return current_actor().can(permission)


def limits_editor(actor: Actor) -> None:
    """The teacher's form for the class limits (`seglab.settings.limits.CAPS`)."""
    from seglab.errors import SegLabError
    from seglab.paths import seglab_home
    from seglab.settings.limits import CAPS, load_limits, save_limits

    home = seglab_home()
    current = load_limits(home)
    with st.expander("Class limits"), st.form("_classroom_limits"):
        typed = {
            cap.key: st.number_input(
                cap.label.capitalize(), min_value=1, max_value=cap.hard_max, value=current[cap.key], step=1
            )
            for cap in CAPS
        }
        if st.form_submit_button("Save limits"):
            try:
                save_limits(home, typed, actor)
            except (SegLabError, OSError) as exc:
                st.error(f"Not saved: {exc}")
            else:
                st.success("Saved; they apply to every new study.")


def passphrase_editor(actor: Actor) -> None:
    """The teacher's form for a new passphrase (kept hashed: `seglab.settings.passphrase`)."""
    from seglab.errors import SegLabError
    from seglab.paths import seglab_home
    from seglab.settings.passphrase import PassphraseError, save_passphrase

    with st.expander("Teacher passphrase"), st.form("_classroom_passphrase_form", clear_on_submit=True):
        new = st.text_input("New passphrase", type="password", key="_classroom_new_passphrase")
        again = st.text_input("The same again", type="password", key="_classroom_new_passphrase_again")
        if st.form_submit_button("Change passphrase", key="_classroom_change_passphrase"):
            initial = classroom_passphrase()
            try:
                if initial is None:
                    raise PassphraseError("classroom mode is off, so there is no passphrase to change.")
                save_passphrase(seglab_home(), new, again, initial, actor)
            except (PassphraseError, SegLabError, OSError) as exc:
                st.error(f"Not changed: {exc}")
            else:
                teacher_log(f"the teacher passphrase was changed by {actor.name!r}")
                st.success("Changed: every new unlock needs the new passphrase from now on.")
