"""The plan engine on small hand-written schools: every step, dependency, problem and warning."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from reconcile.core.model import Location, ServerState, Target, UserType, WantedUser
from reconcile.core.operations import (
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Operation,
    Plan,
    Step,
    TransferPupils,
    class_order_key,
)
from reconcile.core.plan import make_plan
from reconcile.core.safeguards import Safeguards
from reconcile.core.vocabulary import LEAVES_SCHOOL, ClassStatus
from tests.plan_builders import make_server, school, workbook

LEAVES = LEAVES_SCHOOL

# The small school's moves are not what these tests are about (`tests/test_plausibility.py` is).
MOVES_CHECKED = Safeguards(moves_checked=True)


def ops_of(result: Plan, step: Step) -> tuple[Operation, ...]:
    return dict(result.steps)[step]


def messages(items: tuple[object, ...]) -> str:
    return "\n".join(str(i) for i in items)


def rentree_targets() -> dict[str, str]:
    """Everybody moves up a level, the CM2s leave."""
    return {
        "lbernard": "CE1",
        "tthomas": "CE1",
        "mrobert": "CE2",
        "hrichard": "CE2",
        "cdubois": "CM1",
        "lmoreau": "CM1",
        "jlaurent": "CM2",
        "nsimon": "CM2",
        "imichel": LEAVES,
        "llefebvre": LEAVES,
    }


# --- Nothing to do ---------------------------------------------------------------------


def test_an_unchanged_workbook_gives_an_empty_plan_without_remarks() -> None:
    state = school()
    result = make_plan(state, workbook(state))
    assert result.is_empty
    assert result.can_apply
    assert result.problems == ()
    assert result.warnings == ()
    assert [step for step, _ in result.steps] == list(Step)


def test_a_target_equal_to_the_current_class_is_no_transfer() -> None:
    state = school()
    result = make_plan(state, workbook(state, targets={"lbernard": "cp", "mrobert": "CE1"}))
    assert result.is_empty


# --- A whole rentrée: the five steps in the procedure's order ----------------------------


def test_a_full_rentree_orders_the_operations_as_the_procedure() -> None:
    state = school()
    targets = rentree_targets()
    targets["tthomas"] = "CE1-B"
    result = make_plan(
        state,
        workbook(
            state,
            targets=targets,
            new=[
                ("Fontaine", "Julie", UserType.ADULT, None),
                ("Blanc", "Noé", UserType.PUPIL, "CP"),
                ("Roux", "Lina", UserType.PUPIL, "CE1-B"),
            ],
            classes={"CE1-B": (ClassStatus.CREATE, "nouveau:100")},
        ),
        allow_mass_delete=True,
    )
    assert result.can_apply, messages(result.problems)
    assert result.steps == (
        (
            Step.CLASSES,
            (
                CreateUser("nouveau:100", "Fontaine", "Julie", UserType.ADULT),
                CreateClass("CE1-B", "nouveau:100"),
            ),
        ),
        (Step.DEPARTURES, (DeleteUsers(("imichel", "llefebvre"), Step.DEPARTURES),)),
        (
            Step.ARRIVALS,
            (
                CreateUser("nouveau:101", "Blanc", "Noé", UserType.PUPIL),
                AssignPupil("nouveau:101", "CP"),
                CreateUser("nouveau:102", "Roux", "Lina", UserType.PUPIL),
                AssignPupil("nouveau:102", "CE1-B"),
            ),
        ),
        (
            Step.DISTRIBUTION,
            (
                TransferPupils("CM2", ("jlaurent", "nsimon")),
                TransferPupils("CM1", ("cdubois", "lmoreau")),
                TransferPupils("CE2", ("hrichard", "mrobert")),
                TransferPupils("CE1", ("lbernard",)),
                TransferPupils("CE1-B", ("tthomas",)),
            ),
        ),
        (Step.CLASS_REMOVALS, ()),
    )
    assert result.names["nouveau:100"] == "Julie FONTAINE"
    assert result.names["jlaurent"] == "Jade LAURENT"
    assert result.origins["jlaurent"] == "CM1"
    assert "nouveau:101" not in result.origins


@pytest.mark.parametrize(
    ("names", "ordered"),
    [
        (["CP", "CM2", "CE1", "CM1", "CE2"], ["CM2", "CM1", "CE2", "CE1", "CP"]),
        (["PS", "CP", "GS", "MS"], ["CP", "GS", "MS", "PS"]),
        (["CE2-CM1", "CM1", "CM2", "CE2"], ["CM2", "CE2-CM1", "CM1", "CE2"]),
        (["Atelier", "CP", "Ulis", "PS-MS"], ["CP", "PS-MS", "Atelier", "Ulis"]),
        (["CM2-b", "CM2-A", "cm2"], ["cm2", "CM2-A", "CM2-b"]),
    ],
)
def test_destinations_go_highest_level_first_then_without_level(names: list[str], ordered: list[str]) -> None:
    assert sorted(names, key=class_order_key) == ordered


def test_transfers_are_one_operation_per_destination_in_level_order() -> None:
    state = make_server(
        classes=[(1, "Atelier", "a"), (2, "CP", "a"), (3, "GS", "a"), (4, "CE2-CM1", "a"), (5, "CM2", "a")],
        adults=[("a", "Prof", "Anne")],
        pupils=[(f"p{i}", f"Nom{i}", "Prénom", None) for i in range(10)],
    )
    targets = {"p0": "CP", "p1": "GS", "p2": "Atelier", "p3": "CE2-CM1", "p4": "CM2", "p5": "cp", "p6": "CM2"}
    result = make_plan(state, workbook(state, targets=targets))
    assert ops_of(result, Step.DISTRIBUTION) == (
        TransferPupils("CM2", ("p4", "p6")),
        TransferPupils("CE2-CM1", ("p3",)),
        TransferPupils("CP", ("p0", "p5")),
        TransferPupils("GS", ("p1",)),
        TransferPupils("Atelier", ("p2",)),
    )


def test_only_pupils_whose_class_changes_are_transferred() -> None:
    state = school()
    result = make_plan(state, workbook(state, targets={"lbernard": "CE1", "tthomas": "CP", "zgarcia": "CP"}))
    assert ops_of(result, Step.DISTRIBUTION) == (
        TransferPupils("CE1", ("lbernard",)),
        TransferPupils("CP", ("zgarcia",)),
    )


def test_departures_are_one_deletion_of_every_leaver() -> None:
    state = school()
    result = make_plan(
        state, workbook(state, targets={"llefebvre": LEAVES, "imichel": LEAVES, "zgarcia": LEAVES})
    )
    assert ops_of(result, Step.DEPARTURES) == (
        DeleteUsers(("imichel", "llefebvre", "zgarcia"), Step.DEPARTURES),
    )
    assert result.origins == {"imichel": "CM2", "llefebvre": "CM2"}


def test_new_pupils_are_created_then_assigned_and_new_adults_outside_classes_in_step_3() -> None:
    state = school()
    wanted = workbook(
        state,
        new=[("Blanc", "Noé", UserType.PUPIL, "CP"), ("Vidal", "Paul", UserType.ADULT, None)],
    )
    result = make_plan(state, wanted)
    assert ops_of(result, Step.CLASSES) == ()
    assert ops_of(result, Step.ARRIVALS) == (
        CreateUser("nouveau:100", "Blanc", "Noé", UserType.PUPIL),
        AssignPupil("nouveau:100", "CP"),
        CreateUser("nouveau:101", "Vidal", "Paul", UserType.ADULT),
    )


def test_the_target_class_is_named_as_the_server_spells_it() -> None:
    state = school()
    result = make_plan(state, workbook(state, new=[("Blanc", "Noé", UserType.PUPIL, "ce1")]))
    assert AssignPupil("nouveau:100", "CE1") in result.operations


# --- Dependencies ------------------------------------------------------------------------


def test_a_new_teacher_exists_before_the_class_that_names_them() -> None:
    state = school()
    wanted = workbook(
        state,
        new=[("Fontaine", "Julie", UserType.ADULT, None)],
        classes={"CM1-B": (ClassStatus.CREATE, "nouveau:100")},
    )
    operations = make_plan(state, wanted).operations
    create_teacher = operations.index(CreateUser("nouveau:100", "Fontaine", "Julie", UserType.ADULT))
    assert operations.index(CreateClass("CM1-B", "nouveau:100")) > create_teacher
    assert sum(isinstance(op, CreateUser) for op in operations) == 1


def test_a_new_teacher_named_for_a_kept_class_is_created_in_step_1() -> None:
    state = school()
    wanted = workbook(
        state,
        targets={"cpetit": LEAVES},
        new=[("Fontaine", "Julie", UserType.ADULT, None)],
        classes={"CE2": (ClassStatus.KEEP, "nouveau:100")},
    )
    result = make_plan(state, wanted)
    assert result.can_apply, messages(result.problems)
    assert ops_of(result, Step.CLASSES) == (
        CreateUser("nouveau:100", "Fontaine", "Julie", UserType.ADULT),
        ChangeResponsible("CE2", "nouveau:100", "cpetit"),
    )
    assert ops_of(result, Step.DEPARTURES) == (DeleteUsers(("cpetit",), Step.DEPARTURES),)
    assert result.names["cpetit"] == "Claire PETIT"


def test_a_departing_teacher_of_a_kept_class_is_replaced_before_leaving() -> None:
    state = school()
    wanted = workbook(state, targets={"bmartin": LEAVES}, classes={"CE1": (ClassStatus.KEEP, "adurand")})
    result = make_plan(state, wanted)
    assert result.can_apply
    assert ops_of(result, Step.CLASSES) == (ChangeResponsible("CE1", "adurand", "bmartin"),)
    assert ops_of(result, Step.DEPARTURES) == (DeleteUsers(("bmartin",), Step.DEPARTURES),)


def test_a_departing_teacher_of_a_kept_class_without_replacement_is_a_problem() -> None:
    state = school()
    result = make_plan(state, workbook(state, targets={"bmartin": LEAVES}))
    assert not result.can_apply
    (problem,) = result.problems
    assert "Bruno MARTIN (bmartin) quitte l'école" in problem.message
    assert "classe CE1" in problem.message
    assert problem.location == Location("Classes", 3, "Enseignant responsable")
    assert not any(isinstance(op, ChangeResponsible) for op in result.operations)


def test_a_departing_teacher_of_a_removed_class_is_deleted_after_the_removal() -> None:
    state = school()
    targets = {"imichel": LEAVES, "llefebvre": LEAVES, "emoreau": LEAVES, "zgarcia": LEAVES}
    wanted = workbook(state, targets=targets, classes={"CM2": (ClassStatus.DELETE, None)})
    result = make_plan(state, wanted)
    assert result.can_apply, messages(result.problems)
    assert ops_of(result, Step.DEPARTURES) == (
        DeleteUsers(("imichel", "llefebvre", "zgarcia"), Step.DEPARTURES),
    )
    assert ops_of(result, Step.CLASS_REMOVALS) == (
        DeleteClasses(("CM2",)),
        DeleteUsers(("emoreau",), Step.CLASS_REMOVALS),
    )
    assert result.warnings == ()


def test_a_pupil_can_go_into_a_class_created_in_step_1() -> None:
    state = school()
    wanted = workbook(state, targets={"nsimon": "CM1-B"}, classes={"CM1-B": (ClassStatus.CREATE, "dleroy")})
    result = make_plan(state, wanted)
    assert result.can_apply
    assert ops_of(result, Step.CLASSES) == (CreateClass("CM1-B", "dleroy"),)
    assert ops_of(result, Step.DISTRIBUTION) == (TransferPupils("CM1-B", ("nsimon",)),)


def test_a_removed_class_with_pupils_left_in_it_is_a_warning_naming_them() -> None:
    state = school()
    wanted = workbook(
        state,
        targets={"jlaurent": "CE2", "imichel": LEAVES},
        classes={"CM1": (ClassStatus.DELETE, None), "CM2": (ClassStatus.DELETE, None)},
        omit=["llefebvre"],
    )
    result = make_plan(state, wanted, safeguards=MOVES_CHECKED)  # pupils leave from CM1: checked
    removal_warnings = [w for w in result.warnings if "sera supprimée" in w.message]
    # In the one reading order of classes: CM1 (row 5), then CM2 (row 6).
    assert [str(w.location) for w in removal_warnings] == ["Classes, ligne 5", "Classes, ligne 6"]
    cm1, cm2 = removal_warnings
    assert cm1.message.startswith("La classe CM1 sera supprimée alors qu'il y reste 1 élève sans classe")
    assert "Nathan SIMON (nsimon)" in cm1.message
    assert "Jade LAURENT" not in cm1.message
    assert "Lucas LEFEBVRE (llefebvre)" in cm2.message  # absent from the workbook: stays there
    assert "Inès MICHEL" not in cm2.message
    assert "classe : aucune" in cm1.message
    assert "Cet élève ne sera pas supprimé, mais se retrouvera sans classe" in cm1.message
    assert result.can_apply
    assert ops_of(result, Step.CLASS_REMOVALS)[0] == DeleteClasses(("CM1", "CM2"))


def test_class_removals_are_one_operation() -> None:
    state = school()
    wanted = workbook(
        state,
        targets={"bmartin": LEAVES, "dleroy": LEAVES, "mrobert": "CP", "hrichard": "CP", "jlaurent": "CM2"},
        classes={"CE1": (ClassStatus.DELETE, None), "CM1": (ClassStatus.DELETE, None)},
    )
    result = make_plan(state, wanted)
    assert ops_of(result, Step.CLASS_REMOVALS) == (
        DeleteClasses(("CE1", "CM1")),
        DeleteUsers(("bmartin", "dleroy"), Step.CLASS_REMOVALS),
    )
    assert ops_of(result, Step.DEPARTURES) == ()
    assert [w.message for w in result.warnings if "Nathan SIMON" in w.message]


# --- Problems ----------------------------------------------------------------------------

PROBLEM_CASES = [
    pytest.param(
        {"targets": {"jlaurent": "CM2"}, "classes": {"CM2": (ClassStatus.DELETE, None)}},
        "Jade LAURENT doit aller dans la classe « CM2 », qui est supprimée",
        Location("Utilisateurs", 13, "Classe cible"),
        id="transfer-to-removed-class",
    ),
    pytest.param(
        {
            "new": [("Blanc", "Noé", UserType.PUPIL, "CM2")],
            "classes": {"CM2": (ClassStatus.DELETE, None)},
        },
        "Noé BLANC doit aller dans la classe « CM2 », qui est supprimée",
        Location("Utilisateurs", 100, "Classe cible"),
        id="new-pupil-into-removed-class",
    ),
    pytest.param(
        {"classes": {"ce2": (ClassStatus.CREATE, "cpetit")}},
        "Une classe « CE2 » existe déjà sur le serveur",
        Location("Classes", 7),
        id="new-class-name-exists-case-insensitively",
    ),
    pytest.param(
        {"classes": {"CM1-B": (ClassStatus.CREATE, None)}},
        "La nouvelle classe CM1-B n'a pas d'enseignant responsable",
        Location("Classes", 7, "Enseignant responsable"),
        id="new-class-without-responsible",
    ),
    pytest.param(
        {"classes": {"CM1-B": (ClassStatus.CREATE, "jlaurent")}},
        "Jade LAURENT (jlaurent) est un élève : seul un adulte peut être responsable de la classe CM1-B",
        Location("Classes", 7, "Enseignant responsable"),
        id="pupil-as-responsible",
    ),
    pytest.param(
        {
            "new": [("Blanc", "Noé", UserType.PUPIL, "CP")],
            "classes": {"CM1-B": (ClassStatus.CREATE, "nouveau:100")},
        },
        "Noé BLANC est un élève : seul un adulte peut être responsable de la classe CM1-B",
        Location("Classes", 7, "Enseignant responsable"),
        id="new-pupil-as-responsible",
    ),
    pytest.param(
        {"classes": {"cm1": (ClassStatus.KEEP, None)}},
        "La classe « cm1 » figure sur deux lignes de l'onglet « Classes »",
        Location("Classes", 7),
        id="class-on-two-rows",
    ),
    pytest.param(
        {"classes": {"CM1-B": (ClassStatus.CREATE, "zzinconnu")}},
        "L'enseignant responsable choisi pour la classe CM1-B (zzinconnu) n'existe pas",
        Location("Classes", 7, "Enseignant responsable"),
        id="unknown-responsible",
    ),
    pytest.param(
        {
            "targets": {"bmartin": LEAVES},
            "classes": {"CE1": (ClassStatus.KEEP, "adurand"), "CM1-B": (ClassStatus.CREATE, "bmartin")},
        },
        "Bruno MARTIN (bmartin) quitte l'école et ne peut donc pas être responsable de la classe CM1-B",
        Location("Classes", 7, "Enseignant responsable"),
        id="leaving-teacher-as-new-responsible",
    ),
    pytest.param(
        {"targets": {"adurand": "CP"}},
        "Anne DURAND (adurand) est un adulte : un adulte ne peut pas être placé dans une classe",
        Location("Utilisateurs", 2, "Classe cible"),
        id="existing-adult-into-class",
    ),
    pytest.param(
        {"new": [("Fontaine", "Julie", UserType.ADULT, "CP")]},
        "Julie FONTAINE est un adulte : un adulte ne peut pas être placé dans une classe",
        Location("Utilisateurs", 100, "Classe cible"),
        id="new-adult-into-class",
    ),
    pytest.param(
        {"targets": {"jlaurent": "CM3"}},
        "La classe cible « CM3 » de Jade LAURENT n'existe pas",
        Location("Utilisateurs", 13, "Classe cible"),
        id="unknown-target-class",
    ),
    pytest.param(
        {"new": [("Blanc", "Noé", UserType.PUPIL, LEAVES)]},
        "Noé BLANC est une nouvelle ligne marquée « Quitte l'école »",
        Location("Utilisateurs", 100, "Classe cible"),
        id="new-row-leaving",
    ),
]


@pytest.mark.parametrize(("edits", "message", "location"), PROBLEM_CASES)
def test_problems_block_the_plan_and_say_where(edits: dict, message: str, location: Location) -> None:
    state = school()
    result = make_plan(state, workbook(state, **edits))
    assert not result.can_apply
    matching = [p for p in result.problems if message in p.message]
    assert matching, messages(result.problems)
    assert matching[0].location == location


def test_deleting_more_pupils_than_the_threshold_is_a_problem_unless_allowed() -> None:
    state = school()  # 11 pupils
    leavers = ["imichel", "llefebvre", "jlaurent", "nsimon", "zgarcia"]  # 5 / 11 = 45 %
    wanted = workbook(state, targets=dict.fromkeys(leavers, LEAVES))
    blocked = make_plan(state, wanted, safeguards=MOVES_CHECKED)  # leaving before CM2: checked
    (problem,) = blocked.problems
    assert problem.message.startswith("Le plan supprime 5 élèves sur 11 (45 %)")
    assert "--suppression-massive" in problem.message
    allowed = make_plan(state, wanted, allow_mass_delete=True, safeguards=MOVES_CHECKED)
    assert allowed.can_apply
    assert allowed.operations == blocked.operations
    assert make_plan(state, wanted, mass_delete_threshold=0.5, safeguards=MOVES_CHECKED).can_apply


def test_adults_do_not_count_towards_the_mass_delete_threshold() -> None:
    state = school()
    adults = ["adurand", "bmartin", "cpetit", "dleroy", "emoreau"]
    classes = dict.fromkeys(("CP", "CE1", "CE2", "CM1", "CM2"), (ClassStatus.DELETE, None))
    targets = dict.fromkeys(adults, LEAVES) | {"imichel": LEAVES, "llefebvre": LEAVES}
    result = make_plan(state, workbook(state, targets=targets, classes=classes))
    assert result.can_apply, messages(result.problems)


def test_a_login_now_naming_another_person_is_a_problem() -> None:
    exported = school()
    # Since the export, nsimon was deleted and the login given to somebody else.
    current = ServerState(
        classes=exported.classes,
        users=tuple(
            replace(u, last_name="Sanchez", first_name="Noah") if u.login == "nsimon" else u
            for u in exported.users
        ),
    )
    result = make_plan(
        current,
        workbook(exported, targets={"nsimon": LEAVES}, exported_from=exported),
        safeguards=MOVES_CHECKED,
    )
    assert not result.can_apply
    assert "désigne maintenant « Noah SANCHEZ »" in result.problems[0].message
    assert result.is_empty


def test_a_name_edited_by_the_secretary_is_a_warning_and_the_row_still_applies() -> None:
    state = school()
    edited = workbook(state, targets={"nsimon": "CM2"})
    users = tuple(replace(u, first_name="Natan") if u.key == "nsimon" else u for u in edited.users)
    result = make_plan(state, replace(edited, users=users))
    assert result.can_apply
    assert ops_of(result, Step.DISTRIBUTION) == (TransferPupils("CM2", ("nsimon",)),)
    assert "ne renomme pas les comptes" in result.warnings[0].message


# --- Warnings ----------------------------------------------------------------------------


def test_two_new_rows_for_the_same_person_and_class_warn_on_the_second() -> None:
    state = school()
    wanted = workbook(
        state,
        new=[
            ("Blanc", "Noé", UserType.PUPIL, "CP"),
            ("BLANC", "Noe", UserType.PUPIL, "cp"),
            ("Blanc", "Noé", UserType.PUPIL, "CE1"),
        ],
    )
    result = make_plan(state, wanted)
    assert result.can_apply
    (warning,) = result.warnings
    assert warning.location == Location("Utilisateurs", 101)
    assert "même classe cible que la ligne 100" in warning.message
    assert "autre identifiant" in warning.message
    assert sum(isinstance(op, CreateUser) for op in result.operations) == 3


def test_a_new_row_homonym_of_an_existing_user_warns_naming_login_and_class() -> None:
    state = school()
    result = make_plan(state, workbook(state, new=[("Robert", "Manon", UserType.PUPIL, "CP")]))
    assert result.can_apply
    (warning,) = result.warnings
    assert warning.location == Location("Utilisateurs", 100)
    assert "Homonyme" in warning.message
    assert "mrobert (classe CE1)" in warning.message


def test_users_on_the_server_but_not_in_the_workbook_are_listed_and_untouched() -> None:
    exported = school()
    later = make_server(
        classes=[(c.id, c.name, c.responsible_login) for c in exported.classes],
        adults=[],
        pupils=[("nouvel", "Nouvel", "Arrivé", "CP")],
    )
    current = ServerState(classes=exported.classes, users=exported.users + later.users)
    wanted = workbook(exported, omit=["tthomas"], exported_from=exported)
    result = make_plan(current, wanted)
    assert result.is_empty
    assert result.can_apply
    removed_row, added = result.warnings
    assert "1 compte du serveur sans ligne dans le classeur, laissé(s) tel(s) quel(s)" in removed_row.message
    assert "Tom THOMAS (tthomas)" in removed_row.message
    assert "Quitte l'école" in removed_row.message
    assert "1 compte ajouté(s) sur le serveur depuis l'export" in added.message
    assert "Arrivé NOUVEL (nouvel)" in added.message


def test_users_gone_from_the_server_are_reported_and_skipped() -> None:
    exported = school()
    current = ServerState(
        classes=exported.classes, users=tuple(u for u in exported.users if u.login != "nsimon")
    )
    result = make_plan(current, workbook(exported, targets={"nsimon": "CM2", "jlaurent": "CM2"}))
    assert result.can_apply
    assert ops_of(result, Step.DISTRIBUTION) == (TransferPupils("CM2", ("jlaurent",)),)
    (warning,) = result.warnings
    assert "Nathan SIMON (nsimon) n'existe plus sur le serveur" in warning.message
    assert warning.location == Location("Utilisateurs", 14)


def test_classes_gone_or_added_since_the_export_are_reported() -> None:
    exported = school()
    current = make_server(
        classes=[(1, "CP", "adurand"), (2, "CE1", "bmartin"), (3, "CE2", "cpetit"), (6, "Ulis", "dleroy")],
        adults=[("adurand", "Durand", "Anne"), ("bmartin", "Martin", "Bruno"), ("cpetit", "Petit", "Claire")],
        pupils=[],
    )
    wanted = workbook(
        exported, classes={"CM2": (ClassStatus.DELETE, None)}, omit=[u.login for u in exported.users]
    )
    result = make_plan(current, wanted)
    text = messages(result.warnings)
    assert "La classe « CM1 » n'existe plus sur le serveur : cette ligne est ignorée." in text
    assert "La classe « CM2 » n'existe plus sur le serveur : rien à supprimer." in text
    assert "La classe « Ulis » du serveur ne figure pas dans l'onglet « Classes »" in text
    assert result.is_empty


def test_an_exported_class_whose_row_was_removed_or_renamed_is_kept_and_said_so() -> None:
    state = school()
    edited = workbook(state)
    # The secretary renamed the CE1 row of the Classes sheet (or erased it).
    wanted = replace(edited, classes=tuple(c for c in edited.classes if c.name != "CE1"))
    result = make_plan(state, wanted)
    text = messages(result.warnings)
    assert (
        "La classe « CE1 » de l'export n'a plus de ligne dans l'onglet « Classes » (ligne effacée ou "
        "renommée ?) : elle est conservée telle quelle." in text
    )
    assert "créée depuis l'export" not in text
    assert result.is_empty


def test_a_new_pupil_without_target_class_is_created_without_class_with_a_warning() -> None:
    state = school()
    result = make_plan(state, workbook(state, new=[("Blanc", "Noé", UserType.PUPIL, None)]))
    assert result.operations == (CreateUser("nouveau:100", "Blanc", "Noé", UserType.PUPIL),)
    assert "sera créé sans classe" in result.warnings[0].message


# --- Determinism and serialisation ---------------------------------------------------------


def test_the_plan_does_not_depend_on_the_order_the_server_lists_users_in() -> None:
    state = school()
    wanted = workbook(
        state,
        targets=rentree_targets(),
        new=[("Blanc", "Noé", UserType.PUPIL, "CP")],
        classes={"CE1": (ClassStatus.DELETE, None), "CE1-B": (ClassStatus.CREATE, "bmartin")},
    )
    expected = make_plan(state, wanted, allow_mass_delete=True)
    shuffled = list(state.users)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        again = ServerState(classes=tuple(reversed(state.classes)), users=tuple(shuffled))
        assert make_plan(again, wanted, allow_mass_delete=True) == expected


def test_a_login_on_two_rows_is_a_problem() -> None:
    state = school()
    duplicate = WantedUser(
        "nsimon",
        "nsimon",
        "Simon",
        "Nathan",
        UserType.PUPIL,
        Target.LEAVES,
        None,
        Location("Utilisateurs", 50),
    )
    result = make_plan(state, workbook(state, rows=[duplicate]), safeguards=MOVES_CHECKED)
    assert "L'identifiant nsimon figure sur deux lignes" in result.problems[0].message
    assert result.problems[0].location == Location("Utilisateurs", 50)


# --- A responsible teacher changed on the server since the export ------------------------


def with_responsible(state: ServerState, class_name: str, login: str) -> ServerState:
    """`state` after someone made `login` responsible of `class_name` on the server."""
    classes = tuple(replace(c, responsible_login=login) if c.name == class_name else c for c in state.classes)
    return ServerState(classes=classes, users=state.users, school=state.school)


def school_with_a_spare_teacher() -> ServerState:
    """The school, plus Gaëlle FAURE, an adult responsible of no class."""
    state = school()
    spare = replace(state.users[0], login="gfaure", last_name="Faure", first_name="Gaëlle")
    return ServerState(classes=state.classes, users=(*state.users, spare), school=state.school)


def test_a_responsible_changed_on_the_server_and_left_as_exported_is_kept_with_a_warning() -> None:
    exported = school()
    current = with_responsible(exported, "CE1", "adurand")
    result = make_plan(current, workbook(exported, responsibles_filled=True))
    assert result.is_empty
    assert result.can_apply
    (warning,) = result.warnings
    assert (
        "L'enseignant responsable de la classe CE1 a changé sur le serveur depuis l'export" in warning.message
    )
    assert "Bruno MARTIN (bmartin) à l'export, Anne DURAND (adurand) maintenant" in warning.message
    assert "Anne DURAND (adurand) reste responsable" in warning.message
    assert warning.location == Location("Classes", 3, "Enseignant responsable")


def test_a_responsible_the_secretary_changed_wins_over_a_change_on_the_server() -> None:
    exported = school()
    current = with_responsible(exported, "CE1", "adurand")
    wanted = workbook(exported, responsibles_filled=True, classes={"CE1": (ClassStatus.KEEP, "cpetit")})
    result = make_plan(current, wanted)
    assert result.operations == (ChangeResponsible("CE1", "cpetit", "adurand"),)
    assert result.warnings == ()


def test_a_workbook_without_stored_responsibles_still_asks_for_the_teacher_it_shows() -> None:
    exported = school()
    current = with_responsible(exported, "CE1", "adurand")
    wanted = workbook(exported, responsibles_filled=True)
    older = replace(wanted, export=replace(wanted.export, class_responsibles=()))
    result = make_plan(current, older)
    assert result.operations == (ChangeResponsible("CE1", "bmartin", "adurand"),)
    assert result.warnings == ()


def test_the_exported_teacher_can_leave_when_the_server_gave_the_class_to_another() -> None:
    # Since the export, Gaëlle FAURE took the CE1 over from Bruno MARTIN, who leaves.
    exported = school_with_a_spare_teacher()
    current = with_responsible(exported, "CE1", "gfaure")
    result = make_plan(current, workbook(exported, targets={"bmartin": LEAVES}, responsibles_filled=True))
    assert result.can_apply, messages(result.problems)
    assert ops_of(result, Step.CLASSES) == ()
    assert ops_of(result, Step.DEPARTURES) == (DeleteUsers(("bmartin",), Step.DEPARTURES),)
    assert "Gaëlle FAURE (gfaure) reste responsable" in messages(result.warnings)


def test_the_exported_teacher_returns_when_the_one_the_server_named_leaves() -> None:
    # Since the export, Gaëlle FAURE was made responsible of the CE1; the workbook says she leaves.
    exported = school_with_a_spare_teacher()
    current = with_responsible(exported, "CE1", "gfaure")
    result = make_plan(current, workbook(exported, targets={"gfaure": LEAVES}, responsibles_filled=True))
    assert result.can_apply, messages(result.problems)
    assert ops_of(result, Step.CLASSES) == (ChangeResponsible("CE1", "bmartin", "gfaure"),)
    assert ops_of(result, Step.DEPARTURES) == (DeleteUsers(("gfaure",), Step.DEPARTURES),)
    (warning,) = result.warnings
    assert "Gaëlle FAURE (gfaure) quitte l'école" in warning.message
    assert "Bruno MARTIN (bmartin), responsable indiqué dans le classeur, le redevient" in warning.message


def test_an_emptied_responsible_cell_keeps_the_server_teacher_without_a_drift_warning() -> None:
    exported = school()
    current = with_responsible(exported, "CE1", "adurand")
    result = make_plan(current, workbook(exported))
    assert result.is_empty
    assert result.warnings == ()
