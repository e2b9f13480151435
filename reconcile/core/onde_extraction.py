"""The ONDE pupil extraction read: encoding, separator, columns, and each pupil's row.

ONDE (ex-"Base Élèves 1er degré", BE1D) is the national register of primary pupils.
Its "Élèves de l'école" extraction is a CSV file whose exact shape varies with the
version and the person who saved it: encoding, separator, quotes and extra columns
are detected here, and columns are found by their header text. Standard library only.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from reconcile.core.errors import OndeError
from reconcile.core.model import LEVELS, class_levels, clean_text, fold, person_key
from reconcile.core.wording import thousands


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


# An extraction is ~200 bytes a pupil (a school of 2,000: 400 KB): far above, it is not one.
MAX_EXTRACTION_BYTES = 20 * 1024 * 1024
# A field is a name, a date, a class label: far below `csv`'s own limit (128 Kio), kept as is.
MAX_FIELD_CHARS = csv.field_size_limit()


def too_large(size: int, source: str) -> OndeError:
    """The error of an extraction of `size` bytes, past `MAX_EXTRACTION_BYTES`."""
    return OndeError(
        f"{source} pèse {size / 1024 / 1024:.0f} Mo, au-delà de la limite de "
        f"{MAX_EXTRACTION_BYTES // 1024 // 1024} Mo : l'extraction « Élèves de l'école » d'une école "
        "pèse moins d'un mégaoctet. Vérifiez le fichier choisi."
    )


def read_extraction(data: bytes, source: str = "l'extraction") -> Extraction:
    """Parse the bytes of an ONDE/BE1D CSV extraction; `source` names it in errors."""
    if len(data) > MAX_EXTRACTION_BYTES:
        raise too_large(len(data), source)
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise OndeError(
            f"{source} est un classeur Excel, pas un fichier CSV : téléchargez l'extraction ONDE au format "
            "CSV, ou enregistrez ce classeur au format « CSV (séparateur : point-virgule) »."
        )
    text, encoding = _decode(data, source)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise OndeError(
            f"{source}, ligne {line} : caractère nul : ce n'est pas un fichier texte (CSV) mais un "
            "fichier binaire (image, PDF, archive…). Choisissez l'extraction ONDE au format CSV."
        )
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise OndeError(f"{source} est vide : ce n'est pas une extraction ONDE.")
    separator = _detect_separator(lines[header_index])
    rows = _csv_rows(text, separator, source)
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


def _csv_rows(text: str, separator: str, source: str) -> list[tuple[int, list[str]]]:
    """Each row with its line number as `csv` counts physical lines (right with quoted multi-line
    cells); `newline=""`: a lone CR ends a line too, as in files from old Macs."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as error:
        line = reader.line_num
        if "field larger than field limit" in str(error):
            limit = thousands(MAX_FIELD_CHARS)
            raise OndeError(
                f"{source}, ligne {line} : un champ dépasse {limit} caractères : ce n'est pas une "
                "extraction ONDE, ou un guillemet (\") n'y est jamais refermé."
            ) from None
        raise OndeError(f"{source}, ligne {line} : ligne illisible, ce n'est pas un fichier CSV.") from None
    return rows


def _decode(data: bytes, source: str) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "UTF-8 (avec BOM)"
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start + 3) + 1
            raise OndeError(
                f"{source}, ligne {line} : le fichier s'annonce en UTF-8 (il commence par la marque BOM) "
                "mais contient des octets qui n'en sont pas : il a été modifié avec un autre encodage. "
                "Téléchargez de nouveau l'extraction depuis ONDE, ou enregistrez-la en « CSV UTF-8 »."
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as error:
            read = data[: error.start].decode("utf-16", errors="replace")
            line = read.count("\n") + 1
            what = (
                "est tronqué (nombre impair d'octets)" if len(data) % 2 else "contient des octets invalides"
            )
            raise OndeError(
                f"{source}, ligne {line} : le fichier est en UTF-16 mais {what} : il est incomplet ou "
                "abîmé. Téléchargez de nouveau l'extraction depuis ONDE."
            ) from None
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
