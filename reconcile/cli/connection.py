"""The connection to the server, shared by the commands that talk to IntraScol: `--url` and
`--login` (or their environment variables), the password never on the command line."""

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
from reconcile.core.errors import ReconcileError

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="INTRASCOL_URL", help="Adresse du serveur, ex. http://serveur/intrascol/"),
]
LoginOption = Annotated[
    str | None,
    typer.Option("--login", envvar="INTRASCOL_LOGIN", help="Identifiant de l'administrateur."),
]


@dataclass(frozen=True)
class ServerAccess:
    """Where and as whom to log in: `--url` and `--login` as given (None: not given).

    `password` is for a caller that already holds it (the demo, from its sandbox); without it,
    `connect` reads `INTRASCOL_PASSWORD` or asks at the terminal.
    """

    url: str | None
    login: str | None
    password: str | None = field(default=None, repr=False)


def connect(access: ServerAccess) -> IntraScolClient:
    """A logged-in client.

    The password comes from `access`, `INTRASCOL_PASSWORD` or a hidden prompt, never from
    the command line (it would show in the shell history and the process list).
    """
    url, login, password = credentials(access)
    client = IntraScolClient(url, login, password)
    with console.status(f"Connexion à {escape(url)}…"):
        client.log_in()
    return client


def credentials(access: ServerAccess) -> tuple[str, str, str]:
    """The server's base URL, the administrator's login and password, asked for when not given."""
    if not access.url:
        raise ReconcileError(
            "Adresse du serveur manquante : donnez --url ou la variable d'environnement INTRASCOL_URL "
            "(ex. http://serveur/intrascol/)."
        )
    url = base_url(access.url)
    login = access.login
    if not login:
        if not sys.stdin.isatty():
            raise ReconcileError(
                "Identifiant de l'administrateur manquant, et pas de terminal pour le demander : "
                "donnez --login ou la variable d'environnement INTRASCOL_LOGIN."
            )
        login = typer.prompt("Identifiant de l'administrateur")
    password = access.password or os.environ.get("INTRASCOL_PASSWORD") or ask_password(login, url)
    return url, login, password


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
