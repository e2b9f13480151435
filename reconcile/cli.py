"""The command line: a few lines per command over the library.

The only module that imports Typer, and the only place where a `ReconcileError`
becomes a message and an exit code.
"""

from __future__ import annotations

import sys
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


def main() -> None:
    """Entry point: turn our errors into a French message and an exit code."""
    try:
        app()
    except ReconcileError as error:
        errors.print(f"[bold red]Erreur :[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
