"""`reconcile plan`: what the workbook would change on the server, shown and reported, nothing changed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from reconcile.adapters.reports.plan_report import write_plan_report
from reconcile.cli.connection import LoginOption, ServerAccess, UrlOption, connect
from reconcile.cli.errors import READ_ONLY_INTERRUPTED, on_ctrl_c
from reconcile.cli.render import console, print_plan_summary
from reconcile.cli.workbook import load_workbook
from reconcile.core.operations import Plan
from reconcile.core.plan import make_plan


def plan(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="Le classeur de la rentrée, rempli (ex. rentree.xlsx).", dir_okay=False, metavar="CLASSEUR"
        ),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Dossier où écrire le rapport (par défaut : celui du classeur)."),
    ] = None,
    allow_mass_delete: Annotated[
        bool,
        typer.Option(
            "--allow-mass-delete",
            help="Accepte un plan qui supprime plus de 40 % des élèves (sinon c'est un problème).",
        ),
    ] = False,
    url: UrlOption = None,
    login: LoginOption = None,
) -> None:
    """Montre ce que le classeur changerait sur le serveur, sans rien modifier, et écrit le rapport."""
    result = run_plan(
        workbook, output_dir=output_dir, allow_mass_delete=allow_mass_delete, access=ServerAccess(url, login)
    )
    if not result.can_apply:
        raise typer.Exit(1)


def run_plan(
    workbook: Path, *, output_dir: Path | None, allow_mass_delete: bool, access: ServerAccess
) -> Plan:
    """Plan `workbook` against the server `access` reaches: show the plan, write its report."""
    wanted = load_workbook(workbook)
    with on_ctrl_c(READ_ONLY_INTERRUPTED), connect(access) as client:
        server = client.info()
        with console.status("Lecture des comptes…") as status:

            def on_page(pages: int, users: int) -> None:
                status.update(f"Lecture des comptes : {users} (page {pages})")

            current = client.read_state(progress=on_page)
    result = make_plan(current, wanted, allow_mass_delete=allow_mass_delete)
    print_plan_summary(result)
    files = write_plan_report(
        result,
        current,
        wanted,
        output_dir or workbook.resolve().parent,
        server_url=client.url,
        school=server.school,
        generated_at=datetime.now().astimezone(),
    )
    console.print(
        f"\nRapport : {escape(str(files.html))}\n          {escape(str(files.xlsx))}\n"
        "Rien n'a été modifié sur le serveur.",
        highlight=False,
    )
    return result
