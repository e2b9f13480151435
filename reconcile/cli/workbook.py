"""The workbook as the commands take it: an input read before any connection."""

from __future__ import annotations

from pathlib import Path

from reconcile.core.errors import ReconcileError
from reconcile.core.model import WantedState


def load_workbook(workbook: Path) -> WantedState:
    """The wanted state of a filled-in workbook, read before any connection to the server."""
    from reconcile.adapters.workbook import load_wanted

    if not workbook.is_file():
        raise ReconcileError(f"Le classeur {workbook} n'existe pas.")
    return load_wanted(workbook)
