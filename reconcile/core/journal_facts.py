"""What a journal of `reconcile apply` says happened (pure).

The journal file itself is `reconcile.adapters.journal`; here are its events, the
digest that ties it to a workbook, and the folds that turn its lines into facts:
`fold_journal` for this workbook's journal, `fold_earlier_work` for the others'.
`reconcile.core.resume` resolves the wanted state with these facts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconcile.core.model import UserType, WantedState


class Event:
    """The `event` values of journal lines."""

    HEADER = "header"
    RUN = "run"  # a run of `reconcile apply` begins
    START = "start"  # a POST is about to be sent
    DONE = "done"  # the server showed that the operation happened
    CREATED = "created"  # an account exists: made by the server, or adopted after a lost answer
    FAILED = "failed"  # the server refused, or a re-read showed it did not happen
    UNKNOWN = "unknown"  # the answer was lost: decided by a re-read
    GONE = "gone"  # accounts the workbook deletes were found gone from the server
    PROVISIONAL = "provisional"  # a provisional pupil made for the class-folder workaround
    PROVISIONAL_DELETED = "provisional_deleted"
    FOLDER = "folder"  # a step of the class-folder workaround
    ARCHIVED = "archived"  # a class folder was saved into a zip
    VERIFIED = "verified"  # the server was read again and showed the wanted state


def wanted_digest(wanted: WantedState) -> str:
    """A digest of what the workbook asks for (rows and classes, not where they stand)."""
    users = [
        [u.key, u.login, u.last_name, u.first_name, u.type.value, u.target.value, u.target_class]
        for u in wanted.users
    ]
    classes = [[c.name, c.status.value, c.responsible] for c in wanted.classes]
    payload = json.dumps([users, classes], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class EarlierAccount:
    """An account made by the application of another workbook (or an earlier version of it)."""

    login: str
    password: str | None
    last_name: str
    first_name: str
    type: UserType


@dataclass(frozen=True)
class EarlierWork:
    """What the other journals of the output folder created: accounts and classes."""

    accounts: tuple[EarlierAccount, ...] = ()
    class_names: frozenset[str] = frozenset()
    # Accounts they deleted: login -> when (ISO, UTC). The login may name a newer account now.
    deleted: Mapping[str, str] = field(default_factory=dict)


def fold_earlier_work(journals: Iterable[Sequence[Mapping[str, Any]]], digest: str) -> EarlierWork:
    """What the journals of other workbooks (not `digest`) created and deleted (pure)."""
    accounts: list[EarlierAccount] = []
    class_names: set[str] = set()
    deleted: dict[str, str] = {}
    for lines in journals:
        if not lines or lines[0].get("event") != Event.HEADER or lines[0].get("digest") == digest:
            continue
        names: dict[str, Mapping[str, Any]] = {}
        class_names |= fold_journal(lines).created_classes
        for line in lines:
            if line.get("event") in (Event.DONE, Event.GONE):
                for login in (*line.get("deleted", ()), *line.get("logins", ())):
                    deleted[str(login)] = str(line.get("at", ""))
            if line.get("event") == Event.START and str(line.get("op", "")).startswith("create_user:"):
                names[str(line["user"])] = line
            elif line.get("event") == Event.CREATED and "user" in line:
                named = names.get(str(line["user"]), line)
                if "last_name" not in named:
                    continue
                accounts.append(
                    EarlierAccount(
                        str(line["login"]),
                        line.get("password"),
                        str(named["last_name"]),
                        str(named["first_name"]),
                        UserType(named["type"]),
                    )
                )
    return EarlierWork(tuple(accounts), frozenset(class_names), deleted)


# --- Facts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """An account the journal knows: its login and, for a new one, its password."""

    login: str
    password: str | None


@dataclass(frozen=True, slots=True)
class PendingCreation:
    """A CreateUser whose POST was sent but whose result was never recorded.

    `logins_before` are the logins of the users with the same names and type that
    were on the server when the POST was sent: the account made by that POST, if
    any, is one with those names whose login is not among them.
    """

    key: str
    last_name: str
    first_name: str
    type: UserType
    logins_before: frozenset[str]


@dataclass(frozen=True)
class JournalFacts:
    """What the journal says happened, across every run."""

    created_users: Mapping[str, Account] = field(default_factory=dict)  # workbook key -> account
    pending_users: Mapping[str, PendingCreation] = field(default_factory=dict)
    created_classes: frozenset[str] = frozenset()  # class names we created
    pending_classes: frozenset[str] = frozenset()  # CreateClass sent, result unknown
    deleted_logins: frozenset[str] = frozenset()  # accounts the workbook deleted, now gone
    provisional_pupils: Mapping[str, Account] = field(default_factory=dict)  # class name -> pupil
    archives: Mapping[str, str] = field(default_factory=dict)  # class name -> zip path
    done: frozenset[str] = frozenset()  # operation ids the server showed done
    runs: int = 0


def fold_journal(lines: Iterable[Mapping[str, Any]]) -> JournalFacts:
    """The facts of a journal (pure): later lines override earlier ones."""
    fold = _JournalFold()
    for line in lines:
        fold.add(line)
    return fold.facts()


@dataclass
class _JournalFold:
    """The facts of the lines read so far."""

    created: dict[str, Account] = field(default_factory=dict)
    pending: dict[str, PendingCreation] = field(default_factory=dict)
    created_classes: set[str] = field(default_factory=set)
    pending_classes: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    provisional: dict[str, Account] = field(default_factory=dict)
    archives: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    runs: int = 0

    def add(self, line: Mapping[str, Any]) -> None:
        op = str(line.get("op", ""))
        kind = op.split(":", 1)[0]
        match line.get("event"):
            case Event.RUN:
                self.runs += 1
            case Event.START:
                self._started(line, kind)
            case Event.CREATED if "user" in line:
                key = str(line["user"])
                self.created[key] = Account(str(line["login"]), line.get("password"))
                self.pending.pop(key, None)
                self.done.add(op)
            case Event.FAILED:
                self._failed(line, kind)
            case Event.DONE:
                self._done(line, op, kind)
            case Event.GONE:
                self.deleted.update(line.get("logins", ()))
            case Event.PROVISIONAL:
                self.provisional[str(line["class_name"])] = Account(str(line["login"]), line.get("password"))
            case Event.PROVISIONAL_DELETED:
                self.provisional.pop(str(line["class_name"]), None)
            case Event.ARCHIVED:
                self.archives[str(line["class_name"])] = str(line["path"])

    def _started(self, line: Mapping[str, Any], kind: str) -> None:
        """A POST about to be sent: a creation stays pending until its result is journaled."""
        if kind == "create_user":
            key = str(line["user"])
            self.pending[key] = PendingCreation(
                key=key,
                last_name=str(line["last_name"]),
                first_name=str(line["first_name"]),
                type=UserType(line["type"]),
                logins_before=frozenset(line.get("logins_before", ())),
            )
        elif kind == "create_class":
            self.pending_classes.add(str(line["name"]))

    def _failed(self, line: Mapping[str, Any], kind: str) -> None:
        if kind == "create_user" and "user" in line:
            self.pending.pop(str(line["user"]), None)
        if kind == "create_class" and "name" in line:
            self.pending_classes.discard(str(line["name"]))

    def _done(self, line: Mapping[str, Any], op: str, kind: str) -> None:
        self.done.add(op)
        if kind == "create_class" and "name" in line:
            self.created_classes.add(str(line["name"]))
            self.pending_classes.discard(str(line["name"]))
        self.deleted.update(line.get("deleted", ()))

    def facts(self) -> JournalFacts:
        return JournalFacts(
            created_users=self.created,
            pending_users=self.pending,
            created_classes=frozenset(self.created_classes),
            pending_classes=frozenset(self.pending_classes - self.created_classes),
            deleted_logins=frozenset(self.deleted),
            provisional_pupils=self.provisional,
            archives=self.archives,
            done=frozenset(self.done),
            runs=self.runs,
        )
