"""PHP-like sessions in memory: one `PHPSESSID` for both sides, one `jeton` per session."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

SessionKind = Literal["anonyme", "admin", "utilisateur"]


class Clock:
    """The sessions' time: the monotonic clock, plus the time a test let pass (`advance`).

    So that a test sees a session expire without sleeping through its idle time.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


@dataclass
class Session:
    id: str
    kind: SessionKind
    login: str | None
    jeton: str
    last_seen: float


class Sessions:
    """PHP-like sessions in memory, forgotten after `idle_seconds()` without a request."""

    def __init__(self, idle_seconds: Callable[[], float], clock: Clock) -> None:
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def touch(self, session_id: str | None) -> Session | None:
        """The live session with this id, its idle time restarted; None when unknown or expired."""
        if not session_id:
            return None
        now = self._clock.now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self._idle_seconds():
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def start(self, kind: SessionKind, login: str | None = None) -> Session:
        now = self._clock.now()
        session = Session(secrets.token_hex(13), kind, login, secrets.token_hex(16), now)
        with self._lock:
            idle = self._idle_seconds()
            for stale in [s.id for s in self._sessions.values() if now - s.last_seen > idle]:
                del self._sessions[stale]
            self._sessions[session.id] = session
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
