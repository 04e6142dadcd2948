"""What the pages show when the store or the queue needed repair: one place, plain words.

* `queue_notice_banner` — the job queue's database was damaged and replaced (see
  `seglab.jobs.dbhealth`); shown on Home, Train and Results, with a button to dismiss it,
  and as a short line in the sidebar (`queue_notice_caption`).
* `unreadable_runs_panel` — run folders the store cannot read, each with its reason, and a
  button to delete them (Results).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from seglab.jobs.dbhealth import dismiss_queue_notice, queue_notice
from seglab.paths import seglab_home
from seglab.settings.classroom import Permission
from seglab.store.run_store import RunStore
from seglab.ui import classroom


def _home(home: str | Path | None) -> Path:
    return seglab_home(home)


def queue_notice_banner(home: str | Path | None = None, *, key: str = "queue_notice") -> bool:
    """A warning when the queue was replaced recently; True when one was shown."""
    path = _home(home)
    text = queue_notice(path)
    if text is None:
        return False
    st.warning(text, icon=":material/build:")
    if st.button("Dismiss this notice", key=f"{key}_dismiss"):
        dismiss_queue_notice(path)
        st.rerun()
    return True


def queue_notice_caption(home: str | Path | None = None) -> None:
    """One line for the sidebar when the queue was replaced recently."""
    if queue_notice(_home(home)) is not None:
        st.caption(":material/build: The job queue was damaged and restarted empty; see Home.")


def unreadable_runs_panel(store: RunStore, *, key: str = "unreadable") -> int:
    """List the run folders that cannot be read, with the reason, and offer to delete them.
    Returns how many there are (nothing is drawn when there are none)."""
    bad = store.unreadable_runs()
    if not bad:
        return 0
    with st.expander(f":material/warning: {len(bad)} unreadable run(s)", expanded=False):
        st.caption(
            "These run folders are damaged or were edited by hand, so they are left out of every "
            "table and chart. Delete them here, or fix their files and reload the page."
        )
        st.dataframe(
            [{"Run id": b.id, "Status": b.status, "Why": b.reason} for b in bad],
            hide_index=True,
            key=f"{key}_table",
        )
        if not classroom.can(Permission.DELETE):
            return len(bad)
        picked = st.multiselect("Unreadable runs to delete", [b.id for b in bad], key=f"{key}_pick")
        if st.button("Delete unreadable runs", key=f"{key}_delete", disabled=not picked):
            for run_id in picked:
                store.delete_run(run_id, actor=classroom.current_actor())
            st.session_state.pop(f"{key}_pick", None)
            st.rerun()
    return len(bad)
