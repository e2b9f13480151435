"""The safeguards as pure functions: unusual moves, the sorted « Classe cible », the server's address."""

from __future__ import annotations

import pytest

from reconcile.core.model import (
    ExportInfo,
    Location,
    SchoolClass,
    ServerState,
    Target,
    User,
    UserType,
    WantedState,
    WantedUser,
)
from reconcile.core.plan import make_plan
from reconcile.core.plausibility import MoveKind, move_counts, review_moves
from reconcile.core.safeguards import Safeguards, same_address, server_address

PUPIL, ADULT = UserType.PUPIL, UserType.ADULT
CLASSES = ("CP", "CE1", "CE2-CM1", "CM1", "CM2", "ULIS")


def school(per_class: int = 2) -> ServerState:
    """A class of each kind, `per_class` pupils in each, a teacher per class."""
    classes = tuple(SchoolClass(i, name, f"t{i}") for i, name in enumerate(CLASSES, start=1))
    users = [User(f"t{c.id}", f"Prof{c.id}", "Anne", ADULT) for c in classes]
    for c in classes:
        users += [User(f"p{c.id}{n}", f"Eleve{c.id}{n}", "Léo", PUPIL, c.id) for n in range(per_class)]
    return ServerState(classes, tuple(users), school="École")


def export_of(state: ServerState, url: str = "http://serveur/intrascol/") -> ExportInfo:
    return ExportInfo.of_state(state, server_url=url, exported_at="", tool_version="", template_version="2")


def workbook(
    state: ServerState, targets: dict[str, str | None], order: list[str] | None = None
) -> WantedState:
    """The rows of `state` in the export's order (or `order`), `targets` typed in « Classe cible »."""
    from reconcile.adapters.workbook.writer import sorted_users

    logins = order or [u.login for u in sorted_users(state)]
    rows = []
    for number, login in enumerate(logins, start=3):
        user = state.user(login)
        assert user is not None
        text = targets.get(login)
        target = Target.UNCHANGED if text is None else Target.LEAVES if text == "quitte" else Target.CLASS
        rows.append(
            WantedUser(
                login,
                login,
                user.last_name,
                user.first_name,
                user.type,
                target,
                text if target is Target.CLASS else None,
                Location("Utilisateurs", number),
            )
        )
    return WantedState(tuple(rows), (), export_of(state))


def up_a_level(state: ServerState) -> dict[str, str | None]:
    """The usual rentrée: every pupil up a level, CM2 and CE2-CM1 … leave or go on; ULIS stays."""
    nxt = {"CP": "CE1", "CE1": "CE2-CM1", "CE2-CM1": "CM2", "CM1": "CM2", "CM2": "quitte"}
    return {
        u.login: nxt.get(state.class_name_of(u) or "")
        for u in state.users
        if u.type is PUPIL and state.class_name_of(u) != "ULIS"
    }


def kinds(state: ServerState, targets: dict[str, str | None]) -> dict[str, MoveKind]:
    return {m.login: m.kind for m in review_moves(state, workbook(state, targets)).moves}


def test_a_usual_rentree_has_no_unusual_move() -> None:
    state = school()
    review = review_moves(state, workbook(state, up_a_level(state)))
    assert review.moves == ()
    assert review.problems == ()


def test_each_kind_of_unusual_move_is_recognised() -> None:
    state = school()
    targets = up_a_level(state) | {
        "p40": "CP",  # CM1 -> CP: down
        "p41": "CM1",  # CM1 -> CM1: stays in its class, no move
        "p10": "CE2-CM1",  # CP -> CE2-CM1: two levels up
        "p11": "quitte",  # leaves from CP
        "p30": "CE2-CM1",  # stays
        "p31": "CM1",  # CE2-CM1 -> CM1: may be a CE2 going up, or a CM1 staying: not judged
        "p60": "quitte",  # leaves from ULIS: listed, does not count
        "p61": "CP",  # from ULIS to CP: no level to judge
    }
    assert kinds(state, targets) == {
        "p40": MoveKind.DOWN,
        "p10": MoveKind.SKIP,
        "p11": MoveKind.EARLY_LEAVE,
        "p60": MoveKind.LEAVE_NO_LEVEL,
    }


def test_many_unusual_moves_block_unless_checked_and_stay_listed() -> None:
    state = school(per_class=5)
    targets = up_a_level(state)
    few = targets | {"p10": "CP"}  # CP stays CP: no move; one pupil down below
    few["p40"] = "CE1"
    review = review_moves(state, workbook(state, few))
    assert [m.kind for m in review.moves] == [MoveKind.DOWN]
    assert review.problems == ()  # 1 of 24 moved
    many = targets | {f"p4{n}": "CE1" for n in range(5)}
    blocked = review_moves(state, workbook(state, many))
    (problem,) = blocked.problems
    assert "5 des 25 élèves" in problem.message
    assert "--mouvements-verifies" in problem.message
    checked = review_moves(state, workbook(state, many), checked=True)
    assert checked.problems == ()
    assert len(checked.moves) == 5
    assert checked.warnings[0].location == Location("Utilisateurs", 18, "Classe cible")  # p40, the first CM1


def test_leaving_from_a_class_without_level_never_blocks_alone() -> None:
    state = school(per_class=2)
    targets = {"p60": "quitte", "p61": "quitte"}  # the whole ULIS leaves, nothing else moves
    review = review_moves(state, workbook(state, targets))
    assert {m.kind for m in review.moves} == {MoveKind.LEAVE_NO_LEVEL}
    assert review.problems == ()
    assert move_counts(review.moves) == ("2 élèves quittent l'école depuis une classe sans niveau",)


def sorted_column(state: ServerState, targets: dict[str, str | None]) -> dict[str, str | None]:
    """What Excel makes of the column sorted on its own: the same cells, A to Z, blanks last."""
    from reconcile.adapters.workbook.writer import sorted_users

    logins = [u.login for u in sorted_users(state)]
    texts = sorted(
        (targets[x] or "" for x in logins if targets.get(x)), key=lambda t: t.replace("quitte", "Quitte")
    )
    return dict(zip(logins, texts + [None] * (len(logins) - len(texts)), strict=True))


def test_the_slip_of_a_column_sorted_on_its_own_is_recognised_even_without_level_problems() -> None:
    # A school where the sort only reshuffles pupils among the classes of one level, and makes
    # ULIS pupils leave: no move counted as unusual, the slip itself blocks.
    classes = (SchoolClass(1, "CM1", "t1"), SchoolClass(2, "CM2 A", "t2"), SchoolClass(3, "ULIS", "t3"))
    users = [User(f"t{i}", f"Prof{i}", "Anne", ADULT) for i in (1, 2, 3)]
    users += [User(f"a{n}", f"A{n}", "Léo", PUPIL, 1) for n in range(4)]
    users += [User(f"b{n}", f"B{n}", "Léo", PUPIL, 2) for n in range(2)]
    users += [User(f"u{n}", f"U{n}", "Léo", PUPIL, 3) for n in range(2)]
    state = ServerState((*classes, SchoolClass(4, "CM2 B", "t1")), tuple(users), school="École")
    meant = {"a0": "CM2 B", "a1": "CM2 B", "a2": "CM2 A", "a3": "CM2 A", "b0": "quitte", "b1": "quitte"}
    meant |= {"t2": "quitte"}  # the CM2 A teacher leaves: her row is after the ULIS pupils'
    slipped = sorted_column(state, meant)
    assert slipped != meant
    review = review_moves(state, workbook(state, slipped))
    assert [m.kind for m in review.moves] == [MoveKind.LEAVE_NO_LEVEL]  # u0 leaves: listed only
    (problem,) = review.problems
    assert "semble avoir été triée seule" in problem.message
    assert review_moves(state, workbook(state, slipped), checked=True).problems == ()
    # The same cells on rows that were moved too (the whole table sorted): not the slip.
    order = [u.login for u in sorted(state.users, key=lambda u: u.login)]
    assert review_moves(state, workbook(state, slipped, order)).problems == ()


def test_a_column_that_is_sorted_because_the_rentree_is_regular_is_no_slip() -> None:
    classes = tuple(SchoolClass(i, n, f"t{i}") for i, n in enumerate(("CE1", "CE2", "CM1", "CM2"), start=1))
    users = [User(f"p{c.id}{n}", f"E{c.id}{n}", "Léo", PUPIL, c.id) for c in classes for n in range(3)]
    state = ServerState(classes, tuple(users))
    targets = {u.login: {1: "CE2", 2: "CM1", 3: "CM2", 4: "quitte"}[u.class_id or 0] for u in users}
    review = review_moves(state, workbook(state, targets))
    assert review.moves == ()
    assert review.problems == ()


@pytest.mark.parametrize(
    "given",
    [
        "http://serveur/intrascol/",
        "http://serveur/intrascol",
        "http://serveur/intrascol/admin/",
        "http://serveur/intrascol/admin",
        "http://serveur/intrascol/admin/login.php",
        "http://serveur/intrascol/login.php",
        "  HTTP://Serveur/intrascol/admin/index.php?x=1 ",
    ],
)
def test_the_tolerated_variations_of_an_address_are_one_server(given: str) -> None:
    assert server_address(given) == "http://serveur/intrascol/"
    assert same_address(given, "http://serveur/intrascol/")


def test_other_addresses_are_other_servers() -> None:
    assert not same_address("http://serveur/intrascol/", "http://autre/intrascol/")
    assert not same_address("http://serveur/intrascol/", "http://serveur/ecole/")
    assert not same_address("http://serveur/intrascol/", "https://serveur:8443/intrascol/")


def test_the_address_is_compared_only_when_the_server_connected_to_is_known() -> None:
    state = school()
    wanted = workbook(state, up_a_level(state))
    assert make_plan(state, wanted, allow_mass_delete=True).can_apply
    elsewhere = make_plan(
        state, wanted, allow_mass_delete=True, safeguards=Safeguards("http://autre/intrascol/")
    )
    (problem,) = elsewhere.problems
    assert "exporté du serveur « École » (http://serveur/intrascol/)" in problem.message
    assert "--nouvelle-adresse http://autre/intrascol/" in problem.message
    moved = Safeguards("http://autre/intrascol/", new_address="http://autre/intrascol/admin/")
    plan = make_plan(state, wanted, allow_mass_delete=True, safeguards=moved)
    assert plan.can_apply
    assert any("le serveur a changé d'adresse" in w.message for w in plan.warnings)


def test_most_exported_accounts_must_be_on_the_server_with_their_names() -> None:
    state = school(per_class=5)
    wanted = workbook(state, {})
    renamed = tuple(
        User(u.login, "Autre", u.first_name, u.type, u.class_id) if i % 4 == 0 else u
        for i, u in enumerate(state.users)
    )  # 9 of 36 accounts name someone else now: 75 % found
    other = ServerState(state.classes, renamed, school="École")
    problems = [p.message for p in make_plan(other, wanted).problems]
    assert any("Seuls 27 des 36 comptes de ce classeur (75 %)" in p for p in problems), problems
    assert not any("Seuls" in p.message for p in make_plan(state, wanted).problems)
