"""Classroom mode in the library: what a student may not do, the class limits, and the fair
(round-robin by owner) order in which workers claim jobs."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from seglab.jobs import JobQueue
from seglab.jobs import worker as worker_mod
from seglab.settings.classroom import Actor, NotAllowedError, Permission, Role, clean_owner_name
from seglab.settings.config import TrainConfig
from seglab.settings.limits import CAPS, LimitError, default_limits, load_limits, save_limits
from seglab.settings.study import Study
from seglab.store import reference
from seglab.store.run_store import RunStore

ANN = Actor("ann", Role.STUDENT)
BOB = Actor("bob", Role.STUDENT)
TEACHER = Actor("teacher", Role.TEACHER)


def tiny(**overrides) -> TrainConfig:
    base = dict(dataset="shapes", size=32, n=24, width=4, depth=2, batch_size=8, epochs=1, augment=False)
    return TrainConfig(**{**base, **overrides})


def test_a_student_cannot_delete_a_run_but_the_teacher_can(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = store.create_run(tiny())
    with pytest.raises(NotAllowedError, match="only the teacher may delete"):
        store.delete_run(run_id, actor=ANN)
    assert store.exists(run_id)
    store.delete_run(run_id, actor=TEACHER)
    assert not store.exists(run_id)


def test_a_student_cannot_delete_the_reference_study(tmp_path: Path) -> None:
    with pytest.raises(NotAllowedError):
        reference.delete_reference_study(tmp_path, actor=ANN)


def test_a_student_cannot_import_runs(tmp_path: Path) -> None:
    source = RunStore(tmp_path / "a")
    run_id = source.create_run(tiny())
    archive = source.export_runs([run_id], tmp_path / "runs.zip")
    target = RunStore(tmp_path / "b")
    with pytest.raises(NotAllowedError, match="import"):
        target.import_runs(archive, actor=ANN)
    assert target.list_runs() == []
    assert target.import_runs(archive, actor=TEACHER) == [run_id]


def test_a_student_cancels_only_their_own_jobs(tmp_path: Path) -> None:
    with JobQueue(tmp_path) as q:
        mine = q.enqueue(tiny(), actor=ANN)
        theirs = q.enqueue(tiny(), actor=BOB)
        with pytest.raises(NotAllowedError, match="other people's jobs"):
            q.cancel(theirs, actor=ANN)
        assert q.job(theirs).status == "queued"
        assert q.cancel(mine, actor=ANN) == "cancelled"
        with pytest.raises(NotAllowedError):
            q.resume(theirs, actor=ANN)
        assert q.cancel(theirs, actor=TEACHER) == "cancelled"
        assert q.job(mine).owner == "ann"


def test_a_student_cannot_train_on_a_server_path(tmp_path: Path) -> None:
    secret = tmp_path / "private"
    (secret / "images").mkdir(parents=True)
    with JobQueue(tmp_path / "home") as q:
        with pytest.raises(NotAllowedError, match="only the teacher may use a path"):
            q.enqueue(tiny(dataset=str(secret)), actor=ANN)
        with pytest.raises(NotAllowedError):  # a relative path out of the uploads folder too
            q.enqueue(tiny(dataset=str(tmp_path / "home" / "datasets" / ".." / "x.zip")), actor=ANN)
        q.enqueue(tiny(dataset=str(tmp_path / "home" / "datasets" / "mine.zip")), actor=ANN)
        q.enqueue(tiny(dataset=str(secret)), actor=TEACHER)
        assert len(q.jobs()) == 2


def test_a_student_needs_a_name_to_queue(tmp_path: Path) -> None:
    with JobQueue(tmp_path) as q, pytest.raises(NotAllowedError, match="name"):
        q.enqueue(tiny(), actor=Actor("", Role.STUDENT))


def test_outside_classroom_mode_everything_stays_allowed(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = store.create_run(tiny())
    store.delete_run(run_id)  # no actor: the CLI and scripts
    with JobQueue(tmp_path) as q:
        job = q.enqueue(tiny(epochs=500, size=512), actor=Actor())  # LOCAL: no limits
        assert q.cancel(job, actor=Actor()) == "cancelled"


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [("epochs", 500, "epochs per run"), ("size", 512, "image size in pixels"), ("width", 128, "model width"),
     ("depth", 6, "model depth"), ("n", 100_000, "number of images"), ("batch_size", 512, "batch size")],
)  # fmt: skip
def test_limits_refuse_an_oversized_run_in_plain_words(
    tmp_path: Path, field: str, value: int, label: str
) -> None:
    with JobQueue(tmp_path) as q:
        with pytest.raises(
            LimitError, match=f"class limit for {label} is {default_limits()[field]}.*{value}"
        ):
            q.enqueue(tiny(**{"size": 64, field: value}), actor=ANN)
        assert q.jobs() == []


def test_limits_refuse_big_grids_and_too_many_waiting_runs(tmp_path: Path) -> None:
    limits = default_limits()
    with JobQueue(tmp_path) as q:
        seeds = list(range(limits["seeds_per_study"] + 1))
        with pytest.raises(LimitError, match="seeds in one study"):
            q.enqueue_study(Study(tiny(), {}, seeds=seeds), actor=ANN)
        huge = Study(tiny(), {"lr": [1e-3 * (i + 1) for i in range(1000)]}, seeds=[0, 1, 2])
        with pytest.raises(LimitError, match="runs in one study is 12, and this asks for 3000"):
            q.enqueue_study(huge, actor=ANN)
        for _ in range(limits["queued_runs_per_student"]):
            q.enqueue(tiny(), actor=ANN)
        with pytest.raises(LimitError, match="you already have 12"):
            q.enqueue(tiny(), actor=ANN)
        q.enqueue(tiny(), actor=BOB)  # the limit is per student


def test_the_teacher_changes_the_limits_within_hard_bounds(tmp_path: Path) -> None:
    with pytest.raises(NotAllowedError):
        save_limits(tmp_path, {"epochs": 100}, ANN)
    saved = save_limits(tmp_path, {"epochs": 100, "size": 10**9, "bogus": 3}, TEACHER)
    hard = {cap.key: cap.hard_max for cap in CAPS}
    assert saved["epochs"] == 100 and saved["size"] == hard["size"] and "bogus" not in saved
    assert load_limits(tmp_path) == saved
    (tmp_path / "classroom_limits.json").write_text("{damaged", encoding="utf-8")
    assert load_limits(tmp_path) == default_limits()


@pytest.mark.parametrize(
    "mark, codec",
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")],
    ids=["utf-8-bom", "utf-16"],
)
def test_limits_a_teacher_saved_in_notepad_are_kept(tmp_path: Path, mark: bytes, codec: str) -> None:
    (tmp_path / "classroom_limits.json").write_bytes(mark + '{"epochs": 7}'.encode(codec))
    assert load_limits(tmp_path) == default_limits() | {"epochs": 7}


def test_run_caps_are_train_config_fields() -> None:
    fields = set(TrainConfig.__dataclass_fields__)
    assert {cap.key for cap in CAPS if cap.scope == "run"} <= fields


def test_workers_claim_round_robin_between_two_students_grids(tmp_path: Path) -> None:
    with JobQueue(tmp_path) as q:
        ann = [q.enqueue(tiny(seed=s), actor=ANN) for s in range(3)]
        bob = [q.enqueue(tiny(seed=s), actor=BOB) for s in range(3)]
        order = [worker_mod._claim(q, "w", "cpu", None)["id"] for _ in range(6)]
        assert worker_mod._claim(q, "w", "cpu", None) is None
    assert order == [ann[0], bob[0], ann[1], bob[1], ann[2], bob[2]]


def test_a_latecomer_is_served_next(tmp_path: Path) -> None:
    with JobQueue(tmp_path) as q:
        ann = [q.enqueue(tiny(seed=s), actor=ANN) for s in range(4)]
        first = worker_mod._claim(q, "w", "cpu", None)["id"]
        bob = q.enqueue(tiny(), actor=BOB)
        second = worker_mod._claim(q, "w", "cpu", None)["id"]
    assert (first, second) == (ann[0], bob)


def test_owner_names_are_cleaned() -> None:
    assert clean_owner_name("  Ada \n\t Lovelace\x00 ") == "Ada Lovelace"
    assert len(clean_owner_name("x" * 500)) == 40
    assert Permission.DELETE not in {p for p in Permission if Actor("s", Role.STUDENT).can(p)}


def test_estimate_time_refuses_to_time_a_huge_model_before_building_it() -> None:
    import time

    from seglab.analysis.estimate import EstimateTooLargeError, estimate_study

    huge = TrainConfig(arch="unetpp", size=512, width=128, depth=6, batch_size=512, epochs=1)
    start = time.perf_counter()
    with pytest.raises(EstimateTooLargeError, match="too large to time safely"):
        estimate_study([huge])
    assert time.perf_counter() - start < 1.0
