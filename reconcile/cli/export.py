"""`reconcile export`: the server's accounts written into the workbook of the rentrée."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from reconcile.adapters.files import check_workbook_name
from reconcile.cli.connection import (
    CaBundleOption,
    LoginOption,
    ServerAccess,
    UrlOption,
    connect,
    warn_if_unknown_version,
)
from reconcile.cli.errors import on_ctrl_c
from reconcile.cli.render import console, shown, warn_unsafe_names
from reconcile.core.errors import ReconcileError
from reconcile.core.vocabulary import suggested_command


def export(
    output: Annotated[
        Path, typer.Option("--sortie", "-o", help="Le classeur à écrire.", dir_okay=False, metavar="CLASSEUR")
    ] = Path("rentree.xlsx"),
    force: Annotated[
        bool, typer.Option("--remplacer", help="Remplace le classeur s'il existe déjà.")
    ] = False,
    url: UrlOption = None,
    login: LoginOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Lit le serveur et écrit le classeur de la rentrée, à remplir dans Excel ou LibreOffice Calc."""
    run_export(output, force=force, access=ServerAccess(url, login, ca_bundle=ca_bundle))


def run_export(output: Path, *, force: bool, access: ServerAccess) -> None:
    """Write the workbook of the server `access` reaches to `output`, and say what comes next."""
    from reconcile.adapters.workbook import write_workbook

    check_workbook_name(output)
    if output.exists() and not force:
        raise ReconcileError(
            f"Le fichier {output} existe déjà : il contient peut-être vos saisies. "
            "Choisissez un autre nom avec -o, ou ajoutez --remplacer pour le remplacer."
        )
    if not output.resolve().parent.is_dir():
        raise ReconcileError(f"Le dossier {output.resolve().parent} n'existe pas : créez-le ou changez -o.")
    interrupted = "Export interrompu (Ctrl-C) : aucun classeur n'a été écrit, rien n'a été modifié."
    with on_ctrl_c(interrupted), connect(access) as client:
        warn_if_unknown_version(client.info().version)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("Lecture des comptes…", total=None)

            def on_page(pages: int, users: int) -> None:
                bar.update(task, completed=pages, description=f"Lecture des comptes : {users} (page {pages})")

            state = client.read_state(progress=on_page)
            done = bar.tasks[0].completed
            bar.update(task, total=done, completed=done, description=f"Comptes lus : {len(state.users)}")
        write_workbook(state, output, server_url=client.url, exported_at=datetime.now().astimezone())
    warn_unsafe_names(state)
    plan, apply = (shown(suggested_command(command, str(output))) for command in ("plan", "apply"))
    console.print(
        f"[green]Classeur écrit :[/] {shown(str(output.resolve()))} "
        f"({len(state.users)} comptes, {len(state.classes)} classes ; aucun mot de passe).\n"
        "Ensuite :\n"
        f"  1. ouvrez-le dans Excel ou LibreOffice Calc et remplissez la colonne « Classe cible » "
        "(mode d'emploi : onglet « Lisez-moi ») ;\n"
        f"  2. vérifiez le résultat sans rien modifier : [bold]{plan}[/] ;\n"
        f"  3. appliquez-le : [bold]{apply}[/].",
        highlight=False,
    )
