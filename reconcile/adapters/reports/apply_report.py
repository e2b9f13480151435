"""The account of a `reconcile apply` run, in French, written readable by its owner only.

`rapport-application.html` and `.xlsx` (the plan report's layout, `reconcile.adapters.reports.plan_report`)
and a plain-text twin `compte-rendu-application.txt`: this run, and the whole rentrée of the
workbook run by run (`reconcile.core.rentree_record`). Each run keeps its own dated
copy (`rapport-application-2026-09-01-08h30.html`…), never overwritten; the undated files are
always the latest run's. They hold the passwords of the new accounts: every file is created
with mode 0600 from its first byte. The terminal never shows them; it shows where these files are.
A run that stops before its report replaces the undated files by a report saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reconcile.adapters.files import write_private_bytes, write_private_stream, write_private_text
from reconcile.adapters.reports.plan_report import (
    Failure,
    ReportContext,
    ReportFiles,
    failure_book,
    failure_html,
    report_environment,
    stream_table,
)
from reconcile.adapters.reports.xlsx_stream import StreamBook
from reconcile.core.model import UserType, display_name, person_order
from reconcile.core.operations import Operation, Step
from reconcile.core.outcome import ApplyRun, NewAccount, OpStatus
from reconcile.core.rentree_record import RunRecord
from reconcile.core.vocabulary import NOTHING_TO_DO
from reconcile.core.wording import OperationText, french_datetime, plural

REPORT_NAME = "compte-rendu-application.txt"
APPLY_REPORT_NAME = "rapport-application"
APPLY_REPORT_TITLE = "Rentrée IntraScol : compte rendu de l'application"
TEXT_REPORT_TITLE = "Compte rendu de l'application du classeur"
MANUAL_PROCEDURE = (
    "Procédure manuelle : créez un élève provisoire, mettez-le dans la classe, connectez-vous "
    "avec lui côté utilisateurs, sauvegardez puis videz le dossier de la classe, supprimez la "
    "classe, puis l'élève provisoire."
)


def run_report(
    run: ApplyRun, *, workbook: Path, server_url: str, when: datetime, history: Sequence[RunRecord] = ()
) -> str:
    """The run in French: drift, what was done, new accounts with passwords, archives, verification,
    then the whole rentrée run by run."""
    lines = [
        TEXT_REPORT_TITLE,
        "=" * len(TEXT_REPORT_TITLE),
        f"Classeur : {workbook}",
        f"Serveur : {server_url}",
        f"Date : {when.strftime('%d/%m/%Y à %H:%M')}",
        "",
    ]
    resolution = run.preparation.resolution
    if resolution.changes or resolution.skipped:
        lines += ["Changements sur le serveur depuis l'export", "-" * 42]
        lines += [f"- {c}" for c in (*resolution.changes, *resolution.skipped)]
        lines.append("")
    lines += ["Opérations", "-" * 10]
    if not run.outcome.results:
        lines.append(
            "Aucune : le serveur était déjà dans l'état demandé." if run.preparation.plan.is_empty else ""
        )
    for result in run.outcome.results:
        mark = "OK " if result.status is OpStatus.DONE else "!! "
        lines.append(f"{mark}[{result.status.value}] {result.message}")
    if not run.outcome.complete:
        step = run.outcome.incomplete_step
        lines += [
            "",
            f"INTERROMPU à l'étape « {step.title if step else '?'} » : {run.outcome.reason}",
            "Relancez la même commande : elle reprend là où elle s'est arrêtée.",
        ]
    lines.append("")
    if run.accounts:
        lines += ["Nouveaux comptes (identifiant et mot de passe)", "-" * 46]
        for account in sorted(run.accounts, key=_account_order):
            kind = "Élève" if account.type is UserType.PUPIL else "Adulte"
            password = account.password or "inconnu (réponse du serveur perdue : à redéfinir)"
            lines.append(
                f"{kind:6}  {display_name(account.first_name, account.last_name)} : "
                f"identifiant {account.login}, mot de passe {password}"
            )
        lines.append("")
    if run.outcome.archives:
        lines += ["Dossiers de travail archivés avant la suppression de leur classe", "-" * 64]
        lines += [
            f"- {a.class_name} : {a.files} fichier(s), {a.size} octets → {a.path or 'dossier vide'}"
            for a in run.outcome.archives
        ]
        lines.append("")
    if run.outcome.kept_classes:
        lines += [
            "Classes non supprimées (dossier de travail non vide, --garder-dossiers)",
            "-" * 66,
            *(f"- {name}" for name in run.outcome.kept_classes),
            MANUAL_PROCEDURE,
            "",
        ]
    lines += ["Vérification", "-" * 12]
    verification = run.verification
    if verification is None:
        lines.append("Non faite : l'application n'est pas terminée.")
    else:
        if verification.ok:
            lines.append("Le serveur relu est dans l'état demandé par le classeur.")
        else:
            lines.append("Le serveur relu diffère du classeur :")
            lines += [f"- {d}" for d in verification.differences]
        if verification.unassigned:
            lines.append(f"Élèves sans classe (classe : aucune) : {len(verification.unassigned)}")
            lines += [f"- {u.display_name} ({u.login})" for u in verification.unassigned]
        else:
            lines.append("Aucun élève sans classe.")
    lines.append("")
    lines += history_text(history)
    return "\n".join(lines)


def history_text(history: Sequence[RunRecord]) -> list[str]:
    """The whole rentrée, run by run, in plain text (empty without a journal)."""
    if not history:
        return []
    title = f"Toute la rentrée de ce classeur ({plural(len(history), 'exécution')}), d'après le journal"
    lines = [title, "-" * len(title)]
    for record in history:
        lines += ["", record.heading, record.status]
        for item in record.items:
            lines.append(f"- {item.text}")
            lines += [f"    {detail}" for detail in item.details]
    lines.append("")
    return lines


def run_headline(run: ApplyRun) -> tuple[str, str]:
    """The banner: (kind for the stylesheet, French sentence)."""
    if run.preparation.plan.is_empty:
        return "empty", NOTHING_TO_DO
    if not run.outcome.complete:
        step = run.outcome.incomplete_step
        where = f"à l'étape « {step.title} »" if step else ""
        return "blocked", f"Application interrompue {where} : relancez la même commande pour la terminer."
    if run.verification is None or not run.verification.ok:
        return (
            "blocked",
            "Application faite, mais le serveur relu diffère du classeur : voir la vérification.",
        )
    return "ok", "Application terminée et vérifiée : le serveur est dans l'état que demande le classeur."


@dataclass(frozen=True)
class ApplyReportContent:
    """What `rapport-application.html` and `.xlsx` both show; each file written on its own, so that
    one that cannot be written never stops the other."""

    run: ApplyRun
    context: ReportContext
    status: str
    headline: str
    operations: list[dict[str, Any]]
    accounts: list[dict[str, str]]
    unassigned: list[str]
    history: Sequence[RunRecord]

    @classmethod
    def of(
        cls,
        run: ApplyRun,
        *,
        server_url: str,
        school: str,
        generated_at: datetime,
        history: Sequence[RunRecord] = (),
    ) -> ApplyReportContent:
        context = ReportContext(
            title=APPLY_REPORT_TITLE,
            school=school,
            server_url=server_url,
            generated_at=french_datetime(generated_at),
            exported_at=None,
        )
        status, headline = run_headline(run)
        operations = [
            {
                "step": f"{int(step)}. {step.title}",
                "status": result.status.value,
                "kind": "ok" if result.status in (OpStatus.DONE, OpStatus.KEPT) else "failed",
                "message": result.message,
                "attempts": result.attempts,
            }
            for result in run.outcome.results
            for step in [_step_of(run, result.op)]
        ]
        accounts = [
            {
                "last_name": a.last_name,
                "first_name": a.first_name,
                "type": a.type.label,
                "login": a.login,
                "password": a.password or "inconnu (à redéfinir)",
            }
            for a in sorted(run.accounts, key=_account_order)
        ]
        verification = run.verification
        unassigned = [
            f"{u.display_name} ({u.login})" for u in (verification.unassigned if verification else ())
        ]
        return cls(run, context, status, headline, operations, accounts, unassigned, history)

    def write_html(self, output_dir: Path) -> Path:
        """`rapport-application.html` (mode 0600)."""
        run, verification = self.run, self.run.verification
        resolution = run.preparation.resolution
        incomplete = ""
        if not run.outcome.complete:
            incomplete = (
                f"{run.outcome.reason} — relancez la même commande : elle reprend où elle s'est arrêtée."
            )
        html = (
            report_environment()
            .get_template("rapport_application.html.j2")
            .render(
                **self.context.template_values(),
                status=self.status,
                headline=self.headline,
                drift=[*resolution.changes, *resolution.skipped],
                operations=self.operations,
                incomplete=incomplete,
                accounts=self.accounts,
                archives=run.outcome.archives,
                kept=run.outcome.kept_classes,
                manual=MANUAL_PROCEDURE,
                verification=verification,
                differences=verification.differences if verification else (),
                unassigned=self.unassigned,
                history=self.history,
            )
        )
        return write_private_text(output_dir / f"{APPLY_REPORT_NAME}.html", html)

    def write_xlsx(self, output_dir: Path) -> Path:
        """`rapport-application.xlsx` (mode 0600): the same content, one sheet per part."""
        context, verification = self.context, self.run.verification
        resolution = self.run.preparation.resolution
        facts = [
            ("École", context.school or "—"),
            ("Serveur", context.server_url),
            ("Établi le", context.generated_at),
            ("Conclusion", self.headline),
        ]
        book = StreamBook()
        stream_table(book.create_sheet("Résumé", (20, 110)), ("", context.title), facts)
        stream_table(
            book.create_sheet("Opérations", (40, 22, 100, 8)),
            ("Étape", "Résultat", "Opération", "Essais"),
            [(o["step"], o["status"], o["message"], o["attempts"]) for o in self.operations],
        )
        stream_table(
            book.create_sheet("Nouveaux comptes", (28, 24, 10, 30, 22)),
            ("Nom", "Prénom", "Type", "Identifiant", "Mot de passe"),
            [(a["last_name"], a["first_name"], a["type"], a["login"], a["password"]) for a in self.accounts],
        )
        stream_table(
            book.create_sheet("Vérification", (120,)),
            ("Constat",),
            [(d,) for d in (verification.differences if verification else ("Non faite",))]
            + [(f"Sans classe : {u}",) for u in self.unassigned],
        )
        if resolution.changes or resolution.skipped:
            stream_table(
                book.create_sheet("Depuis l'export", (140,)),
                ("Changement",),
                [(line,) for line in (*resolution.changes, *resolution.skipped)],
            )
        history_sheet(book, self.history)
        return write_private_stream(output_dir / f"{APPLY_REPORT_NAME}.xlsx", book.save)


def history_sheet(book: StreamBook, history: Sequence[RunRecord]) -> None:
    """The sheet `Toute la rentrée`: one row per thing done, with its run (none without a journal)."""
    if not history:
        return
    rows = [
        (record.number, record.started_at, record.status, item.text, "\n".join(item.details))
        for record in history
        for item in (record.items or (OperationText("", "", "Aucune modification du serveur"),))
    ]
    stream_table(
        book.create_sheet("Toute la rentrée", (11, 30, 50, 70, 90)),
        ("Exécution", "Date", "Issue", "Ce qui a été fait", "Détail"),
        rows,
        wrap=(3, 4, 5),
    )


def _account_order(account: NewAccount) -> tuple[str, tuple[str, str, str]]:
    """Adults first, then pupils, each in the one order of people."""
    return (account.type.value, person_order(account, account.login))


def _step_of(run: ApplyRun, op: Operation) -> Step:
    for step, operations in run.preparation.plan.steps:
        if op in operations:
            return step
    return Step.CLASSES


# --- Each run's dated copy; a run that stopped before its report ------------------------------

APPLY_NOT_MADE = "L'application n'a pas pu être faite : cette exécution n'a rien modifié sur le serveur."
APPLY_STOPPED = (
    "Application arrêtée avant son compte rendu : ce que cette exécution a fait, d'après le journal, "
    "est ci-dessous."
)


def latest_paths(output_dir: Path) -> tuple[Path, Path, Path]:
    """The undated files, always the latest run's: HTML, xlsx, text."""
    stem = output_dir / APPLY_REPORT_NAME
    return stem.with_suffix(".html"), stem.with_suffix(".xlsx"), output_dir / REPORT_NAME


def keep_dated_copies(
    output_dir: Path, when: datetime, written: Sequence[Path] | None = None
) -> tuple[Path, ...]:
    """Copy the undated files of this run to names with its date and time (0600), never replacing one.

    `rapport-application-2026-09-01-08h30.html`, `.xlsx`, `compte-rendu-application-2026-09-01-08h30.txt`;
    a second run in the same minute gets `…-08h30-2`. `written`: the undated files this run wrote
    (by default, those there).
    """
    latest = [
        path for path in latest_paths(output_dir) if path.is_file() and (written is None or path in written)
    ]
    stamp = when.strftime("%Y-%m-%d-%Hh%M")
    for number in range(1, 1000):
        suffix = stamp if number == 1 else f"{stamp}-{number}"
        dated = [path.with_name(f"{path.stem}-{suffix}{path.suffix}") for path in latest]
        if not any(path.exists() for path in dated):
            break
    for source, target in zip(latest, dated, strict=True):
        write_private_bytes(target, source.read_bytes())
    return tuple(dated)


def write_apply_failure_report(
    output_dir: Path,
    reason: str,
    *,
    server_url: str,
    generated_at: datetime,
    history: Sequence[RunRecord] = (),
) -> ReportFiles | None:
    """Replace the undated report by one saying this run stopped before its report, and why.

    Written when an earlier report would otherwise contradict this run, or when this run did
    something (its part of the journal is in it, and it keeps its dated copy). None: nothing written.
    """
    html_path, xlsx_path, text_path = latest_paths(output_dir)
    did_something = any(record.this_run and record.items for record in history)
    if not did_something and not any(path.exists() for path in (html_path, xlsx_path, text_path)):
        return None
    context = ReportContext(
        title=APPLY_REPORT_TITLE,
        school="",
        server_url=server_url,
        generated_at=french_datetime(generated_at),
    )
    failure = Failure(
        APPLY_STOPPED if did_something else APPLY_NOT_MADE,
        (reason,),
        ("Corrigez ce qui est indiqué s'il le faut, puis relancez la même commande : elle reprend là où "
         "elle s'est arrêtée, sans rien faire deux fois, et ce compte rendu sera remplacé.",),
    )  # fmt: skip
    write_private_text(html_path, failure_html(context, failure, history))
    book = failure_book(context, failure)
    history_sheet(book, history)
    write_private_stream(xlsx_path, book.save)
    lines = [
        TEXT_REPORT_TITLE,
        "=" * len(TEXT_REPORT_TITLE),
        f"Serveur : {server_url or '—'}",
        f"Date : {generated_at.strftime('%d/%m/%Y à %H:%M')}",
        "",
        failure.headline,
        f"Pourquoi : {reason}",
        *failure.advice,
        "",
        *history_text(history),
    ]
    write_private_text(text_path, "\n".join(lines))
    if did_something:
        keep_dated_copies(output_dir, generated_at)
    return ReportFiles(html_path, xlsx_path)
