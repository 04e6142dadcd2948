"""The teacher passphrase in the library: wrong tries are throttled per session and process-wide
(`seglab.settings.unlock_throttle`), a changed passphrase is kept hashed and wins at once
(`seglab.settings.passphrase`), and a changed secrets file is read again without a restart."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from seglab.settings.classroom import Actor, NotAllowedError, Role
from seglab.settings.passphrase import (
    PASSPHRASE_FILE,
    PassphraseError,
    SecretFileValue,
    check_passphrase,
    load_stored,
    save_passphrase,
)
from seglab.settings.unlock_throttle import UnlockThrottle, wait_in_words

TEACHER = Actor("t", Role.TEACHER)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(**kw) -> tuple[UnlockThrottle, Clock]:
    clock = Clock()
    return UnlockThrottle(clock=clock, **kw), clock


def wrong() -> bool:
    return False


def test_a_session_waits_longer_after_each_wrong_try_past_the_free_ones() -> None:
    t, clock = throttle(free_tries=3, first_delay=5, max_delay=300, ceiling=1000)
    waits = []
    for _ in range(10):
        outcome = t.attempt("s", wrong)
        assert outcome.checked and not outcome.ok
        waits.append(outcome.wait)
        clock.now += outcome.wait  # the student waits exactly as told
    assert waits == [0, 0, 5, 10, 20, 40, 80, 160, 300, 300]


def test_a_waiting_try_is_not_checked_nor_counted_and_the_right_one_clears_the_count() -> None:
    t, clock = throttle(free_tries=1, first_delay=5, ceiling=1000)
    assert t.attempt("s", wrong).wait == 5
    calls = []
    early = t.attempt("s", lambda: calls.append(1) or True)  # the right passphrase, too early
    assert not early.checked and not early.ok and early.wait == 5 and calls == []
    clock.now += 2
    assert t.attempt("s", wrong).wait == 3  # still waiting: not counted, the wait does not grow
    clock.now += 3
    assert t.attempt("s", lambda: True).ok
    assert t.attempt("s", wrong).wait == 5  # counting starts again after a success
    assert t.attempt("other", wrong).wait == 5  # another session has its own count


def test_the_process_wide_ceiling_stops_new_sessions_and_only_slows() -> None:
    t, clock = throttle(free_tries=3, ceiling=4, window=60)
    for i in range(4):  # four fresh sessions, one wrong try each: none of them waits on its own
        t.attempt(f"s{i}", wrong)
        clock.now += 1
    teacher = t.attempt("teacher", lambda: True)  # the right passphrase waits too, unchecked
    assert not teacher.checked and teacher.server_wide and teacher.wait == pytest.approx(56)
    clock.now += 10
    for i in range(20):  # hammering meanwhile is refused unchecked and does not extend it
        assert not t.attempt(f"x{i}", wrong).checked
    clock.now += 46.01  # the oldest wrong try has left the minute
    assert t.attempt("teacher", lambda: True).ok


def test_sessions_kept_in_memory_are_bounded() -> None:
    t, _ = throttle(max_sessions=50, ceiling=10**6)
    for i in range(500):
        t.attempt(f"s{i}", wrong)
    assert len(t._sessions) == 50


def test_waits_in_plain_words() -> None:
    assert [wait_in_words(s) for s in (0.2, 5, 60, 61, 125.5)] == [
        "1 second",
        "5 seconds",
        "1 minute",
        "1 minute 1 second",
        "2 minutes 6 seconds",
    ]


def test_a_changed_passphrase_is_kept_hashed_and_wins_at_once(tmp_path: Path) -> None:
    assert check_passphrase(tmp_path, "open sesame", "open sesame")
    save_passphrase(tmp_path, " blue heron sings ", "blue heron sings", "open sesame", TEACHER)
    text = (tmp_path / PASSPHRASE_FILE).read_text()
    assert "heron" not in text and "sesame" not in text
    record = json.loads(text)
    expected = hashlib.scrypt(
        b"blue heron sings",
        salt=bytes.fromhex(record["salt"]),
        n=record["n"],
        r=record["r"],
        p=record["p"],
        dklen=32,
    )
    assert record["hash"] == expected.hex()  # an independent scrypt of the plain text
    assert oct(os.stat(tmp_path / PASSPHRASE_FILE).st_mode & 0o777) == "0o600"
    assert check_passphrase(tmp_path, "blue heron sings", "open sesame")
    assert not check_passphrase(tmp_path, "open sesame", "open sesame")
    assert not check_passphrase(tmp_path, "blue heron sing", "open sesame")
    # The server started with a *different* initial passphrase: that one wins, the file is ignored.
    assert check_passphrase(tmp_path, "new term", "new term")
    assert not check_passphrase(tmp_path, "blue heron sings", "new term")
    # A hand-edited cost that would take a gigabyte per try, or a damaged file, is ignored:
    # the initial passphrase works.
    (tmp_path / PASSPHRASE_FILE).write_text(json.dumps({**record, "n": 2**20, "r": 8}))
    assert load_stored(tmp_path) is None and check_passphrase(tmp_path, "open sesame", "open sesame")
    (tmp_path / PASSPHRASE_FILE).write_text("{not json")
    assert load_stored(tmp_path) is None and check_passphrase(tmp_path, "open sesame", "open sesame")


def test_only_the_teacher_changes_it_and_bad_ones_are_refused_plainly(tmp_path: Path) -> None:
    with pytest.raises(NotAllowedError, match="only the teacher may change the teacher passphrase"):
        save_passphrase(tmp_path, "long enough words", "long enough words", "x", Actor("ann", Role.STUDENT))
    with pytest.raises(PassphraseError, match="differ"):
        save_passphrase(tmp_path, "long enough words", "long enough word", "x", TEACHER)
    with pytest.raises(PassphraseError, match="at least 8 characters"):
        save_passphrase(tmp_path, "short", "short", "x", TEACHER)
    assert not (tmp_path / PASSPHRASE_FILE).exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left either


def test_the_secrets_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    user, project = tmp_path / "user.toml", tmp_path / "project.toml"
    value = SecretFileValue("teacher_passphrase")
    assert value.get([user, project]) is None
    project.write_text('teacher_passphrase = "first one"\n')
    assert value.get([user, project]) == "first one"
    project.write_text('teacher_passphrase = "second, longer"\n')
    assert value.get([user, project]) == "second, longer"
    user.write_text('teacher_passphrase = "from the user file"\n')
    assert value.get([user, project]) == "second, longer"  # the later file wins, as in Streamlit
    project.write_text("teacher_passphrase = [broken\n")
    assert value.get([user, project]) == "from the user file"  # a damaged file sets nothing
    user.unlink()
    project.unlink()
    assert value.get([user, project]) is None
