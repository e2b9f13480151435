"""Large xlsx reports written straight as SpreadsheetML text, row by row.

openpyxl's write-only mode spends about 5 µs on each cell (the plan report of 50,000 accounts
has 425,000: 2.5 s); formatting a row as text costs a tenth of that. Only what the reports need:
text (always an inline string, never a formula), whole numbers and empty cells; the five styles
of `Style`; column widths, frozen heading rows and a filter. Every report's workbook is written
so (the plan's, apply's, a failure's); the rentrée workbook itself is openpyxl's.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from enum import IntEnum
from typing import IO, BinaryIO
from xml.sax.saxutils import quoteattr

from openpyxl.utils import get_column_letter, quote_sheetname

from reconcile.adapters.workbook.sheets import FORMULA_STARTS, xlsx_safe_text

Value = str | int | None


class Style(IntEnum):
    """A cell's look; the numbers are the cell formats (`cellXfs`) of `_STYLES`."""

    PLAIN = 0
    TITLE = 1  # bold, 14 points: the workbook's title
    LABEL = 2  # bold
    HEADING = 3  # bold white on blue: a table's heading row
    WRAP = 4  # long text wrapped, at the top of its cell


_QUOTED = len(Style)  # added to a style: the same, with text kept text when edited (`quotePrefix`)
_FORMATS = (
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"{}/>',
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" applyFont="1" xfId="0"{}/>',
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" applyFont="1" xfId="0"{}/>',
    '<xf numFmtId="0" fontId="3" fillId="2" borderId="0" applyFont="1" applyFill="1" xfId="0"{}/>',
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" applyAlignment="1" xfId="0"{}>'
    '<alignment vertical="top" wrapText="1"/></xf>',
)
_STYLES = (
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="4"><font><name val="Calibri"/><family val="2"/><sz val="11"/></font>'
    '<font><b val="1"/><sz val="14"/></font><font><b val="1"/><sz val="11"/>'
    '</font><font><b val="1"/><color rgb="00FFFFFF"/></font></fonts>'
    '<fills count="3"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="001D4E89"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    f'<cellXfs count="{2 * len(_FORMATS)}">'
    + "".join(f.format("") for f in _FORMATS)
    + "".join(f.format(' quotePrefix="1"') for f in _FORMATS)
    + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# What XML 1.0 cannot hold once `xlsx_safe_text` has cleaned a text (U+FFFE, U+FFFF, a lone
# surrogate). openpyxl refused them too: an error, never a workbook that does not open.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


_ROWS_ENCODED_TOGETHER = 2_000
_TEXTS_KEPT = 5_000


class StreamSheet:
    """One sheet: its rows kept as SpreadsheetML text until the workbook is saved."""

    def __init__(self, title: str, widths: Sequence[float], frozen_rows: int) -> None:
        self.title = title
        self.widths = tuple(widths)
        self.frozen_rows = frozen_rows
        self.filtered = False
        self._row_count = 0
        self._rows: list[str] = []  # the last rows, until they are encoded with the others
        self._encoded: list[bytes] = []  # UTF-8 takes half the memory of Python's strings
        self._letters = [get_column_letter(column) for column in range(1, len(widths) + 1)]
        self._texts: dict[str, tuple[bool, str]] = {}

    @property
    def row_count(self) -> int:
        return self._row_count

    def append(self, values: Sequence[Value], styles: Sequence[Style] = ()) -> None:
        """A row: each value with its column's style (PLAIN past `styles`); None leaves the cell out."""
        self._row_count += 1
        number = str(self._row_count)
        letters, texts = self._letters, self._texts
        while len(letters) < len(values):
            letters.append(get_column_letter(len(letters) + 1))
        cells = []
        for column, value in enumerate(values):
            if value is None:
                continue
            style = styles[column] if column < len(styles) else 0
            if isinstance(value, str):
                # A class's name, a status: the same texts on many rows, made ready once.
                text = texts.get(value)
                if text is None:
                    text = texts[value] = _inline_string(value)
                quoted, content = text
                attributes = _STYLE_ATTRIBUTES[style + _QUOTED if quoted else style]
                cells.append(f'<c r="{letters[column]}{number}"{attributes} t="inlineStr">{content}</c>')
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(
                    f'<c r="{letters[column]}{number}"{_STYLE_ATTRIBUTES[style]} t="n"><v>{value}</v></c>'
                )
            else:
                raise TypeError(f"a report cell holds text or a whole number, not {type(value).__name__}")
        self._rows.append(f'<row r="{number}">{"".join(cells)}</row>')
        if len(self._rows) == _ROWS_ENCODED_TOGETHER:
            self._encoded.append("".join(self._rows).encode())
            self._rows.clear()
            if len(texts) > _TEXTS_KEPT:  # the repeated texts come back; the names are seen once
                texts.clear()

    def filter_all(self) -> None:
        """A filter on every row, from the heading (the first row) down."""
        self.filtered = True

    def used_range(self) -> str:
        return f"A1:{self._letters[-1]}{max(self._row_count, 1)}"

    def write(self, stream: IO[bytes]) -> None:
        view = '<sheetView workbookViewId="0"'
        if self.frozen_rows:
            top = f"A{self.frozen_rows + 1}"
            view += (
                f'><pane ySplit="{self.frozen_rows}" topLeftCell="{top}" activePane="bottomLeft" '
                'state="frozen"/><selection pane="bottomLeft" activeCell="A1" sqref="A1"/></sheetView>'
            )
        else:
            view += "/>"
        columns = "".join(
            f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>' for n, w in enumerate(self.widths, 1)
        )
        stream.write(
            f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetViews>{view}</sheetViews>'
            f'<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
            f"{f'<cols>{columns}</cols>' if columns else ''}<sheetData>".encode()
        )
        for chunk in self._encoded:
            stream.write(chunk)
        stream.write("".join(self._rows).encode())
        tail = f'<autoFilter ref="{self.used_range()}"/>' if self.filtered else ""
        stream.write(f'</sheetData>{tail}<pageMargins left="0.75" right="0.75" top="1" bottom="1" '
                     'header="0.5" footer="0.5"/></worksheet>'.encode())  # fmt: skip


class StreamBook:
    """A workbook of `StreamSheet`s, saved as one xlsx file."""

    def __init__(self) -> None:
        self.sheets: list[StreamSheet] = []

    def create_sheet(self, title: str, widths: Sequence[float], *, frozen_rows: int = 1) -> StreamSheet:
        sheet = StreamSheet(title, widths, frozen_rows)
        self.sheets.append(sheet)
        return sheet

    def save(self, stream: BinaryIO) -> None:
        with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", self._content_types())
            archive.writestr(
                "_rels/.rels",
                f'{_HEAD}<Relationships xmlns="{_PACKAGE}/relationships"><Relationship Id="rId1" '
                f'Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            )
            archive.writestr("xl/workbook.xml", self._workbook())
            archive.writestr("xl/_rels/workbook.xml.rels", self._workbook_relationships())
            archive.writestr("xl/styles.xml", _HEAD + _STYLES)
            for number, sheet in enumerate(self.sheets, 1):
                with archive.open(f"xl/worksheets/sheet{number}.xml", "w") as part:
                    sheet.write(part)

    def _content_types(self) -> str:
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_TYPES}.worksheet+xml"/>'
            for n in range(1, len(self.sheets) + 1)
        )
        return (
            f'{_HEAD}<Types xmlns="{_PACKAGE}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPES}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPES}.styles+xml"/>{sheets}</Types>'
        )

    def _workbook(self) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(sheet.title)} sheetId="{n}" r:id="rId{n}"/>'
            for n, sheet in enumerate(self.sheets, 1)
        )
        # Excel finds a sheet's filter by this hidden name too.
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
            f"{_escape(quote_sheetname(sheet.title))}!{_absolute(sheet.used_range())}</definedName>"
            for n, sheet in enumerate(self.sheets)
            if sheet.filtered
        )
        return (
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
            "<bookViews><workbookView/></bookViews>"
            f"<sheets>{sheets}</sheets>{f'<definedNames>{names}</definedNames>' if names else ''}"
            '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
        )

    def _workbook_relationships(self) -> str:
        sheets = "".join(
            f'<Relationship Id="rId{n}" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(self.sheets) + 1)
        )
        styles = (
            f'<Relationship Id="rId{len(self.sheets) + 1}" Type="{_RELATIONSHIPS}/styles" '
            'Target="styles.xml"/>'
        )
        return f'{_HEAD}<Relationships xmlns="{_PACKAGE}/relationships">{sheets}{styles}</Relationships>'


def _inline_string(value: str) -> tuple[bool, str]:
    """Whether `value` could be read as a formula (its cell is then marked to stay text when
    edited), and its content as an inline string: a string cell is never a formula."""
    text = xlsx_safe_text(value)
    if not text:
        return False, ""
    if _NOT_XML.search(text):
        raise ValueError("a text that no xlsx file can hold (U+FFFE, U+FFFF)")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return text.startswith(FORMULA_STARTS), f"<is><t{space}>{_escape(text)}</t></is>"


_STYLE_ATTRIBUTES = tuple(f' s="{number}"' if number else "" for number in range(2 * len(Style)))


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:  # an XML reader would read a bare carriage return as a line feed
        text = text.replace("\r", "&#13;")
    return text


def _absolute(cells: str) -> str:
    """`A1:D9` as `$A$1:$D$9`."""
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in cells.split(":"))
