"""A whole apply with the real plan engine: resumption by re-planning after any interruption.

The server is the in-memory IntraScol of `memory_server`, so that the process can
be "killed" exactly before or after each POST (every position is tried); the same
runs against the sandbox over HTTP are in `test_apply_sandbox.py`.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from reconcile.adapters.journal import JOURNAL_NAME
from reconcile.app.apply import apply_workbook
from reconcile.core.errors import DriftAmbiguous, NotConfirmed, PageNotRecognised, PlanBlocked
from reconcile.core.model import Target, User, UserType, WantedClass, WantedState, WantedUser
from reconcile.core.outcome import ApplyRun
from reconcile.core.ports import CreatedUser
from reconcile.core.safeguards import Safeguards
from reconcile.core.vocabulary import ClassStatus
from tests.memory_server import KILL_AFTER, KILL_BEFORE, Killed, MemoryServer, small_school

ADULT, PUPIL = UserType.ADULT, UserType.PUPIL


def existing(login: str, last: str, first: str, kind: UserType, target: str | None = None) -> WantedUser:
    if target == "quitte":
        return WantedUser(login, login, last, first, kind, Target.LEAVES)
    return WantedUser(login, login, last, first, kind, Target.CLASS if target else Target.UNCHANGED, target)


def new(row: int, last: str, first: str, kind: UserType, target: str | None = None) -> WantedUser:
    status = Target.CLASS if target else Target.UNCHANGED
    return WantedUser(f"nouveau:{row}", None, last, first, kind, status, target)


# Paul leaves (CE1 goes to Marc), the CM2 leave and their class is removed, Léa and
# Tom move up, Julie arrives with a new CE2, two new CP pupils — one named like a
# departing pupil, who gets his freed login back.
WANTED = WantedState(
    users=(
        existing("anne.martin", "Martin", "Anne", ADULT),
        existing("paul.durand", "Durand", "Paul", ADULT, "quitte"),
        existing("marc.petit", "Petit", "Marc", ADULT),
        existing("lea.roux", "Roux", "Léa", PUPIL, "CE1"),
        existing("tom.blanc", "Blanc", "Tom", PUPIL, "CE2"),
        existing("ines.noir", "Noir", "Inès", PUPIL, "quitte"),
        existing("hugo.gris", "Gris", "Hugo", PUPIL, "quitte"),
        new(20, "Bernard", "Julie", ADULT),
        new(21, "Nguyễn", "Zoé", PUPIL, "CP"),
        new(22, "Gris", "Hugo", PUPIL, "CP"),
    ),
    classes=(
        WantedClass("CP", ClassStatus.KEEP, "anne.martin"),
        WantedClass("CE1", ClassStatus.KEEP, "marc.petit"),
        WantedClass("CE2", ClassStatus.CREATE, "nouveau:20"),
        WantedClass("CM2", ClassStatus.DELETE, "marc.petit"),
    ),
)


def apply(server: MemoryServer, tmp_path: Path, wanted: WantedState = WANTED, **options: object) -> ApplyRun:
    return apply_workbook(
        server,
        wanted,
        workbook=tmp_path / "rentree.xlsx",
        output_dir=tmp_path,
        confirm=lambda _preparation: True,
        allow_mass_delete=True,
        safeguards=Safeguards(moves_checked=True),  # a tiny school: one pupil leaves from CP
        retry_delay=0,
        **options,  # type: ignore[arg-type]
    )


def verified(run: ApplyRun) -> bool:
    return run.outcome.complete and run.verification is not None and run.verification.ok


def assert_wanted_state(server: MemoryServer) -> None:
    assert len(server.named("Julie", "Bernard")) == 1
    assert len(server.named("Zoé", "Nguyễn")) == 1
    [julie] = server.named("Julie", "Bernard")
    [zoe] = server.named("Zoé", "Nguyễn")
    [hugo] = server.named("Hugo", "Gris")
    assert hugo.class_id == 1  # the new Hugo, in CP: the departing one is gone
    assert set(server.users) == {
        "anne.martin", "marc.petit", "lea.roux", "tom.blanc", julie.login, zoe.login, hugo.login,
    }  # fmt: skip
    assert server.members("CP") == {zoe.login, hugo.login}
    assert server.members("CE1") == {"lea.roux"}
    assert server.members("CE2") == {"tom.blanc"}
    assert server.class_named("CE1").responsible_login == "marc.petit"  # type: ignore[union-attr]
    assert server.class_named("CE2").responsible_login == julie.login  # type: ignore[union-attr]
    assert server.class_named("CM2") is None


def test_a_full_rentree_reaches_the_wanted_state_and_a_second_run_changes_nothing(
    tmp_path: Path, server: MemoryServer
) -> None:
    first = apply(server, tmp_path)
    assert verified(first), (first.outcome.reason, first.verification)
    assert_wanted_state(server)
    assert server.named("Hugo", "Gris")[0].login == "hugo.gris"  # the freed login, given again
    assert {a.key for a in first.accounts} == {"nouveau:20", "nouveau:21", "nouveau:22"}

    posts, reads = len(server.posts), server.reads
    second = apply(server, tmp_path)
    assert second.preparation.plan.is_empty
    assert verified(second)
    assert len(server.posts) == posts  # not one POST
    assert server.reads == reads + 1  # one read of the state, nothing else
    assert {(a.key, a.login) for a in second.accounts} == {(a.key, a.login) for a in first.accounts}


@pytest.mark.parametrize("kill", [KILL_BEFORE, KILL_AFTER])
def test_a_run_killed_at_any_post_resumes_to_the_same_state_without_duplicates(
    tmp_path: Path, kill: str
) -> None:
    reference = small_school()
    apply(reference, tmp_path / "reference")
    total = len(reference.posts)
    for position in range(1, total + 1):
        server = small_school()
        server.faults = {position: kill}
        with pytest.raises(Killed):
            apply(server, tmp_path / f"{kill}-{position}")
        server.faults = {}
        resumed = apply(server, tmp_path / f"{kill}-{position}")
        assert verified(resumed), (position, resumed.outcome.reason, resumed.verification)
        assert_wanted_state(server)
        # Every POST was needed once: a resumed run sends again at most the one in doubt.
        assert len(server.posts) <= total + 1, position


@pytest.mark.parametrize("seed", range(8))
def test_random_500s_and_lost_answers_converge_within_three_runs(
    tmp_path: Path, seed: int, server: MemoryServer
) -> None:
    server.random_faults = (random.Random(seed), 0.10, 0.05)
    runs = 0
    while runs < 3:
        runs += 1
        run = apply(server, tmp_path)
        if verified(run):
            break
    assert runs <= 3
    assert_wanted_state(server)


def test_declining_the_confirmation_changes_nothing_and_writes_no_journal(
    tmp_path: Path, server: MemoryServer
) -> None:
    before = server.read_state()

    def decline(_preparation: object) -> bool:
        return False

    with pytest.raises(NotConfirmed):
        apply_workbook(server, WANTED, workbook=tmp_path / "r.xlsx", output_dir=tmp_path, confirm=decline,
                       allow_mass_delete=True)  # fmt: skip
    assert server.posts == []
    assert server.read_state() == before
    assert not (tmp_path / JOURNAL_NAME).exists()


def test_a_plan_with_problems_is_refused_before_anything_changes(
    tmp_path: Path, server: MemoryServer
) -> None:
    with pytest.raises(PlanBlocked, match="40"):
        apply_workbook(server, WANTED, workbook=tmp_path / "r.xlsx", output_dir=tmp_path,
                       confirm=lambda _p: True)  # fmt: skip
    assert server.posts == []


def test_a_departing_login_now_naming_someone_else_is_refused_before_anything_changes(
    tmp_path: Path, server: MemoryServer
) -> None:
    # Since the export, Inès's account was deleted and her login given to another pupil.
    del server.users["ines.noir"]
    server.users["ines.noir"] = User("ines.noir", "Noir", "Inès-Marie", PUPIL, 1, "x")
    with pytest.raises(DriftAmbiguous, match=r"ines\.noir"):
        apply(server, tmp_path)
    assert server.posts == []


def test_a_pupil_moved_away_since_the_export_is_skipped_not_recreated(
    tmp_path: Path, server: MemoryServer
) -> None:
    del server.users["tom.blanc"]  # deleted on the server since the export
    run = apply(server, tmp_path)
    assert run.outcome.complete
    assert any("tom.blanc" in s for s in run.preparation.resolution.skipped)
    assert server.named("Tom", "Blanc") == []
    assert verified(run), run.verification


def test_a_corrected_workbook_applied_after_a_finished_run_takes_over_the_accounts_made(
    tmp_path: Path,
    server: MemoryServer,
) -> None:
    first = apply(server, tmp_path)
    assert verified(first)
    # The secretary adds a pupil above the new rows: every new row changes number.
    renumbered = tuple(
        replace(u, key=f"nouveau:{int(u.key.split(':')[1]) + 1}") if u.is_new else u for u in WANTED.users
    )
    corrected = replace(
        WANTED,
        users=(*renumbered, new(20, "Petit", "Nina", PUPIL, "CE1")),
        classes=tuple(replace(c, responsible="nouveau:21") if c.name == "CE2" else c for c in WANTED.classes),
    )
    second = apply(server, tmp_path, corrected)
    assert verified(second), (second.outcome.reason, second.verification)
    for first_name, last_name in (("Julie", "Bernard"), ("Zoé", "Nguyễn"), ("Hugo", "Gris")):
        assert len(server.named(first_name, last_name)) == 1, first_name  # not created again
    assert [op.kind for op in second.preparation.plan.operations] == ["create_user", "assign_pupil"]
    assert server.members("CE1") == {"lea.roux", server.named("Nina", "Petit")[0].login}
    assert sum("ce compte est repris" in s for s in second.preparation.resolution.skipped) == 3
    assert len(list(tmp_path.glob("journal-application*.jsonl"))) == 2


def test_a_creation_whose_answer_page_is_not_understood_is_adopted_by_the_next_run(tmp_path: Path) -> None:
    class GarbledCreation(MemoryServer):
        """Creates Zoé's account, then answers a page without the login (a truncated page), once."""

        garbled = False

        def create_user(self, first_name: str, last_name: str, user_type: UserType) -> CreatedUser:
            created = super().create_user(first_name, last_name, user_type)
            if first_name == "Zoé" and not self.garbled:
                self.garbled = True
                raise PageNotRecognised(self.url, 'un identifiant dans <span id="login">')
            return created

    plain = small_school()
    server = GarbledCreation(list(plain.classes.values()), list(plain.users.values()))
    first = apply(server, tmp_path)
    assert not first.outcome.complete
    resumed = apply(server, tmp_path)
    assert verified(resumed), resumed.outcome.reason
    assert len(server.named("Zoé", "Nguyễn")) == 1
