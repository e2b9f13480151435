"""The command line: a few lines per command over the library.

The only module that imports Typer, and the only place where a `ReconcileError`
becomes a message and an exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from reconcile import __version__
from reconcile.errors import ReconcileError

app = typer.Typer(
    name="reconcile",
    help="La rentrée des comptes d'un serveur IntraScol : export, plan, application, listes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
errors = Console(stderr=True)

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="INTRASCOL_URL", help="Adresse du serveur, ex. http://serveur/intrascol/"),
]
LoginOption = Annotated[
    str | None,
    typer.Option("--login", envvar="INTRASCOL_LOGIN", help="Identifiant de l'administrateur."),
]


@app.command()
def version() -> None:
    """Affiche la version de reconcile."""
    console.print(f"reconcile {__version__}")


@app.callback()
def _root() -> None:
    """La rentrée des comptes d'un serveur IntraScol : export, plan, application, listes."""


# --- reconcile onde (part "onde") -----------------------------------------------------


@app.command()
def onde(
    workbook: Annotated[Path, typer.Argument(help="Le classeur de la rentrée (écrit par reconcile export).")],
    extraction: Annotated[Path, typer.Argument(help="L'extraction ONDE « Élèves de l'école » (CSV).")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Classeur à écrire (par défaut : <classeur>-onde.xlsx)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Remplacer le classeur de sortie s'il existe.")
    ] = False,
    leaving_classes: Annotated[
        list[str] | None,
        typer.Option(
            "--classe-partante",
            help="Classe dont tous les élèves quittent vraiment l'école (répétable).",
        ),
    ] = None,
    memory: Annotated[
        Path | None,
        typer.Option("--memoire", help="Fichier mémoire des homonymes (par défaut : à côté du classeur)."),
    ] = None,
) -> None:
    """Remplit les classes cibles du classeur à partir de l'extraction ONDE."""
    from datetime import date

    from rich.table import Table

    from reconcile.onde_workbook import fill_from_onde

    report = fill_from_onde(
        workbook,
        extraction,
        output,
        force=force,
        memory_path=memory,
        leaving_classes=leaving_classes or (),
        today=date.today().isoformat(),
    )
    read = report.extraction
    console.print(
        f"Extraction lue : {len(read.pupils)} élèves, format {read.layout.value}, "
        f"encodage {read.encoding}, séparateur « {read.separator} »."
    )
    table = Table(title="Décisions", show_header=True)
    table.add_column("Origine")
    table.add_column("Lignes", justify="right")
    for origin, count in report.counts.items():
        table.add_row(origin.value, str(count))
    console.print(table)
    if report.new_classes:
        console.print("Classes à créer (onglet Classes, statut Créer) :")
        for mapping in report.new_classes:
            console.print(f"  « {mapping.label} » → [bold]{mapping.target}[/]", highlight=False)
    if report.matching.undecided:
        console.print(
            f"[yellow]{len(report.matching.undecided)} élève(s) d'ONDE homonymes restent à départager "
            "(lignes « ambigu » du classeur).[/]"
        )
    if report.remembered:
        console.print(f"{report.remembered} homonyme(s) mémorisé(s) dans {report.memory_path}.")
    console.print(
        f"Classeur écrit : [bold]{report.output}[/]. Relisez les lignes colorées "
        "(ambiguës, départs), puis vérifiez le plan avec reconcile plan.",
        highlight=False,
    )


def main() -> None:
    """Entry point: turn our errors into a French message and an exit code."""
    try:
        app()
    except ReconcileError as error:
        errors.print(f"[bold red]Erreur :[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
