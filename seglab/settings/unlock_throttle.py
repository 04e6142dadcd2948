"""Throttling wrong teacher passphrases, so a class cannot guess it by trying.

Two limits, both kept in the server process's memory (:data:`THROTTLE`):

* **Per browser session** — the first :attr:`UnlockThrottle.free_tries` wrong tries are free;
  after that the session must wait before its next try is even checked, and the wait doubles
  with every further wrong try (5 s, 10 s, 20 s, … at most 5 minutes). A right passphrase
  clears the session's count.
* **Process-wide** — at most :attr:`UnlockThrottle.ceiling` wrong tries are checked per rolling
  :attr:`UnlockThrottle.window` seconds, from all sessions together, so opening new sessions
  (each with its free tries) does not multiply the guessing rate.

A try that has to wait is refused *without being checked* and is not counted; the caller is
told how long to wait (in plain words) and logs it for the teacher.

Denial of service, by design: a student typing wrong passphrases can delay the teacher's
unlock, never block it for long. The per-session wait touches only the student's own session.
The process-wide ceiling only *slows*: it refuses tries for at most ``window`` seconds after the
last checked wrong try, and since waiting tries are not counted, keeping it closed means making
new checked wrong tries at the ceiling's rate for as long as it lasts — each one logged with the
student's name and address. A teacher can always end it by restarting the server (the counts live
in memory; the passphrase from ``$SEGLAB_TEACHER_PASSPHRASE`` or the stored one works at once).
We do not key the limits on IP addresses: Streamlit's own documentation warns they can be spoofed,
and on a shared network or behind a proxy one address would lock out a whole class or teacher.
The passphrase itself should be a few words, not a short word: ``ceiling`` tries a minute is
about 14 000 guesses a day.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UnlockOutcome:
    ok: bool  # the passphrase was checked and right
    checked: bool  # False: refused without checking, because of ``wait``
    wait: float  # seconds before this session's next try will be checked (0: at once)
    server_wide: bool = False  # the wait comes from the process-wide ceiling


@dataclass
class _Session:
    wrong: int = 0
    until: float = 0.0


@dataclass
class UnlockThrottle:
    free_tries: int = 3
    first_delay: float = 5.0
    max_delay: float = 300.0
    ceiling: int = 10  # wrong tries checked per window, all sessions together
    window: float = 60.0
    max_sessions: int = 10_000  # the oldest are forgotten beyond this (bounded memory)
    clock: Callable[[], float] = time.monotonic
    _sessions: OrderedDict[str, _Session] = field(default_factory=OrderedDict, repr=False)
    _recent: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def delay_after(self, wrong: int) -> float:
        """The wait after the ``wrong``-th wrong try of one session."""
        if wrong < self.free_tries:
            return 0.0
        return min(self.max_delay, self.first_delay * 2 ** (wrong - self.free_tries))

    def _waits(self, session: str, now: float) -> tuple[float, float]:
        """(this session's wait, the process-wide wait) at ``now``; caller holds the lock."""
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        own = self._sessions.get(session)
        own_wait = max(0.0, own.until - now) if own else 0.0
        server_wait = self._recent[0] + self.window - now if len(self._recent) >= self.ceiling else 0.0
        return own_wait, max(0.0, server_wait)

    def attempt(self, session: str, check: Callable[[], bool]) -> UnlockOutcome:
        """Run ``check()`` (the passphrase comparison) unless ``session`` must wait; count it."""
        with self._lock:
            now = self.clock()
            own_wait, server_wait = self._waits(session, now)
            if own_wait > 0 or server_wait > 0:
                return UnlockOutcome(False, False, max(own_wait, server_wait), server_wait > own_wait)
            stamp = now
            self._recent.append(stamp)  # counted as wrong until it proves right (no race past the ceiling)
        ok = bool(check())
        with self._lock:
            now = self.clock()
            if ok:
                with contextlib.suppress(ValueError):  # already out of the window
                    self._recent.remove(stamp)
                self._sessions.pop(session, None)
                return UnlockOutcome(True, True, 0.0)
            state = self._sessions.pop(session, None) or _Session()
            state.wrong += 1
            state.until = now + self.delay_after(state.wrong)
            self._sessions[session] = state  # most recent last
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            own_wait, server_wait = self._waits(session, now)
            return UnlockOutcome(False, True, max(own_wait, server_wait), server_wait > own_wait)


def wait_in_words(seconds: float) -> str:
    """5 → '5 seconds'; 61 → '1 minute 1 second'; rounded up to whole seconds."""
    total = max(1, math.ceil(seconds))
    minutes, secs = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute" + ("s" if minutes != 1 else ""))
    if secs:
        parts.append(f"{secs} second" + ("s" if secs != 1 else ""))
    return " ".join(parts)


#: The server process's one throttle (every browser session of the app shares it).
THROTTLE = UnlockThrottle()
