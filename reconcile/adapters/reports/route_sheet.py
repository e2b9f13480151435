"""The route sheet of `plan` (« fiche de route »): HTML to print, and a PDF when a Unicode font is installed.

The content is `reconcile.core.route_sheet`; this module only lays it out. It names pupils:
written private (0600), like every report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconcile.adapters.files import write_private_bytes, write_private_text, writing_into
from reconcile.adapters.reports.pdf_sheet import LEFT, WIDTH, PdfSheet, find_unicode_fonts
from reconcile.adapters.reports.plan_report import ReportContext, plan_status, report_environment
from reconcile.core.operations import Plan
from reconcile.core.route_sheet import (
    FINAL_CHECK,
    ROUTE_SHEET_TITLE,
    ROUTE_SHEET_USE,
    RouteStep,
    route_sheet,
)
from reconcile.core.wording import french_datetime, headline

ROUTE_SHEET_NAME = "fiche-de-route"
NO_ROUTE_SHEET = (
    "Pas de fiche de route pour l'instant : le dernier « reconcile plan » n'a pas pu être fait "
    "ou a des problèmes à corriger (voir le rapport du plan). Elle sera refaite par le prochain "
    "plan sans problème."
)


@dataclass(frozen=True, slots=True)
class RouteSheetFiles:
    """Where the route sheet was written (the PDF is None without a Unicode font)."""

    html: Path
    pdf: Path | None


@dataclass(frozen=True)
class _Page:
    """What both renderings show."""

    context: ReportContext
    headline: str
    status: str
    use: tuple[str, ...]
    steps: tuple[RouteStep, ...]


def write_route_sheet(
    plan: Plan, output_dir: Path, *, server_url: str, school: str, generated_at: datetime
) -> RouteSheetFiles | None:
    """Write `fiche-de-route.html` (and `.pdf`) into `output_dir` for a plan that can be applied.

    A plan with problems gets no route sheet: see `withdraw_route_sheet`.
    """
    if not plan.can_apply:
        return withdraw_route_sheet(
            output_dir, server_url=server_url, school=school, generated_at=generated_at
        )
    context = _context(server_url, school, generated_at)
    return _write(
        output_dir, _Page(context, headline(plan), plan_status(plan), ROUTE_SHEET_USE, route_sheet(plan))
    )


def withdraw_route_sheet(
    output_dir: Path, *, server_url: str, generated_at: datetime, school: str = ""
) -> RouteSheetFiles | None:
    """Replace an earlier route sheet of `output_dir` by a page saying there is none for now.

    Returns None (and writes nothing) when there was no earlier route sheet to contradict.
    """
    if not any((output_dir / f"{ROUTE_SHEET_NAME}.{kind}").exists() for kind in ("html", "pdf")):
        return None
    return _write(
        output_dir, _Page(_context(server_url, school, generated_at), NO_ROUTE_SHEET, "blocked", (), ())
    )


def _context(server_url: str, school: str, generated_at: datetime) -> ReportContext:
    return ReportContext(
        title=ROUTE_SHEET_TITLE,
        school=school,
        server_url=server_url,
        generated_at=french_datetime(generated_at),
    )


def _write(output_dir: Path, page: _Page) -> RouteSheetFiles:
    with writing_into(output_dir):
        html = write_private_text(output_dir / f"{ROUTE_SHEET_NAME}.html", _html(page))
        pdf_bytes = _pdf(page)
        pdf = write_private_bytes(output_dir / f"{ROUTE_SHEET_NAME}.pdf", pdf_bytes) if pdf_bytes else None
    return RouteSheetFiles(html, pdf)


def _html(page: _Page) -> str:
    return (
        report_environment()
        .get_template("fiche_de_route.html.j2")
        .render(
            **page.context.template_values(),
            headline=page.headline,
            status=page.status,
            use=page.use,
            steps=page.steps,
            final_check=FINAL_CHECK,
        )
    )


# --- PDF ------------------------------------------------------------------------------------

_BOX = 3.6  # side of a box to tick, in millimetres
_LINE = 5.2  # height of a line of text, in millimetres
_MUTED = (82, 96, 109)


def _pdf(page: _Page) -> bytes | None:
    # Paragraphs on as many lines as they take (`lines=None`): every word may matter on paper.
    fonts = find_unicode_fonts()
    if fonts is None:
        return None
    sheet = PdfSheet(fonts, f"{page.context.title} — {page.context.school}")
    sheet.new_page()
    sheet.paragraph(page.context.title, "sans-bold", 17, 8, None)
    for label, value in (
        ("École", page.context.school or "—"),
        ("Serveur", page.context.server_url),
        ("Établi le", page.context.generated_at),
    ):
        sheet.paragraph(f"{label} : {value}", "sans", 10, _LINE, None, color=_MUTED)
    sheet.down(2)
    sheet.paragraph(page.headline, "sans-bold", 11, _LINE, None)
    for line in page.use:
        sheet.paragraph(f"• {line}", "sans", 9.5, _LINE, None)
    for route_step in page.steps:
        _step(sheet, route_step)
    if page.steps:
        sheet.down(3)
        sheet.paragraph("Pour finir", "sans-bold", 13, 7, None)
        for line in FINAL_CHECK:
            _ticked(sheet, line, "sans", 10, LEFT)
    return sheet.finish()


def _step(sheet: PdfSheet, route_step: RouteStep) -> None:
    sheet.down(3)
    sheet.paragraph(route_step.heading, "sans-bold", 13, 7, None)
    sheet.paragraph(route_step.advice, "sans", 9.5, _LINE, None, color=_MUTED)
    for action in route_step.actions:
        sheet.down(1.5)
        _ticked(sheet, action.title, "sans-bold", 10.5, LEFT)
        for instruction in action.instructions:
            sheet.paragraph(instruction.text, "sans", 10, _LINE, None, x=LEFT + 6, width=WIDTH - 6)
            _ticks(sheet, instruction.ticks)


def _ticks(sheet: PdfSheet, ticks: Sequence[str]) -> None:
    """One box per person or class; two columns when every name fits in one."""
    left = LEFT + 10
    column = (WIDTH - 10) / 2
    if not all(sheet.width(t, "sans", 10) + _BOX + 4 < column for t in ticks):
        for tick in ticks:
            _ticked(sheet, tick, "sans", 10, left)
        return
    for index in range(0, len(ticks), 2):
        if not sheet.fits(_LINE):
            sheet.new_page()
        for offset, tick in enumerate(ticks[index : index + 2]):
            x = left + offset * column
            sheet.box(x, _BOX, _LINE)
            sheet.text(x + _BOX + 1, column - _BOX - 1, _LINE, tick, "sans", 10)
        sheet.down(_LINE)


def _ticked(sheet: PdfSheet, text: str, font: str, size: float, left: float) -> None:
    """A box, then the text wrapped beside it."""
    if not sheet.fits(_LINE):
        sheet.new_page()
    sheet.box(left, _BOX, _LINE)
    x = left + _BOX + 1
    sheet.paragraph(text, font, size, _LINE, None, x=x, width=LEFT + WIDTH - x)
