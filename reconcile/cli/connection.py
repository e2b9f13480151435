"""The connection to the server, shared by the commands that talk to IntraScol: `--adresse`,
`--identifiant` and `--certificat-ac` (or their environment variables), the password never on
the command line, a warning when it would travel in clear."""

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

from reconcile.adapters.intrascol.client import IntraScolClient, base_url
from reconcile.adapters.intrascol.diagnostic import version_warning
from reconcile.cli.render import console, error_console, shown
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

CaBundleOption = Annotated[
    str | None,
    typer.Option(
        "--certificat-ac",
        envvar="INTRASCOL_CA_BUNDLE",
        metavar="FICHIER",
        help="Certificat (PEM) de l'autorité ou du serveur de l'école, pour un serveur https au "
        "certificat propre à l'école. Sans lui, le certificat doit être reconnu par le système.",
    ),
]


@dataclass(frozen=True)
class ServerAccess:
    """Where and as whom to log in: `--adresse` and `--identifiant` as given (None: not given).

    `password` is for a caller that already holds it (the demo, from its sandbox); without it,
    `connect` reads `INTRASCOL_PASSWORD` or asks at the terminal.
    """

    url: str | None
    login: str | None
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None


def connect(access: ServerAccess) -> IntraScolClient:
    """A logged-in client; a password typed at the terminal and refused is asked again.

    The password comes from `access`, `INTRASCOL_PASSWORD` or a hidden prompt, never from
    the command line (it would show in the shell history and the process list).
    """
    url, login = _address_and_login(access)
    given = _given_password(access)
    if given:  # not typed: asking again would not change it
        return _log_in(url, login, given, access.ca_bundle)
    tries = 1
    while True:
        try:
            return _log_in(url, login, ask_password(login, url), access.ca_bundle)
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
    return url, login, _given_password(access) or ask_password(login, url)


def _given_password(access: ServerAccess) -> str | None:
    """The password given without a prompt: by the caller, or in `INTRASCOL_PASSWORD`."""
    return access.password or os.environ.get("INTRASCOL_PASSWORD")


def _address_and_login(access: ServerAccess) -> tuple[str, str]:
    if not access.url:
        raise ReconcileError(
            "Adresse du serveur manquante : donnez --adresse ou la variable d'environnement INTRASCOL_URL "
            "(ex. http://serveur/intrascol/)."
        )
    url = base_url(access.url)
    warn_if_in_clear(url)
    login = access.login
    if not login:
        if not sys.stdin.isatty():
            raise ReconcileError(
                "Identifiant de l'administrateur manquant, et pas de terminal pour le demander : "
                "donnez --identifiant ou la variable d'environnement INTRASCOL_LOGIN."
            )
        login = typer.prompt("Identifiant de l'administrateur")
    return url, login


def _log_in(url: str, login: str, password: str, ca_bundle: str | None) -> IntraScolClient:
    client = IntraScolClient(url, login, password, ca_bundle=ca_bundle)
    try:
        with console.status(f"Connexion à {shown(url)}…"):
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


_warned: set[str] = set()


def warn_if_in_clear(url: str) -> None:
    """Warn once that the passwords travel in clear, for `http://` to another machine."""
    parts = urlparse(url)
    if parts.scheme != "http" or _is_loopback(parts.hostname or "") or url in _warned:
        return
    _warned.add(url)
    secure = shown(parts._replace(scheme="https").geturl())
    error_console.print(
        f"[bold yellow]Attention :[/] l'adresse {shown(url)} n'est pas chiffrée (http) : le mot de passe "
        "de l'administrateur, et ceux des comptes créés, passent en clair sur le réseau. Si le serveur "
        f"accepte https, utilisez --adresse {secure} (avec --certificat-ac FICHIER si son certificat est "
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


def warn_if_unknown_version(version: str) -> None:
    """Say that reconcile was not written for this version of IntraScol, and what to do first."""
    warning = version_warning(version)
    if warning:
        console.print(f"[bold yellow]Attention :[/] {shown(warning)}", highlight=False)
