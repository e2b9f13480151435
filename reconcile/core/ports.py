"""What `apply` needs from an IntraScol server, as a protocol.

Standard library only. `reconcile.adapters.intrascol.client.IntraScolClient` implements it
over HTTP; `apply` only knows this protocol, so the execution logic can be driven
by any implementation (the real client in production and in the tests).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from reconcile.core.model import SchoolClass, ServerState, UserType


class Refusal(StrEnum):
    """Why the server refused one item of a form (from its `erreur` message)."""

    FOLDER_NOT_EMPTY = "dossier non vide"
    RESPONSIBLE_OF_CLASS = "responsable d'une classe"
    UNKNOWN_USER = "utilisateur inconnu"
    UNKNOWN_DESTINATION = "classe de destination inconnue"
    NOT_A_PUPIL = "pas un élève"
    CLASS_EXISTS = "classe existante"
    EMPTY_NAME = "nom vide"
    UNKNOWN_RESPONSIBLE = "responsable inconnu"
    INVALID_TOKEN = "jeton invalide"
    OTHER = "autre"


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """The server's answer for one item of a POST (`succes` or `erreur` message).

    `subject` is the login, class name or file path the message names.
    """

    subject: str
    ok: bool
    message: str
    refusal: Refusal | None = None


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """All the messages a POST answered with, per item where they name one."""

    items: tuple[ItemOutcome, ...]

    def for_subject(self, subject: str) -> ItemOutcome | None:
        return next((i for i in self.items if i.subject == subject), None)

    @property
    def succeeded(self) -> tuple[str, ...]:
        return tuple(i.subject for i in self.items if i.ok)

    @property
    def refused(self) -> tuple[ItemOutcome, ...]:
        return tuple(i for i in self.items if not i.ok)


@dataclass(frozen=True, slots=True)
class CreatedUser:
    """The login and password the server made for a new account."""

    login: str
    password: str


@dataclass(frozen=True, slots=True)
class Folder:
    """A folder of `Mes partages` (its id is not a class id)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file of a work folder: path inside the folder, size in bytes."""

    id: str
    path: str
    size: int


class UserSession(Protocol):
    """The users' side of IntraScol, logged in as one user."""

    def folders(self) -> Sequence[Folder]: ...

    def files(self, folder_id: str) -> Sequence[SharedFile]: ...

    def download(self, file_id: str) -> Generator[bytes, None, None]:
        """The file's bytes in chunks as they arrive, never held whole; closing it ends the download."""
        ...

    def delete_files(self, folder_id: str, file_ids: Sequence[str]) -> BatchOutcome: ...

    def close(self) -> None: ...


class IntraScolServer(Protocol):
    """The admin operations the rentrée needs.

    Every POST method raises `reconcile.core.errors.AnswerLost` when the answer was lost
    after the request may have reached the server: the caller must re-read the
    state (`read_state`) to know whether it was applied. Refusals of single items
    come back in the outcome, not as exceptions.
    """

    @property
    def url(self) -> str: ...

    @property
    def request_count(self) -> int: ...

    def read_state(self) -> ServerState: ...

    def create_user(self, first_name: str, last_name: str, user_type: UserType) -> CreatedUser: ...

    def assign(self, login: str, class_id: int) -> ItemOutcome: ...

    def transfer(self, logins: Sequence[str], class_id: int) -> BatchOutcome: ...

    def delete_users(self, logins: Sequence[str]) -> BatchOutcome: ...

    def create_class(self, name: str, responsible_login: str) -> ItemOutcome: ...

    def modify_class(self, class_id: int, responsible_login: str) -> ItemOutcome: ...

    def delete_classes(self, class_ids: Sequence[int]) -> BatchOutcome: ...

    def user_session(self, login: str, password: str) -> UserSession: ...


@runtime_checkable
class ClassLister(Protocol):
    """Optional: a server that can list its classes alone (one request, `admin/classes.php`).

    `apply` uses it, when the server offers it, to learn the id of a class it has just
    created without reading every page of users again.
    """

    def read_classes(self) -> Sequence[SchoolClass]: ...
