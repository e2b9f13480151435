"""Resumption and drift: the wanted state resolved with the journal's facts and the server as it is."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from reconcile.adapters.journal import JOURNAL_NAME, Journal, exclusive_run, read_lines
from reconcile.core.errors import DriftAmbiguous, JournalError
from reconcile.core.journal_facts import EarlierWork, Event, fold_journal
from reconcile.core.model import (
    ExportedUser,
    ExportInfo,
    SchoolClass,
    ServerState,
    Target,
    User,
    UserType,
    WantedClass,
    WantedState,
    WantedUser,
)
from reconcile.core.resume import resolve
from reconcile.core.vocabulary import ClassStatus
from tests.conftest import is_private

ADULT, PUPIL = UserType.ADULT, UserType.PUPIL


def state(*users: User, classes: tuple[SchoolClass, ...] = ()) -> ServerState:
    default = (SchoolClass(1, "CP", "anne.martin"), SchoolClass(2, "CE1", "anne.martin"))
    return ServerState(
        classes=classes or default, users=(User("anne.martin", "Martin", "Anne", ADULT), *users)
    )


def new_row(row: int, last: str, first: str, target: str | None = "CP", kind: UserType = PUPIL) -> WantedUser:
    return WantedUser(
        f"nouveau:{row}", None, last, first, kind, Target.CLASS if target else Target.UNCHANGED, target
    )


def row(login: str, last: str, first: str, target: Target, target_class: str | None = None) -> WantedUser:
    return WantedUser(login, login, last, first, PUPIL, target, target_class)


def wanted(*users: WantedUser, classes: tuple[WantedClass, ...] = (), export: ExportInfo | None = None):
    return WantedState(users=users, classes=classes, export=export)


def started(key: str, last: str, first: str, before: list[str]) -> dict:
    return {"op": f"create_user:{key}", "event": "start", "user": key, "last_name": last, "first_name": first,
            "type": "eleve", "logins_before": before}  # fmt: skip


def created(key: str, login: str, password: str | None = None) -> dict:
    return {"op": f"create_user:{key}", "event": "created", "user": key, "login": login, "password": password}


def facts(*lines: dict):
    return fold_journal([{"event": "header"}, *lines])


# --- The journal ------------------------------------------------------------------------


def test_the_journal_is_created_private_and_reopened_for_the_same_workbook(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    journal.record("create_user:nouveau:3", Event.START, user="nouveau:3", last_name="Roux", first_name="Léa",
                   type="eleve", logins_before=[])  # fmt: skip
    assert is_private(tmp_path / JOURNAL_NAME)
    again = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    assert len(again.lines) == 2
    assert "nouveau:3" in again.facts().pending_users


@pytest.mark.posix_only
def test_a_journal_left_readable_by_others_is_made_private_again(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    journal.record("delete_users:2", Event.START, logins=["x"])
    (tmp_path / JOURNAL_NAME).chmod(0o644)  # copied around, restored from a backup…
    again = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    again.record("delete_users:2", Event.DONE, logins=["x"])
    assert is_private(tmp_path / JOURNAL_NAME)


def test_a_started_journal_of_another_workbook_is_refused(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    journal.record("delete_users:2", Event.START, logins=["x"])
    with pytest.raises(JournalError, match=r"un autre classeur \(a\.xlsx"):
        Journal.open(tmp_path, workbook="b.xlsx", digest="d2", server_url="http://s/")
    with pytest.raises(JournalError):
        Journal.existing_facts(tmp_path, "d2")


def test_a_finished_journal_of_another_workbook_is_set_aside(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    journal.record("delete_users:2", Event.START, logins=["x"])
    journal.record("", Event.VERIFIED)
    Journal.open(tmp_path, workbook="b.xlsx", digest="d2", server_url="http://s/")
    assert len(list(tmp_path.glob("journal-application-*.jsonl"))) == 1
    assert json.loads((tmp_path / JOURNAL_NAME).read_text().splitlines()[0])["workbook"] == "b.xlsx"


def test_a_line_cut_by_a_kill_is_ignored(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    journal.record("create_class:CE2", Event.DONE, name="CE2")
    with (tmp_path / JOURNAL_NAME).open("a", encoding="utf-8") as handle:
        handle.write('{"at": "2026", "event": "sta')
    assert len(read_lines(tmp_path / JOURNAL_NAME)) == 2
    assert Journal.existing_facts(tmp_path, "d1").created_classes == {"CE2"}


# --- Resolution -------------------------------------------------------------------------


def test_a_new_row_the_journal_created_becomes_that_account() -> None:
    current = state(User("lea.roux", "Roux", "Léa", PUPIL, None, "chat12"))
    known = facts(created("nouveau:3", "lea.roux", "chat12"))
    resolved = resolve(wanted(new_row(3, "Roux", "Léa")), known, current).wanted
    assert resolved.users == (WantedUser("lea.roux", "lea.roux", "Roux", "Léa", PUPIL, Target.CLASS, "CP"),)


def test_an_interrupted_creation_adopts_the_one_account_that_appeared() -> None:
    current = state(
        User("lea.roux", "Roux", "Léa", PUPIL, 2, "velo1"),  # a homonym, there before
        User("lea.roux2", "ROUX", "Lea", PUPIL, None, "chat12"),
    )
    interrupted = facts(started("nouveau:3", "Roux", "Léa", ["lea.roux"]))
    resolution = resolve(wanted(new_row(3, "Roux", "Léa")), interrupted, current)
    assert [(a.key, a.login, a.password) for a in resolution.adoptions] == [
        ("nouveau:3", "lea.roux2", "chat12")
    ]
    assert resolution.wanted.users[0].login == "lea.roux2"


def test_an_interrupted_creation_that_did_not_happen_is_still_to_do() -> None:
    current = state(User("lea.roux", "Roux", "Léa", PUPIL, 2, "velo1"))
    interrupted = facts(started("nouveau:3", "Roux", "Léa", ["lea.roux"]))
    resolution = resolve(wanted(new_row(3, "Roux", "Léa")), interrupted, current)
    assert resolution.adoptions == ()
    assert resolution.wanted.users[0].is_new


def test_two_accounts_appearing_after_an_interrupted_creation_are_ambiguous() -> None:
    current = state(
        User("lea.roux", "Roux", "Léa", PUPIL, None, "a1"),
        User("lea.roux2", "Roux", "Léa", PUPIL, None, "b2"),
    )
    interrupted = facts(started("nouveau:3", "Roux", "Léa", []))
    with pytest.raises(DriftAmbiguous, match="plusieurs comptes"):
        resolve(wanted(new_row(3, "Roux", "Léa")), interrupted, current)


def test_a_login_we_deleted_and_the_server_gave_again_is_not_deleted_twice() -> None:
    # hugo.gris left; the login was given again to a new Hugo Gris created by the same run.
    current = state(User("hugo.gris", "Gris", "Hugo", PUPIL, 1, "new1"))
    known = facts(
        {"op": "delete_users:2", "event": "done", "deleted": ["hugo.gris"]},
        created("nouveau:9", "hugo.gris", "new1"),
    )
    rows = (row("hugo.gris", "Gris", "Hugo", Target.LEAVES), new_row(9, "Gris", "Hugo"))
    resolved = resolve(wanted(*rows), known, current).wanted
    assert [(u.key, u.target) for u in resolved.users] == [("hugo.gris", Target.CLASS)]


def test_a_departure_already_gone_is_recorded_so_its_login_is_never_mistaken() -> None:
    resolution = resolve(wanted(row("hugo.gris", "Gris", "Hugo", Target.LEAVES)), facts(), state())
    assert resolution.gone == {"hugo.gris"}
    assert resolution.wanted.users == ()


def test_a_created_class_becomes_a_kept_class_with_its_new_teacher_resolved() -> None:
    classes_now = (SchoolClass(1, "CP", "anne.martin"), SchoolClass(7, "CE2", "julie.bernard"))
    current = state(User("julie.bernard", "Bernard", "Julie", ADULT), classes=classes_now)
    known = facts(
        created("nouveau:2", "julie.bernard"),
        {"op": "create_class:CE2", "event": "start", "name": "CE2"},  # answer lost, then killed
    )
    teacher = new_row(2, "Bernard", "Julie", None, ADULT)
    classes = (WantedClass("CE2", ClassStatus.CREATE, "nouveau:2"), WantedClass("CM2", ClassStatus.DELETE))
    resolved = resolve(wanted(teacher, classes=classes), known, current).wanted
    assert resolved.classes == (WantedClass("CE2", ClassStatus.KEEP, "julie.bernard"),)


def test_a_class_created_by_someone_else_stays_a_creation_for_the_plan_to_refuse() -> None:
    current = state(classes=(SchoolClass(1, "CP", "anne.martin"), SchoolClass(7, "CE2", "anne.martin")))
    classes = (WantedClass("CE2", ClassStatus.CREATE, "anne.martin"),)
    assert resolve(wanted(classes=classes), facts(), current).wanted.classes[0].status is ClassStatus.CREATE


# --- Drift ------------------------------------------------------------------------------


def export_of(*users: ExportedUser, fingerprint: str = "old") -> ExportInfo:
    return ExportInfo("http://s/", "École", "2026-06-30", "0.1", "1", fingerprint, users, ("CP", "CE1"))


LEA = ExportedUser("lea.roux", "Roux", "Léa", PUPIL, "CP")
TOM = ExportedUser("tom.blanc", "Blanc", "Tom", PUPIL, "CP")


def test_a_login_that_now_names_someone_else_is_refused_when_the_workbook_acts_on_it() -> None:
    current = state(User("lea.roux", "Roux", "Léonie", PUPIL, 1, "x"))
    rows = (row("lea.roux", "Roux", "Léa", Target.LEAVES),)
    with pytest.raises(DriftAmbiguous, match="désigne maintenant Léonie ROUX"):
        resolve(wanted(*rows, export=export_of(LEA)), facts(), current)


def test_a_login_that_now_names_someone_else_is_left_alone_when_the_row_asks_nothing() -> None:
    current = state(User("lea.roux", "Roux", "Léonie", PUPIL, 1, "x"))
    unchanged = wanted(row("lea.roux", "Roux", "Léa", Target.UNCHANGED), export=export_of(LEA))
    resolution = resolve(unchanged, facts(), current)
    assert resolution.wanted.users == ()
    assert any("n'est pas touché" in s for s in resolution.skipped)


def test_drift_says_what_changed_and_skips_a_transfer_of_someone_gone() -> None:
    current = state(
        User("lea.roux", "Roux", "Léa", PUPIL, 2, "x"),  # moved CP -> CE1 since the export
        User("nina.vert", "Vert", "Nina", PUPIL, 1, "y"),  # added since the export
    )
    rows = (
        row("lea.roux", "Roux", "Léa", Target.UNCHANGED),
        row("tom.blanc", "Blanc", "Tom", Target.CLASS, "CE1"),
    )
    resolution = resolve(wanted(*rows, export=export_of(LEA, TOM)), facts(), current)
    assert [u.key for u in resolution.wanted.users] == ["lea.roux"]
    assert any("Tom BLANC (tom.blanc) devait aller en CE1" in s for s in resolution.skipped)
    changes = "\n".join(resolution.changes)
    assert "Léa ROUX (lea.roux) a changé de classe depuis l'export : CP → CE1" in changes
    assert "Tom BLANC (tom.blanc) a été supprimé(e) du serveur" in changes
    assert "Nina VERT (nina.vert) a été ajouté(e) au serveur depuis l'export" in changes


def test_an_account_an_interrupted_run_made_is_never_said_added_since_the_export() -> None:
    # Ctrl-C while the server made Léo's account: its creation was journaled, its answer never read.
    current = state(
        User("leo.martin", "MARTIN", "Léo", PUPIL, 2, "soleil"),  # made by the interrupted run, then moved
        User("nina.vert", "Vert", "Nina", PUPIL, 1, "y"),  # really added since the export, by someone else
    )
    interrupted = facts(started("nouveau:3", "Martin", "Léo", []))
    resolution = resolve(
        wanted(new_row(3, "Martin", "Léo", "CE1"), export=export_of(LEA)), interrupted, current
    )
    assert [a.login for a in resolution.adoptions] == ["leo.martin"]
    changes = "\n".join(resolution.changes)
    assert "leo.martin" not in changes
    assert "Nina VERT (nina.vert) a été ajouté(e) au serveur depuis l'export" in changes


def test_no_drift_is_reported_when_the_fingerprint_matches() -> None:
    current = state(User("lea.roux", "Roux", "Léa", PUPIL, 1, "x"))
    export = export_of(LEA, fingerprint=current.fingerprint())
    assert (
        resolve(
            wanted(row("lea.roux", "Roux", "Léa", Target.UNCHANGED), export=export), facts(), current
        ).changes
        == ()
    )


def test_an_earlier_deletion_matters_only_for_a_workbook_exported_before_it() -> None:
    # An earlier application deleted hugo.gris; the server gave the login to a new Hugo Gris.
    current = state(User("hugo.gris", "Gris", "Hugo", PUPIL, 1, "new1"))
    earlier = EarlierWork(deleted={"hugo.gris": "2026-09-01T08:00:00+00:00"})
    leaves = row("hugo.gris", "Gris", "Hugo", Target.LEAVES)

    def exported(at: str) -> ExportInfo:
        return replace(export_of(), exported_at=at)

    old = resolve(wanted(leaves, export=exported("2026-06-30T18:00:00+02:00")), facts(), current, earlier)
    assert old.wanted.users == ()  # the workbook's hugo.gris is the deleted one: nobody is deleted
    assert old.gone == {"hugo.gris"}
    new = resolve(wanted(leaves, export=exported("2026-09-02T10:00:00+02:00")), facts(), current, earlier)
    assert [u.key for u in new.wanted.users] == ["hugo.gris"]  # exported later: it names the new account


def test_a_second_application_on_the_same_output_folder_is_refused_while_one_runs(tmp_path: Path) -> None:
    busy = pytest.raises(JournalError, match="Une autre application est en cours avec le dossier de sortie")
    with exclusive_run("http://a/intrascol/", tmp_path), busy, exclusive_run("http://b/intrascol/", tmp_path):
        pass
    with exclusive_run("http://a/intrascol/", tmp_path):  # free again once the first one ended
        pass


ANNE = ExportedUser("anne.martin", "Martin", "Anne", ADULT, None)
PAUL = User("paul.noir", "Noir", "Paul", ADULT)
# At the export, Anne MARTIN led both classes; since, Paul NOIR leads the CE1.
RESPONSIBLES_AT_EXPORT = (("CP", "anne.martin"), ("CE1", "anne.martin"))
CE1_GIVEN_TO_PAUL = (SchoolClass(1, "CP", "anne.martin"), SchoolClass(2, "CE1", "paul.noir"))


def test_drift_says_a_responsible_changed_since_the_export() -> None:
    current = state(PAUL, classes=CE1_GIVEN_TO_PAUL)
    export = replace(export_of(ANNE), class_responsibles=RESPONSIBLES_AT_EXPORT)
    as_exported = tuple(WantedClass(n, ClassStatus.KEEP, "anne.martin") for n in ("CP", "CE1"))
    changes = resolve(wanted(classes=as_exported, export=export), facts(), current).changes
    assert (
        "L'enseignant responsable de la classe CE1 a changé depuis l'export : "
        "Anne MARTIN (anne.martin) → Paul NOIR (paul.noir)."
    ) in changes
    assert not any("classe CP a changé" in c for c in changes)


def test_a_responsible_the_workbook_asked_for_and_an_earlier_run_made_is_no_drift() -> None:
    current = state(PAUL, classes=CE1_GIVEN_TO_PAUL)
    export = replace(export_of(ANNE), class_responsibles=RESPONSIBLES_AT_EXPORT)
    classes = (
        WantedClass("CP", ClassStatus.KEEP, "anne.martin"),
        WantedClass("CE1", ClassStatus.KEEP, "nouveau:9"),  # Paul NOIR, a new row of the workbook
    )
    paul = new_row(9, "Noir", "Paul", None, ADULT)
    resolution = resolve(
        wanted(paul, classes=classes, export=export), facts(created("nouveau:9", "paul.noir")), current
    )
    assert not any("enseignant responsable" in c for c in resolution.changes)
    assert resolution.wanted.classes[1].responsible == "paul.noir"


def test_without_stored_responsibles_no_responsible_drift_is_claimed() -> None:
    current = state(PAUL, classes=CE1_GIVEN_TO_PAUL)
    as_exported = tuple(WantedClass(n, ClassStatus.KEEP, "anne.martin") for n in ("CP", "CE1"))
    changes = resolve(wanted(classes=as_exported, export=export_of(ANNE)), facts(), current).changes
    assert not any("enseignant responsable" in c for c in changes)
