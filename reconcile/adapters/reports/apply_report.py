"""The account of one `reconcile apply` run, in French, written readable by its owner only.

`rapport-application.html` and `.xlsx` (the plan report's layout, `reconcile.adapters.reports.plan_report`)
and a plain-text twin. They hold the passwords of the new accounts: every file is
created with mode 0600 from its first byte. The terminal never shows them; it shows
where these files are.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from reconcile.adapters.files import write_private_bytes, write_private_text
from reconcile.adapters.reports.plan_report import ReportContext, ReportFiles, report_environment, write_table
from reconcile.core.model import UserType, display_name, person_order
from reconcile.core.operations import Operation, Step
from reconcile.core.outcome import ApplyRun, NewAccount, OpStatus
from reconcile.core.vocabulary import NOTHING_TO_DO
from reconcile.core.wording import french_datetime

REPORT_NAME = "compte-rendu-application.txt"
APPLY_REPORT_NAME = "rapport-application"
MANUAL_PROCEDURE = (
    "Procédure manuelle : créez un élève provisoire, mettez-le dans la classe, connectez-vous "
    "avec lui côté utilisateurs, sauvegardez puis videz le dossier de la classe, supprimez la "
    "classe, puis l'élève provisoire."
)


def run_report(run: ApplyRun, *, workbook: Path, server_url: str, when: datetime) -> str:
    """The run in French: drift, what was done, new accounts with passwords, archives, verification."""
    lines = [
        "Compte rendu de l'application du classeur",
        "=========================================",
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
            "Classes non supprimées (dossier de travail non vide, --keep-folders)",
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
    return "\n".join(lines)


def write_private(path: Path, text: str) -> Path:
    """Write `text` to `path` with mode 0600 from the first byte (replacing the file)."""
    return write_private_text(path, text)


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


def write_apply_report(
    run: ApplyRun, output_dir: Path, *, server_url: str, school: str, generated_at: datetime
) -> ReportFiles:
    """Write `rapport-application.html` and `.xlsx` (mode 0600) into `output_dir`."""
    context = ReportContext(
        title="Rentrée IntraScol : compte rendu de l'application",
        school=school,
        server_url=server_url,
        generated_at=french_datetime(generated_at),
        exported_at=None,
    )
    status, headline = run_headline(run)
    resolution = run.preparation.resolution
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
    incomplete = ""
    if not run.outcome.complete:
        incomplete = f"{run.outcome.reason} — relancez la même commande : elle reprend où elle s'est arrêtée."
    verification = run.verification
    unassigned = [f"{u.display_name} ({u.login})" for u in (verification.unassigned if verification else ())]
    html = (
        report_environment()
        .get_template("rapport_application.html.j2")
        .render(
            **context.template_values(),
            status=status,
            headline=headline,
            drift=[*resolution.changes, *resolution.skipped],
            operations=operations,
            incomplete=incomplete,
            accounts=accounts,
            archives=run.outcome.archives,
            kept=run.outcome.kept_classes,
            manual=MANUAL_PROCEDURE,
            verification=verification,
            differences=verification.differences if verification else (),
            unassigned=unassigned,
        )
    )
    html_path = write_private(output_dir / f"{APPLY_REPORT_NAME}.html", html)

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Résumé"
    facts = [
        ("École", context.school or "—"),
        ("Serveur", server_url),
        ("Établi le", context.generated_at),
        ("Conclusion", headline),
    ]
    write_table(summary, ("", context.title), facts, (20, 110))
    write_table(
        book.create_sheet("Opérations"),
        ("Étape", "Résultat", "Opération", "Essais"),
        [(o["step"], o["status"], o["message"], o["attempts"]) for o in operations],
        (40, 22, 100, 8),
    )
    write_table(
        book.create_sheet("Nouveaux comptes"),
        ("Nom", "Prénom", "Type", "Identifiant", "Mot de passe"),
        [(a["last_name"], a["first_name"], a["type"], a["login"], a["password"]) for a in accounts],
        (28, 24, 10, 30, 22),
    )
    write_table(
        book.create_sheet("Vérification"),
        ("Constat",),
        [(d,) for d in (verification.differences if verification else ("Non faite",))]
        + [(f"Sans classe : {u}",) for u in unassigned],
        (120,),
    )
    if resolution.changes or resolution.skipped:
        write_table(
            book.create_sheet("Depuis l'export"),
            ("Changement",),
            [(line,) for line in (*resolution.changes, *resolution.skipped)],
            (140,),
        )
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx_path = write_private_bytes(output_dir / f"{APPLY_REPORT_NAME}.xlsx", buffer.getvalue())
    return ReportFiles(html_path, xlsx_path)


def _account_order(account: NewAccount) -> tuple[str, tuple[str, str, str]]:
    """Adults first, then pupils, each in the one order of people."""
    return (account.type.value, person_order(account, account.login))


def _step_of(run: ApplyRun, op: Operation) -> Step:
    for step, operations in run.preparation.plan.steps:
        if op in operations:
            return step
    return Step.CLASSES
