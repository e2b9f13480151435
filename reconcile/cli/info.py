"""`reconcile info`: the server's version, the school and its numbers of accounts."""

from __future__ import annotations

from rich.table import Table

from reconcile.cli.connection import (
    CaBundleOption,
    LoginOption,
    ServerAccess,
    UrlOption,
    connect,
    warn_if_unknown_version,
)
from reconcile.cli.errors import READ_ONLY_INTERRUPTED, on_ctrl_c
from reconcile.cli.render import console, shown
from reconcile.core.model import UserType


def info(url: UrlOption = None, login: LoginOption = None, ca_bundle: CaBundleOption = None) -> None:
    """Se connecte au serveur et affiche sa version, l'école et le nombre de comptes."""
    with (
        on_ctrl_c(READ_ONLY_INTERRUPTED),
        connect(ServerAccess(url, login, ca_bundle=ca_bundle)) as client,
        console.status("Lecture des comptes…"),
    ):
        server = client.info()
        state = client.read_state()
    adults = sum(1 for u in state.users if u.type is UserType.ADULT)
    pupils = len(state.users) - adults
    without_class = sum(1 for u in state.users if u.type is UserType.PUPIL and u.class_id is None)
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("Serveur", shown(client.url))
    table.add_row("Version d'IntraScol", shown(server.version))
    table.add_row("École", shown(server.school))
    table.add_row("Classes", str(len(state.classes)))
    table.add_row("Adultes", str(adults))
    table.add_row("Élèves", f"{pupils} (dont {without_class} sans classe)")
    console.print(table)
    warn_if_unknown_version(server.version)
