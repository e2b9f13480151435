"""The Typer app: its root, the commands in the order of the rentrée, `version`, and `main()`."""

from __future__ import annotations

from typing import Annotated

import typer

from reconcile import __version__
from reconcile.cli import errors
from reconcile.cli.apply import apply
from reconcile.cli.connection import PASSWORD_HELP
from reconcile.cli.demo import demo
from reconcile.cli.diagnostic import diagnostic
from reconcile.cli.export import export
from reconcile.cli.french import CONTEXT_SETTINGS, FrenchCommand, FrenchGroup
from reconcile.cli.info import info
from reconcile.cli.listes import listes
from reconcile.cli.onde import onde
from reconcile.cli.plan import plan
from reconcile.cli.render import console
from reconcile.cli.sandbox import sandbox

app = typer.Typer(
    name="reconcile",
    cls=FrenchGroup,
    context_settings=CONTEXT_SETTINGS,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    # A traceback must never print local variables: they hold the passwords.
    pretty_exceptions_show_locals=False,
)


def _show_version(asked: bool) -> None:
    if asked:
        version()
        raise typer.Exit()


@app.callback()
def root(  # its docstring is the help of `reconcile` itself
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Affiche la version de reconcile et quitte.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """La rentrée des comptes d'un serveur IntraScol : export, plan, application, listes."""


# `reconcile --help` lists the commands in the order they are added: the order of the rentrée.
# The commands that connect to the server say, under their options, how the password is given.
for command in (info, diagnostic, export, onde, plan, apply, listes, demo, sandbox):
    connects = command in (info, diagnostic, export, plan, apply, listes)
    app.command(cls=FrenchCommand, epilog=PASSWORD_HELP if connects else None)(command)


@app.command(cls=FrenchCommand)
def version() -> None:
    """Affiche la version de reconcile."""
    console.print(f"reconcile {__version__}")


def main() -> None:
    """Entry point (`reconcile`, `python -m reconcile`): errors become French messages and exit codes."""
    errors.run(app)
