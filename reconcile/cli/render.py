"""The terminal: the shared consoles, and the plan and the run as Rich shows them."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from reconcile.adapters.reports.plan_report import ReportFiles
from reconcile.core.findings import NOWHERE, grouped
from reconcile.core.operations import Plan, Step
from reconcile.core.outcome import ApplyRun, OpStatus, Preparation
from reconcile.core.plausibility import move_counts
from reconcile.core.vocabulary import NOTHING_TO_DO
from reconcile.core.wording import headline, step_sections

console = Console()
error_console = Console(stderr=True)
SHOWN_DIFFERENCES = 10
"""The verification's differences shown in the terminal; all of them are in the report."""


def print_plan_summary(result: Plan) -> None:
    """The plan in the terminal: the unusual moves counted, counts per step, then problems and warnings,
    then the verdict."""
    if result.unusual_moves:
        counts = " ; ".join(move_counts(result.unusual_moves))
        console.print(
            f"[bold yellow]Mouvements inhabituels à vérifier :[/] {escape(counts)} "
            "(détail dans « À vérifier »).",
            highlight=False,
        )
    table = Table(title="Plan de la rentrée", title_justify="left", show_lines=False)
    table.add_column("Étape")
    table.add_column("Ce qui sera fait")
    table.add_column("Opérations", justify="right")
    for section in step_sections(result):
        table.add_row(escape(section.heading), escape(section.summary), str(len(section.operations)))
    console.print(table)
    for title, items, colour in (
        ("Problèmes à corriger", result.problems, "red"),
        ("À vérifier", result.warnings, "yellow"),
    ):
        if items:
            console.print(f"\n[bold {colour}]{title} ({len(items)}) :[/]")
            for item in grouped(items):  # the same finding on many rows: once, with the rows
                where = f"[bold]{escape(item.where)}[/] : " if item.where != NOWHERE else ""
                console.print(f"  [{colour}]•[/] {where}{escape(item.message)}", highlight=False)
    colour = "red" if result.problems else "green"
    console.print(f"\n[bold {colour}]{escape(headline(result))}[/]", highlight=False)


def show_preparation(preparation: Preparation) -> None:
    """What the run is about to do: drift since the export, then the plan as `reconcile plan` shows it."""
    resolution = preparation.resolution
    if resolution.changes or resolution.skipped:
        console.print("[bold yellow]Le serveur a changé depuis l'export :[/]")
        for line in (*resolution.changes, *resolution.skipped):
            console.print(f"  - {escape(line)}", highlight=False)
    print_plan_summary(preparation.plan)


class StepBars:
    """A rich progress bar per step of the plan, for `execute`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start_step(self, step: Step, total: int) -> None:
        self.task = self.progress.add_task(f"Étape {int(step)} : {step.title}", total=max(total, 1))

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


def show_run(run: ApplyRun, report: ReportFiles | None) -> None:
    """What the run did: counts, failures, archives, kept classes, the verification, the files."""
    outcome = run.outcome
    failed = [r for r in outcome.results if r.status not in (OpStatus.DONE, OpStatus.KEPT)]
    done = len(outcome.results) - len(failed)
    if run.preparation.plan.is_empty:
        console.print(f"[green]{escape(NOTHING_TO_DO)}[/]", highlight=False)
    else:
        console.print(f"{done} opération(s) faite(s) sur {len(outcome.results)}.")
    for result in failed:
        console.print(f"[red]{escape(result.status.value)} :[/] {escape(result.message)}", highlight=False)
    for archive in outcome.archives:
        console.print(f"Dossier de {escape(archive.class_name)} archivé : {escape(str(archive.path))}")
    for name in outcome.kept_classes:
        console.print(f"[yellow]Classe {escape(name)} conservée :[/] son dossier de travail n'est pas vide.")
    verification = run.verification
    if verification is not None:
        if verification.ok:
            console.print("[green]Vérification :[/] le serveur relu est dans l'état demandé.")
        else:
            console.print(f"[red]Vérification : {len(verification.differences)} différence(s).[/]")
            for difference in verification.differences[:SHOWN_DIFFERENCES]:
                console.print(f"  - {escape(difference)}", highlight=False)
            if len(verification.differences) > SHOWN_DIFFERENCES:
                console.print("  … les autres dans le compte rendu.")
        if verification.unassigned:
            console.print(f"{len(verification.unassigned)} élève(s) sans classe (classe : aucune).")
    if run.accounts:
        console.print(
            f"{len(run.accounts)} nouveau(x) compte(s) : identifiants et mots de passe dans le compte rendu."
        )
    if report is not None:
        console.print(f"Compte rendu (lisible par vous seul) : {escape(str(report.html))}", highlight=False)
        console.print(f"  même contenu en tableur : {escape(str(report.xlsx))}", highlight=False)
    console.print(f"Journal : {escape(str(run.journal))}", highlight=False)
