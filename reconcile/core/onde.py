"""The ONDE extraction matched to the workbook's pupils: who is who, who arrives, who leaves.

Pure: no workbook, no terminal. `reconcile.adapters.workbook.onde` reads the files, calls
`match_extraction` (then `onde_classes.check_complete` and `map_classes`), and writes the
result. The extraction is read by `onde_extraction`; the memory of past years' confirmed
homonyms is `onde_memory`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NoReturn

from reconcile.core.errors import OndeError
from reconcile.core.model import clean_text, person_key
from reconcile.core.onde_extraction import Extraction, OndePupil


class Origin(StrEnum):
    """How a row of the workbook was filled (the `Origine` column)."""

    EXACT = "correspondance exacte"
    NORMALISED = "correspondance après normalisation"
    CONFIRMED = "correspondance confirmée"
    NEW = "nouveau dans ONDE"
    ABSENT = "absent d'ONDE"
    AMBIGUOUS = "ambigu"


@dataclass(frozen=True, slots=True)
class ServerPupil:
    """A pupil row of the workbook with an `Identifiant` (an account on the server).

    `reference` is what the `INE` column holds: written by a previous run, or typed
    by the secretary to settle homonyms (an INE, or a birth date for a BE1D file).
    """

    login: str
    last_name: str
    first_name: str
    current_class: str = ""
    reference: str = ""
    row: int | None = None

    @property
    def name_key(self) -> tuple[str, str]:
        return person_key(self.last_name, self.first_name)

    @property
    def display(self) -> str:
        return f"{self.last_name.upper()} {self.first_name} ({self.login})"


@dataclass(frozen=True, slots=True)
class NewPupilRow:
    """A pupil row without `Identifiant` already in the workbook (a previous run, or typed)."""

    row: int
    last_name: str
    first_name: str
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one server pupil: its ONDE pupil (if any) and how it was found."""

    pupil: ServerPupil
    origin: Origin
    onde: OndePupil | None = None
    candidates: tuple[OndePupil, ...] = ()
    # Set when the pupil was told apart from a homonym (to remember it for next year).
    homonym: bool = False


@dataclass(frozen=True, slots=True)
class Arrival:
    """An ONDE pupil with no account: a new row, or an existing new row (`row`) updated."""

    onde: OndePupil
    row: int | None = None


@dataclass(frozen=True)
class Matching:
    decisions: tuple[Decision, ...]
    arrivals: tuple[Arrival, ...]
    # ONDE pupils that share names with accounts and could not be told apart.
    undecided: tuple[OndePupil, ...] = ()

    def counts(self) -> dict[Origin, int]:
        counts = dict.fromkeys(Origin, 0)
        for decision in self.decisions:
            counts[decision.origin] += 1
        counts[Origin.NEW] += len(self.arrivals)
        return counts

    @property
    def confirmed_homonyms(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.homonym and d.onde is not None)


def match_extraction(
    extraction: Extraction,
    server_pupils: Sequence[ServerPupil],
    new_rows: Sequence[NewPupilRow] = (),
    memory: Mapping[str, str] | None = None,
) -> Matching:
    """Pair each server pupil with at most one ONDE pupil.

    In order: a reference in the workbook's `INE` column (checked against the names),
    then the memory of past years' confirmed homonyms (INE -> login, checked against
    the names too: a login may have been given to somebody else), then names. A name
    match counts only when it is unique on both sides; otherwise nobody is guessed.
    """
    pairing = _Pairing(extraction, server_pupils, memory or {})
    pairing.by_references()
    pairing.by_memory()
    pairing.by_names()
    return pairing.result(new_rows)


class _Pairing:
    """A matching under way: both sides indexed by name, and the decisions taken so far."""

    def __init__(
        self, extraction: Extraction, server_pupils: Sequence[ServerPupil], memory: Mapping[str, str]
    ) -> None:
        self.extraction = extraction
        self.server_pupils = server_pupils
        self.memory = memory
        self.onde_by_key: dict[tuple[str, str], list[OndePupil]] = defaultdict(list)
        for onde in extraction.pupils:
            for key in onde.name_keys():
                self.onde_by_key[key].append(onde)
        self.server_by_key: dict[tuple[str, str], list[ServerPupil]] = defaultdict(list)
        for pupil in server_pupils:
            self.server_by_key[pupil.name_key].append(pupil)
        self.decisions: dict[str, Decision] = {}  # by login
        self.taken: set[int] = set()  # ONDE pupils' lines already paired

    def onde_candidates(self, pupil: ServerPupil) -> list[OndePupil]:
        return self.onde_by_key.get(pupil.name_key, [])

    def server_candidates(self, onde: OndePupil) -> list[ServerPupil]:
        found: dict[str, ServerPupil] = {}
        for key in onde.name_keys():
            for pupil in self.server_by_key.get(key, []):
                found[pupil.login] = pupil
        return list(found.values())

    def is_homonym(self, pupil: ServerPupil, onde: OndePupil) -> bool:
        return len(self.onde_candidates(pupil)) > 1 or len(self.server_candidates(onde)) > 1

    def pair(self, pupil: ServerPupil, origin: Origin, onde: OndePupil, *, homonym: bool = False) -> None:
        self.taken.add(onde.line)
        self.decisions[pupil.login] = Decision(pupil, origin, onde, homonym=homonym)

    # --- 1. References typed in the workbook ---

    def by_references(self) -> None:
        for pupil in self.server_pupils:
            if pupil.reference:
                self._by_reference(pupil)

    def _by_reference(self, pupil: ServerPupil) -> None:
        chosen = [o for o in self.onde_candidates(pupil) if o.matches_reference(pupil.reference)]
        if not chosen:
            self._refuse_the_ine_of_another_pupil(pupil)
            return  # an old reference, or a pupil who left: names decide
        if len(chosen) > 1:
            return  # a birth date shared by homonyms: names decide
        onde = chosen[0]
        if onde.line in self.taken:
            self._refuse_one_pupil_for_two_accounts(pupil, onde)
        homonym = self.is_homonym(pupil, onde)
        remembered = self.memory.get(onde.reference) == pupil.login
        origin = Origin.CONFIRMED if homonym or remembered else _name_origin(pupil, onde)
        self.pair(pupil, origin, onde, homonym=homonym)

    def _refuse_the_ine_of_another_pupil(self, pupil: ServerPupil) -> None:
        elsewhere = [o for o in self.extraction.pupils if o.ine and _same_letters(o.ine, pupil.reference)]
        if elsewhere:
            raise OndeError(
                f"Utilisateurs, ligne {pupil.row}, colonne « INE » : « {pupil.reference} » désigne "
                f"{elsewhere[0].display} dans ONDE, pas {pupil.display}. Corrigez ou videz la cellule."
            )

    def _refuse_one_pupil_for_two_accounts(self, pupil: ServerPupil, onde: OndePupil) -> NoReturn:
        other = next(d for d in self.decisions.values() if d.onde is onde)
        raise OndeError(
            f"Utilisateurs, lignes {other.pupil.row} et {pupil.row}, colonne « INE » : "
            f"« {pupil.reference} » désigne le même élève d'ONDE ({onde.display}) pour deux comptes."
        )

    # --- 2. The memory of confirmed homonyms ---

    def by_memory(self) -> None:
        by_login = {p.login: p for p in self.server_pupils}
        for onde in self.extraction.pupils:
            pupil = by_login.get(self.memory.get(onde.reference, ""))
            if pupil is None or onde.line in self.taken or pupil.login in self.decisions:
                continue
            if pupil.name_key not in onde.name_keys():
                continue  # the login now names somebody else
            self.pair(pupil, Origin.CONFIRMED, onde, homonym=self.is_homonym(pupil, onde))

    # --- 3. Names, unique on both sides among those still free ---

    def by_names(self) -> None:
        paired = set(self.decisions)
        for pupil in self.server_pupils:
            if pupil.login not in self.decisions:
                self._absent_or_ambiguous(pupil, paired)
        # The pupils left have one free ONDE pupil of their name, and it has only them.
        for pupil in self.server_pupils:
            if pupil.login not in self.decisions:
                onde = next(o for o in self.onde_candidates(pupil) if o.line not in self.taken)
                self.pair(pupil, _name_origin(pupil, onde), onde)

    def _absent_or_ambiguous(self, pupil: ServerPupil, paired: set[str]) -> None:
        """Decide a pupil no free ONDE pupil names, or several; leave a unique pair for later."""
        free_onde = [o for o in self.onde_candidates(pupil) if o.line not in self.taken]
        if not free_onde:
            self.decisions[pupil.login] = Decision(pupil, Origin.ABSENT)
            return
        free_server = [s for o in free_onde for s in self.server_candidates(o) if s.login not in paired]
        if len(free_onde) == 1 and {s.login for s in free_server} == {pupil.login}:
            return  # settled in the next pass, once every ambiguity is known
        self.decisions[pupil.login] = Decision(pupil, Origin.AMBIGUOUS, candidates=tuple(free_onde))

    # --- What is left: undecided ONDE pupils, and arrivals ---

    def result(self, new_rows: Sequence[NewPupilRow]) -> Matching:
        pupils = self.extraction.pupils
        ambiguous_lines = {o.line for d in self.decisions.values() for o in d.candidates}
        undecided = tuple(o for o in pupils if o.line in ambiguous_lines and o.line not in self.taken)
        newcomers = [o for o in pupils if o.line not in self.taken and o.line not in ambiguous_lines]
        ordered = tuple(self.decisions[p.login] for p in self.server_pupils)
        return Matching(ordered, _arrivals(newcomers, new_rows), undecided)


def _name_origin(pupil: ServerPupil, onde: OndePupil) -> Origin:
    """Exact when the names are the same letters (case aside), else after normalisation."""
    first = _same_letters(pupil.first_name, onde.first_name)
    last = _same_letters(pupil.last_name, onde.last_name) or (
        bool(onde.usage_name) and _same_letters(pupil.last_name, onde.usage_name)
    )
    return Origin.EXACT if first and last else Origin.NORMALISED


def _same_letters(a: str, b: str) -> bool:
    return clean_text(a).casefold() == clean_text(b).casefold()


def _arrivals(newcomers: Sequence[OndePupil], new_rows: Sequence[NewPupilRow]) -> tuple[Arrival, ...]:
    """New ONDE pupils, each tied to the workbook's new row for it when there is one (re-runs)."""
    rows_by_key: dict[tuple[str, str], list[NewPupilRow]] = defaultdict(list)
    for row in new_rows:
        rows_by_key[person_key(row.last_name, row.first_name)].append(row)
    used: set[int] = set()
    arrivals = []
    for onde in newcomers:
        # In the workbook's order: a name and a usage name must not pick by the order of a set.
        rows = sorted(
            (r for key in onde.name_keys() for r in rows_by_key.get(key, []) if r.row not in used),
            key=lambda r: r.row,
        )
        # A reference written by a previous run picks the row; else the first row of those names
        # that no other newcomer's reference claims (homonym newcomers keep their own rows).
        chosen = [r for r in rows if onde.matches_reference(r.reference)] or [
            r for r in rows if not any(o.matches_reference(r.reference) for o in newcomers)
        ]
        if chosen:
            used.add(chosen[0].row)
            arrivals.append(Arrival(onde, chosen[0].row))
        else:
            arrivals.append(Arrival(onde))
    return tuple(arrivals)
