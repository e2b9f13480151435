"""The `Utilisateurs` sheet of `reconcile onde`: the pupils read, the matching written in place.

Pupils' `Classe cible`, new pupil rows, and the columns `Origine`, `INE` (editable: the
secretary settles homonyms there) and `Détail ONDE`, added when the workbook lacks them.
"""

from __future__ import annotations

from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, PatternFill, Protection
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from reconcile.adapters.workbook.sheets import (
    cell_text,
    copy_style,
    extend_validations,
    last_data_row,
    put_text,
    require_header_row,
    require_sheet,
)
from reconcile.core.errors import OndeError
from reconcile.core.model import User, UserType, fold
from reconcile.core.onde import Arrival, Decision, Matching, NewPupilRow, Origin, ServerPupil
from reconcile.core.onde_extraction import OndePupil
from reconcile.core.vocabulary import (
    CURRENT_CLASS,
    FIRST_NAME,
    LAST_NAME,
    LEAVES_SCHOOL,
    LOGIN,
    TARGET_CLASS,
    TYPE,
    USERS_SHEET,
)

ORIGIN_HEADER = "Origine"
REFERENCE_HEADER = "INE"
DETAIL_HEADER = "Détail ONDE"

# Review colours: ambiguous rows (to settle) and departures (to check).
AMBIGUOUS_FILL = PatternFill("solid", start_color="F8CBAD", end_color="F8CBAD")
LEAVING_FILL = PatternFill("solid", start_color="FFE699", end_color="FFE699")
_DETAIL_CHARS_PER_LINE = 80  # in the 70-wide `Détail ONDE` column


class UsersSheet:
    """The `Utilisateurs` sheet, edited in place: its pupils read, the matching written."""

    REQUIRED = (LOGIN, LAST_NAME, FIRST_NAME, TYPE, CURRENT_CLASS, TARGET_CLASS)

    def __init__(self, book: Workbook) -> None:
        self.sheet = require_sheet(book, USERS_SHEET, OndeError)
        found = require_header_row(self.sheet, self.REQUIRED, OndeError)
        self.header_row = found.row
        self.columns = dict(found.columns)  # a header written twice: its first column, as the reader
        self.filled = list(found.filled)  # every column with a header, to style and to extend
        self.data_end = last_data_row(self.sheet, self.header_row, self.filled)
        for header in (ORIGIN_HEADER, REFERENCE_HEADER, DETAIL_HEADER):
            self._ensure_column(header, editable=header == REFERENCE_HEADER)
        self.rows = [self._row_values(row) for row in range(self.header_row + 1, self.data_end + 1)]
        self._check_identifiers()

    def _col(self, header: str) -> int:
        return self.columns[fold(header)]

    def _ensure_column(self, header: str, *, editable: bool) -> None:
        if fold(header) in self.columns:
            return
        column = max(self.filled) + 1
        template = self.sheet.cell(self.header_row, max(self.filled))
        cell = self.sheet.cell(self.header_row, column, header)
        copy_style(template, cell, keep_fill=True)
        widths = {ORIGIN_HEADER: 34, REFERENCE_HEADER: 16, DETAIL_HEADER: 70}
        self.sheet.column_dimensions[get_column_letter(column)].width = widths.get(header, 20)
        if editable:
            # The secretary types INE references here; a protected sheet must let her.
            for row in range(self.header_row + 1, max(self.data_end, self.header_row + 1) + 200):
                self.sheet.cell(row, column).protection = Protection(locked=False)
        self.columns[fold(header)] = column
        self.filled.append(column)
        if self.sheet.auto_filter.ref:
            # The header's filter buttons cover the added column too.
            min_col, min_row, _, max_row = range_boundaries(str(self.sheet.auto_filter.ref))
            self.sheet.auto_filter.ref = (
                f"{get_column_letter(min_col or 1)}{min_row}:{get_column_letter(column)}{max_row}"
            )

    def _row_values(self, row: int) -> dict[str, str]:
        values = {
            name: cell_text(self.sheet.cell(row, column).value) for name, column in self.columns.items()
        }
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
            cell_text(self.sheet.cell(row, column).value)
            for row in range(self.header_row + 1, self.data_end + 1)
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
            extend_validations(self.sheet, self.data_end, self.data_end + appended)
            self.data_end += appended
        self._highlight()

    def _cell(self, row: int, header: str) -> Cell | MergedCell:
        return self.sheet.cell(row, self._col(header))

    def _write_decision(self, decision: Decision, targets: dict[str, str]) -> None:
        row = decision.pupil.row
        assert row is not None
        onde = decision.onde
        previous_origin = self._cell_text(row, ORIGIN_HEADER)
        put_text(self._cell(row, ORIGIN_HEADER), decision.origin.value)
        if decision.origin is Origin.ABSENT:
            # A previous run proposed the departure: the secretary's answer in the cell stands.
            if previous_origin != Origin.ABSENT.value:
                put_text(self._cell(row, TARGET_CLASS), LEAVES_SCHOOL)
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
            put_text(self._cell(row, REFERENCE_HEADER), onde.ine or self._cell_text(row, REFERENCE_HEADER))
            target = targets.get(onde.class_label)
            if target:
                put_text(self._cell(row, TARGET_CLASS), target)
            self._set_detail(row, _detail(onde, target))

    def _set_detail(self, row: int, text: str) -> None:
        cell = self._cell(row, DETAIL_HEADER)
        put_text(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        # Spreadsheet programs do not grow a row for wrapped text everywhere: size it.
        lines = -(-len(text) // _DETAIL_CHARS_PER_LINE)
        dimension = self.sheet.row_dimensions[row]
        dimension.height = max(dimension.height or 15, 13.5 * lines + 2)

    def _cell_text(self, row: int, header: str) -> str:
        return cell_text(self._cell(row, header).value)

    def _write_arrival(self, arrival: Arrival, row: int, targets: dict[str, str], *, new: bool) -> None:
        onde = arrival.onde
        if new:
            put_text(self._cell(row, LAST_NAME), onde.usage_name or onde.last_name)
            put_text(self._cell(row, FIRST_NAME), onde.first_name)
            put_text(self._cell(row, TYPE), UserType.PUPIL.label)
        target = targets.get(onde.class_label)
        if target:
            put_text(self._cell(row, TARGET_CLASS), target)
        put_text(self._cell(row, ORIGIN_HEADER), Origin.NEW.value)
        put_text(self._cell(row, REFERENCE_HEADER), onde.ine or self._cell_text(row, REFERENCE_HEADER))
        self._set_detail(row, _detail(onde, target))

    def _append_row(self, row: int) -> None:
        """A row the export did not prepare gets the look of the row above, not its colour band."""
        for column in self.filled:
            cell = self.sheet.cell(row, column)
            if not cell.has_style:
                copy_style(self.sheet.cell(row - 1, column), cell)

    def _highlight(self) -> None:
        """Review colours follow the `Origine` column (conditional formats), even as it is edited."""
        letter = get_column_letter(self._col(ORIGIN_HEADER))
        first = self.header_row + 1
        area = f"A{first}:{get_column_letter(max(self.filled))}{max(self.data_end, first) + 200}"
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


def _detail(onde: OndePupil, target: str | None) -> str:
    text = f"ONDE ligne {onde.line} : {onde.display}, classe « {onde.class_label or '(aucune)'} »"
    if onde.class_label and target:
        return f"{text} → {target}."
    return f"{text} : pas de classe dans ONDE, choisissez sa classe cible."
