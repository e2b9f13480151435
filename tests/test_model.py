"""The domain's name folding and level ordering, which matching and the plan rely on."""

import pytest

from reconcile.core.model import SchoolClass, ServerState, User, UserType, class_levels, fold, level_rank


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zoé", "ZOE"),
        ("N'Diaye", "n diaye"),
        ("Jean-Baptiste", "jean  baptiste"),
        ("Zoe\u0301", "Zoé"),  # NFD as macOS writes it
        ("Œdipe", "oedipe"),
        ("De La Fontaine", "de la fontaine"),
    ],
)
def test_fold_makes_spellings_of_one_name_equal(a: str, b: str) -> None:
    assert fold(a) == fold(b)


def test_fold_keeps_different_names_apart() -> None:
    assert fold("Léa") != fold("Léo")


@pytest.mark.parametrize(
    ("name", "levels"),
    [
        ("CE2-CM1", ("CE2", "CM1")),
        ("cm1", ("CM1",)),
        ("GS/CP Mme Durand", ("GS", "CP")),
        ("Atelier", ()),
        ("CM12", ()),
    ],
)
def test_class_levels(name: str, levels: tuple[str, ...]) -> None:
    assert class_levels(name) == levels


def test_level_rank_orders_by_highest_level() -> None:
    names = ["CP", "Atelier", "CE2-CM1", "CM2", "PS-MS", "CE1"]
    assert sorted(names, key=level_rank, reverse=True) == ["CM2", "CE2-CM1", "CE1", "CP", "PS-MS", "Atelier"]


def test_server_state_lookups_ignore_class_name_case() -> None:
    state = ServerState(
        classes=(SchoolClass(3, "CE2-CM1", "dupont"),),
        users=(User("lmartin", "Martin", "Léa", UserType.PUPIL, class_id=3, password="x"),),
    )
    assert state.class_by_name("ce2-cm1") == state.classes[0]
    assert state.class_name_of(state.users[0]) == "CE2-CM1"
    assert state.user("lmartin") is state.users[0]
    assert state.fingerprint() == ServerState(state.classes, state.users).fingerprint()
