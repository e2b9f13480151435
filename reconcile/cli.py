"""The command line: a few lines per command over the library.

The only module that imports Typer, and the only place where a `ReconcileError`
becomes a message and an exit code.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
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
