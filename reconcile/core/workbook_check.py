"""The workbook read against the server, before any step is planned (pure).

Which existing accounts the rows speak about and which leave, which rows are new,
which classes are created, removed or kept — and the problems and warnings met on
the way: a login on two rows, an account renamed or gone since the export, a class on
two rows or absent from the sheet. (Whether the workbook is this server's at all is
`reconcile.core.safeguards`.)
`reconcile.core.plan` plans the five steps from what this check keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from reconcile.core.findings import Finding, problem, warning
from reconcile.core.model import (
    ExportedUser,
    Location,
    SchoolClass,
    ServerState,
    Target,
    User,
    WantedClass,
    WantedState,
    WantedUser,
    class_key,
    clean_text,
    display_name,
    person_key,
    user_order,
)
from reconcile.core.operations import class_order_key
from reconcile.core.vocabulary import LAST_NAME, ClassStatus


@dataclass(frozen=True)
class CheckedWorkbook:
    """What the workbook asks that can be planned, and what its reading found."""

    # Existing users the workbook speaks about, by login, in workbook order.
    rows: Mapping[str, WantedUser]
    # New rows (no login yet), in workbook order, and by their key (`nouveau:<row>`).
    new_rows: tuple[WantedUser, ...]
    new_by_key: Mapping[str, WantedUser]
    leaving: frozenset[str]
    # Classes: the workbook's rows by class key, and what they ask.
    class_rows: Mapping[str, WantedClass]
    removed: Mapping[str, SchoolClass]
    created: Mapping[str, WantedClass]
    problems: tuple[Finding, ...]
    warnings: tuple[Finding, ...]


def check_workbook(current: ServerState, wanted: WantedState) -> CheckedWorkbook:
    """The rows of `wanted` that `current` lets the plan act on, and what reading them found."""
    return _WorkbookCheck(current, wanted).run()


def at_column(location: Location | None, column: str | None) -> Location | None:
    """`location`, pointed at one cell of its row."""
    return None if location is None else replace(location, column=column)


def name_list(users: list[User]) -> str:
    """`Prénom NOM (login), …` in the person order."""
    ordered = sorted(users, key=user_order)
    return ", ".join(f"{u.display_name} ({u.login})" for u in ordered)


def _accounts(count: int) -> str:
    return "1 compte" if count == 1 else f"{count} comptes"


class _WorkbookCheck:
    """One reading of the workbook against the server: users, then classes."""

    def __init__(self, current: ServerState, wanted: WantedState) -> None:
        self.current = current
        self.wanted = wanted
        self.problems: list[Finding] = []
        self.warnings: list[Finding] = []
        self.rows: dict[str, WantedUser] = {}
        self.new_rows: list[WantedUser] = []
        self.new_by_key: dict[str, WantedUser] = {}
        self.leaving: set[str] = set()
        self.class_rows: dict[str, WantedClass] = {}
        self.removed: dict[str, SchoolClass] = {}
        self.created: dict[str, WantedClass] = {}

    def run(self) -> CheckedWorkbook:
        self._read_user_rows()
        self._read_class_rows()
        return CheckedWorkbook(
            rows=self.rows,
            new_rows=tuple(self.new_rows),
            new_by_key=self.new_by_key,
            leaving=frozenset(self.leaving),
            class_rows=self.class_rows,
            removed=self.removed,
            created=self.created,
            problems=tuple(self.problems),
            warnings=tuple(self.warnings),
        )

    def _problem(self, message: str, location: Location | None = None) -> None:
        self.problems.append(problem(message, location))

    def _warn(self, message: str, location: Location | None = None) -> None:
        self.warnings.append(warning(message, location))

    # --- The users' rows -----------------------------------------------------------------

    def _read_user_rows(self) -> None:
        export = self.wanted.export
        exported = {u.login: u for u in export.users} if export else {}
        seen: dict[str, WantedUser] = {}
        for row in self.wanted.users:
            if row.login is None:
                self.new_rows.append(row)
                self.new_by_key[row.key] = row
            elif row.login in seen:
                self._problem(
                    f"L'identifiant {row.login} figure sur deux lignes ; il ne doit y en avoir qu'une.",
                    row.location,
                )
            else:
                seen[row.login] = row
                self._read_existing_row(row, row.login, exported.get(row.login))
        self._report_users_absent_from_workbook(seen, exported)

    def _read_existing_row(self, row: WantedUser, login: str, exported: ExportedUser | None) -> None:
        """Keep the row of an account still on the server and still the same person."""
        user = self.current.user(login)
        if user is None:
            self._warn(
                f"{display_name(row.first_name, row.last_name)} ({login}) n'existe plus sur le "
                "serveur (compte supprimé depuis l'export ?) : cette ligne est ignorée.",
                row.location,
            )
            return
        if not self._names_the_account(row, user, exported):
            return
        self.rows[login] = row
        if row.target is Target.LEAVES:
            self.leaving.add(login)

    def _names_the_account(self, row: WantedUser, user: User, exported: ExportedUser | None) -> bool:
        """Whether the row still names the account its login has now.

        Names edited in the workbook only earn a warning (reconcile renames nobody); a
        login that names another person than at the export is a problem.
        """
        login = user.login
        same_spelling = (user.last_name, user.first_name) == (row.last_name, row.first_name)
        if same_spelling or person_key(user.last_name, user.first_name) == person_key(
            row.last_name, row.first_name
        ):
            return True
        if exported and person_key(exported.last_name, exported.first_name) == person_key(
            user.last_name, user.first_name
        ):
            self._warn(
                f"Les nom et prénom de {login} ont été modifiés dans le classeur "
                f"(« {display_name(row.first_name, row.last_name)} ») : reconcile ne renomme "
                f"pas les comptes ; la ligne s'applique au compte « {user.display_name} ».",
                at_column(row.location, LAST_NAME),
            )
            return True
        self._problem(
            f"L'identifiant {login} désigne maintenant « {user.display_name} » sur le "
            f"serveur, et non « {display_name(row.first_name, row.last_name)} » : le compte "
            "a changé depuis l'export. Refaites un export et reportez-y vos choix.",
            row.location,
        )
        return False

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
                f"laissé(s) tel(s) quel(s) : {name_list(rows_removed)}. Pour supprimer un compte, "
                "gardez sa ligne et écrivez « Quitte l'école » dans la colonne « Classe cible ».",
            )
        if added:
            when = "ajouté(s) sur le serveur depuis l'export" if exported else "absent(s) du classeur"
            self._warn(
                f"{_accounts(len(added))} {when}, laissé(s) tel(s) quel(s) : {name_list(added)}.",
            )

    # --- The classes' rows ---------------------------------------------------------------

    def _read_class_rows(self) -> None:
        for row in self.wanted.classes:
            key = class_key(row.name)
            on_server = self.current.class_by_name(row.name)
            if key in self.class_rows:
                self._report_second_class_row(row, on_server)
            else:
                self.class_rows[key] = row
                self._read_class_row(row, key, on_server)
        self._report_classes_absent_from_workbook()

    def _report_second_class_row(self, row: WantedClass, on_server: SchoolClass | None) -> None:
        if row.status is ClassStatus.CREATE and on_server is not None:
            self._report_existing_name(row, on_server)
        else:
            self._problem(
                f"La classe « {row.name} » figure sur deux lignes de l'onglet « Classes ».",
                row.location,
            )

    def _read_class_row(self, row: WantedClass, key: str, on_server: SchoolClass | None) -> None:
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

    def _report_existing_name(self, row: WantedClass, on_server: SchoolClass) -> None:
        self._problem(
            f"Une classe « {on_server.name} » existe déjà sur le serveur (les noms de classe ne "
            "tiennent pas compte des majuscules) : choisissez un autre nom, ou le statut « Conserver ».",
            row.location,
        )

    def _report_classes_absent_from_workbook(self) -> None:
        unlisted = [c for c in self.current.classes if class_key(c.name) not in self.class_rows]
        export = self.wanted.export
        exported = {class_key(name) for name in export.class_names} if export else set()
        for school_class in sorted(unlisted, key=lambda c: class_order_key(c.name)):
            name = school_class.name
            if class_key(name) in exported:
                why = f"La classe « {name} » de l'export n'a plus de ligne dans l'onglet « Classes » "
                why += "(ligne effacée ou renommée ?)"
            else:
                why = f"La classe « {name} » du serveur ne figure pas dans l'onglet « Classes » "
                why += "(créée depuis l'export ?)"
            self._warn(f"{why} : elle est conservée telle quelle.")
