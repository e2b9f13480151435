"""The workbook's streaming reader gives each cell what openpyxl's own sheet parser gives.

`bounded.stream_rows` reads sheets with a lean subclass of openpyxl's `WorkSheetParser`
(issue 12: the generic parser cost most of a read). These tests hold it to the reference:
every value, its column and whether it is a formula, on a workbook of every kind of cell
openpyxl writes and on a sheet written by hand with what other spreadsheets write
(inline strings with runs and phonetic runs, rows and cells without numbers, shared and
array formulas, typed text, errors, ISO dates). A new openpyxl reading a cell otherwise
fails here instead of changing a rentrée silently.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.worksheet.formula import ArrayFormula

from reconcile.adapters.workbook.bounded import open_streaming, stream_rows

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HAND_WRITTEN_SHEET = f"""<worksheet xmlns="{NS}" xmlns:x="{NS}"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>a</t><r><t>b</t></r><rPh sb="0" eb="1"><t>x</t></rPh>
<r><rPr><b/></rPr><t xml:space="preserve"> c </t></r></is></c>
<c t="inlineStr"><is><x:t>ns</x:t></is></c><c t="inlineStr"><is><t/></is></c><c t="inlineStr"></c>
<c t="inlineStr"><is><t>1</t><t>2</t></is></c></row>
<row><c><v>3</v></c><c t="b"><v>1</v></c><c t="str"><v>s</v></c><c t="e"><v>#REF!</v></c>
<c t="d"><v>2024-01-02T03:04:05</v></c><c s="0"><v>1.5E3</v></c></row>
<row r="5.0"><c r="B5"><f t="shared" ref="B5:B7" si="0">A5+1</f><v>1</v></c>
<c r="C5"><f t="array" ref="C5">A1:A2</f></c><c r="D5"><f/></c></row>
<row r="6"><c r="B6"><f t="shared" si="0"/><v>2</v></c><c r="C6" t="n"><v></v></c></row>
</sheetData></worksheet>"""


def _every_kind(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    moments = [date(2024, 6, 1), datetime(2024, 6, 1, 8, 30), time(8, 30), timedelta(hours=2)]
    sheet.append(
        ["a", 1, 2.5, True, False, *moments, "=A1&B1", "=SUM(B1:C1)", None, "", " x ", "=cmd", "+33"]
    )
    sheet["A3"] = CellRichText("plain ", TextBlock(InlineFont(b=True), "bold"), " end")
    sheet["B3"], sheet["C3"], sheet["D3"] = "1e5", 1e20, -0.0001
    for row in range(5, 30):
        sheet.cell(row, 1, f"=B{row}*2")
        sheet.cell(row, 2, row)
    sheet.cell(40, 100, "far")
    sheet.cell(41, 3, 12345678901234)
    book.save(path)
    return path


def _hand_written(path: Path, tmp_path: Path) -> Path:
    """The workbook at `path` with its first sheet replaced by `HAND_WRITTEN_SHEET`."""
    crafted = tmp_path / "a-la-main.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(crafted, "w") as output:
        for item in source.infolist():
            data = source.read(item.filename)
            output.writestr(item, HAND_WRITTEN_SHEET if item.filename == "xl/worksheets/sheet1.xml" else data)
    return crafted


def _comparable(value: Any) -> Any:
    # openpyxl's ArrayFormula has no equality of its own.
    return ("array", value.ref, value.text) if isinstance(value, ArrayFormula) else value


def _reference(sheet: Any) -> list[tuple[int, dict[int, Any], set[int]]]:
    """What openpyxl's own parser reads: each row holding a value, its values and formula columns."""
    book = sheet.parent
    rows = []
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=False,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.parse():
            kept = [cell for cell in cells if cell["value"] is not None]
            if kept:
                values = {cell["column"]: _comparable(cell["value"]) for cell in kept}
                rows.append((number, values, {cell["column"] for cell in kept if cell["data_type"] == "f"}))
    return rows


@pytest.mark.parametrize("kind", ["openpyxl", "a la main"])
def test_stream_rows_reads_every_cell_as_openpyxl_does(tmp_path: Path, kind: str) -> None:
    path = _every_kind(tmp_path / "types.xlsx")
    if kind == "a la main":
        path = _hand_written(path, tmp_path)
    with open_streaming(path) as book:
        sheet = book.worksheets[0]
        reference = _reference(sheet)
        read = [
            (row.number, {column: _comparable(value) for column, value in row.values.items()}, row.formulas)
            for row in stream_rows(sheet)
        ]
    assert read == reference
    assert len(read) >= 4  # the sheet was read, not found empty by both
