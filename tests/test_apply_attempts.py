"""The attempt loops alone, on a toy server: doubts settled by re-reading, never re-sent blindly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from reconcile.adapters.journal import Journal
from reconcile.app.attempts import (
    Attempts,
    BatchRequest,
    BatchSend,
    ItemVerdict,
    Landed,
    Refused,
    Request,
    Seen,
    SingleSend,
)
from reconcile.core.errors import AnswerLost
from reconcile.core.model import ServerState
from reconcile.core.operations import CreateClass, DeleteClasses
from reconcile.core.outcome import OpStatus
from reconcile.core.ports import BatchOutcome, ItemOutcome, Refusal


class Toy:
    """A server of class names whose answers can be lost (applied or not)."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.answers: list[str] = []  # per POST: "ok", "lost-applied", "lost"
        self.posts = 0
        self.reads = 0

    def post(self, apply: set[str]) -> bool:
        self.posts += 1
        fate = self.answers.pop(0) if self.answers else "ok"
        if fate != "lost":
            self.names |= apply
        if fate.startswith("lost"):
            raise AnswerLost("toy", "délai dépassé")
        return True

    def read(self) -> ServerState:
        self.reads += 1
        return ServerState((), ())


class MakeClass(SingleSend[bool]):
    def __init__(self, toy: Toy, name: str) -> None:
        self.op, self.toy, self.name = CreateClass(name, "prof"), toy, name

    def request(self) -> Request[bool]:
        return Request(lambda: self.toy.post({self.name}), {"name": self.name})

    def answered(self, answer: bool) -> Landed | Refused:
        return Landed("done", {"name": self.name}, f"{self.name} faite")

    def recognise(self, state: ServerState) -> Landed | None:
        return (
            Landed("done", {"name": self.name}, f"{self.name} retrouvée")
            if self.name in self.toy.names
            else None
        )

    def given_up(self, attempts: int) -> str:
        return f"{self.name} : abandon après {attempts} essais"


def attempts(tmp_path: Path, toy: Toy) -> Attempts:
    journal = Journal.open(tmp_path, workbook="r.xlsx", digest="abc", server_url="toy://")
    return Attempts(journal, toy.read, retry_delay=0, max_attempts=3)


def events(loop: Attempts) -> list[str]:
    return [line["event"] for line in loop.journal.lines if line["event"] != "header"]


def test_an_answer_lost_after_the_change_is_recognised_by_one_read_not_sent_again(tmp_path: Path) -> None:
    toy = Toy()
    toy.answers = ["lost-applied"]
    loop = attempts(tmp_path, toy)
    result = loop.single(MakeClass(toy, "CE2"))
    assert (result.status, result.message, result.attempts) == (OpStatus.DONE, "CE2 retrouvée", 1)
    assert (toy.posts, toy.reads) == (1, 1)
    assert events(loop) == ["start", "unknown", "done"]


def test_a_change_the_server_does_not_show_is_sent_again_a_bounded_number_of_times(tmp_path: Path) -> None:
    toy = Toy()
    toy.answers = ["lost", "lost", "lost"]
    loop = attempts(tmp_path, toy)
    result = loop.single(MakeClass(toy, "CE2"))
    assert (result.status, result.message) == (OpStatus.FAILED, "CE2 : abandon après 3 essais")
    assert (toy.posts, toy.reads) == (3, 3)
    assert events(loop) == ["start", "unknown"] * 3


class DeleteToyClasses(BatchSend):
    def __init__(self, toy: Toy, answer: Mapping[str, ItemOutcome]) -> None:
        self.op, self.toy, self.answer = DeleteClasses(()), toy, answer

    def request(self, subjects: Sequence[str]) -> BatchRequest:
        def send() -> BatchOutcome:
            self.toy.post(set())
            for name in subjects:
                if name not in self.answer:
                    self.toy.names.discard(name)  # done, but the answer is silent about it
            return BatchOutcome(tuple(self.answer.values()))

        return BatchRequest(send, {"class_names": list(subjects)}, subjects)

    def refused(self, item: ItemOutcome) -> ItemVerdict:
        return ItemVerdict.SET_ASIDE if item.refusal is Refusal.FOLDER_NOT_EMPTY else ItemVerdict.REFUSED

    def learn(self, done: Sequence[str]) -> None:
        self.toy.names -= set(done)

    def recognise(self, state: ServerState, subject: str) -> Seen:
        return Seen.LEFT if subject in self.toy.names else Seen.DONE

    def done_data(self, done: list[str]) -> Mapping[str, object]:
        return {"class_names": done}


def test_a_batch_sorts_each_subject_by_its_answer_and_a_read_decides_the_unanswered(tmp_path: Path) -> None:
    toy = Toy("CP", "CE1", "CM2", "CM1")
    answer = {
        "CP": ItemOutcome("CP", True, "supprimée"),
        "CE1": ItemOutcome("CE1", False, "dossier non vide", Refusal.FOLDER_NOT_EMPTY),
        "CM2": ItemOutcome("CM2", False, "interdit"),
    }
    loop = attempts(tmp_path, toy)
    progress = loop.batch(DeleteToyClasses(toy, answer), ["CP", "CE1", "CM2", "CM1"])
    assert sorted(progress.done) == ["CM1", "CP"]  # CM1 by the read: the answer said nothing of it
    assert progress.set_aside == ["CE1"]
    assert [r.subject for r in progress.refusals] == ["CM2"]
    assert (progress.remaining, progress.attempts, toy.posts, toy.reads) == ([], 1, 1, 1)
    assert loop.journal.lines[-1]["class_names"] == ["CM1", "CP"]
