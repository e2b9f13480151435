"""Moves a school rarely means (pure): a pupil going down, skipping levels, leaving too early.

Each is listed, with its name and row, for the secretary to check. Many of them at once
(more than a tenth of the pupils the workbook moves) is a problem: a shifted or sorted
« Classe cible » column gives exactly that. So is the slip itself, recognised even when
it only reshuffles pupils among classes of one level: the filled « Classe cible » cells
in alphabetical order, the blank ones last, while the rows keep the export's order.
The user lifts both with `--mouvements-verifies`; the moves stay listed.

A pupil's move is judged from the class the workbook showed (the export's), so that a
resumed run judges the same moves as the first. Levels are `model.class_levels`: a class
without one (ULIS, CLIS, UPE2A) is never judged, and leaving from it is listed only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import pairwise

from reconcile.core.findings import Finding, problem, warning
from reconcile.core.model import (
    LEVELS,
    ExportInfo,
    Location,
    ServerState,
    Target,
    UserType,
    WantedState,
    WantedUser,
    class_key,
    class_levels,
    display_name,
    export_row_key,
    fold,
)
from reconcile.core.vocabulary import LEAVES_SCHOOL, TARGET_CLASS

MOVES_CHECKED_OPTION = "--mouvements-verifies"

UNUSUAL_MOVES_THRESHOLD = 0.10
"""Above this share of the pupils moved, unusual moves are a problem unless --mouvements-verifies."""


class MoveKind(Enum):
    """The kinds of unusual move, with how the counts name them (one pupil, several)."""

    DOWN = ("élève descend de niveau", "élèves descendent de niveau")
    SKIP = ("élève monte de deux niveaux ou plus", "élèves montent de deux niveaux ou plus")
    EARLY_LEAVE = (
        "élève quitte l'école avant le dernier niveau",
        "élèves quittent l'école avant le dernier niveau",
    )
    LEAVE_NO_LEVEL = (
        "élève quitte l'école depuis une classe sans niveau",
        "élèves quittent l'école depuis une classe sans niveau",
    )

    def count(self, number: int) -> str:
        one, several = self.value
        return f"{number} {one if number == 1 else several}"

    @property
    def blocks(self) -> bool:
        """Whether it counts towards the problem (leaving from a class without level does not)."""
        return self is not MoveKind.LEAVE_NO_LEVEL


@dataclass(frozen=True, slots=True)
class UnusualMove:
    """One pupil's move to check: who, from which class, to which (None: leaves the school)."""

    kind: MoveKind
    login: str
    name: str
    from_class: str
    to_class: str | None
    location: Location | None = None

    @property
    def message(self) -> str:
        who = f"Mouvement inhabituel : {self.name} ({self.login})"
        if self.kind is MoveKind.DOWN:
            return (
                f"{who} passerait de {self.from_class} à {self.to_class}, un niveau plus bas : "
                "vérifiez sa classe cible."
            )
        if self.kind is MoveKind.SKIP:
            return (
                f"{who} passerait de {self.from_class} à {self.to_class}, deux niveaux plus haut ou "
                "davantage : vérifiez sa classe cible."
            )
        if self.kind is MoveKind.EARLY_LEAVE:
            return (
                f"{who} quitterait l'école depuis {self.from_class}, qui n'est pas le dernier niveau de "
                "l'école : vérifiez sa classe cible."
            )
        return (
            f"{who} quitterait l'école depuis {self.from_class}, une classe sans niveau : vérifiez que "
            "c'est bien voulu."
        )


@dataclass(frozen=True)
class MoveReview:
    """The unusual moves of a workbook, and the problems they make (none once checked)."""

    moves: tuple[UnusualMove, ...]
    problems: tuple[Finding, ...]

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(warning(m.message, m.location) for m in self.moves)


def move_counts(moves: Sequence[UnusualMove]) -> tuple[str, ...]:
    """`3 élèves descendent de niveau`, … : one line per kind met, in the kinds' order."""
    counted = Counter(m.kind for m in moves)
    return tuple(kind.count(counted[kind]) for kind in MoveKind if counted[kind])


def review_moves(current: ServerState, workbook: WantedState, *, checked: bool = False) -> MoveReview:
    """The unusual moves `workbook` asks of the pupils of `current`, and whether they block."""
    export = workbook.export
    exported = {u.login: u.class_name for u in export.users} if export else {}
    names = [*(export.class_names if export else ()), *(c.name for c in current.classes)]
    ranks = [LEVELS.index(levels[-1]) for name in names if (levels := class_levels(name))]
    last = max(ranks, default=-1)
    moved = 0
    moves: list[UnusualMove] = []
    for row in workbook.users:
        if row.login is None or row.type is not UserType.PUPIL or row.target is Target.UNCHANGED:
            continue
        user = current.user(row.login)
        if export is not None:
            origin = exported.get(row.login)
        else:
            origin = current.class_name_of(user) if user is not None else None
        if (
            row.target is Target.CLASS
            and origin is not None
            and class_key(origin) == class_key(row.target_class or "")
        ):
            continue
        moved += 1
        kind = _unusual(origin, row, last) if origin is not None else None
        if kind is not None:
            name = display_name(row.first_name, row.last_name)
            where = Location(row.location.sheet, row.location.row, TARGET_CLASS) if row.location else None
            moves.append(UnusualMove(kind, row.login, name, origin or "", row.target_class, where))
    problems: list[Finding] = []
    if not checked:
        problems.extend(_too_many(moves, moved))
        if export is not None and moves and _sorted_column(workbook.users, export):
            problems.append(_sorted_problem())
    return MoveReview(tuple(moves), tuple(problems))


def _unusual(origin: str, row: WantedUser, last: int) -> MoveKind | None:
    before = class_levels(origin)
    if row.target is Target.LEAVES:
        if not before:
            return MoveKind.LEAVE_NO_LEVEL
        return MoveKind.EARLY_LEAVE if LEVELS.index(before[-1]) < last else None
    after = class_levels(row.target_class or "")
    if not before or not after:
        return None
    if LEVELS.index(after[-1]) < LEVELS.index(before[0]):
        return MoveKind.DOWN
    if LEVELS.index(after[0]) - LEVELS.index(before[-1]) >= 2:
        return MoveKind.SKIP
    return None


def _too_many(moves: list[UnusualMove], moved: int) -> list[Finding]:
    counted = [m for m in moves if m.kind.blocks]
    if not moved or len(counted) <= UNUSUAL_MOVES_THRESHOLD * moved:
        return []
    share = round(100 * len(counted) / moved)
    return [
        problem(
            f"{len(counted)} des {moved} élèves que le classeur change de classe ou fait partir ({share} %) "
            f"ont un mouvement inhabituel ({', '.join(move_counts(counted))} ; chacun listé dans « À "
            "vérifier » de reconcile plan), plus "
            f"que le seuil de {round(100 * UNUSUAL_MOVES_THRESHOLD)} %. C'est souvent une colonne "
            "« Classe cible » décalée ou triée : vérifiez-la. Si ces mouvements sont bien voulus, relancez "
            f"avec l'option {MOVES_CHECKED_OPTION}."
        )
    ]


def _target_text(row: WantedUser) -> str | None:
    """The « Classe cible » cell as the secretary sees it; None when blank."""
    if row.target is Target.LEAVES:
        return LEAVES_SCHOOL
    return row.target_class if row.target is Target.CLASS else None


def _exported_rows(rows: Sequence[WantedUser], export: ExportInfo) -> list[WantedUser]:
    """The workbook's rows of exported accounts, in the workbook's order."""
    logins = {u.login for u in export.users}
    kept = [r for r in rows if r.login in logins and r.location is not None and r.location.row is not None]
    return sorted(kept, key=lambda r: r.location.row if r.location and r.location.row else 0)


def _sorted_column(rows: Sequence[WantedUser], export: ExportInfo) -> bool:
    """Whether « Classe cible » looks sorted on its own: the rows in the export's order, their
    filled cells in alphabetical order with at least two values, the blank ones after them."""
    ordered = _exported_rows(rows, export)
    position = _export_order(export)
    keys = [position[r.login] for r in ordered if r.login]
    if any(a > b for a, b in pairwise(keys)):
        return False  # the rows themselves were sorted or moved: not the slip
    cells = [_target_text(r) for r in ordered]
    filled = [fold(text) for text in cells if text is not None]
    if len(set(filled)) < 2 or any(a > b for a, b in pairwise(filled)):
        return False
    return all(text is not None for text in cells[: len(filled)])


def _export_order(export: ExportInfo) -> dict[str, int]:
    """Each exported login's place in the export's sheet: by class in the reading order (no class
    last), then by name."""

    ordered = sorted(export.users, key=lambda u: export_row_key(u.class_name, u, u.login))
    return {u.login: index for index, u in enumerate(ordered)}


def _sorted_problem() -> Finding:
    return problem(
        "La colonne « Classe cible » semble avoir été triée seule : ses cases remplies sont dans l'ordre "
        "alphabétique, les cases vides à la fin, alors que les lignes sont restées dans l'ordre de "
        "l'export. Chaque élève a sans doute reçu la classe cible d'un autre. Annulez ce tri (ou "
        "refaites un export et reportez-y vos choix) ; si cette colonne est bien voulue ainsi, relancez "
        f"avec l'option {MOVES_CHECKED_OPTION}."
    )
