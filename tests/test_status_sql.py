"""SQL never spells a run status: every query binds `seglab.status.RunStatus` values, so a renamed
status cannot leave a query behind that silently matches nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from seglab.jobs.queue import ACTIVE_STATES, sql_marks
from seglab.status import ACTIVE_STATUSES, RunStatus

PACKAGE = Path(__file__).resolve().parent.parent / "seglab"
SQL_WORDS = re.compile(r"\b(SELECT|UPDATE|INSERT|DELETE|WHERE|VALUES|CREATE|JOIN)\b")
STATUS_WORDS = "|".join(s.value for s in RunStatus)
QUOTED_STATUS = re.compile(rf"""['"]({STATUS_WORDS})['"]""")


def _string_pieces(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string constant, f-string parts included (implicitly joined
    literals are one constant already)."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def status_literals_in_sql(source: str) -> list[tuple[int, str]]:
    """(line, text) of the SQL strings in ``source`` that spell a status in quotes."""
    return [
        (line, text)
        for line, text in _string_pieces(ast.parse(source))
        if SQL_WORDS.search(text) and QUOTED_STATUS.search(text)
    ]


def test_the_finder_sees_a_status_spelled_in_sql() -> None:  # the check below can fail
    old = "conn.execute(\"SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('queued', 'running')\")"
    assert status_literals_in_sql(old)
    assert status_literals_in_sql("conn.execute(f\"UPDATE jobs SET status = 'cancelled' WHERE id = {x}\")")
    assert not status_literals_in_sql('conn.execute("SELECT id FROM jobs WHERE status = ?", (s,))')
    assert not status_literals_in_sql('say("the run is done")')  # prose, not SQL


def test_no_sql_in_seglab_spells_a_status() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text.strip()[:90]}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, text in status_literals_in_sql(path.read_text(encoding="utf-8"))
    ]
    assert not found, "bind RunStatus values as ? parameters instead:\n" + "\n".join(found)


def test_active_states_are_the_active_statuses() -> None:
    assert set(ACTIVE_STATES) == {s.value for s in ACTIVE_STATUSES}
    assert sql_marks(ACTIVE_STATES) == ", ".join("?" for _ in ACTIVE_STATUSES)
