"""What the sandbox's store hands out: accounts, classes, folders, files, and the pages' messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VERSION = "0.1.7a"
PUPIL = "eleve"
ADULT = "adulte"
USER_TYPES = (PUPIL, ADULT)
COMMON_FOLDER = "Commun"


@dataclass(frozen=True, slots=True)
class Message:
    """One `<p class="succes">` or `<p class="erreur">` of an answer page."""

    kind: Literal["succes", "erreur", "info"]
    text: str

    @classmethod
    def success(cls, text: str) -> Message:
        return cls("succes", text)

    @classmethod
    def error(cls, text: str) -> Message:
        return cls("erreur", text)


@dataclass(frozen=True, slots=True)
class StoredUser:
    """An account. `type` is `eleve` or `adulte`; names are the text the person typed."""

    login: str
    first_name: str
    last_name: str
    type: str
    class_id: int | None
    class_name: str | None
    password: str

    @property
    def is_pupil(self) -> bool:
        return self.type == PUPIL

    @property
    def display_name(self) -> str:
        """`Prénom NOM`, as the class list shows a teacher."""
        return f"{self.first_name} {self.last_name.upper()}"


@dataclass(frozen=True, slots=True)
class StoredClass:
    """A class, its responsible teacher (a login), its work folder and its number of pupils."""

    id: int
    name: str
    responsible: str
    responsible_name: str
    folder_id: int
    size: int


@dataclass(frozen=True, slots=True)
class StoredFolder:
    """A shared folder: a class's work folder (named after the class) or `Commun`."""

    id: int
    name: str
    class_id: int | None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of a shared folder; `path` separates sub-folders with `/`."""

    id: int
    folder_id: int
    path: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)
