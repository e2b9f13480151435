"""`reconcile onde`: a copy of the workbook whose target classes come from the ONDE extraction."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reconcile.adapters.files import check_workbook_name
from reconcile.cli.render import console, shown
from reconcile.core.vocabulary import suggested_command


def onde(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="Le classeur de la rentrée (écrit par reconcile export).", dir_okay=False, metavar="CLASSEUR"
        ),
    ],
    extraction: Annotated[
        Path,
        typer.Argument(
            help="L'extraction ONDE « Élèves de l'école » (CSV).", dir_okay=False, metavar="EXTRACTION"
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--sortie", metavar="CLASSEUR", help="Classeur à écrire (par défaut : CLASSEUR-onde.xlsx)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--remplacer", help="Remplace le classeur de sortie s'il existe.")
    ] = False,
    leaving_classes: Annotated[
        list[str] | None,
        typer.Option(
            "--classe-partante",
            metavar="CLASSE",
            help="Classe dont tous les élèves quittent vraiment l'école (répétable).",
        ),
    ] = None,
    memory: Annotated[
        Path | None,
        typer.Option(
            "--memoire",
            metavar="FICHIER",
            help="Fichier mémoire des homonymes (par défaut : à côté du classeur).",
        ),
    ] = None,
) -> None:
    """Remplit les classes cibles du classeur à partir de l'extraction ONDE."""
    from reconcile.adapters.workbook.onde import default_output, fill_from_onde

    output = output or default_output(workbook)
    check_workbook_name(output)
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
        f"encodage {read.encoding}, séparateur : {read.separator_name}."
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
            console.print(f"  « {shown(mapping.label)} » → [bold]{shown(mapping.target)}[/]", highlight=False)
    if report.matching.undecided:
        console.print(
            f"[yellow]{len(report.matching.undecided)} élève(s) d'ONDE homonymes restent à départager "
            "(lignes « ambigu » du classeur).[/]"
        )
    for name in report.unused_new_classes:
        console.print(
            f"[yellow]La classe « {shown(name)} » (statut Créer) n'a aucun élève : supprimez sa ligne de "
            "l'onglet Classes si elle n'est plus voulue.[/]",
            highlight=False,
        )
    if report.remembered:
        console.print(f"{report.remembered} homonyme(s) mémorisé(s) dans {shown(str(report.memory_path))}.")
    written = shown(str(report.output))
    plan = shown(suggested_command("plan", str(report.output)))
    console.print(
        f"[green]Classeur écrit :[/] {written} ({shown(str(workbook))} n'a pas changé).\n"
        "Ensuite :\n"
        "  1. relisez les lignes colorées de l'onglet Utilisateurs (orange : homonymes à départager ; "
        "jaune : élèves absents d'ONDE, proposés « Quitte l'école ») et l'onglet ONDE ;\n"
        f"  2. vérifiez le résultat sans rien modifier : [bold]{plan}[/].",
        highlight=False,
    )
