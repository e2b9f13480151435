"""The class correspondence of `reconcile onde` in the workbook: the `Classes` and `ONDE` sheets.

New classes are appended to `Classes` (status `Créer`, the teacher guessed from the label);
the sheet `ONDE` lists each ONDE class label and the IntraScol class its pupils go to,
editable: a re-run reads the choices back.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties

from reconcile.adapters.workbook.layout import STYLE_HEADER, STYLE_NOTE, STYLE_TITLE
from reconcile.adapters.workbook.sheets import (
    cell_text,
    copy_style,
    extend_validations,
    find_sheet,
    last_data_row,
    put_text,
    require_header_row,
    require_sheet,
)
from reconcile.adapters.workbook.writer import teacher_labels
from reconcile.core.errors import OndeError
from reconcile.core.model import User, fold
from reconcile.core.onde_classes import ClassMapping, ClassOrigin, guess_responsible
from reconcile.core.vocabulary import CLASS_NAME, CLASSES_SHEET, RESPONSIBLE, STATUS, ClassStatus

ONDE_SHEET = "ONDE"
ONDE_HEADERS = (
    "Libellé ONDE",
    "Identifiant ONDE",
    "Niveaux",
    "Élèves",
    "Classe IntraScol",
    "Correspondance",
)
ONDE_TARGET_HEADER = "Classe IntraScol"

NEW_CLASS_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
_HEADER_FONT = Font(bold=True)


class ClassesSheet:
    """The `Classes` sheet: the classes the export wrote, and the new classes appended."""

    REQUIRED = (CLASS_NAME, RESPONSIBLE, STATUS)

    def __init__(self, book: Workbook) -> None:
        self.sheet = require_sheet(book, CLASSES_SHEET, OndeError)
        header = require_header_row(self.sheet, self.REQUIRED, OndeError)
        self.header_row, self.columns, self.filled = header.row, header.columns, header.filled
        self.data_end = last_data_row(self.sheet, self.header_row, self.filled)
        self.rows = [
            (self._value(row, CLASS_NAME), self._value(row, STATUS))
            for row in range(self.header_row + 1, self.data_end + 1)
        ]

    def _value(self, row: int, header: str) -> str:
        return cell_text(self.sheet.cell(row, self.columns[fold(header)]).value)

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
            for column in self.filled:
                above = self.sheet.cell(row - 1, column)
                copy_style(above, self.sheet.cell(row, column))
                self.sheet.cell(row, column).fill = NEW_CLASS_FILL
            put_text(self.sheet.cell(row, self.columns[fold(CLASS_NAME)]), mapping.target)
            put_text(self.sheet.cell(row, self.columns[fold(STATUS)]), ClassStatus.CREATE.value)
            responsible = guess_responsible(mapping.label, {a.login: a.last_name for a in adults})
            # Written as the export writes teachers (`Prénom NOM`), the way the dropdown offers them.
            label = teacher_labels(adults).get(responsible, responsible) if responsible else None
            put_text(self.sheet.cell(row, self.columns[fold(RESPONSIBLE)]), label)
        if added:
            extend_validations(self.sheet, self.data_end - len(added), self.data_end)


# --- The ONDE sheet ---------------------------------------------------------------------


def previous_mapping(book: Workbook) -> dict[str, str]:
    """The label -> class choices of an `ONDE` sheet written by a previous run (and edited)."""
    sheet = find_sheet(book, ONDE_SHEET)
    if sheet is None:
        return {}
    header = require_header_row(sheet, (ONDE_HEADERS[0], ONDE_TARGET_HEADER), OndeError)
    mapping = {}
    for row in range(header.row + 1, sheet.max_row + 1):
        label = cell_text(sheet.cell(row, header.column(ONDE_HEADERS[0])).value)
        target = cell_text(sheet.cell(row, header.column(ONDE_TARGET_HEADER)).value)
        if label and target:
            mapping[label] = target
    return mapping


def write_onde_sheet(book: Workbook, mappings: Sequence[ClassMapping], class_list: str | None) -> None:
    """The sheet `ONDE`, rewritten on each run (after `previous_mapping` has read it)."""
    index = None
    for sheet in list(book.worksheets):
        if fold(sheet.title) == fold(ONDE_SHEET):
            index = book.worksheets.index(sheet)
            book.remove(sheet)
    classes_index = book.index(require_sheet(book, CLASSES_SHEET, OndeError))
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
            put_text(sheet.cell(row, column), value)
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
