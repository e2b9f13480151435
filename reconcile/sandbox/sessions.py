"""PHP-like sessions in memory: one `PHPSESSID` for both sides, one `jeton` per session."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

SessionKind = Literal["anonyme", "admin", "utilisateur"]


@dataclass
class Session:
    id: str
    kind: SessionKind
    login: str | None
    jeton: str
    last_seen: float


class Sessions:
    """PHP-like sessions in memory, forgotten after `idle_seconds()` without a request."""

    def __init__(self, idle_seconds: Callable[[], float]) -> None:
        self._idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def touch(self, session_id: str | None) -> Session | None:
        """The live session with this id, its idle time restarted; None when unknown or expired."""
        if not session_id:
            return None
        now = time.monotonic()
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
        now = time.monotonic()
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
