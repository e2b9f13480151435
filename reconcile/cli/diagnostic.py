"""`reconcile diagnostic`: does reconcile understand this server? Read-only; `--capture` for maintainers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reconcile.adapters.intrascol.capture import write_capture
from reconcile.adapters.intrascol.diagnostic import Diagnosis, diagnose, unknown_version
from reconcile.adapters.intrascol.page_checks import Status
from reconcile.cli.connection import CaBundleOption, LoginOption, ServerAccess, UrlOption, credentials
from reconcile.cli.errors import READ_ONLY_INTERRUPTED, on_ctrl_c
from reconcile.cli.render import console, shown
from reconcile.core.errors import ReconcileError

_COLOURS = {Status.FOUND: "green", Status.MISSING: "red", Status.DIFFERENT: "red", Status.UNCHECKED: "dim"}


def diagnostic(
    capture: Annotated[
        Path | None,
        typer.Option(
            "--capture",
            metavar="FICHIER",
            help="Écrit aussi, dans ce fichier .zip, les pages vues, anonymisées, à envoyer aux mainteneurs.",
            dir_okay=False,
        ),
    ] = None,
    url: UrlOption = None,
    login: LoginOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Vérifie, sans rien modifier, que reconcile comprend ce serveur IntraScol (à lancer en premier)."""
    if capture is not None and not capture.resolve().parent.is_dir():
        raise ReconcileError(
            f"Le dossier {capture.resolve().parent} n'existe pas : créez-le ou changez --capture."
        )
    base, admin, password = credentials(ServerAccess(url, login, ca_bundle=ca_bundle))
    with on_ctrl_c(READ_ONLY_INTERRUPTED), console.status(f"Diagnostic de {shown(base)} (lecture seule)…"):
        result = diagnose(base, admin, password, ca_bundle=ca_bundle)
    print_diagnosis(result)
    if capture is not None:
        pages = write_capture(
            capture, pages=result.pages, secrets=result.secrets, checks=result.checks, summary=verdict(result)
        )
        console.print(
            f"[green]Capture écrite :[/] {shown(str(capture.resolve()))} (lisible par vous seul) : "
            f"les {pages} pages vues pendant le diagnostic et son tableau. Chaque identifiant, nom, "
            "prénom, mot de passe, nom de classe et de fichier, et le nom de l'école, y est remplacé par "
            "un pseudonyme ; votre identifiant, votre mot de passe et les cookies de session en sont "
            "retirés. Vous pouvez l'envoyer aux mainteneurs de reconcile.",
            highlight=False,
        )
    style = "bold green" if result.compatible else "bold red"
    console.print(f"[{style}]{shown(verdict(result))}[/]", highlight=False)
    raise typer.Exit(0 if result.compatible else 1)


def print_diagnosis(result: Diagnosis) -> None:
    table = Table(title=f"Diagnostic de {shown(result.url)}", title_justify="left", show_lines=True)
    table.add_column("Page")
    table.add_column("Élément attendu")
    table.add_column("État")
    table.add_column("Ce que cela veut dire pour la rentrée")
    for check in result.checks:
        meaning = check.detail
        if check.status is not Status.FOUND and check.consequence:
            meaning = f"{check.detail}\n→ {check.consequence}" if check.detail else f"→ {check.consequence}"
        colour = _COLOURS[check.status]
        table.add_row(
            shown(check.page), shown(check.element), f"[{colour}]{check.status.value}[/]", shown(meaning)
        )
    console.print(table)
    unknown = unknown_version(result.version) if result.version is not None else None
    if unknown:
        console.print(f"[yellow]{shown(unknown)} Le tableau ci-dessus dit ce que reconcile y comprend.[/]")


def verdict(result: Diagnosis) -> str:
    """The last words of the diagnostic: compatible or not, and what to do next."""
    if result.compatible:
        return (
            "Verdict : compatible. reconcile trouve sur ce serveur tout ce dont il a besoin. "
            "Ensuite : reconcile export -o rentree.xlsx, puis plan et apply."
        )
    failures = result.failures
    return (
        f"Verdict : NON compatible ({len(failures)} élément{'s' if len(failures) > 1 else ''} "
        "absent ou différent). Ne lancez pas reconcile apply sur ce serveur. Faites la rentrée à la main "
        "avec la fiche de route que reconcile plan écrit, et envoyez aux mainteneurs une capture "
        "anonymisée : reconcile diagnostic --capture diagnostic.zip"
    )
