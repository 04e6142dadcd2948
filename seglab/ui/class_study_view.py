"""The Train page's "Class study" tab: the teacher publishes the form's grid; every student sees
the cells, who trains which, and claims a free one (`seglab.jobs.class_study`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from seglab.errors import SegLabError
from seglab.settings.classroom import Permission
from seglab.settings.study import Study
from seglab.ui import classroom


def class_study_panel(plan: Study | None) -> None:
    from seglab.jobs import JobQueue, ensure_worker
    from seglab.jobs import class_study as cs

    actor = classroom.current_actor()
    st.markdown(
        "**A class study** splits one grid between the class: the teacher publishes it, each "
        "student claims a cell (one architecture × loss × seed) and trains it, and the Results "
        "page compares the whole grid as the cells finish."
    )
    try:
        with JobQueue() as queue:
            label = f"Publish the form's grid ({plan.n_runs if plan else 0} cells) as the class study"
            if (
                actor.can(Permission.CHANGE_LIMITS)
                and plan is not None
                and st.button(label, key="cs_publish")
            ):
                cs.publish(queue, plan, actor)
                st.success("Published; students see its cells here.")
            cells = cs.cells(queue)
            if not cells:
                st.info("No class study yet.")
                return
            table = pd.DataFrame(
                [
                    {
                        "cell": c.index,
                        "run": c.label,
                        "seed": c.seed,
                        "student": c.owner,
                        "state": c.status or "free",
                    }
                    for c in cells
                ]  # fmt: skip
            )
            st.dataframe(table, hide_index=True, key="cs_table")
            free = [c for c in cells if c.free]
            st.caption(f"{len(cells) - len(free)} of {len(cells)} cells taken.")
            if not free:
                return
            pick = st.selectbox(
                "A free cell",
                [c.index for c in free],
                format_func=lambda i: f"{i}: {cells[i].label}, seed {cells[i].seed}",
                key="cs_pick",
            )
            if st.button("Claim and train it", key="cs_claim", type="primary"):
                job = cs.claim(queue, int(pick), actor)
                ensure_worker()
                st.success(f"Cell {pick} is yours (job {job}); follow it in the Queue tab.")
    except SegLabError as exc:
        st.error(f"Not done: {exc}")
