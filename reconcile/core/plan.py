"""The diff engine: `make_plan(current, wanted)` -> the ordered operations of the rentrée.

Pure: no HTTP, no files, no clock. The plan is data (`reconcile.core.operations`):
`reconcile plan` renders it, `reconcile apply` executes and journals it. The workbook
is first read against the server (`reconcile.core.workbook_check`); the planner
then builds the five steps of the procedure, each with its own checks.
"""

from __future__ import annotations

from collections import defaultdict

from reconcile.core.findings import Finding, problem, warning
from reconcile.core.model import (
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
    class_reading_key,
    display_name,
    person_key,
)
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
    class_order_key,
    mentioned_users,
)
from reconcile.core.safeguards import (
    DEFAULT_SAFEGUARDS,
    Guarded,
    Safeguards,
    check_safeguards,
    mass_delete_problems,
)
from reconcile.core.vocabulary import (
    DEFAULT_MASS_DELETE_THRESHOLD,
    RESPONSIBLE,
    TARGET_CLASS,
    ClassStatus,
)
from reconcile.core.workbook_check import at_column, check_workbook, name_list


def make_plan(
    current: ServerState,
    wanted: WantedState,
    *,
    mass_delete_threshold: float = DEFAULT_MASS_DELETE_THRESHOLD,
    allow_mass_delete: bool = False,
    safeguards: Safeguards = DEFAULT_SAFEGUARDS,
    workbook: WantedState | None = None,
) -> Plan:
    """The operations that take `current` to `wanted`, grouped by step and ordered.

    Deterministic: the same states give the same plan, whatever order the server
    listed its users in. Problems block the plan; warnings are for the secretary.
    `workbook`: the workbook as read, when `wanted` is it resolved with a journal; the
    safeguards (`reconcile.core.safeguards`) judge it.
    """
    guarded = check_safeguards(current, workbook or wanted, safeguards)
    return _Planner(current, wanted, guarded).build(mass_delete_threshold, allow_mass_delete)


class _Planner:
    """One computation of a plan: the workbook checked against the server, then the five steps."""

    def __init__(self, current: ServerState, wanted: WantedState, guarded: Guarded) -> None:
        self.current = current
        self.guarded = guarded
        self.wanted = wanted
        self.users_by_class: dict[int, list[User]] = defaultdict(list)
        for user in current.users:
            if user.class_id is not None:
                self.users_by_class[user.class_id].append(user)
        self._users_by_person: dict[tuple[str, str], list[User]] | None = None
        self._class_names: dict[str, str | None] = {}
        workbook = check_workbook(current, wanted)
        self.problems: list[Finding] = [*guarded.problems, *workbook.problems]
        self.warnings: list[Finding] = [*guarded.warnings, *workbook.warnings]
        # Existing users the workbook speaks about, by login, in workbook order.
        self.rows = workbook.rows
        self.new_rows = workbook.new_rows
        self.new_by_key = workbook.new_by_key
        self.leaving = workbook.leaving
        # Classes: the workbook's rows by class key, and what they ask.
        self.class_rows = workbook.class_rows
        self.removed = workbook.removed
        self.created = workbook.created
        # New adults a class names responsible: created in step 1, before the class.
        self.step1_adults: set[str] = set()

    def _problem(self, message: str, location: Location | None = None) -> None:
        self.problems.append(problem(message, location))

    def _warn(self, message: str, location: Location | None = None) -> None:
        self.warnings.append(warning(message, location))

    # --- What the steps share --------------------------------------------------------

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
        where = at_column(row.location, TARGET_CLASS)
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
            "dans l'onglet « Classes ».",
            where,
        )
        return None

    def _responsible_ok(self, key: str, class_name: str, location: Location | None) -> bool:
        """Whether `key` can be made responsible of `class_name`; a problem otherwise."""
        where = at_column(location, RESPONSIBLE)
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
        self.problems += mass_delete_problems(
            self.current, self.leaving, mass_delete_threshold, allow_mass_delete
        )
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
            unusual_moves=self.guarded.unusual_moves,
        )

    def _classes(self) -> tuple[Operation, ...]:
        """Step 1: new responsible teachers, new classes, new responsibles of kept classes."""
        create_classes = self._class_creations()
        kept = [c for c in self.current.classes if class_key(c.name) not in self.removed]
        changes = [
            change
            for school_class in sorted(kept, key=lambda c: class_order_key(c.name))
            if (change := self._responsible_change(school_class)) is not None
        ]
        # After both: a new adult is created in step 1 when a class names it responsible.
        new_adults = [
            CreateUser(r.key, r.last_name, r.first_name, r.type)
            for r in self.new_rows
            if r.key in self.step1_adults
        ]
        return (*new_adults, *create_classes, *changes)

    def _class_creations(self) -> list[CreateClass]:
        create_classes: list[CreateClass] = []
        for new_class in self.created.values():
            if new_class.responsible is None:
                self._problem(
                    f"La nouvelle classe {new_class.name} n'a pas d'enseignant responsable : "
                    "choisissez-en un.",
                    at_column(new_class.location, RESPONSIBLE),
                )
            elif self._responsible_ok(new_class.responsible, new_class.name, new_class.location):
                create_classes.append(CreateClass(new_class.name, new_class.responsible))
        return create_classes

    def _responsible_change(self, school_class: SchoolClass) -> ChangeResponsible | None:
        """The new responsible the workbook gives a kept class, if any and if possible."""
        row: WantedClass | None = self.class_rows.get(class_key(school_class.name))
        if row is not None and row.status is not ClassStatus.KEEP:
            row = None  # `Créer` on an existing name: already a problem
        chosen = row.responsible if row is not None and row.responsible else None
        if chosen is not None:
            chosen = self._responsible_asked(school_class, chosen, row)
        if chosen is None or chosen == school_class.responsible_login:
            if school_class.responsible_login in self.leaving:
                self._report_unreplaced_teacher(school_class, row)
            return None
        location = row.location if row is not None else None
        if not self._responsible_ok(chosen, school_class.name, location):
            return None
        return ChangeResponsible(school_class.name, chosen, school_class.responsible_login)

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
        where = at_column(row.location if row is not None else None, RESPONSIBLE)
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
            "responsable. Pour en nommer un autre, écrivez-le dans l'onglet « Classes » ; pour revenir "
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
        location = (
            at_column(row.location, RESPONSIBLE)
            if row is not None
            else at_column(teacher.location, TARGET_CLASS)
        )
        self._problem(
            f"{display_name(teacher.first_name, teacher.last_name)} ({teacher.key}) quitte l'école mais "
            f"reste responsable de la classe {school_class.name}, qui est conservée : indiquez un autre "
            f"enseignant responsable pour {school_class.name} dans l'onglet « Classes ».",
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
                    at_column(row.location, TARGET_CLASS),
                )
                continue
            self._check_new_person(row, seen)
            destination = None
            if row.target is Target.CLASS:
                if row.type is UserType.ADULT:
                    self._problem(
                        f"{who} est un adulte : un adulte ne peut pas être placé dans une classe "
                        f"(« {row.target_class} »). Laissez sa classe cible vide ; pour en faire "
                        "l'enseignant responsable, indiquez-le dans l'onglet « Classes ».",
                        at_column(row.location, TARGET_CLASS),
                    )
                else:
                    destination = self._destination(row)
            elif row.type is UserType.PUPIL:
                self._warn(
                    f"Le nouvel élève {who} n'a pas de classe cible : son compte sera créé sans classe.",
                    at_column(row.location, TARGET_CLASS),
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

    def _distribution(self) -> tuple[TransferPupils, ...]:
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
                    at_column(row.location, TARGET_CLASS),
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
        self, transfers: tuple[TransferPupils, ...], late_departures: tuple[str, ...]
    ) -> tuple[Operation, ...]:
        """Step 5: remove classes in one go (listed in the reading order: one POST, no order to keep), then
        their departing responsible teachers."""
        if not self.removed:
            return ()
        moved = {login for op in transfers for login in op.logins}
        ordered = sorted(self.removed.values(), key=lambda c: class_reading_key(c.name))
        for school_class in ordered:
            self._report_pupils_left_behind(school_class, moved)
        ops: list[Operation] = [DeleteClasses(tuple(c.name for c in ordered))]
        if late_departures:
            ops.append(DeleteUsers(late_departures, Step.CLASS_REMOVALS))
        return tuple(ops)

    def _report_pupils_left_behind(self, school_class: SchoolClass, moved: set[str]) -> None:
        """A removed class's pupils who neither leave nor move end up in no class: say so."""
        left_behind = [
            u
            for u in self.users_by_class.get(school_class.id, ())
            if u.type is UserType.PUPIL and u.login not in self.leaving and u.login not in moved
        ]
        if not left_behind:
            return
        row = self.class_rows[class_key(school_class.name)]
        consequence = (
            "Cet élève ne sera pas supprimé, mais se retrouvera sans classe"
            if len(left_behind) == 1
            else "Ces élèves ne seront pas supprimés, mais se retrouveront sans classe"
        )
        self._warn(
            f"La classe {school_class.name} sera supprimée alors qu'il y reste "
            f"{_pupils(len(left_behind))} sans classe cible : {name_list(left_behind)}. "
            f"{consequence} (« classe : aucune »).",
            row.location,
        )

    def _names_and_origins(
        self, steps: tuple[tuple[Step, tuple[Operation, ...]], ...]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The display names of every user key the operations mention, and where each
        existing one stands before the plan (`Plan.names`, `Plan.origins`)."""
        names: dict[str, str] = {}
        origins: dict[str, str] = {}
        for _, ops in steps:
            for op in ops:
                for key in mentioned_users(op):
                    if key not in names:
                        self._note_person(key, names, origins)
        return names, origins

    def _note_person(self, key: str, names: dict[str, str], origins: dict[str, str]) -> None:
        new = self.new_by_key.get(key)
        if new is not None:
            names[key] = display_name(new.first_name, new.last_name)
            return
        user = self.current.user(key)
        if user is None:
            return
        names[key] = user.display_name
        if user.type is UserType.ADULT:
            origins[key] = ADULT_ORIGIN
        else:
            where = self.current.class_name_of(user)
            if where is not None:
                origins[key] = where


def _pupils(count: int) -> str:
    return f"{count} élève" if count == 1 else f"{count} élèves"
