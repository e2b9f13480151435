"""How a command ends: our errors, Ctrl-C and a mistyped command line become French messages and
exit codes. The only place where a `ReconcileError` becomes a message and an exit code."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

import typer

from reconcile.adapters.files import french_reason
from reconcile.cli.french import new_name, rich_utils
from reconcile.cli.render import error_console, shown
from reconcile.core.errors import Interrupted, ReconcileError


def why_not_written(error: Exception) -> str:
    """Why a file could not be written, in French, for a message that goes on without it."""
    if isinstance(error, OSError):
        return french_reason(error)
    if isinstance(error, ReconcileError):
        return str(error)
    # Not its text: it could quote a new account's password.
    return f"erreur inattendue ({type(error).__name__})"


READ_ONLY_INTERRUPTED = "Interrompu (Ctrl-C) : rien n'a été modifié sur le serveur."


@contextmanager
def on_ctrl_c(message: str, exit_code: int = 1) -> Iterator[None]:
    """Ctrl-C becomes a French message and a documented exit code (Typer's own is a silent 130)."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(message, exit_code) from None


def run(app: typer.Typer) -> NoReturn:
    """Run the command line and exit with its code; an error is explained in French first."""
    try:
        # Not standalone: Click's errors reach us instead of being printed in English.
        code = app(standalone_mode=False)
    except ReconcileError as error:
        error_console.print(f"[bold red]Erreur :[/] {shown(error)}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except typer.TyperException as error:  # Click's errors (Typer vendors Click, under TyperException)
        sys.exit(show_usage_error(error, sys.argv[1:]))
    except typer.Abort:  # a prompt given Ctrl-D, or Ctrl-C at a confirmation
        rich_utils().rich_abort_error()
        sys.exit(1)
    # A `typer.Exit` (or --help) comes back as its code; a finished command as None.
    sys.exit(code if isinstance(code, int) else 0)


# Click's usage errors (a mistyped command line), in French. Their exit code becomes 1
# (refused, nothing changed): Click's 2 means « inachevé, relancez » for reconcile.
_USAGE_IN_FRENCH = (
    (r"Missing argument '(.+?)'\.", r"Argument manquant : \1."),
    (r"Missing option '(.+?)'\.", r"Option manquante : \1."),
    (r"Got unexpected extra argument(?:\(s\)|s)? \((.+)\)", r"Argument(s) en trop : \1"),
    (r"No such option: (\S+)", r"Option inconnue : \1"),
    (r"No such command '(.+?)'\.", r"Commande inconnue : « \1 »."),
    (r"\(Possible options: (.+)\)", r"(options possibles : \1)"),
    (r"Did you mean (\S+)\?", r"Vouliez-vous dire \1 ?"),
    (r"Option '(.+?)' requires an argument\.", r"L'option \1 attend une valeur."),
    (r"Option '(.+?)' does not take a value\.", r"L'option \1 ne prend pas de valeur."),
    (r"Invalid value for (.+?): ", r"Valeur invalide pour \1 : "),
    (r"'(.*?)' / '(.*?)'", r"\1 / \2"),
    (r"'(-.*?)' :", r"\1 :"),
    (r"Input should be a valid integer.*", "« {value} » n'est pas un nombre entier."),
    (r"Input should be a valid number.*", "« {value} » n'est pas un nombre."),
    (r"[Ff]ile '(.*?)' is a directory\.", r"« \1 » est un dossier, pas un fichier."),
    (r"[Ff]ile '(.*?)' does not exist\.", r"le fichier « \1 » n'existe pas."),
)


class _UsageErrorInFrench(typer.BadParameter):
    """A usage error already worded in French, shown the way Typer shows Click's own."""

    def format_message(self) -> str:
        return self.message


def show_usage_error(error: typer.TyperException, arguments: Sequence[str]) -> int:
    """Show a Click error as Typer would, its message in French; return the exit code."""
    if type(error).__name__ == "NoArgsIsHelpError":  # `reconcile` alone: Typer has shown the help
        return 1  # a command line without its command: refused, like any mistyped one
    possibilities = getattr(error, "possibilities", None)
    if possibilities:  # Click's suggestions name options the way the help does
        error.possibilities = sorted({new_name(option) for option in possibilities})  # type: ignore[attr-defined]
    text = usage_in_french(error.format_message(), _bad_value(error, arguments))
    rich_utils().rich_format_error(_UsageErrorInFrench(text, ctx=getattr(error, "ctx", None)))
    return 1


def usage_in_french(english: str, value: str | None) -> str:
    """Click's English message of a usage error, in French (`value`: the value typed, if known)."""
    text = english
    for pattern, replacement in _USAGE_IN_FRENCH:
        text = re.sub(pattern, replacement.replace("{value}", value or "?"), text)
    return text


def _bad_value(error: typer.TyperException, arguments: Sequence[str]) -> str | None:
    """The value typed for the parameter a `BadParameter` is about, to quote it back."""
    param = getattr(error, "param", None)
    ctx = getattr(error, "ctx", None)
    if param is None or ctx is None:
        return None
    for name in getattr(param, "opts", ()):
        for position, argument in enumerate(arguments):
            if argument.startswith(f"{name}="):
                return argument.split("=", 1)[1]
            if argument == name and position + 1 < len(arguments):
                return arguments[position + 1]
    return None
