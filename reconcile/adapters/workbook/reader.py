"""Read an edited rentrée workbook back into a validated `WantedState`.

Tolerant of what people and spreadsheet programs do (see `read_workbook`), strict about
what would make the plan guess: every problem is collected, with its sheet, row and
column as the spreadsheet shows them, in one pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from openpyxl.workbook.workbook import Workbook

from reconcile.adapters.workbook import layout
from reconcile.adapters.workbook.bounded import (
    LIMITS,
    UNREADABLE,
    OverLimit,
    WorkbookLimits,
    first_rows,
    open_streaming,
    stream_rows,
    with_empty_rows,
)
from reconcile.adapters.workbook.export_sheet import read_export_info
from reconcile.adapters.workbook.names import ClassNames, Teachers, converted_name_problem
from reconcile.adapters.workbook.sheets import cell_text, find_header_row, find_sheet
from reconcile.core import vocabulary
from reconcile.core.errors import WorkbookError
from reconcile.core.findings import Finding, did_you_mean, near_miss
from reconcile.core.model import (
    ExportedUser,
    ExportInfo,
    Location,
    Target,
    UserType,
    WantedClass,
    WantedState,
    WantedUser,
    class_key,
    fold,
    new_person_key,
)
from reconcile.core.vocabulary import LEAVES_SCHOOL, LEAVING_WORDS, ClassStatus


@dataclass(frozen=True)
class WorkbookReading:
    """What the workbook asks for, and every reason it cannot be used as it stands."""

    wanted: WantedState
    problems: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def load_wanted(path: str | os.PathLike[str], limits: WorkbookLimits = LIMITS) -> WantedState:
    """The wanted state, or `WorkbookError` listing all the workbook's problems."""
    reading = read_workbook(path, limits)
    if reading.problems:
        raise WorkbookError(str(path), reading.problems)
    return reading.wanted


def read_workbook(path: str | os.PathLike[str], limits: WorkbookLimits = LIMITS) -> WorkbookReading:
    """Read the workbook at `path`; never raises for a bad workbook, returns its problems.

    Tolerated: the header row anywhere in the first 10 rows, its texts in any case, with or
    without accents and surrounding spaces; inner and surrounding spaces in cells; NFD
    Unicode; numbers for text (`12345` for the login `12345`, `5` for the class `5`);
    a class name typed with another case, accents, spaces or hyphens when it designates one
    class only (`cm1` for `CM1`); `quitte l'ecole` or `Quitte l’école`; empty rows anywhere;
    formatting; a file re-saved by LibreOffice Calc or Excel.

    Read once, streaming (openpyxl's read-only mode), within `limits` (see `bounded`): a
    workbook past them is one problem naming the limit. A formula where a value is
    expected is a problem, whatever value the program cached for it.
    """
    empty = WantedState(users=(), classes=())
    file = Path(path)
    if not file.is_file():
        return WorkbookReading(empty, (Finding(f"le fichier {file} est introuvable."),))
    try:
        with open_streaming(file, limits) as workbook:
            return _Reader(workbook, limits).read()
    except OverLimit as over:
        return WorkbookReading(empty, (Finding(over.problem, Location(over.sheet) if over.sheet else None),))
    except UNREADABLE:
        return WorkbookReading(
            empty,
            (
                Finding(
                    f"{file.name} n'est pas un classeur Excel (.xlsx) lisible. "
                    "Enregistrez-le au format « Classeur Excel (.xlsx) » et recommencez."
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class _Row:
    """One data row of a table: Excel's row number, its texts by header, and the cells that
    held no text (a date, a number…) as the program saved them."""

    number: int
    cells: dict[str, str]
    not_text: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, header: str) -> str:
        return self.cells.get(header, "")


@dataclass
class _Table:
    sheet: str
    rows: list[_Row]
    formula_cells: list[tuple[int, str]]  # (row, header) of formulas in value columns


def _table(
    sheet: Any,
    limits: WorkbookLimits,
    headers: tuple[str, ...],
    required: tuple[str, ...],
    value_headers: tuple[str, ...],
    problems: list[Finding],
) -> _Table | None:
    """The sheet's table, streamed once: the header row among the first rows, then each row's
    texts by header. A formula in a value column is recorded (and its cell read as empty)."""
    rows = stream_rows(sheet, limits)
    top, taken = first_rows(rows, layout.HEADER_SEARCH_ROWS)
    found = find_header_row(top, required)
    if isinstance(found, list):
        listed = ", ".join(f"« {h} »" for h in found)
        problems.append(
            Finding(
                f"ligne d'en-tête introuvable dans les {layout.HEADER_SEARCH_ROWS} premières lignes "
                f"(colonnes manquantes : {listed}).",
                Location(sheet.title),
            )
        )
        return None
    columns = {h: found.column(h) for h in headers if fold(h) in found.columns}
    value_columns = {columns[h]: h for h in value_headers if h in columns}
    table = _Table(sheet.title, [], [])
    for row in chain(taken, rows):
        if row.number <= found.row:
            continue
        for column in sorted(row.formulas & value_columns.keys()):
            table.formula_cells.append((row.number, value_columns[column]))
        values = {h: row.values.get(c) if c not in row.formulas else None for h, c in columns.items()}
        table.rows.append(
            _Row(
                number=row.number,
                cells={h: cell_text(v) for h, v in values.items()},
                not_text={h: v for h, v in values.items() if v is not None and not isinstance(v, str)},
            )
        )
    return table


def _quoted(names: list[str]) -> str:
    return " ou ".join(f"« {n} »" for n in names)


class _Reader:
    def __init__(self, workbook: Workbook, limits: WorkbookLimits) -> None:
        self.workbook = workbook
        self.limits = limits
        self.problems: list[Finding] = []

    def problem(self, message: str, sheet: str, row: int | None = None, column: str | None = None) -> None:
        self.problems.append(Finding(message, Location(sheet, row, column)))

    def read(self) -> WorkbookReading:
        export = self._export_info()
        users_table = self._load(
            vocabulary.USERS_SHEET,
            vocabulary.USERS_HEADERS,
            vocabulary.USERS_REQUIRED,
            (
                vocabulary.LOGIN,
                vocabulary.LAST_NAME,
                vocabulary.FIRST_NAME,
                vocabulary.TYPE,
                vocabulary.TARGET_CLASS,
            ),
        )
        classes_table = self._load(
            vocabulary.CLASSES_SHEET,
            vocabulary.CLASSES_HEADERS,
            vocabulary.CLASSES_REQUIRED,
            (vocabulary.CLASS_NAME, vocabulary.RESPONSIBLE, vocabulary.STATUS),
        )
        names = ClassNames()
        class_rows: list[tuple[_Row, str]] = []
        if classes_table is not None:
            class_rows = self._class_names(classes_table, names)
        users: list[WantedUser] = []
        if users_table is not None:
            users = self._users(users_table, names, export, check_targets=classes_table is not None)
        classes: list[WantedClass] = []
        if classes_table is not None:
            classes = self._classes(classes_table.sheet, class_rows, users, export)
        wanted = WantedState(users=tuple(users), classes=tuple(classes), export=export)
        return WorkbookReading(wanted, tuple(sorted(self.problems, key=_reading_order)))

    def _load(
        self, name: str, headers: tuple[str, ...], required: tuple[str, ...], value_headers: tuple[str, ...]
    ) -> _Table | None:
        sheet = find_sheet(self.workbook, name)
        if sheet is None:
            self.problems.append(Finding(f"l'onglet « {name} » manque dans le classeur."))
            return None
        table = _table(sheet, self.limits, headers, required, value_headers, self.problems)
        if table is not None:
            for row, header in table.formula_cells:
                self.problem(
                    "la cellule contient une formule : tapez la valeur elle-même "
                    "(copier, puis « Collage spécial > valeurs seulement »).",
                    table.sheet,
                    row,
                    header,
                )
        return table

    # --- The hidden export sheet ---

    def _export_info(self) -> ExportInfo | None:
        sheet = find_sheet(self.workbook, vocabulary.EXPORT_SHEET)
        if sheet is None:
            self.problems.append(
                Finding(
                    f"l'onglet caché « {vocabulary.EXPORT_SHEET} » manque : ce classeur ne vient pas de "
                    "« reconcile export », ou cet onglet a été supprimé. "
                    "Refaites un export et reportez-y vos choix."
                )
            )
            return None
        return read_export_info(with_empty_rows(stream_rows(sheet, self.limits)))

    # --- Classes: names first (the users' targets refer to them) ---

    def _class_names(self, table: _Table, names: ClassNames) -> list[tuple[_Row, str]]:
        kept: list[tuple[_Row, str]] = []
        first_row: dict[str, int] = {}
        for row in table.rows:
            name = row[vocabulary.CLASS_NAME]
            if not (name or row[vocabulary.RESPONSIBLE] or row[vocabulary.STATUS]):
                continue  # an empty row
            if not name:
                self.problem("le nom de la classe est vide.", table.sheet, row.number, vocabulary.CLASS_NAME)
                continue
            key = class_key(name)
            if key in first_row:
                self.problem(
                    f"la classe « {name} » figure déjà ligne {first_row[key]}.",
                    table.sheet,
                    row.number,
                    vocabulary.CLASS_NAME,
                )
                continue
            first_row[key] = row.number
            names.add(name)
            kept.append((row, name))
        return kept

    # --- Users ---

    def _users(
        self, table: _Table, names: ClassNames, export: ExportInfo | None, *, check_targets: bool
    ) -> list[WantedUser]:
        exported = {u.login: u for u in export.users} if export else {}
        first_row: dict[str, int] = {}
        users: list[WantedUser] = []
        for row in table.rows:
            login = row[vocabulary.LOGIN]
            last_name, first_name = row[vocabulary.LAST_NAME], row[vocabulary.FIRST_NAME]
            target_text = row[vocabulary.TARGET_CLASS]
            if not (login or last_name or first_name or target_text):
                continue  # an empty row (a lone Type or remark is not a person)
            where = (table.sheet, row.number)
            before = len(self.problems)
            source: ExportedUser | None = None
            if login:
                login = self._exported_login(login, exported) if export else login
                if login in first_row:
                    self.problem(
                        f"l'identifiant « {login} » figure déjà ligne {first_row[login]}.",
                        *where,
                        vocabulary.LOGIN,
                    )
                    continue
                first_row[login] = row.number
                source = exported.get(login)
                if export is not None and source is None:
                    self.problem(
                        f"l'identifiant « {login} » ne figure pas dans l'export : "
                        "pour une nouvelle personne, "
                        "laissez l'Identifiant vide (le serveur le créera).",
                        *where,
                        vocabulary.LOGIN,
                    )
            else:
                self._new_names(row, where)
            kind = self._user_type(row, source, where)
            target, target_class = self._target(row, names, where, check=check_targets)
            if not login and target is Target.LEAVES:
                self.problem(
                    f"une nouvelle personne ne peut pas avoir « {LEAVES_SCHOOL} » : effacez la ligne "
                    "ou choisissez sa classe.",
                    *where,
                    vocabulary.TARGET_CLASS,
                )
            if len(self.problems) > before:
                continue
            users.append(
                WantedUser(
                    key=login or new_person_key(row.number),
                    login=login or None,
                    last_name=last_name or (source.last_name if source else ""),
                    first_name=first_name or (source.first_name if source else ""),
                    type=kind,
                    target=target,
                    target_class=target_class,
                    location=Location(table.sheet, row.number),
                )
            )
        return users

    def _new_names(self, row: _Row, where: tuple[str, int]) -> None:
        """A new row's Nom and Prénom: both given, as text (they will name a new account)."""
        names = (vocabulary.LAST_NAME, vocabulary.FIRST_NAME)
        missing = [h for h in names if not row[h]]
        if missing:
            self.problem(
                "nouvelle personne sans "
                + " ni ".join(missing)
                + " : remplissez "
                + ("les deux." if len(missing) == 2 else f"la colonne « {missing[0]} »."),
                *where,
                missing[0],
            )
        for header in names:
            message = converted_name_problem(header, row.not_text.get(header))
            if message:
                self.problem(message, *where, header)

    @staticmethod
    def _exported_login(text: str, exported: dict[str, ExportedUser]) -> str:
        """The exported login `text` stands for: exact, else case-insensitive or leading zeros lost."""
        if text in exported:
            return text
        matches = [login for login in exported if login.casefold() == text.casefold()]
        if not matches and text.isdigit():
            matches = [
                login for login in exported if login.isdigit() and login.lstrip("0") == text.lstrip("0")
            ]
        return matches[0] if len(matches) == 1 else text

    def _user_type(self, row: _Row, source: ExportedUser | None, where: tuple[str, int]) -> UserType:
        text = row[vocabulary.TYPE]
        if not text:
            return source.type if source else UserType.PUPIL
        kind = UserType.from_label(text)
        if kind is None:
            self.problem(f"type « {text} » inconnu : écrivez Élève ou Adulte.", *where, vocabulary.TYPE)
            return UserType.PUPIL
        return kind

    def _target(
        self, row: _Row, names: ClassNames, where: tuple[str, int], *, check: bool
    ) -> tuple[Target, str | None]:
        text = row[vocabulary.TARGET_CLASS]
        if not text:
            return Target.UNCHANGED, None
        if fold(text) == fold(LEAVES_SCHOOL):
            return Target.LEAVES, None
        name, candidates = names.resolve(text)
        if name is not None:
            return Target.CLASS, name
        if check:
            if candidates:
                message = f"« {text} » peut désigner {_quoted(candidates)} : écrivez le nom exact."
            else:
                meant = near_miss(text, [*names.by_key.values(), LEAVES_SCHOOL], _LEAVING)
                message = (
                    f"la classe « {text} » n'existe pas dans l'onglet Classes{did_you_mean(meant) or '.'}"
                )
            self.problem(message, *where, vocabulary.TARGET_CLASS)
        return Target.CLASS, text

    # --- Classes: statuses and responsible teachers ---

    def _classes(
        self, sheet: str, rows: list[tuple[_Row, str]], users: list[WantedUser], export: ExportInfo | None
    ) -> list[WantedClass]:
        exported_names = {class_key(n): n for n in export.class_names} if export else {}
        resolver = Teachers(users, export)
        classes: list[WantedClass] = []
        for row, typed_name in rows:
            where = (sheet, row.number)
            before = len(self.problems)
            existing = exported_names.get(class_key(typed_name))
            name = existing or typed_name
            status = self._status(row, name, existing is not None, where)
            responsible: str | None = None
            text = row[vocabulary.RESPONSIBLE]
            if text and status is not ClassStatus.DELETE:
                responsible, message = resolver.resolve(text)
                if message:
                    self.problem(message, *where, vocabulary.RESPONSIBLE)
            elif status is ClassStatus.CREATE:
                self.problem(
                    f"la nouvelle classe « {name} » n'a pas d'enseignant responsable : "
                    "écrivez son identifiant ou « Prénom NOM ».",
                    *where,
                    vocabulary.RESPONSIBLE,
                )
            if len(self.problems) > before or status is None:
                continue
            classes.append(WantedClass(name, status, responsible, Location(sheet, row.number)))
        return classes

    def _status(self, row: _Row, name: str, existing: bool, where: tuple[str, int]) -> ClassStatus | None:
        text = fold(row[vocabulary.STATUS])
        if text in {"", "conserver", "garder"}:
            # A kept class that the export did not contain is a class to create.
            return ClassStatus.KEEP if existing else ClassStatus.CREATE
        if text in {"supprimer", "supprimee", "a supprimer"}:
            if existing:
                return ClassStatus.DELETE
            self.problem(
                f"la classe « {name} » n'est pas sur le serveur : elle ne peut pas être supprimée.",
                *where,
                vocabulary.STATUS,
            )
            return None
        if text in {"creer", "nouvelle", "a creer"}:
            if not existing:
                return ClassStatus.CREATE
            self.problem(
                f"la classe « {name} » existe déjà : mettez le Statut « Conserver » ou « Supprimer ».",
                *where,
                vocabulary.STATUS,
            )
            return None
        self.problem(
            f"statut « {row[vocabulary.STATUS]} » inconnu : écrivez Conserver, Supprimer ou Créer.",
            *where,
            vocabulary.STATUS,
        )
        return None


_SHEET_ORDER = {vocabulary.USERS_SHEET: 1, vocabulary.CLASSES_SHEET: 2}
_LEAVING = {fold(word): LEAVES_SCHOOL for word in LEAVING_WORDS}  # « départ » meant « Quitte l'école »


def _reading_order(problem: Finding) -> tuple[int, int]:
    """Whole-workbook problems first, then Utilisateurs then Classes, each by row (stable)."""
    if problem.location is None:
        return (0, 0)
    return (_SHEET_ORDER.get(problem.location.sheet, 3), problem.location.row or 0)


__all__ = ["WorkbookReading", "load_wanted", "read_workbook"]
