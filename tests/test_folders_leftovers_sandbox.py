"""No provisional pupil ever survives (issue 10, point 7): the sandbox over HTTP, with its faults.

The sandbox refuses (`500`) or loses the answer of POSTs at random, its draws fixed by a seed;
the seeds here are ones where, before this was fixed, a run deleted the archived class, left its
provisional pupil on the server in no class, and still said the server was in the requested state.
The same at each exact POST of the workaround, in memory: `test_folders_leftovers.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.app.demo import rentree
from reconcile.core.outcome import ApplyRun
from reconcile.sandbox import RunningSandbox
from tests.test_apply_sandbox import assert_in_wanted_state, read, run_apply, verified

STILL_THERE = "est encore sur le serveur : relancez la même commande pour le supprimer"


def provisional_pupils(sandbox: RunningSandbox) -> list[str]:
    return [u.login for u in sandbox.store.users() if u.first_name == "Provisoire"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [10, 15])
def test_with_posts_refused_and_answers_lost_no_run_leaves_a_provisional_pupil_and_says_done(
    sandbox: RunningSandbox, tmp_path: Path, seed: int
) -> None:
    sandbox.store.add_file("CE2-CM1", "Travaux/poeme.txt", b"Le Corbeau et le Renard")
    before = read(sandbox)
    wanted = rentree(before)
    sandbox.configure(fail_before_post=0.15, lose_answer_after_post=0.15, seed=seed)
    runs: list[ApplyRun] = []
    while len(runs) < 4 and not (runs and verified(runs[-1])):
        runs.append(run := run_apply(sandbox, wanted, tmp_path))
        left = provisional_pupils(sandbox)
        if verified(run):
            assert left == [], f"run {len(runs)} verified, yet {left} on the server"
        elif run.verification is not None and left:
            assert any(STILL_THERE in d for d in run.verification.differences), run.verification
    sandbox.configure(fail_before_post=0, lose_answer_after_post=0)
    assert verified(runs[-1]), [r.outcome.reason for r in runs]
    assert provisional_pupils(sandbox) == []
    assert_in_wanted_state(read(sandbox), wanted, before)
    assert sandbox.store.class_named("CE2-CM1") is None
