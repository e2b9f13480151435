"""The Typer app: its root, the commands in the order of the rentrée, `version`, and `main()`."""

from __future__ import annotations

import typer
from typer import rich_utils

from reconcile import __version__
from reconcile.cli import errors
from reconcile.cli.apply import apply
from reconcile.cli.demo import demo
from reconcile.cli.diagnostic import diagnostic
from reconcile.cli.export import export
from reconcile.cli.info import info
from reconcile.cli.listes import listes
from reconcile.cli.onde import onde
from reconcile.cli.plan import plan
from reconcile.cli.render import console
from reconcile.cli.sandbox import sandbox

# Typer's help chrome, in the users' language: these module-level settings are Typer's only
# way to word its panels, its help line and its default/required marks.
rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
rich_utils.ERRORS_PANEL_TITLE = "Erreur"
rich_utils.ABORTED_TEXT = "Abandon."
rich_utils.DEFAULT_STRING = "[par défaut : {}]"
rich_utils.ENVVAR_STRING = "[variable d'environnement : {}]"
rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
rich_utils.RICH_HELP = "Aide : [blue]{command_path} {help_option}[/]"

app = typer.Typer(
    name="reconcile",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def root() -> None:  # its docstring is the help of `reconcile` itself
    """La rentrée des comptes d'un serveur IntraScol : export, plan, application, listes."""


# `reconcile --help` lists the commands in the order they are added: the order of the rentrée.
for command in (info, diagnostic, export, onde, plan, apply, listes, demo, sandbox):
    app.command()(command)


@app.command()
def version() -> None:
    """Affiche la version de reconcile."""
    console.print(f"reconcile {__version__}")


def main() -> None:
    """Entry point (`reconcile`, `python -m reconcile`): errors become French messages and exit codes."""
    errors.run(app)
