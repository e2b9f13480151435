"""Plan and outcome to rows of French text, for the terminal and the reports (pure).

Everything the secretary reads about a plan is worded here once: the terminal
summary (`reconcile plan`), the HTML and xlsx reports, and later the outcome of
`reconcile apply` (`describe_operation` is the sentence an outcome is attached to).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

from reconcile.core.model import ServerState, UserType, class_key, class_reading_key, fold
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


def _who(key: str, names: Mapping[str, str]) -> str:
    """`Prénom NOM (login)` for an existing account, `Prénom NOM` for a new one."""
    name = names.get(key)
    if key.startswith("nouveau:"):
        return name or key
    return f"{name} ({key})" if name else key


def _by_origin(logins: Iterable[str], origins: Mapping[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for login in logins:
        groups[origins.get(login, NO_CLASS)].append(login)
    return dict(sorted(groups.items(), key=lambda item: _reading_key(item[0])))


def _sorted_people(keys: Iterable[str], names: Mapping[str, str]) -> list[str]:
    def surname_first(key: str) -> tuple[str, str]:
        name = names.get(key, key)
        first, _, last = name.partition(" ")
        return (fold(last), fold(first) + " " + key)

    return [_who(k, names) for k in sorted(keys, key=surname_first)]


def describe_operation(op: Operation, names: Mapping[str, str], origins: Mapping[str, str]) -> OperationText:
    """The words of one operation, the same in the terminal, the reports and apply's messages."""
    match op:
        case CreateUser():
            what = "adulte" if op.type is UserType.ADULT else "élève"
            return OperationText(op.id, op.kind, f"Créer le compte {what} de {_who(op.user, names)}")
        case CreateClass():
            text = f"Créer la classe {op.name} (responsable : {_who(op.responsible, names)})"
            return OperationText(op.id, op.kind, text)
        case ChangeResponsible():
            text = f"Confier la classe {op.class_name} à {_who(op.responsible, names)}"
            if op.previous:
                text += f", à la place de {_who(op.previous, names)}"
            return OperationText(op.id, op.kind, text)
        case AssignPupil():
            text = f"Affecter {_who(op.user, names)} à la classe {op.class_name}"
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
    groups = _by_origin(op.logins, origins)
    text = f"Supprimer {plural(len(op.logins), 'compte')}"
    if op.step is Step.CLASS_REMOVALS:
        text += ", après la suppression des classes dont ils étaient responsables"
    details = tuple(
        f"{_title(origin)} : {', '.join(_sorted_people(logins, names))}" for origin, logins in groups.items()
    )
    return OperationText(op.id, op.kind, text, details)


def _transfer_text(op: TransferPupils, names: Mapping[str, str], origins: Mapping[str, str]) -> OperationText:
    groups = _by_origin(op.logins, origins)
    pupils = plural(len(op.logins), "élève")
    if len(groups) == 1:
        (origin,) = groups
        text = f"Transférer {pupils} {_source(origin)} vers {op.class_name}"
    else:
        parts = ", ".join(f"{len(logins)} {_source(origin)}" for origin, logins in groups.items())
        text = f"Transférer {pupils} vers {op.class_name} ({parts})"
    details = tuple(
        f"{_source(origin)} : {', '.join(_sorted_people(logins, names))}" for origin, logins in groups.items()
    )
    return OperationText(op.id, op.kind, text, details)


# --- Steps and their counts -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepSection:
    """One step of the procedure: its title, what it does in a line, its operations."""

    step: Step
    title: str
    summary: str
    operations: tuple[OperationText, ...]

    @property
    def heading(self) -> str:
        return f"Étape {int(self.step)} : {self.title}"


def step_summary(step: Step, ops: Iterable[Operation]) -> str:
    """What a step does, counted: `2 comptes créés, 1 classe créée`; `Rien à faire`."""
    created_users = created_classes = changed = deleted_users = assigned = 0
    moved = 0
    destinations = 0
    deleted_classes = 0
    for op in ops:
        if isinstance(op, CreateUser):
            created_users += 1
        elif isinstance(op, CreateClass):
            created_classes += 1
        elif isinstance(op, ChangeResponsible):
            changed += 1
        elif isinstance(op, DeleteUsers):
            deleted_users += len(op.logins)
        elif isinstance(op, AssignPupil):
            assigned += 1
        elif isinstance(op, TransferPupils):
            moved += len(op.logins)
            destinations += 1
        elif isinstance(op, DeleteClasses):
            deleted_classes += len(op.class_names)
    parts = []
    if created_users:
        parts.append(plural(created_users, "compte créé", "comptes créés"))
    if created_classes:
        parts.append(plural(created_classes, "classe créée", "classes créées"))
    if changed:
        parts.append(plural(changed, "responsable changé", "responsables changés"))
    if assigned:
        parts.append(plural(assigned, "élève affecté", "élèves affectés"))
    if moved:
        parts.append(
            f"{plural(moved, 'élève transféré', 'élèves transférés')} vers {plural(destinations, 'classe')}"
        )
    if deleted_classes:
        parts.append(plural(deleted_classes, "classe supprimée", "classes supprimées"))
    if deleted_users:
        parts.append(plural(deleted_users, "compte supprimé", "comptes supprimés"))
    return ", ".join(parts) if parts else "Rien à faire"


def step_sections(plan: Plan) -> tuple[StepSection, ...]:
    """Every step of the procedure, in order, even those with nothing to do."""
    by_step = dict(plan.steps)
    return tuple(
        StepSection(
            step=step,
            title=step.title,
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
    place: dict[str, str] = {}  # pupil key -> class name (or NO_CLASS) after the operations so far
    for user in current.users:
        if user.type is UserType.PUPIL:
            place[user.login] = current.class_name_of(user) or NO_CLASS
    before = dict(place)
    responsible_before = {c.name: c.responsible_login for c in current.classes}
    responsible_after = dict(responsible_before)
    status = dict.fromkeys(responsible_before, "conservée")
    gone: dict[str, str] = {}  # pupil key -> why they are in no class of the list any more
    canonical = {class_key(c.name): c.name for c in current.classes}

    for op in plan.operations:
        if isinstance(op, CreateClass):
            responsible_after[op.name] = op.responsible
            status[op.name] = "créée"
            canonical[class_key(op.name)] = op.name
        elif isinstance(op, ChangeResponsible):
            responsible_after[canonical.get(class_key(op.class_name), op.class_name)] = op.responsible
        elif isinstance(op, DeleteUsers):
            for login in op.logins:
                if place.pop(login, None) is not None:
                    gone[login] = "quitte l'école"
        elif isinstance(op, CreateUser) and op.type is UserType.PUPIL:
            place[op.user] = NO_CLASS
        elif isinstance(op, AssignPupil | TransferPupils):
            destination = canonical.get(class_key(op.class_name), op.class_name)
            for key in (op.user,) if isinstance(op, AssignPupil) else op.logins:
                place[key] = destination
        elif isinstance(op, DeleteClasses):
            removed = {canonical.get(class_key(name), name) for name in op.class_names}
            for name in removed:
                status[name] = "supprimée"
                responsible_after.pop(name, None)
            for key, where in place.items():
                if where in removed:
                    place[key] = NO_CLASS

    def person(key: str) -> str:
        return _who(key, names)

    def order(key: str) -> tuple[str, str, str]:
        first, _, last = names.get(key, key).partition(" ")
        return (fold(last), fold(first), key)

    members_before: dict[str, set[str]] = defaultdict(set)
    members_after: dict[str, set[str]] = defaultdict(set)
    for key, where in before.items():
        members_before[where].add(key)
    for key, where in place.items():
        members_after[where].add(key)
    all_classes = set(status) | {NO_CLASS}
    changes = []
    for name in sorted(all_classes, key=_reading_key):
        was = members_before.get(name, set())
        now = members_after.get(name, set())
        if name == NO_CLASS and not was and not now:
            continue
        leaves = tuple(
            Move(person(k), gone.get(k) or _towards(place.get(k, NO_CLASS)))
            for k in sorted(was - now, key=order)
        )
        arrives = tuple(
            Move(person(k), "nouveau" if k not in before else _from(before[k]))
            for k in sorted(now - was, key=order)
        )
        resp_before = responsible_before.get(name)
        resp_after = responsible_after.get(name)
        changes.append(
            ClassChange(
                name=_title(name),
                status="—" if name == NO_CLASS else status[name],
                responsible_before=person(resp_before) if resp_before else None,
                responsible_after=person(resp_after) if resp_after else None,
                stays=tuple(person(k) for k in sorted(was & now, key=order)),
                arrives=arrives,
                leaves=leaves,
            )
        )
    return tuple(changes)


def _source(origin: str) -> str:
    return NO_CLASS if origin == NO_CLASS else f"de {origin}"


def _towards(where: str) -> str:
    return NO_CLASS if where == NO_CLASS else f"vers {where}"


def _from(where: str) -> str:
    return "sans classe jusqu'ici" if where == NO_CLASS else f"de {where}"
