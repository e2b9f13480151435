"""The workbook as the commands take it: an output name checked, an input read."""

from __future__ import annotations

from pathlib import Path

from reconcile.core.errors import ReconcileError
from reconcile.core.model import WantedState


def check_workbook_name(output: Path) -> None:
    """Refuse an output workbook whose name does not end in .xlsx (`export -o`, `onde -o`)."""
    if output.suffix.lower() != ".xlsx":
        raise ReconcileError(
            f"« {output.name} » : le classeur doit finir par .xlsx, sinon ni Excel ni LibreOffice Calc ni "
            f"reconcile plan ne l'ouvrent comme un classeur. Par exemple : -o {output.stem or 'rentree'}.xlsx"
        )


def load_workbook(workbook: Path) -> WantedState:
    """The wanted state of a filled-in workbook, read before any connection to the server."""
    from reconcile.adapters.workbook import load_wanted

    if not workbook.is_file():
        raise ReconcileError(f"Le classeur {workbook} n'existe pas.")
    return load_wanted(workbook)
