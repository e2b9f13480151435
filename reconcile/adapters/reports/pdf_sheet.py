"""A4 pages drawn with ReportLab's canvas, from the top of each sheet down, in millimetres.

Shared by the printed documents: the class lists and the route sheet. They need a Unicode
font: DejaVu (Debian package `fonts-dejavu-core`), or Arial and Consolas on Windows, Arial and
Courier New on macOS; without one there is no PDF, only the HTML.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reportlab.pdfgen.textobject import PDFTextObject

FONT_STYLES = ("sans", "sans-bold", "mono", "mono-bold")
DEJAVU_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
DEJAVU = dict(zip(FONT_STYLES, ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf",
                                "DejaVuSansMono-Bold.ttf"), strict=True))  # fmt: skip
# Windows and macOS have no DejaVu but fonts as complete for French names (and Ł, Nguyễn).
WINDOWS_FONTS = dict(
    zip(FONT_STYLES, ("arial.ttf", "arialbd.ttf", "consola.ttf", "consolab.ttf"), strict=True)
)
MACOS_FONTS = dict(
    zip(FONT_STYLES, ("Arial.ttf", "Arial Bold.ttf", "Courier New.ttf", "Courier New Bold.ttf"), strict=True)
)
MACOS_DIRS = (Path("/System/Library/Fonts/Supplemental"), Path("/Library/Fonts"))


def find_unicode_fonts() -> dict[str, Path] | None:
    """The TTF files the PDF needs (DejaVu, else Windows' or macOS' own), or None when a set is incomplete."""
    windows = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
    candidates = [
        *((directory, DEJAVU) for directory in DEJAVU_DIRS),
        (windows, WINDOWS_FONTS),
        *((directory, MACOS_FONTS) for directory in MACOS_DIRS),
    ]
    for directory, files in candidates:
        paths = {style: directory / file for style, file in files.items()}
        if all(path.is_file() for path in paths.values()):
            return paths
    return None


CUT = "…"
MM = 72 / 25.4  # points per millimetre
PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # A4, in millimetres
LEFT, TOP, BOTTOM = 12.0, 10.0, 10.0
WIDTH = PAGE_WIDTH - 2 * LEFT
PAD = 1.0  # each side of a cell's text, in millimetres


class PdfSheet:
    """A ReportLab canvas written from the top of each A4 sheet down, in millimetres."""

    def __init__(self, fonts: dict[str, Path], title: str) -> None:
        # Imported here: ReportLab is only needed when a PDF is made.
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from reportlab.pdfgen.canvas import Canvas

        self.fonts = {style: f"reconcile-{style}" for style in FONT_STYLES}
        self._advances: dict[str, _Advances] = {}
        for style, name in self.fonts.items():
            font = TTFont(name, str(fonts[style]))
            pdfmetrics.registerFont(font)
            self._advances[style] = _Advances(font.face.charWidths, font.face.defaultWidth)
        self.output = io.BytesIO()
        self.canvas = Canvas(self.output, pagesize=(PAGE_WIDTH * MM, PAGE_HEIGHT * MM), pageCompression=1)
        self.canvas.setTitle(cut_chars(title, 200))
        self.canvas.setAuthor("reconcile")
        self.y = TOP
        self._pages = 0
        self._text: PDFTextObject | None = None
        self._text_font: tuple[str, float] | None = None
        self._text_color: tuple[int, int, int] | None = None

    def new_page(self) -> None:
        if self._pages:
            self._draw_text()
            self.canvas.showPage()
        self._pages += 1
        self.y = TOP

    def down(self, height: float) -> None:
        self.y += height

    def fits(self, height: float) -> bool:
        return self.y + height <= PAGE_HEIGHT - BOTTOM

    def width(self, text: str, font: str, size: float) -> float:
        """The width of `text` in millimetres."""
        return self._points(text, font, size) / MM

    def _points(self, text: str, font: str, size: float) -> float:
        # ReportLab's own sum for a TrueType font (`stringWidth`), the same figures in the same order,
        # read from a table per character instead of its pure-Python loop (its C accelerator is a
        # separate package): the same widths, so the same cuts and line breaks, several times faster.
        return 0.001 * size * sum(map(self._advances[font].__getitem__, text))

    def wrapped(self, text: str, font: str, size: float, width: float) -> list[str]:
        """`text` in lines no wider than `width` mm, cut between words (a word wider than a line
        has one to itself); ReportLab's `simpleSplit`, on our width table."""
        limit = width * MM
        space = self._points(" ", font, size)
        lines: list[str] = []
        for paragraph in text.split("\n"):
            words: list[str] = []
            used = -space
            for word in paragraph.split():
                advance = self._points(word, font, size)
                if used + space + advance <= limit or not words:
                    words.append(word)
                    used = used + space + advance
                else:
                    lines.append(" ".join(words))
                    words, used = [word], advance
            if words:
                lines.append(" ".join(words))
        return lines

    def fitted(self, text: str, font: str, size: float, width: float) -> str:
        """`text`, or its longest beginning followed by « … » that is `width` mm wide or less."""
        if self.width(text, font, size) <= width:
            return text
        low, high = 0, len(text)  # the longest fitting beginning, found by halving
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(text[:middle].rstrip() + CUT, font, size) <= width:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + CUT

    def rectangle(self, x: float, width: float, height: float, colour: tuple[int, int, int]) -> None:
        self._draw_text()
        self.canvas.setFillColorRGB(*(c / 255 for c in colour))
        bottom = (PAGE_HEIGHT - self.y - height) * MM
        self.canvas.rect(x * MM, bottom, width * MM, height * MM, stroke=0, fill=1)

    def rule(self, x: float, width: float) -> None:
        """A thin line across the table at the current height."""
        self._draw_text()
        y = (PAGE_HEIGHT - self.y) * MM
        self.canvas.line(x * MM, y, (x + width) * MM, y)

    def text(
        self,
        x: float,
        width: float,
        height: float,
        text: str,
        font: str,
        size: float,
        *,
        color: tuple[int, int, int] = (17, 17, 17),
        right: bool = False,
        fit: bool = True,
    ) -> None:
        """One line of text in a cell at the current height, vertically centred, cut to fit
        (unless `fit` is False: the text is known to fit)."""
        shown = self.fitted(text, font, size, width - 2 * PAD) if fit else text
        # One text object for the lines between two shapes (drawn before the next shape: the
        # same order), its font and colour set only where they change: ReportLab's drawString
        # makes an object per line and measures the line again.
        if self._text is None:
            self._text = self.canvas.beginText()
            self._text_font, self._text_color = None, None
        if self._text_color != color:
            self._text.setFillColorRGB(*(c / 255 for c in color))
            self._text_color = color
        if self._text_font != (font, size):
            self._text.setFont(self.fonts[font], size)
            self._text_font = (font, size)
        baseline = (PAGE_HEIGHT - self.y - height / 2 - 0.35 * size / MM) * MM
        if right:
            self._text.setTextOrigin((x + width - PAD) * MM - self._points(shown, font, size), baseline)
        else:
            self._text.setTextOrigin((x + PAD) * MM, baseline)
        self._text.textOut(shown)

    def _draw_text(self) -> None:
        """The lines written since the last shape, onto the page."""
        if self._text is not None:
            self.canvas.drawText(self._text)
            self._text = None

    def paragraph(
        self,
        text: str,
        font: str,
        size: float,
        line_height: float,
        lines: int | None = 2,
        *,
        x: float = LEFT,
        width: float = WIDTH,
        color: tuple[int, int, int] = (17, 17, 17),
    ) -> None:
        """`text` wrapped on `width` from `x`, on `lines` lines at most (the last one then cut;
        None: as many as it takes); a new sheet when the next line would not fit."""
        wrapped = self.wrapped(text, font, size, width - 2 * PAD) or [""]
        if lines is not None and len(wrapped) > lines:
            wrapped = [*wrapped[: lines - 1], " ".join(wrapped[lines - 1 : lines + 1]) + CUT]
        for line in wrapped:
            if not self.fits(line_height):
                self.new_page()
            self.text(x, width, line_height, line, font, size, color=color)
            self.down(line_height)

    def box(self, x: float, side: float, height: float) -> None:
        """An empty square to tick on paper, `side` mm wide, centred in a line `height` mm high."""
        self._draw_text()
        bottom = (PAGE_HEIGHT - self.y - (height + side) / 2) * MM
        self.canvas.setStrokeColorRGB(0.12, 0.16, 0.2)
        self.canvas.setLineWidth(0.3 * MM)
        self.canvas.rect(x * MM, bottom, side * MM, side * MM, stroke=1, fill=0)

    def finish(self) -> bytes:
        self._draw_text()
        self.canvas.save()
        return self.output.getvalue()


class _Advances(dict[str, float]):
    """A font's advance width per character, in thousandths of the type size, filled as read."""

    def __init__(self, widths: dict[int, float], default: float) -> None:
        super().__init__()
        self._widths = widths
        self._default = default

    def __missing__(self, char: str) -> float:
        advance = self[char] = self._widths.get(ord(char), self._default)
        return advance


def cut_chars(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + CUT
