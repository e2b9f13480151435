"""`reconcile apply`: the workbook applied to the server step by step, then reported and verified."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reconcile.adapters.journal import JOURNAL_NAME, read_lines
from reconcile.adapters.reports.apply_report import (
    REPORT_NAME,
    keep_dated_copies,
    run_report,
    write_apply_failure_report,
    write_apply_report,
    write_private,
)
from reconcile.adapters.reports.plan_report import ReportFiles
from reconcile.app.apply import apply_workbook
from reconcile.cli.connection import CaBundleOption, LoginOption, ServerAccess, UrlOption, connect
from reconcile.cli.errors import on_ctrl_c
from reconcile.cli.plan import MovesCheckedOption, NewAddressOption
from reconcile.cli.render import StepBars, console, error_console, paused, show_preparation, show_run
from reconcile.cli.workbook import load_workbook
from reconcile.core.errors import ApplyIncomplete, NotConfirmed, ReconcileError
from reconcile.core.model import WantedState
from reconcile.core.outcome import ApplyRun, Preparation
from reconcile.core.rentree_record import RunRecord, journal_history
from reconcile.core.safeguards import Safeguards

if TYPE_CHECKING:
    from reconcile.adapters.reports.class_lists import ClassListFiles


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
    new_address: NewAddressOption = None,
    moves_checked: MovesCheckedOption = False,
    url: UrlOption = None,
    login: LoginOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Applique le classeur au serveur dans l'ordre de la procédure ; relancée, reprend où elle en était."""
    run_apply(
        workbook,
        output_dir=output_dir,
        yes=yes,
        keep_folders=keep_folders,
        allow_mass_delete=allow_mass_delete,
        access=ServerAccess(url, login, ca_bundle=ca_bundle),
        new_address=new_address,
        moves_checked=moves_checked,
    )


def run_apply(
    workbook: Path,
    *,
    output_dir: Path | None,
    yes: bool,
    keep_folders: bool,
    allow_mass_delete: bool,
    access: ServerAccess,
    new_address: str | None = None,
    moves_checked: bool = False,
) -> None:
    """Apply `workbook` to the server `access` reaches, then write the report and the class lists.

    Raises `ApplyIncomplete` when a step stopped or the server re-read differs from the workbook.
    A run that stops before its report replaces the latest report by one that says so.
    """
    output = output_dir or workbook.resolve().parent
    started = datetime.now().astimezone()
    wanted: WantedState | None = None
    try:
        wanted = load_workbook(workbook)
        run, server_url = _apply(
            workbook, wanted, output, yes=yes, keep_folders=keep_folders,
            allow_mass_delete=allow_mass_delete, access=access,
            new_address=new_address, moves_checked=moves_checked,
        )  # fmt: skip
    except (ReconcileError, KeyboardInterrupt, typer.Abort) as error:
        _report_stopped_run(output, error, wanted, access, started)
        raise
    report, dated, lists = _write_reports(
        run, wanted, workbook, output, server_url=server_url, started=started
    )
    show_run(run, report)
    if dated:
        shown = escape(str(dated[0]))
        console.print(f"  copie datée de cette exécution, jamais remplacée : {shown}", highlight=False)
    if lists is not None:
        shown = escape(str(lists.pdf or lists.html))
        console.print(f"Listes de classes à afficher (lisibles par vous seul) : {shown}", highlight=False)
    if not run.outcome.complete:
        step = run.outcome.incomplete_step
        raise ApplyIncomplete(step.title if step else "?", run.outcome.reason)
    if run.verification is None or not run.verification.ok:
        raise ApplyIncomplete("Vérification", "le serveur relu diffère du classeur (voir le compte rendu).")


def _apply(
    workbook: Path,
    wanted: WantedState,
    output: Path,
    *,
    yes: bool,
    keep_folders: bool,
    allow_mass_delete: bool,
    access: ServerAccess,
    new_address: str | None,
    moves_checked: bool,
) -> tuple[ApplyRun, str]:
    """The run itself, Ctrl-C turned into its French message: (the run, the server's URL)."""
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
                safeguards=Safeguards(client.url, new_address, moves_checked),
                progress=StepBars(bars),
                notify=lambda text: console.print(f"[yellow]{escape(text)}[/]", highlight=False),
            )
        return run, client.url


def _write_reports(
    run: ApplyRun, wanted: WantedState, workbook: Path, output: Path, *, server_url: str, started: datetime
) -> tuple[ReportFiles | None, tuple[Path, ...], ClassListFiles | None]:
    """The latest report (this run, and the whole rentrée), its dated copy, and the class lists."""
    from reconcile.adapters.reports.class_lists import write_class_lists

    now = datetime.now().astimezone()
    school = run.verification.state.school if run.verification else run.preparation.current.school
    report = lists = None
    dated: tuple[Path, ...] = ()
    try:
        history = _history(output, wanted, started)
        text = run_report(run, workbook=workbook, server_url=server_url, when=now, history=history)
        write_private(output / REPORT_NAME, text)
        report = write_apply_report(
            run, output, server_url=server_url, school=school, generated_at=now, history=history
        )
        dated = keep_dated_copies(output, started)
        if run.verification is not None:
            # The lists are made from the state the verification read: no request more.
            lists = write_class_lists(run.verification.state, output)
    except (OSError, ReconcileError) as error:
        folder, reason = escape(str(output)), escape(str(error))
        error_console.print(
            f"[bold red]Le compte rendu n'a pas pu être écrit dans {folder} :[/] {reason}",
            highlight=False,
        )
    return report, dated, lists


def _history(output: Path, wanted: WantedState | None, started: datetime) -> tuple[RunRecord, ...]:
    """The whole rentrée of `wanted` from the journal of `output` (none without them)."""
    journal = output / JOURNAL_NAME
    if wanted is None or not journal.exists():
        return ()
    return journal_history(read_lines(journal), wanted, since=started)


def _report_stopped_run(
    output: Path, error: BaseException, wanted: WantedState | None, access: ServerAccess, started: datetime
) -> None:
    """Replace the latest report by one saying this run stopped before its report (terminal too)."""
    if isinstance(error, ReconcileError):
        reason = str(error)
    elif isinstance(error, typer.Abort):
        reason = "confirmation abandonnée : rien n'a été modifié."
    else:
        reason = "application interrompue (Ctrl-C)."
    try:
        history = _history(output, wanted, started)
    except (OSError, ReconcileError):
        history = ()  # the journal's own error is said by the run that reads it
    try:
        files = write_apply_failure_report(
            output,
            reason,
            server_url=access.url or "",
            generated_at=datetime.now().astimezone(),
            history=history,
        )
    except (OSError, ReconcileError) as unwritable:
        error_console.print(
            "[bold red]Le compte rendu d'une application précédente n'a pas pu être remplacé :[/] "
            f"{escape(str(unwritable))}\nIl ne dit pas ce qu'a fait cette exécution : ne vous y fiez pas.",
            highlight=False,
        )
        return
    if files is not None:
        error_console.print(
            f"Compte rendu : {escape(str(files.html))} dit que cette exécution s'est arrêtée, et pourquoi "
            "(les comptes rendus datés des exécutions précédentes sont conservés).",
            highlight=False,
        )


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
