"""The extraction's classes: whether every class of the school is there, and where each goes.

`check_complete` refuses an extraction filtered by class or level (it would empty part of
the school); `map_classes` sends each ONDE class label to an IntraScol class, existing or
proposed. Standard library only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from reconcile.core.errors import OndeError
from reconcile.core.model import LEVELS, class_levels, clean_text, fold
from reconcile.core.onde import Decision, Matching, Origin
from reconcile.core.onde_extraction import Extraction
from reconcile.core.vocabulary import DEFAULT_MASS_DELETE_THRESHOLD, LEAVES_SCHOOL

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
