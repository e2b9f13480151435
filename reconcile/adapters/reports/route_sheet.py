"""The route sheet of `plan` (« fiche de route »): HTML to print, and a PDF when a Unicode font is installed.

The content is `reconcile.core.route_sheet`; this module only lays it out. It names pupils:
written private (0600), like every report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconcile.adapters.files import write_private_bytes, write_private_text, writing_into
from reconcile.adapters.reports.class_lists import find_unicode_fonts
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

if TYPE_CHECKING:
    from fpdf import FPDF

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
        output_dir.mkdir(parents=True, exist_ok=True)
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


def _pdf(page: _Page) -> bytes | None:
    fonts = find_unicode_fonts()
    if fonts is None:
        return None
    # Imported here: fpdf2 is only needed when a PDF is made.
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"{page.context.title} — {page.context.school}")
    pdf.set_author("reconcile")
    pdf.set_margins(14, 12, 14)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("Sans", "", str(fonts["sans"]))
    pdf.add_font("Sans", "B", str(fonts["sans-bold"]))
    pdf.add_page()
    pdf.set_font("Sans", "B", 17)
    _paragraph(pdf, page.context.title, height=8)
    pdf.set_font("Sans", size=10)
    pdf.set_text_color(82, 96, 109)
    for label, value in (
        ("École", page.context.school or "—"),
        ("Serveur", page.context.server_url),
        ("Établi le", page.context.generated_at),
    ):
        _paragraph(pdf, f"{label} : {value}")
    pdf.set_text_color(31, 41, 51)
    pdf.ln(2)
    pdf.set_font("Sans", "B", 11)
    _paragraph(pdf, page.headline)
    pdf.set_font("Sans", size=9.5)
    for line in page.use:
        _paragraph(pdf, f"• {line}")
    for route_step in page.steps:
        _step(pdf, route_step)
    if page.steps:
        pdf.ln(3)
        pdf.set_font("Sans", "B", 13)
        _paragraph(pdf, "Pour finir", height=7)
        pdf.set_font("Sans", size=10)
        for line in FINAL_CHECK:
            _ticked(pdf, line, pdf.l_margin)
    return bytes(pdf.output())


def _step(pdf: FPDF, route_step: RouteStep) -> None:
    pdf.ln(3)
    pdf.set_font("Sans", "B", 13)
    _paragraph(pdf, route_step.heading, height=7)
    pdf.set_font("Sans", size=9.5)
    pdf.set_text_color(82, 96, 109)
    _paragraph(pdf, route_step.advice)
    pdf.set_text_color(31, 41, 51)
    for action in route_step.actions:
        pdf.ln(1.5)
        pdf.set_font("Sans", "B", 10.5)
        _ticked(pdf, action.title, pdf.l_margin)
        for instruction in action.instructions:
            pdf.set_font("Sans", size=10)
            pdf.set_x(pdf.l_margin + 6)
            _paragraph(pdf, instruction.text, indent=6)
            _ticks(pdf, instruction.ticks)


def _ticks(pdf: FPDF, ticks: Sequence[str]) -> None:
    """One box per person or class; two columns when every name fits in one."""
    left = pdf.l_margin + 10
    column = (pdf.w - pdf.r_margin - left) / 2
    two_columns = all(pdf.get_string_width(t) + _BOX + 3 < column for t in ticks)
    if not two_columns:
        for tick in ticks:
            _ticked(pdf, tick, left)
        return
    for index in range(0, len(ticks), 2):
        if pdf.will_page_break(_LINE):
            pdf.add_page()
        y = pdf.get_y()
        for offset, tick in enumerate(ticks[index : index + 2]):
            x = left + offset * column
            pdf.rect(x, y + (_LINE - _BOX) / 2, _BOX, _BOX)
            pdf.set_xy(x + _BOX + 2, y)
            pdf.cell(column - _BOX - 2, _LINE, tick)
        pdf.set_xy(pdf.l_margin, y + _LINE)


def _ticked(pdf: FPDF, text: str, left: float) -> None:
    """A box, then the text wrapped beside it."""
    if pdf.will_page_break(_LINE):
        pdf.add_page()
    y = pdf.get_y()
    pdf.rect(left, y + (_LINE - _BOX) / 2, _BOX, _BOX)
    pdf.set_xy(left + _BOX + 2, y)
    pdf.multi_cell(0, _LINE, text, align="L", new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str, *, height: float = _LINE, indent: float = 0) -> None:
    pdf.set_x(pdf.l_margin + indent)
    pdf.multi_cell(0, height, text, align="L", new_x="LMARGIN", new_y="NEXT")
