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

from reconcile import __version__
from reconcile.adapters.files import write_private_stream, write_private_text, writing_into
from reconcile.adapters.reports.xlsx_stream import StreamBook, StreamSheet, Style
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

        # Rows written as text (xlsx_stream), never held as cells: 50,000 pupils, 110,000 rows.
        book = StreamBook()
        summary_sheet(book, context, headline(plan), sections)
        remarks_sheet(book, (*problems, *warnings))
        operations_sheet(book, sections)
        classes_sheet(book, classes)
        xlsx_path = output_dir / f"{PLAN_REPORT_NAME}.xlsx"
        write_private_stream(xlsx_path, book.save)
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


def failure_book(context: ReportContext, failure: Failure) -> StreamBook:
    """The xlsx twin of `failure_html`: one `Résumé` sheet."""
    facts = [
        ("École", context.school or "—"),
        ("Serveur", context.server_url or "—"),
        ("Établi le", context.generated_at),
        ("Conclusion", failure.headline),
        *(("Pourquoi", reason) for reason in failure.reasons),
        *(("À faire", line) for line in failure.advice),
    ]
    book = StreamBook()
    stream_table(book.create_sheet("Résumé", (20, 120)), ("", context.title), facts, wrap=(2,))
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
        write_private_stream(xlsx_path, failure_book(context, failure).save)
    return ReportFiles(html_path, xlsx_path)


def _export_date(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return french_datetime(datetime.fromisoformat(text))
    except ValueError:
        return text


# --- xlsx ----------------------------------------------------------------------------------


def stream_table(
    sheet: StreamSheet,
    header: Sequence[str],
    rows: Iterable[Sequence[str | int | None]],
    wrap: Sequence[int] = (),
) -> None:
    """A table on a `StreamSheet`: the header row, then the rows (wrapped in the `wrap` columns)."""
    sheet.append(header, (Style.HEADING,) * len(header))
    styles = tuple(Style.WRAP if column in wrap else Style.PLAIN for column in range(1, len(header) + 1))
    for row in rows:
        sheet.append(row, styles)


def summary_sheet(
    book: StreamBook, context: ReportContext, status: str, sections: Sequence[StepSection]
) -> None:
    facts = [
        (context.title, None),
        ("École", context.school or "—"),
        ("Serveur", context.server_url),
        ("Établi le", context.generated_at),
    ]
    if context.exported_at:
        facts.append(("Classeur exporté le", context.exported_at))
    facts.append(("Conclusion", status))
    sheet = book.create_sheet("Résumé", (52, 60, 12), frozen_rows=len(facts) + 2)
    for row_number, (label, value) in enumerate(facts, start=1):
        sheet.append((label, value), (Style.TITLE if row_number == 1 else Style.LABEL,))
    sheet.append(())
    stream_table(
        sheet,
        ("Étape", "Ce qui sera fait", "Opérations"),
        ((s.heading, s.summary, len(s.operations)) for s in sections),
        wrap=(2,),
    )


def remarks_sheet(book: StreamBook, items: Sequence[Finding]) -> None:
    sheet = book.create_sheet("Remarques", (16, 44, 110))
    stream_table(
        sheet, ("Gravité", "Où", "Message"), ((r.severity, r.where, r.message) for r in items), (2, 3)
    )


def operations_sheet(book: StreamBook, sections: Sequence[StepSection]) -> None:
    sheet = book.create_sheet("Opérations", (40, 60, 100))
    rows = (
        (section.heading, op.text, "\n".join(op.details)) for section in sections for op in section.operations
    )
    stream_table(sheet, ("Étape", "Opération", "Détail"), rows, (1, 2, 3))


def classes_sheet(book: StreamBook, classes: Sequence[ClassChange]) -> None:
    """One row per pupil and class: who stays, arrives (from where), leaves (to where)."""
    sheet = book.create_sheet("Classes", (18, 20, 40, 36))
    sheet.append(("Classe", "Statut de la classe", "Élève", "Mouvement"), (Style.HEADING,) * 4)
    for change in classes:
        name, status = change.name, change.status
        for pupil in change.stays:
            sheet.append((name, status, pupil, "reste"))
        for move in change.arrives:
            sheet.append((name, status, move.name, f"arrive ({move.where})"))
        for move in change.leaves:
            sheet.append((name, status, move.name, f"part ({move.where})"))
    sheet.filter_all()
