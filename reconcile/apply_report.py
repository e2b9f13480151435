"""The account of one `reconcile apply` run, in French, written readable by its owner only.

It holds the passwords of the new accounts: the file is created with mode 0600
from its first byte. The terminal never shows them; it shows where this file is.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from reconcile.apply import ApplyRun, OpStatus
from reconcile.model import UserType

REPORT_NAME = "compte-rendu-application.txt"


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
        for account in sorted(run.accounts, key=lambda a: (a.type.value, a.last_name.casefold())):
            kind = "Élève" if account.type is UserType.PUPIL else "Adulte"
            password = account.password or "inconnu (réponse du serveur perdue : à redéfinir)"
            lines.append(
                f"{kind:6}  {account.first_name} {account.last_name.upper()} : "
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
            "Procédure manuelle : créez un élève provisoire, mettez-le dans la classe, connectez-vous "
            "avec lui côté utilisateurs, sauvegardez puis videz le dossier de la classe, supprimez la "
            "classe, puis l'élève provisoire.",
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
            lines += [f"- {u.first_name} {u.last_name.upper()} ({u.login})" for u in verification.unassigned]
        else:
            lines.append("Aucun élève sans classe.")
    lines.append("")
    return "\n".join(lines)


def write_private(path: Path, text: str) -> Path:
    """Write `text` to `path` with mode 0600 from the first byte (replacing the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, text.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    return path
