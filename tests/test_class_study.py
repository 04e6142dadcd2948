"""The class study: the teacher publishes a grid, students claim its cells, nobody trains a
cell twice, and the study's runs come back together as one group."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from seglab.errors import SegLabError
from seglab.jobs import JobQueue, class_study
from seglab.settings.classroom import Actor, NotAllowedError, Role
from seglab.settings.config import TrainConfig
from seglab.settings.study import Study

ANN = Actor("ann", Role.STUDENT)
BOB = Actor("bob", Role.STUDENT)
TEACHER = Actor("teacher", Role.TEACHER)


def grid() -> Study:
    base = TrainConfig(dataset="shapes", size=32, n=24, width=4, depth=2, epochs=1)
    return Study(base, {"arch": ["unet", "segnet"], "loss": ["bce", "dice"]}, seeds=[0, 1])


def test_only_the_teacher_publishes_and_students_claim_free_cells(tmp_path: Path) -> None:
    with JobQueue(tmp_path) as q:
        with pytest.raises(NotAllowedError):
            class_study.publish(q, grid(), ANN)
        group = class_study.publish(q, grid(), TEACHER)
        cells = class_study.cells(q)
        assert len(cells) == 8 and all(c.free for c in cells)
        job = class_study.claim(q, 3, ANN)
        with pytest.raises(SegLabError, match="already taken by ann"):
            class_study.claim(q, 3, BOB)
        class_study.claim(q, 4, BOB)
        cells = class_study.cells(q)
        assert [(c.owner, c.status) for c in cells if not c.free] == [("ann", "queued"), ("bob", "queued")]
        assert q.job(job).group == group and q.job(job).config == grid().expand()[3]
        q.cancel(job, actor=ANN)  # a cancelled cell is free again
        class_study.claim(q, 3, BOB)
        assert class_study.cells(q)[3].owner == "bob"
        assert [g.id for g in q.groups()] == [group]  # one study for the Results page


def test_two_students_claiming_one_cell_at_once_get_it_once(tmp_path: Path) -> None:
    with JobQueue(tmp_path) as q:
        class_study.publish(q, grid(), TEACHER)
    outcome: list[str] = []
    barrier = threading.Barrier(2)

    def claim(actor: Actor) -> None:
        with JobQueue(tmp_path) as q:
            barrier.wait()
            try:
                class_study.claim(q, 0, actor)
                outcome.append("claimed")
            except SegLabError:
                outcome.append("refused")

    threads = [threading.Thread(target=claim, args=(a,)) for a in (ANN, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome) == ["claimed", "refused"]


def test_no_class_study_is_a_plain_refusal(tmp_path: Path) -> None:
    with JobQueue(tmp_path) as q:
        assert class_study.cells(q) == []
        with pytest.raises(SegLabError, match="no class study yet"):
            class_study.claim(q, 0, ANN)
