"""What can go wrong on the sandbox, changeable while it runs: slowness, `500`s, lost answers."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

Fate = Literal["apply", "fail", "lose"]


@dataclass
class Faults:
    """What can go wrong, changeable while the server runs; the draws follow `seed`."""

    latency: float = 0.0
    fail_before_post: float = 0.0
    lose_answer_after_post: float = 0.0
    fail_get: float = 0.0
    session_idle_seconds: float = 1800.0
    seed: int = 1
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.reseed(self.seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._rng = random.Random(f"faults:{seed}")

    def post_fate(self) -> Fate:
        """The fate of the next logged-in POST: two draws each, so that the sequence only
        depends on the seed and the number of POSTs."""
        with self._lock:
            fail_draw, lose_draw = self._rng.random(), self._rng.random()
        if fail_draw < self.fail_before_post:
            return "fail"
        if lose_draw < self.lose_answer_after_post:
            return "lose"
        return "apply"

    def get_fails(self) -> bool:
        if self.fail_get <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.fail_get
