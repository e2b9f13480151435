"""The PDF pages' measures: the same widths and line breaks as ReportLab's own, on our fast tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

from reconcile.adapters.reports.pdf_sheet import FONT_STYLES, MM, PdfSheet, find_unicode_fonts

FONTS = find_unicode_fonts()
pytestmark = pytest.mark.skipif(FONTS is None, reason="police DejaVu absente")

# French names and words, spaces and line breaks, and characters none of the fonts has.
CHARACTERS = [*"aàâbcçdeéèêfgiîjlmnoôpqrstuùûvwxyzAÉŁ -'’.…«»\n\t", "ễ", "\u0f0f", "😀", "\u00a0"]
TEXT = st.text(alphabet=st.sampled_from(CHARACTERS), max_size=120)


@pytest.fixture(scope="module")
def sheet() -> PdfSheet:
    assert FONTS is not None
    return PdfSheet(FONTS, "mesures")


@settings(max_examples=300, deadline=None)
@given(text=TEXT, style=st.sampled_from(FONT_STYLES), size=st.sampled_from([8.0, 9.5, 10.0, 13.0, 30.0]))
def test_a_width_is_reportlabs_to_the_last_bit(sheet: PdfSheet, text: str, style: str, size: float) -> None:
    assert sheet.width(text, style, size) == float(stringWidth(text, sheet.fonts[style], size)) / MM


@settings(max_examples=300, deadline=None)
@given(
    text=TEXT,
    style=st.sampled_from(FONT_STYLES),
    size=st.sampled_from([9.5, 10.0, 13.0]),
    width=st.sampled_from([5.0, 30.0, 80.0, 184.0]),
)
def test_lines_break_where_reportlab_breaks_them(
    sheet: PdfSheet, text: str, style: str, size: float, width: float
) -> None:
    assert sheet.wrapped(text, style, size, width) == simpleSplit(text, sheet.fonts[style], size, width * MM)
