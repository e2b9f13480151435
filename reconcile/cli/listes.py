"""`reconcile listes`: the printable class lists (logins and passwords), HTML and PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from reconcile.cli.connection import CaBundleOption, LoginOption, ServerAccess, UrlOption, connect
from reconcile.cli.errors import READ_ONLY_INTERRUPTED, on_ctrl_c
from reconcile.cli.render import console


def listes(
    url: UrlOption = None,
    login: LoginOption = None,
    ca_bundle: CaBundleOption = None,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--dossier-sortie", metavar="DOSSIER", help="Dossier où écrire les listes (créé au besoin)."
        ),
    ] = Path("."),
    classe: Annotated[
        list[str] | None,
        typer.Option(
            "--classe",
            metavar="CLASSE",
            help="Seulement cette classe (option répétable) ; par défaut toutes.",
        ),
    ] = None,
) -> None:
    """Écrit les listes de classes à afficher près des ordinateurs (identifiants et mots de passe).

    Une page par classe, en HTML à imprimer et en PDF ; les fichiers ne sont lisibles
    que par vous (ils contiennent les mots de passe des élèves).
    """
    from reconcile.adapters.reports.class_lists import write_class_lists

    with (
        on_ctrl_c(READ_ONLY_INTERRUPTED),
        connect(ServerAccess(url, login, ca_bundle=ca_bundle)) as client,
        console.status("Lecture des comptes…"),
    ):
        client.info()
        state = client.read_state()
    written = write_class_lists(state, output_dir, class_names=classe or None)
    pages = f"{written.classes} classe{'s' if written.classes > 1 else ''}"
    console.print(f"Listes de classes écrites ({pages}, {written.pupils} élèves) :", highlight=False)
    console.print(f"  {escape(str(written.html))}", highlight=False)
    if written.pdf is not None:
        console.print(f"  {escape(str(written.pdf))}", highlight=False)
    else:
        console.print(
            "  (pas de PDF : police DejaVu absente, paquet fonts-dejavu-core ; imprimez le HTML)",
            highlight=False,
        )
    console.print("Ces fichiers contiennent les mots de passe des élèves : ne les partagez pas.")
