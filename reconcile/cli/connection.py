"""The connection to the server, shared by the commands that talk to IntraScol: `--url`,
`--login` and `--certificat-ac` (or their environment variables), the password never on the
command line, a warning when it would travel in clear."""

from __future__ import annotations

import getpass
import ipaddress
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlparse

import typer
from rich.markup import escape

from reconcile.adapters.intrascol.client import IntraScolClient, base_url
from reconcile.cli.render import console, error_console
from reconcile.core.errors import ReconcileError

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="INTRASCOL_URL", help="Adresse du serveur, ex. http://serveur/intrascol/"),
]
LoginOption = Annotated[
    str | None,
    typer.Option("--login", envvar="INTRASCOL_LOGIN", help="Identifiant de l'administrateur."),
]

CaBundleOption = Annotated[
    str | None,
    typer.Option(
        "--certificat-ac",
        "--ca-bundle",
        envvar="INTRASCOL_CA_BUNDLE",
        metavar="FICHIER",
        help="Certificat (PEM) de l'autorité ou du serveur de l'école, pour un serveur https au "
        "certificat propre à l'école. Sans lui, le certificat doit être reconnu par le système.",
    ),
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
    ca_bundle: str | None = None


def connect(access: ServerAccess) -> IntraScolClient:
    """A logged-in client.

    The password comes from `access`, `INTRASCOL_PASSWORD` or a hidden prompt, never from
    the command line (it would show in the shell history and the process list).
    """
    if not access.url:
        raise ReconcileError(
            "Adresse du serveur manquante : donnez --url ou la variable d'environnement INTRASCOL_URL "
            "(ex. http://serveur/intrascol/)."
        )
    url = base_url(access.url)
    warn_if_in_clear(url)
    login = access.login
    if not login:
        if not sys.stdin.isatty():
            raise ReconcileError(
                "Identifiant de l'administrateur manquant, et pas de terminal pour le demander : "
                "donnez --login ou la variable d'environnement INTRASCOL_LOGIN."
            )
        login = typer.prompt("Identifiant de l'administrateur")
    password = access.password or os.environ.get("INTRASCOL_PASSWORD") or ask_password(login, url)
    client = IntraScolClient(url, login, password, ca_bundle=access.ca_bundle)
    with console.status(f"Connexion à {escape(url)}…"):
        client.log_in()
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


_warned: set[str] = set()


def warn_if_in_clear(url: str) -> None:
    """Warn once that the passwords travel in clear, for `http://` to another machine."""
    parts = urlparse(url)
    if parts.scheme != "http" or _is_loopback(parts.hostname or "") or url in _warned:
        return
    _warned.add(url)
    secure = escape(parts._replace(scheme="https").geturl())
    error_console.print(
        f"[bold yellow]Attention :[/] l'adresse {escape(url)} n'est pas chiffrée (http) : le mot de passe "
        "de l'administrateur, et ceux des comptes créés, passent en clair sur le réseau. Si le serveur "
        f"accepte https, utilisez --url {secure} (avec --certificat-ac FICHIER si son certificat est "
        "propre à l'école).",
        highlight=False,
        soft_wrap=True,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
