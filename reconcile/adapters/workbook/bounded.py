"""A workbook opened within limits: its file, its zip entries, its sheets' rows and columns.

A school's workbook is a few hundred kilobytes; a hostile or broken one (a cell at XFD1048576,
a million rows, a zip bomb) must end in a French message within seconds, not eat the
machine. So the file's size and the zip's uncompressed sizes are checked before openpyxl
opens it, and sheets are read in openpyxl's read-only (streaming) mode, counting while
streaming: a sheet's declared `<dimension>` can lie or be absent, it is not trusted.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from warnings import warn
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._reader import FORMULA_TAG, INLINE_STRING, VALUE_TAG, WorkSheetParser

from reconcile.adapters.workbook.sheets import NOT_A_WORKBOOK
from reconcile.core.wording import thousands

MIB = 1024 * 1024

# What a damaged workbook raises, at its opening or while a sheet streams (XML cut short,
# deflate data or CRC wrong): the file is said unreadable, never a traceback.
UNREADABLE = (*NOT_A_WORKBOOK, ParseError, zlib.error)


@dataclass(frozen=True)
class WorkbookLimits:
    """What a workbook may weigh; sized for a district, far above a school (~2,000 accounts:
    a 150 KB file; 10,000 accounts: 650 KB, 4 MB for its largest sheet unpacked)."""

    file_bytes: int = 50 * MIB
    entry_bytes: int = 100 * MIB  # one file inside the zip, uncompressed (a sheet's XML)
    unpacked_bytes: int = 250 * MIB  # all of them
    rows: int = 100_000
    columns: int = 100


LIMITS = WorkbookLimits()


class OverLimit(Exception):
    """The workbook is past a limit: `problem` says which, in French; `sheet` names its sheet."""

    def __init__(self, problem: str, sheet: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.sheet = sheet


def _size(count: int) -> str:
    return f"{count / MIB:.0f} Mo" if count >= MIB else f"{count / 1024:.0f} Ko"


def check_file(path: Path, limits: WorkbookLimits = LIMITS) -> None:
    """Refuse (`OverLimit`) a file too large, or whose zip unpacks too large, before any parse.

    The sizes checked are the zip's own records: Python's `zipfile` never inflates an entry
    past its recorded size (it stops and fails the CRC), so they cannot lie.
    """
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise OverLimit(
            f"le fichier pèse {_size(size)}, au-delà de la limite de {_size(limits.file_bytes)} "
            "pour un classeur de rentrée : ce n'est pas le classeur d'une école."
        )
    if not zipfile.is_zipfile(path):
        return  # openpyxl says it is not a workbook, in the caller's words
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    total = sum(entry.file_size for entry in entries)
    largest = max(entries, key=lambda entry: entry.file_size, default=None)
    if largest is not None and largest.file_size > limits.entry_bytes:
        raise OverLimit(
            f"une fois décompressée, sa partie {largest.filename} pèserait {_size(largest.file_size)}, "
            f"au-delà de la limite de {_size(limits.entry_bytes)} : ce classeur est abîmé ou piégé."
        )
    if total > limits.unpacked_bytes:
        raise OverLimit(
            f"une fois décompressé, il pèserait {_size(total)}, au-delà de la limite de "
            f"{_size(limits.unpacked_bytes)} : ce classeur est abîmé ou piégé."
        )


@contextmanager
def open_streaming(path: Path, limits: WorkbookLimits = LIMITS) -> Iterator[Workbook]:
    """The workbook in openpyxl's read-only mode, formulas as formulas (not their cached
    values), after `check_file`; closed on exit. Raises what `load_workbook` raises."""
    check_file(path, limits)
    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        yield workbook
    finally:
        workbook.close()


def check_sheets(path: Path, limits: WorkbookLimits = LIMITS) -> None:
    """Refuse (`OverLimit`) a workbook past the limits before it is loaded whole (the ONDE fill
    edits it in openpyxl's full mode, which would build every cell of a sheet of a million rows)."""
    with open_streaming(path, limits) as workbook:
        for sheet in workbook.worksheets:
            for _ in stream_rows(sheet, limits):
                pass


@dataclass(slots=True)
class SheetRow:
    """A row of a sheet as stored: its number, its cells holding a value by column (from 1),
    and the columns whose cell is a formula (its value is then the formula's text)."""

    number: int
    values: dict[int, Any]
    formulas: set[int] = field(default_factory=set)

    def padded(self) -> tuple[Any, ...]:
        """The values from column 1, `None` for empty cells, as `iter_rows(values_only=True)`."""
        return tuple(self.values.get(column) for column in range(1, max(self.values, default=0) + 1))


class _ValueParser(WorkSheetParser):
    """openpyxl's sheet parser, giving each row as (column, value, is a formula) for its cells
    holding a value: the values and formula flags are what openpyxl's own `parse_cell` gives,
    without the dictionary per cell, and with inline strings (what openpyxl itself writes) read
    directly instead of through its generic `Text` object, which cost most of a read."""

    # Its `parse` hands each row element to `parse_row`, which gives what it yields: lean tuples here.
    def parse_row(self, row: Any) -> tuple[int, list[tuple[int, Any, bool]]]:  # type: ignore[override]
        # The row's number as openpyxl's `parse_row` reads it (its row dimensions are not needed).
        if "r" in row.attrib:
            try:
                self.row_counter = int(row.get("r"))
            except ValueError:
                number = float(row.get("r"))
                if not number.is_integer():
                    raise ValueError(f"{row.get('r')} is not a valid row number") from None
                self.row_counter = int(number)
        else:
            self.row_counter += 1
        self.col_counter = 0
        cells = []
        for element in row:
            column, value, formula = self.parse_cell(element)
            if value is not None:
                cells.append((column, value, formula))
        return self.row_counter, cells

    def parse_cell(self, element: Any) -> tuple[int, Any, bool]:  # type: ignore[override]
        # openpyxl's cases, in its order.
        coordinate = element.get("r")
        style = element.get("s")
        style_id = int(style) if style else 0  # as openpyxl: a cell with a broken style is unreadable
        if coordinate:
            column = self.col_counter = coordinate_to_tuple(coordinate)[1]
        else:
            self.col_counter += 1
            column = self.col_counter
        if element.find(FORMULA_TAG) is not None:
            return column, self.parse_formula(element), True  # type: ignore[no-untyped-call]
        data_type = element.get("t", "n")
        if data_type == "inlineStr":
            child = element.find(INLINE_STRING)
            return column, None if child is None else _inline_text(child), False
        value = element.findtext(VALUE_TAG, None) or None
        if value is None:
            return column, None, False
        if data_type == "n":
            number = _castthousands(value)
            if style_id not in self.date_formats:
                return column, number, False
            try:
                return (
                    column,
                    from_excel(number, self.epoch, timedelta=style_id in self.timedelta_formats),
                    False,
                )
            except (OverflowError, ValueError):
                warn(_OUT_OF_DATES.format(coordinate=coordinate, value=number), stacklevel=1)
                return column, "#VALUE!", False  # openpyxl's reading of a date out of range
        if data_type == "s":
            return column, self.shared_strings[int(value)], False
        if data_type == "b":
            return column, bool(int(value)), False
        if data_type == "d":
            return column, from_ISO8601(value), False  # type: ignore[no-untyped-call]
        return column, value, False


_OUT_OF_DATES = (  # openpyxl's warning, word for word
    "Cell {coordinate} is marked as a date but the serial value {value} is outside the limits for dates. "
    "The cell will be treated as an error."
)


def _castthousands(value: str) -> int | float:
    return float(value) if "." in value or "E" in value or "e" in value else int(value)


def _inline_text(element: Any) -> str:
    """An inline string's text, as openpyxl's `Text.from_tree(element).content` reads it: its
    `t`, then the `t` of each formatted run `r` (phonetic runs left out); the last `t` of each."""
    plain: str | None = None
    runs: list[str] = []
    for child in element:
        tag = child.tag.rpartition("}")[2]
        if tag == "t":
            plain = child.text
        elif tag == "r":
            text = None
            for part in child:
                if part.tag.rpartition("}")[2] == "t":
                    text = part.text
            if text is not None:
                runs.append(text)
    return (plain or "") + "".join(runs)


def stream_rows(sheet: Any, limits: WorkbookLimits = LIMITS) -> Iterator[SheetRow]:
    """The rows of a read-only `sheet` holding a value, in order, parsed once as they come.

    Raises `OverLimit` at the first value past the limits' rows or columns. Empty cells
    (formatting only) cost nothing wherever they are, and rows are never padded: openpyxl's
    own `iter_rows` pads every row to its last cell and trusts `<dimension>`, so its parser
    is driven here directly (its read-only sheets do the same).
    """
    workbook = sheet.parent
    with sheet._get_source() as source:
        parser = _ValueParser(
            source,
            sheet._shared_strings,
            data_only=False,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            if not cells:
                continue
            row = SheetRow(number, {})
            for column, value, formula in cells:
                if number > limits.rows or column > limits.columns:
                    raise OverLimit(_too_large(number, column, limits), sheet.title)
                row.values[column] = value
                if formula:
                    row.formulas.add(column)
            yield row


def _too_large(row: int, column: int, limits: WorkbookLimits) -> str:
    where = f"{get_column_letter(column)}{row}" if column <= 18_278 else f"ligne {thousands(row)}"
    return (
        f"l'onglet a une valeur en {where} (ligne {thousands(row)}, colonne {thousands(column)}), "
        f"au-delà de la limite de {thousands(limits.rows)} lignes et {thousands(limits.columns)} colonnes "
        "d'un classeur de rentrée. Effacez les lignes et colonnes en trop (sélectionnez-les, "
        "puis « Supprimer les lignes » ou « Supprimer les colonnes ») et enregistrez."
    )


def with_empty_rows(rows: Iterable[SheetRow]) -> Iterator[tuple[Any, ...]]:
    """The values of every row from row 1, `()` for an empty row, as `iter_rows(values_only=True)`."""
    expected = 1
    for row in rows:
        for _ in range(expected, row.number):
            yield ()
        yield row.padded()
        expected = row.number + 1


def first_rows(rows: Iterator[SheetRow], count: int) -> tuple[list[tuple[Any, ...]], list[SheetRow]]:
    """The first `count` rows of the sheet as value tuples (empty rows included, for the
    header search), and the `SheetRow`s read to get them (to be read again, in order)."""
    taken: list[SheetRow] = []
    for row in rows:
        taken.append(row)
        if row.number >= count:
            break
    by_number = {row.number: row for row in taken}
    values = [by_number[n].padded() if n in by_number else () for n in range(1, count + 1)]
    return values, taken
