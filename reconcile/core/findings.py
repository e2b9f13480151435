"""What the checks of a workbook or a plan found: one type for problems and warnings.

A problem blocks (nothing is changed while there is one); a warning is for the
secretary to check. Both say where they stand in the workbook when they can.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconcile.core.model import Location


class Severity(StrEnum):
    PROBLEM = "Problème"
    WARNING = "Avertissement"


NOWHERE = "—"
"""`Finding.where` of a finding that stands nowhere in particular."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem or a warning: what, and where in the workbook."""

    message: str
    location: Location | None = None
    severity: Severity = Severity.PROBLEM

    @property
    def where(self) -> str:
        return str(self.location) if self.location else NOWHERE

    def __str__(self) -> str:
        return f"{self.location} : {self.message}" if self.location else self.message


def problem(message: str, location: Location | None = None) -> Finding:
    return Finding(message, location, Severity.PROBLEM)


def warning(message: str, location: Location | None = None) -> Finding:
    return Finding(message, location, Severity.WARNING)
