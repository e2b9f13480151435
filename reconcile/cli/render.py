"""The terminal: the shared consoles, and the plan and the run as Rich shows them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from reconcile.core.findings import NOWHERE, grouped
from reconcile.core.model import ServerState
from reconcile.core.operations import Plan, Step
from reconcile.core.outcome import ApplyRun, OpStatus, Preparation
from reconcile.core.plausibility import move_counts
from reconcile.core.vocabulary import NOTHING_TO_DO
from reconcile.core.wording import headline, step_sections

console = Console()
error_console = Console(stderr=True)

# What must not reach the terminal from a server or a file: C0 and C1 controls (ESC starts the
# sequences that move the cursor, recolour or retitle the terminal; a carriage return overwrites a
# line), DEL, and the bidirectional marks and overrides that reorder what is shown.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def shown(text: object) -> str:
    """Text from a server, a file or the user, ready for a Rich string with markup: each control
    character shown as « � » (never acted on by the terminal), `[` escaped (never markup)."""
    return escape(_UNPRINTABLE.sub(REPLACEMENT, str(text)))


SHOWN_DIFFERENCES = 10
"""The verification's differences shown in the terminal; all of them are in the report."""


def warn_unsafe_names(state: ServerState) -> None:
    """Say which of the server's names hold characters no workbook can hold, and what stands for them."""
    # Here, not at the top: the workbook package brings openpyxl, which `reconcile --help` need not load.
    from reconcile.adapters.workbook.sheets import unsafe_names

    names = unsafe_names(state)
    if names:
        listed = " ; ".join(names)
        console.print(
            f"[bold yellow]Caractères de contrôle dans des noms du serveur :[/] {shown(listed)}. "
            "Invisibles, ils sont remplacés par « � » dans les classeurs et les rapports (.xlsx), "
            "et dans ce terminal ; corrigez ces noms sur le serveur s'il s'agit d'erreurs de saisie.",
            highlight=False,
        )


def print_plan_summary(result: Plan) -> None:
    """The plan in the terminal: the unusual moves counted, counts per step, then problems and warnings,
    then the verdict."""
    if result.unusual_moves:
        counts = " ; ".join(move_counts(result.unusual_moves))
        console.print(
            f"[bold yellow]Mouvements inhabituels à vérifier :[/] {shown(counts)} "
            "(détail dans « À vérifier »).",
            highlight=False,
        )
    table = Table(title="Plan de la rentrée", title_justify="left", show_lines=False)
    table.add_column("Étape")
    table.add_column("Ce qui sera fait")
    table.add_column("Opérations", justify="right")
    for section in step_sections(result):
        table.add_row(shown(section.heading), shown(section.summary), str(len(section.operations)))
    console.print(table)
    for title, items, colour in (
        ("Problèmes à corriger", result.problems, "red"),
        ("À vérifier", result.warnings, "yellow"),
    ):
        if items:
            console.print(f"\n[bold {colour}]{title} ({len(items)}) :[/]")
            for item in grouped(items):  # the same finding on many rows: once, with the rows
                where = f"[bold]{shown(item.where)}[/] : " if item.where != NOWHERE else ""
                console.print(f"  [{colour}]•[/] {where}{shown(item.message)}", highlight=False)
    colour = "red" if result.problems else "green"
    console.print(f"\n[bold {colour}]{shown(headline(result))}[/]", highlight=False)


def show_preparation(preparation: Preparation) -> None:
    """What the run is about to do: drift since the export, then the plan as `reconcile plan` shows it."""
    warn_unsafe_names(preparation.current)
    resolution = preparation.resolution
    if resolution.changes or resolution.skipped:
        console.print("[bold yellow]Le serveur a changé depuis l'export :[/]")
        for line in (*resolution.changes, *resolution.skipped):
            console.print(f"  - {shown(line)}", highlight=False)
    print_plan_summary(preparation.plan)


class StepBars:
    """A rich progress bar per step of the plan, for `execute`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start_step(self, step: Step, total: int) -> None:
        self.task = self.progress.add_task(step.heading, total=max(total, 1))

    def advance(self, amount: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def end_step(self) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)


def paused(bars: Progress, ask: Callable[[], bool]) -> bool:
    """Stop redrawing the progress bars while the terminal shows the plan and asks."""
    bars.stop()
    try:
        return ask()
    finally:
        bars.start()


def show_run(run: ApplyRun) -> None:
    """What the run did: counts, failures, archives, kept classes, the verification."""
    outcome = run.outcome
    failed = [r for r in outcome.results if r.status not in (OpStatus.DONE, OpStatus.KEPT)]
    done = len(outcome.results) - len(failed)
    if run.preparation.plan.is_empty:
        console.print(f"[green]{shown(NOTHING_TO_DO)}[/]", highlight=False)
    else:
        console.print(f"{done} opération(s) faite(s) sur {len(outcome.results)}.")
    for result in failed:
        console.print(f"[red]{shown(result.status.value)} :[/] {shown(result.message)}", highlight=False)
    for archive in outcome.archives:
        console.print(f"Dossier de {shown(archive.class_name)} archivé : {shown(str(archive.path))}")
    for name in outcome.kept_classes:
        console.print(f"[yellow]Classe {shown(name)} conservée :[/] son dossier de travail n'est pas vide.")
    verification = run.verification
    if verification is not None:
        if verification.ok:
            console.print("[green]Vérification :[/] le serveur relu est dans l'état demandé.")
        else:
            console.print(f"[red]Vérification : {len(verification.differences)} différence(s).[/]")
            for difference in verification.differences[:SHOWN_DIFFERENCES]:
                console.print(f"  - {shown(difference)}", highlight=False)
            if len(verification.differences) > SHOWN_DIFFERENCES:
                console.print("  … les autres dans le compte rendu.")
        if verification.unassigned:
            console.print(f"{len(verification.unassigned)} élève(s) sans classe (classe : aucune).")
    if run.accounts:
        console.print(
            f"{len(run.accounts)} nouveau(x) compte(s) : identifiants et mots de passe dans le compte rendu."
        )


def show_files(written: Sequence[tuple[str, Path]]) -> None:
    """The files a command wrote, each after what it is (`Journal`, `Compte rendu`…)."""
    for what, path in written:
        console.print(f"{shown(what)} : {shown(path)}", highlight=False)


def show_file_not_written(path: Path | str, reason: str) -> None:
    """One file that could not be written, and why; the others are written all the same."""
    error_console.print(f"[bold red]Fichier non écrit :[/] {shown(path)} : {shown(reason)}", highlight=False)
