"""`reconcile onde`: fill a copy of the rentrée workbook from an ONDE extraction.

The workbook is edited with openpyxl on a copy of the input, so that its styles, data
validations, protection and hidden metadata survive; only these cells change:
`Utilisateurs` (`Classe cible` of pupils, new pupil rows, and the columns `Origine`,
`INE`, `Détail ONDE`: `onde_users`), new classes appended to `Classes` (status `Créer`)
and the sheet `ONDE` (each ONDE class label -> an IntraScol class, editable: `onde_classes`).

The decisions themselves are made by the pure `reconcile.core.onde*` modules. This module
reads the files (the extraction, the workbook, the memory of homonyms), calls them in
order, and writes the results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook, load_workbook

from reconcile.adapters.files import (
    PRIVATE_MODE,
    check_workbook_name,
    make_private_folder,
    replace_atomically,
)
from reconcile.adapters.workbook.bounded import UNREADABLE, OverLimit, check_sheets
from reconcile.adapters.workbook.onde_classes import ClassesSheet, previous_mapping, write_onde_sheet
from reconcile.adapters.workbook.onde_users import UsersSheet
from reconcile.adapters.workbook.sheets import save_workbook
from reconcile.core.errors import OndeError
from reconcile.core.model import fold
from reconcile.core.onde import Matching, Origin, match_extraction
from reconcile.core.onde_classes import ClassMapping, ClassOrigin, check_complete, map_classes
from reconcile.core.onde_extraction import MAX_EXTRACTION_BYTES, Extraction, read_extraction, too_large
from reconcile.core.onde_memory import MEMORY_FILE_NAME, Memory
from reconcile.core.vocabulary import DEFAULT_MASS_DELETE_THRESHOLD


@dataclass(frozen=True)
class OndeReport:
    """What `reconcile onde` did, for the terminal."""

    output: Path
    extraction: Extraction
    matching: Matching
    classes: tuple[ClassMapping, ...]
    memory_path: Path
    remembered: int
    # Classes to create (Classes sheet, status Créer) that no row's Classe cible names.
    unused_new_classes: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[Origin, int]:
        return self.matching.counts()

    @property
    def new_classes(self) -> tuple[ClassMapping, ...]:
        return tuple(m for m in self.classes if m.origin is not ClassOrigin.EXISTING)


def default_output(workbook: Path) -> Path:
    """`rentree.xlsx` -> `rentree-onde.xlsx`, beside it."""
    return workbook.with_name(f"{workbook.stem}-onde{workbook.suffix or '.xlsx'}")


def fill_from_onde(
    workbook_path: Path,
    extraction_path: Path,
    output: Path | None = None,
    *,
    force: bool = False,
    memory_path: Path | None = None,
    leaving_classes: Iterable[str] = (),
    threshold: float = DEFAULT_MASS_DELETE_THRESHOLD,
    today: str,
) -> OndeReport:
    """Write a new workbook filled from the extraction; the input is never modified.

    Raises `OndeError` (nothing written) for a malformed or partial extraction, an
    unreadable workbook, or an existing output without `force`.
    """
    output = output or default_output(workbook_path)
    check_workbook_name(output, OndeError)
    if output.resolve() == workbook_path.resolve():
        raise OndeError(
            f"Le classeur de sortie {output} est le classeur d'entrée : choisissez un autre nom avec -o."
        )
    if output.exists() and not force:
        raise OndeError(
            f"Le fichier {output} existe déjà. Choisissez un autre nom avec -o, ou ajoutez --remplacer."
        )
    extraction = _read_extraction_file(extraction_path)
    book = _open_workbook(workbook_path)
    users = UsersSheet(book)
    classes_sheet = ClassesSheet(book)
    memory_path = memory_path or workbook_path.parent / MEMORY_FILE_NAME
    memory = _load_memory(memory_path)

    matching = match_extraction(extraction, users.server_pupils(), users.new_pupil_rows(), memory.logins())
    check_complete(matching, threshold=threshold, leaving_classes=leaving_classes)
    mappings = map_classes(
        extraction,
        server_classes=classes_sheet.server_classes(),
        workbook_classes=classes_sheet.all_classes(),
        previous=previous_mapping(book),
    )
    targets = {m.label: m.target for m in mappings}

    users.write(matching, targets)
    classes_sheet.add_new_classes(mappings, users.adults())
    write_onde_sheet(book, mappings, users.class_validation_formula())
    _save(book, output)

    remembered = sum(
        memory.remember(d.onde, d.pupil.login, today) for d in matching.confirmed_homonyms if d.onde
    )
    if remembered:
        try:
            _save_memory(memory_path, memory)
        except OSError as error:
            raise OndeError(
                f"Le classeur {output} est écrit, mais la mémoire des homonymes {memory_path} n'a pas pu "
                f"l'être : {error.strerror}. Relancez avec --memoire vers un dossier où vous pouvez écrire."
            ) from None
    used = {fold(name) for name in users.target_classes()}
    unused = tuple(name for name in classes_sheet.classes_to_create() if fold(name) not in used)
    return OndeReport(output, extraction, matching, mappings, memory_path, remembered, unused)


# --- Files ------------------------------------------------------------------------------


def _read_extraction_file(path: Path) -> Extraction:
    try:
        size = path.stat().st_size
        if size > MAX_EXTRACTION_BYTES:  # refused before it is read
            raise too_large(size, f"L'extraction {path.name}")
        with path.open("rb") as stream:
            data = stream.read(MAX_EXTRACTION_BYTES + 1)  # a file growing meanwhile stops there
    except OSError as error:
        reason = error.strerror or str(error)  # the system's words, for the rarer cases
        if isinstance(error, FileNotFoundError):
            reason = "le fichier n'existe pas"
        elif isinstance(error, IsADirectoryError):
            reason = "c'est un dossier"
        elif isinstance(error, PermissionError):
            reason = "vous n'avez pas le droit de le lire"
        raise OndeError(f"Impossible de lire l'extraction ONDE {path} : {reason}.") from None
    return read_extraction(data, source=f"L'extraction {path.name}")


def _open_workbook(path: Path) -> Workbook:
    try:
        check_sheets(path)
        return load_workbook(path)
    except FileNotFoundError:
        raise OndeError(f"Le classeur {path} n'existe pas.") from None
    except OverLimit as over:
        where = f"onglet « {over.sheet} » : " if over.sheet else ""
        raise OndeError(f"Le classeur {path} ne peut pas être utilisé : {where}{over.problem}") from None
    except UNREADABLE:
        raise OndeError(
            f"{path} n'est pas un classeur Excel (.xlsx) lisible. "
            "Partez du classeur écrit par reconcile export."
        ) from None


def _save(book: Workbook, output: Path) -> None:
    """The new workbook, whole or not at all, readable by its owner only: it names pupils."""
    try:
        make_private_folder(output.parent)
        save_workbook(book, output, mode=PRIVATE_MODE)
    except OSError as error:
        raise OndeError(f"Impossible d'écrire {output} : {error.strerror}.") from None


def _load_memory(path: Path) -> Memory:
    if not path.exists():
        return Memory()
    return Memory.from_json(path.read_text(encoding="utf-8"), str(path))


def _save_memory(path: Path, memory: Memory) -> None:
    """Pupils' INE and names: readable by the secretary's account only (mode 0600)."""
    replace_atomically(path, lambda stream: stream.write(memory.to_json().encode("utf-8")))
