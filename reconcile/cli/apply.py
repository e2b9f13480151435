"""`reconcile apply`: the workbook applied to the server step by step, then reported and verified."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reconcile.adapters.journal import JOURNAL_NAME
from reconcile.adapters.reports.apply_report import REPORT_NAME, run_report, write_apply_report, write_private
from reconcile.app.apply import apply_workbook
from reconcile.cli.connection import LoginOption, ServerAccess, UrlOption, connect
from reconcile.cli.errors import on_ctrl_c
from reconcile.cli.render import StepBars, console, error_console, paused, show_preparation, show_run
from reconcile.cli.workbook import load_workbook
from reconcile.core.errors import ApplyIncomplete, NotConfirmed
from reconcile.core.outcome import Preparation


def apply(
    workbook: Annotated[
        Path,
        typer.Argument(help="Le classeur rempli (ex. rentree.xlsx).", dir_okay=False, metavar="CLASSEUR"),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", help="Dossier du journal et du compte rendu (défaut : celui du classeur)."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Applique sans demander de confirmation.")] = False,
    keep_folders: Annotated[
        bool,
        typer.Option("--keep-folders", help="Ne vide pas les dossiers de travail : ces classes restent."),
    ] = False,
    allow_mass_delete: Annotated[
        bool, typer.Option("--allow-mass-delete", help="Autorise la suppression de beaucoup d'élèves.")
    ] = False,
    url: UrlOption = None,
    login: LoginOption = None,
) -> None:
    """Applique le classeur au serveur dans l'ordre de la procédure ; relancée, reprend où elle en était."""
    run_apply(
        workbook,
        output_dir=output_dir,
        yes=yes,
        keep_folders=keep_folders,
        allow_mass_delete=allow_mass_delete,
        access=ServerAccess(url, login),
    )


def run_apply(
    workbook: Path,
    *,
    output_dir: Path | None,
    yes: bool,
    keep_folders: bool,
    allow_mass_delete: bool,
    access: ServerAccess,
) -> None:
    """Apply `workbook` to the server `access` reaches, then write the report and the class lists.

    Raises `ApplyIncomplete` when a step stopped or the server re-read differs from the workbook.
    """
    from reconcile.adapters.reports.class_lists import write_class_lists

    wanted = load_workbook(workbook)
    output = output_dir or workbook.resolve().parent
    interrupted = (
        f"Application interrompue (Ctrl-C) : ce qui a déjà été fait est noté dans le journal "
        f"{output / JOURNAL_NAME}.\nRelancez la même commande pour reprendre là où elle s'est arrêtée : "
        "rien ne sera fait deux fois."
    )
    with on_ctrl_c(interrupted, exit_code=2), connect(access) as client:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with console.status("Lecture des comptes du serveur…"):
            client.info()
        with Progress(*columns, console=console, transient=False) as bars:
            run = apply_workbook(
                client,
                wanted,
                workbook=workbook,
                output_dir=output,
                confirm=lambda preparation: paused(bars, lambda: _confirm(preparation, yes)),
                keep_folders=keep_folders,
                allow_mass_delete=allow_mass_delete,
                progress=StepBars(bars),
                notify=lambda text: console.print(f"[yellow]{escape(text)}[/]", highlight=False),
            )
        now = datetime.now().astimezone()
        school = run.verification.state.school if run.verification else run.preparation.current.school
        report = lists = None
        try:
            text = run_report(run, workbook=workbook, server_url=client.url, when=now)
            write_private(output / REPORT_NAME, text)
            report = write_apply_report(run, output, server_url=client.url, school=school, generated_at=now)
            if run.verification is not None:
                # The lists are made from the state the verification read: no request more.
                lists = write_class_lists(run.verification.state, output)
        except OSError as error:
            folder, reason = escape(str(output)), escape(str(error))
            error_console.print(
                f"[bold red]Le compte rendu n'a pas pu être écrit dans {folder} :[/] {reason}",
                highlight=False,
            )
    show_run(run, report)
    if lists is not None:
        shown = escape(str(lists.pdf or lists.html))
        console.print(f"Listes de classes à afficher (lisibles par vous seul) : {shown}", highlight=False)
    if not run.outcome.complete:
        step = run.outcome.incomplete_step
        raise ApplyIncomplete(step.title if step else "?", run.outcome.reason)
    if run.verification is None or not run.verification.ok:
        raise ApplyIncomplete("Vérification", "le serveur relu diffère du classeur (voir le compte rendu).")


def _confirm(preparation: Preparation, yes: bool) -> bool:
    show_preparation(preparation)
    if yes:
        return True
    if not sys.stdin.isatty():
        raise NotConfirmed(
            "Pas de terminal pour demander confirmation : relancez avec --yes pour appliquer sans "
            "confirmation. Rien n'a été modifié."
        )
    return typer.confirm("Appliquer ces modifications au serveur ?", default=False)
