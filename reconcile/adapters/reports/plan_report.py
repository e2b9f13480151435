"""Change reports and class lists: HTML and xlsx files.

The words come from `reconcile.core.wording`; this module only lays them out. The HTML
is one self-contained page (inline CSS, a print stylesheet, no external resource)
from the Jinja2 templates of `reconcile/adapters/templates/` (autoescaped: server text is
never markup); the xlsx holds the same content, one sheet per part, where server
text is always a string, never a formula.

Built from parts the outcome report of `apply` reuses: `report_environment()`,
the template blocks and macros, `ReportContext`, and the `*_sheet` writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from reconcile import __version__
from reconcile.adapters.files import make_private_folder, replace_atomically, write_private_text, writing_into
from reconcile.adapters.workbook.sheets import appended_text, xlsx_safe_text
from reconcile.core.findings import Finding
from reconcile.core.model import ServerState, WantedState
from reconcile.core.operations import Plan
from reconcile.core.plausibility import move_counts
from reconcile.core.wording import (
    ClassChange,
    StepSection,
    class_changes,
    french_datetime,
    headline,
    plural,
    step_sections,
)

PLAN_REPORT_NAME = "rapport-plan"
PLAN_REPORT_TITLE = "Rentrée IntraScol : plan des changements"
PLAN_NOT_MADE = "Le plan n'a pas pu être fait : rien n'a été vérifié, rien ne peut être appliqué."


def report_environment() -> Environment:
    """The Jinja2 environment of the reports: our templates, autoescaping always on."""
    environment = Environment(
        loader=PackageLoader("reconcile.adapters", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["plural"] = plural
    return environment


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """The two files of one report."""

    html: Path
    xlsx: Path


@dataclass(frozen=True)
class ReportContext:
    """What every report shows at its top: which school, which server, when."""

    title: str
    school: str
    server_url: str
    generated_at: str
    exported_at: str | None = None

    def template_values(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "school": self.school,
            "server_url": self.server_url,
            "generated_at": self.generated_at,
            "exported_at": self.exported_at,
            "version": __version__,
        }


def plan_status(plan: Plan) -> str:
    """The banner's kind: `blocked`, `empty` or `ok`."""
    if plan.problems:
        return "blocked"
    return "empty" if plan.is_empty else "ok"


def write_plan_report(
    plan: Plan,
    current: ServerState,
    wanted: WantedState,
    output_dir: Path,
    *,
    server_url: str,
    school: str,
    generated_at: datetime,
) -> ReportFiles:
    """Write `rapport-plan.html` and `rapport-plan.xlsx` into `output_dir`; returns their paths."""
    with writing_into(output_dir):
        make_private_folder(output_dir)
        exported_at = wanted.export.exported_at if wanted.export else None
        context = ReportContext(
            title=PLAN_REPORT_TITLE,
            school=school or current.school,
            server_url=server_url,
            generated_at=french_datetime(generated_at),
            exported_at=_export_date(exported_at),
        )
        sections = step_sections(plan)
        problems = plan.problems
        warnings = plan.warnings
        classes = class_changes(plan, current)
        html = (
            report_environment()
            .get_template("rapport_plan.html.j2")
            .render(
                **context.template_values(),
                headline=headline(plan),
                status=plan_status(plan),
                problems=problems,
                warnings=warnings,
                move_counts=move_counts(plan.unusual_moves),
                sections=sections,
                classes=classes,
            )
        )
        html_path = output_dir / f"{PLAN_REPORT_NAME}.html"
        write_private_text(html_path, html)  # names pupils: 0600

        # Write-only: rows are streamed to the file, never held as cells (50,000 pupils: seconds less).
        book = Workbook(write_only=True)
        summary_sheet(book.create_sheet("Résumé"), context, headline(plan), sections)
        remarks_sheet(book.create_sheet("Remarques"), (*problems, *warnings))
        operations_sheet(book.create_sheet("Opérations"), sections)
        classes_sheet(book.create_sheet("Classes"), classes)
        xlsx_path = output_dir / f"{PLAN_REPORT_NAME}.xlsx"
        replace_atomically(xlsx_path, book.save)
        return ReportFiles(html_path, xlsx_path)


# --- A plan that could not be made ---------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A command that stopped before its report: the banner, the reasons, what to do."""

    headline: str
    reasons: tuple[str, ...]
    advice: tuple[str, ...] = ()


def failure_html(context: ReportContext, failure: Failure, history: Sequence[object] = ()) -> str:
    """The page of a report that says the command could not be done, and why."""
    return (
        report_environment()
        .get_template("rapport_echec.html.j2")
        .render(
            **context.template_values(),
            headline=failure.headline,
            reasons=failure.reasons,
            advice=failure.advice,
            history=history,
        )
    )


def failure_book(context: ReportContext, failure: Failure) -> Workbook:
    """The xlsx twin of `failure_html`: one `Résumé` sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Résumé"
    facts = [
        ("École", context.school or "—"),
        ("Serveur", context.server_url or "—"),
        ("Établi le", context.generated_at),
        ("Conclusion", failure.headline),
        *(("Pourquoi", reason) for reason in failure.reasons),
        *(("À faire", line) for line in failure.advice),
    ]
    write_table(sheet, ("", context.title), facts, (20, 120), wrap=(2,))
    return book


def write_plan_failure_report(
    output_dir: Path, reason: str, *, server_url: str, generated_at: datetime
) -> ReportFiles | None:
    """Replace an earlier `rapport-plan.*` of `output_dir` by one saying the plan could not be made.

    Returns None (and writes nothing) when there was no earlier report to contradict.
    """
    html_path = output_dir / f"{PLAN_REPORT_NAME}.html"
    xlsx_path = output_dir / f"{PLAN_REPORT_NAME}.xlsx"
    if not html_path.exists() and not xlsx_path.exists():
        return None
    context = ReportContext(
        title=PLAN_REPORT_TITLE,
        school="",
        server_url=server_url,
        generated_at=french_datetime(generated_at),
    )
    failure = Failure(
        PLAN_NOT_MADE,
        (reason,),
        ("Corrigez ce qui est indiqué puis relancez reconcile plan : ce rapport sera remplacé par le plan.",),
    )
    with writing_into(output_dir):
        write_private_text(html_path, failure_html(context, failure))
        replace_atomically(xlsx_path, failure_book(context, failure).save)
    return ReportFiles(html_path, xlsx_path)


def _export_date(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return french_datetime(datetime.fromisoformat(text))
    except ValueError:
        return text


# --- xlsx ----------------------------------------------------------------------------------

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1D4E89")
_WRAP = Alignment(wrap_text=True, vertical="top")


def put(sheet: Worksheet, row: int, column: int, value: str | int | None, *, wrap: bool = False) -> None:
    """Write one cell; text stays text even when it starts with `=` (never a formula)."""
    cell = sheet.cell(row=row, column=column)
    cell.value = xlsx_safe_text(value) if isinstance(value, str) else value
    if isinstance(value, str):
        cell.data_type = "s"
    if wrap:  # a style per cell is costly: only where long text needs it
        cell.alignment = _WRAP


Sheet = Worksheet | WriteOnlyWorksheet


def write_table(
    sheet: Sheet,
    header: Sequence[str],
    rows: Iterable[Sequence[str | int | None]],
    widths: Sequence[int],
    *,
    first_row: int = 1,
    wrap: Sequence[int] = (),
) -> int:
    """A header row then the rows (text wrapped in the `wrap` columns, 1-based); returns the next row.

    On a write-only sheet the rows are appended: `first_row` must be the next one, and
    a table below other rows needs `prepare_columns` called before any row.
    """
    if isinstance(sheet, WriteOnlyWorksheet):
        if first_row == 1:
            prepare_columns(sheet, widths, first_row)
        sheet.append([_styled(sheet, title, font=_HEADER_FONT, fill=_HEADER_FILL) for title in header])
        count = 0
        for count, row in enumerate(rows, start=1):  # noqa: B007  (the count is the result)
            sheet.append(_appended_row(sheet, row, wrap))
        return first_row + 1 + count
    for column, title in enumerate(header, start=1):
        put(sheet, first_row, column, title)
        sheet.cell(row=first_row, column=column).font = _HEADER_FONT
        sheet.cell(row=first_row, column=column).fill = _HEADER_FILL
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    row_number = first_row + 1
    for row in rows:
        for column, value in enumerate(row, start=1):
            put(sheet, row_number, column, value, wrap=column in wrap)
        row_number += 1
    sheet.freeze_panes = f"A{first_row + 1}"
    return row_number


def prepare_columns(sheet: Sheet, widths: Sequence[int], header_row: int) -> None:
    """Column widths, and the rows above the table's first line frozen (a write-only sheet:
    before its first row)."""
    dimensions = sheet.column_dimensions  # type: ignore[union-attr]  # write-only ones too; not in the stubs
    for column, width in enumerate(widths, start=1):
        dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = f"A{header_row + 1}"


def _styled(
    sheet: WriteOnlyWorksheet, value: str, *, font: Font | None = None, fill: PatternFill | None = None
) -> Cell:
    """A cell of a write-only sheet with a style (a heading)."""
    text = appended_text(sheet, value)
    cell = text if isinstance(text, Cell) else WriteOnlyCell(sheet, text)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def _appended_row(
    sheet: WriteOnlyWorksheet, row: Sequence[str | int | None], wrap: Sequence[int]
) -> list[str | int | Cell | None]:
    """The values of a row for `append`: text never a formula, wrapped in the `wrap` columns."""
    values: list[str | int | Cell | None] = []
    for column, value in enumerate(row, start=1):
        shown = appended_text(sheet, value) if isinstance(value, str) else value
        if column in wrap and shown is not None:
            cell = shown if isinstance(shown, Cell) else WriteOnlyCell(sheet, shown)
            cell.alignment = _WRAP
            shown = cell
        values.append(shown)
    return values


def summary_sheet(sheet: Sheet, context: ReportContext, status: str, sections: Sequence[StepSection]) -> None:
    sheet.title = "Résumé"
    facts = [
        (context.title, None),
        ("École", context.school or "—"),
        ("Serveur", context.server_url),
        ("Établi le", context.generated_at),
    ]
    if context.exported_at:
        facts.append(("Classeur exporté le", context.exported_at))
    facts.append(("Conclusion", status))
    widths = (52, 60, 12)
    if isinstance(sheet, WriteOnlyWorksheet):
        prepare_columns(sheet, widths, len(facts) + 2)
        for row_number, (label, value) in enumerate(facts, start=1):
            title = _styled(sheet, label, font=Font(bold=True, size=14 if row_number == 1 else 11))
            sheet.append([title, None if value is None else appended_text(sheet, value)])
        sheet.append([])
    else:
        for row_number, (label, value) in enumerate(facts, start=1):
            put(sheet, row_number, 1, label)
            sheet.cell(row=row_number, column=1).font = Font(bold=True, size=14 if row_number == 1 else 11)
            if value is not None:
                put(sheet, row_number, 2, value)
    write_table(
        sheet,
        ("Étape", "Ce qui sera fait", "Opérations"),
        ((s.heading, s.summary, len(s.operations)) for s in sections),
        widths,
        first_row=len(facts) + 2,
        wrap=(2,),
    )


def remarks_sheet(sheet: Sheet, items: Sequence[Finding]) -> None:
    write_table(
        sheet,
        ("Gravité", "Où", "Message"),
        ((r.severity, r.where, r.message) for r in items),
        (16, 44, 110),
        wrap=(2, 3),
    )


def operations_sheet(sheet: Sheet, sections: Sequence[StepSection]) -> None:
    rows = [
        (section.heading, op.text, "\n".join(op.details)) for section in sections for op in section.operations
    ]
    write_table(sheet, ("Étape", "Opération", "Détail"), rows, (40, 60, 100), wrap=(1, 2, 3))


def classes_sheet(sheet: Sheet, classes: Sequence[ClassChange]) -> None:
    """One row per pupil and class: who stays, arrives (from where), leaves (to where)."""
    rows: list[tuple[str, str, str, str]] = []
    for change in classes:
        rows.extend((change.name, change.status, name, "reste") for name in change.stays)
        rows.extend((change.name, change.status, m.name, f"arrive ({m.where})") for m in change.arrives)
        rows.extend((change.name, change.status, m.name, f"part ({m.where})") for m in change.leaves)
    write_table(sheet, ("Classe", "Statut de la classe", "Élève", "Mouvement"), rows, (18, 20, 40, 36))
    # A write-only sheet has its filter too (written with the sheet's end); openpyxl's stubs omit it.
    sheet.auto_filter.ref = f"A1:D{len(rows) + 1}"  # type: ignore[union-attr]
