"""`execute`: a plan carried out in order, every POST journaled, doubts settled by re-reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconcile.adapters.journal import JOURNAL_NAME, Journal
from reconcile.app.executor import execute
from reconcile.core.errors import JournalError
from reconcile.core.journal_facts import fold_journal
from reconcile.core.model import SchoolClass, User, UserType
from reconcile.core.operations import (
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Plan,
    Step,
    TransferPupils,
)
from reconcile.core.outcome import Archive, OpStatus
from tests.conftest import is_private
from tests.memory_server import AFTER, BEFORE, DOWN, ClassListingMemoryServer, MemoryServer, small_school

ADULT, PUPIL = UserType.ADULT, UserType.PUPIL


def rentree_plan() -> Plan:
    return Plan(
        steps=(
            (
                Step.CLASSES,
                (
                    CreateUser("nouveau:20", "Bernard", "Julie", ADULT),
                    CreateClass("CE2", "nouveau:20"),
                    ChangeResponsible("CE1", "marc.petit"),
                ),
            ),
            (Step.DEPARTURES, (DeleteUsers(("ines.noir", "hugo.gris")),)),
            (
                Step.ARRIVALS,
                (
                    CreateUser("nouveau:21", "Nguyễn", "Zoé", PUPIL),
                    AssignPupil("nouveau:21", "CP"),
                ),
            ),
            (
                Step.DISTRIBUTION,
                (TransferPupils("CE2", ("tom.blanc",)), TransferPupils("CE1", ("lea.roux",))),
            ),
            (
                Step.CLASS_REMOVALS,
                (DeleteClasses(("CM2",)), DeleteUsers(("paul.durand",), Step.CLASS_REMOVALS)),
            ),
        ),
        names={"nouveau:20": "Julie BERNARD", "nouveau:21": "Zoé NGUYỄN"},
    )


def open_journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path, workbook="rentree.xlsx", digest="abc", server_url="memoire://")


def run(server: MemoryServer, tmp_path: Path, plan: Plan | None = None, **options: Any):
    journal = open_journal(tmp_path)
    outcome = execute(plan or rentree_plan(), server, journal, server.read_state(), retry_delay=0, **options)
    return outcome, journal


def assert_rentree_done(server: MemoryServer) -> None:
    [julie] = server.named("Julie", "Bernard")
    [zoe] = server.named("Zoé", "Nguyễn")
    assert server.class_named("CE2").responsible_login == julie.login
    assert server.class_named("CE1").responsible_login == "marc.petit"
    assert server.members("CE2") == {"tom.blanc"}
    assert server.members("CE1") == {"lea.roux"}
    assert server.members("CP") == {zoe.login}
    assert server.class_named("CM2") is None
    assert {"ines.noir", "hugo.gris", "paul.durand"}.isdisjoint(server.users)


def test_a_plan_is_carried_out_in_order_with_one_post_per_operation(
    tmp_path: Path, server: MemoryServer
) -> None:
    outcome, _ = run(server, tmp_path)
    assert outcome.complete, outcome.reason
    assert_rentree_done(server)
    assert [r.status for r in outcome.results] == [OpStatus.DONE] * 10
    # The new class's id is learnt from one read; no other read is needed.
    assert len(server.posts) == 10
    assert server.reads == 2
    assert {(a.key, a.login) for a in outcome.new_accounts} == {
        ("nouveau:20", "julie.bernard"),
        ("nouveau:21", "zoe.nguyen"),
    }


def test_the_journal_is_private_and_records_every_post_before_and_after(
    tmp_path: Path, server: MemoryServer
) -> None:
    run(server, tmp_path)
    path = tmp_path / JOURNAL_NAME
    assert is_private(path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    starts = [line for line in lines if line["event"] == "start"]
    assert len(starts) == len(server.posts)
    for start in starts:
        after = lines[lines.index(start) + 1]
        assert after["op"] == start["op"]
        assert after["event"] in {"done", "created", "failed", "unknown"}
    facts = fold_journal(lines)
    assert facts.created_users["nouveau:21"].login == "zoe.nguyen"
    assert facts.created_users["nouveau:21"].password == server.users["zoe.nguyen"].password
    assert facts.created_classes == {"CE2"}
    assert {"ines.noir", "hugo.gris", "paul.durand"} <= facts.deleted_logins


def test_a_lost_answer_to_a_creation_adopts_the_account_and_never_creates_it_twice(
    tmp_path: Path, server: MemoryServer
) -> None:
    server.faults = {1: AFTER, 5: AFTER}  # Julie's creation and Zoé's
    outcome, _ = run(server, tmp_path)
    assert outcome.complete, outcome.reason
    assert_rentree_done(server)
    assert len(server.named("Julie", "Bernard")) == 1
    assert len(server.named("Zoé", "Nguyễn")) == 1
    assert all(a.adopted for a in outcome.new_accounts)
    # Zoé's password is read back from the list (pupils' passwords are shown).
    zoe = next(a for a in outcome.new_accounts if a.key == "nouveau:21")
    assert zoe.password == server.users[zoe.login].password


def test_a_homonym_already_on_the_server_is_not_adopted(tmp_path: Path, server: MemoryServer) -> None:
    server.users["zoe.nguyen"] = User("zoe.nguyen", "Nguyễn", "Zoé", PUPIL, 2, "velo11")
    server.faults = {5: AFTER}
    outcome, _ = run(server, tmp_path)
    assert outcome.complete, outcome.reason
    new = next(a for a in outcome.new_accounts if a.key == "nouveau:21")
    assert new.login == "zoe.nguyen2"
    assert server.users["zoe.nguyen"].class_id == 2  # the older Zoé stays where she was


def test_a_500_before_a_post_is_retried_after_checking_it_did_not_happen(
    tmp_path: Path, server: MemoryServer
) -> None:
    server.faults = {1: BEFORE, 8: BEFORE}  # Julie's creation; the first transfer (one POST later)
    outcome, _ = run(server, tmp_path)
    assert outcome.complete, outcome.reason
    assert_rentree_done(server)
    assert len(server.named("Julie", "Bernard")) == 1
    assert len(server.posts) == 12
    retried = [r for r in outcome.results if r.attempts == 2]
    assert [r.op.id for r in retried] == ["create_user:nouveau:20", "transfer_pupils:CE2"]


@pytest.mark.parametrize("post", [2, 3, 4, 6, 7, 8, 9, 10])
def test_a_lost_answer_to_an_applied_post_is_not_sent_again(
    tmp_path: Path, post: int, server: MemoryServer
) -> None:
    server.faults = {post: AFTER}
    outcome, _ = run(server, tmp_path)
    assert outcome.complete, outcome.reason
    assert_rentree_done(server)
    assert len(server.posts) == 10


def test_a_refused_deletion_stops_before_the_next_step(tmp_path: Path, server: MemoryServer) -> None:
    plan = Plan(
        steps=(
            (Step.DEPARTURES, (DeleteUsers(("ines.noir", "anne.martin")),)),
            (Step.ARRIVALS, (CreateUser("nouveau:21", "Nguyễn", "Zoé", PUPIL),)),
        )
    )
    outcome, _ = run(server, tmp_path, plan)
    assert not outcome.complete
    assert outcome.incomplete_step is Step.DEPARTURES
    assert "responsable de la classe CP" in outcome.reason
    assert outcome.results[0].status is OpStatus.PARTIAL
    assert "ines.noir" not in server.users
    assert server.named("Zoé", "Nguyễn") == []


def test_a_server_gone_mid_run_leaves_an_incomplete_outcome(tmp_path: Path, server: MemoryServer) -> None:
    server.faults = {3: DOWN}
    outcome, journal = run(server, tmp_path)
    assert not outcome.complete
    assert outcome.incomplete_step is Step.CLASSES
    assert "ne répond pas" in outcome.reason
    assert journal.lines[-1]["event"] == "unknown"
    assert "ines.noir" in server.users  # step 2 never began


def test_a_class_whose_folder_holds_files_is_kept_with_keep_folders(
    tmp_path: Path, server: MemoryServer
) -> None:
    server.add_file(3, "affiche.pdf")
    outcome, _ = run(server, tmp_path, keep_folders=True)
    assert server.class_named("CM2") is not None
    assert outcome.kept_classes == ["CM2"]
    removal = next(r for r in outcome.results if r.op.kind == "delete_classes")
    assert removal.status is OpStatus.KEPT
    assert "dossier de travail non vide" in removal.message


def test_a_full_folder_is_archived_then_its_class_deleted(tmp_path: Path, server: MemoryServer) -> None:
    server.add_file(3, "affiche.pdf")
    server.add_file(3, "photos/sortie.jpg")
    archived: list[str] = []

    def workaround(school_class: SchoolClass) -> Archive:
        archived.append(school_class.name)
        files = server.files.pop(school_class.id)
        return Archive(school_class.name, tmp_path / "cm2.zip", len(files), 1234)

    outcome, journal = run(server, tmp_path, folder_workaround=workaround)
    assert outcome.complete, outcome.reason
    assert archived == ["CM2"]
    assert server.class_named("CM2") is None
    assert [a.class_name for a in outcome.archives] == ["CM2"]
    assert journal.facts().archives == {"CM2": str(tmp_path / "cm2.zip")}


def test_a_server_listing_its_classes_alone_spares_a_full_read_after_creating_a_class(tmp_path: Path) -> None:
    plain = small_school()
    listing = ClassListingMemoryServer(list(plain.classes.values()), list(plain.users.values()))
    outcome, _ = run(listing, tmp_path)
    assert outcome.complete, outcome.reason
    assert_rentree_done(listing)
    assert (listing.reads, listing.class_reads) == (1, 1)  # the first read, then the class list alone


def test_a_journal_that_can_no_longer_be_written_stops_the_run_before_the_next_post(
    tmp_path: Path, server: MemoryServer
) -> None:
    journal = open_journal(tmp_path)
    posts_before_failure = 3

    class FullDisk(Journal):
        def record(self, op: str, event: str, **data: Any) -> None:
            if len(server.posts) >= posts_before_failure and event == "start":
                raise JournalError("Impossible d'écrire le journal (disque plein)")
            super().record(op, event, **data)

    full = FullDisk(journal.path, list(journal.lines))
    outcome = execute(rentree_plan(), server, full, server.read_state(), retry_delay=0)
    assert not outcome.complete
    assert "disque plein" in outcome.reason
    assert len(server.posts) == posts_before_failure
