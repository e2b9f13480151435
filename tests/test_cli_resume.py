"""`reconcile apply` interrupted, then run again, as the secretary does it: a process, the sandbox over HTTP.

What a resumed run says about the work of the run it resumes (issue 10, point 6), and the
provisional pupils of the class-folder workaround, never left behind (point 7).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest

from reconcile.adapters.workbook import write_workbook
from reconcile.app.demo import fill_workbook, rentree
from reconcile.core.model import ServerState, UserType, WantedState
from reconcile.core.vocabulary import ClassStatus
from reconcile.sandbox import RunningSandbox
from tests.test_apply_sandbox import assert_in_wanted_state
from tests.test_cli_apply import filled_workbook, read, reconcile_apply, start_apply

T = TypeVar("T")
ADDED_SINCE_EXPORT = "a été ajouté(e) au serveur depuis l'export"


def _wait(condition: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Polls what the server cannot signal otherwise (its state, once a request it is serving ends)."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.01)
    return found


def _rentree_without_new_teacher(
    sandbox: RunningSandbox, folder: Path
) -> tuple[Path, WantedState, ServerState]:
    """The demo's rentrée with its new pupils sent to CP: the first account created is a pupil's (step 3)."""
    workbook, before = filled_workbook(sandbox, folder)
    demo = rentree(before)
    wanted = replace(
        demo,
        users=tuple(
            replace(u, target_class="CP") if u.is_new else u
            for u in demo.users
            if u.type is UserType.PUPIL or not u.is_new
        ),
        classes=tuple(c for c in demo.classes if c.status is not ClassStatus.CREATE),
    )
    write_workbook(before, workbook, server_url=sandbox.url, exported_at=datetime(2026, 6, 30, 18, 0))
    fill_workbook(workbook, wanted, before)
    return workbook, wanted, before


@pytest.mark.posix_only
def test_an_account_made_by_the_interrupted_run_is_not_said_added_since_the_export(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, wanted, before = _rentree_without_new_teacher(sandbox, tmp_path)
    # Slow answers: Ctrl-C comes while the first creation's POST is on the server, its answer unread.
    sandbox.configure(latency=0.3)
    process = start_apply(sandbox, workbook, "--oui")
    assert sandbox.wait_for_request("admin/ajout_utilisateur.php", timeout=60)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    exported = {u.login for u in before.users}
    # The server finishes the creation whose answer the interrupted run never read.
    made = _wait(lambda: [u for u in sandbox.store.users() if u.login not in exported], "no account was made")
    assert len(made) == 1
    sandbox.configure(latency=0.0)

    again = reconcile_apply(sandbox, workbook, "--oui")
    assert again.returncode == 0, again.stdout + again.stderr
    output = " ".join(again.stdout.split())
    assert ADDED_SINCE_EXPORT not in output, output
    # Ours: taken as its row's account (not created twice), and put where the workbook says.
    assert_in_wanted_state(read(sandbox), wanted, before)


def test_a_provisional_pupil_that_cannot_be_removed_fails_the_verification_then_goes(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, before = filled_workbook(sandbox, tmp_path)
    done = reconcile_apply(sandbox, workbook, "--oui")
    assert done.returncode == 0, done.stdout + done.stderr
    # A provisional pupil left by a run of the folder workaround, and a server refusing every POST.
    left = sandbox.store.add_user("Provisoire", "Reconcile CE2-CM1", "eleve")
    sandbox.configure(fail_before_post=1.0)
    refused = reconcile_apply(sandbox, workbook, "--oui")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    said = " ".join(refused.stdout.split())
    assert "Vérification : 1 différence(s)." in said
    assert f"L'élève provisoire Provisoire RECONCILE CE2-CM1 ({left.login})" in said
    assert "est encore sur le serveur : relancez la même commande pour le supprimer" in said
    assert "le serveur relu est dans l'état demandé" not in said

    sandbox.configure(fail_before_post=0.0)
    again = reconcile_apply(sandbox, workbook, "--oui")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Vérification : le serveur relu est dans l'état demandé." in again.stdout
    assert sandbox.store.user(left.login) is None
    assert_in_wanted_state(read(sandbox), rentree(before), before)
