"""What the checks of a workbook or a plan found: one type for problems and warnings.

A problem blocks (nothing is changed while there is one); a warning is for the
secretary to check. Both say where they stand in the workbook when they can.
The same finding on many rows of one column is said once (`grouped`), with its rows; a
value mistyped is answered with the value most likely meant (`near_miss`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from reconcile.core.model import Location, fold


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


# --- The same finding on many rows, said once ------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """A finding as the terminal says it: once for all the rows of one column where it stands."""

    first: Finding
    rows: tuple[int, ...] = ()

    @property
    def message(self) -> str:
        return self.first.message

    @property
    def severity(self) -> Severity:
        return self.first.severity

    @property
    def where(self) -> str:
        location = self.first.location
        if location is None or len(self.rows) < 2:
            return self.first.where
        column = f", colonne « {location.column} »" if location.column else ""
        return f"{location.sheet}{column}, {len(self.rows)} lignes ({row_ranges(self.rows)})"

    def __str__(self) -> str:
        where = self.where
        return self.message if where == NOWHERE else f"{where} : {self.message}"


def grouped(findings: Iterable[Finding]) -> tuple[FindingGroup, ...]:
    """The findings, those saying the same thing in the same column of a sheet gathered into one.

    Each group stands where its first finding stood in `findings`; the reports still list
    every row (they take the findings themselves).
    """
    groups: dict[object, list[Finding]] = {}
    for index, finding in enumerate(findings):
        location = finding.location
        if location is None or location.row is None:
            key: object = index  # said once anyway
        else:
            key = (finding.severity, finding.message, location.sheet, location.column)
        groups.setdefault(key, []).append(finding)
    return tuple(
        FindingGroup(same[0], tuple(sorted({f.location.row for f in same if f.location and f.location.row})))
        for same in groups.values()
    )


def row_ranges(rows: Sequence[int]) -> str:
    """`12 à 39`, `3, 5, 8 à 10`: row numbers, each run of three or more said as a range."""
    ordered = sorted(set(rows))
    parts: list[str] = []
    start = 0
    for end in range(len(ordered)):
        if end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            continue
        run = ordered[start : end + 1]
        parts.extend([f"{run[0]} à {run[-1]}"] if len(run) >= 3 else [str(row) for row in run])
        start = end + 1
    return ", ".join(parts)


# --- A value mistyped ---------------------------------------------------------------------


def near_miss(typed: str, choices: Iterable[str], meaning: Mapping[str, str] | None = None) -> list[str]:
    """The choices `typed` was most likely meant for: none, one, or two equally close.

    `meaning` gives the choice meant by a word of the same sense (folded words: `depart`
    for « Quitte l'école »); otherwise the spellings closest to `typed` (difflib), accents,
    case and spacing ignored.
    """
    key = fold(typed)
    if meaning and key in meaning:
        return [meaning[key]]
    by_fold: dict[str, str] = {}
    for choice in choices:
        by_fold.setdefault(fold(choice), choice)
    close = difflib.get_close_matches(key, list(by_fold), n=3, cutoff=0.6)
    if not close:
        return []
    best = difflib.SequenceMatcher(None, key, close[0]).ratio()
    tied = [c for c in by_fold if c in close and difflib.SequenceMatcher(None, key, c).ratio() == best]
    return [by_fold[c] for c in tied] if len(tied) <= 2 else []  # in the order of `choices`


def did_you_mean(choices: Sequence[str]) -> str:
    """` ; vouliez-vous dire « CM1 » ?`, to end a problem's sentence (empty without a choice)."""
    if not choices:
        return ""
    return f" ; vouliez-vous dire {' ou '.join(f'« {c} »' for c in choices)} ?"
