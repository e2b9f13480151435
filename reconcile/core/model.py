"""The domain: server state, wanted state, names and levels.

Standard library only. Every other module speaks in these types: the client
turns IntraScol pages into a `ServerState`, the workbook turns a spreadsheet
into a `WantedState`, and the plan engine diffs the two.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from reconcile.core.vocabulary import ClassStatus


class UserType(StrEnum):
    """The two kinds of IntraScol account (the values are the form's `type`)."""

    PUPIL = "eleve"
    ADULT = "adulte"

    @property
    def label(self) -> str:
        """The French word the server and the workbook show."""
        return "Élève" if self is UserType.PUPIL else "Adulte"

    @classmethod
    def from_label(cls, text: str) -> UserType | None:
        """`Élève`, `eleve`, `Adulte`… (case and accents ignored), else None."""
        key = fold(text)
        if key in {"eleve", "eleves"}:
            return cls.PUPIL
        if key in {"adulte", "adultes", "enseignant", "enseignante"}:
            return cls.ADULT
        return None


def display_name(first_name: str, last_name: str) -> str:
    """`Prénom NOM`, as IntraScol shows a person."""
    return f"{first_name} {last_name.upper()}"


@dataclass(frozen=True, slots=True)
class User:
    """One account as the server shows it."""

    login: str
    last_name: str
    first_name: str
    type: UserType
    class_id: int | None = None
    # Pupils' passwords are shown by the admin list; adults' are hidden (None).
    password: str | None = None

    @property
    def display_name(self) -> str:
        """`Prénom NOM`, as IntraScol shows a teacher."""
        return display_name(self.first_name, self.last_name)


@dataclass(frozen=True, slots=True)
class SchoolClass:
    """One class as the server shows it."""

    id: int
    name: str
    responsible_login: str
    responsible_name: str = ""
    size: int = 0


@dataclass(frozen=True)
class ServerState:
    """Everything the admin pages show about a school's accounts."""

    classes: tuple[SchoolClass, ...]
    users: tuple[User, ...]
    version: str = ""
    school: str = ""
    _users_by_login: dict[str, User] = field(init=False, repr=False, compare=False)
    _classes_by_id: dict[int, SchoolClass] = field(init=False, repr=False, compare=False)
    _classes_by_key: dict[str, SchoolClass] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_users_by_login", {u.login: u for u in self.users})
        object.__setattr__(self, "_classes_by_id", {c.id: c for c in self.classes})
        object.__setattr__(self, "_classes_by_key", {class_key(c.name): c for c in self.classes})

    def user(self, login: str) -> User | None:
        return self._users_by_login.get(login)

    def class_by_id(self, class_id: int | None) -> SchoolClass | None:
        return None if class_id is None else self._classes_by_id.get(class_id)

    def class_by_name(self, name: str) -> SchoolClass | None:
        """Class names are unique regardless of case on IntraScol."""
        return self._classes_by_key.get(class_key(name))

    def class_name_of(self, user: User) -> str | None:
        school_class = self.class_by_id(user.class_id)
        return school_class.name if school_class else None

    def members(self, class_id: int) -> tuple[User, ...]:
        return tuple(u for u in self.users if u.class_id == class_id)

    def fingerprint(self) -> str:
        """A short digest of who is where, to detect changes since an export."""
        rows = sorted(
            (u.login, u.last_name, u.first_name, u.type.value, self.class_name_of(u) or "")
            for u in self.users
        )
        classes = sorted((c.name, c.responsible_login) for c in self.classes)
        payload = json.dumps([rows, classes], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


# --- The wanted state, as read from the workbook -------------------------------------


@dataclass(frozen=True, slots=True)
class Location:
    """Where something stands in the workbook, for messages a secretary understands."""

    sheet: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        text = self.sheet
        if self.row is not None:
            text += f", ligne {self.row}"
        if self.column:
            text += f", colonne « {self.column} »"
        return text


class Target(StrEnum):
    """What the `Classe cible` cell asks for a user."""

    UNCHANGED = "inchangé"  # empty cell: the user stays where they are
    CLASS = "classe"  # move to / assign to `WantedUser.target_class`
    LEAVES = "quitte"  # `Quitte l'école`: delete the account


_NEW_PERSON = "nouveau:"


def new_person_key(row: int) -> str:
    """The key of the person a workbook's row `row` adds (`nouveau:12`): no login yet."""
    return f"{_NEW_PERSON}{row}"


def is_new_person(key: str) -> bool:
    """Whether `key` is a row's new person (`new_person_key`), not an existing login."""
    return key.startswith(_NEW_PERSON)


@dataclass(frozen=True, slots=True)
class WantedUser:
    """One row of the `Utilisateurs` sheet.

    `key` identifies the row across the plan: the login of an existing user, or
    `new_person_key(row)` for a new one (the server makes its login at creation).
    """

    key: str
    login: str | None
    last_name: str
    first_name: str
    type: UserType
    target: Target
    target_class: str | None = None
    location: Location | None = None

    @property
    def is_new(self) -> bool:
        return self.login is None


@dataclass(frozen=True, slots=True)
class WantedClass:
    """One row of the `Classes` sheet.

    `responsible` is a `WantedUser.key` (a login, or `nouveau:<row>` for a teacher
    added in `Utilisateurs`), already resolved by the workbook reader; None when
    the cell is empty (keeps the current teacher of an existing class).
    """

    name: str
    status: ClassStatus
    responsible: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ExportedUser:
    """A user as the export saw it (kept in the workbook's hidden sheet)."""

    login: str
    last_name: str
    first_name: str
    type: UserType
    class_name: str | None


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """The workbook's hidden metadata: where and when it was exported."""

    server_url: str
    school: str
    exported_at: str
    tool_version: str
    template_version: str
    fingerprint: str
    users: tuple[ExportedUser, ...] = ()
    class_names: tuple[str, ...] = ()
    # (class name, responsible login) of each exported class. Empty in a workbook exported
    # before template version 2, which did not store them.
    class_responsibles: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_state(
        cls,
        state: ServerState,
        *,
        server_url: str,
        exported_at: str,
        tool_version: str,
        template_version: str,
    ) -> ExportInfo:
        """What an export of `state` records: who was where, and each class's responsible."""
        return cls(
            server_url=server_url,
            school=state.school,
            exported_at=exported_at,
            tool_version=tool_version,
            template_version=template_version,
            fingerprint=state.fingerprint(),
            users=tuple(
                ExportedUser(u.login, u.last_name, u.first_name, u.type, state.class_name_of(u))
                for u in state.users
            ),
            class_names=tuple(c.name for c in state.classes),
            class_responsibles=tuple((c.name, c.responsible_login) for c in state.classes),
        )

    def responsible_at_export(self, class_name: str) -> str | None:
        """The login responsible of `class_name` at export time; None when not stored."""
        key = class_key(class_name)
        return next((login for name, login in self.class_responsibles if class_key(name) == key), None)


@dataclass(frozen=True)
class WantedState:
    """What the secretary asks for: every row of the workbook, validated."""

    users: tuple[WantedUser, ...]
    classes: tuple[WantedClass, ...]
    export: ExportInfo | None = None


# --- Names -----------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—'’`´ʼ.]+")
# Control characters, and the « � » that stands for one in a workbook (no .xlsx can hold them):
# invisible in a name, so a name read back from a workbook is the server's, whatever stood there.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Accent-, case- and spacing-insensitive key (NFC/NFD alike).

    `Zoé` and `ZOE`, `N'Diaye` and `n diaye`, `Jean-Baptiste` and `jean baptiste`
    fold the same. Ligatures fold to their letters (`Œ` -> `oe`). Remembered: the same
    names are folded again and again when sorting and matching 50,000 accounts.
    """
    if text.isascii():  # nothing to decompose: most logins and many names
        return _SEPARATORS.sub(" ", _INVISIBLE.sub("", text).casefold()).strip()
    decomposed = unicodedata.normalize("NFKD", _INVISIBLE.sub("", text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    stripped = stripped.replace("ß", "ss").replace("ø", "o").replace("Ø", "o").replace("ł", "l")
    stripped = stripped.replace("Ł", "l").replace("đ", "d").replace("Đ", "d")
    return _SEPARATORS.sub(" ", stripped.casefold()).strip()


def person_key(last_name: str, first_name: str) -> tuple[str, str]:
    """The key under which two rows are the same person's names."""
    return (fold(last_name), fold(first_name))


def clean_text(text: str) -> str:
    """NFC, inner whitespace collapsed, outer whitespace removed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def class_key(name: str) -> str:
    """IntraScol class names are unique regardless of case."""
    return clean_text(_INVISIBLE.sub("", name)).casefold()


# --- Levels ----------------------------------------------------------------------------

LEVELS: tuple[str, ...] = ("PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2")
_LEVEL_PATTERN = re.compile(r"(?<![A-Z0-9])(PS|MS|GS|CP|CE1|CE2|CM1|CM2)(?![A-Z0-9])")


def class_levels(name: str) -> tuple[str, ...]:
    """The levels a class name mentions, lowest first: `CE2-CM1` -> (CE2, CM1)."""
    found = {m.group(1) for m in _LEVEL_PATTERN.finditer(fold(name).upper())}
    return tuple(level for level in LEVELS if level in found)


def level_rank(name: str) -> int:
    """Rank of a class by its highest level (CM2 highest); -1 without a level."""
    levels = class_levels(name)
    return LEVELS.index(levels[-1]) if levels else -1


# --- The orders in which things are shown --------------------------------------------------


def class_reading_key(name: str) -> tuple[int, int, int, str, str]:
    """The one order in which classes are shown: the workbook, the reports, the class lists.

    By lowest level, then highest (PS first, CM2 last; `GS-CP` after `GS` and before `CP`),
    classes whose name carries no level last; ties broken by name.
    """
    levels = class_levels(name)
    if not levels:
        return (1, 0, 0, fold(name), name)
    return (0, LEVELS.index(levels[0]), LEVELS.index(levels[-1]), fold(name), name)


class Named(Protocol):
    @property
    def last_name(self) -> str: ...

    @property
    def first_name(self) -> str: ...


def person_order(person: Named, login: str = "") -> tuple[str, str, str]:
    """The one order in which people are listed: by last name, then first name (accents and case
    ignored), then login."""
    return (fold(person.last_name), fold(person.first_name), login)


def user_order(user: User) -> tuple[str, str, str]:
    return person_order(user, user.login)


def export_row_key(class_name: str | None, person: Named, login: str) -> tuple[object, ...]:
    """The order of the export's `Utilisateurs` rows: by class in the reading order (people in no
    class last), then in the order of people."""
    where = (0, class_reading_key(class_name)) if class_name else (1, ())
    return (where, person_order(person, login))
