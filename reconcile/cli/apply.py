"""`reconcile apply`: the workbook applied to the server step by step, then reported and verified."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reconcile.adapters.files import write_private_text
from reconcile.adapters.journal import JOURNAL_NAME, read_lines
from reconcile.app.apply import apply_workbook
from reconcile.cli.connection import CaBundleOption, LoginOption, ServerAccess, UrlOption, connect
from reconcile.cli.errors import on_ctrl_c, why_not_written
from reconcile.cli.french import confirm
from reconcile.cli.plan import MassDeleteOption, MovesCheckedOption, NewAddressOption
from reconcile.cli.render import (
    StepBars,
    console,
    error_console,
    paused,
    show_file_not_written,
    show_files,
    show_preparation,
    show_run,
    shown,
)
from reconcile.cli.workbook import load_workbook
from reconcile.core.errors import ApplyIncomplete, NotConfirmed, OutputMissing, ReconcileError
from reconcile.core.model import WantedState
from reconcile.core.outcome import ApplyRun, Preparation
from reconcile.core.rentree_record import RunRecord, journal_history
from reconcile.core.safeguards import Safeguards

if TYPE_CHECKING:
    from reconcile.adapters.reports.apply_report import ApplyReportContent

T = TypeVar("T")


def apply(
    workbook: Annotated[
        Path,
        typer.Argument(help="Le classeur rempli (ex. rentree.xlsx).", dir_okay=False, metavar="CLASSEUR"),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--dossier-sortie",
            metavar="DOSSIER",
            help="Dossier du journal et du compte rendu (par défaut : celui du classeur).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--oui", help="Applique sans demander de confirmation.")] = False,
    keep_folders: Annotated[
        bool,
        typer.Option("--garder-dossiers", help="Ne vide pas les dossiers de travail : ces classes restent."),
    ] = False,
    allow_mass_delete: MassDeleteOption = False,
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
    show_run(run)
    files = _write_reports(run, wanted, workbook, output, server_url=server_url, started=started)
    show_files(files.written)
    if not run.outcome.complete:
        step = run.outcome.incomplete_step
        raise ApplyIncomplete(step.title if step else "?", run.outcome.reason)
    if run.verification is None or not run.verification.ok:
        raise ApplyIncomplete("Vérification", "le serveur relu diffère du classeur (voir le compte rendu).")
    if files.missing:
        raise OutputMissing(files.missing)


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
                notify=lambda text: console.print(f"[yellow]{shown(text)}[/]", highlight=False),
            )
        return run, client.url


@dataclass
class _Files:
    """What a run wrote (what it is, where), and the files it could not write (where: why)."""

    written: list[tuple[str, Path]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def attempt(self, path: Path | str, write: Callable[[], T]) -> T | None:
        """`write()`, or None: the server has changed, so no file may stop the run's account of itself.

        A file not written is said at once and listed; the next ones are written all the same.
        """
        try:
            return write()
        except Exception as error:  # any writer's failure: this file is missing, the others are not
            reason = why_not_written(error)
            show_file_not_written(path, reason)
            self.missing.append(f"{path} : {reason}")
            return None


def _write_reports(
    run: ApplyRun, wanted: WantedState, workbook: Path, output: Path, *, server_url: str, started: datetime
) -> _Files:
    """The latest report (this run, and the whole rentrée), its dated copy, and the class lists;
    each file on its own, one that cannot be written never stopping the next."""
    # Here, not at the top: the reports bring openpyxl and Jinja2, which other commands need not load.
    from reconcile.adapters.reports.apply_report import (
        ApplyReportContent,
        keep_dated_copies,
        latest_paths,
        run_report,
    )
    from reconcile.adapters.reports.class_lists import HTML_NAME, PDF_NAME, write_class_lists

    now = datetime.now().astimezone()
    school = run.verification.state.school if run.verification else run.preparation.current.school
    files = _Files([("Journal", run.journal)])
    try:
        history = _history(output, wanted, started)
    except Exception as error:  # the reports are written all the same, with this run only
        history = ()
        error_console.print(
            f"[yellow]Le journal n'a pas pu être relu ({shown(why_not_written(error))}) : le compte "
            "rendu ne montre que cette exécution, pas les précédentes.[/]",
            highlight=False,
        )
    html, xlsx, text = latest_paths(output)

    @functools.cache  # built once for the HTML and the xlsx; inside their attempts, as its failure is theirs
    def content() -> ApplyReportContent:
        return ApplyReportContent.of(
            run, server_url=server_url, school=school, generated_at=now, history=history
        )

    report = {
        text: lambda: write_private_text(
            text, run_report(run, workbook=workbook, server_url=server_url, when=now, history=history)
        ),
        html: lambda: content().write_html(output),
        xlsx: lambda: content().write_xlsx(output),
    }
    this_run = [path for path, write in report.items() if files.attempt(path, write) is not None]
    for path in report:
        if path not in this_run:
            _remove_stale(path)
    labels = {
        html: "Compte rendu (lisible par vous seul)",
        xlsx: "  même contenu en tableur",
        text: "  et en texte",
    }
    files.written += [(labels[path], path) for path in (html, xlsx, text) if path in this_run]
    dated = files.attempt(f"{output} (copies datées)", lambda: keep_dated_copies(output, started, this_run))
    if dated:
        files.written.append(("  copie datée de cette exécution, jamais remplacée", dated[0]))
    if run.verification is not None:
        state = run.verification.state  # the lists are made from the state the verification read
        lists = files.attempt(f"{output / HTML_NAME}, {PDF_NAME}", lambda: write_class_lists(state, output))
        if lists is not None:
            files.written.append(
                ("Listes de classes à afficher (lisibles par vous seul)", lists.pdf or lists.html)
            )
    return files


def _remove_stale(path: Path) -> None:
    """Remove an earlier run's file that this run could not replace (it would pass for this run's)."""
    with contextlib.suppress(OSError):
        if path.is_file():
            path.unlink()


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
    from reconcile.adapters.reports.apply_report import write_apply_failure_report

    if isinstance(error, ReconcileError):
        reason = str(error)
    elif isinstance(error, typer.Abort):
        reason = "confirmation abandonnée : rien n'a été modifié."
    else:
        reason = "application interrompue (Ctrl-C)."
    try:
        history = _history(output, wanted, started)
    except Exception:  # the journal's own error is said by the run that reads it
        history = ()
    try:
        files = write_apply_failure_report(
            output,
            reason,
            server_url=access.url or "",
            generated_at=datetime.now().astimezone(),
            history=history,
        )
    except Exception as unwritable:  # any writer's failure: the run's own error still follows
        error_console.print(
            "[bold red]Le compte rendu d'une application précédente n'a pas pu être remplacé :[/] "
            f"{shown(why_not_written(unwritable))}\nIl ne dit pas ce qu'a fait cette exécution : "
            "ne vous y fiez pas.",
            highlight=False,
        )
        return
    if files is not None:
        error_console.print(
            f"Compte rendu : {shown(str(files.html))} dit que cette exécution s'est arrêtée, et pourquoi "
            "(les comptes rendus datés des exécutions précédentes sont conservés).",
            highlight=False,
        )


def _confirm(preparation: Preparation, yes: bool) -> bool:
    show_preparation(preparation)
    if yes:
        return True
    if not sys.stdin.isatty():
        raise NotConfirmed(
            "Pas de terminal pour demander confirmation : relancez avec --oui pour appliquer sans "
            "confirmation. Rien n'a été modifié."
        )
    return confirm("Appliquer ces modifications au serveur ?")
