"""The diff engine: `plan(current, wanted)` -> the ordered operations of the rentrée.

Pure: no HTTP, no files, no clock. The plan is data (JSON-serialisable): `reconcile
plan` renders it, `reconcile apply` executes and journals it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import ClassVar

from reconcile.core.findings import Finding, problem, warning
from reconcile.core.model import (
    ExportedUser,
    Location,
    SchoolClass,
    ServerState,
    Target,
    User,
    UserType,
    WantedClass,
    WantedState,
    WantedUser,
    class_key,
    clean_text,
    display_name,
    fold,
    level_rank,
    person_key,
    user_order,
)
from reconcile.core.vocabulary import (
    DEFAULT_MASS_DELETE_THRESHOLD,
    LAST_NAME,
    RESPONSIBLE,
    TARGET_CLASS,
    ClassStatus,
)


class Step(IntEnum):
    """The five steps of the documented manual procedure, in order."""

    CLASSES = 1
    DEPARTURES = 2
    ARRIVALS = 3
    DISTRIBUTION = 4
    CLASS_REMOVALS = 5

    @property
    def title(self) -> str:
        return STEP_TITLES[self]


STEP_TITLES = {
    Step.CLASSES: "Ajustement des classes",
    Step.DEPARTURES: "Suppression des utilisateurs qui quittent l'école",
    Step.ARRIVALS: "Création des nouveaux utilisateurs",
    Step.DISTRIBUTION: "Répartition des élèves dans les classes",
    Step.CLASS_REMOVALS: "Suppression des classes",
}


@dataclass(frozen=True, slots=True)
class CreateUser:
    """Create an account; `user` is the workbook key (`nouveau:<row>`) later ops refer to."""

    kind: ClassVar[str] = "create_user"
    user: str
    last_name: str
    first_name: str
    type: UserType

    @property
    def id(self) -> str:
        return f"create_user:{self.user}"


@dataclass(frozen=True, slots=True)
class CreateClass:
    """Create a class; `responsible` is a user key (a login or `nouveau:<row>`)."""

    kind: ClassVar[str] = "create_class"
    name: str
    responsible: str

    @property
    def id(self) -> str:
        return f"create_class:{self.name}"


@dataclass(frozen=True, slots=True)
class ChangeResponsible:
    """Make `responsible` (a user key) the responsible teacher of an existing class
    (`modifier_classe.php`); `previous` is the login responsible before the plan."""

    kind: ClassVar[str] = "change_responsible"
    class_name: str
    responsible: str
    previous: str | None = None

    @property
    def id(self) -> str:
        return f"change_responsible:{self.class_name}"


@dataclass(frozen=True, slots=True)
class DeleteUsers:
    """Delete accounts, all in one POST."""

    kind: ClassVar[str] = "delete_users"
    logins: tuple[str, ...]
    step: Step = Step.DEPARTURES

    @property
    def id(self) -> str:
        return f"delete_users:{int(self.step)}"


@dataclass(frozen=True, slots=True)
class AssignPupil:
    """Put a newly created pupil (a user key) in its class (`affecter.php`)."""

    kind: ClassVar[str] = "assign_pupil"
    user: str
    class_name: str

    @property
    def id(self) -> str:
        return f"assign_pupil:{self.user}"


@dataclass(frozen=True, slots=True)
class TransferPupils:
    """Move existing pupils into one destination class, in one POST."""

    kind: ClassVar[str] = "transfer_pupils"
    class_name: str
    logins: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"transfer_pupils:{self.class_name}"


@dataclass(frozen=True, slots=True)
class DeleteClasses:
    """Delete classes in one POST; a class whose work folder holds files is archived
    first (the documented workaround) unless `apply` is told to keep folders."""

    kind: ClassVar[str] = "delete_classes"
    class_names: tuple[str, ...]

    @property
    def id(self) -> str:
        return "delete_classes"


Operation = (
    CreateUser | CreateClass | ChangeResponsible | DeleteUsers | AssignPupil | TransferPupils | DeleteClasses
)

ADULT_ORIGIN = ""
"""`Plan.origins` value of an adult: adults are in no class, and no class name is empty."""


@dataclass(frozen=True)
class Plan:
    """The operations of each step, in execution order, with problems and warnings."""

    steps: tuple[tuple[Step, tuple[Operation, ...]], ...]
    problems: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    # Display names of every user key the operations mention (login or nouveau:<row>).
    names: dict[str, str] = field(default_factory=dict)
    # Where each existing user the operations mention is before the plan, to say "de CE2
    # vers CM1": login -> class name; ADULT_ORIGIN ("") for an adult (no class name is
    # empty); absent for a pupil in no class.
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for _, ops in self.steps for op in ops)

    @property
    def is_empty(self) -> bool:
        return not self.operations

    @property
    def can_apply(self) -> bool:
        return not self.problems


# --- The engine ------------------------------------------------------------------------


def class_order_key(name: str) -> tuple[int, int, str, str]:
    """The procedure's order of destination classes.

    Highest level first (the class receiving the CM1s, i.e. the CM2s, first, down to
    CP, then GS, MS, PS), a double-level class by its highest level, classes whose
    name carries no level last; ties broken by name.
    """
    rank = level_rank(name)
    return (0 if rank >= 0 else 1, -rank, fold(name), name)


def make_plan(
    current: ServerState,
    wanted: WantedState,
    *,
    mass_delete_threshold: float = DEFAULT_MASS_DELETE_THRESHOLD,
    allow_mass_delete: bool = False,
) -> Plan:
    """The operations that take `current` to `wanted`, grouped by step and ordered.

    Deterministic: the same states give the same plan, whatever order the server
    listed its users in. Problems block the plan; warnings are for the secretary.
    """
    return _Planner(current, wanted).build(mass_delete_threshold, allow_mass_delete)


def _at(location: Location | None, column: str | None) -> Location | None:
    return None if location is None else replace(location, column=column)


def _name_list(users: list[User]) -> str:
    ordered = sorted(users, key=user_order)
    return ", ".join(f"{u.display_name} ({u.login})" for u in ordered)


def _accounts(count: int) -> str:
    return "1 compte" if count == 1 else f"{count} comptes"


def _pupils(count: int) -> str:
    return f"{count} élève" if count == 1 else f"{count} élèves"


class _Planner:
    """One computation of a plan: reads both states once, then builds the steps."""

    def __init__(self, current: ServerState, wanted: WantedState) -> None:
        self.current = current
        self.wanted = wanted
        self.problems: list[Finding] = []
        self.warnings: list[Finding] = []
        self.users_by_class: dict[int, list[User]] = defaultdict(list)
        for user in current.users:
            if user.class_id is not None:
                self.users_by_class[user.class_id].append(user)
        self._users_by_person: dict[tuple[str, str], list[User]] | None = None
        self._class_names: dict[str, str | None] = {}
        # Existing users the workbook speaks about, by login, in workbook order.
        self.rows: dict[str, WantedUser] = {}
        self.new_rows: list[WantedUser] = []
        self.new_by_key: dict[str, WantedUser] = {}
        self.leaving: set[str] = set()
        # Classes: the workbook's rows by class key, and what they ask.
        self.class_rows: dict[str, WantedClass] = {}
        self.removed: dict[str, SchoolClass] = {}
        self.created: dict[str, WantedClass] = {}
        # New adults a class names responsible: created in step 1, before the class.
        self.step1_adults: set[str] = set()
        self._check_same_server()
        self._read_user_rows()
        self._read_class_rows()

    # --- Reading the workbook against the server ---------------------------------

    def _problem(self, message: str, location: Location | None = None) -> None:
        self.problems.append(problem(message, location))

    def _warn(self, message: str, location: Location | None = None) -> None:
        self.warnings.append(warning(message, location))

    def _check_same_server(self) -> None:
        """A workbook exported from another school or server is refused: its rows would act on
        the wrong people (first-name.last-name logins recur from one school to the next)."""
        export = self.wanted.export
        if export is None:
            return
        advice = "Vérifiez --url ou INTRASCOL_URL, ou refaites un export de ce serveur."
        if export.school and self.current.school and fold(export.school) != fold(self.current.school):
            self._problem(
                f"Ce classeur a été exporté de « {export.school} » ({export.server_url}), mais le serveur "
                f"connecté est celui de « {self.current.school} ». {advice}"
            )
            return
        leaving = {row.login for row in self.wanted.users if row.target is Target.LEAVES}
        staying = [u.login for u in export.users if u.login not in leaving]
        if staying and not any(self.current.user(login) for login in staying):
            self._problem(
                f"Aucun des {len(export.users)} comptes de ce classeur n'existe sur ce serveur : il a été "
                f"exporté de {export.server_url}. {advice}"
            )

    def _read_user_rows(self) -> None:
        export = self.wanted.export
        exported = {u.login: u for u in export.users} if export else {}
        seen: dict[str, WantedUser] = {}
        for row in self.wanted.users:
            if row.login is None:
                self.new_rows.append(row)
                self.new_by_key[row.key] = row
                continue
            login = row.login
            if login in seen:
                self._problem(
                    f"L'identifiant {login} figure sur deux lignes ; il ne doit y en avoir qu'une.",
                    row.location,
                )
                continue
            seen[login] = row
            user = self.current.user(login)
            if user is None:
                self._warn(
                    f"{display_name(row.first_name, row.last_name)} ({login}) n'existe plus sur le "
                    "serveur (compte supprimé depuis l'export ?) : cette ligne est ignorée.",
                    row.location,
                )
                continue
            same_spelling = (user.last_name, user.first_name) == (row.last_name, row.first_name)
            if not same_spelling and person_key(user.last_name, user.first_name) != person_key(
                row.last_name, row.first_name
            ):
                before = exported.get(login)
                if before and person_key(before.last_name, before.first_name) == person_key(
                    user.last_name, user.first_name
                ):
                    self._warn(
                        f"Les nom et prénom de {login} ont été modifiés dans le classeur "
                        f"(« {display_name(row.first_name, row.last_name)} ») : reconcile ne renomme "
                        f"pas les comptes ; la ligne s'applique au compte « {user.display_name} ».",
                        _at(row.location, LAST_NAME),
                    )
                else:
                    self._problem(
                        f"L'identifiant {login} désigne maintenant « {user.display_name} » sur le "
                        f"serveur, et non « {display_name(row.first_name, row.last_name)} » : le compte "
                        "a changé depuis l'export. Refaites un export et reportez-y vos choix.",
                        row.location,
                    )
                    continue
            self.rows[login] = row
            if row.target is Target.LEAVES:
                self.leaving.add(login)
        self._report_users_absent_from_workbook(seen, exported)

    def _report_users_absent_from_workbook(
        self, seen: dict[str, WantedUser], exported: dict[str, ExportedUser]
    ) -> None:
        absent = [u for u in self.current.users if u.login not in seen]
        if not absent:
            return
        rows_removed = [u for u in absent if u.login in exported]
        added = [u for u in absent if u.login not in exported]
        if rows_removed:
            self._warn(
                f"{_accounts(len(rows_removed))} du serveur sans ligne dans le classeur, "
                f"laissé(s) tel(s) quel(s) : {_name_list(rows_removed)}. Pour supprimer un compte, "
                "gardez sa ligne et écrivez « Quitte l'école » dans la colonne « Classe cible ».",
            )
        if added:
            when = "ajouté(s) sur le serveur depuis l'export" if exported else "absent(s) du classeur"
            self._warn(
                f"{_accounts(len(added))} {when}, laissé(s) tel(s) quel(s) : {_name_list(added)}.",
            )

    def _read_class_rows(self) -> None:
        for row in self.wanted.classes:
            key = class_key(row.name)
            on_server = self.current.class_by_name(row.name)
            if key in self.class_rows:
                if row.status is ClassStatus.CREATE and on_server is not None:
                    self._report_existing_name(row, on_server)
                else:
                    self._problem(
                        f"La classe « {row.name} » figure sur deux lignes de la feuille « Classes ».",
                        row.location,
                    )
                continue
            self.class_rows[key] = row
            if row.status is ClassStatus.DELETE:
                if on_server is None:
                    self._warn(
                        f"La classe « {row.name} » n'existe plus sur le serveur : rien à supprimer.",
                        row.location,
                    )
                else:
                    self.removed[key] = on_server
            elif row.status is ClassStatus.CREATE:
                if on_server is not None:
                    self._report_existing_name(row, on_server)
                else:
                    self.created[key] = replace(row, name=clean_text(row.name))
            elif on_server is None:
                self._warn(
                    f"La classe « {row.name} » n'existe plus sur le serveur : cette ligne est ignorée.",
                    row.location,
                )
        unlisted = [c for c in self.current.classes if class_key(c.name) not in self.class_rows]
        export = self.wanted.export
        exported = {class_key(name) for name in export.class_names} if export else set()
        for school_class in sorted(unlisted, key=lambda c: class_order_key(c.name)):
            name = school_class.name
            if class_key(name) in exported:
                why = f"La classe « {name} » de l'export n'a plus de ligne dans la feuille « Classes » "
                why += "(ligne effacée ou renommée ?)"
            else:
                why = f"La classe « {name} » du serveur ne figure pas dans la feuille « Classes » "
                why += "(créée depuis l'export ?)"
            self._warn(f"{why} : elle est conservée telle quelle.")

    def _report_existing_name(self, row: WantedClass, on_server: SchoolClass) -> None:
        self._problem(
            f"Une classe « {on_server.name} » existe déjà sur le serveur (les noms de classe ne "
            "tiennent pas compte des majuscules) : choisissez un autre nom, ou le statut « Conserver ».",
            row.location,
        )

    def _users_with_names(self, person: tuple[str, str]) -> list[User]:
        """Server users whose folded names are `person` (index built on first use)."""
        if self._users_by_person is None:
            self._users_by_person = defaultdict(list)
            for user in self.current.users:
                self._users_by_person[person_key(user.last_name, user.first_name)].append(user)
        return self._users_by_person.get(person, [])

    def _destination(self, row: WantedUser) -> str | None:
        """The class a row's `Classe cible` names, by its server spelling; None + a problem."""
        name = row.target_class or ""
        if name in self._class_names:  # most rows name one of a few classes
            known = self._class_names[name]
            if known is not None:
                return known
        known = self._resolve_destination(row, name)
        self._class_names[name] = known
        return known

    def _resolve_destination(self, row: WantedUser, name: str) -> str | None:
        key = class_key(name)
        where = _at(row.location, TARGET_CLASS)
        who = display_name(row.first_name, row.last_name)
        if key in self.removed:
            self._problem(
                f"{who} doit aller dans la classe « {self.removed[key].name} », qui est supprimée "
                "à l'étape 5 : choisissez une classe conservée ou créée.",
                where,
            )
            return None
        on_server = self.current.class_by_name(name)
        if on_server is not None:
            return on_server.name
        if key in self.created:
            return self.created[key].name
        self._problem(
            f"La classe cible « {name} » de {who} n'existe pas sur le serveur et n'est pas créée "
            "dans la feuille « Classes ».",
            where,
        )
        return None

    def _responsible_ok(self, key: str, class_name: str, location: Location | None) -> bool:
        """Whether `key` can be made responsible of `class_name`; a problem otherwise."""
        where = _at(location, RESPONSIBLE)
        new = self.new_by_key.get(key)
        if new is not None:
            who = display_name(new.first_name, new.last_name)
            if new.type is not UserType.ADULT:
                self._problem(
                    f"{who} est un élève : seul un adulte peut être responsable de la classe {class_name}.",
                    where,
                )
                return False
            if new.target is Target.LEAVES:
                return False  # reported with the row itself
            self.step1_adults.add(key)
            return True
        user = self.current.user(key)
        if user is None:
            self._problem(
                f"L'enseignant responsable choisi pour la classe {class_name} ({key}) n'existe pas "
                "sur le serveur.",
                where,
            )
            return False
        if user.type is not UserType.ADULT:
            self._problem(
                f"{user.display_name} ({key}) est un élève : seul un adulte peut être responsable "
                f"de la classe {class_name}.",
                where,
            )
            return False
        if key in self.leaving:
            self._problem(
                f"{user.display_name} ({key}) quitte l'école et ne peut donc pas être responsable "
                f"de la classe {class_name}.",
                where,
            )
            return False
        return True

    # --- The five steps --------------------------------------------------------------

    def build(self, mass_delete_threshold: float, allow_mass_delete: bool) -> Plan:
        class_ops = self._classes()
        departures, late_departures = self._departures()
        arrivals = self._arrivals()
        transfers = self._distribution()
        removals = self._class_removals(transfers, late_departures)
        self._check_mass_delete(mass_delete_threshold, allow_mass_delete)
        steps: tuple[tuple[Step, tuple[Operation, ...]], ...] = (
            (Step.CLASSES, class_ops),
            (Step.DEPARTURES, departures),
            (Step.ARRIVALS, arrivals),
            (Step.DISTRIBUTION, transfers),
            (Step.CLASS_REMOVALS, removals),
        )
        names, origins = self._names_and_origins(steps)
        return Plan(
            steps=steps,
            problems=tuple(self.problems),
            warnings=tuple(self.warnings),
            names=names,
            origins=origins,
        )

    def _classes(self) -> tuple[Operation, ...]:
        """Step 1: new responsible teachers, new classes, new responsibles of kept classes."""
        create_classes: list[Operation] = []
        for new_class in self.created.values():
            if new_class.responsible is None:
                self._problem(
                    f"La nouvelle classe {new_class.name} n'a pas d'enseignant responsable : "
                    "choisissez-en un.",
                    _at(new_class.location, RESPONSIBLE),
                )
            elif self._responsible_ok(new_class.responsible, new_class.name, new_class.location):
                create_classes.append(CreateClass(new_class.name, new_class.responsible))
        changes: list[Operation] = []
        kept = [c for c in self.current.classes if class_key(c.name) not in self.removed]
        for school_class in sorted(kept, key=lambda c: class_order_key(c.name)):
            row: WantedClass | None = self.class_rows.get(class_key(school_class.name))
            if row is not None and row.status is not ClassStatus.KEEP:
                row = None  # `Créer` on an existing name: already a problem
            chosen = row.responsible if row is not None and row.responsible else None
            if chosen is not None:
                chosen = self._responsible_asked(school_class, chosen, row)
            if chosen is not None and chosen != school_class.responsible_login:
                location = row.location if row is not None else None
                if self._responsible_ok(chosen, school_class.name, location):
                    changes.append(
                        ChangeResponsible(school_class.name, chosen, school_class.responsible_login)
                    )
            elif school_class.responsible_login in self.leaving:
                self._report_unreplaced_teacher(school_class, row)
        new_adults: list[Operation] = [
            CreateUser(r.key, r.last_name, r.first_name, r.type)
            for r in self.new_rows
            if r.key in self.step1_adults
        ]
        return (*new_adults, *create_classes, *changes)

    def _responsible_asked(
        self, school_class: SchoolClass, chosen: str, row: WantedClass | None
    ) -> str | None:
        """The responsible the workbook asks for a kept class, or None when it asks no change.

        The cell shows the responsible at export time: left as it was while the server's
        teacher changed since, it asks nothing, and the server's teacher stays — unless
        that teacher leaves the school, when the workbook's teacher is the only one named.
        """
        export = self.wanted.export
        before = export.responsible_at_export(school_class.name) if export is not None else None
        now = school_class.responsible_login
        if before is None or chosen != before or now == before:
            return chosen  # not stored (older workbook), edited by the secretary, or no drift
        where = _at(row.location if row is not None else None, RESPONSIBLE)
        changed = (
            f"L'enseignant responsable de la classe {school_class.name} a changé sur le serveur depuis "
            f"l'export ({self._teacher_label(before)} à l'export, {self._teacher_label(now)} maintenant)"
        )
        if now in self.leaving:
            self._warn(
                f"{changed}, et {self._teacher_label(now)} quitte l'école : "
                f"{self._teacher_label(before)}, responsable indiqué dans le classeur, le redevient.",
                where,
            )
            return chosen
        self._warn(
            f"{changed} ; le classeur ne demande pas de changement : {self._teacher_label(now)} reste "
            "responsable. Pour en nommer un autre, écrivez-le dans la feuille « Classes » ; pour revenir "
            "à l'enseignant de l'export, refaites un export.",
            where,
        )
        return None

    def _teacher_label(self, login: str) -> str:
        """`Prénom NOM (login)` of a teacher on the server or in the export, else the login."""
        user = self.current.user(login)
        if user is not None:
            return f"{user.display_name} ({login})"
        exported = {u.login: u for u in self.wanted.export.users} if self.wanted.export else {}
        before = exported.get(login)
        return f"{display_name(before.first_name, before.last_name)} ({login})" if before else login

    def _report_unreplaced_teacher(self, school_class: SchoolClass, row: WantedClass | None) -> None:
        teacher = self.rows[school_class.responsible_login]
        location = _at(row.location, RESPONSIBLE) if row is not None else _at(teacher.location, TARGET_CLASS)
        self._problem(
            f"{display_name(teacher.first_name, teacher.last_name)} ({teacher.key}) quitte l'école mais "
            f"reste responsable de la classe {school_class.name}, qui est conservée : indiquez un autre "
            f"enseignant responsable pour {school_class.name} dans la feuille « Classes ».",
            location,
        )

    def _departures(self) -> tuple[tuple[Operation, ...], tuple[str, ...]]:
        """Step 2: delete leavers, except teachers responsible of a class removed in step 5
        (the server refuses to delete a responsible teacher): those go after the removal."""
        responsible_of_removed = {c.responsible_login for c in self.removed.values()}
        late = tuple(sorted(login for login in self.leaving if login in responsible_of_removed))
        now = tuple(sorted(login for login in self.leaving if login not in responsible_of_removed))
        ops: tuple[Operation, ...] = (DeleteUsers(now, Step.DEPARTURES),) if now else ()
        return ops, late

    def _arrivals(self) -> tuple[Operation, ...]:
        """Step 3: create the new users (but step 1's teachers) and put new pupils in class."""
        ops: list[Operation] = []
        seen: dict[tuple[object, ...], WantedUser] = {}
        for row in self.new_rows:
            who = display_name(row.first_name, row.last_name)
            if row.target is Target.LEAVES:
                self._problem(
                    f"{who} est une nouvelle ligne marquée « Quitte l'école » : il n'y a pas de compte "
                    "à supprimer. Effacez la ligne ou choisissez une classe cible.",
                    _at(row.location, TARGET_CLASS),
                )
                continue
            self._check_new_person(row, seen)
            destination = None
            if row.target is Target.CLASS:
                if row.type is UserType.ADULT:
                    self._problem(
                        f"{who} est un adulte : un adulte ne peut pas être placé dans une classe "
                        f"(« {row.target_class} »). Laissez sa classe cible vide ; pour en faire "
                        "l'enseignant responsable, indiquez-le dans la feuille « Classes ».",
                        _at(row.location, TARGET_CLASS),
                    )
                else:
                    destination = self._destination(row)
            elif row.type is UserType.PUPIL:
                self._warn(
                    f"Le nouvel élève {who} n'a pas de classe cible : son compte sera créé sans classe.",
                    _at(row.location, TARGET_CLASS),
                )
            if row.key not in self.step1_adults:
                ops.append(CreateUser(row.key, row.last_name, row.first_name, row.type))
            if destination is not None:
                ops.append(AssignPupil(row.key, destination))
        return tuple(ops)

    def _check_new_person(self, row: WantedUser, seen: dict[tuple[object, ...], WantedUser]) -> None:
        """Warnings for a new row that looks like somebody already there."""
        who = display_name(row.first_name, row.last_name)
        person = person_key(row.last_name, row.first_name)
        target = class_key(row.target_class or "") if row.target is Target.CLASS else ""
        identity = (person, row.type, target)
        first = seen.get(identity)
        if first is not None:
            line = f"la ligne {first.location.row}" if first.location and first.location.row else first.key
            self._warn(
                f"{who} figure deux fois parmi les nouveaux (même nom, même prénom, même classe cible "
                f"que {line}) : un second compte sera créé, avec un autre identifiant.",
                row.location,
            )
        else:
            seen[identity] = row
        for existing in sorted(self._users_with_names(person), key=lambda u: u.login):
            where = self.current.class_name_of(existing)
            place = f"classe {where}" if where else "sans classe"
            self._warn(
                f"Homonyme : le nouvel utilisateur {who} porte les mêmes nom et prénom que le compte "
                f"existant {existing.login} ({place}). Un nouveau compte sera créé ; si c'est la même "
                f"personne, effacez cette ligne et remplissez la classe cible de {existing.login}.",
                row.location,
            )

    def _distribution(self) -> tuple[Operation, ...]:
        """Step 4: one transfer per destination class, highest level first."""
        moving: dict[str, list[str]] = defaultdict(list)
        for login, row in self.rows.items():
            if row.target is not Target.CLASS:
                continue
            user = self.current.user(login)
            assert user is not None  # rows only holds users on the server
            if user.type is UserType.ADULT:
                self._problem(
                    f"{user.display_name} ({login}) est un adulte : un adulte ne peut pas être placé "
                    f"dans une classe (« {row.target_class} »). Laissez sa classe cible vide.",
                    _at(row.location, TARGET_CLASS),
                )
                continue
            destination = self._destination(row)
            if destination is None:
                continue
            now_in = self.current.class_name_of(user)
            if now_in is not None and class_key(now_in) == class_key(destination):
                continue
            moving[destination].append(login)
        return tuple(
            TransferPupils(destination, tuple(sorted(moving[destination])))
            for destination in sorted(moving, key=class_order_key)
        )

    def _class_removals(
        self, transfers: tuple[Operation, ...], late_departures: tuple[str, ...]
    ) -> tuple[Operation, ...]:
        """Step 5: remove classes in one go, then their departing responsible teachers."""
        if not self.removed:
            return ()
        moved = {login for op in transfers if isinstance(op, TransferPupils) for login in op.logins}
        ordered = sorted(self.removed.values(), key=lambda c: class_order_key(c.name))
        for school_class in ordered:
            left_behind = [
                u
                for u in self.users_by_class.get(school_class.id, ())
                if u.type is UserType.PUPIL and u.login not in self.leaving and u.login not in moved
            ]
            if left_behind:
                row = self.class_rows[class_key(school_class.name)]
                consequence = (
                    "Cet élève ne sera pas supprimé, mais se retrouvera sans classe"
                    if len(left_behind) == 1
                    else "Ces élèves ne seront pas supprimés, mais se retrouveront sans classe"
                )
                self._warn(
                    f"La classe {school_class.name} sera supprimée alors qu'il y reste "
                    f"{_pupils(len(left_behind))} sans classe cible : {_name_list(left_behind)}. "
                    f"{consequence} (« classe : aucune »).",
                    row.location,
                )
        ops: list[Operation] = [DeleteClasses(tuple(c.name for c in ordered))]
        if late_departures:
            ops.append(DeleteUsers(late_departures, Step.CLASS_REMOVALS))
        return tuple(ops)

    def _check_mass_delete(self, threshold: float, allowed: bool) -> None:
        pupils = sum(1 for u in self.current.users if u.type is UserType.PUPIL)
        deleted = 0
        for login in self.leaving:
            user = self.current.user(login)
            if user is not None and user.type is UserType.PUPIL:
                deleted += 1
        if allowed or not pupils or deleted / pupils <= threshold:
            return
        self._problem(
            f"Le plan supprime {deleted} élèves sur {pupils} ({round(100 * deleted / pupils)} %), plus "
            f"que le seuil de sécurité de {round(100 * threshold)} % : vérifiez la colonne « Classe "
            "cible ». Si c'est bien voulu, relancez avec l'option --allow-mass-delete."
        )

    def _names_and_origins(
        self, steps: tuple[tuple[Step, tuple[Operation, ...]], ...]
    ) -> tuple[dict[str, str], dict[str, str]]:
        names: dict[str, str] = {}
        origins: dict[str, str] = {}

        def note(key: str | None) -> None:
            if key is None or key in names:
                return
            new = self.new_by_key.get(key)
            if new is not None:
                names[key] = display_name(new.first_name, new.last_name)
                return
            user = self.current.user(key)
            if user is not None:
                names[key] = user.display_name
                where = self.current.class_name_of(user)
                if user.type is UserType.ADULT:
                    origins[key] = ADULT_ORIGIN
                elif where is not None:
                    origins[key] = where

        for _, ops in steps:
            for op in ops:
                if isinstance(op, CreateUser | AssignPupil):
                    note(op.user)
                elif isinstance(op, CreateClass):
                    note(op.responsible)
                elif isinstance(op, ChangeResponsible):
                    note(op.responsible)
                    note(op.previous)
                elif isinstance(op, DeleteUsers | TransferPupils):
                    for login in op.logins:
                        note(login)
        return names, origins
