"""What a journal of `reconcile apply` says happened (pure).

The journal file itself is `reconcile.adapters.journal`; here are its events, the
digest that ties it to a workbook, and the folds that turn its lines into facts:
`fold_journal` for this workbook's journal, `fold_earlier_work` for the others'.
`reconcile.core.resume` resolves the wanted state with these facts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
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


EVENTS = frozenset(value for name, value in vars(Event).items() if name.isupper())


# --- A line checked before it is folded ------------------------------------------------

# What a field must hold: a check, and its French description.
_Kind = tuple[Callable[[object], bool], str]
_TEXT: _Kind = (lambda v: isinstance(v, str), "un texte")
_TEXT_OR_NULL: _Kind = (lambda v: v is None or isinstance(v, str), "un texte ou null")
_TEXTS: _Kind = (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "une liste de textes")
_ACCOUNT_TYPE: _Kind = (lambda v: v in {t.value for t in UserType}, "« eleve » ou « adulte »")

# The fields the folds read, per event: (name, kind, required).
_Field = tuple[str, _Kind, bool]
_FIELDS: Mapping[str, tuple[_Field, ...]] = {
    Event.HEADER: (("digest", _TEXT, True), ("workbook", _TEXT, False)),
    Event.CREATED: (("user", _TEXT, False), ("password", _TEXT_OR_NULL, False)),
    Event.FAILED: (("user", _TEXT, False), ("name", _TEXT, False)),
    Event.DONE: (("name", _TEXT, False), ("deleted", _TEXTS, False)),
    Event.GONE: (("logins", _TEXTS, False),),
    Event.PROVISIONAL: (
        ("class_name", _TEXT, True),
        ("login", _TEXT, True),
        ("password", _TEXT_OR_NULL, False),
    ),
    Event.PROVISIONAL_DELETED: (("class_name", _TEXT, True),),
    Event.ARCHIVED: (("class_name", _TEXT, True), ("path", _TEXT, True)),
}
_CREATE_USER_START: tuple[_Field, ...] = (
    ("user", _TEXT, True),
    ("last_name", _TEXT, True),
    ("first_name", _TEXT, True),
    ("type", _ACCOUNT_TYPE, True),
    ("logins_before", _TEXTS, False),
)


def line_problem(line: object) -> str | None:
    """Why a journal line cannot be trusted by the folds (in French), or None when it can (pure).

    Every field a fold reads is checked: a line that parses but holds the wrong types is
    reported as damaged, never folded into a guess or a traceback.
    """
    if not isinstance(line, dict):
        return "ce n'est pas un objet JSON ({…})"
    event = line.get("event")
    if not isinstance(event, str):
        return "le champ « event » manque ou n'est pas un texte"
    if event not in EVENTS:
        return f"l'événement « {event} » inconnu n'a pas été écrit par reconcile"
    for name in ("op", "at"):
        if name in line and not isinstance(line[name], str):
            return f"le champ « {name} » n'est pas un texte"
    return _fields_problem(line, _fields_of(event, str(line.get("op", "")), line))


def _fields_of(event: str, op: str, line: Mapping[str, object]) -> tuple[_Field, ...]:
    kind = op.split(":", 1)[0]
    if event == Event.START and kind == "create_user":
        return _CREATE_USER_START
    if event == Event.START and kind == "create_class":
        return (("name", _TEXT, True),)
    if event == Event.CREATED and "user" in line:
        # A created line that names its person stands for the start line (`fold_earlier_work`).
        named = _CREATE_USER_START[1:4] if "last_name" in line else ()
        return (*_FIELDS[Event.CREATED], ("login", _TEXT, True), *named)
    return _FIELDS.get(event, ())


def _fields_problem(line: Mapping[str, object], fields: Sequence[_Field]) -> str | None:
    for name, (check, description), required in fields:
        if name not in line:
            if required:
                return f"le champ « {name} » manque"
            continue
        if not check(line[name]):
            return f"le champ « {name} » devrait être {description}"
    return None


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
