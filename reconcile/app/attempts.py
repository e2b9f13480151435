"""Sending one operation, written once: journal, send, re-read on doubt, back off, send again.

Every POST is journaled before it is sent (`start`) and after its result is known. A
POST whose answer was lost (or that failed with a `500`) is never repeated blindly: the
server is re-read and the operation counts as done only if the server shows it, else it
is sent again after a back-off, a bounded number of times.

What differs between operations is said by a small description, never by the loop:
a `SingleSend` for an operation sent as one POST (how to send it, what its answer
means, how to recognise it on the server), a `BatchSend` for one POST about many
subjects (logins, classes) whose answer speaks of each. `reconcile.app.executor`
describes each kind of operation.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Generic, TypeVar, assert_never

from reconcile.adapters.journal import Journal
from reconcile.core.errors import AnswerLost, ServerFailure, ServerUnreachable
from reconcile.core.journal_facts import Event
from reconcile.core.model import ServerState
from reconcile.core.operations import Operation
from reconcile.core.outcome import OpResult, OpStatus
from reconcile.core.ports import BatchOutcome, ItemOutcome

# Errors after which a POST may or may not have been applied: decided by a re-read.
_DOUBTFUL = (AnswerLost, ServerFailure, ServerUnreachable)

A = TypeVar("A")


class StepFailed(Exception):
    """The current step cannot complete in this run (the message says why, in French)."""


class Unrecognisable(Exception):
    """A re-read cannot tell whether the POST was applied: journaled `failed`, the step stops."""

    def __init__(self, data: Mapping[str, object], message: str) -> None:
        super().__init__(message)
        self.data = data


@dataclass(frozen=True)
class Request(Generic[A]):
    """One POST: how to send it and what its `start` line says."""

    send: Callable[[], A]
    data: Mapping[str, object]


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Landed:
    """An operation seen done, by its answer or by a re-read: its journal line and its French account."""

    event: str  # an `Event`: `done`, or `created` for an account
    data: Mapping[str, object]
    message: str
    then: Callable[[], None] = _nothing  # what the executor learns, once the line is journaled


@dataclass(frozen=True)
class Refused:
    """The server said no: journaled `failed` with `data`, never sent again."""

    data: Mapping[str, object]
    message: str
    refusals: tuple[ItemOutcome, ...] = ()


class SingleSend(ABC, Generic[A]):
    """An operation sent as one POST, answered as a whole."""

    op: Operation
    unseen: Mapping[str, object] | None = None
    """Journaled `failed` when a re-read does not show the operation (None: nothing is)."""

    @abstractmethod
    def request(self) -> Request[A]:
        """This attempt's POST (ids are looked up at each attempt: a re-read may change them)."""

    @abstractmethod
    def answered(self, answer: A) -> Landed | Refused:
        """What the server's answer says."""

    @abstractmethod
    def recognise(self, state: ServerState) -> Landed | None:
        """After a doubt, the operation as the server shows it, or None when it does not."""

    @abstractmethod
    def given_up(self, attempts: int) -> str:
        """The French account when no attempt was seen done."""


class ItemVerdict(Enum):
    """What one refused item of a batch's answer means."""

    DONE = auto()  # what the operation wanted anyway (an account already gone)
    GONE = auto()  # its subject is not on the server: ignored, said so
    REFUSED = auto()  # refused for a reason of its own: reported, not sent again
    SET_ASIDE = auto()  # refused for a reason the caller may remove (a class whose folder holds files)


class Seen(Enum):
    """What a re-read shows of one subject of a batch."""

    DONE = auto()
    GONE = auto()
    LEFT = auto()  # not done: sent again


@dataclass(frozen=True)
class BatchRequest:
    """One POST about many subjects, named as the server's answer names them."""

    send: Callable[[], BatchOutcome]
    data: Mapping[str, object]
    subjects: Sequence[str]


class BatchSend(ABC):
    """An operation sent as one POST for many subjects, whose answer speaks of each."""

    op: Operation

    @abstractmethod
    def request(self, subjects: Sequence[str]) -> BatchRequest:
        """This attempt's POST for the subjects still to do."""

    @abstractmethod
    def refused(self, item: ItemOutcome) -> ItemVerdict:
        """What a refused item means."""

    def stopped(self, answer: BatchOutcome) -> tuple[ItemOutcome, ...]:
        """Items saying nothing at all was done (a destination missing): the batch stops."""
        return ()

    @abstractmethod
    def learn(self, done: Sequence[str]) -> None:
        """The subjects the answer says done, for the executor's picture of the server."""

    @abstractmethod
    def recognise(self, state: ServerState, subject: str) -> Seen:
        """After a doubt, one subject as the server shows it."""

    @abstractmethod
    def done_data(self, done: list[str]) -> Mapping[str, object]:
        """The `done` line's data, for every subject done so far (sorted)."""


@dataclass
class BatchProgress:
    """Where a batch stands: its subjects by what became of them."""

    remaining: list[str]
    done: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    refusals: list[ItemOutcome] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    attempts: int = 0


class Attempts:
    """Sends operations as their descriptions say, every attempt journaled, doubts settled by re-reading."""

    def __init__(
        self,
        journal: Journal,
        reread: Callable[[], ServerState],
        *,
        retry_delay: float,
        max_attempts: int,
    ) -> None:
        self.journal = journal
        self.reread = reread
        self.retry_delay = retry_delay
        self.max_attempts = max_attempts

    def single(self, kind: SingleSend[A]) -> OpResult:
        """Send one operation until the server shows it done, refuses it, or attempts run out."""
        op = kind.op
        for attempt in range(1, self.max_attempts + 1):
            request = kind.request()
            answer = self._send(op, attempt, request.send, request.data)
            match self._recognise(kind) if answer is None else kind.answered(answer):
                case None:
                    if kind.unseen is not None:
                        self.journal.record(op.id, Event.FAILED, **kind.unseen)
                    self._backoff(attempt)
                case Refused() as refused:
                    self.journal.record(op.id, Event.FAILED, **refused.data)
                    return OpResult(op, OpStatus.FAILED, refused.message, attempt, refused.refusals)
                case Landed() as landed:
                    self.journal.record(op.id, landed.event, **landed.data)
                    landed.then()
                    return OpResult(op, OpStatus.DONE, landed.message, attempt)
        return OpResult(op, OpStatus.FAILED, kind.given_up(self.max_attempts))

    def batch(self, kind: BatchSend, subjects: Sequence[str]) -> BatchProgress:
        """Send one operation for `subjects` until each is done, gone, refused, or attempts run out."""
        op = kind.op
        progress = BatchProgress(list(subjects))
        while progress.remaining and progress.attempts < self.max_attempts:
            progress.attempts += 1
            request = kind.request(progress.remaining)
            answer = self._send(op, progress.attempts, request.send, request.data)
            if answer is not None and not self._take_answer(kind, progress, request.subjects, answer):
                break
            if answer is None or progress.remaining:
                self._take_reread(kind, progress, self.reread())
            if progress.done:
                self.journal.record(op.id, Event.DONE, **kind.done_data(sorted(set(progress.done))))
            if progress.remaining:
                self._backoff(progress.attempts)
        return progress

    # --- The parts -------------------------------------------------------------------

    def _send(
        self, op: Operation, attempt: int, send: Callable[[], A], data: Mapping[str, object]
    ) -> A | None:
        """Send one POST between two journal lines; None when its result is in doubt."""
        self.journal.record(op.id, Event.START, attempt=attempt, **data)
        try:
            return send()
        except _DOUBTFUL as error:
            self.journal.record(op.id, Event.UNKNOWN, attempt=attempt, reason=str(error))
            return None

    def _recognise(self, kind: SingleSend[A]) -> Landed | None:
        try:
            return kind.recognise(self.reread())
        except Unrecognisable as unclear:
            self.journal.record(kind.op.id, Event.FAILED, **unclear.data)
            raise StepFailed(str(unclear)) from None

    @staticmethod
    def _take_answer(
        kind: BatchSend, progress: BatchProgress, subjects: Sequence[str], answer: BatchOutcome
    ) -> bool:
        """Sort the subjects by the answer's items; False when the answer stops the batch."""
        by_subject = {item.subject: item for item in answer.items}
        done: list[str] = []
        unclear: list[str] = []
        for subject in subjects:
            item = by_subject.get(subject)
            if item is None:
                unclear.append(subject)
                continue
            match ItemVerdict.DONE if item.ok else kind.refused(item):
                case ItemVerdict.DONE:
                    done.append(subject)
                case ItemVerdict.GONE:
                    progress.gone.append(subject)
                case ItemVerdict.REFUSED:
                    progress.refusals.append(item)
                case ItemVerdict.SET_ASIDE:
                    progress.set_aside.append(subject)
                case unknown:
                    assert_never(unknown)
        stopped = kind.stopped(answer)
        if stopped:
            progress.refusals.extend(stopped)
            return False
        kind.learn(done)
        progress.done.extend(done)
        progress.remaining = unclear
        return True

    @staticmethod
    def _take_reread(kind: BatchSend, progress: BatchProgress, state: ServerState) -> None:
        left: list[str] = []
        for subject in progress.remaining:
            match kind.recognise(state, subject):
                case Seen.DONE:
                    progress.done.append(subject)
                case Seen.GONE:
                    progress.gone.append(subject)
                case Seen.LEFT:
                    left.append(subject)
                case unknown:
                    assert_never(unknown)
        progress.remaining = left

    def _backoff(self, attempt: int) -> None:
        if self.retry_delay > 0:
            time.sleep(self.retry_delay * 2 ** (attempt - 1))
