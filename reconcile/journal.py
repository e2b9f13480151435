"""The append-only journal of an apply run (JSON lines).

One line per event, flushed and fsynced before and after each POST, so that a run
killed at any point leaves a record of what it was doing. The journal holds the
passwords the server made: it is created readable by its owner only.

The first line identifies the workbook (its path and a digest of its wanted state):
a journal left by the application of another workbook is detected, not mixed in.
`fold_journal` turns the lines into facts (pure); `reconcile.apply` resolves the
wanted state with them and re-plans, which is how a run resumes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconcile.errors import JournalError
from reconcile.files import french_reason, open_private_append
from reconcile.model import UserType, WantedState

JOURNAL_NAME = "journal-application.jsonl"
JOURNAL_FORMAT = 1


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


LOCK_NAME = ".application-en-cours.lock"


@contextmanager
def exclusive_run(output_dir: Path) -> Iterator[None]:
    """Refuse a second `reconcile apply` on the same output folder while one runs.

    An advisory lock (`flock`) on a file of the folder: the system releases it when
    the process ends, even killed, so a stale lock never blocks the next run.
    """
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(output_dir / LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as error:
        raise JournalError(
            f"Impossible d'utiliser le dossier de sortie {output_dir} : {french_reason(error)}."
        ) from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise JournalError(
                f"Une autre application est en cours avec le dossier de sortie {output_dir} : "
                "attendez qu'elle se termine (deux applications à la fois se gêneraient)."
            ) from error
        yield
    finally:
        os.close(descriptor)


def wanted_digest(wanted: WantedState) -> str:
    """A digest of what the workbook asks for (rows and classes, not where they stand)."""
    users = [
        [u.key, u.login, u.last_name, u.first_name, u.type.value, u.target.value, u.target_class]
        for u in wanted.users
    ]
    classes = [[c.name, c.status.value, c.responsible] for c in wanted.classes]
    payload = json.dumps([users, classes], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Journal:
    """An open journal file: `record` appends one durable line."""

    def __init__(self, path: Path, lines: list[dict[str, Any]]) -> None:
        self.path = path
        self._lines = lines

    @classmethod
    def open(cls, output_dir: Path, *, workbook: str, digest: str, server_url: str) -> Journal:
        """Open (or create) the journal of `workbook` in `output_dir`, to append to it.

        Raises `JournalError` when the folder holds the journal of another workbook
        that did change something; a journal that never sent a POST is replaced.
        """
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise JournalError(f"Impossible de créer le dossier de sortie {output_dir} : {error}.") from error
        path = output_dir / JOURNAL_NAME
        lines = _matching_lines(path, digest)
        if lines:
            return cls(path, lines)
        if path.exists():
            # Another workbook's journal that is finished or never sent anything: kept aside.
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            path.rename(path.with_name(f"{path.stem}-{stamp}{path.suffix}"))
        journal = cls(path, [])
        journal._append(
            {
                "event": Event.HEADER,
                "format": JOURNAL_FORMAT,
                "workbook": workbook,
                "digest": digest,
                "server": server_url,
            }
        )
        return journal

    @staticmethod
    def existing_facts(output_dir: Path, digest: str) -> JournalFacts:
        """The facts of the journal of this workbook in `output_dir`, without writing anything."""
        return fold_journal(_matching_lines(output_dir / JOURNAL_NAME, digest))

    @property
    def lines(self) -> tuple[dict[str, Any], ...]:
        return tuple(self._lines)

    def facts(self) -> JournalFacts:
        return fold_journal(self._lines)

    def record(self, op: str, event: str, **data: Any) -> None:
        """Append one event for operation `op`, durably (flushed and fsynced)."""
        self._append({"op": op, "event": event, **data})

    def _append(self, line: dict[str, Any]) -> None:
        entry = {"at": _now(), **line}
        text = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            # The journal holds the passwords the server made: 0600, narrowed if it was not.
            with open_private_append(self.path) as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as error:
            raise JournalError(
                f"Impossible d'écrire le journal {self.path} ({error.strerror or error}) : l'application "
                "s'arrête, car elle ne fait rien qu'elle ne puisse noter. Libérez de la place ou "
                "choisissez un autre dossier de sortie, puis relancez la même commande."
            ) from error
        self._lines.append(entry)


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


def earlier_work(output_dir: Path, digest: str) -> EarlierWork:
    """Accounts and classes created by the other journals of `output_dir` (set aside or not).

    A workbook corrected and applied again after a finished application still lists
    its new people as new rows and its new classes as `Créer`: these let the next
    run take them over instead of creating them a second time.
    """
    accounts: list[EarlierAccount] = []
    class_names: set[str] = set()
    deleted: dict[str, str] = {}
    for path in sorted(output_dir.glob(f"{Path(JOURNAL_NAME).stem}*{Path(JOURNAL_NAME).suffix}")):
        lines = read_lines(path)
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


def _matching_lines(path: Path, digest: str) -> list[dict[str, Any]]:
    """The lines of the journal at `path` if it is this workbook's; [] if none or unused."""
    if not path.exists():
        return []
    lines = read_lines(path)
    header = lines[0] if lines else {}
    if header.get("event") != Event.HEADER:
        raise JournalError(
            f"Le fichier {path} n'est pas un journal de reconcile lisible. "
            "Déplacez-le ou choisissez un autre dossier de sortie (--output-dir)."
        )
    if header.get("digest") == digest:
        return lines
    started = any(line.get("event") == Event.START for line in lines)
    finished = bool(lines) and lines[-1].get("event") == Event.VERIFIED
    if started and not finished:
        raise JournalError(
            f"Le dossier {path.parent} contient le journal d'une application commencée avec "
            f"un autre classeur ({header.get('workbook', '?')}, ou ce classeur modifié depuis). "
            "Pour reprendre cette application, relancez-la avec le classeur d'alors ; pour "
            "appliquer ce classeur-ci, choisissez un autre dossier de sortie (--output-dir) "
            "après avoir vérifié le résultat de la précédente."
        )
    return []  # finished, or never sent anything: it can be set aside


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The journal's lines; a last line cut short by a kill is ignored."""
    lines: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            if not text.strip():
                continue
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError:
                # Only the line being written when the process was killed can be cut.
                continue
    return lines


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
    created: dict[str, Account] = {}
    pending: dict[str, PendingCreation] = {}
    created_classes: set[str] = set()
    pending_classes: set[str] = set()
    deleted: set[str] = set()
    provisional: dict[str, Account] = {}
    archives: dict[str, str] = {}
    done: set[str] = set()
    runs = 0
    for line in lines:
        event = line.get("event")
        op = str(line.get("op", ""))
        kind = op.split(":", 1)[0]
        if event == Event.RUN:
            runs += 1
        elif event == Event.START and kind == "create_user":
            key = str(line["user"])
            pending[key] = PendingCreation(
                key=key,
                last_name=str(line["last_name"]),
                first_name=str(line["first_name"]),
                type=UserType(line["type"]),
                logins_before=frozenset(line.get("logins_before", ())),
            )
        elif event == Event.START and kind == "create_class":
            pending_classes.add(str(line["name"]))
        elif event == Event.CREATED and "user" in line:
            key = str(line["user"])
            created[key] = Account(str(line["login"]), line.get("password"))
            pending.pop(key, None)
            done.add(op)
        elif event == Event.FAILED:
            if kind == "create_user" and "user" in line:
                pending.pop(str(line["user"]), None)
            if kind == "create_class" and "name" in line:
                pending_classes.discard(str(line["name"]))
        elif event == Event.DONE:
            done.add(op)
            if kind == "create_class" and "name" in line:
                created_classes.add(str(line["name"]))
                pending_classes.discard(str(line["name"]))
            deleted.update(line.get("deleted", ()))
        elif event == Event.GONE:
            deleted.update(line.get("logins", ()))
        elif event == Event.PROVISIONAL:
            provisional[str(line["class_name"])] = Account(str(line["login"]), line.get("password"))
        elif event == Event.PROVISIONAL_DELETED:
            provisional.pop(str(line["class_name"]), None)
        elif event == Event.ARCHIVED:
            archives[str(line["class_name"])] = str(line["path"])
    return JournalFacts(
        created_users=created,
        pending_users=pending,
        created_classes=frozenset(created_classes),
        pending_classes=frozenset(pending_classes - created_classes),
        deleted_logins=frozenset(deleted),
        provisional_pupils=provisional,
        archives=archives,
        done=frozenset(done),
        runs=runs,
    )
