"""The ONDE pupil extraction: reading it, matching it to the server's pupils, checking it.

Pure: no workbook, no terminal. `reconcile.adapters.workbook.onde` reads the workbook, calls
`match_extraction`, and writes the result. Standard library, the model and the plan's
safety threshold only.

ONDE (ex-"Base Élèves 1er degré", BE1D) is the national register of primary pupils.
Its "Élèves de l'école" extraction is a CSV file whose exact shape varies with the
version and the person who saved it: encoding, separator, quotes and extra columns
are detected here, and columns are found by their header text.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from reconcile.core.errors import OndeError
from reconcile.core.model import LEVELS, class_levels, clean_text, fold, person_key
from reconcile.core.vocabulary import DEFAULT_MASS_DELETE_THRESHOLD, LEAVES_SCHOOL

# --- Reading the extraction -------------------------------------------------------------


class Layout(StrEnum):
    """The two known header layouts."""

    ONDE = "ONDE"
    BE1D = "Base Élèves (BE1D)"


# Header texts, folded (see `model.fold`), for each field; the first one found wins.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "last_name": ("nom eleve", "nom de l eleve", "nom"),
    "usage_name": ("nom d usage eleve", "nom d usage de l eleve", "nom d usage"),
    "first_name": ("prenom eleve", "prenom de l eleve", "prenom", "prenom 1"),
    "birth_date": ("date naissance", "date de naissance", "ne e le", "ne le"),
    "ine": ("ine", "identifiant national eleve", "numero ine"),
    "level": ("niveau",),
    "class_label": ("libelle classe", "classe", "libelle de la classe"),
    "class_id": ("identifiant classe", "id classe"),
}
_REQUIRED = ("last_name", "first_name", "class_label")
_FIELD_NAMES = {
    "last_name": "Nom élève",
    "first_name": "Prénom élève",
    "class_label": "Libellé classe (ou Classe)",
}

_LONG_LEVELS = {
    "petite section": "PS",
    "moyenne section": "MS",
    "grande section": "GS",
    "cours preparatoire": "CP",
    "cours elementaire 1": "CE1",
    "cours elementaire premiere": "CE1",
    "cours elementaire 1ere": "CE1",
    "cours elementaire 2": "CE2",
    "cours elementaire deuxieme": "CE2",
    "cours elementaire 2eme": "CE2",
    "cours moyen 1": "CM1",
    "cours moyen premiere": "CM1",
    "cours moyen 1ere": "CM1",
    "cours moyen 2": "CM2",
    "cours moyen deuxieme": "CM2",
    "cours moyen 2eme": "CM2",
}


@dataclass(frozen=True, slots=True)
class OndePupil:
    """One pupil row of the extraction (`line`: its line number in the file, 1-based)."""

    line: int
    last_name: str
    first_name: str
    class_label: str
    usage_name: str = ""
    birth_date: date | None = None
    ine: str = ""
    level: str = ""  # one of LEVELS, or "" when the extraction's level is unknown
    class_id: str = ""

    @property
    def reference(self) -> str:
        """What identifies the pupil across years: the INE, else names and birth date."""
        if self.ine:
            return self.ine
        born = self.birth_date.isoformat() if self.birth_date else ""
        return f"{fold(self.last_name)}|{fold(self.first_name)}|{born}"

    @property
    def display(self) -> str:
        """`NOM Prénom (INE …, né(e) le …)`, as the secretary sees it in ONDE."""
        name = f"{self.last_name.upper()} {self.first_name}"
        if self.usage_name and fold(self.usage_name) != fold(self.last_name):
            name += f" (nom d'usage {self.usage_name.upper()})"
        details = []
        if self.ine:
            details.append(f"INE {self.ine}")
        if self.birth_date:
            details.append(f"né(e) le {self.birth_date:%d/%m/%Y}")
        return f"{name}, {', '.join(details)}" if details else name

    def name_keys(self) -> set[tuple[str, str]]:
        keys = {person_key(self.last_name, self.first_name)}
        if self.usage_name:
            keys.add(person_key(self.usage_name, self.first_name))
        return keys

    def matches_reference(self, text: str) -> bool:
        """Whether `text` (typed by the secretary) designates this pupil: its INE or birth date."""
        value = clean_text(text)
        if not value:
            return False
        if self.ine and value.casefold() == self.ine.casefold():
            return True
        return self.birth_date is not None and _parse_date_or_none(value) == self.birth_date


@dataclass(frozen=True)
class Extraction:
    """The pupils of an ONDE extraction, with how the file was read."""

    pupils: tuple[OndePupil, ...]
    layout: Layout
    encoding: str
    separator: str
    source: str = ""

    @property
    def separator_name(self) -> str:
        return {";": "point-virgule", ",": "virgule", "\t": "tabulation"}.get(self.separator, self.separator)

    @property
    def class_labels(self) -> tuple[str, ...]:
        """Distinct class labels, in order of first appearance (empty labels left out)."""
        return tuple(dict.fromkeys(p.class_label for p in self.pupils if p.class_label))

    def levels_of(self, label: str) -> tuple[str, ...]:
        """The levels of the pupils ONDE puts in a class, lowest first."""
        found = {p.level for p in self.pupils if p.class_label == label and p.level}
        found |= set(class_levels(label))
        return tuple(level for level in LEVELS if level in found)


def read_extraction(data: bytes, source: str = "l'extraction") -> Extraction:
    """Parse the bytes of an ONDE/BE1D CSV extraction; `source` names it in errors."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise OndeError(
            f"{source} est un classeur Excel, pas un fichier CSV : téléchargez l'extraction ONDE au format "
            "CSV, ou enregistrez ce classeur au format « CSV (séparateur : point-virgule) »."
        )
    text, encoding = _decode(data)
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise OndeError(f"{source} est vide : ce n'est pas une extraction ONDE.")
    separator = _detect_separator(lines[header_index])
    reader = csv.reader(io.StringIO(text), delimiter=separator, quotechar='"', skipinitialspace=False)
    rows = [(reader.line_num, row) for row in reader]
    # csv counts physical lines, so line numbers stay right with quoted multi-line cells.
    rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise OndeError(f"{source} est vide : ce n'est pas une extraction ONDE.")
    header_line, header = rows[0]
    columns, layout = _find_columns(header, source, header_line)
    pupils: list[OndePupil] = []
    for number, row in rows[1:]:
        pupils.append(_read_row(row, number, columns, source, len(header)))
    if not pupils:
        raise OndeError(f"{source} ne contient aucun élève (seulement la ligne d'en-tête).")
    _check_unique_ine(pupils, source)
    return Extraction(tuple(pupils), layout, encoding, separator, source)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 (avec BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "ISO-8859-1 (Windows-1252)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "ISO-8859-1"


def _detect_separator(header_line: str) -> str:
    """The separator of the header line: `;` (ONDE's own), `,` or a tab, whichever splits it most."""
    counts = {sep: _count_outside_quotes(header_line, sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def _count_outside_quotes(line: str, separator: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            count += 1
    return count


def _header_key(text: str) -> str:
    return fold(text.replace("\ufeff", ""))


def _find_columns(header: Sequence[str], source: str, line: int) -> tuple[dict[str, int], Layout]:
    keys = [_header_key(cell) for cell in header]
    columns: dict[str, int] = {}
    for name, candidates in _COLUMNS.items():
        for candidate in candidates:
            if candidate in keys:
                columns[name] = keys.index(candidate)
                break
    # "Nom d'usage" must not be taken for "Nom", nor "Identifiant classe" for "Classe".
    missing = [_FIELD_NAMES[name] for name in _REQUIRED if name not in columns]
    if missing:
        shown = ", ".join(f"« {cell.strip()} »" for cell in header if cell.strip()) or "aucune"
        raise OndeError(
            f"{source}, ligne {line} : colonne(s) introuvable(s) : {', '.join(missing)}. "
            f"Colonnes trouvées : {shown}. Est-ce bien l'extraction « Élèves de l'école » d'ONDE "
            "(fichier CSV) ?"
        )
    layout = Layout.ONDE if "ine" in columns or "class_id" in columns else Layout.BE1D
    return columns, layout


def _cell(row: Sequence[str], columns: Mapping[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(row):
        return ""
    return clean_text(row[index])


def _read_row(
    row: Sequence[str], line: int, columns: Mapping[str, int], source: str, width: int
) -> OndePupil:
    needed = max(columns[name] for name in _REQUIRED) + 1
    if len(row) < needed:
        raise OndeError(
            f"{source}, ligne {line} : {len(row)} champ(s) au lieu des {width} de l'en-tête. "
            "La ligne est coupée ou le séparateur a changé."
        )
    last_name = _cell(row, columns, "last_name")
    first_name = _cell(row, columns, "first_name")
    if not last_name or not first_name:
        which = "le nom" if not last_name else "le prénom"
        raise OndeError(f"{source}, ligne {line} : {which} de l'élève est vide.")
    birth_text = _cell(row, columns, "birth_date")
    birth_date = None
    if birth_text:
        birth_date = _parse_date_or_none(birth_text)
        if birth_date is None:
            raise OndeError(
                f"{source}, ligne {line} : date de naissance « {birth_text} » illisible "
                "(attendu jj/mm/aaaa ou aaaa-mm-jj)."
            )
    return OndePupil(
        line=line,
        last_name=last_name,
        usage_name=_cell(row, columns, "usage_name"),
        first_name=first_name,
        birth_date=birth_date,
        ine=_cell(row, columns, "ine").upper(),
        level=normalise_level(_cell(row, columns, "level")),
        class_label=_cell(row, columns, "class_label"),
        class_id=_cell(row, columns, "class_id"),
    )


_DATE_FR = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s.*)?")
_DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s].*)?")


def _parse_date_or_none(text: str) -> date | None:
    if match := _DATE_ISO.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DATE_FR.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def normalise_level(text: str) -> str:
    """`CE2`, `ce2`, `Cours élémentaire 2ème année` -> `CE2`; "" when not a known level."""
    levels = class_levels(text)
    if len(levels) == 1:
        return levels[0]
    key = fold(text)
    for long_name, level in _LONG_LEVELS.items():
        if key.startswith(long_name):
            return level
    return ""


def _check_unique_ine(pupils: Sequence[OndePupil], source: str) -> None:
    lines_by_ine: dict[str, list[int]] = defaultdict(list)
    for pupil in pupils:
        if pupil.ine:
            lines_by_ine[pupil.ine].append(pupil.line)
    repeated = {ine: lines for ine, lines in lines_by_ine.items() if len(lines) > 1}
    if repeated:
        ine, lines = next(iter(repeated.items()))
        raise OndeError(
            f"{source}, lignes {', '.join(map(str, lines))} : le même INE {ine} apparaît plusieurs fois."
        )


# --- Matching ---------------------------------------------------------------------------


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
    memory = memory or {}
    onde_by_key: dict[tuple[str, str], list[OndePupil]] = defaultdict(list)
    for onde in extraction.pupils:
        for key in onde.name_keys():
            onde_by_key[key].append(onde)
    server_by_key: dict[tuple[str, str], list[ServerPupil]] = defaultdict(list)
    for pupil in server_pupils:
        server_by_key[pupil.name_key].append(pupil)

    def onde_candidates(pupil: ServerPupil) -> list[OndePupil]:
        return onde_by_key.get(pupil.name_key, [])

    def server_candidates(onde: OndePupil) -> list[ServerPupil]:
        found: dict[str, ServerPupil] = {}
        for key in onde.name_keys():
            for pupil in server_by_key.get(key, []):
                found[pupil.login] = pupil
        return list(found.values())

    def is_homonym(pupil: ServerPupil, onde: OndePupil) -> bool:
        return len(onde_candidates(pupil)) > 1 or len(server_candidates(onde)) > 1

    decisions: dict[str, Decision] = {}
    taken: set[int] = set()  # ONDE pupils' lines already paired

    # 1. References typed in the workbook.
    for pupil in server_pupils:
        if not pupil.reference:
            continue
        chosen = [o for o in onde_candidates(pupil) if o.matches_reference(pupil.reference)]
        if not chosen:
            elsewhere = [o for o in extraction.pupils if o.ine and _same_letters(o.ine, pupil.reference)]
            if elsewhere:
                raise OndeError(
                    f"Utilisateurs, ligne {pupil.row}, colonne « INE » : « {pupil.reference} » désigne "
                    f"{elsewhere[0].display} dans ONDE, pas {pupil.display}. Corrigez ou videz la cellule."
                )
            continue  # an old reference, or a pupil who left: names decide
        if len(chosen) > 1:
            continue  # a birth date shared by homonyms: names decide
        onde = chosen[0]
        if onde.line in taken:
            other = next(d for d in decisions.values() if d.onde is onde)
            raise OndeError(
                f"Utilisateurs, lignes {other.pupil.row} et {pupil.row}, colonne « INE » : "
                f"« {pupil.reference} » désigne le même élève d'ONDE ({onde.display}) pour deux comptes."
            )
        taken.add(onde.line)
        homonym = is_homonym(pupil, onde)
        remembered = memory.get(onde.reference) == pupil.login
        origin = Origin.CONFIRMED if homonym or remembered else _name_origin(pupil, onde)
        decisions[pupil.login] = Decision(pupil, origin, onde, homonym=homonym)

    # 2. The memory of confirmed homonyms.
    by_login = {p.login: p for p in server_pupils}
    for onde in extraction.pupils:
        remembered_pupil = by_login.get(memory.get(onde.reference, ""))
        if remembered_pupil is None or onde.line in taken or remembered_pupil.login in decisions:
            continue
        if remembered_pupil.name_key not in onde.name_keys():
            continue  # the login now names somebody else
        taken.add(onde.line)
        decisions[remembered_pupil.login] = Decision(
            remembered_pupil, Origin.CONFIRMED, onde, homonym=is_homonym(remembered_pupil, onde)
        )
    paired = set(decisions)

    # 3. Names, unique on both sides among those still free.
    for pupil in server_pupils:
        if pupil.login in decisions:
            continue
        free_onde = [o for o in onde_candidates(pupil) if o.line not in taken]
        if not free_onde:
            decisions[pupil.login] = Decision(pupil, Origin.ABSENT)
            continue
        free_server = [s for o in free_onde for s in server_candidates(o) if s.login not in paired]
        if len(free_onde) == 1 and {s.login for s in free_server} == {pupil.login}:
            continue  # settled in the next pass, once every ambiguity is known
        decisions[pupil.login] = Decision(pupil, Origin.AMBIGUOUS, candidates=tuple(free_onde))
    for pupil in server_pupils:
        if pupil.login in decisions:
            continue
        onde = next(o for o in onde_candidates(pupil) if o.line not in taken)
        taken.add(onde.line)
        decisions[pupil.login] = Decision(pupil, _name_origin(pupil, onde), onde)

    ambiguous_lines = {o.line for d in decisions.values() for o in d.candidates}
    undecided = tuple(o for o in extraction.pupils if o.line in ambiguous_lines and o.line not in taken)
    arrivals = _arrivals(
        [o for o in extraction.pupils if o.line not in taken and o.line not in ambiguous_lines], new_rows
    )
    ordered = tuple(decisions[p.login] for p in server_pupils)
    return Matching(ordered, arrivals, undecided)


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
        rows = [r for key in onde.name_keys() for r in rows_by_key.get(key, []) if r.row not in used]
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


# --- A partial extraction ---------------------------------------------------------------


def check_complete(
    matching: Matching,
    *,
    threshold: float = DEFAULT_MASS_DELETE_THRESHOLD,
    leaving_classes: Iterable[str] = (),
) -> None:
    """Refuse an extraction that looks filtered: it would empty part of the school.

    Every level of the school but its last one (CM2 leave for collège, GS for the CP
    of another school) must keep at least one pupil found in the extraction, and so
    must every class but those holding only that last level (or named in
    `leaving_classes`); at most `threshold` of the pupils may leave.
    """
    pupils = list(matching.decisions)
    if not pupils:
        return
    present = [d for d in pupils if d.origin is not Origin.ABSENT]
    by_class: dict[str, list[Decision]] = defaultdict(list)
    for decision in pupils:
        if decision.pupil.current_class:
            by_class[decision.pupil.current_class].append(decision)
    all_levels = {level for name in by_class for level in class_levels(name)}
    top = max(all_levels, key=LEVELS.index) if all_levels else None
    allowed = {fold(name) for name in leaving_classes}
    # Levels are expected from the classes not declared as leaving in full.
    expected_levels = {lv for name in by_class if fold(name) not in allowed for lv in class_levels(name)}
    present_levels = {level for d in present for level in class_levels(d.pupil.current_class)}
    missing_levels = [lv for lv in LEVELS if lv in expected_levels and lv != top and lv not in present_levels]
    missing_classes = [
        name
        for name, decisions in sorted(by_class.items())
        if all(d.origin is Origin.ABSENT for d in decisions)
        and set(class_levels(name)) != {top}
        and fold(name) not in allowed
    ]
    leaving = len(pupils) - len(present)
    reasons = []
    if missing_levels:
        reasons.append(f"aucun élève des niveaux {', '.join(missing_levels)} n'y figure")
    if missing_classes:
        reasons.append(
            "aucun élève des classes "
            + ", ".join(f"« {name} » ({len(by_class[name])} élèves)" for name in missing_classes)
            + " n'y figure"
        )
    if leaving > threshold * len(pupils):
        reasons.append(
            f"{leaving} élèves sur {len(pupils)} ({leaving / len(pupils):.0%}) quitteraient l'école, "
            f"plus que le seuil de sécurité de {threshold:.0%}"
        )
    if reasons:
        raise OndeError(
            "L'extraction ONDE semble incomplète : "
            + " ; ".join(reasons)
            + ". Elle a probablement été filtrée par classe ou par niveau. Refaites l'extraction "
            "« Élèves de l'école » pour toute l'école, sans filtre. Rien n'a été écrit."
            + (
                " Si une classe quitte vraiment l'école en entier, indiquez-la avec --classe-partante."
                if missing_classes
                else ""
            )
        )


# --- Class correspondence ---------------------------------------------------------------


class ClassOrigin(StrEnum):
    EXISTING = "classe existante"
    NEW = "nouvelle classe proposée"
    EDITED = "choisie dans le classeur"


@dataclass(frozen=True, slots=True)
class ClassMapping:
    """One ONDE class label and the IntraScol class its pupils go to."""

    label: str
    target: str
    origin: ClassOrigin
    levels: tuple[str, ...] = ()
    onde_id: str = ""
    pupils: int = 0
    is_new: bool = False  # the target is not (yet) a class of the workbook


def proposed_class_name(label: str, levels: Sequence[str]) -> str:
    """`CE2-CM1 Durand` from label `Durand` and levels CE2, CM1; the label alone if it says its levels."""
    label = clean_text(label)
    if not levels or set(class_levels(label)) >= set(levels):
        return label
    return f"{'-'.join(levels)} {label}"


def map_classes(
    extraction: Extraction,
    server_classes: Iterable[str],
    workbook_classes: Iterable[str] = (),
    previous: Mapping[str, str] | None = None,
) -> tuple[ClassMapping, ...]:
    """Each ONDE class label -> an IntraScol class.

    A choice already in the workbook's `ONDE` sheet is kept; else an existing class
    whose folded name is the label's; else a new class named from the levels and the
    label (an existing class of that folded name if there is one). `server_classes`
    are the classes of the export; `workbook_classes` all rows of the `Classes` sheet
    (a class added there is reused, not added twice).
    """
    server_keys = {fold(name) for name in server_classes}
    known = {fold(name): clean_text(name) for name in server_classes}
    known |= {fold(name): clean_text(name) for name in workbook_classes}
    previous_by_key = {fold(label): clean_text(target) for label, target in (previous or {}).items()}
    mappings = []
    for label in extraction.class_labels:
        levels = extraction.levels_of(label)
        pupils = [p for p in extraction.pupils if p.class_label == label]
        onde_id = next((p.class_id for p in pupils if p.class_id), "")
        proposal = known.get(fold(label)) or proposed_class_name(label, levels)
        proposal = known.get(fold(proposal), proposal)
        chosen = previous_by_key.get(fold(label))
        if chosen and fold(chosen) == fold(LEAVES_SCHOOL):
            target, origin = LEAVES_SCHOOL, ClassOrigin.EDITED  # the whole class leaves: no class to make
        elif chosen and fold(chosen) != fold(proposal):
            target, origin = known.get(fold(chosen), chosen), ClassOrigin.EDITED
        else:
            target = proposal
            origin = ClassOrigin.EXISTING if fold(target) in server_keys else ClassOrigin.NEW
        mappings.append(
            ClassMapping(
                label=label,
                target=target,
                origin=origin,
                levels=levels,
                onde_id=onde_id,
                pupils=len(pupils),
                is_new=fold(target) not in known and target != LEAVES_SCHOOL,
            )
        )
    return tuple(mappings)


def guess_responsible(label: str, adults: Mapping[str, str]) -> str | None:
    """The login of the one adult whose last name the label holds (`CM1 Mme Durand`), else None.

    `adults` maps logins to last names.
    """
    words = f" {fold(label)} "
    found = [
        login for login, last_name in adults.items() if fold(last_name) and f" {fold(last_name)} " in words
    ]
    return found[0] if len(found) == 1 else None


# --- The memory of confirmed homonyms ---------------------------------------------------

MEMORY_FILE_NAME = ".reconcile-onde.json"
_MEMORY_VERSION = 1


@dataclass
class Memory:
    """Confirmed pairs ONDE reference (INE, else names and birth date) -> IntraScol login.

    Kept in `.reconcile-onde.json` beside the workbook, so that next year's homonyms
    are matched exactly. Plain JSON, readable and editable by hand.
    """

    pairs: dict[str, dict[str, str]] = field(default_factory=dict)

    def logins(self) -> dict[str, str]:
        return {reference: entry["identifiant"] for reference, entry in self.pairs.items()}

    def remember(self, onde: OndePupil, login: str, when: str) -> bool:
        """Record a pair; True when it changed the memory."""
        entry = {
            "identifiant": login,
            "nom": onde.last_name,
            "prenom": onde.first_name,
            "confirme_le": when,
        }
        current = self.pairs.get(onde.reference)
        if current and current.get("identifiant") == login:
            return False
        self.pairs[onde.reference] = entry
        return True

    def to_json(self) -> str:
        data = {
            "version": _MEMORY_VERSION,
            "description": (
                "Mémoire de reconcile onde : élèves homonymes dont la correspondance ONDE ↔ IntraScol "
                "a été confirmée (INE, ou nom|prénom|date de naissance, -> identifiant IntraScol)."
            ),
            "correspondances": dict(sorted(self.pairs.items())),
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Memory:
        try:
            data = json.loads(text)
            pairs = data["correspondances"]
            if not isinstance(pairs, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("identifiant"), str) for v in pairs.values()
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise OndeError(
                f"Le fichier mémoire {source} est illisible. Corrigez-le ou supprimez-le "
                "(les homonymes seront alors à confirmer de nouveau)."
            ) from None
        return cls({str(k): {str(a): str(b) for a, b in v.items()} for k, v in pairs.items()})
