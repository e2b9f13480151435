"""Typer's and Click's own words in French: the usage line, the help option, the value types; the
English option spellings of earlier versions still accepted; the « [o/N] » confirmation."""

from __future__ import annotations

import functools
from types import ModuleType
from typing import TYPE_CHECKING, Any

import typer
from typer._click import Command, Context, HelpFormatter
from typer._click.parser import _OptionParser
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

USAGE_PREFIX = "Utilisation : "
HELP_TEXT = "Affiche cette aide et quitte."
HELP_OPTION_NAMES = ["--help", "-h"]
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": HELP_OPTION_NAMES}

# The spellings of earlier versions, still accepted so that scripts keep working, never shown.
OLD_SPELLINGS = {
    "--url": "--adresse",
    "--login": "--identifiant",
    "--output": "--sortie",
    "--output-dir": "--dossier-sortie",
    "--force": "--remplacer",
    "--yes": "--oui",
    "--keep-folders": "--garder-dossiers",
    "--allow-mass-delete": "--suppression-massive",
    "--host": "--hote",
    "--state": "--etat",
    "--empty": "--vide",
    "--seed": "--graine",
    "--session-seconds": "--session-secondes",
    "--latency": "--latence",
    "--fail-before-post": "--erreur-avant-envoi",
    "--lose-answer-after-post": "--reponse-perdue",
    "--ca-bundle": "--certificat-ac",
}

# Typer's help chrome: these module-level settings are Typer's only way to word its panels,
# its help line and its default/required marks.
_RICH_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Abandon.",
    "DEFAULT_STRING": "[par défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "DEPRECATED_STRING": "(obsolète) ",
    "RICH_HELP": "Aide : [blue]{command_path} {help_option}[/]",
}


@functools.cache
def rich_utils() -> ModuleType:
    """Typer's help and error formatting, its words in French.

    Loaded when a help page or an error is shown, as Typer itself does: it brings Rich's
    Markdown and Pygments, a sixth of every command's start.
    """
    from typer import rich_utils as module

    for name, text in _RICH_WORDS.items():
        setattr(module, name, text)
    return module


class _FrenchArgument(TyperArgument):
    """An argument shown by its metavariable alone (CLASSEUR), not with Typer's `<file>`."""

    def display_type_rich(self, ctx: Context) -> str | None:
        return None


class _FrenchOption(TyperOption):
    """An option shown with its metavariable (DOSSIER, ADRESSE), a flag with nothing (no `<bool>`)."""

    def display_type_rich(self, ctx: Context) -> str | None:
        if self.is_flag:
            return None
        return self.metavar or "VALEUR"


# The mixin below is typed as the Click command it is always mixed into.
if TYPE_CHECKING:
    _Command = Command
else:
    _Command = object


class _InFrench(_Command):
    """What a command and a group share: the French usage line, help option and value types."""

    def _speak_french(self) -> None:
        # Typer builds the parameters itself: their class is changed here, their behaviour kept.
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _FrenchArgument
            elif type(param) is TyperOption:
                param.__class__ = _FrenchOption

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        rich_utils()  # the French words set before Typer formats the page with them
        super().format_help(ctx, formatter)

    def format_usage(self, ctx: Context, formatter: HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE_PREFIX)

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = ["[OPTIONS]"]
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):  # CLASSEUR, not Typer's {CLASSEUR}
                name = param.display_name_raw if param.required else f"[{param.display_name_raw}]"
                pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_TEXT
            option.__class__ = _FrenchOption
        return option

    def make_parser(self, ctx: Context) -> _OptionParser:
        parser = super().make_parser(ctx)
        for old, new in OLD_SPELLINGS.items():
            if new in parser._long_opt and old not in parser._long_opt:
                parser._long_opt[old] = parser._long_opt[new]
        return parser


class FrenchCommand(_InFrench, TyperCommand):
    """A command whose help page is French from its usage line to its help option."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._speak_french()


class FrenchGroup(_InFrench, TyperGroup):
    """`reconcile` itself: its help page in French, its commands in French."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommand_metavar = "COMMANDE [ARGUMENTS]..."
        self._speak_french()

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), self.subcommand_metavar]


def new_name(option: str) -> str:
    """The French spelling of an option, given its old English one (or itself)."""
    return OLD_SPELLINGS.get(option, option)


YES = ("o", "oui", "y", "yes")
NO = ("n", "non", "no")


def confirm(question: str) -> bool:
    """A yes/no question answered « o », « oui », « n » or « non » (or y/yes); no answer means no."""
    while True:
        answer = typer.prompt(f"{question} [o/N]", default="", show_default=False, prompt_suffix=" ")
        answer = answer.strip().casefold()
        if answer in YES:
            return True
        if not answer or answer in NO:
            return False
        typer.echo("Répondez « o » (oui) ou « n » (non).")
