"""What the reader, the writer and the ONDE fill share about sheets and cells.

A sheet found by its name as people retype it, a header row found within the first rows,
a cell read as the text a person typed, server text written so that it never becomes a
formula, a table grown in place (the ONDE fill), and the workbook saved as a whole file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.styles import PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.adapters.files import replace_atomically
from reconcile.adapters.workbook import layout
from reconcile.core.errors import ReconcileError
from reconcile.core.model import ServerState, class_reading_key, clean_text, fold

# What openpyxl raises for a file that is not a readable .xlsx (a CSV, a .xls, a damaged zip).
NOT_A_WORKBOOK = (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError)

# Text a spreadsheet program would read as a formula, a sign or a command.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

XLSX_REPLACEMENT = "\ufffd"
"""What stands in a workbook for a character no workbook can hold (`xlsx_safe_text`)."""

TEXT_FORMAT = "@"
"""The number format « Texte »: what is typed in the cell stays text (never a number, a date, a formula)."""


def cell_text(value: Any) -> str:
    """A cell's value as the text a person typed: numbers without `.0`, spaces collapsed, NFC."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") if value.time() != time() else value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return clean_text(str(value))


def not_text(value: Any) -> tuple[str, str] | None:
    """What a spreadsheet program made of a cell, when it is not text: (what it is, in French;
    how the program shows it, French style). None for a text or an empty cell.

    Excel and Calc turn `1/6` into a date, `8:30` into a time, `12345` into a number, `VRAI`
    into a boolean, unless the cell is formatted as Text or the typing starts with `'`.
    """
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, bool):
        return "une valeur logique", cell_text(value)
    if isinstance(value, int | float):
        return "un nombre", cell_text(value).replace(".", ",")
    if isinstance(value, datetime) and value.time() != time():
        return "une date et une heure", cell_text(value)
    if isinstance(value, date):
        return "une date", cell_text(value)
    if isinstance(value, time):
        return "une heure", value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, timedelta):
        minutes = int(value.total_seconds()) // 60
        return "une durée", f"{minutes // 60}:{minutes % 60:02d}"
    return "une valeur qui n'est pas du texte", cell_text(value)


def xlsx_safe_text(text: str) -> str:
    """`text` as a workbook can hold it: each control character an .xlsx file cannot contain
    (\\x00-\\x08, \\x0b, \\x0c, \\x0e-\\x1f: openpyxl refuses them) replaced by a visible « � ».

    Every writer of a cell holding server text goes through it (`put_text`, the reports).
    The names it changes are listed to the user by `unsafe_names`.
    """
    return ILLEGAL_CHARACTERS_RE.sub(XLSX_REPLACEMENT, text)


def has_unsafe_characters(text: str) -> bool:
    """Whether `xlsx_safe_text` changes `text`."""
    return ILLEGAL_CHARACTERS_RE.search(text) is not None


def unsafe_names(state: ServerState) -> list[str]:
    """The school's, classes' and accounts' names that `xlsx_safe_text` changes, as the user reads
    them (« � » in place of each control character), for a warning."""
    found: list[str] = []
    if has_unsafe_characters(state.school):
        found.append(f"l'école « {xlsx_safe_text(state.school)} »")
    found.extend(
        f"la classe « {xlsx_safe_text(c.name)} »"
        for c in sorted(state.classes, key=lambda c: class_reading_key(c.name))
        if has_unsafe_characters(c.name)
    )
    found.extend(
        f"« {xlsx_safe_text(u.display_name)} » ({xlsx_safe_text(u.login)})"
        for u in sorted(state.users, key=lambda u: u.login)
        if has_unsafe_characters(f"{u.first_name}{u.last_name}{u.login}")
    )
    return found


def put_text(cell: Cell | MergedCell, text: str | None) -> None:
    """Write server text as a plain string: never a formula, a link or an error code.

    Call it after giving the cell its style: a named style resets the number format, and the
    cell keeps the « Texte » format, so that what a person types over it stays text too.
    """
    assert isinstance(cell, Cell), "server text goes into a plain cell, not a merged one"
    cell.number_format = TEXT_FORMAT
    if not text:
        cell.value = None
        return
    cleaned = xlsx_safe_text(text)
    cell.value = cleaned
    cell.data_type = "s"
    if cleaned.startswith(FORMULA_STARTS):
        # Keeps it text when the secretary edits the cell in Excel or Calc.
        cell.quotePrefix = True


# What openpyxl keeps of a string (it cuts longer ones when a value is set).
_MAX_CELL_TEXT = 32_767


def text_style(sheet: Worksheet, name: str | None = None, fill: PatternFill | None = None) -> StyleArray:
    """The style a cell ends with after `cell.style = name`, `put_text` and `cell.fill = fill`:
    prepared once per kind of cell and given to each by `put_styled_text`. Styling each of
    thousands of cells one attribute at a time costs openpyxl a style lookup per attribute."""
    prototype = Cell(sheet, 1, 1)  # never placed in the sheet
    if name is not None:
        prototype.style = name
    prototype.number_format = TEXT_FORMAT
    if fill is not None:
        prototype.fill = fill
    style: StyleArray = prototype._style  # type: ignore[attr-defined]  # openpyxl has no public style array
    return style


def put_styled_text(sheet: Worksheet, row: int, column: int, text: str | None, style: StyleArray) -> str:
    """`put_text` into a new cell of `sheet` whose whole style is `style` (from `text_style`),
    without openpyxl's per-cell checks that `put_text` has already made; what the cell holds."""
    cell = Cell(sheet, row, column, style_array=style)  # the array is copied: cells never share one
    sheet._cells[(row, column)] = cell
    if not text:
        return ""
    cleaned = xlsx_safe_text(text)
    if cleaned.startswith(FORMULA_STARTS):
        put_text(cell, cleaned)  # the rare text read as a formula: marked by put_text
    else:
        cell._value = cleaned[:_MAX_CELL_TEXT]  # type: ignore[attr-defined]  # cleaned: no check left to make
        cell.data_type = "s"
    return str(cell.value or "")


def find_sheet(workbook: Workbook, name: str) -> Worksheet | None:
    """A sheet by name, case, accents and surrounding spaces ignored."""
    for sheet in workbook.worksheets:
        if fold(sheet.title) == fold(name):
            return sheet
    return None


@dataclass(frozen=True)
class HeaderRow:
    """A table's header row, numbered as the spreadsheet numbers rows and columns (from 1).

    `columns` maps each header text, folded (see `model.fold`), to its column: a text written
    twice names its first column, the one the reader reads. `filled` is every column with a
    header text, repeated ones included, left to right.
    """

    row: int
    columns: dict[str, int]
    filled: tuple[int, ...]

    def column(self, header: str) -> int:
        return self.columns[fold(header)]


def find_header_row(rows: Iterable[Sequence[Any]], required: Sequence[str]) -> HeaderRow | list[str]:
    """The first of the first rows that holds every `required` header, in any case or spacing.

    Without one, the headers missing from the row that came closest (for the message).
    """
    wanted = [fold(header) for header in required]
    best_missing = list(required)
    for number, row in enumerate(rows, start=1):
        if number > layout.HEADER_SEARCH_ROWS:
            break
        columns: dict[str, int] = {}
        filled: list[int] = []
        for column, value in enumerate(row, start=1):
            text = fold(cell_text(value))
            if text:
                columns.setdefault(text, column)
                filled.append(column)
        missing = [header for header, key in zip(required, wanted, strict=True) if key not in columns]
        if not missing:
            return HeaderRow(number, columns, tuple(filled))
        if len(missing) < len(best_missing):
            best_missing = missing
    return best_missing


def require_sheet(workbook: Workbook, name: str, error: type[ReconcileError]) -> Worksheet:
    """`find_sheet`, refusing (with `error`) a workbook without that sheet."""
    sheet = find_sheet(workbook, name)
    if sheet is None:
        raise error(
            f"Le classeur n'a pas d'onglet « {name} » : partez du classeur écrit par reconcile export."
        )
    return sheet


def require_header_row(sheet: Worksheet, required: Sequence[str], error: type[ReconcileError]) -> HeaderRow:
    """`find_header_row` on a sheet, refusing (with `error`) a sheet whose first rows hold none."""
    found = find_header_row(sheet.iter_rows(max_row=layout.HEADER_SEARCH_ROWS, values_only=True), required)
    if isinstance(found, list):
        names = ", ".join(f"« {name} »" for name in required)
        raise error(f"Onglet {sheet.title} : ligne d'en-tête introuvable (colonnes {names}).")
    return found


# --- A table grown in place -------------------------------------------------------------


def last_data_row(sheet: Worksheet, header_row: int, columns: Iterable[int]) -> int:
    """The last row under the header with text in one of `columns` (the header row if none)."""
    last = header_row
    columns = list(columns)
    for row in range(header_row + 1, sheet.max_row + 1):
        if any(cell_text(sheet.cell(row, column).value) for column in columns):
            last = row
    return last


def copy_style(source: Cell | MergedCell, target: Cell | MergedCell, *, keep_fill: bool = False) -> None:
    """The look of `source` (font, border, alignment, number format, protection), its fill if asked."""
    if isinstance(source, Cell) and isinstance(target, Cell) and source.has_style:
        target._style = copy(source._style)  # type: ignore[attr-defined]  # openpyxl has no public copy
        if not keep_fill:
            target.fill = PatternFill()


def extend_validations(sheet: Worksheet, old_end: int, new_end: int) -> None:
    """Dropdowns that reached the last row reach the appended rows too."""
    for validation in sheet.data_validations.dataValidation:
        for cells in list(validation.sqref.ranges):
            if cells.min_row <= old_end <= cells.max_row < new_end:
                validation.sqref.add(
                    f"{get_column_letter(cells.min_col)}{cells.max_row + 1}:"
                    f"{get_column_letter(cells.max_col)}{new_end}"
                )


# --- The file ---------------------------------------------------------------------------


def save_workbook(workbook: Workbook, path: Path, *, mode: int) -> None:
    """Write beside `path` then rename: a crash never leaves half a workbook. The folder must exist."""
    replace_atomically(path, workbook.save, mode=mode)
