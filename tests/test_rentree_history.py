"""The whole rentrée read from a journal's lines: which run did what (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from reconcile.core.model import Target, UserType, WantedState, WantedUser
from reconcile.core.rentree_record import rentree_history

WANTED = WantedState(
    users=(
        WantedUser("lea.martin", "lea.martin", "Martin", "Léa", UserType.PUPIL, Target.LEAVES),
        WantedUser("nouveau:12", None, "Durand", "Zoé", UserType.PUPIL, Target.CLASS, "CP"),
    ),
    classes=(),
)
EARLY = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
LATE = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def at(moment: datetime, **line: object) -> dict[str, object]:
    return {"at": moment.isoformat(), **line}


def test_what_a_run_journals_before_its_operations_is_its_own() -> None:
    lines = [
        at(EARLY, event="run", op="", operations=2),
        at(EARLY, event="start", op="delete_users:2", logins=["lea.martin"]),
        at(EARLY, event="done", op="delete_users:2", deleted=["lea.martin"]),
        at(
            EARLY,
            event="start",
            op="create_user:nouveau:12",
            user="nouveau:12",
            last_name="Durand",
            first_name="Zoé",
            type="eleve",
            logins_before=[],
        ),
        # Killed here; the next run finds the account and adopts it, then goes on.
        at(
            LATE,
            event="created",
            op="create_user:nouveau:12",
            user="nouveau:12",
            login="zoe.durand",
            password=None,
            adopted=True,
        ),
        at(LATE, event="run", op="", operations=1),
        at(LATE, event="done", op="assign_pupil:nouveau:12", login="zoe.durand", class_name="CP"),
        at(LATE, event="verified", op=""),
    ]
    first, second = rentree_history(lines, WANTED, since=LATE)
    assert [item.text for item in first.items] == ["Supprimer 1 compte"]
    assert "Léa MARTIN (lea.martin)" in first.items[0].details[0]
    assert not first.this_run
    assert "l'exécution suivante a repris ce qui restait" in first.status
    assert [item.text for item in second.items] == [
        "Créer le compte élève de Zoé DURAND",
        "Affecter Zoé DURAND à la classe CP",
    ]
    assert second.this_run
    assert second.verified
    assert second.heading.startswith("Exécution 2 (cette exécution)")


def test_an_account_adopted_after_a_lost_answer_stays_with_its_run() -> None:
    lines = [
        at(EARLY, event="run", op="", operations=1),
        at(
            EARLY,
            event="start",
            op="create_user:nouveau:12",
            user="nouveau:12",
            last_name="Durand",
            first_name="Zoé",
            type="eleve",
            logins_before=[],
        ),
        at(EARLY, event="unknown", op="create_user:nouveau:12", reason="réponse perdue"),
        at(
            EARLY,
            event="created",
            op="create_user:nouveau:12",
            user="nouveau:12",
            login="zoe.durand",
            password=None,
            adopted=True,
        ),
    ]
    [only] = rentree_history(lines, WANTED, since=LATE)
    assert [item.text for item in only.items] == ["Créer le compte élève de Zoé DURAND"]
    assert "retrouvé sur le serveur après une réponse perdue" in only.items[0].details[0]
    assert "relancez la même commande" in only.status
