"""`reconcile plan`: what the workbook would change on the server, shown and reported, nothing changed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from reconcile.cli.connection import CaBundleOption, LoginOption, ServerAccess, UrlOption, connect
from reconcile.cli.errors import READ_ONLY_INTERRUPTED, on_ctrl_c, why_not_written
from reconcile.cli.render import console, error_console, print_plan_summary, shown, warn_unsafe_names
from reconcile.cli.workbook import load_workbook
from reconcile.core.errors import ReconcileError
from reconcile.core.operations import Plan
from reconcile.core.plan import make_plan
from reconcile.core.plausibility import MOVES_CHECKED_OPTION
from reconcile.core.safeguards import MASS_DELETE_OPTION, NEW_ADDRESS_OPTION, Safeguards
from reconcile.core.vocabulary import DEFAULT_MASS_DELETE_THRESHOLD

# The safeguards' options, shared with `apply` (`reconcile.core.safeguards`, `reconcile.core.plausibility`).
NewAddressOption = Annotated[
    str | None,
    typer.Option(
        NEW_ADDRESS_OPTION,
        metavar="ADRESSE",
        help="Le serveur a changé d'adresse depuis l'export : sa nouvelle adresse, la même que --adresse.",
    ),
]
MassDeleteOption = Annotated[
    bool,
    typer.Option(
        MASS_DELETE_OPTION,
        help=f"Accepte un plan qui supprime plus de {round(100 * DEFAULT_MASS_DELETE_THRESHOLD)} % "
        "des élèves (sinon c'est un problème).",
    ),
]
MovesCheckedOption = Annotated[
    bool,
    typer.Option(
        MOVES_CHECKED_OPTION,
        help="Les mouvements inhabituels (descente de niveau, départ avant le dernier niveau…) sont voulus.",
    ),
]


def plan(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="Le classeur de la rentrée, rempli (ex. rentree.xlsx).", dir_okay=False, metavar="CLASSEUR"
        ),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--dossier-sortie",
            metavar="DOSSIER",
            help="Dossier où écrire le rapport (par défaut : celui du classeur).",
        ),
    ] = None,
    allow_mass_delete: MassDeleteOption = False,
    new_address: NewAddressOption = None,
    moves_checked: MovesCheckedOption = False,
    url: UrlOption = None,
    login: LoginOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Montre ce que le classeur changerait sur le serveur, sans rien modifier, et écrit le rapport."""
    result = run_plan(
        workbook,
        output_dir=output_dir,
        allow_mass_delete=allow_mass_delete,
        access=ServerAccess(url, login, ca_bundle=ca_bundle),
        new_address=new_address,
        moves_checked=moves_checked,
    )
    if not result.can_apply:
        raise typer.Exit(1)


def run_plan(
    workbook: Path,
    *,
    output_dir: Path | None,
    allow_mass_delete: bool,
    access: ServerAccess,
    new_address: str | None = None,
    moves_checked: bool = False,
) -> Plan:
    """Plan `workbook` against the server `access` reaches: show the plan, write its report.

    A plan that stops before its report replaces an earlier `rapport-plan.*` that would contradict it.
    """
    output = output_dir or workbook.resolve().parent
    try:
        return _plan_and_report(
            workbook,
            output,
            allow_mass_delete=allow_mass_delete,
            access=access,
            new_address=new_address,
            moves_checked=moves_checked,
        )
    except (ReconcileError, KeyboardInterrupt) as error:
        _replace_stale_report(output, error, access)
        raise


def _replace_stale_report(output: Path, error: BaseException, access: ServerAccess) -> None:
    """Say in the report left by an earlier plan that this one could not be made (terminal too)."""
    # Here, not at the top: the reports bring openpyxl and Jinja2, which other commands need not load.
    from reconcile.adapters.reports.plan_report import write_plan_failure_report
    from reconcile.adapters.reports.route_sheet import withdraw_route_sheet

    reason = str(error) if isinstance(error, ReconcileError) else "plan interrompu (Ctrl-C)."
    try:
        files = write_plan_failure_report(
            output, reason, server_url=access.url or "", generated_at=datetime.now().astimezone()
        )
    except Exception as unwritable:  # any writer's failure: the plan's own error still follows
        error_console.print(
            "[bold red]Le rapport d'un plan précédent n'a pas pu être remplacé :[/] "
            f"{shown(why_not_written(unwritable))}"
            "\nIl ne correspond pas à ce classeur : ne vous y fiez pas.",
            highlight=False,
        )
        return
    if files is not None:
        error_console.print(
            f"Le rapport d'un plan précédent a été remplacé : {shown(str(files.html))} dit maintenant "
            "que le plan n'a pas pu être fait.",
            highlight=False,
        )
    try:
        withdraw_route_sheet(output, server_url=access.url or "", generated_at=datetime.now().astimezone())
    except Exception as unwritable:  # as for the report: the plan's own error still follows
        error_console.print(
            "[bold red]La fiche de route d'un plan précédent n'a pas pu être remplacée :[/] "
            f"{shown(why_not_written(unwritable))}"
            "\nElle ne correspond pas à ce classeur : ne vous y fiez pas.",
            highlight=False,
        )


def _plan_and_report(
    workbook: Path,
    output: Path,
    *,
    allow_mass_delete: bool,
    access: ServerAccess,
    new_address: str | None,
    moves_checked: bool,
) -> Plan:
    from reconcile.adapters.reports.plan_report import write_plan_report
    from reconcile.adapters.reports.route_sheet import write_route_sheet

    wanted = load_workbook(workbook)
    with on_ctrl_c(READ_ONLY_INTERRUPTED), connect(access) as client:
        server = client.info()
        with console.status("Lecture des comptes…") as status:

            def on_page(pages: int, users: int) -> None:
                status.update(f"Lecture des comptes : {users} (page {pages})")

            current = client.read_state(progress=on_page)
    warn_unsafe_names(current)
    safeguards = Safeguards(server_url=client.url, new_address=new_address, moves_checked=moves_checked)
    result = make_plan(current, wanted, allow_mass_delete=allow_mass_delete, safeguards=safeguards)
    print_plan_summary(result)
    now = datetime.now().astimezone()
    try:
        files = write_plan_report(
            result, current, wanted, output, server_url=client.url, school=server.school, generated_at=now
        )
        route = write_route_sheet(
            result, output, server_url=client.url, school=server.school, generated_at=now
        )
    except ReconcileError:
        raise
    except Exception as error:  # a writer's failure is said in French, never as a traceback
        raise ReconcileError(
            f"Le rapport du plan n'a pas pu être écrit dans {output} (erreur inattendue : "
            f"{type(error).__name__}). Rien n'a été modifié sur le serveur."
        ) from error
    console.print(
        f"\nRapport : {shown(str(files.html))}\n          {shown(str(files.xlsx))}", highlight=False
    )
    if route is not None and result.can_apply and not result.is_empty:
        sheets = [route.html] if route.pdf is None else [route.html, route.pdf]
        console.print(
            f"Fiche de route (la rentrée à la main, clic par clic) : {shown(str(sheets[0]))}"
            + "".join(f"\n          {shown(str(path))}" for path in sheets[1:]),
            highlight=False,
        )
    console.print("Rien n'a été modifié sur le serveur.", highlight=False)
    return result
