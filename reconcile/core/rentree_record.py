"""The whole rentrée of one workbook, read from its journal: each run of `apply`, when, and what it did.

Pure over the journal's lines (`reconcile.adapters.journal.read_lines`). A run begins at its
`run` line, preceded by what it journaled before its first operation (accounts adopted,
accounts found gone, classes taken over, provisional pupils removed); a run with nothing
left to send journals only those. Each operation done is worded by
`reconcile.core.wording.describe_operation`, with the subjects that run did, so the reports
say which run did what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconcile.core.journal_facts import Event, wanted_digest
from reconcile.core.model import UserType, WantedState, display_name
from reconcile.core.operations import (
    ADULT_ORIGIN,
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Operation,
    Step,
    TransferPupils,
)
from reconcile.core.wording import OperationText, describe_operation, french_datetime, plural

Line = Mapping[str, Any]


@dataclass(frozen=True)
class RunRecord:
    """One run of `apply` as the journal tells it."""

    number: int
    started_at: str  # French date and time
    items: tuple[OperationText, ...]
    verified: bool  # the server read again at its end was in the wanted state
    this_run: bool
    last: bool

    @property
    def heading(self) -> str:
        mark = " (cette exécution)" if self.this_run else ""
        return f"Exécution {self.number}{mark} — le {self.started_at}"

    @property
    def status(self) -> str:
        done = plural(len(self.items), "modification")
        if self.verified:
            return f"{done} ; terminée, et le serveur relu était dans l'état demandé."
        if not self.last:
            return f"{done} ; non terminée : l'exécution suivante a repris ce qui restait."
        if self.this_run:
            return f"{done}."
        return f"{done} ; non terminée : relancez la même commande pour reprendre."


def journal_history(lines: Sequence[Line], wanted: WantedState, *, since: datetime) -> tuple[RunRecord, ...]:
    """The runs of a journal's `lines` if it is `wanted`'s (else none); `since` starts this run."""
    if not lines or lines[0].get("event") != Event.HEADER or lines[0].get("digest") != wanted_digest(wanted):
        return ()
    return rentree_history(lines[1:], wanted, since=since)


def rentree_history(lines: Sequence[Line], wanted: WantedState, *, since: datetime) -> tuple[RunRecord, ...]:
    """Each run of the journal's `lines` (the header left out), in order, with what it did."""
    people = _People.of(wanted, lines)
    records = []
    segments = _segments(lines)
    for number, segment in enumerate(segments, start=1):
        started = _moment(segment[0])
        records.append(
            RunRecord(
                number=number,
                started_at=french_datetime(started) if started else "?",
                items=tuple(_items(segment, people)),
                verified=any(line.get("event") == Event.VERIFIED for line in segment),
                this_run=started is not None and started >= since,
                last=number == len(segments),
            )
        )
    return tuple(records)


# --- Runs ----------------------------------------------------------------------------------


def _before_operations(line: Line, previous: Line | None) -> bool:
    """A line a run journals before its first operation (`reconcile.app.apply.record_resolution`)."""
    op, event = str(line.get("op", "")), line.get("event")
    if op == "provisional_cleanup" or event == Event.GONE:
        return True
    if event == Event.DONE and line.get("taken_over"):
        return True
    # An account adopted during a run follows the doubt (`unknown`) of its own POST.
    doubt = previous is not None and previous.get("event") == Event.UNKNOWN and previous.get("op") == op
    return event == Event.CREATED and bool(line.get("adopted")) and not doubt


def _segments(lines: Sequence[Line]) -> list[list[Line]]:
    """The lines cut into runs: a run's `run` line, what it journaled before it, and its operations."""
    segments: list[list[Line]] = []
    current: list[Line] = []
    opening = True  # the current segment holds only lines journaled before a `run` line
    previous: Line | None = None
    for line in lines:
        if line.get("event") == Event.RUN:
            if current and not opening:
                segments.append(current)
                current = []
            opening = False
        elif _before_operations(line, previous) and not opening:
            segments.append(current)
            current, opening = [], True
        current.append(line)
        previous = line
    if current:
        segments.append(current)
    return segments


def _moment(line: Line) -> datetime | None:
    try:
        return datetime.fromisoformat(str(line.get("at", ""))).astimezone()
    except ValueError:
        return None


# --- What a run did ------------------------------------------------------------------------


@dataclass
class _People:
    """Names and classes before the rentrée, to word operations as the plan did."""

    names: dict[str, str] = field(default_factory=dict)  # login or `nouveau:<row>` -> Prénom NOM
    origins: dict[str, str] = field(default_factory=dict)  # login -> class exported (adults: "")
    new: dict[str, Line] = field(default_factory=dict)  # `nouveau:<row>` -> its creation's start

    @classmethod
    def of(cls, wanted: WantedState, lines: Sequence[Line]) -> _People:
        people = cls()
        exported = wanted.export.users if wanted.export else ()
        for user in exported:
            people.names[user.login] = display_name(user.first_name, user.last_name)
            if user.type is UserType.ADULT:
                people.origins[user.login] = ADULT_ORIGIN
            elif user.class_name:
                people.origins[user.login] = user.class_name
        for row in wanted.users:
            people.names.setdefault(row.login or row.key, display_name(row.first_name, row.last_name))
        for line in lines:
            if line.get("event") == Event.START and str(line.get("op", "")).startswith("create_user:"):
                key = str(line.get("user", ""))
                people.new[key] = line
                people.names[key] = display_name(str(line.get("first_name")), str(line.get("last_name")))
            elif line.get("event") == Event.CREATED and "user" in line:
                key = str(line["user"])
                if key in people.names:
                    people.names.setdefault(str(line.get("login")), people.names[key])
        return people

    def words(self, op: Operation) -> OperationText:
        return describe_operation(op, self.names, self.origins)


def _items(segment: Sequence[Line], people: _People) -> list[OperationText]:
    """What the run did, in the order it did it: one item per operation, with its subjects."""
    batches: dict[str, set[str]] = {}  # op -> subjects done (a batch's `done` lines are cumulative)
    order: list[tuple[str, Line]] = []
    for line in segment:
        op, event = str(line.get("op", "")), line.get("event")
        if event in (Event.DONE, Event.CREATED, Event.ARCHIVED, Event.GONE):
            subjects = [*line.get("deleted", ()), *line.get("moved", ()), *line.get("class_names", ())]
            key = op if subjects and event == Event.DONE else f"{op}#{len(order)}"
            if key not in batches:
                order.append((key, line))
                batches[key] = set()
            batches[key].update(str(s) for s in subjects)
    return [item for key, line in order if (item := _item(line, sorted(batches[key]), people)) is not None]


def _item(line: Line, subjects: list[str], people: _People) -> OperationText | None:
    op = str(line.get("op", ""))
    kind, _, subject = op.partition(":")
    match line.get("event"), kind:
        case Event.CREATED, "create_user":
            return _created(line, people)
        case Event.GONE, _:
            logins = sorted(str(s) for s in line.get("logins", ()))
            who = ", ".join(f"{people.names.get(login, login)} ({login})" for login in logins)
            return OperationText(op, "gone", f"Déjà absents du serveur, comme le voulait le classeur : {who}")
        case Event.ARCHIVED, _:
            files = plural(int(line.get("files", 0)), "fichier")
            text = f"Dossier de travail de la classe {line.get('class_name')} archivé ({files})"
            return OperationText(op, "archived", text, (str(line.get("path")),))
        case Event.DONE, "provisional_cleanup":
            deleted = ", ".join(str(s) for s in line.get("deleted", ()))
            return OperationText(
                op, kind, f"Élève(s) provisoire(s) laissé(s) par une exécution supprimé(s) : {deleted}"
            )
        case Event.DONE, _:
            return _done(line, kind, subject, subjects, people)
    return None


def _created(line: Line, people: _People) -> OperationText:
    key = str(line["user"])
    start = people.new.get(key)
    kind = UserType(str(start.get("type"))) if start else UserType.PUPIL
    first, last = (str(start.get("first_name")), str(start.get("last_name"))) if start else ("", key)
    words = people.words(CreateUser(key, last, first, kind))
    how = " (retrouvé sur le serveur après une réponse perdue)" if line.get("adopted") else ""
    return OperationText(words.op_id, words.kind, words.text, (f"identifiant {line.get('login')}{how}",))


def _done(line: Line, kind: str, subject: str, subjects: list[str], people: _People) -> OperationText | None:
    op: Operation
    match kind:
        case "create_class":
            if line.get("taken_over"):
                name = line.get("name")
                return OperationText(str(line.get("op")), kind, f"Classe {name} trouvée déjà créée : reprise")
            op = CreateClass(str(line.get("name", subject)), str(line.get("responsible", "")))
            words = people.words(op)
            return OperationText(words.op_id, words.kind, f"Créer la classe {op.name}")
        case "change_responsible":
            op = ChangeResponsible(str(line.get("class_name", subject)), str(line.get("responsible", "")))
        case "assign_pupil":
            op = AssignPupil(subject, str(line.get("class_name", "")))
        case "transfer_pupils":
            op = TransferPupils(str(line.get("class_name", subject)), tuple(subjects))
        case "delete_users":
            op = DeleteUsers(tuple(subjects), Step(int(subject or Step.DEPARTURES)))
        case "delete_classes":
            op = DeleteClasses(tuple(subjects))
        case _:
            return None
    words = people.words(op)
    # A deletion of classes is done: the note of what would happen to their folders is not needed.
    return OperationText(
        words.op_id, words.kind, words.text, words.details if kind != "delete_classes" else ()
    )
