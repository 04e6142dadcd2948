"""Classroom mode in the app: who is using this browser, and the teacher's sidebar tools.

The policy itself (roles, permissions, limits) lives in `seglab.settings.classroom` and
`seglab.settings.limits` and is enforced by the queue and the store; this module only finds
the current :class:`~seglab.settings.classroom.Actor` and draws the sidebar section.
"""

from __future__ import annotations

import functools
import logging

import streamlit as st

from seglab.settings.classroom import (
    LOCAL,
    Actor,
    Permission,
    Role,
    clean_owner_name,
    env_passphrase,
)

NAME_KEY = "who"  # the student's name, kept in the URL (?who=…) so a reload keeps it
ROLE_KEY = "_classroom_teacher"  # True once this browser session unlocked with the passphrase
SECRET_NAME = "teacher_passphrase"

log = logging.getLogger("seglab.classroom")


def classroom_passphrase() -> str | None:
    """The teacher passphrase: ``$SEGLAB_TEACHER_PASSPHRASE``, else ``teacher_passphrase`` in
    ``.streamlit/secrets.toml``; None (classroom mode off) when neither is set."""
    return env_passphrase() or _secret_passphrase()


@functools.lru_cache(maxsize=1)
def _secret_passphrase() -> str | None:
    """``teacher_passphrase`` from ``.streamlit/secrets.toml``, read once per server process
    (looking it up costs ~0.5 ms, and every permission check asks; restart after changing it)."""
    try:
        secret = st.secrets.get(SECRET_NAME)
    except Exception:  # no secrets file, or a damaged one: classroom mode stays off
        return None
    if secret is None:
        return None
    return str(secret).strip() or None


def classroom_mode() -> bool:
    return classroom_passphrase() is not None


def current_actor() -> Actor:
    """Who this browser session is: ``LOCAL`` outside classroom mode, else the teacher (after
    unlocking) or a student under the name typed in the sidebar."""
    if not classroom_mode():
        return LOCAL
    typed = st.session_state.get(NAME_KEY)
    if typed is None:
        typed = st.query_params.get(NAME_KEY, "")
    name = clean_owner_name(typed or "")
    if st.session_state.get(ROLE_KEY):
        return Actor(name or "teacher", Role.TEACHER)
    return Actor(name, Role.STUDENT)


def report_page_error(page: str) -> None:
    """Classroom mode: a page raised. Log the traceback for the teacher (the server's log and
    ``$SEGLAB_HOME/classroom-errors.log``) and show the student one plain sentence."""
    import secrets
    import traceback

    from seglab.paths import seglab_home

    ref = secrets.token_hex(3)
    text = f"[{ref}] page {page!r}:\n{traceback.format_exc()}"
    log.error(text)
    try:
        with open(seglab_home() / "classroom-errors.log", "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError:
        pass  # a full or read-only disk: the server's log still has it
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
