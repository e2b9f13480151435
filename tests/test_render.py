"""The plan in French words: operations, step summaries, classes before and after."""

from __future__ import annotations

from reconcile.core.model import UserType
from reconcile.core.operations import (
    ChangeResponsible,
    CreateClass,
    DeleteClasses,
    DeleteUsers,
    Step,
    TransferPupils,
)
from reconcile.core.plan import make_plan
from reconcile.core.safeguards import Safeguards
from reconcile.core.vocabulary import LEAVES_SCHOOL, NOTHING_TO_DO, ClassStatus
from reconcile.core.wording import (
    Move,
    class_changes,
    describe_operation,
    headline,
    step_sections,
    step_summary,
)
from tests.plan_builders import make_server, school, workbook

NAMES = {
    "mdupont": "Marie DUPONT",
    "jmartin": "Jean MARTIN",
    "nouveau:40": "Julie FONTAINE",
    "a": "Léa ABEL",
    "b": "Tom BRUN",
    "c": "Zoé CLAIR",
}


def test_a_transfer_from_one_class_names_it_and_lists_the_pupils_by_surname() -> None:
    op = TransferPupils("CM1", ("c", "a", "b"))
    text = describe_operation(op, NAMES, {"a": "CE2", "b": "CE2", "c": "CE2"})
    assert text.text == "Transférer 3 élèves de CE2 vers CM1"
    assert text.details == ("de CE2 : Léa ABEL (a), Tom BRUN (b), Zoé CLAIR (c)",)
    assert text.op_id == "transfer_pupils:CM1"


def test_a_transfer_from_several_classes_counts_each() -> None:
    text = describe_operation(TransferPupils("CM1", ("a", "b", "c")), NAMES, {"a": "CE2", "b": "CE1-CE2"})
    assert text.text == "Transférer 3 élèves vers CM1 (1 de CE1-CE2, 1 de CE2, 1 sans classe)"
    assert text.details[-1] == "sans classe : Zoé CLAIR (c)"


def test_class_operations_name_the_responsible_teacher() -> None:
    assert (
        describe_operation(CreateClass("CM1-B", "mdupont"), NAMES, {}).text
        == "Créer la classe CM1-B (responsable : Marie DUPONT (mdupont))"
    )
    assert (
        describe_operation(CreateClass("CM1-B", "nouveau:40"), NAMES, {}).text
        == "Créer la classe CM1-B (responsable : Julie FONTAINE)"
    )
    assert (
        describe_operation(ChangeResponsible("CE2", "nouveau:40", "jmartin"), NAMES, {}).text
        == "Confier la classe CE2 à Julie FONTAINE, à la place de Jean MARTIN (jmartin)"
    )


def test_deletions_are_counted_and_grouped_by_class() -> None:
    text = describe_operation(
        DeleteUsers(("a", "b", "jmartin"), Step.DEPARTURES), NAMES, {"a": "CM2", "b": "CM2", "jmartin": ""}
    )
    assert text.text == "Supprimer 3 comptes"
    assert text.details == ("CM2 : Léa ABEL (a), Tom BRUN (b)", "Adultes : Jean MARTIN (jmartin)")
    classes = describe_operation(DeleteClasses(("CM2", "CE1-B")), NAMES, {})
    assert classes.text == "Supprimer 2 classes : CM2, CE1-B"
    assert "archive" in classes.details[0]


def test_step_summaries_count_what_each_step_does() -> None:
    state = school()
    wanted = workbook(
        state,
        targets={"imichel": LEAVES_SCHOOL, "llefebvre": LEAVES_SCHOOL, "jlaurent": "CM2", "nsimon": "CM1-B"},
        new=[("Fontaine", "Julie", UserType.ADULT, None), ("Blanc", "Noé", UserType.PUPIL, "CP")],
        classes={"CM1-B": (ClassStatus.CREATE, "nouveau:100")},
    )
    result = make_plan(state, wanted)
    sections = step_sections(result)
    assert [s.heading for s in sections] == [
        "Étape 1 : Ajustement des classes",
        "Étape 2 : Suppression des utilisateurs qui quittent l'école",
        "Étape 3 : Création des nouveaux utilisateurs",
        "Étape 4 : Répartition des élèves dans les classes",
        "Étape 5 : Suppression des classes",
    ]
    assert [s.summary for s in sections] == [
        "1 compte créé, 1 classe créée",
        "2 comptes supprimés",
        "1 compte créé, 1 élève affecté",
        "2 élèves transférés vers 2 classes",
        "Rien à faire",
    ]
    assert headline(result) == "Le plan peut être appliqué : 7 opérations en 4 étapes."
    assert step_summary(Step.CLASSES, ()) == "Rien à faire"


def test_an_empty_plan_says_there_is_nothing_to_do() -> None:
    state = school()
    result = make_plan(state, workbook(state))
    assert headline(result) == NOTHING_TO_DO
    assert "Rien à faire" in NOTHING_TO_DO


def test_a_blocked_plan_says_so_and_remarks_say_where() -> None:
    state = school()
    result = make_plan(state, workbook(state, targets={"adurand": "CP"}))
    assert headline(result).startswith("Le plan ne peut pas être appliqué : 1 problème à corriger")
    (remark,) = result.problems
    assert remark.severity == "Problème"
    assert remark.where == "Utilisateurs, ligne 2, colonne « Classe cible »"


def test_classes_before_and_after_say_who_stays_arrives_and_leaves() -> None:
    state = make_server(
        classes=[(1, "CE2", "t1"), (2, "CM1", "t2"), (3, "CM2", "t3")],
        adults=[("t1", "Un", "Prof"), ("t2", "Deux", "Prof"), ("t3", "Trois", "Prof")],
        pupils=[
            ("a", "Abel", "Léa", "CE2"),
            ("b", "Brun", "Tom", "CE2"),
            ("c", "Clair", "Zoé", "CM1"),
            ("d", "Dumas", "Paul", "CM2"),
            ("e", "Eon", "Ana", "CM2"),
        ],
    )
    wanted = workbook(
        state,
        targets={"a": "CM1", "c": "CE2", "d": LEAVES_SCHOOL, "t3": LEAVES_SCHOOL},
        new=[("Fort", "Max", UserType.PUPIL, "CE2")],
        classes={"CM2": (ClassStatus.DELETE, None), "CM1": (ClassStatus.KEEP, "t1")},
        omit=["e"],
    )
    result = make_plan(state, wanted, allow_mass_delete=True, safeguards=Safeguards(moves_checked=True))
    by_name = {c.name: c for c in class_changes(result, state)}
    assert list(by_name) == ["CE2", "CM1", "CM2", "Sans classe"]
    ce2, cm1, cm2, none = by_name.values()
    assert ce2.stays == ("Tom BRUN (b)",)
    assert ce2.arrives == (Move("Zoé CLAIR (c)", "de CM1"), Move("Max FORT", "nouveau"))
    assert ce2.leaves == (Move("Léa ABEL (a)", "vers CM1"),)
    assert (ce2.size_before, ce2.size_after) == (2, 3)
    assert cm1.arrives == (Move("Léa ABEL (a)", "de CE2"),)
    assert cm1.leaves == (Move("Zoé CLAIR (c)", "vers CE2"),)
    assert cm1.responsible_before == "Prof DEUX (t2)"
    assert cm1.responsible_after == "Prof UN (t1)"
    assert cm2.status == "supprimée"
    assert cm2.leaves == (Move("Paul DUMAS (d)", "quitte l'école"), Move("Ana EON (e)", "sans classe"))
    assert none.arrives == (Move("Ana EON (e)", "de CM2"),)
    assert result.can_apply
