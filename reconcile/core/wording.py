"""Plan and outcome to rows of French text, for the terminal and the reports (pure).

Everything the secretary reads about a plan is worded here once: the terminal
summary (`reconcile plan`), the HTML and xlsx reports, and later the outcome of
`reconcile apply` (`describe_operation` is the sentence an outcome is attached to).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import assert_never

from reconcile.core.model import ServerState, UserType, class_key, class_reading_key, fold, is_new_person
from reconcile.core.operations import (
    ADULT_ORIGIN,
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Operation,
    Plan,
    Step,
    TransferPupils,
)
from reconcile.core.vocabulary import NOTHING_TO_DO

NO_CLASS = "sans classe"
NO_CLASS_TITLE = "Sans classe"
ADULTS_TITLE = "Adultes"
FOLDER_NOTE = (
    "Si le dossier de travail d'une classe contient encore des fichiers, ils seront d'abord "
    "sauvegardés dans une archive à côté du rapport, puis effacés du serveur, comme le prévoit la "
    "procédure ; la classe est ensuite supprimée."
)


def thousands(count: int) -> str:
    """`100 000`: a number grouped by thousands as French writes it (a narrow no-break space)."""
    return f"{count:,}".replace(",", "\u202f")


def plural(count: int, singular: str, several: str | None = None) -> str:
    """`1 élève`, `2 élèves`, `0 élève` (French: zero is singular)."""
    word = singular if count <= 1 else (several or singular + "s")
    return f"{count} {word}"


FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def french_date(moment: datetime) -> str:
    """`30 novembre 2026`, `1er décembre 2026` (the class lists)."""
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{day} {FRENCH_MONTHS[moment.month - 1]} {moment.year}"


def french_datetime(moment: datetime) -> str:
    """`30 novembre 2026 à 08 h 05 (UTC)`, `1 février 2026 à 14 h 30` (the reports)."""
    text = f"{moment.day} {FRENCH_MONTHS[moment.month - 1]} {moment.year} à {moment:%H} h {moment:%M}"
    zone = moment.tzname()
    return f"{text} ({zone})" if zone else text


# --- One operation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperationText:
    """One operation in words: a sentence, then detail lines (the names concerned)."""

    op_id: str
    kind: str
    text: str
    details: tuple[str, ...] = ()

    @property
    def one_line(self) -> str:
        """The sentence with the names concerned, for a message of one line."""
        names = [d for d in self.details if d != FOLDER_NOTE]
        return f"{self.text} ({' ; '.join(names)})" if names else self.text


def who(key: str, names: Mapping[str, str]) -> str:
    """`Prénom NOM (login)` for an existing account, `Prénom NOM` for a new one."""
    name = names.get(key)
    if is_new_person(key):
        return name or key
    return f"{name} ({key})" if name else key


def by_origin(logins: Iterable[str], origins: Mapping[str, str]) -> dict[str, list[str]]:
    """Logins grouped by where they were before the plan (class, `sans classe`, adults), in reading order."""
    groups: dict[str, list[str]] = defaultdict(list)
    for login in logins:
        groups[origins.get(login, NO_CLASS)].append(login)
    return dict(sorted(groups.items(), key=lambda item: _reading_key(item[0])))


def sorted_people(keys: Iterable[str], names: Mapping[str, str]) -> list[str]:
    """`Prénom NOM (login)` of each key, by surname."""

    def surname_first(key: str) -> tuple[str, str]:
        name = names.get(key, key)
        first, _, last = name.partition(" ")
        return (fold(last), fold(first) + " " + key)

    return [who(k, names) for k in sorted(keys, key=surname_first)]


def describe_operation(op: Operation, names: Mapping[str, str], origins: Mapping[str, str]) -> OperationText:
    """The words of one operation, the same in the terminal, the reports and apply's messages."""
    match op:
        case CreateUser():
            what = "adulte" if op.type is UserType.ADULT else "élève"
            return OperationText(op.id, op.kind, f"Créer le compte {what} de {who(op.user, names)}")
        case CreateClass():
            text = f"Créer la classe {op.name} (responsable : {who(op.responsible, names)})"
            return OperationText(op.id, op.kind, text)
        case ChangeResponsible():
            text = f"Confier la classe {op.class_name} à {who(op.responsible, names)}"
            if op.previous:
                text += f", à la place de {who(op.previous, names)}"
            return OperationText(op.id, op.kind, text)
        case AssignPupil():
            text = f"Affecter {who(op.user, names)} à la classe {op.class_name}"
            return OperationText(op.id, op.kind, text)
        case DeleteUsers():
            return _deletion_text(op, names, origins)
        case TransferPupils():
            return _transfer_text(op, names, origins)
        case DeleteClasses():
            text = f"Supprimer {plural(len(op.class_names), 'classe')} : {', '.join(op.class_names)}"
            return OperationText(op.id, op.kind, text, (FOLDER_NOTE,))
        case _:
            assert_never(op)


def _deletion_text(op: DeleteUsers, names: Mapping[str, str], origins: Mapping[str, str]) -> OperationText:
    groups = by_origin(op.logins, origins)
    text = f"Supprimer {plural(len(op.logins), 'compte')}"
    if op.step is Step.CLASS_REMOVALS:
        text += ", après la suppression des classes dont ils étaient responsables"
    details = tuple(
        f"{_title(origin)} : {', '.join(sorted_people(logins, names))}" for origin, logins in groups.items()
    )
    return OperationText(op.id, op.kind, text, details)


def _transfer_text(op: TransferPupils, names: Mapping[str, str], origins: Mapping[str, str]) -> OperationText:
    groups = by_origin(op.logins, origins)
    pupils = plural(len(op.logins), "élève")
    if len(groups) == 1:
        (origin,) = groups
        text = f"Transférer {pupils} {_source(origin)} vers {op.class_name}"
    else:
        parts = ", ".join(f"{len(logins)} {_source(origin)}" for origin, logins in groups.items())
        text = f"Transférer {pupils} vers {op.class_name} ({parts})"
    details = tuple(
        f"{_source(origin)} : {', '.join(sorted_people(logins, names))}" for origin, logins in groups.items()
    )
    return OperationText(op.id, op.kind, text, details)


# --- Steps and their counts -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepSection:
    """One step of the procedure: what it does in a line, its operations."""

    step: Step
    summary: str
    operations: tuple[OperationText, ...]

    @property
    def heading(self) -> str:
        return self.step.heading


def step_summary(step: Step, ops: Iterable[Operation]) -> str:
    """What a step does, counted: `2 comptes créés, 1 classe créée`; `Rien à faire`."""
    counts = _StepCounts()
    for op in ops:
        counts.add(op)
    parts = counts.parts()
    return ", ".join(parts) if parts else "Rien à faire"


@dataclass(slots=True)
class _StepCounts:
    """What the operations of one step do, counted by kind of change."""

    created_users: int = 0
    created_classes: int = 0
    changed: int = 0
    assigned: int = 0
    moved: int = 0
    destinations: int = 0
    deleted_classes: int = 0
    deleted_users: int = 0

    def add(self, op: Operation) -> None:
        match op:
            case CreateUser():
                self.created_users += 1
            case CreateClass():
                self.created_classes += 1
            case ChangeResponsible():
                self.changed += 1
            case DeleteUsers():
                self.deleted_users += len(op.logins)
            case AssignPupil():
                self.assigned += 1
            case TransferPupils():
                self.moved += len(op.logins)
                self.destinations += 1
            case DeleteClasses():
                self.deleted_classes += len(op.class_names)
            case _:
                assert_never(op)

    def parts(self) -> list[str]:
        """The counts that are not zero, in words, in the order the summary says them."""
        moved = f"{plural(self.moved, 'élève transféré', 'élèves transférés')} vers "
        moved += plural(self.destinations, "classe")
        worded = (
            (self.created_users, plural(self.created_users, "compte créé", "comptes créés")),
            (self.created_classes, plural(self.created_classes, "classe créée", "classes créées")),
            (self.changed, plural(self.changed, "responsable changé", "responsables changés")),
            (self.assigned, plural(self.assigned, "élève affecté", "élèves affectés")),
            (self.moved, moved),
            (self.deleted_classes, plural(self.deleted_classes, "classe supprimée", "classes supprimées")),
            (self.deleted_users, plural(self.deleted_users, "compte supprimé", "comptes supprimés")),
        )
        return [words for count, words in worded if count]


def step_sections(plan: Plan) -> tuple[StepSection, ...]:
    """Every step of the procedure, in order, even those with nothing to do."""
    by_step = dict(plan.steps)
    return tuple(
        StepSection(
            step=step,
            summary=step_summary(step, by_step.get(step, ())),
            operations=tuple(
                describe_operation(op, plan.names, plan.origins) for op in by_step.get(step, ())
            ),
        )
        for step in Step
    )


def headline(plan: Plan) -> str:
    """The one sentence that says whether the plan can be applied."""
    if plan.problems:
        return (
            f"Le plan ne peut pas être appliqué : {plural(len(plan.problems), 'problème')} à corriger "
            "dans le classeur. Rien ne sera modifié sur le serveur."
        )
    if plan.is_empty:
        return NOTHING_TO_DO
    return (
        f"Le plan peut être appliqué : {plural(len(plan.operations), 'opération')} en "
        f"{plural(sum(1 for _, ops in plan.steps if ops), 'étape')}."
    )


# --- Classes before and after -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Move:
    """Somebody arriving in or leaving a class: their name, and from or to where."""

    name: str
    where: str


@dataclass(frozen=True, slots=True)
class ClassChange:
    """A class before and after the plan: who stays, who arrives, who leaves."""

    name: str
    status: str  # « créée », « conservée », « supprimée », or « — » for pupils in no class
    responsible_before: str | None
    responsible_after: str | None
    stays: tuple[str, ...]
    arrives: tuple[Move, ...]
    leaves: tuple[Move, ...]

    @property
    def size_before(self) -> int:
        return len(self.stays) + len(self.leaves)

    @property
    def size_after(self) -> int:
        return len(self.stays) + len(self.arrives)

    @property
    def changes(self) -> bool:
        return bool(self.arrives or self.leaves) or self.responsible_before != self.responsible_after


def _reading_key(name: str) -> tuple[int, tuple[int, int, int, str, str]]:
    """Classes in the one reading order, then `sans classe`, then the adults."""
    if name == ADULT_ORIGIN:
        return (2, class_reading_key(""))
    if name == NO_CLASS:
        return (1, class_reading_key(""))
    return (0, class_reading_key(name))


def _title(class_name: str) -> str:
    if class_name == ADULT_ORIGIN:
        return ADULTS_TITLE
    return NO_CLASS_TITLE if class_name == NO_CLASS else class_name


def class_changes(plan: Plan, current: ServerState) -> tuple[ClassChange, ...]:
    """Each class's pupils before and after the plan, by executing it on the class lists.

    Pupils in no class appear under « Sans classe » when there are any, before or after.
    """
    names = dict(plan.names)
    for user in current.users:
        names.setdefault(user.login, user.display_name)
    before = _ClassLists.of(current)
    after = before.copy()
    for op in plan.operations:
        after.execute(op)
    people = _People(names)
    members_before, members_after = before.members(), after.members()
    changes = []
    for name in sorted(set(after.status) | {NO_CLASS}, key=_reading_key):
        was = members_before.get(name, set())
        now = members_after.get(name, set())
        if name == NO_CLASS and not was and not now:
            continue
        changes.append(_class_change(name, was, now, before, after, people))
    return tuple(changes)


@dataclass(slots=True)
class _ClassLists:
    """The school's class lists, as the operations of a plan change them one after the other."""

    place: dict[str, str]  # pupil key -> class name (or NO_CLASS)
    responsible: dict[str, str]  # class name -> responsible's key
    status: dict[str, str]  # class name -> « conservée », « créée », « supprimée »
    names: dict[str, str]  # class key -> class name
    gone: dict[str, str] = field(default_factory=dict)  # pupil key -> why in no class of the lists

    @classmethod
    def of(cls, current: ServerState) -> _ClassLists:
        responsible = {c.name: c.responsible_login for c in current.classes}
        return cls(
            place={
                user.login: current.class_name_of(user) or NO_CLASS
                for user in current.users
                if user.type is UserType.PUPIL
            },
            responsible=responsible,
            status=dict.fromkeys(responsible, "conservée"),
            names={class_key(c.name): c.name for c in current.classes},
        )

    def copy(self) -> _ClassLists:
        """The same lists, to change without changing these."""
        return _ClassLists(
            dict(self.place), dict(self.responsible), dict(self.status), dict(self.names), dict(self.gone)
        )

    def _name(self, class_name: str) -> str:
        """A class's name as the lists spell it (an operation may spell it otherwise)."""
        return self.names.get(class_key(class_name), class_name)

    def execute(self, op: Operation) -> None:
        match op:
            case CreateClass():
                self.responsible[op.name] = op.responsible
                self.status[op.name] = "créée"
                self.names[class_key(op.name)] = op.name
            case ChangeResponsible():
                self.responsible[self._name(op.class_name)] = op.responsible
            case DeleteUsers():
                for login in op.logins:
                    if self.place.pop(login, None) is not None:
                        self.gone[login] = "quitte l'école"
            case CreateUser():
                if op.type is UserType.PUPIL:
                    self.place[op.user] = NO_CLASS
            case AssignPupil():
                self.place[op.user] = self._name(op.class_name)
            case TransferPupils():
                destination = self._name(op.class_name)
                for login in op.logins:
                    self.place[login] = destination
            case DeleteClasses():
                self._delete_classes({self._name(name) for name in op.class_names})
            case _:
                assert_never(op)

    def _delete_classes(self, removed: set[str]) -> None:
        for name in removed:
            self.status[name] = "supprimée"
            self.responsible.pop(name, None)
        for key, where in self.place.items():
            if where in removed:
                self.place[key] = NO_CLASS

    def members(self) -> dict[str, set[str]]:
        """Class name (or NO_CLASS) -> the keys of its pupils."""
        members: dict[str, set[str]] = defaultdict(set)
        for key, where in self.place.items():
            members[where].add(key)
        return members


@dataclass(frozen=True, slots=True)
class _People:
    """Users named and ordered as a class table shows them: by surname."""

    names: Mapping[str, str]

    def name(self, key: str) -> str:
        return who(key, self.names)

    def order(self, key: str) -> tuple[str, str, str]:
        first, _, last = self.names.get(key, key).partition(" ")
        return (fold(last), fold(first), key)

    def sorted(self, keys: set[str]) -> list[str]:
        return sorted(keys, key=self.order)


def _class_change(
    name: str, was: set[str], now: set[str], before: _ClassLists, after: _ClassLists, people: _People
) -> ClassChange:
    """One class's table: who stays, who leaves (and for where), who arrives (and from where)."""
    leaves = tuple(
        Move(people.name(k), after.gone.get(k) or _towards(after.place.get(k, NO_CLASS)))
        for k in people.sorted(was - now)
    )
    arrives = tuple(
        Move(people.name(k), "nouveau" if k not in before.place else _from(before.place[k]))
        for k in people.sorted(now - was)
    )
    responsible_before = before.responsible.get(name)
    responsible_after = after.responsible.get(name)
    return ClassChange(
        name=_title(name),
        status="—" if name == NO_CLASS else after.status[name],
        responsible_before=people.name(responsible_before) if responsible_before else None,
        responsible_after=people.name(responsible_after) if responsible_after else None,
        stays=tuple(people.name(k) for k in people.sorted(was & now)),
        arrives=arrives,
        leaves=leaves,
    )


def _source(origin: str) -> str:
    return NO_CLASS if origin == NO_CLASS else f"de {origin}"


def _towards(where: str) -> str:
    return NO_CLASS if where == NO_CLASS else f"vers {where}"


def _from(where: str) -> str:
    return "sans classe jusqu'ici" if where == NO_CLASS else f"de {where}"
