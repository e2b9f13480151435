"""The large reports' xlsx writer: what openpyxl would have written, read back by openpyxl and LibreOffice."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.adapters.reports.xlsx_stream import StreamBook, Style
from tests.test_workbook import resave_with_libreoffice

# Texts a server may send: formulas, markup, spaces that matter, line breaks, control characters.
TEXTS = [
    "Léa MARTIN (lea.martin)",
    '=HYPERLINK("http://x","clic")',
    "+33 6 12",
    "-moins",
    "@arobase",
    "<b>gras</b> & « guillemets »",
    "  espaces autour  ",
    "ligne 1\nligne 2\r\nligne 3\rfin",
    "\ttabulation",
    "Zo\x01é\x1b[31m",
    "Nguyễn 😀",
    "",
]
STYLES = {
    Style.TITLE: {"font": Font(bold=True, size=14)},
    Style.LABEL: {"font": Font(bold=True, size=11)},
    Style.HEADING: {"font": Font(bold=True, color="FFFFFF"), "fill": PatternFill("solid", fgColor="1D4E89")},
    Style.WRAP: {"alignment": Alignment(wrap_text=True, vertical="top")},
}


def stream_book() -> bytes:
    book = StreamBook()
    sheet = book.create_sheet("Opérations", (40, 60, 100), frozen_rows=2)
    sheet.append(("Titre", None), (Style.TITLE,))
    sheet.append(("Étape", "Texte", "Nombre"), (Style.HEADING,) * 3)
    for number, text in enumerate(TEXTS):
        sheet.append((text, text, number), (Style.LABEL, Style.WRAP))
    sheet.append(())
    sheet.append((None, "après une ligne vide", 0))
    other = book.create_sheet("Classes d'O'Neil", (18, 20))
    other.append(("Classe", "Élève"), (Style.HEADING, Style.HEADING))
    other.append(("CM1", "=1+1"))
    other.filter_all()
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def openpyxl_book() -> bytes:
    """The same content written by openpyxl as the reports wrote it before (write-only cells)."""
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Opérations")
    for column, width in zip("ABC", (40, 60, 100), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"

    def cell(value: str | int, style: Style | None) -> Cell:
        cleaned = (
            value.replace("\x01", "\ufffd").replace("\x1b", "\ufffd") if isinstance(value, str) else value
        )
        made = WriteOnlyCell(sheet, cleaned)
        if isinstance(value, str):
            made.data_type = "s"
            made.quotePrefix = value.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
        for name, look in STYLES.get(style, {}).items() if style else ():
            setattr(made, name, look)
        return made

    sheet.append([cell("Titre", Style.TITLE)])
    sheet.append([cell(title, Style.HEADING) for title in ("Étape", "Texte", "Nombre")])
    for number, text in enumerate(TEXTS):
        sheet.append([cell(text, Style.LABEL), cell(text, Style.WRAP), number])
    sheet.append([])
    sheet.append([None, "après une ligne vide", 0])
    other = book.create_sheet("Classes d'O'Neil")
    for column, width in zip("AB", (18, 20), strict=True):
        other.column_dimensions[column].width = width
    other.freeze_panes = "A2"
    other.append([cell("Classe", Style.HEADING), cell("Élève", Style.HEADING)])
    other.append(["CM1", cell("=1+1", None)])
    other.auto_filter.ref = "A1:B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def look(cell: Cell) -> tuple[object, ...]:
    font, fill, alignment = cell.font, cell.fill, cell.alignment
    return (
        cell.value,
        cell.data_type,
        bool(font.b),
        font.sz if font.b else None,
        font.color.rgb if font.b and font.color is not None else None,
        fill.fill_type,
        fill.fgColor.rgb if fill.fill_type else None,
        bool(alignment.wrap_text),
        alignment.vertical,
        cell.quotePrefix,
    )


def test_the_stream_writer_writes_what_openpyxl_wrote(tmp_path: Path) -> None:
    ours, theirs = (load_workbook(io.BytesIO(data)) for data in (stream_book(), openpyxl_book()))
    assert ours.sheetnames == theirs.sheetnames == ["Opérations", "Classes d'O'Neil"]
    for mine, reference in zip(ours.worksheets, theirs.worksheets, strict=True):
        assert (mine.max_row, mine.max_column) == (reference.max_row, reference.max_column)
        assert mine.freeze_panes == reference.freeze_panes
        assert mine.auto_filter.ref == reference.auto_filter.ref
        widths = [{k: d.width for k, d in s.column_dimensions.items()} for s in (mine, reference)]
        assert widths[0] == widths[1]
        for row, expected in zip(mine.iter_rows(), reference.iter_rows(), strict=True):
            assert [look(c) for c in row] == [look(c) for c in expected], row[0].coordinate
    values = [row[1].value for row in ours["Opérations"].iter_rows(min_row=3, max_row=2 + len(TEXTS))]
    assert values[:9] == TEXTS[:9]  # never a formula; spaces, line breaks and markup as they were
    assert values[9] == "Zo\ufffdé\ufffd[31m"  # what no xlsx can hold is shown « � »
    assert ours["Classes d'O'Neil"]["B2"].value == "=1+1"
    assert ours["Classes d'O'Neil"]["B2"].data_type == "s"


@pytest.mark.parametrize("text", ["a\uffffb", "a\ud800b"])
def test_a_text_no_xlsx_can_hold_is_an_error_as_with_openpyxl(text: str) -> None:
    sheet = StreamBook().create_sheet("x", (10,))
    with pytest.raises(ValueError, match="no xlsx file can hold"):
        sheet.append((text,))


def test_a_cell_holds_text_or_a_whole_number_only() -> None:
    sheet = StreamBook().create_sheet("x", (10,))
    with pytest.raises(TypeError):
        sheet.append((1.5,))  # type: ignore[arg-type]  # what the types forbid, refused at run time too


@pytest.mark.libreoffice
def test_libreoffice_reads_the_stream_writers_workbook(tmp_path: Path) -> None:
    path = tmp_path / "rapport.xlsx"
    path.write_bytes(stream_book())
    resaved = load_workbook(resave_with_libreoffice(path, tmp_path / "calc"))
    ours = load_workbook(path)
    assert resaved.sheetnames == ours.sheetnames

    def values(sheet: Worksheet) -> list[list[object]]:
        # Calc reads a carriage return as a line break (openpyxl's files too).
        return [[_lines(c.value) for c in row] for row in sheet.iter_rows()]

    for mine, theirs in zip(ours.worksheets, resaved.worksheets, strict=True):
        assert values(theirs) == values(mine)
    heading = resaved["Opérations"]["A2"]
    assert heading.font.b
    assert heading.fill.fgColor.rgb.endswith("1D4E89")
    assert resaved["Opérations"]["B3"].alignment.wrap_text
    assert resaved["Classes d'O'Neil"].auto_filter.ref == "A1:B2"


def _lines(value: object) -> object:
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def test_many_rows_are_all_there_in_order() -> None:
    book = StreamBook()
    sheet = book.create_sheet("Classes", (18, 40))
    sheet.append(("Classe", "Élève"), (Style.HEADING, Style.HEADING))
    for number in range(12_345):  # rows encoded by thousands, texts forgotten and found again
        sheet.append((f"CM{number % 7}", f"=Élève {number}"))
    sheet.filter_all()
    buffer = io.BytesIO()
    book.save(buffer)
    read = load_workbook(buffer, read_only=True)["Classes"]
    rows = list(read.iter_rows(min_row=2, values_only=True))
    assert rows == [(f"CM{n % 7}", f"=Élève {n}") for n in range(12_345)]
    assert sheet.row_count == 12_346
    assert load_workbook(io.BytesIO(buffer.getvalue()))["Classes"].auto_filter.ref == "A1:B12346"
