"""Classroom mode on the pages (AppTest): a student session sees no delete, import, server path or
other people's cancel buttons; the teacher, after unlocking, sees them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from seglab.jobs import JobQueue
from seglab.settings.classroom import PASSPHRASE_ENV, Actor, Role
from seglab.settings.config import TrainConfig
from seglab.settings.limits import save_limits
from seglab.store.run_store import RunStore
from seglab.ui.classroom import NAME_KEY, ROLE_KEY
from seglab.ui.train_views import PATH_CHOICE
from tests.page_support import PAGES


@pytest.fixture
def classroom(seglab_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(PASSPHRASE_ENV, "open sesame")
    return seglab_home


def run(page: str, *, who: str = "ann", teacher: bool = False, **query: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=120)
    at.session_state[NAME_KEY] = who
    if teacher:
        at.session_state[ROLE_KEY] = True
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tiny(**overrides) -> TrainConfig:
    return TrainConfig(dataset="shapes", size=32, n=24, width=4, depth=2, epochs=1, **overrides)


def finished_run(home: Path, owner: str | None = None) -> str:
    store = RunStore(home)
    run_id = store.create_run(tiny(), owner=owner)
    store.set_status(run_id, "running")
    store.set_status(run_id, "done")
    return run_id


def button_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


def test_a_student_cannot_delete_or_import_on_results(classroom: Path) -> None:
    finished_run(classroom)
    at = run("results")
    assert "rs_delete" not in button_keys(at)
    assert not any("Delete selected runs" in e.label for e in at.expander)
    teacher = run("results", teacher=True)
    assert "rs_delete" in button_keys(teacher)


def test_results_shows_whose_run_it_is(classroom: Path) -> None:
    finished_run(classroom, owner="Bo")
    finished_run(classroom)
    table = run("results").dataframe(key="rs_table").value
    assert sorted(table["owner"]) == ["", "Bo"]


def test_a_student_sees_only_their_own_cancel_buttons(classroom: Path) -> None:
    with JobQueue(classroom) as q:
        mine = q.enqueue(tiny(), actor=Actor("ann", Role.STUDENT))
        theirs = q.enqueue(tiny(), actor=Actor("bob", Role.STUDENT))
    at = run("train")
    assert [o.split(" · ")[0] for o in at.selectbox(key="tr_cancel_job").options] == [f"Job {mine}"]
    assert PATH_CHOICE not in at.selectbox(key="tr_dataset").options
    teacher = run("train", teacher=True)
    offered = [o.split(" · ")[0] for o in teacher.selectbox(key="tr_cancel_job").options]
    assert offered == [f"Job {mine}", f"Job {theirs}"]
    assert PATH_CHOICE in teacher.selectbox(key="tr_dataset").options


def test_a_student_cannot_read_a_server_folder_on_the_data_page(classroom: Path, tmp_path: Path) -> None:
    from tests.test_page_data import write_folder

    folder = write_folder(tmp_path / "private", ["a", "b", "c"])
    at = run("data", path=str(folder))
    assert not [t for t in at.text_input if t.key == "path"]
    assert not any("image–mask pairs" in s.value for s in at.success)
    teacher = run("data", teacher=True, path=str(folder))
    assert any("image–mask pairs" in s.value for s in teacher.success)


def test_the_train_form_says_why_a_study_is_over_the_class_limits(classroom: Path) -> None:
    at = run("train")  # the quick preset's class-hour grid: 3 archs × 4 losses × 1 seed = 12 runs, allowed
    assert not [e.value for e in at.error if "Cannot start yet" in e.value]
    at = run("train", tr_seeds="0-3")  # 48 runs
    errors = [e.value for e in at.error if "Cannot start yet" in e.value]
    assert errors and "class limit for runs in one study is 12, and this asks for 48" in errors[0]
    save_limits(classroom, {"runs_per_study": 100, "queued_runs_per_student": 100}, Actor("t", Role.TEACHER))
    at = run("train", tr_epochs="100")
    errors = [e.value for e in at.error if "Cannot start yet" in e.value]
    assert errors and "class limit for epochs per run is 30" in errors[0] and "100" in errors[0]
    assert [b for b in at.button if b.label == "Start training"][0].disabled
    nameless = run("train", who="")
    assert any("type your name" in e.value for e in nameless.error)


def test_a_student_claims_a_class_study_cell_on_the_train_page(classroom: Path, monkeypatch) -> None:
    import seglab.jobs
    from seglab.jobs import class_study
    from seglab.settings.study import Study

    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)  # no training here

    with JobQueue(classroom) as q:
        class_study.publish(q, Study(tiny(), {"loss": ["bce", "dice"]}), Actor("t", Role.TEACHER))
    at = run("train")
    assert "cs_publish" not in button_keys(at)  # students do not publish
    at.button(key="cs_claim").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with JobQueue(classroom) as q:
        assert [(c.owner, c.status) for c in class_study.cells(q)][0] == ("ann", "queued")
    teacher = run("train", teacher=True)
    assert "cs_publish" in button_keys(teacher)


def test_the_teacher_unlocks_with_the_passphrase_in_the_sidebar(classroom: Path) -> None:
    root = PAGES.parent
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    at.sidebar.text_input(key=NAME_KEY).set_value("Ada").run()
    at.sidebar.text_input(key="_classroom_passphrase").set_value("wrong")  # a form: sent with the click
    at.sidebar.button(key="_classroom_unlock").click().run()
    assert any("not right" in e.value for e in at.sidebar.error)
    assert not at.session_state[ROLE_KEY] if ROLE_KEY in at.session_state else True
    at.sidebar.text_input(key="_classroom_passphrase").set_value("open sesame")
    at.sidebar.button(key="_classroom_unlock").click().run()
    assert at.session_state[ROLE_KEY] is True
    assert any("Teacher" in c.value for c in at.sidebar.caption)


def test_outside_classroom_mode_there_is_no_name_box(seglab_home: Path) -> None:
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception and not [t for t in at.sidebar.text_input if t.key == NAME_KEY]


# ---- the teacher passphrase in the sidebar: throttled, changeable, from a changing secrets file ----


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fresh_throttle(monkeypatch: pytest.MonkeyPatch):
    """The server's one throttle, fresh for the test and on a clock the test moves."""
    import seglab.ui.classroom_sidebar as sidebar
    from seglab.settings.unlock_throttle import UnlockThrottle

    clock = Clock()
    throttle = UnlockThrottle(clock=clock, free_tries=3, ceiling=5)
    monkeypatch.setattr(sidebar, "THROTTLE", throttle)
    return clock


def app(name: str = "Ada") -> AppTest:
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.sidebar.text_input(key=NAME_KEY).set_value(name).run()
    return at


def try_unlock(at: AppTest, passphrase: str) -> str:
    """Type ``passphrase`` and click Unlock; the sidebar's error text ('' when none)."""
    at.sidebar.text_input(key="_classroom_passphrase").set_value(passphrase)
    at.sidebar.button(key="_classroom_unlock").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return " ".join(e.value for e in at.sidebar.error)


def unlocked(at: AppTest) -> bool:
    return ROLE_KEY in at.session_state and at.session_state[ROLE_KEY] is True


def test_wrong_passphrases_make_the_session_wait_longer_and_are_logged(
    classroom: Path, fresh_throttle
) -> None:
    at = app("Mallory")
    assert try_unlock(at, "guess 1") == "That passphrase is not right."
    assert try_unlock(at, "guess 2") == "That passphrase is not right."
    assert "in this browser: wait 5 seconds before the next one" in try_unlock(at, "guess 3")
    refused = try_unlock(at, "open sesame")  # right, but too soon: not even checked
    assert "wait 5 seconds" in refused and "in this browser" in refused and "not checked" in refused
    assert not unlocked(at)
    fresh_throttle.now += 5
    assert "wait 10 seconds" in try_unlock(at, "guess 4")  # the wait doubles
    fresh_throttle.now += 10
    assert try_unlock(at, "open sesame") == "" and unlocked(at)
    log = (classroom / "classroom-errors.log").read_text()
    assert log.count("a wrong teacher passphrase was typed by 'Mallory'") == 4
    assert "by 'Mallory' (this machine) was refused unchecked: too many wrong tries in this browser" in log


def test_new_sessions_do_not_get_around_the_server_wide_ceiling(classroom: Path, fresh_throttle) -> None:
    for i in range(4):  # fresh browser sessions, one wrong try each (ceiling = 5 a minute)
        assert try_unlock(app(f"s{i}"), "guess") == "That passphrase is not right."
    assert "on this server in the last minute: wait 1 minute before" in try_unlock(app("s4"), "guess")
    teacher = app("Teacher")
    refused = try_unlock(teacher, "open sesame")
    assert "on this server in the last minute: wait 1 minute" in refused and not unlocked(teacher)
    assert "too many wrong tries on this server" in (classroom / "classroom-errors.log").read_text()
    fresh_throttle.now += 60  # it only slows: a minute later the teacher gets in
    assert try_unlock(teacher, "open sesame") == "" and unlocked(teacher)


def test_the_teacher_changes_the_passphrase_in_the_sidebar(classroom: Path, fresh_throttle) -> None:
    from seglab.settings.passphrase import PASSPHRASE_FILE

    at = app("Teacher")
    try_unlock(at, "open sesame")
    assert unlocked(at)
    at.sidebar.text_input(key="_classroom_new_passphrase").set_value("blue heron sings")
    at.sidebar.text_input(key="_classroom_new_passphrase_again").set_value("blue heron sing")
    at.sidebar.button(key="_classroom_change_passphrase").click().run()
    assert any("differ" in e.value for e in at.sidebar.error)
    assert not (classroom / PASSPHRASE_FILE).exists()
    at.sidebar.text_input(key="_classroom_new_passphrase").set_value("blue heron sings")
    at.sidebar.text_input(key="_classroom_new_passphrase_again").set_value("blue heron sings")
    at.sidebar.button(key="_classroom_change_passphrase").click().run()
    assert any("Changed" in s.value for s in at.sidebar.success)
    assert "heron" not in (classroom / PASSPHRASE_FILE).read_text()
    other = app("Somebody")  # takes effect at once, no restart
    assert try_unlock(other, "open sesame") == "That passphrase is not right."
    assert try_unlock(other, "blue heron sings") == "" and unlocked(other)


def test_a_changed_secrets_file_is_used_without_a_restart(
    seglab_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_throttle
) -> None:
    import seglab.ui.classroom as classroom_ui

    secrets_file = tmp_path / "secrets.toml"
    monkeypatch.setattr(classroom_ui, "_secret_files", lambda: (str(secrets_file),))
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=120).run()
    assert not [t for t in at.sidebar.text_input if t.key == NAME_KEY]  # no passphrase: no classroom
    secrets_file.write_text('teacher_passphrase = "first words"\n')
    at = app()
    assert try_unlock(at, "first words") == "" and unlocked(at)
    secrets_file.write_text('teacher_passphrase = "second words"\n')
    at = app()
    assert try_unlock(at, "first words") == "That passphrase is not right."
    assert try_unlock(at, "second words") == "" and unlocked(at)


def test_the_name_comes_from_the_browser_cookie_never_from_the_link(
    classroom: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seglab.ui.classroom_sidebar as sidebar

    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=120)
    at.query_params[NAME_KEY] = "Mallory"
    at.run()
    assert not at.exception
    assert at.sidebar.text_input(key=NAME_KEY).value == ""
    assert NAME_KEY not in at.query_params
    assert any("“who”" in t.value and "ignored" in t.value for t in at.toast)
    monkeypatch.setattr(sidebar, "cookie_name", lambda: "Ada L.")  # what the browser kept
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=120)
    at.query_params[NAME_KEY] = "Mallory"
    at.run()
    assert at.sidebar.text_input(key=NAME_KEY).value == "Ada L."
    at.sidebar.text_input(key=NAME_KEY).set_value("Ada Lovelace").run()
    assert NAME_KEY not in at.query_params  # typing the name does not put it in the link
