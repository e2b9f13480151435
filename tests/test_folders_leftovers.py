"""No provisional pupil ever survives (issue 10, point 7), at every POST of the folder workaround.

The in-memory IntraScol of `memory_server` loses the answer of (or refuses with a 500) exactly
the POST a test names: each POST of the workaround is tried — the provisional pupil's creation,
its assignment, the files' deletion, its own deletion — and the class deletion after it. Whatever
happens, a run whose verification says the server is in the requested state leaves no provisional
pupil, a run that cannot remove one says so, and the next run removes it. Over HTTP against the
sandbox: `test_folders_leftovers_sandbox.py`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from unittest import mock

import pytest

from reconcile.app.folders import find_provisional_pupils
from reconcile.core.journal_facts import Account
from reconcile.core.model import ServerState, User, UserType
from reconcile.core.outcome import ApplyRun
from tests.memory_server import AFTER, BEFORE, MemoryServer, small_school
from tests.test_apply_resume import apply, assert_wanted_state, verified

STILL_THERE = "est encore sur le serveur : relancez la même commande pour le supprimer"


def school_with_files() -> MemoryServer:
    """The small school, its CM2 (deleted by `WANTED`) holding two files: the workaround runs."""
    server = small_school()
    server.add_file(3, "exposé.odt", b"PK\x03\x04" + bytes(range(200)))
    server.add_file(3, "photos/sortie.jpg", b"\xff\xd8\xff" * 100)
    return server


def provisional(server: MemoryServer) -> list[str]:
    return [u.login for u in find_provisional_pupils(server.read_state())]


def reference_posts() -> list[str]:
    """The POSTs of a faultless run, in order."""
    reference = school_with_files()
    # Run at collection, outside the fixtures: its server lock goes to a folder of its own, or
    # two test workers collecting at once would refuse each other.
    with (
        tempfile.TemporaryDirectory() as scratch,
        mock.patch.dict(os.environ, {"RECONCILE_STATE_DIR": scratch}),
    ):
        assert verified(apply(reference, Path(scratch) / "sortie"))
    return reference.posts


def workaround_posts(posts: list[str]) -> list[int]:
    """The numbers of the POSTs from the workaround's first (the provisional pupil's creation, once
    the class deletion was refused) to the end of the run."""
    refused = posts.index("classes.php supprimer")
    first = posts.index("ajout_utilisateur.php", refused) + 1
    return list(range(first, len(posts) + 1))


REFERENCE = reference_posts()
POSTS = workaround_posts(REFERENCE)


def runs_until_verified(server: MemoryServer, output_dir: Path, limit: int = 3) -> list[ApplyRun]:
    """Apply again and again (as the user told to rerun does); no run may claim a provisional pupil gone."""
    runs: list[ApplyRun] = []
    for _ in range(limit):
        run = apply(server, output_dir)
        runs.append(run)
        if verified(run):
            assert provisional(server) == [], "verified, yet a provisional pupil is on the server"
            break
        if run.verification is not None and provisional(server):
            assert any(STILL_THERE in d for d in run.verification.differences), run.verification
    return runs


@pytest.mark.parametrize("fault", [AFTER, BEFORE])
@pytest.mark.parametrize("position", POSTS)
def test_a_fault_at_any_post_of_the_workaround_leaves_no_provisional_pupil(
    tmp_path: Path, position: int, fault: str
) -> None:
    server = school_with_files()
    server.faults = {position: fault}
    runs = runs_until_verified(server, tmp_path)
    assert verified(runs[-1]), (position, fault, [r.outcome.reason for r in runs], runs[-1].verification)
    assert provisional(server) == []
    assert_wanted_state(server)


@pytest.mark.parametrize("position", POSTS)
def test_two_answers_lost_in_a_row_in_the_workaround_leave_no_provisional_pupil(
    tmp_path: Path, position: int
) -> None:
    # The case: the assignment's answer lost, then that of the assignment asked again.
    server = school_with_files()
    server.faults = {position: AFTER, position + 1: AFTER}
    runs_until_verified(server, tmp_path)
    assert provisional(server) == []
    assert_wanted_state(server)


def test_a_provisional_pupil_the_run_cannot_delete_fails_the_verification_then_goes(tmp_path: Path) -> None:
    server = school_with_files()
    deletion = POSTS[0] + 3  # create, assign, delete the files, then delete the provisional pupil
    assert REFERENCE[deletion - 1] == "utilisateurs.php supprimer"
    # Its deletion refused (500), and again at the end of the run: it stays, and the run says so.
    server.faults = {deletion: BEFORE, deletion + 2: BEFORE}
    first = apply(server, tmp_path)
    assert first.outcome.complete
    assert first.verification is not None
    assert not first.verification.ok
    [login] = provisional(server)
    [said] = [d for d in first.verification.differences if STILL_THERE in d]
    assert f"Provisoire RECONCILE CM2 ({login})" in said
    assert server.class_named("CM2") is None  # the rest was done: only the leftover remains

    second = apply(server, tmp_path)
    assert verified(second), second.verification
    assert provisional(server) == []
    assert_wanted_state(server)


def test_a_leftover_whose_removal_fails_when_nothing_else_is_left_to_do_is_said(tmp_path: Path) -> None:
    server = small_school()
    assert verified(apply(server, tmp_path))
    server.users["provisoire.reconcilecm2"] = User(
        "provisoire.reconcilecm2", "Reconcile CM2", "Provisoire", UserType.PUPIL, None, "mdp1"
    )
    server.faults = {len(server.posts) + 1: BEFORE}
    run = apply(server, tmp_path)
    assert run.preparation.plan.is_empty
    assert run.verification is not None
    assert any(STILL_THERE in d for d in run.verification.differences)
    again = apply(server, tmp_path)
    assert verified(again)
    assert provisional(server) == []


def test_a_lost_answer_when_removing_a_leftover_is_read_back(tmp_path: Path) -> None:
    server = small_school()
    tmp = tmp_path
    assert verified(apply(server, tmp))
    server.users["provisoire.reconcilecm2"] = User(
        "provisoire.reconcilecm2", "Reconcile CM2", "Provisoire", UserType.PUPIL, None, "mdp1"
    )
    server.faults = {len(server.posts) + 1: AFTER}
    run = apply(server, tmp)
    assert verified(run), run.verification
    assert provisional(server) == []


def test_a_journaled_provisional_pupil_is_recognised_even_if_the_server_changed_its_names() -> None:
    state = ServerState(
        classes=(),
        users=(
            User(
                "preconcile", "Reconcil", "Provisoir", UserType.PUPIL, None, "k3y"
            ),  # names cut by the server
            User("reused", "Durand", "Léo", UserType.PUPIL, None, "other"),  # a freed login given again
        ),
    )
    journaled = [Account("preconcile", "k3y"), Account("reused", "old-password")]
    assert [u.login for u in find_provisional_pupils(state, journaled)] == ["preconcile"]
    assert find_provisional_pupils(state) == ()
