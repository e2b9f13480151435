"""The command line: a few lines per command over the library.

The only module that imports Typer, and the only place where a `ReconcileError`
becomes a message and an exit code.
"""

from __future__ import annotations

import getpass
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from reconcile import __version__
from reconcile.errors import ReconcileError
from reconcile.intrascol.client import IntraScolClient
from reconcile.model import UserType

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


# --- Connection to the server (shared by every command that talks to IntraScol) -------


def connect_from_cli(url: str | None, login: str | None) -> IntraScolClient:
    """A logged-in client from `--url` / `--login` (or their environment variables).

    The password comes from `INTRASCOL_PASSWORD` or a hidden prompt, never from the
    command line (it would show in the shell history and the process list).
    """
    if not url:
        raise ReconcileError(
            "Adresse du serveur manquante : donnez --url ou la variable d'environnement INTRASCOL_URL "
            "(ex. http://serveur/intrascol/)."
        )
    if not login:
        login = typer.prompt("Identifiant de l'administrateur")
    password = os.environ.get("INTRASCOL_PASSWORD") or getpass.getpass(
        f"Mot de passe de « {login} » sur {url} : "
    )
    client = IntraScolClient(url, login, password)
    with console.status(f"Connexion à {escape(url)}…"):
        client.log_in()
    return client


@app.command()
def info(url: UrlOption = None, login: LoginOption = None) -> None:
    """Se connecte au serveur et affiche sa version, l'école et le nombre de comptes."""
    with connect_from_cli(url, login) as client, console.status("Lecture des comptes…"):
        server = client.info()
        state = client.read_state()
    adults = sum(1 for u in state.users if u.type is UserType.ADULT)
    pupils = len(state.users) - adults
    without_class = sum(1 for u in state.users if u.type is UserType.PUPIL and u.class_id is None)
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("Serveur", escape(client.url))
    table.add_row("Version d'IntraScol", escape(server.version))
    table.add_row("École", escape(server.school))
    table.add_row("Classes", str(len(state.classes)))
    table.add_row("Adultes", str(adults))
    table.add_row("Élèves", f"{pupils} (dont {without_class} sans classe)")
    console.print(table)


# --- reconcile export (part "workbook") ------------------------------------------------


@app.command()
def export(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Le classeur à écrire.", dir_okay=False)
    ] = Path("rentree.xlsx"),
    force: Annotated[bool, typer.Option("--force", help="Remplace le classeur s'il existe déjà.")] = False,
    url: UrlOption = None,
    login: LoginOption = None,
) -> None:
    """Lit le serveur et écrit le classeur de la rentrée, à remplir dans Excel ou LibreOffice Calc."""
    from reconcile.workbook import write_workbook

    if output.exists() and not force:
        raise ReconcileError(
            f"Le fichier {output} existe déjà : il contient peut-être vos saisies. "
            "Choisissez un autre nom avec -o, ou ajoutez --force pour le remplacer."
        )
    if not output.resolve().parent.is_dir():
        raise ReconcileError(f"Le dossier {output.resolve().parent} n'existe pas : créez-le ou changez -o.")
    with connect_from_cli(url, login) as client:
        client.info()
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("Lecture des comptes…", total=None)

            def on_page(pages: int, users: int) -> None:
                bar.update(task, completed=pages, description=f"Lecture des comptes : {users} (page {pages})")

            state = client.read_state(progress=on_page)
        write_workbook(state, output, server_url=client.url, exported_at=datetime.now().astimezone())
    name = escape(output.name)
    console.print(
        f"[green]Classeur écrit :[/] {escape(str(output.resolve()))} "
        f"({len(state.users)} comptes, {len(state.classes)} classes ; aucun mot de passe).\n"
        "Ensuite :\n"
        f"  1. ouvrez-le dans Excel ou LibreOffice Calc et remplissez la colonne « Classe cible » "
        "(mode d'emploi : onglet « Lisez-moi ») ;\n"
        f"  2. vérifiez le résultat sans rien modifier : [bold]reconcile plan {name}[/] ;\n"
        f"  3. appliquez-le : [bold]reconcile apply {name}[/].",
        highlight=False,
    )


@app.callback()
def _root() -> None:
    """La rentrée des comptes d'un serveur IntraScol : export, plan, application, listes."""


def main() -> None:
    """Entry point: turn our errors into a French message and an exit code."""
    try:
        app()
    except ReconcileError as error:
        errors.print(f"[bold red]Erreur :[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
