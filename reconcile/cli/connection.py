"""The connection to the server, shared by the commands that talk to IntraScol: `--adresse` and
`--identifiant` (or their environment variables), the password never on the command line."""

from __future__ import annotations

import getpass
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Annotated

import typer
from rich.markup import escape

from reconcile.adapters.intrascol.client import IntraScolClient, base_url
from reconcile.cli.render import console
from reconcile.core.errors import AuthenticationFailed, ReconcileError

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--adresse",
        envvar="INTRASCOL_URL",
        metavar="ADRESSE",
        help="Adresse du serveur, ex. http://serveur/intrascol/",
    ),
]
LoginOption = Annotated[
    str | None,
    typer.Option(
        "--identifiant",
        envvar="INTRASCOL_LOGIN",
        metavar="IDENTIFIANT",
        help="Identifiant de l'administrateur.",
    ),
]
PASSWORD_HELP = (
    "Le mot de passe de l'administrateur est demandé sans s'afficher, ou lu dans la variable "
    "d'environnement INTRASCOL_PASSWORD ; jamais sur la ligne de commande."
)
# A password typed at the terminal and refused is asked again, up to this many tries in all.
PASSWORD_TRIES = 3


@dataclass(frozen=True)
class ServerAccess:
    """Where and as whom to log in: `--adresse` and `--identifiant` as given (None: not given).

    `password` is for a caller that already holds it (the demo, from its sandbox); without it,
    `connect` reads `INTRASCOL_PASSWORD` or asks at the terminal.
    """

    url: str | None
    login: str | None
    password: str | None = field(default=None, repr=False)


def connect(access: ServerAccess) -> IntraScolClient:
    """A logged-in client; a password typed at the terminal and refused is asked again.

    The password comes from `access`, `INTRASCOL_PASSWORD` or a hidden prompt, never from
    the command line (it would show in the shell history and the process list).
    """
    url, login = _address_and_login(access)
    given = access.password or os.environ.get("INTRASCOL_PASSWORD")
    if given:  # not typed: asking again would not change it
        return _log_in(url, login, given)
    tries = 1
    while True:
        try:
            return _log_in(url, login, ask_password(login, url))
        except AuthenticationFailed:
            if tries >= PASSWORD_TRIES or not sys.stdin.isatty():
                raise
            tries += 1
            console.print(
                f"[yellow]Mot de passe refusé.[/] Nouvel essai ({tries} sur {PASSWORD_TRIES}).",
                highlight=False,
            )


def credentials(access: ServerAccess) -> tuple[str, str, str]:
    """The server's base URL, the administrator's login and password, asked for when not given."""
    url, login = _address_and_login(access)
    password = access.password or os.environ.get("INTRASCOL_PASSWORD") or ask_password(login, url)
    return url, login, password


def _address_and_login(access: ServerAccess) -> tuple[str, str]:
    if not access.url:
        raise ReconcileError(
            "Adresse du serveur manquante : donnez --adresse ou la variable d'environnement INTRASCOL_URL "
            "(ex. http://serveur/intrascol/)."
        )
    url = base_url(access.url)
    login = access.login
    if not login:
        if not sys.stdin.isatty():
            raise ReconcileError(
                "Identifiant de l'administrateur manquant, et pas de terminal pour le demander : "
                "donnez --identifiant ou la variable d'environnement INTRASCOL_LOGIN."
            )
        login = typer.prompt("Identifiant de l'administrateur")
    return url, login


def _log_in(url: str, login: str, password: str) -> IntraScolClient:
    client = IntraScolClient(url, login, password)
    try:
        with console.status(f"Connexion à {escape(url)}…"):
            client.log_in()
    except BaseException:
        client.close()
        raise
    return client


def ask_password(login: str, url: str) -> str:
    """The password typed at the terminal, never echoed; refused when there is no terminal."""
    with warnings.catch_warnings():
        # Without a terminal, getpass warns (in English) and would read an echoed password.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            return getpass.getpass(f"Mot de passe de « {login} » sur {url} : ")
        except getpass.GetPassWarning:
            raise ReconcileError(
                f"Pas de terminal pour demander le mot de passe de « {login} » sans l'afficher : "
                "mettez-le dans la variable d'environnement INTRASCOL_PASSWORD."
            ) from None
