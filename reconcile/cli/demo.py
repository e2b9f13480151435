"""`reconcile demo`: a whole rentrée on the embedded test server, as `make demo` shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.cli.apply import run_apply
from reconcile.cli.connection import ServerAccess
from reconcile.cli.export import run_export
from reconcile.cli.plan import run_plan
from reconcile.cli.render import console


def demo(
    output_dir: Annotated[
        Path,
        typer.Option(
            "--dossier-sortie",
            metavar="DOSSIER",
            help="Dossier où écrire le classeur, les rapports et les listes.",
        ),
    ] = Path("demo-rentree"),
) -> None:
    """Une rentrée complète sur un serveur d'essai intégré : export, saisie, plan, application, listes."""
    # Loaded here, not at import: the demo's workbook code would slow every command's start.
    from reconcile.app.demo import DEMO_WORKBOOK, prepare_demo_folder, record_demo_files

    folder = prepare_demo_folder(output_dir)
    try:
        _demo(folder.path, folder.path / DEMO_WORKBOOK)
    finally:  # finished or not, what it wrote is listed: the next demo removes that and only that
        record_demo_files(folder)
    console.print("\nLe serveur d'essai est arrêté ; ouvrez les fichiers ci-dessus pour voir le résultat.")


def _demo(output: Path, workbook: Path) -> None:
    from reconcile.app.demo import DemoRentree
    from reconcile.sandbox import SandboxOptions, start_sandbox

    with start_sandbox(SandboxOptions(demo=True, seed=1)) as sandbox:
        # Each step is given the password as a value: never printed, never on a command line.
        access = ServerAccess(sandbox.url, sandbox.admin_login, sandbox.admin_password)
        with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client:
            rentree = DemoRentree.of(client)
        for path, data in rentree.pupils_work.items():
            sandbox.store.add_file(str(rentree.removed_class), path, data)
        console.rule("1. Le serveur d'essai")
        console.print(f"Serveur IntraScol d'essai, avec l'école de démonstration : {escape(sandbox.url)}")
        console.rule("2. reconcile export -o rentree.xlsx")
        run_export(workbook, force=True, access=access)
        console.rule("3. La secrétaire remplit le classeur (ici, automatiquement)")
        rentree.fill(workbook)
        console.print(
            "Les CM2 partent, les autres montent d'un niveau, la classe "
            f"{escape(str(rentree.removed_class))} est supprimée (son dossier contient des travaux "
            "d'élèves), une nouvelle enseignante ouvre une classe PS-MS, cinq élèves arrivent."
        )
        console.rule("4. reconcile plan rentree.xlsx")
        if not run_plan(workbook, output_dir=output, allow_mass_delete=False, access=access).can_apply:
            raise typer.Exit(1)
        console.rule("5. reconcile apply rentree.xlsx --oui")
        run_apply(
            workbook, output_dir=output, yes=True, keep_folders=False, allow_mass_delete=False, access=access
        )
