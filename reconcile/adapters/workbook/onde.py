"""`reconcile onde`: fill a copy of the rentrée workbook from an ONDE extraction.

The workbook is edited with openpyxl on a copy of the input, so that its styles, data
validations, protection and hidden metadata survive; only these cells change:
`Utilisateurs` (`Classe cible` of pupils, new pupil rows, and the columns `Origine`,
`INE`, `Détail ONDE`), new classes appended to `Classes` (status `Créer`), and the
sheet `ONDE` (each ONDE class label -> an IntraScol class, editable).

The decisions themselves are made by the pure `reconcile.core.onde*` modules. Sheet names, header
texts, the header search depth, named styles and cell reading come from the workbook
module (`reconcile.adapters.workbook.layout`, `cell_text`); headers are found here on the
openpyxl sheet itself (the reader's finder works on a DataFrame), since cells are edited
in place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.adapters.workbook import layout
from reconcile.adapters.workbook.layout import STYLE_HEADER, STYLE_NOTE, STYLE_TITLE
from reconcile.adapters.workbook.reader import cell_text
from reconcile.adapters.workbook.writer import teacher_labels
from reconcile.core.errors import OndeError
from reconcile.core.model import User, UserType, fold
from reconcile.core.onde import (
    Arrival,
    Decision,
    Matching,
    NewPupilRow,
    Origin,
    ServerPupil,
    match_extraction,
)
from reconcile.core.onde_classes import (
    ClassMapping,
    ClassOrigin,
    check_complete,
    guess_responsible,
    map_classes,
)
from reconcile.core.onde_extraction import Extraction, OndePupil, read_extraction
from reconcile.core.onde_memory import MEMORY_FILE_NAME, Memory
from reconcile.core.vocabulary import (
    CLASS_NAME,
    CLASSES_SHEET,
    CURRENT_CLASS,
    DEFAULT_MASS_DELETE_THRESHOLD,
    FIRST_NAME,
    LAST_NAME,
    LEAVES_SCHOOL,
    LOGIN,
    RESPONSIBLE,
    STATUS,
    TARGET_CLASS,
    TYPE,
    USERS_SHEET,
    ClassStatus,
)

ONDE_SHEET = "ONDE"

ORIGIN_HEADER = "Origine"
REFERENCE_HEADER = "INE"
DETAIL_HEADER = "Détail ONDE"

ONDE_HEADERS = (
    "Libellé ONDE",
    "Identifiant ONDE",
    "Niveaux",
    "Élèves",
    "Classe IntraScol",
    "Correspondance",
)
ONDE_TARGET_HEADER = "Classe IntraScol"

# Review colours: ambiguous rows (to settle) and departures (to check).
AMBIGUOUS_FILL = PatternFill("solid", start_color="F8CBAD", end_color="F8CBAD")
LEAVING_FILL = PatternFill("solid", start_color="FFE699", end_color="FFE699")
NEW_CLASS_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
_HEADER_FONT = Font(bold=True)
_DETAIL_CHARS_PER_LINE = 80  # in the 70-wide `Détail ONDE` column


@dataclass(frozen=True)
class OndeReport:
    """What `reconcile onde` did, for the terminal."""

    output: Path
    extraction: Extraction
    matching: Matching
    classes: tuple[ClassMapping, ...]
    memory_path: Path
    remembered: int
    # Classes to create (Classes sheet, status Créer) that no row's Classe cible names.
    unused_new_classes: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[Origin, int]:
        return self.matching.counts()

    @property
    def new_classes(self) -> tuple[ClassMapping, ...]:
        return tuple(m for m in self.classes if m.origin is not ClassOrigin.EXISTING)


def default_output(workbook: Path) -> Path:
    """`rentree.xlsx` -> `rentree-onde.xlsx`, beside it."""
    return workbook.with_name(f"{workbook.stem}-onde{workbook.suffix or '.xlsx'}")


def fill_from_onde(
    workbook_path: Path,
    extraction_path: Path,
    output: Path | None = None,
    *,
    force: bool = False,
    memory_path: Path | None = None,
    leaving_classes: Iterable[str] = (),
    threshold: float = DEFAULT_MASS_DELETE_THRESHOLD,
    today: str,
) -> OndeReport:
    """Write a new workbook filled from the extraction; the input is never modified.

    Raises `OndeError` (nothing written) for a malformed or partial extraction, an
    unreadable workbook, or an existing output without `force`.
    """
    output = output or default_output(workbook_path)
    if output.suffix.lower() != ".xlsx":
        raise OndeError(
            f"« {output.name} » : le classeur doit finir par .xlsx, sinon ni Excel ni LibreOffice Calc "
            f"ni reconcile plan ne l'ouvrent comme un classeur. Par exemple : -o {output.stem}.xlsx"
        )
    if output.resolve() == workbook_path.resolve():
        raise OndeError(
            f"Le classeur de sortie {output} est le classeur d'entrée : choisissez un autre nom avec -o."
        )
    if output.exists() and not force:
        raise OndeError(
            f"Le fichier {output} existe déjà. Choisissez un autre nom avec -o, ou ajoutez --force."
        )
    try:
        data = extraction_path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)  # the system's words, for the rarer cases
        if isinstance(error, FileNotFoundError):
            reason = "le fichier n'existe pas"
        elif isinstance(error, IsADirectoryError):
            reason = "c'est un dossier"
        elif isinstance(error, PermissionError):
            reason = "vous n'avez pas le droit de le lire"
        raise OndeError(f"Impossible de lire l'extraction ONDE {extraction_path} : {reason}.") from None
    extraction = read_extraction(data, source=f"L'extraction {extraction_path.name}")
    book = _open_workbook(workbook_path)
    users = _UsersSheet(book)
    classes_sheet = _ClassesSheet(book)
    memory_path = memory_path or workbook_path.parent / MEMORY_FILE_NAME
    memory = _load_memory(memory_path)

    matching = match_extraction(extraction, users.server_pupils(), users.new_pupil_rows(), memory.logins())
    check_complete(matching, threshold=threshold, leaving_classes=leaving_classes)
    mappings = map_classes(
        extraction,
        server_classes=classes_sheet.server_classes(),
        workbook_classes=classes_sheet.all_classes(),
        previous=_previous_mapping(book),
    )
    targets = {m.label: m.target for m in mappings}

    users.write(matching, targets)
    classes_sheet.add_new_classes(mappings, users.adults())
    _write_onde_sheet(book, mappings, users.class_validation_formula())
    _save_atomically(book, output, like=workbook_path)

    remembered = sum(
        memory.remember(d.onde, d.pupil.login, today) for d in matching.confirmed_homonyms if d.onde
    )
    if remembered:
        try:
            _write_private(memory_path, memory.to_json())
        except OSError as error:
            raise OndeError(
                f"Le classeur {output} est écrit, mais la mémoire des homonymes {memory_path} n'a pas pu "
                f"l'être : {error.strerror}. Relancez avec --memoire vers un dossier où vous pouvez écrire."
            ) from None
    used = {fold(name) for name in users.target_classes()}
    unused = tuple(name for name in classes_sheet.classes_to_create() if fold(name) not in used)
    return OndeReport(output, extraction, matching, mappings, memory_path, remembered, unused)


# --- Reading and writing cells ----------------------------------------------------------


def _open_workbook(path: Path) -> Workbook:
    try:
        return load_workbook(path)
    except FileNotFoundError:
        raise OndeError(f"Le classeur {path} n'existe pas.") from None
    except (InvalidFileException, KeyError, OSError, ValueError):
        raise OndeError(
            f"{path} n'est pas un classeur Excel (.xlsx) lisible. "
            "Partez du classeur écrit par reconcile export."
        ) from None


def _text(value: object) -> str:
    """A cell's text as the workbook reader sees it (numbers without `.0`, dates dd/mm/yyyy)."""
    return cell_text(value)


def _find_header(sheet: Worksheet, required: Sequence[str]) -> tuple[int, dict[str, int]]:
    """The header row (within the first rows) and the column of each folded header text."""
    wanted = {fold(name) for name in required}
    for row in sheet.iter_rows(min_row=1, max_row=layout.HEADER_SEARCH_ROWS):
        columns = {fold(_text(cell.value)): int(cell.column or 0) for cell in row if _text(cell.value)}
        if wanted <= set(columns):
            return int(row[0].row or 0), columns
    names = ", ".join(f"« {name} »" for name in required)
    raise OndeError(f"Onglet {sheet.title} : ligne d'en-tête introuvable (colonnes {names}).")


def _sheet(book: Workbook, title: str) -> Worksheet:
    for sheet in book.worksheets:
        if fold(sheet.title) == fold(title):
            return sheet
    raise OndeError(
        f"Le classeur n'a pas d'onglet « {title} » : partez du classeur écrit par reconcile export."
    )


def _last_data_row(sheet: Worksheet, header_row: int, columns: Iterable[int]) -> int:
    last = header_row
    columns = list(columns)
    for row in range(header_row + 1, sheet.max_row + 1):
        if any(_text(sheet.cell(row, column).value) for column in columns):
            last = row
    return last


def _set(cell: Cell | MergedCell, value: str | None) -> None:
    """Write text as text: never a formula, whatever it begins with."""
    cell.value = value or None
    if value and value[0] in "=+-@":
        cell.data_type = "s"


class _UsersSheet:
    REQUIRED = (LOGIN, LAST_NAME, FIRST_NAME, TYPE, CURRENT_CLASS, TARGET_CLASS)

    def __init__(self, book: Workbook) -> None:
        self.sheet = _sheet(book, USERS_SHEET)
        self.header_row, columns = _find_header(self.sheet, self.REQUIRED)
        self.columns = columns
        self.data_end = _last_data_row(self.sheet, self.header_row, columns.values())
        for header in (ORIGIN_HEADER, REFERENCE_HEADER, DETAIL_HEADER):
            self._ensure_column(header, editable=header == REFERENCE_HEADER)
        self.rows = [self._row_values(row) for row in range(self.header_row + 1, self.data_end + 1)]
        self._check_identifiers()

    def _col(self, header: str) -> int:
        return self.columns[fold(header)]

    def _ensure_column(self, header: str, *, editable: bool) -> None:
        if fold(header) in self.columns:
            return
        column = max(self.columns.values()) + 1
        template = self.sheet.cell(self.header_row, max(self.columns.values()))
        cell = self.sheet.cell(self.header_row, column, header)
        _copy_style(template, cell, keep_fill=True)
        widths = {ORIGIN_HEADER: 34, REFERENCE_HEADER: 16, DETAIL_HEADER: 70}
        self.sheet.column_dimensions[get_column_letter(column)].width = widths.get(header, 20)
        if editable:
            # The secretary types INE references here; a protected sheet must let her.
            for row in range(self.header_row + 1, max(self.data_end, self.header_row + 1) + 200):
                self.sheet.cell(row, column).protection = Protection(locked=False)
        self.columns[fold(header)] = column
        if self.sheet.auto_filter.ref:
            # The header's filter buttons cover the added column too.
            min_col, min_row, _, max_row = range_boundaries(str(self.sheet.auto_filter.ref))
            self.sheet.auto_filter.ref = (
                f"{get_column_letter(min_col or 1)}{min_row}:{get_column_letter(column)}{max_row}"
            )

    def _row_values(self, row: int) -> dict[str, str]:
        values = {name: _text(self.sheet.cell(row, column).value) for name, column in self.columns.items()}
        values["_row"] = str(row)
        return values

    def _check_identifiers(self) -> None:
        seen: dict[str, str] = {}
        for values in self.rows:
            login = values[fold(LOGIN)]
            if login and login in seen:
                raise OndeError(
                    f"Utilisateurs, lignes {seen[login]} et {values['_row']} : l'identifiant « {login} » "
                    "apparaît deux fois."
                )
            seen[login] = values["_row"]

    def _type(self, values: dict[str, str]) -> UserType | None:
        text = values[fold(TYPE)]
        return UserType.from_label(text) if text else UserType.PUPIL

    def server_pupils(self) -> list[ServerPupil]:
        return [
            ServerPupil(
                login=v[fold(LOGIN)],
                last_name=v[fold(LAST_NAME)],
                first_name=v[fold(FIRST_NAME)],
                current_class=v[fold(CURRENT_CLASS)],
                reference=v[fold(REFERENCE_HEADER)],
                row=int(v["_row"]),
            )
            for v in self.rows
            if v[fold(LOGIN)] and self._type(v) is UserType.PUPIL
        ]

    def new_pupil_rows(self) -> list[NewPupilRow]:
        return [
            NewPupilRow(int(v["_row"]), v[fold(LAST_NAME)], v[fold(FIRST_NAME)], v[fold(REFERENCE_HEADER)])
            for v in self.rows
            if not v[fold(LOGIN)] and self._type(v) is UserType.PUPIL and v[fold(LAST_NAME)]
        ]

    def adults(self) -> list[User]:
        """The adults' accounts (to guess a new class's teacher)."""
        return [
            User(v[fold(LOGIN)], v[fold(LAST_NAME)], v[fold(FIRST_NAME)], UserType.ADULT)
            for v in self.rows
            if v[fold(LOGIN)] and self._type(v) is UserType.ADULT
        ]

    def target_classes(self) -> list[str]:
        column = self._col(TARGET_CLASS)
        return [
            _text(self.sheet.cell(row, column).value) for row in range(self.header_row + 1, self.data_end + 1)
        ]

    def class_validation_formula(self) -> str | None:
        """The dropdown source of `Classe cible` (to offer the same list in the ONDE sheet)."""
        for validation in self.sheet.data_validations.dataValidation:
            if validation.type == "list" and any(
                r.min_col <= self._col(TARGET_CLASS) <= r.max_col for r in validation.sqref.ranges
            ):
                return str(validation.formula1) if validation.formula1 else None
        return None

    def write(self, matching: Matching, targets: dict[str, str]) -> None:
        for decision in matching.decisions:
            self._write_decision(decision, targets)
        appended = 0
        for arrival in matching.arrivals:
            if arrival.row is None:
                appended += 1
                self._append_row(self.data_end + appended)
                self._write_arrival(arrival, self.data_end + appended, targets, new=True)
            else:
                self._write_arrival(arrival, arrival.row, targets, new=False)
        if appended:
            _extend_validations(self.sheet, self.data_end, self.data_end + appended)
            self.data_end += appended
        self._highlight()

    def _cell(self, row: int, header: str) -> Cell | MergedCell:
        return self.sheet.cell(row, self._col(header))

    def _write_decision(self, decision: Decision, targets: dict[str, str]) -> None:
        row = decision.pupil.row
        assert row is not None
        onde = decision.onde
        previous_origin = self._cell_text(row, ORIGIN_HEADER)
        _set(self._cell(row, ORIGIN_HEADER), decision.origin.value)
        if decision.origin is Origin.ABSENT:
            # A previous run proposed the departure: the secretary's answer in the cell stands.
            if previous_origin != Origin.ABSENT.value:
                _set(self._cell(row, TARGET_CLASS), LEAVES_SCHOOL)
            self._set_detail(
                row,
                "Absent de l'extraction ONDE : quitte l'école. S'il reste, choisissez sa classe cible.",
            )
        elif decision.origin is Origin.AMBIGUOUS:
            names = " ; ".join(f"{o.display} → classe ONDE « {o.class_label} »" for o in decision.candidates)
            self._set_detail(
                row,
                f"Homonymes, à départager : {len(decision.candidates)} élève(s) d'ONDE portent ce nom : "
                f"{names}. Écrivez dans la colonne INE celui de cet élève (ou sa date de naissance), "
                "puis relancez reconcile onde ; ou choisissez vous-même sa classe cible.",
            )
        elif onde is not None:
            _set(self._cell(row, REFERENCE_HEADER), onde.ine or self._cell_text(row, REFERENCE_HEADER))
            target = targets.get(onde.class_label)
            if target:
                _set(self._cell(row, TARGET_CLASS), target)
            self._set_detail(row, _detail(onde, target))

    def _set_detail(self, row: int, text: str) -> None:
        cell = self._cell(row, DETAIL_HEADER)
        _set(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        # Spreadsheet programs do not grow a row for wrapped text everywhere: size it.
        lines = -(-len(text) // _DETAIL_CHARS_PER_LINE)
        dimension = self.sheet.row_dimensions[row]
        dimension.height = max(dimension.height or 15, 13.5 * lines + 2)

    def _cell_text(self, row: int, header: str) -> str:
        return _text(self._cell(row, header).value)

    def _write_arrival(self, arrival: Arrival, row: int, targets: dict[str, str], *, new: bool) -> None:
        onde = arrival.onde
        if new:
            _set(self._cell(row, LAST_NAME), onde.usage_name or onde.last_name)
            _set(self._cell(row, FIRST_NAME), onde.first_name)
            _set(self._cell(row, TYPE), UserType.PUPIL.label)
        target = targets.get(onde.class_label)
        if target:
            _set(self._cell(row, TARGET_CLASS), target)
        _set(self._cell(row, ORIGIN_HEADER), Origin.NEW.value)
        _set(self._cell(row, REFERENCE_HEADER), onde.ine or self._cell_text(row, REFERENCE_HEADER))
        self._set_detail(row, _detail(onde, target))

    def _append_row(self, row: int) -> None:
        """A row the export did not prepare gets the look of the row above, not its colour band."""
        for column in self.columns.values():
            cell = self.sheet.cell(row, column)
            if not cell.has_style:
                _copy_style(self.sheet.cell(row - 1, column), cell)

    def _highlight(self) -> None:
        """Review colours follow the `Origine` column (conditional formats), even as it is edited."""
        letter = get_column_letter(self._col(ORIGIN_HEADER))
        first = self.header_row + 1
        area = f"A{first}:{get_column_letter(max(self.columns.values()))}{max(self.data_end, first) + 200}"
        existing = {
            formula
            for rules in self.sheet.conditional_formatting
            for rule in rules.rules
            for formula in rule.formula or ()
        }
        for origin, fill in ((Origin.AMBIGUOUS, AMBIGUOUS_FILL), (Origin.ABSENT, LEAVING_FILL)):
            formula = f'${letter}{first}="{origin.value}"'
            if formula not in existing:
                rule = Rule(type="expression", formula=[formula], dxf=DifferentialStyle(fill=fill))
                self.sheet.conditional_formatting.add(area, rule)


def _extend_validations(sheet: Worksheet, old_end: int, new_end: int) -> None:
    """Dropdowns that reached the last row reach the appended rows too."""
    for validation in sheet.data_validations.dataValidation:
        for cells in list(validation.sqref.ranges):
            if cells.min_row <= old_end <= cells.max_row < new_end:
                validation.sqref.add(
                    f"{get_column_letter(cells.min_col)}{cells.max_row + 1}:"
                    f"{get_column_letter(cells.max_col)}{new_end}"
                )


def _copy_style(source: Cell | MergedCell, target: Cell | MergedCell, *, keep_fill: bool = False) -> None:
    """The look of `source` (font, border, alignment, number format, protection), its fill if asked."""
    if isinstance(source, Cell) and isinstance(target, Cell) and source.has_style:
        target._style = copy(source._style)  # type: ignore[attr-defined]  # openpyxl has no public copy
        if not keep_fill:
            target.fill = PatternFill()


def _detail(onde: OndePupil, target: str | None) -> str:
    text = f"ONDE ligne {onde.line} : {onde.display}, classe « {onde.class_label or '(aucune)'} »"
    if onde.class_label and target:
        return f"{text} → {target}."
    return f"{text} : pas de classe dans ONDE, choisissez sa classe cible."


class _ClassesSheet:
    REQUIRED = (CLASS_NAME, RESPONSIBLE, STATUS)

    def __init__(self, book: Workbook) -> None:
        self.sheet = _sheet(book, CLASSES_SHEET)
        self.header_row, self.columns = _find_header(self.sheet, self.REQUIRED)
        self.data_end = _last_data_row(self.sheet, self.header_row, self.columns.values())
        self.rows = [
            (self._value(row, CLASS_NAME), self._value(row, STATUS))
            for row in range(self.header_row + 1, self.data_end + 1)
        ]

    def _value(self, row: int, header: str) -> str:
        return _text(self.sheet.cell(row, self.columns[fold(header)]).value)

    def server_classes(self) -> list[str]:
        """Rows the export wrote (kept or deleted), not the ones added to be created."""
        server_statuses = {fold(ClassStatus.KEEP.value), fold(ClassStatus.DELETE.value)}
        return [name for name, status in self.rows if name and fold(status) in server_statuses]

    def classes_to_create(self) -> list[str]:
        """Rows not from the export: status Créer or empty (read after `add_new_classes`)."""
        rows = range(self.header_row + 1, self.data_end + 1)
        return [
            self._value(row, CLASS_NAME)
            for row in rows
            if self._value(row, CLASS_NAME)
            and fold(self._value(row, STATUS)) in {"", fold(ClassStatus.CREATE.value)}
        ]

    def all_classes(self) -> list[str]:
        return [name for name, _ in self.rows if name]

    def add_new_classes(self, mappings: Sequence[ClassMapping], adults: Sequence[User]) -> None:
        added: set[str] = set()
        for mapping in mappings:
            if not mapping.is_new or fold(mapping.target) in added:
                continue
            added.add(fold(mapping.target))
            self.data_end += 1
            row = self.data_end
            for column in self.columns.values():
                above = self.sheet.cell(row - 1, column)
                _copy_style(above, self.sheet.cell(row, column))
                self.sheet.cell(row, column).fill = NEW_CLASS_FILL
            _set(self.sheet.cell(row, self.columns[fold(CLASS_NAME)]), mapping.target)
            _set(self.sheet.cell(row, self.columns[fold(STATUS)]), ClassStatus.CREATE.value)
            responsible = guess_responsible(mapping.label, {a.login: a.last_name for a in adults})
            # Written as the export writes teachers (`Prénom NOM`), the way the dropdown offers them.
            label = teacher_labels(adults).get(responsible, responsible) if responsible else None
            _set(self.sheet.cell(row, self.columns[fold(RESPONSIBLE)]), label)
        if added:
            _extend_validations(self.sheet, self.data_end - len(added), self.data_end)


# --- The ONDE sheet ---------------------------------------------------------------------


def _previous_mapping(book: Workbook) -> dict[str, str]:
    """The label -> class choices of an `ONDE` sheet written by a previous run (and edited)."""
    sheet = next((s for s in book.worksheets if fold(s.title) == fold(ONDE_SHEET)), None)
    if sheet is None:
        return {}
    header_row, columns = _find_header(sheet, (ONDE_HEADERS[0], ONDE_TARGET_HEADER))
    mapping = {}
    for row in range(header_row + 1, sheet.max_row + 1):
        label = _text(sheet.cell(row, columns[fold(ONDE_HEADERS[0])]).value)
        target = _text(sheet.cell(row, columns[fold(ONDE_TARGET_HEADER)]).value)
        if label and target:
            mapping[label] = target
    return mapping


def _write_onde_sheet(book: Workbook, mappings: Sequence[ClassMapping], class_list: str | None) -> None:
    """The sheet `ONDE`, rewritten on each run (after `_previous_mapping` has read it)."""
    index = None
    for sheet in list(book.worksheets):
        if fold(sheet.title) == fold(ONDE_SHEET):
            index = book.worksheets.index(sheet)
            book.remove(sheet)
    classes_index = next(i for i, s in enumerate(book.worksheets) if fold(s.title) == fold(CLASSES_SHEET))
    sheet = book.create_sheet(ONDE_SHEET, index if index is not None else classes_index + 1)
    styles = set(book.named_styles)
    width = len(ONDE_HEADERS)
    last = get_column_letter(width)
    sheet.merge_cells(f"A1:{last}1")
    sheet.merge_cells(f"A2:{last}2")
    sheet["A1"] = "Correspondance des classes ONDE → classes IntraScol"
    sheet["A2"] = (
        "Chaque classe de l'extraction ONDE va dans la « Classe IntraScol » en face. Une nouvelle classe "
        "(en bleu) est ajoutée à l'onglet Classes, statut Créer. Pour changer une correspondance, "
        "modifiez la colonne « Classe IntraScol », puis relancez reconcile onde : les classes cibles suivent."
    )
    _style(sheet["A1"], STYLE_TITLE, styles, Font(bold=True, size=13))
    _style(sheet["A2"], STYLE_NOTE, styles, Font(italic=True))
    sheet["A2"].alignment = Alignment(wrap_text=True, vertical="center")
    sheet.row_dimensions[1].height = 26
    sheet.row_dimensions[2].height = 44
    header_row = 3
    for column, header in enumerate(ONDE_HEADERS, start=1):
        _style(sheet.cell(header_row, column, header), STYLE_HEADER, styles, _HEADER_FONT)
    for offset, mapping in enumerate(mappings, start=1):
        row = header_row + offset
        values = (
            mapping.label,
            mapping.onde_id,
            "-".join(mapping.levels),
            None,
            mapping.target,
            mapping.origin.value,
        )
        for column, value in enumerate(values, start=1):
            _set(sheet.cell(row, column), value)
        sheet.cell(row, 4).value = mapping.pupils
        if mapping.origin is not ClassOrigin.EXISTING:
            for column in range(1, width + 1):
                sheet.cell(row, column).fill = NEW_CLASS_FILL
    for column, size in enumerate((26, 18, 12, 9, 26, 28), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = size
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if class_list and mappings:
        validation = DataValidation(type="list", formula1=class_list, allow_blank=True)
        validation.add(f"E{header_row + 1}:E{header_row + len(mappings)}")
        sheet.add_data_validation(validation)


def _style(cell: Cell | MergedCell, name: str, available: set[str], fallback: Font) -> None:
    """The workbook's own named style when it has it (an export), else a plain bold/italic font."""
    if name in available:
        cell.style = name
    else:
        cell.font = fallback


# --- Files ------------------------------------------------------------------------------


def _load_memory(path: Path) -> Memory:
    if not path.exists():
        return Memory()
    return Memory.from_json(path.read_text(encoding="utf-8"), str(path))


def _write_private(path: Path, text: str) -> None:
    """Pupils' INE and names: readable by the secretary's account only (mode 0600)."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(path, 0o600)


def _save_atomically(book: Workbook, output: Path, like: Path) -> None:
    """Write beside the target then rename: a crash never leaves half a workbook.

    The new workbook gets the permissions of the input (`like`) it was made from.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".onde-", suffix=".xlsx", dir=output.parent)
    os.close(handle)
    try:
        book.save(temporary)
        os.chmod(temporary, like.stat().st_mode & 0o777)
        os.replace(temporary, output)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OndeError(f"Impossible d'écrire {output} : {error.strerror}.") from None
